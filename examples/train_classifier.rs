//! Two spirals, classified by a small tanh network trained with `chainrule::train::Trainer`:
//! shuffled minibatches of 32, Adam with a warm-up and a cosine schedule, a validation set
//! measured after every epoch, early stopping, a progress bar (on a terminal), and a
//! checkpoint at the end.
//!
//! `cargo run --release --example train_classifier`. Prints each epoch's training loss and
//! validation loss and accuracy, then `final validation accuracy: <percent>`; exits with
//! status 1 if training diverges (the error names the step, the epoch and the learning rate)
//! or the accuracy stays below 97%.

use std::ops::ControlFlow;

use chainrule::data;
use chainrule::loss::CrossEntropy;
use chainrule::nn::{Linear, Sequential, Tanh};
use chainrule::optim::schedule::{CosineAnnealingLR, LinearLR, SequentialLR};
use chainrule::optim::Adam;
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::train::{Event, Stop, Trainer};

/// `nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))`.
type Classifier = Sequential<(
    Linear<f32, 2, 32>,
    Tanh,
    Linear<f32, 32, 32>,
    Tanh,
    Linear<f32, 32, 2>,
)>;

const BATCH: usize = 32;
const EPOCHS: usize = 100;
const TRAIN: usize = 1024;

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

fn main() {
    let train = data::two_spirals::<f32>(TRAIN, 0.02, 1);
    let validation = data::two_spirals::<f32>(512, 0.02, 2);
    let model = Classifier::init(&mut StdRng::seed_from_u64(1));
    let steps = EPOCHS * (TRAIN / BATCH);
    let warmup = 100;
    let schedule = SequentialLR::new(
        LinearLR::warmup(0.1, warmup),
        warmup,
        CosineAnnealingLR::new(steps - warmup, 1e-4),
    );
    println!(
        "Two spirals: {TRAIN} training and {} validation points, a 2-32-32-2 tanh network \
         ({} parameters), minibatches of {BATCH}.",
        validation.len(),
        chainrule::Parameters::len(&model),
    );

    let mut trainer = Trainer::new(model, Adam::new(0.01), CrossEntropy)
        .epochs(EPOCHS)
        .seed(7)
        .schedule(schedule)
        .validation(validation.clone())
        .early_stopping(15)
        .callback(|progress| {
            if progress.event == Event::Epoch {
                let validation = progress
                    .validation
                    .expect("the trainer has a validation set");
                progress.println(&format!(
                    "epoch {:3}/{}: loss {:.4}, validation {validation:.4}",
                    progress.epoch + 1,
                    progress.epochs,
                    progress.loss,
                ));
            }
            ControlFlow::Continue(())
        });

    match trainer.fit::<BATCH>(&train) {
        Ok(Stop::EarlyStopping { best_epoch }) => {
            println!(
                "stopped early: the validation loss was lowest after epoch {}",
                best_epoch + 1
            )
        }
        Ok(_) => {}
        Err(error) => fail(&error.to_string()),
    }

    let path = std::env::temp_dir().join("chainrule-train-classifier.safetensors");
    match trainer.save_checkpoint(&path) {
        Ok(()) => println!(
            "checkpoint (model, Adam's moments, position, history): {}",
            path.display()
        ),
        Err(error) => fail(&error.to_string()),
    }

    let accuracy = trainer
        .evaluate::<BATCH>(&validation)
        .accuracy
        .unwrap_or(0.0);
    println!("final validation accuracy: {:.1}%", accuracy * 100.0);
    if accuracy <= 0.97 {
        fail("the classifier did not reach 97% validation accuracy");
    }
}
