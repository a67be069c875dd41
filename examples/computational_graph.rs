//! The lecture's "Gradients via the computational graph" part, computed by `graph!` and checked
//! against the gradients derived by hand on the slides.
//!
//! Two graphs: the slide's `f(x, y, z) = tanh(ln(1 + z·2x/sin(y)))`, written with the slide's
//! intermediate names a..f, and the neuron of Coding Exercise 2.1, `(y - tanh(wx + b))^2`.
//! For each, it prints the value, the gradient from `value_and_grad`, the hand-derived formula
//! beside it, and their difference; it exits with status 1 if any pair differs by more than
//! 1e-12, so the demonstration cannot quietly print a wrong gradient.
//!
//! `cargo run --release --example computational_graph` runs this part alone;
//! `cargo run --release --example lecture` runs it among the lecture's other parts;
//! `cargo expand --example computational_graph` prints the code the two graphs become.

use chainrule::graph;

graph! {
    /// The slide's computational graph, one `let` per intermediate variable. The generated
    /// forward and backward passes keep these names; the one node the slide leaves unnamed,
    /// `1 + d`, is called `v0`.
    pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
        let a = 2x;
        let b = sin(y);
        let c = a / b;
        let d = z * c;
        let e = ln(1 + d);
        let f = tanh(e);
        f
    }
}

graph! {
    /// Coding Exercise 2.1: a neuron's squared error. Only `w` and `b` require gradients;
    /// `x` and `y` are data, so `Grad` has no field for them.
    pub fn neuron_loss(w: f64, b: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - tanh(w*x + b))^2
    }
}

/// The largest difference from a hand-derived value that still counts as agreement.
const TOLERANCE: f64 = 1e-12;

/// Runs this part of the lecture: prints both graphs and exits with status 1 on a mismatch.
pub fn run() {
    let mut mismatches = 0;
    mismatches += lecture_graph();
    println!();
    mismatches += neuron_exercise();
    println!();
    if mismatches > 0 {
        eprintln!(
            "{mismatches} generated gradient(s) differ from the hand-derived formula by more than {TOLERANCE:e}"
        );
        std::process::exit(1);
    }
    println!("All generated gradients agree with the hand-derived formulas within {TOLERANCE:e}.");
}

fn main() {
    run()
}

/// The slide's graph at (x, y, z) = (0.3, 1.1, 0.7). Returns the number of mismatches.
fn lecture_graph() -> usize {
    let (x, y, z): (f64, f64, f64) = (0.3, 1.1, 0.7);
    println!("The lecture's graph  f(x, y, z) = tanh(ln(1 + z·2x/sin(y)))");
    println!("at (x, y, z) = ({x}, {y}, {z})");
    println!();

    // The forward intermediates, recomputed here with the slide's names: the generated
    // `forward` computes the same `let`s but returns only f.
    let a = 2.0 * x;
    let b = y.sin();
    let c = a / b;
    let d = z * c;
    let e = (1.0 + d).ln();
    let f = e.tanh();
    println!("Forward pass: the intermediate variables (recomputed by hand)");
    for (name, formula, value) in [
        ("a", "2x", a),
        ("b", "sin(y)", b),
        ("c", "a / b", c),
        ("d", "z·c", d),
        ("e", "ln(1 + d)", e),
        ("f", "tanh(e)", f),
    ] {
        println!("  {name} = {formula:<10} {value:>19.15}");
    }
    let (value, grad) = lecture::value_and_grad(x, y, z);
    let mut mismatches = 0;
    println!();
    table_header("value");
    mismatches += row("f", "tanh(e)", value, f);
    println!();

    // The slide's chain rule for ∂f/∂x, and the same walk down the graph for y and z.
    let d_f_d_e = 1.0 - f * f; // tanh'(e) = 1 - tanh²(e)
    let d_e_d_d = 1.0 / (d + 1.0); // ln'(1 + d)
    let by_hand_x = d_f_d_e * d_e_d_d * z * (1.0 / b) * 2.0;
    let by_hand_y = d_f_d_e * d_e_d_d * z * (-a / (b * b)) * y.cos();
    let by_hand_z = d_f_d_e * d_e_d_d * c;
    table_header("gradient");
    mismatches += row(
        "∂f/∂x",
        "(1 - tanh²(e)) · 1/(d+1) · z · 1/b · 2",
        grad.x,
        by_hand_x,
    );
    mismatches += row(
        "∂f/∂y",
        "(1 - tanh²(e)) · 1/(d+1) · z · (-a/b²) · cos(y)",
        grad.y,
        by_hand_y,
    );
    mismatches += row("∂f/∂z", "(1 - tanh²(e)) · 1/(d+1) · c", grad.z, by_hand_z);
    println!();
    println!("The generated backward pass starts from d_out (1 in value_and_grad) and walks back");
    println!("through d_e, d_v0 (v0 = 1 + d), d_z, d_c, d_a, d_b, d_y and d_x, one `let` each;");
    println!("read it with `cargo expand --example computational_graph`.");
    mismatches
}

/// Coding Exercise 2.1 at x = 1.5, y = 0.5, (w, b) = (0.4, -0.1). Returns the number of
/// mismatches.
fn neuron_exercise() -> usize {
    let (x, y): (f64, f64) = (1.5, 0.5);
    let (w, b): (f64, f64) = (0.4, -0.1);
    println!("Coding Exercise 2.1  L(w, b) = (y - tanh(wx + b))²,  x and y marked #[no_grad]");
    println!("at x = {x}, y = {y}, (w, b) = ({w}, {b})");
    println!();

    let (loss, grad) = neuron_loss::value_and_grad(w, b, x, y);
    // With t = tanh(wx + b): ∂L/∂t = -2(y - t), ∂t/∂(wx + b) = 1 - t², then x for w and 1 for b.
    let t = (w * x + b).tanh();
    let by_hand_loss = (y - t) * (y - t);
    let by_hand_w = -2.0 * (y - t) * (1.0 - t * t) * x;
    let by_hand_b = -2.0 * (y - t) * (1.0 - t * t);
    let mut mismatches = 0;
    table_header("value");
    mismatches += row("L", "(y - t)²,  t = tanh(wx + b)", loss, by_hand_loss);
    println!();
    table_header("gradient");
    mismatches += row("∂L/∂w", "-2(y - t) · (1 - t²) · x", grad.w, by_hand_w);
    mismatches += row("∂L/∂b", "-2(y - t) · (1 - t²)", grad.b, by_hand_b);
    mismatches
}

/// Prints the column titles of a comparison table.
fn table_header(what: &str) {
    println!(
        "  {what:<8} {:>19} {:>19} {:>12}   by-hand formula",
        "graph!", "by hand", "difference"
    );
}

/// Prints one comparison: the generated value, the hand-derived one, their difference and the
/// formula. Returns 1 if they differ by more than [`TOLERANCE`] (or either is NaN), else 0.
fn row(name: &str, formula: &str, generated: f64, by_hand: f64) -> usize {
    let difference = generated - by_hand;
    // A NaN compares false, so it counts as a mismatch.
    let agrees = difference.abs() <= TOLERANCE;
    let verdict = if agrees { "" } else { "   <-- MISMATCH" };
    println!(
        "  {name:<8} {generated:>19.15} {by_hand:>19.15} {difference:>12.1e}   {formula}{verdict}"
    );
    usize::from(!agrees)
}
