//! The lecture's "Gradients via the computational graph" part: Analytical Exercise 1.2's
//! `f(x, y, z) = tanh(ln(1 + z·2x/sin(y)))`, written with the slide's intermediate names a..f,
//! forward and backward, the gradient from `graph!` beside the slide's hand-derived formula,
//! and a picture of the graph drawn from the macro's own IR.
//!
//! `#[dot]` makes `graph!` emit `lecture::DOT`, the graph in Graphviz's DOT language, and
//! `lecture::dot(x, y, z)`, the same labelled with each node's value and adjoint and each edge's
//! partial derivative at the point. The example lays that text out with layout-rs and writes
//! `target/lecture/computational-graph.svg`: no Graphviz is needed.
//!
//! It checks itself and exits with status 1 if a check fails: the gradient agrees with the
//! slide's formula within 1e-12, the DOT has the slide's nodes and edges, and the partials on
//! the picture's edges multiply, along every path from `x`, `y` or `z` to `f`, to the gradient.
//!
//! `cargo run --release --example computational_graph` runs this part alone;
//! `cargo expand --example computational_graph` prints the code the graph becomes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chainrule::graph;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

#[allow(clippy::duplicate_mod)] // The tour includes the parts that draw graphs, each with its own.
#[path = "support/dot.rs"]
mod dot;

graph! {
    /// The slide's computational graph, one `let` per intermediate variable. The generated
    /// forward and backward passes keep these names; the one node the slide leaves unnamed,
    /// `1 + d`, is called `v0`.
    #[dot]
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

/// The largest difference from a hand-derived value that still counts as agreement.
const TOLERANCE: f64 = 1e-12;

/// The slide's nodes: the parameters and the intermediates a..f.
pub const SLIDE_NODES: [&str; 9] = ["x", "y", "z", "a", "b", "c", "d", "e", "f"];
/// The slide's edges, operand → user.
pub const SLIDE_EDGES: [(&str, &str); 8] = [
    ("x", "a"),
    ("y", "b"),
    ("a", "c"),
    ("b", "c"),
    ("z", "d"),
    ("c", "d"),
    ("d", "e"),
    ("e", "f"),
];
/// The point the part evaluates the graph at.
pub const POINT: (f64, f64, f64) = (0.3, 1.1, 0.7);

/// A node or edge statement of DOT text, as `graph!` writes them: one per line.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Node {
        id: String,
        label: String,
    },
    Edge {
        from: String,
        to: String,
        label: Option<String>,
    },
}

/// The node and edge statements of `dot`, in order (what `graph!`'s `#[dot]` writes: one
/// statement per line, identifiers in double quotes).
pub fn statements(dot: &str) -> Vec<Statement> {
    let quoted = |text: &str| -> Option<(String, usize)> {
        let start = text.find('"')?;
        let end = start + 1 + text[start + 1..].find('"')?;
        Some((text[start + 1..end].to_string(), end + 1))
    };
    let label = |text: &str| -> Option<String> {
        let start = text.find("label=\"")? + "label=\"".len();
        let end = start + text[start..].find('"')?;
        Some(text[start..end].replace("\\n", "\n"))
    };
    dot.lines()
        .filter_map(|line| {
            let line = line.trim();
            if !line.starts_with('"') {
                return None;
            }
            let (first, end) = quoted(line)?;
            match line[end..].trim_start().strip_prefix("->") {
                Some(after) => {
                    let (second, _) = quoted(after)?;
                    Some(Statement::Edge {
                        from: first,
                        to: second,
                        label: label(line),
                    })
                }
                None => Some(Statement::Node {
                    id: first,
                    label: label(line).unwrap_or_default(),
                }),
            }
        })
        .collect()
}

/// The nodes and the edges of `dot`.
pub fn nodes_and_edges(dot: &str) -> (BTreeSet<String>, BTreeSet<(String, String)>) {
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for statement in statements(dot) {
        match statement {
            Statement::Node { id, .. } => {
                nodes.insert(id);
            }
            Statement::Edge { from, to, .. } => {
                edges.insert((from, to));
            }
        }
    }
    (nodes, edges)
}

/// Whether `dot` has exactly the slide's nodes and edges.
pub fn matches_the_slide(dot: &str) -> bool {
    let (nodes, edges) = nodes_and_edges(dot);
    let slide_nodes: BTreeSet<String> = SLIDE_NODES.iter().map(|n| n.to_string()).collect();
    let slide_edges: BTreeSet<(String, String)> = SLIDE_EDGES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    nodes == slide_nodes && edges == slide_edges
}

/// The chain rule read off the picture: for each of `x`, `y`, `z`, the sum over the paths
/// from it to `f` of the product of the partials on their edges, from the edge labels of
/// `lecture::dot(..)`.
pub fn gradient_from_picture(dot: &str) -> Option<[f64; 3]> {
    let mut edges: Vec<(String, String, f64)> = Vec::new();
    for statement in statements(dot) {
        if let Statement::Edge { from, to, label } = statement {
            edges.push((from, to, label?.trim().parse().ok()?));
        }
    }
    // Paths are few: walk them depth first.
    fn paths_to_f(node: &str, edges: &[(String, String, f64)]) -> f64 {
        if node == "f" {
            return 1.0;
        }
        edges
            .iter()
            .filter(|(from, _, _)| from == node)
            .map(|(_, to, partial)| partial * paths_to_f(to, edges))
            .sum()
    }
    Some(["x", "y", "z"].map(|parameter| paths_to_f(parameter, &edges)))
}

/// The partial on the edge `from → to` of a labelled DOT text, if there is one.
pub fn partial(dot: &str, from: &str, to: &str) -> Option<f64> {
    statements(dot)
        .into_iter()
        .find_map(|statement| match statement {
            Statement::Edge {
                from: f,
                to: t,
                label: Some(label),
            } if f == from && t == to => label.trim().parse().ok(),
            _ => None,
        })
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Runs this part of the lecture: prints the graph's numbers, checks them, draws the graph and
/// returns the picture's path.
pub fn run() -> Vec<PathBuf> {
    let mut mismatches = lecture_graph();
    println!();
    let (x, y, z) = POINT;
    let (nodes, edges) = nodes_and_edges(lecture::DOT);
    let slide = matches_the_slide(lecture::DOT);
    println!(
        "lecture::DOT, from #[dot]: {} nodes ({}) and {} edges{}",
        nodes.len(),
        nodes.iter().cloned().collect::<Vec<_>>().join(", "),
        edges.len(),
        if slide {
            ": the slide's graph"
        } else {
            ": NOT the slide's graph"
        }
    );
    let labelled = lecture::dot(x, y, z);
    let (_, grad) = lecture::value_and_grad(x, y, z);
    match gradient_from_picture(&labelled) {
        Some(from_picture) => {
            let difference = (from_picture[0] - grad.x)
                .abs()
                .max((from_picture[1] - grad.y).abs())
                .max((from_picture[2] - grad.z).abs());
            println!(
                "  the partials on its edges, multiplied along the paths to f: ({:.6}, {:.6}, {:.6}), within {difference:.1e} of the gradient",
                from_picture[0], from_picture[1], from_picture[2]
            );
            // The labels carry six significant digits.
            if difference > 1e-5 {
                mismatches += 1;
            }
        }
        None => {
            println!("  lecture::dot(..) has an edge without a number");
            mismatches += 1;
        }
    }
    let along = ["x", "a", "c", "d", "e", "f"];
    let partials: Option<Vec<f64>> = along
        .windows(2)
        .map(|pair| partial(&labelled, pair[0], pair[1]))
        .collect();
    if let Some(partials) = partials {
        println!(
            "  along x → a → c → d → e → f they are {}: the slide's 2 · 1/b · z · 1/(d+1) · (1 − tanh²(e)), product {:.6}",
            partials
                .iter()
                .map(|p| format!("{p}"))
                .collect::<Vec<_>>()
                .join(" · "),
            partials.iter().product::<f64>()
        );
    }
    if !slide {
        mismatches += 1;
    }
    if mismatches > 0 {
        fail(&format!(
            "{mismatches} check(s) failed: a gradient differs from the hand-derived formula by more than {TOLERANCE:e}, or the picture is not the slide's"
        ));
    }
    let picture = match plot::picture_path("computational-graph.svg").and_then(|path| {
        let svg = dot::to_svg(&labelled, &dot::Style::default())?;
        std::fs::write(&path, svg)?;
        Ok(path)
    }) {
        Ok(path) => path,
        Err(error) => fail(&format!("could not draw computational-graph.svg: {error}")),
    };
    println!(
        "  picture: {} (the graph at (x, y, z) = ({x}, {y}, {z}), laid out by layout-rs)",
        picture.display()
    );
    vec![picture]
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}

/// The slide's graph at (x, y, z) = (0.3, 1.1, 0.7). Returns the number of mismatches.
fn lecture_graph() -> usize {
    let (x, y, z) = POINT;
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
