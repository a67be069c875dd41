//! The lecture's Coding Exercise 3.1, "Build a neural network!", with one `graph!` over
//! nalgebra matrices: build a 2-16-1 tanh network, compute predictions for some input data,
//! calculate the loss, calculate its derivatives, and run steps of gradient descent,
//! `w ← w − η ∂L/∂w`.
//!
//! The whole batch is one graph: the 32 samples are the columns of `x`, and `b * ones` (a
//! 16×1 bias times a 1×32 row of ones) repeats a bias for every sample. Its gradient is plain
//! nalgebra code with no heap allocation.
//!
//! The example checks itself: it exits with status 1 if the gradient disagrees with central
//! finite differences, if the loss becomes NaN or infinite (naming the step and the learning
//! rate), or if training does not lower the loss.
//!
//! It draws the loss curve to `training-loss.svg` in the lecture's picture directory,
//! `target/lecture/` (or `$CARGO_TARGET_DIR/lecture/`).
//!
//! `cargo run --release --example neural_network` runs this part alone;
//! `cargo expand --example neural_network` prints the code the graph becomes.

use chainrule::graph;
use chainrule::nalgebra::{RowSVector, SMatrix, SVector};
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

const SAMPLES: usize = 32;
const LEARNING_RATE: f32 = 0.1;
const STEPS: usize = 500;

graph! {
    /// The network's mean squared error on a batch: `tanh(w1·x + b1)`, then `w2·h + b2`.
    pub fn mlp_loss(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                    w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                    #[no_grad] x: SMatrix<f32, 2, 32>, #[no_grad] y: SMatrix<f32, 1, 32>,
                    #[no_grad] ones: RowSVector<f32, 32>) -> f32 {
        let h = tanh(w1 * x + b1 * ones);
        let prediction = w2 * h + b2 * ones;
        mse(prediction, y)
    }
}

/// The network's parameters, with `W(0) ~ N(0, σ²)`-like random initial values.
#[derive(Clone, Copy)]
struct Network {
    w1: SMatrix<f32, 16, 2>,
    b1: SVector<f32, 16>,
    w2: SMatrix<f32, 1, 16>,
    b2: SVector<f32, 1>,
}

/// The data: inputs in [-2, 2]², targets `y = sin(x₀) · x₁ / 2`.
struct Batch {
    x: SMatrix<f32, 2, SAMPLES>,
    y: SMatrix<f32, 1, SAMPLES>,
    ones: RowSVector<f32, SAMPLES>,
}

impl Network {
    fn loss_and_grad(&self, batch: &Batch) -> (f32, mlp_loss::Grad) {
        mlp_loss::value_and_grad(
            self.w1, self.b1, self.w2, self.b2, batch.x, batch.y, batch.ones,
        )
    }

    fn loss(&self, batch: &Batch) -> f32 {
        mlp_loss::forward(
            self.w1, self.b1, self.w2, self.b2, batch.x, batch.y, batch.ones,
        )
    }

    /// One step of gradient descent: every parameter moves against its gradient.
    fn step(&mut self, grad: &mlp_loss::Grad, learning_rate: f32) {
        self.w1 -= grad.w1 * learning_rate;
        self.b1 -= grad.b1 * learning_rate;
        self.w2 -= grad.w2 * learning_rate;
        self.b2 -= grad.b2 * learning_rate;
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Checks ∂L/∂w1 against central finite differences, in `f64` arithmetic on the `f32` loss.
fn check_against_finite_differences(network: &Network, batch: &Batch, grad: &mlp_loss::Grad) {
    let h = 1e-2_f32;
    let mut worst: f32 = 0.0;
    for i in 0..network.w1.len() {
        let (mut up, mut down) = (*network, *network);
        up.w1[i] += h;
        down.w1[i] -= h;
        let numeric = (up.loss(batch) - down.loss(batch)) / (2.0 * h);
        worst = worst.max((numeric - grad.w1[i]).abs() / (1.0 + numeric.abs()));
    }
    println!(
        "  ∂L/∂w1 against central finite differences: largest relative difference {worst:.1e}"
    );
    if worst > 1e-2 {
        fail("the generated gradient disagrees with finite differences");
    }
}

pub fn run() -> Vec<std::path::PathBuf> {
    let mut rng = StdRng::seed_from_u64(3);
    let mut random = |scale: f32| scale * rng.random_range(-1.0_f32..1.0);
    let mut network = Network {
        w1: SMatrix::from_fn(|_, _| random(1.0)),
        b1: SVector::from_fn(|_, _| random(0.1)),
        w2: SMatrix::from_fn(|_, _| random(0.25)),
        b2: SVector::from_fn(|_, _| random(0.1)),
    };
    let x = SMatrix::<f32, 2, SAMPLES>::from_fn(|_, _| random(2.0));
    let y = SMatrix::<f32, 1, SAMPLES>::from_fn(|_, j| x[(0, j)].sin() * x[(1, j)] / 2.0);
    let batch = Batch {
        x,
        y,
        ones: RowSVector::repeat(1.0),
    };

    println!("A 2-16-1 tanh network, mean squared error over {SAMPLES} samples, one `graph!`.");
    println!();
    let (initial_loss, grad) = network.loss_and_grad(&batch);
    println!("  initial loss L = {initial_loss:.6}");
    println!(
        "  gradient norms: |∂L/∂w1| = {:.4}, |∂L/∂b1| = {:.4}, |∂L/∂w2| = {:.4}, |∂L/∂b2| = {:.4}",
        grad.w1.norm(),
        grad.b1.norm(),
        grad.w2.norm(),
        grad.b2.norm()
    );
    check_against_finite_differences(&network, &batch, &grad);

    println!();
    println!("  gradient descent, η = {LEARNING_RATE}:");
    println!("  {:>6}  {:>10}", "step", "loss");
    let mut loss = initial_loss;
    let mut curve = Vec::with_capacity(STEPS + 1);
    for step in 0..=STEPS {
        let (step_loss, grad) = network.loss_and_grad(&batch);
        loss = step_loss;
        curve.push((step as f32, loss));
        if !loss.is_finite() {
            fail(&format!("training diverged: the loss is {loss} at step {step} with learning rate {LEARNING_RATE}"));
        }
        if step % 100 == 0 {
            println!("  {step:>6}  {loss:>10.6}");
        }
        network.step(&grad, LEARNING_RATE);
    }
    println!();
    println!("  The loss fell from {initial_loss:.6} to {loss:.6}.");
    if loss >= initial_loss {
        fail("gradient descent did not lower the loss");
    }
    match plot_loss(&curve) {
        Ok(path) => {
            println!("  picture: {path} (the loss curve)");
            vec![path.into()]
        }
        Err(error) => fail(&format!("could not draw the loss curve: {error}")),
    }
}

/// Draws the loss against the step, on a log scale, as an SVG in [`plot::output_dir`].
fn plot_loss(curve: &[(f32, f32)]) -> Result<String, Box<dyn std::error::Error>> {
    let path = plot::picture_path("training-loss.svg")?
        .to_string_lossy()
        .into_owned();
    // The drawing borrows `path` until it is dropped, at the end of this block.
    {
        let root = SVGBackend::new(&path, (640, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let (low, high) = curve
            .iter()
            .fold((f32::MAX, f32::MIN), |(low, high), (_, loss)| {
                (low.min(*loss), high.max(*loss))
            });
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Gradient descent on the 2-16-1 network, η = {LEARNING_RATE}"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f32..STEPS as f32, (low * 0.8..high * 1.2).log_scale())?;
        chart
            .configure_mesh()
            .x_label_formatter(&|step| format!("{step:.0}"))
            .x_desc("step")
            .y_desc("loss (MSE)")
            .draw()?;
        chart.draw_series(LineSeries::new(curve.iter().copied(), &BLUE))?;
        root.present()?;
    }
    Ok(path)
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
