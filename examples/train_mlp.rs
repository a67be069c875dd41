//! The lecture's Coding Exercise 3.1, "Build a neural network!", with chainrule's runtime, as
//! the lecture does it with `nn.Module`, `nn.MSELoss` and `torch.optim`:
//!
//! - build a network from `nn` components,
//! - compute predictions for some input data,
//! - calculate the loss,
//! - calculate its derivatives (every layer's backward pass is a `graph!`),
//! - run a step of the optimizer, then train.
//!
//! ```text
//! for i in range(n_epochs):                  for step in 0..=STEPS {
//!     optimizer.zero_grad()                      // (gradients are fresh values)
//!     prediction = neural_net(inputs)            let (loss, grads) =
//!     loss = loss_function(prediction, targets)      model.loss_and_grad(&x, &y, Mse);
//!     loss.backward()
//!     optimizer.step()                           optimizer.step(&mut model, &grads);
//! ```
//!
//! `cargo run --release --example train_mlp`. The last line is `final loss: <value>`; the
//! example exits with status 1 if the loss becomes NaN or infinite (naming the step and the
//! learning rate) or training does not lower it.

use chainrule::loss::{Loss, Mse};
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Linear, Module, Sequential, Tanh};
use chainrule::optim::{Adam, Optimizer};
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};

/// `nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))`.
type Network = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;

const SAMPLES: usize = 32;
const LEARNING_RATE: f32 = 1e-2;
const STEPS: usize = 1000;

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

pub fn run() -> f32 {
    let mut rng = StdRng::seed_from_u64(3);

    // Build a network using the nn components (PyTorch's default initialisation).
    let mut model = Network::init(&mut rng);
    println!("A 2-16-1 tanh network: {} parameters.", chainrule::Parameters::len(&model));

    // Some input data: 32 points in [-2, 2]², one per column, and y = sin(x₀)·x₁/2.
    let x = SMatrix::<f32, 2, SAMPLES>::from_fn(|_, _| rng.random_range(-2.0..2.0));
    let y = SMatrix::<f32, 1, SAMPLES>::from_fn(|_, j| x[(0, j)].sin() * x[(1, j)] / 2.0);

    // Predictions, the loss, and its derivatives.
    let prediction = model.forward(&x);
    let loss = Mse.loss(&prediction, &y);
    println!("  prediction for the first sample: {:.4} (target {:.4})", prediction[0], y[0]);
    println!("  loss: {loss:.6}");
    let (_, grads) = model.loss_and_grad(&x, &y, Mse);
    let (first, _, last) = &grads.layers;
    println!(
        "  gradient norms: |∂L/∂W1| = {:.4}, |∂L/∂b1| = {:.4}, |∂L/∂W2| = {:.4}, |∂L/∂b2| = {:.4}",
        first.weight.norm(),
        first.bias.norm(),
        last.weight.norm(),
        last.bias.norm()
    );

    // One step of the optimizer.
    let mut optimizer = Adam::new(LEARNING_RATE);
    optimizer.step(&mut model, &grads);
    let after = Mse.loss(&model.forward(&x), &y);
    println!("  after one Adam step (lr = {LEARNING_RATE}): loss {after:.6}");

    // Train.
    println!();
    println!("  {:>6}  {:>10}", "step", "loss");
    let mut final_loss = after;
    for step in 1..=STEPS {
        let (loss, grads) = model.loss_and_grad(&x, &y, Mse);
        if !loss.is_finite() {
            fail(&format!("training diverged: the loss is {loss} at step {step} with learning rate {LEARNING_RATE}"));
        }
        optimizer.step(&mut model, &grads);
        final_loss = loss;
        if step % 200 == 0 {
            println!("  {step:>6}  {loss:>10.6}");
        }
    }
    if final_loss >= loss {
        fail("training did not lower the loss");
    }
    println!();
    println!("final loss: {final_loss:.6}");
    final_loss
}

fn main() {
    run();
}
