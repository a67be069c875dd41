//! The tour: the whole lecture, "Deep Linear Neural Networks", its six parts in order, then the Example slide, each
//! under a heading, with the pictures each draws.
//!
//! `cargo run --release --example lecture` runs it; `cargo run --release --example lecture --
//! --docs` also copies the pictures into `docs/images/`, where the README shows them.
//!
//! Each part is an example of its own, included here as a module, so a student can run one
//! alone (`cargo run --release --example deep_linear`) and read it whole. Each part prints a
//! short summary (what it computed, the key numbers, which picture shows it), draws its
//! pictures into `target/lecture/` (`$CARGO_TARGET_DIR/lecture/` when that is set), and checks
//! what they claim: a part exits with status 1 if a check fails, which stops the tour there.
//!
//! 1. Gradient descent (`gradient_descent.rs`): Analytical Exercise 1.1.
//! 2. The computational graph (`computational_graph.rs`): Analytical Exercise 1.2 and the
//!    slides' graph, drawn from the macro's IR by `#[dot]`.
//! 3. Autograd on a neuron (`neuron.rs`): Coding Exercise 2.1.
//! 4. A neural network (`neural_network.rs`, one `graph!` by hand; `train_mlp.rs`, with the
//!    runtime's layers, optimizer and `Trainer`): Coding Exercise 3.1.
//! 5. Learning rates (`learning_rates.rs`): the four regimes, and a sweep.
//! 6. Deep linear networks (`deep_linear.rs`): plateaus, depth, initial scale and the modes of
//!    Saxe, McClelland & Ganguli (2013).
//! 7. The "Example" slide (`digits.rs`): a convolutional ReLU network, He initialisation,
//!    cross-entropy and SGD with momentum on UCI's handwritten digits.

use std::path::PathBuf;
use std::time::Instant;

// Their `main`s are unused here: the tour calls their `run`s instead.
#[path = "computational_graph.rs"]
mod computational_graph;
#[path = "deep_linear.rs"]
mod deep_linear;
#[path = "digits.rs"]
mod digits;
#[path = "gradient_descent.rs"]
mod gradient_descent;
#[path = "learning_rates.rs"]
mod learning_rates;
#[path = "neural_network.rs"]
mod neural_network;
#[path = "neuron.rs"]
mod neuron;
#[path = "train_mlp.rs"]
mod train_mlp;

/// One part of the lecture.
struct Part {
    /// The part's title, after the slides.
    title: &'static str,
    /// The examples that are this part, to run alone.
    examples: &'static [&'static str],
    /// Prints the part's summary, draws its pictures and returns their paths.
    runs: &'static [fn() -> Vec<PathBuf>],
}

/// The lecture's parts, in the order of the slides.
const PARTS: &[Part] = &[
    Part {
        title: "Gradient descent (Analytical Exercise 1.1)",
        examples: &["gradient_descent"],
        runs: &[gradient_descent::run],
    },
    Part {
        title: "Gradients via the computational graph (Analytical Exercise 1.2)",
        examples: &["computational_graph"],
        runs: &[computational_graph::run],
    },
    Part {
        title: "Autograd: building the computational graph (Coding Exercise 2.1)",
        examples: &["neuron"],
        runs: &[neuron::run],
    },
    Part {
        title: "Build a neural network! (Coding Exercise 3.1)",
        examples: &["neural_network", "train_mlp"],
        runs: &[neural_network::run, train_mlp::run],
    },
    Part {
        title: "Learning hyperparameters: the learning rate",
        examples: &["learning_rates"],
        runs: &[learning_rates::run],
    },
    Part {
        title: "Deep linear neural networks",
        examples: &["deep_linear"],
        runs: &[deep_linear::run],
    },
    Part {
        title: "Example: a convolutional network on real images",
        examples: &["digits"],
        runs: &[digits::run],
    },
];

/// Where the README's copies of the pictures live.
const DOCS_IMAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/images");

fn main() {
    let copy_to_docs = std::env::args()
        .skip(1)
        .any(|argument| argument == "--docs");
    let start = Instant::now();
    println!("Deep Linear Neural Networks: the lecture, computed by chainrule");
    let mut pictures = Vec::new();
    for (index, part) in PARTS.iter().enumerate() {
        let heading = format!("{}. {}", index + 1, part.title);
        println!();
        println!("{heading}");
        println!("{}", "=".repeat(heading.chars().count()));
        let alone: Vec<String> = part
            .examples
            .iter()
            .map(|name| format!("cargo run --release --example {name}"))
            .collect();
        println!("(alone: {})", alone.join("; "));
        let part_start = Instant::now();
        for (run, name) in part.runs.iter().zip(part.examples) {
            if part.runs.len() > 1 {
                println!();
                println!("-- {name}");
            }
            println!();
            pictures.extend(run());
        }
        println!();
        println!("({:.1} s)", part_start.elapsed().as_secs_f64());
    }
    println!();
    println!(
        "The tour drew {} pictures in {}:",
        pictures.len(),
        pictures.first().and_then(|p| p.parent()).map_or_else(
            || String::from("target/lecture"),
            |d| d.display().to_string()
        )
    );
    for picture in &pictures {
        let name = picture
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        println!("  {name}");
    }
    if copy_to_docs {
        if let Err(error) = copy_into_docs(&pictures) {
            eprintln!("error: could not copy the pictures into {DOCS_IMAGES}: {error}");
            std::process::exit(1);
        }
        println!("and copied them into {DOCS_IMAGES}.");
    } else {
        println!("(`-- --docs` copies them into docs/images/ for the README.)");
    }
    println!(
        "All {} parts ran in {:.1} s.",
        PARTS.len(),
        start.elapsed().as_secs_f64()
    );
}

/// Copies every picture into [`DOCS_IMAGES`], under the same name.
fn copy_into_docs(pictures: &[PathBuf]) -> std::io::Result<()> {
    std::fs::create_dir_all(DOCS_IMAGES)?;
    for picture in pictures {
        if let Some(name) = picture.file_name() {
            std::fs::copy(picture, PathBuf::from(DOCS_IMAGES).join(name))?;
        }
    }
    Ok(())
}
