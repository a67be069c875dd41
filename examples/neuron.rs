//! The lecture's Coding Exercise 2.1, "Building the computational graph": a neuron with one
//! input, `prediction = tanh(w·x + b)`, and its squared error `(y − prediction)²`. Only `w`
//! and `b` require gradients (PyTorch's `requires_grad=True`); `x` and `y` are data, marked
//! `#[no_grad]`, so the generated `Grad` has no field for them.
//!
//! "Compute the gradient with respect to w and b the easy way": the gradient comes from
//! `graph!`, and is checked against the derivative by hand,
//! `∂L/∂w = −2x(y − t)(1 − t²)` and `∂L/∂b = −2(y − t)(1 − t²)` with `t = tanh(wx + b)`, at the
//! exercise's point (w = −0.5, b = 0.5, x = 1, y = 7) and at ten thousand random points. The
//! example exits with status 1 if they differ by more than 1e-12 (relative).
//!
//! `#[dot]` draws the neuron's computational graph at that point, as the lecture's slide does,
//! to `target/lecture/neuron-graph.svg`.
//!
//! `cargo run --release --example neuron` runs this part alone;
//! `cargo expand --example neuron` prints the code the graph becomes.

use std::path::PathBuf;

use chainrule::graph;
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

#[allow(clippy::duplicate_mod)] // The tour includes the parts that draw graphs, each with its own.
#[path = "support/dot.rs"]
mod dot;

graph! {
    /// Coding Exercise 2.1: a neuron's squared error. `x` and `y` are data.
    #[dot]
    pub fn neuron_loss(w: f64, b: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        let prediction = tanh(w*x + b);
        (y - prediction)^2
    }
}

/// The exercise's neuron and sample: `SimpleGraph(-0.5, 0.5)`, feature 1, target 7.
pub const EXERCISE: Point = Point {
    w: -0.5,
    b: 0.5,
    x: 1.0,
    y: 7.0,
};

/// How many random points the gradient is also checked at.
pub const RANDOM_POINTS: usize = 10_000;

/// The largest relative difference from the hand-derived gradient that counts as agreement.
pub const TOLERANCE: f64 = 1e-12;

/// Where the neuron is evaluated: its parameters and one sample.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub w: f64,
    pub b: f64,
    pub x: f64,
    pub y: f64,
}

/// The prediction, the loss and `(∂L/∂w, ∂L/∂b)` derived by hand.
pub fn by_hand(p: Point) -> (f64, f64, (f64, f64)) {
    let t = (p.w * p.x + p.b).tanh();
    let loss = (p.y - t) * (p.y - t);
    let common = -2.0 * (p.y - t) * (1.0 - t * t);
    (t, loss, (common * p.x, common))
}

/// The loss and `(∂L/∂w, ∂L/∂b)` from `graph!`.
pub fn generated(p: Point) -> (f64, (f64, f64)) {
    let (loss, grad) = neuron_loss::value_and_grad(p.w, p.b, p.x, p.y);
    (loss, (grad.w, grad.b))
}

/// The largest relative difference `|generated − by hand| / (1 + |by hand|)` of the loss and
/// both partial derivatives at `p`.
pub fn difference(p: Point) -> f64 {
    let (_, loss, (dw, db)) = by_hand(p);
    let (generated_loss, (generated_dw, generated_db)) = generated(p);
    [
        (generated_loss, loss),
        (generated_dw, dw),
        (generated_db, db),
    ]
    .iter()
    .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
    .fold(0.0, f64::max)
}

/// The largest [`difference`] over `count` points drawn from a seed: `w`, `b`, `x` in
/// [−3, 3] and `y` in [−2, 2].
pub fn largest_difference_at_random(count: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            difference(Point {
                w: rng.random_range(-3.0..3.0),
                b: rng.random_range(-3.0..3.0),
                x: rng.random_range(-3.0..3.0),
                y: rng.random_range(-2.0..2.0),
            })
        })
        .fold(0.0, f64::max)
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Runs this part: prints the exercise's numbers, draws the neuron's graph at the exercise's
/// point and returns the picture's path.
pub fn run() -> Vec<PathBuf> {
    let p = EXERCISE;
    let (prediction, by_hand_loss, (by_hand_w, by_hand_b)) = by_hand(p);
    let (loss, (dw, db)) = generated(p);
    println!("A neuron's squared error L(w, b) = (y − tanh(wx + b))², x and y marked #[no_grad]");
    println!(
        "at w = {}, b = {}, x = {}, y = {}: prediction = {prediction}, L = {loss} (by hand {by_hand_loss})",
        p.w, p.b, p.x, p.y
    );
    println!(
        "  {:<6} {:>10} {:>10}   by-hand formula",
        "", "graph!", "by hand"
    );
    println!(
        "  {:<6} {dw:>10} {by_hand_w:>10}   −2x(y − t)(1 − t²)",
        "∂L/∂w"
    );
    println!(
        "  {:<6} {db:>10} {by_hand_b:>10}   −2(y − t)(1 − t²)",
        "∂L/∂b"
    );
    let at_random = largest_difference_at_random(RANDOM_POINTS, 21);
    println!(
        "  at {RANDOM_POINTS} random (w, b, x, y) the largest relative difference is {at_random:.1e}"
    );
    if difference(p) > TOLERANCE || at_random > TOLERANCE {
        fail(&format!(
            "the generated gradient differs from the hand-derived one by more than {TOLERANCE:e}"
        ));
    }
    let picture = match plot::picture_path("neuron-graph.svg").and_then(|path| {
        let svg = dot::to_svg(
            &neuron_loss::dot(p.w, p.b, p.x, p.y),
            &dot::Style::default(),
        )?;
        std::fs::write(&path, svg)?;
        Ok(path)
    }) {
        Ok(path) => path,
        Err(error) => fail(&format!("could not draw neuron-graph.svg: {error}")),
    };
    println!(
        "  picture: {} (the neuron's graph from #[dot]; x and y, the #[no_grad] data, in grey)",
        picture.display()
    );
    vec![picture]
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
