//! The main job: the lecture's parts in order, each under a heading.
//!
//! `cargo run --release --example lecture`. Each part is an example of its own, included here
//! as a module, so `cargo run --release --example computational_graph` runs one part alone.
//! A part exits with status 1 if a generated gradient disagrees with its hand-derived formula,
//! which stops the run there.
//!
//! Only "Gradients via the computational graph" exists so far; the training parts (gradient
//! descent, a neural net, learning rates) are added to [`SECTIONS`] as they are written.

// Its `main` is unused here: this example calls `computational_graph::run` instead.
#[allow(dead_code)]
#[path = "computational_graph.rs"]
mod computational_graph;

/// One part of the lecture.
struct Section {
    /// The slide title the part follows.
    title: &'static str,
    run: fn(),
}

/// The lecture's parts, in the order the slides present them.
const SECTIONS: &[Section] = &[Section {
    title: "Gradients via the computational graph (forward / backward / gradients)",
    run: computational_graph::run,
}];

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
