//! The lecture's "Learning hyperparameters" part: how the learning rate η in
//! `w ← w − η ∇L(w)` decides whether gradient descent works.
//!
//! **The lecture's one-dimensional problem.** A line `y = b + w·x` fitted to 100 noisy points
//! of `y = 1 + 2x`, seen along its intercept alone: the slope is held at its least-squares
//! value, so the mean squared error is a parabola in `b` with curvature 2, and each step
//! multiplies the distance to the minimum by `1 − 2η`. Four learning rates, trained by the
//! runtime's [`Trainer`] with plain SGD on full batches, show the lecture's four regimes:
//! slightly too small (works but slow), just right (fast and clean), slightly too big (0.8:
//! chaotic, landing on the other side of the curve at every step) and way too big (1.1: it
//! climbs, and diverges). The divergent run ends in the runtime's `Error::Diverged`, which
//! names the step and the learning rate; the tour goes on after it.
//!
//! **A sweep.** The final loss of part 4's network (`train_mlp.rs`) after a fixed number of
//! epochs, for learning rates from 10⁻⁴ to 1: too small learns little, too big diverges.
//!
//! Pictures: `target/lecture/learning-rates.svg` (the four regimes as loss curves and as
//! paths on the loss curve) and `target/lecture/learning-rate-sweep.svg`. The example exits
//! with status 1 if a regime is not the one its learning rate should give.
//!
//! `cargo run --release --example learning_rates` runs this part alone.

use std::path::PathBuf;

use chainrule::data::Dataset;
use chainrule::graph;
use chainrule::impl_parameters;
use chainrule::loss::Mse;
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{Init, Mode, Module};
use chainrule::optim::Sgd;
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};
use chainrule::train::{ShowProgress, Trainer};
use chainrule::Error;
use plotters::prelude::*;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

/// Part 4's network and data, for the sweep.
#[allow(dead_code)] // Its `run` and `main` belong to part 4.
#[allow(clippy::duplicate_mod)] // The tour includes part 4 too.
#[path = "train_mlp.rs"]
mod network;

/// The points of the one-dimensional problem.
pub const POINTS: usize = 100;
/// Where the intercept starts.
pub const START: f32 = 0.0;

graph! {
    /// The line `slope·x + b` on a batch `x`, one sample per column.
    pub fn line<const B: usize>(b: f32, #[no_grad] slope: f32, x: SMatrix<f32, 1, B>) -> SMatrix<f32, 1, B> {
        slope * x + b
    }
}

/// A line whose slope is held fixed: only the intercept `b` is a parameter (the optimizer
/// sees `b` alone), so its loss is a function of one variable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Intercept {
    pub b: f32,
    /// Held fixed; not a parameter. A gradient of this type has slope 0.
    pub slope: f32,
}
impl_parameters!([] Intercept, f32, [b]);

impl Init for Intercept {
    fn init<R: chainrule::rand::Rng + ?Sized>(_: &mut R) -> Self {
        Intercept::zeros()
    }
    fn zeros() -> Self {
        Intercept { b: 0.0, slope: 0.0 }
    }
}

/// The same in training and evaluation: the `Trainer` needs `train()` and `eval()`.
impl Mode for Intercept {}

impl<const B: usize> Module<SMatrix<f32, 1, B>> for Intercept {
    type Output = SMatrix<f32, 1, B>;
    /// Nothing: the backward pass recomputes the line from the input it is given.
    type Tape = ();

    fn forward(&self, x: &SMatrix<f32, 1, B>) -> Self::Output {
        line::forward(self.b, self.slope, *x)
    }
    fn forward_with_tape(&self, x: &SMatrix<f32, 1, B>) -> (Self::Output, Self::Tape) {
        (self.forward(x), ())
    }
    fn backward(
        &self,
        x: &SMatrix<f32, 1, B>,
        _: &(),
        d_output: &Self::Output,
    ) -> (SMatrix<f32, 1, B>, Self) {
        let grad = line::backward(self.b, self.slope, *x, *d_output);
        (
            grad.x,
            Intercept {
                b: grad.b,
                slope: 0.0,
            },
        )
    }
}

/// The lecture's one-dimensional problem: its points, the least-squares line, and the
/// lowest loss.
pub struct Problem {
    pub data: Dataset<f32, 1, SVector<f32, 1>>,
    /// The least-squares slope, held fixed.
    pub slope: f32,
    /// The least-squares intercept: the minimum of the loss along `b`.
    pub best_b: f32,
    /// The loss there.
    pub lowest_loss: f32,
}

/// 100 points `y = 1 + 2x + N(0, 0.1²)`, `x` uniform in [0, 1], drawn from `seed`, and the
/// least-squares line through them (computed in `f64`).
pub fn problem(seed: u64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut noise = SMatrix::<f64, 1, POINTS>::zeros();
    chainrule::init::normal(&mut noise, 0.0, 0.1, &mut rng);
    let xs: Vec<f64> = (0..POINTS).map(|_| rng.random_range(0.0..1.0)).collect();
    let ys: Vec<f64> = xs
        .iter()
        .zip(noise.iter())
        .map(|(x, e)| 1.0 + 2.0 * x + e)
        .collect();
    let n = POINTS as f64;
    let (mean_x, mean_y) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let covariance: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = xs.iter().map(|x| (x - mean_x) * (x - mean_x)).sum();
    let slope = covariance / variance;
    let best_b = mean_y - slope * mean_x;
    let data: Dataset<f32, 1, SVector<f32, 1>> = xs
        .iter()
        .zip(&ys)
        .map(|(&x, &y)| (SVector::from([x as f32]), SVector::from([y as f32])))
        .collect();
    let lowest_loss = loss_at(&data, slope as f32, best_b as f32);
    Problem {
        data,
        slope: slope as f32,
        best_b: best_b as f32,
        lowest_loss,
    }
}

/// The mean squared error of the line with intercept `b` and slope `slope`.
pub fn loss_at(data: &Dataset<f32, 1, SVector<f32, 1>>, slope: f32, b: f32) -> f32 {
    let squares: f64 = data
        .inputs()
        .iter()
        .zip(data.targets())
        .map(|(x, y)| {
            let residual = f64::from(slope * x[0] + b - y[0]);
            residual * residual
        })
        .sum();
    (squares / data.len() as f64) as f32
}

/// The second derivative of the loss along `b` at the minimum, by central differences: for
/// this parabola, exactly the 2 of `∂²/∂b² mean((b + wx − y)²)`, up to rounding.
pub fn curvature(problem: &Problem) -> f32 {
    let h = 0.25;
    let at = |b: f32| f64::from(loss_at(&problem.data, problem.slope, b));
    let b = problem.best_b;
    ((at(b + h) - 2.0 * at(b) + at(b - h)) / f64::from(h * h)) as f32
}

/// One run of gradient descent on the intercept.
#[derive(Debug)]
pub struct Run {
    pub learning_rate: f32,
    /// The intercept before each step, and after the last.
    pub path: Vec<f32>,
    /// The loss before each step.
    pub losses: Vec<f32>,
    /// The error the trainer stopped with, if it diverged.
    pub diverged: Option<Error>,
}

/// Trains the intercept from [`START`] with SGD at `learning_rate` for up to `steps`
/// full-batch steps, one epoch each, recording the intercept after every step.
pub fn descend(problem: &Problem, learning_rate: f32, steps: usize) -> Run {
    let model = Intercept {
        b: START,
        slope: problem.slope,
    };
    let mut trainer =
        Trainer::new(model, Sgd::new(learning_rate), Mse).progress_bar(ShowProgress::Never);
    let mut path = vec![START];
    let mut diverged = None;
    for epoch in 1..=steps {
        trainer = trainer.epochs(epoch);
        match trainer.fit::<POINTS>(&problem.data) {
            Ok(_) => path.push(trainer.model().b),
            Err(error) => {
                diverged = Some(error);
                break;
            }
        }
    }
    Run {
        learning_rate,
        path,
        losses: trainer.history().steps.clone(),
        diverged,
    }
}

/// How a run went, read off its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// Within 0.1% of the starting distance from the minimum in 10 steps, always on the same side.
    ConvergedFast,
    /// Closer at every step, on the same side, but not that close in 10 steps.
    ConvergedSlowly,
    /// Closer in the end, but crossing to the other side of the minimum at most steps.
    Oscillated,
    /// Stopped by `Error::Diverged`, or farther from the minimum than it started.
    Diverged,
}

impl Regime {
    /// The lecture's words for it.
    pub fn describe(self) -> &'static str {
        match self {
            Regime::ConvergedFast => "just right: converges quickly and cleanly",
            Regime::ConvergedSlowly => "slightly too small: works but slow",
            Regime::Oscillated => "slightly too big: chaotic, lands on the other side",
            Regime::Diverged => "way too big: climbs, diverges",
        }
    }
}

/// Classifies a run by its distances from the minimum `best_b`.
pub fn classify(run: &Run, best_b: f32) -> Regime {
    let distances: Vec<f32> = run.path.iter().map(|b| b - best_b).collect();
    let first = distances[0].abs();
    let last = distances[distances.len() - 1].abs();
    if run.diverged.is_some() || last.is_nan() || last >= first {
        return Regime::Diverged;
    }
    // Steps that cross the minimum, while the distance is still well above rounding.
    let moving: Vec<&[f32]> = distances
        .windows(2)
        .filter(|pair| pair[0].abs() > 1e-4 * first)
        .collect();
    let crossings = moving.iter().filter(|pair| pair[0] * pair[1] < 0.0).count();
    if 2 * crossings > moving.len() {
        return Regime::Oscillated;
    }
    if distances.get(10).is_some_and(|d| d.abs() < 1e-3 * first) {
        Regime::ConvergedFast
    } else {
        Regime::ConvergedSlowly
    }
}

/// The four learning rates of the lecture's slides, in order: slightly too small, just right,
/// slightly too big (0.8) and way too big (1.1).
pub const LEARNING_RATES: [f32; 4] = [0.1, 0.4, 0.8, 1.1];
/// The regime each should give.
pub const EXPECTED: [Regime; 4] = [
    Regime::ConvergedSlowly,
    Regime::ConvergedFast,
    Regime::Oscillated,
    Regime::Diverged,
];
/// Steps of each one-dimensional run: enough for 1.1 to overflow `f32`.
pub const STEPS: usize = 400;

/// The learning rates of the sweep: 10⁻⁴ to 10^−0.5, six per decade.
pub fn sweep_learning_rates() -> Vec<f32> {
    (0..=21)
        .map(|k| 10f32.powf(-4.0 + k as f32 / 6.0))
        .collect()
}
/// Epochs of each run of the sweep.
pub const SWEEP_EPOCHS: usize = 300;

/// One point of the sweep: a learning rate and the final loss, or the divergence error.
pub struct SweepPoint {
    pub learning_rate: f32,
    pub outcome: Result<f32, Error>,
}

/// Trains part 4's network for `epochs` at each learning rate.
pub fn sweep(learning_rates: &[f32], epochs: usize) -> Vec<SweepPoint> {
    let data = network::dataset(network::SEED);
    learning_rates
        .iter()
        .map(|&learning_rate| SweepPoint {
            learning_rate,
            outcome: network::train(&data, learning_rate, epochs, ShowProgress::Never)
                .map(|training| training.final_loss),
        })
        .collect()
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Runs this part: prints the regimes and the sweep, draws both pictures and returns their paths.
pub fn run() -> Vec<PathBuf> {
    let problem = problem(42);
    println!(
        "The one-dimensional problem: the MSE of y = b + {:.4}·x on {POINTS} points, along b;",
        problem.slope
    );
    println!(
        "  its minimum is at b = {:.4} (loss {:.6}), its curvature {:.3}: each step multiplies b's distance to it by 1 − {:.3}·η.",
        problem.best_b, problem.lowest_loss, curvature(&problem), curvature(&problem)
    );
    let runs: Vec<Run> = LEARNING_RATES
        .iter()
        .map(|&learning_rate| descend(&problem, learning_rate, STEPS))
        .collect();
    let mut wrong = 0;
    for (run, expected) in runs.iter().zip(EXPECTED) {
        let regime = classify(run, problem.best_b);
        let after = |step: usize| run.path.get(step).map(|b| b - problem.best_b);
        let shown = match after(10) {
            Some(distance) => format!("b − b* after 10 steps {distance:+.2e}"),
            None => String::from("no 10th step"),
        };
        println!(
            "  η = {:<4} {shown}; {:?}: {}",
            run.learning_rate,
            regime,
            regime.describe()
        );
        if let Some(error) = &run.diverged {
            println!("           the trainer stopped: {error}");
        }
        if regime != expected {
            println!("           expected {expected:?}");
            wrong += 1;
        }
    }
    if wrong > 0 {
        fail("a learning rate did not give the regime the lecture shows");
    }

    let rates = sweep_learning_rates();
    let points = sweep(&rates, SWEEP_EPOCHS);
    let finite: Vec<&SweepPoint> = points.iter().filter(|p| p.outcome.is_ok()).collect();
    let best = finite
        .iter()
        .min_by(|a, b| {
            a.outcome
                .as_ref()
                .unwrap()
                .total_cmp(b.outcome.as_ref().unwrap())
        })
        .expect("the smallest learning rates do not diverge");
    println!();
    println!(
        "Sweep: part 4's network, SGD with momentum {}, {SWEEP_EPOCHS} epochs at {} learning rates from {:.0e} to {:.2}:",
        network::MOMENTUM,
        rates.len(),
        rates[0],
        rates[rates.len() - 1]
    );
    println!(
        "  lowest final loss {:.5} at η = {:.4}; at η = {:.0e} it is {:.5}",
        best.outcome.as_ref().unwrap(),
        best.learning_rate,
        rates[0],
        points[0].outcome.as_ref().map_or(f32::NAN, |l| *l)
    );
    let diverged: Vec<&SweepPoint> = points.iter().filter(|p| p.outcome.is_err()).collect();
    if let Some(first) = diverged.first() {
        println!(
            "  {} of {} runs diverged, from η = {:.3}: {}",
            diverged.len(),
            points.len(),
            first.learning_rate,
            first.outcome.as_ref().expect_err("a divergent run")
        );
    }
    let mut pictures = Vec::new();
    match plot::picture_path("learning-rates.svg")
        .and_then(|path| draw_regimes(&problem, &runs, &path).map(|()| path))
    {
        Ok(path) => pictures.push(path),
        Err(error) => fail(&format!("could not draw learning-rates.svg: {error}")),
    }
    match plot::picture_path("learning-rate-sweep.svg")
        .and_then(|path| draw_sweep(&points, &path).map(|()| path))
    {
        Ok(path) => pictures.push(path),
        Err(error) => fail(&format!("could not draw learning-rate-sweep.svg: {error}")),
    }
    println!();
    println!("  picture: {} (the four regimes)", pictures[0].display());
    println!("  picture: {} (the sweep)", pictures[1].display());
    pictures
}

/// Steps shown in the pictures of the regimes.
const SHOWN_STEPS: usize = 12;

/// The four regimes: the loss over the steps above, the path on the loss curve below.
fn draw_regimes(problem: &Problem, runs: &[Run], path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1600, 820))?;
    let title_height = 56;
    let (title, body) = root.split_vertically(title_height);
    title.draw(&Text::new(
        "How to pick η in w ← w − η∇L(w): the loss over the steps, and the steps on the loss curve",
        (20, 14),
        plot::font(plot::CAPTION_SIZE),
    ))?;
    let panels = body.split_evenly((2, runs.len()));
    for (column, run) in runs.iter().enumerate() {
        let color = plot::series_color(column);
        let regime = classify(run, problem.best_b);
        let caption = format!("η = {}: {}", run.learning_rate, short_words(regime));
        // Above: the loss over the first steps.
        // The trainer's record: the loss of each step's batch, before the step.
        let losses: Vec<(f32, f32)> = run
            .losses
            .iter()
            .take(SHOWN_STEPS + 1)
            .enumerate()
            .map(|(step, &loss)| (step as f32, loss))
            .collect();
        let top = losses.iter().map(|p| p.1).fold(0.0, f32::max) * 1.08;
        let mut chart = ChartBuilder::on(&panels[column])
            .caption(&caption, plot::font(plot::LABEL_SIZE))
            .margin(10)
            .x_label_area_size(58)
            .y_label_area_size(64)
            .build_cartesian_2d(0f32..SHOWN_STEPS as f32, 0f32..top)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc(if column == 0 { "loss" } else { "" })
            .x_labels(7)
            .y_labels(5)
            .x_label_formatter(&|step| format!("{step:.0}"))
            .y_label_formatter(&|loss| format!("{loss:.1}"))
            .label_style(plot::font(plot::TICK_SIZE))
            .axis_desc_style(plot::font(plot::LABEL_SIZE))
            .light_line_style(WHITE)
            .draw()?;
        chart.draw_series(LineSeries::new(
            losses.iter().copied(),
            color.stroke_width(3),
        ))?;
        chart.draw_series(losses.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        let lowest = problem.lowest_loss;
        chart.draw_series(LineSeries::new(
            [(0.0, lowest), (SHOWN_STEPS as f32, lowest)],
            BLACK.mix(0.5).stroke_width(1),
        ))?;

        // Below: the path on the loss curve L(b).
        let shown: Vec<f32> = run.path.iter().take(SHOWN_STEPS + 1).copied().collect();
        let reach = shown
            .iter()
            .map(|b| (b - problem.best_b).abs())
            .fold(0.0, f32::max)
            * 1.15;
        let (from, to) = (problem.best_b - reach, problem.best_b + reach);
        let curve: Vec<(f32, f32)> = (0..=200)
            .map(|k| {
                let b = from + (to - from) * k as f32 / 200.0;
                (b, loss_at(&problem.data, problem.slope, b))
            })
            .collect();
        let top = curve.iter().map(|p| p.1).fold(0.0, f32::max) * 1.05;
        let mut chart = ChartBuilder::on(&panels[runs.len() + column])
            .margin(10)
            .x_label_area_size(58)
            .y_label_area_size(64)
            .build_cartesian_2d(from..to, 0f32..top)?;
        chart
            .configure_mesh()
            .x_desc("b (intercept)")
            .y_desc(if column == 0 { "loss L(b)" } else { "" })
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|b| format!("{b:.1}"))
            .y_label_formatter(&|loss| format!("{loss:.1}"))
            .label_style(plot::font(plot::TICK_SIZE))
            .axis_desc_style(plot::font(plot::LABEL_SIZE))
            .light_line_style(WHITE)
            .draw()?;
        chart.draw_series(LineSeries::new(curve, BLACK.stroke_width(2)))?;
        let steps: Vec<(f32, f32)> = shown
            .iter()
            .map(|&b| (b, loss_at(&problem.data, problem.slope, b)))
            .collect();
        chart.draw_series(LineSeries::new(
            steps.iter().copied(),
            color.mix(0.7).stroke_width(2),
        ))?;
        chart.draw_series(steps.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
        chart.draw_series(std::iter::once(Text::new(
            "start",
            steps[0],
            plot::font(plot::TICK_SIZE),
        )))?;
    }
    root.present()?;
    Ok(())
}

/// The lecture's words, short enough for a panel's title.
fn short_words(regime: Regime) -> &'static str {
    match regime {
        Regime::ConvergedSlowly => "too small, slow",
        Regime::ConvergedFast => "just right",
        Regime::Oscillated => "too big, other side",
        Regime::Diverged => "way too big, diverges",
    }
}

/// The final loss against the learning rate, on log axes; divergent runs as crosses on top.
fn draw_sweep(points: &[SweepPoint], path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1000, 620))?;
    let losses: Vec<f32> = points
        .iter()
        .filter_map(|p| p.outcome.as_ref().ok().copied())
        .collect();
    let (low, high) = losses.iter().fold((f32::MAX, f32::MIN), |(low, high), &l| {
        (low.min(l), high.max(l))
    });
    let ceiling = high * 3.0;
    let rates: Vec<f32> = points.iter().map(|p| p.learning_rate).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Part 4's network after {SWEEP_EPOCHS} epochs of SGD (momentum {})",
                network::MOMENTUM
            ),
            plot::font(plot::CAPTION_SIZE),
        )
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (rates[0] * 0.7..rates[rates.len() - 1] * 1.4).log_scale(),
            (low * 0.6..ceiling * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("learning rate η (log scale)")
        .y_desc("final loss (MSE, log scale)")
        .y_labels(8)
        .x_label_formatter(&|lr| format!("{lr:.0e}"))
        .y_label_formatter(&|loss| format!("{loss:.2}"))
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .light_line_style(WHITE)
        .draw()?;
    let color = plot::series_color(0);
    chart
        .draw_series(LineSeries::new(
            points
                .iter()
                .filter_map(|p| p.outcome.as_ref().ok().map(|&l| (p.learning_rate, l))),
            color.stroke_width(3),
        ))?
        .label("final loss")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
    chart.draw_series(points.iter().filter_map(|p| {
        p.outcome
            .as_ref()
            .ok()
            .map(|&l| Circle::new((p.learning_rate, l), 6, color.filled()))
    }))?;
    let exercise = plot::PALETTE[0];
    let rate = network::LEARNING_RATE;
    chart
        .draw_series(DashedLineSeries::new(
            [(rate, low * 0.6), (rate, ceiling * 1.5)],
            8,
            6,
            exercise.mix(0.6).stroke_width(2),
        ))?
        .label(format!("part 4's η = {rate}"))
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 24, y)], exercise.mix(0.6).stroke_width(2))
        });
    let red = plot::series_color(1);
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.outcome.is_err())
                .map(|p| Cross::new((p.learning_rate, ceiling), 9, red.stroke_width(3))),
        )?
        .label("diverged: Error::Diverged")
        .legend(move |(x, y)| Cross::new((x + 12, y), 8, red.stroke_width(3)));
    plot::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    root.present()?;
    Ok(())
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
