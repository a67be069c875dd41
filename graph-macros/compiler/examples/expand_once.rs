//! Expands the benchmark's `chain` graph of N nodes once: a fixed amount of work to count
//! instructions with (`BENCHMARKS.md`, "The compiler as data"), where timings are too noisy.
//!
//! ```sh
//! cargo build --release -p graph-compiler --example expand_once
//! valgrind --tool=callgrind target/release/examples/expand_once 1000
//! ```

use std::fmt::Write;

fn main() {
    let nodes: usize = std::env::args()
        .nth(1)
        .map_or(Ok(1000), |arg| arg.parse())
        .expect("the number of nodes");
    let lines = nodes / 3;
    let mut src = String::from("fn chain(x: f64) -> f64 {\n    let v0 = x;\n");
    for i in 1..=lines {
        let previous = i - 1;
        writeln!(src, "    let v{i} = sin(v{previous}) * x + v{previous};").expect("a String");
    }
    writeln!(src, "    v{lines}\n}}").expect("a String");
    let tokens: proc_macro2::TokenStream = src.parse().expect("the chain lexes");
    let expanded = graph_compiler::expand(tokens).expect("the chain expands");
    println!("{} token trees", expanded.into_iter().count());
}
