//! The lecture's "Example" slide on real images: a deep convolutional ReLU network, He
//! initialisation, cross-entropy, gradient descent with momentum, on UCI's handwritten digits
//! (1,797 8×8 images as scikit-learn ships them; the last 360 are the test split).
//!
//! The network, as PyTorch writes it, with input `pixels / 16` as `(N, 1, 8, 8)`:
//!
//! ```text
//! nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!               nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!               nn.Flatten(), nn.Linear(64, 10))
//! ```
//!
//! `cargo run --release --example digits` trains it with a [`Trainer`] from a fixed seed,
//! prints `test accuracy: <fraction>`, and draws the loss curve, test digits with their
//! predicted labels (misclassified ones marked) and the confusion matrix to
//! `target/lecture/digits.svg`; it exits with status 1 below 93%.
//!
//! `cargo run --release --example digits -- --load FILE` evaluates a PyTorch `state_dict` of
//! that network saved as safetensors (`0.weight [8,1,3,3]`, `0.bias`, `3.weight [16,8,3,3]`,
//! `3.bias`, `7.weight [10,64]`, `7.bias`) instead: it prints `test accuracy: <fraction>`,
//! then `predictions: ` and the 360 predicted classes, space-separated.

use std::path::PathBuf;

use chainrule::data::{self, Dataset};
use chainrule::init::{self, FanMode, Nonlinearity};
use chainrule::loss::CrossEntropy;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Flatten, Linear, ReLU, Sequential};
use chainrule::optim::schedule::CosineAnnealingLR;
use chainrule::optim::Sgd;
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::train::Trainer;
use chainrule::{conv2d, max_pool2d};
use plotters::prelude::*;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

/// The slide's network: each layer names the image it takes; the sizes chain at compile time.
pub type DigitsCnn = Sequential<(
    conv2d![f32; 1 => 8, kernel 3, stride 1, padding 1, image 8 x 8],
    ReLU,
    max_pool2d![channels 8, kernel 2, image 8 x 8],
    conv2d![f32; 8 => 16, kernel 3, stride 1, padding 1, image 4 x 4],
    ReLU,
    max_pool2d![channels 16, kernel 2, image 4 x 4],
    Flatten,
    Linear<f32, 64, 10>,
)>;

pub const BATCH: usize = 16;
pub const EPOCHS: usize = 30;
const SEED: u64 = 0;
const LEARNING_RATE: f32 = 0.05;

/// The digits as the network takes them: pixels scaled to [0, 1].
pub fn digits() -> (Dataset<f32, 64, usize>, Dataset<f32, 64, usize>) {
    let (train, test) = data::digits::<f32>();
    (
        train.map_inputs(|pixels| pixels / 16.0),
        test.map_inputs(|pixels| pixels / 16.0),
    )
}

/// He initialisation (`kaiming_normal_`, fan-in, ReLU gain) of every weight; biases zero.
pub fn he_init(rng: &mut StdRng) -> chainrule::Result<DigitsCnn> {
    let mut model = DigitsCnn::zeros();
    let layers = &mut model.layers;
    init::kaiming_normal(
        &mut *layers.0.weight,
        FanMode::FanIn,
        Nonlinearity::Relu,
        rng,
    )?;
    init::kaiming_normal(
        &mut *layers.3.weight,
        FanMode::FanIn,
        Nonlinearity::Relu,
        rng,
    )?;
    init::kaiming_normal(
        &mut *layers.7.weight,
        FanMode::FanIn,
        Nonlinearity::Relu,
        rng,
    )?;
    Ok(model)
}

/// Trains the network from the fixed seed: SGD with momentum 0.9 on cross-entropy, the
/// learning rate annealed to 0 along a cosine.
pub fn train(train: &Dataset<f32, 64, usize>) -> chainrule::Result<(DigitsCnn, Vec<f32>)> {
    let model = he_init(&mut StdRng::seed_from_u64(SEED))?;
    let steps = EPOCHS * (train.len() / BATCH);
    let mut trainer = Trainer::new(model, Sgd::new(LEARNING_RATE).momentum(0.9), CrossEntropy)
        .epochs(EPOCHS)
        .seed(SEED)
        .schedule(CosineAnnealingLR::new(steps, 0.0));
    trainer.fit::<BATCH>(train)?;
    let losses = trainer.history().steps.clone();
    Ok((trainer.into_model(), losses))
}

/// Each image's predicted class: the largest of its ten logits.
pub fn predict(model: &DigitsCnn, data: &Dataset<f32, 64, usize>) -> Vec<usize> {
    let mut predictions = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(BATCH) {
        let indices: [usize; BATCH] = std::array::from_fn(|i| (start + i).min(data.len() - 1));
        let x = SMatrix::<f32, 64, BATCH>::from_fn(|r, c| data.inputs()[indices[c]][r]);
        let logits = model.forward(&x);
        let real = BATCH.min(data.len() - start);
        predictions.extend(
            logits
                .column_iter()
                .take(real)
                .map(|column| column.argmax().0),
        );
    }
    predictions
}

/// The fraction of `predictions` that are the targets.
pub fn accuracy(predictions: &[usize], data: &Dataset<f32, 64, usize>) -> f64 {
    let correct = predictions
        .iter()
        .zip(data.targets())
        .filter(|(p, t)| p == t)
        .count();
    correct as f64 / data.len() as f64
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Evaluates a PyTorch `state_dict` saved as safetensors, printing the two lines an
/// acceptance check reads.
fn evaluate_file(path: &str) {
    let (_, test) = digits();
    let mut model = DigitsCnn::zeros();
    if let Err(error) = chainrule::io::load_safetensors(&mut model, path) {
        fail(&format!("{error}"));
    }
    let predictions = predict(&model, &test);
    println!("test accuracy: {}", accuracy(&predictions, &test));
    let classes: Vec<String> = predictions.iter().map(usize::to_string).collect();
    println!("predictions: {}", classes.join(" "));
}

/// Trains, prints the accuracy, and draws the pictures; the tour calls it.
pub fn run() -> Vec<PathBuf> {
    let (train_set, test) = digits();
    println!(
        "Digits: {} training and {} test images of 8×8 pixels; a CNN of {} parameters, batches of {BATCH}, {EPOCHS} epochs.",
        train_set.len(),
        test.len(),
        chainrule::Parameters::len(&DigitsCnn::zeros()),
    );
    let (model, losses) = match train(&train_set) {
        Ok(trained) => trained,
        Err(error) => fail(&format!("{error}")),
    };
    let predictions = predict(&model, &test);
    let accuracy = accuracy(&predictions, &test);
    let picture = match plot::picture_path("digits.svg")
        .and_then(|path| draw(&losses, &test, &predictions, &path).map(|()| path))
    {
        Ok(path) => path,
        Err(error) => fail(&format!("could not draw digits.svg: {error}")),
    };
    println!(
        "  picture: {} (loss curve, test digits, confusion matrix)",
        picture.display()
    );
    println!("test accuracy: {accuracy}");
    if accuracy < 0.93 {
        fail("the test accuracy is below 93%");
    }
    vec![picture]
}

/// The loss curve, the first test digits with their predictions, and the confusion matrix.
fn draw(
    losses: &[f32],
    test: &Dataset<f32, 64, usize>,
    predictions: &[usize],
    path: &std::path::Path,
) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1800, 600))?;
    let panels = root.split_evenly((1, 3));
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("Training loss per step", plot::font(plot::CAPTION_SIZE))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d(
            0..losses.len(),
            0f32..losses.iter().copied().fold(0.0, f32::max),
        )?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy")
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .draw()?;
    chart.draw_series(LineSeries::new(
        losses.iter().copied().enumerate(),
        plot::series_color(0),
    ))?;
    draw_digits(&panels[1], test, predictions)?;
    draw_confusion(&panels[2], test, predictions)?;
    root.present()?;
    Ok(())
}

/// The first 48 test digits in grey, each with its predicted label: black if right, red with
/// a red frame if wrong.
fn draw_digits<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    test: &Dataset<f32, 64, usize>,
    predictions: &[usize],
) -> plot::DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let area = area.titled("Test digits, predicted", plot::font(plot::CAPTION_SIZE))?;
    let cells = area.split_evenly((6, 8));
    for (index, cell) in cells.iter().enumerate() {
        let (image, predicted) = (&test.inputs()[index], predictions[index]);
        let wrong = predicted != test.targets()[index];
        let (width, height) = cell.dim_in_pixel();
        let side = (width.min(height) as i32 - 26) / 8;
        for (pixel, value) in image.iter().enumerate() {
            let grey = (255.0 * (1.0 - value.clamp(0.0, 1.0))) as u8;
            let (x, y) = (
                4 + (pixel % 8) as i32 * side,
                22 + (pixel / 8) as i32 * side,
            );
            cell.draw(&Rectangle::new(
                [(x, y), (x + side, y + side)],
                RGBColor(grey, grey, grey).filled(),
            ))?;
        }
        let color = if wrong {
            plot::PALETTE[4]
        } else {
            plot::PALETTE[0]
        };
        if wrong {
            cell.draw(&Rectangle::new(
                [(2, 20), (6 + 8 * side, 24 + 8 * side)],
                color.stroke_width(3),
            ))?;
        }
        cell.draw(&Text::new(
            predicted.to_string(),
            (4 + 3 * side, 0),
            plot::font(plot::TICK_SIZE).color(&color),
        ))?;
    }
    Ok(())
}

/// Counts of (true, predicted) classes, darker for more.
// The y range runs from 10 down to 0 on purpose: plotters then draws class 0 at the top.
#[allow(clippy::reversed_empty_ranges)]
fn draw_confusion<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    test: &Dataset<f32, 64, usize>,
    predictions: &[usize],
) -> plot::DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let mut counts = [[0usize; 10]; 10];
    for (truth, predicted) in test.targets().iter().zip(predictions) {
        counts[*truth][*predicted] += 1;
    }
    let most = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(area)
        .caption("Confusion matrix (test)", plot::font(plot::CAPTION_SIZE))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(64)
        .build_cartesian_2d(0i32..10, 10i32..0)?;
    chart
        .configure_mesh()
        .x_desc("predicted")
        .y_desc("true")
        .x_labels(10)
        .y_labels(10)
        .disable_mesh()
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .draw()?;
    for (truth, row) in counts.iter().enumerate() {
        for (predicted, &count) in row.iter().enumerate() {
            let (x, y) = (predicted as i32, truth as i32);
            let fill = plot::colormap(1.0 - count as f64 / most as f64);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1, y + 1)],
                fill.filled(),
            )))?;
            if count > 0 {
                chart.draw_series(std::iter::once(Text::new(
                    count.to_string(),
                    (x, y),
                    plot::font(plot::TICK_SIZE),
                )))?;
            }
        }
    }
    Ok(())
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.as_slice() {
        [flag, file] if flag == "--load" => evaluate_file(file),
        [] => {
            run();
        }
        _ => fail("usage: digits [--load STATE_DICT.safetensors]"),
    }
}
