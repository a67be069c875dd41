//! The macro's own cost: how long `graph_compiler::expand` takes, and how much code it emits,
//! for graphs of 100, 1,000 and 10,000 nodes in two shapes. `BENCHMARKS.md` reports the numbers.
//!
//! `cargo bench -p graph-compiler --bench expand`
//!
//! - A chain: each `let` uses the previous one, `let v3 = sin(v2) * x + v2;` (3 nodes a line),
//!   so every node is on the one path from input to output, and the parameter `x` is used on
//!   every line, so its adjoint `d_x` sums one contribution per line.
//! - A local chain: the same without the parameter, `let v3 = sin(v2) * v2 + v2;`, so every
//!   adjoint has at most two contributions. Comparing it with the chain isolates the cost of an
//!   adjoint with many contributions.
//! - A balanced binary tree: leaves `sin(k * x + y)` (4 nodes with the constant `k`) multiplied
//!   pairwise (1 node a product), so the backward pass needs every forward value.
//!
//! Each graph is also expanded with `#[hessian]` (the `expand_hessian` group), which adds
//! `hvp` and, for these scalar graphs, `hessian`: the backward graph differentiated again.
//!
//! The graph source is lexed once, outside the timing: rustc, not the macro, lexes user code.
//! The emitted token count and source size are printed once per graph, also outside the timing.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use proc_macro2::{TokenStream, TokenTree};

/// The graph sizes, in IR nodes (inputs and constants included).
const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// A graph shape: its name, and its source text for about the given number of nodes.
type Shape = (&'static str, fn(usize) -> String);

const SHAPES: [Shape; 3] = [("chain", chain), ("local", local_chain), ("tree", tree)];

/// A chain of about `nodes` nodes: one input and `nodes / 3` lines of three nodes each, each
/// line multiplying by the input `x`.
fn chain(nodes: usize) -> String {
    chain_with_factor(nodes, |_| "x".to_string())
}

/// A chain like [`chain`], each line multiplying by the previous line's value instead of `x`.
fn local_chain(nodes: usize) -> String {
    chain_with_factor(nodes, |previous| format!("v{previous}"))
}

fn chain_with_factor(nodes: usize, factor: fn(usize) -> String) -> String {
    let lines = nodes / 3;
    let mut src = String::from("fn chain(x: f64) -> f64 {\n    let v0 = x;\n");
    for i in 1..=lines {
        let previous = i - 1;
        let factor = factor(previous);
        writeln!(
            src,
            "    let v{i} = sin(v{previous}) * {factor} + v{previous};"
        )
        .expect("a String");
    }
    writeln!(src, "    v{lines}\n}}").expect("a String");
    src
}

/// A balanced binary tree of about `nodes` nodes: two inputs, `nodes / 5` leaves of four
/// nodes each, and one product for each pair below the root.
fn tree(nodes: usize) -> String {
    let leaves = nodes / 5;
    let mut src = String::from("fn tree(x: f64, y: f64) -> f64 {\n");
    let mut level: Vec<String> = (0..leaves)
        .map(|i| {
            let name = format!("l{i}");
            writeln!(src, "    let {name} = sin({} * x + y);", i + 1).expect("a String");
            name
        })
        .collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| match pair {
                [left, right] => {
                    let name = format!("t{depth}_{i}");
                    writeln!(src, "    let {name} = {left} * {right};").expect("a String");
                    name
                }
                // An odd one out moves up a level unchanged.
                [single] => single.clone(),
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    writeln!(src, "    {}\n}}", level[0]).expect("a String");
    src
}

/// Every token, counting the tokens inside groups and each group's delimiters as one.
fn count_tokens(tokens: TokenStream) -> usize {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => 1 + count_tokens(group.stream()),
            _ => 1,
        })
        .sum()
}

fn lex(src: &str) -> TokenStream {
    src.parse().expect("generated graph source lexes")
}

fn expand_benches(c: &mut Criterion) {
    bench_group(c, "expand", "");
    bench_group(c, "expand_hessian", "#[hessian]\n");
}

/// Prints the sizes of, and times, every shape and size, each source starting with `prefix`.
fn bench_group(c: &mut Criterion, name: &str, prefix: &str) {
    println!("{name}:");
    println!(
        "{:<6} {:>7} {:>10} {:>10} {:>14} {:>12} {:>11}",
        "shape", "nodes", "source B", "tokens", "emitted bytes", "tokens/node", "bytes/node"
    );
    let mut cases = Vec::new();
    for (shape, generate) in SHAPES {
        for size in SIZES {
            let src = format!("{prefix}{}", generate(size));
            let nodes = graph_compiler::lower_str(&src)
                .expect("generated graph lowers")
                .graph
                .len();
            let tokens = lex(&src);
            let emitted = graph_compiler::expand(tokens.clone()).expect("generated graph expands");
            let emitted_bytes = emitted.to_string().len();
            let emitted_tokens = count_tokens(emitted);
            println!(
                "{shape:<6} {nodes:>7} {:>10} {emitted_tokens:>10} {emitted_bytes:>14} {:>12.1} {:>11.1}",
                src.len(),
                emitted_tokens as f64 / nodes as f64,
                emitted_bytes as f64 / nodes as f64,
            );
            cases.push((shape, nodes, tokens));
        }
    }

    let mut group = c.benchmark_group(name);
    // The 10,000-node cases take tens of milliseconds each; ten samples keep a run short.
    group.sample_size(10);
    for (shape, nodes, tokens) in cases {
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_with_input(BenchmarkId::new(shape, nodes), &tokens, |b, tokens| {
            b.iter_batched(
                || tokens.clone(),
                |tokens| graph_compiler::expand(black_box(tokens)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, expand_benches);
criterion_main!(benches);
