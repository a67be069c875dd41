//! The lecture's Coding Exercise 3.1, "Build a neural network!", with chainrule's runtime, as
//! the lecture does it with `nn.Module`, `nn.MSELoss` and `torch.optim`:
//!
//! - build a network from `nn` components (the exercise's wide net: 512 tanh units),
//! - compute predictions for some input data (32 points of `sin(πx)` plus noise),
//! - calculate the loss,
//! - calculate its derivatives (every layer's backward pass is a `graph!`),
//! - run a step of the optimizer (SGD with momentum 0.9, learning rate 0.003),
//! - then train: 1847 epochs with a [`Trainer`], which draws a progress bar on a terminal.
//!
//! ```text
//! for i in range(n_epochs):                  for step in 0..epochs {   // what Trainer::fit does
//!     optimizer.zero_grad()                      // (gradients are fresh values)
//!     prediction = neural_net(inputs)            let (loss, grads) =
//!     loss = loss_function(prediction, targets)      model.loss_and_grad(&x, &y, Mse);
//!     loss.backward()
//!     optimizer.step()                           optimizer.step(&mut model, &grads);
//! ```
//!
//! It draws the loss curve and the fitted function against the data to
//! `target/lecture/neural-network.svg`.
//!
//! `cargo run --release --example train_mlp`. The last line is `final loss: <value>`; the
//! example exits with status 1 if training diverges (the runtime's `Error::Diverged` names
//! the step and the learning rate) or does not lower the loss.

use std::path::PathBuf;

use chainrule::data::Dataset;
use chainrule::loss::{Loss, Mse};
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{Linear, Sequential, Tanh};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::train::{ShowProgress, Trainer};
use plotters::prelude::*;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

/// The hidden layer's width: the exercise's `n_cells = 512`.
pub const WIDTH: usize = 512;

/// `nn.Sequential(nn.Linear(1, 512), nn.Tanh(), nn.Linear(512, 1))`, the exercise's `WideNet`.
pub type WideNet = Sequential<(Linear<f32, 1, WIDTH>, Tanh, Linear<f32, WIDTH, 1>)>;

/// The samples: `torch.linspace(-1.0, 1.0, 32)`.
pub const SAMPLES: usize = 32;
/// `torch.optim.SGD(wide_net.parameters(), lr=0.003, momentum=0.9)`.
pub const LEARNING_RATE: f32 = 0.003;
pub const MOMENTUM: f32 = 0.9;
/// The exercise's epochs: "Cauchy, Exercices d'analyse et de physique mathématique (1847)".
pub const EPOCHS: usize = 1847;
/// The seed of the data's noise and of the network's initial weights.
pub const SEED: u64 = 2021;

/// The exercise's data: `x = linspace(-1, 1, 32)`, `y = sin(πx) + N(0, 1)/4`.
pub fn dataset(seed: u64) -> Dataset<f32, 1, SVector<f32, 1>> {
    let mut noise = SMatrix::<f32, 1, SAMPLES>::zeros();
    chainrule::init::normal(&mut noise, 0.0, 0.25, &mut StdRng::seed_from_u64(seed));
    (0..SAMPLES)
        .map(|i| {
            let x = -1.0 + 2.0 * i as f32 / (SAMPLES - 1) as f32;
            let y = (std::f32::consts::PI * x).sin() + noise[i];
            (SVector::from([x]), SVector::from([y]))
        })
        .collect()
}

/// The whole dataset as one batch, one sample per column.
pub fn full_batch(
    data: &Dataset<f32, 1, SVector<f32, 1>>,
) -> (SMatrix<f32, 1, SAMPLES>, SMatrix<f32, 1, SAMPLES>) {
    data.batch::<SAMPLES>(&std::array::from_fn(|i| i))
}

/// The network's predictions at `xs`, in batches of [`SAMPLES`] (so no batch is larger than
/// the training batch on the stack).
pub fn predict(model: &WideNet, xs: &[f32]) -> Vec<f32> {
    xs.chunks(SAMPLES)
        .flat_map(|chunk| {
            let x =
                SMatrix::<f32, 1, SAMPLES>::from_fn(|_, c| chunk.get(c).copied().unwrap_or(0.0));
            let y = model.forward(&x);
            (0..chunk.len()).map(move |c| y[c])
        })
        .collect()
}

/// A trained network and its record.
pub struct Training {
    pub model: WideNet,
    /// The loss of every epoch (one full-batch step each), before that step.
    pub losses: Vec<f32>,
    /// The loss after the last step.
    pub final_loss: f32,
}

/// Trains a fresh `WideNet` (seeded) with SGD at `learning_rate` and momentum 0.9 for `epochs`
/// full-batch epochs, with or without the progress bar.
///
/// # Errors
///
/// The runtime's `Error::Diverged` if a loss, gradient or weight stops being finite.
pub fn train(
    data: &Dataset<f32, 1, SVector<f32, 1>>,
    learning_rate: f32,
    epochs: usize,
    progress: ShowProgress,
) -> chainrule::Result<Training> {
    let model = WideNet::init(&mut StdRng::seed_from_u64(SEED));
    let optimizer = Sgd::new(learning_rate).momentum(MOMENTUM);
    let mut trainer = Trainer::new(model, optimizer, Mse)
        .epochs(epochs)
        .seed(SEED)
        .progress_bar(progress);
    trainer.fit::<SAMPLES>(data)?;
    let final_loss = trainer.evaluate::<SAMPLES>(data).loss;
    let losses = trainer.history().steps.clone();
    Ok(Training {
        model: trainer.into_model(),
        losses,
        final_loss,
    })
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Runs this part: the exercise step by step, then training; prints `final loss: <value>`
/// last and returns the picture's path.
pub fn run() -> Vec<PathBuf> {
    let data = dataset(SEED);
    let (x, y) = full_batch(&data);

    // Build a network using the nn components (PyTorch's default initialisation).
    let mut model = WideNet::init(&mut StdRng::seed_from_u64(SEED));
    println!(
        "WideNet: Linear(1, {WIDTH}) → Tanh → Linear({WIDTH}, 1), {} parameters, on {SAMPLES} samples of sin(πx) + noise",
        chainrule::Parameters::len(&model)
    );

    // Predictions, the loss, and its derivatives.
    let prediction = model.forward(&x);
    let loss = Mse.loss(&prediction, &y);
    println!(
        "  prediction for x = {}: {:.4} (target {:.4})",
        x[0], prediction[0], y[0]
    );
    println!("  loss (MSE): {loss:.6}");
    let (_, grads) = model.loss_and_grad(&x, &y, Mse);
    let (first, _, last) = &grads.layers;
    println!(
        "  gradients: ∂L/∂W1[0] = {:.6}, |∂L/∂W1| = {:.4}, |∂L/∂W2| = {:.4}",
        first.weight[0],
        first.weight.norm(),
        last.weight.norm()
    );

    // One step of the optimizer.
    let before = model.layers.0.weight[0];
    let mut optimizer = Sgd::new(LEARNING_RATE).momentum(MOMENTUM);
    optimizer.step(&mut model, &grads);
    let after = Mse.loss(&model.forward(&x), &y);
    println!(
        "  one SGD step (lr {LEARNING_RATE}, momentum {MOMENTUM}): W1[0] {before:.6} → {:.6}, loss {loss:.6} → {after:.6}",
        model.layers.0.weight[0]
    );
    if after >= loss {
        fail("the optimizer's step did not lower the loss");
    }

    // Train, as the exercise does, from a fresh network.
    println!("  training for {EPOCHS} epochs with a Trainer (full batches of {SAMPLES})…");
    let training = match train(&data, LEARNING_RATE, EPOCHS, ShowProgress::Auto) {
        Ok(training) => training,
        Err(error) => fail(&format!("{error}")),
    };
    let initial = training.losses[0];
    println!(
        "  the loss fell from {initial:.6} to {:.6} in {} steps",
        training.final_loss,
        training.losses.len()
    );
    if training.final_loss >= initial {
        fail("training did not lower the loss");
    }
    let picture = match plot::picture_path("neural-network.svg")
        .and_then(|path| draw(&data, &training, &path).map(|()| path))
    {
        Ok(path) => path,
        Err(error) => fail(&format!("could not draw neural-network.svg: {error}")),
    };
    println!(
        "  picture: {} (the fit and the loss curve)",
        picture.display()
    );
    println!();
    println!("final loss: {:.6}", training.final_loss);
    vec![picture]
}

/// The fitted function against the data, and the loss curve, side by side.
fn draw(
    data: &Dataset<f32, 1, SVector<f32, 1>>,
    training: &Training,
    path: &std::path::Path,
) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1200, 520))?;
    let (left, right) = root.split_horizontally(600);

    let mut chart = ChartBuilder::on(&left)
        .caption(
            "Regression: the fit against the data",
            plot::font(plot::CAPTION_SIZE),
        )
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d(-1.1f32..1.1f32, -1.8f32..1.8f32)?;
    chart
        .configure_mesh()
        .x_desc("x (inputs)")
        .x_label_formatter(&|x| format!("{:.1}", if x.abs() < 1e-6 { 0.0 } else { *x }))
        .y_desc("y (targets)")
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .light_line_style(WHITE)
        .draw()?;
    let grid: Vec<f32> = (0..=220).map(|k| -1.1 + k as f32 * 0.01).collect();
    let fitted = predict(&training.model, &grid);
    let truth = plot::PALETTE[0];
    chart
        .draw_series(LineSeries::new(
            grid.iter().map(|&x| (x, (std::f32::consts::PI * x).sin())),
            truth.stroke_width(2),
        ))?
        .label("sin(πx), the noiseless curve")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], truth.stroke_width(2)));
    let fit_color = plot::series_color(1);
    chart
        .draw_series(LineSeries::new(
            grid.iter().copied().zip(fitted),
            fit_color.stroke_width(3),
        ))?
        .label("the network's prediction")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 24, y)], fit_color.stroke_width(3))
        });
    let data_color = plot::series_color(0);
    chart
        .draw_series(
            data.inputs()
                .iter()
                .zip(data.targets())
                .map(|(x, y)| Circle::new((x[0], y[0]), 5, data_color.filled())),
        )?
        .label("targets (sin(πx) + noise)")
        .legend(move |(x, y)| Circle::new((x + 12, y), 5, data_color.filled()));
    plot::legend(&mut chart, SeriesLabelPosition::LowerRight)?;

    let (low, high) = training
        .losses
        .iter()
        .fold((f32::MAX, f32::MIN), |(low, high), &l| {
            (low.min(l), high.max(l))
        });
    let mut chart = ChartBuilder::on(&right)
        .caption("Training loss", plot::font(plot::CAPTION_SIZE))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(
            0f32..training.losses.len() as f32,
            (low * 0.8..high * 1.25).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss (MSE)")
        .x_label_formatter(&|epoch| format!("{epoch:.0}"))
        .y_labels(12)
        .y_label_formatter(&|loss| format!("{loss:.2}"))
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .light_line_style(WHITE)
        .draw()?;
    let loss_color = plot::series_color(2);
    chart
        .draw_series(LineSeries::new(
            training
                .losses
                .iter()
                .enumerate()
                .map(|(epoch, &loss)| (epoch as f32, loss)),
            loss_color.stroke_width(3),
        ))?
        .label(format!("SGD, lr {LEARNING_RATE}, momentum {MOMENTUM}"))
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 24, y)], loss_color.stroke_width(3))
        });
    plot::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
