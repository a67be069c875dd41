//! The main job: the lecture's parts in order, each under a heading.
//!
//! `cargo run --release --example lecture`. Each part is an example of its own, included here
//! as a module, so `cargo run --release --example computational_graph` runs one part alone.
//! A part exits with status 1 if a generated gradient disagrees with its hand-derived formula,
//! which stops the run there.
//!
//! The parts so far: gradients via the computational graph, and a neural network trained by
//! gradient descent. The learning-rate part is added to [`SECTIONS`] when it is written.

// Their `main`s are unused here: this example calls their `run`s instead.
#[allow(dead_code)]
#[path = "computational_graph.rs"]
mod computational_graph;
#[allow(dead_code)]
#[path = "neural_network.rs"]
mod neural_network;

/// One part of the lecture.
struct Section {
    /// The slide title the part follows.
    title: &'static str,
    run: fn(),
}

/// The lecture's parts, in the order the slides present them.
const SECTIONS: &[Section] = &[
    Section {
        title: "Gradients via the computational graph (forward / backward / gradients)",
        run: computational_graph::run,
    },
    Section {
        title: "Build a neural network! (Coding Exercise 3.1)",
        run: neural_network::run,
    },
];

fn main() {
    println!("Deep Linear Neural Networks: the lecture, computed by chainrule");
    for (index, section) in SECTIONS.iter().enumerate() {
        let heading = format!("{}. {}", index + 1, section.title);
        println!();
        println!("{heading}");
        println!("{}", "=".repeat(heading.chars().count()));
        println!();
        (section.run)();
    }
}
