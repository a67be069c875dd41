//! Second derivatives of random expressions, through the IR evaluator: `second::hvp` against
//! central differences of the simplified gradient graph along `v`, `second::hessian` against
//! `hvp` along each axis and exactly symmetric, and both graphs linear in the graph's size.

use graph_compiler::ir::{Func, Graph, NodeId, Op};
use graph_compiler::lower_str;
use graph_compiler::passes::diff::differentiate;
use graph_compiler::passes::eval::eval;
use graph_compiler::passes::second::{hessian, hvp};
use graph_compiler::passes::simplify::simplify;
use proc_macro2::Span;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const LEAVES: &[&str] = &[
    "x", "y", "z", "x", "y", "z", "2", "0.5", "1.5", "3x", "0.5y",
];
/// Every smooth built-in of one argument, old and new.
const UNARY: &[&str] = &[
    "sin", "cos", "tan", "exp", "ln", "sqrt", "tanh", "sigmoid", "softplus", "atan", "sinh",
    "cosh", "asinh", "erf", "gelu", "silu", "log1p", "expm1", "log2", "log10", "exp2", "cbrt",
    "square", "cube", "asin", "acos", "relu", "abs",
];
const BINARY: &[&str] = &["pow", "max", "min", "atan2", "hypot", "leaky_relu", "elu"];
const OPERATORS: &[&str] = &["+", "-", "*", "/"];

/// A random expression, as source text, nested up to `depth` levels.
fn expression(depth: u32) -> impl Strategy<Value = String> {
    let leaf = select(LEAVES).prop_map(str::to_string);
    leaf.prop_recursive(depth, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), select(OPERATORS), inner.clone())
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (select(UNARY), inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            (select(BINARY), inner.clone(), inner.clone())
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            inner.clone().prop_map(|a| format!("{a}^2")),
        ]
    })
}

/// The gradient graph of a closure graph, simplified, and its three gradient nodes.
fn gradient_graph(src: &str) -> (Graph, Vec<NodeId>) {
    let lowered = lower_str(src).expect("generated expressions lower");
    let (mut forward, outputs) = simplify(&lowered.graph, &[lowered.output]);
    let seed = forward.constant(1.0, Span::call_site());
    let (backward, grads) = differentiate(&forward, outputs[0], seed);
    simplify(&backward, &grads)
}

/// Whether an operation sits on a kink or a singularity at `point`, where the second
/// derivative is not what differences of the gradient see.
fn near_a_kink(graph: &Graph, point: &[f64]) -> bool {
    let values = eval(graph, point);
    let value = |id: NodeId| values[id.index()];
    graph.nodes().iter().any(|node| match node.op {
        Op::Call(Func::Sqrt | Func::Cbrt | Func::Abs | Func::Relu | Func::Sign, a) => {
            value(a).abs() < 1e-3
        }
        Op::Call(Func::Asin | Func::Acos, a) => (value(a).abs() - 1.0).abs() < 1e-3,
        Op::Max(a, b) | Op::Min(a, b) | Op::Gt(a, b) => (value(a) - value(b)).abs() < 1e-3,
        Op::Hypot(a, b) | Op::Atan2(a, b) => value(a).hypot(value(b)) < 1e-3,
        Op::Pow(base, _) => value(base) < 1e-3,
        _ => false,
    })
}

fn check(expr: &str, point: [f64; 3], v: [f64; 3]) -> Result<bool, TestCaseError> {
    let src = format!("|x: f64, y: f64, z: f64| {expr}");
    let (gradient, grads) = gradient_graph(&src);
    let values = eval(&gradient, &point);
    let finite = |values: &[f64]| values.iter().all(|v| v.is_finite() && v.abs() < 1e6);
    if !finite(&values) || near_a_kink(&gradient, &point) {
        return Ok(false);
    }
    let lowered = lower_str(&src).expect("lowers");
    let (product_graph, products) = hvp(&lowered.graph, lowered.output);
    let inputs: Vec<f64> = point.iter().chain(&v).copied().collect();
    let product_values = eval(&product_graph, &inputs);
    if !finite(&product_values) {
        return Ok(false);
    }
    let grad_at = |p: [f64; 3]| -> Vec<f64> {
        let values = eval(&gradient, &p);
        grads.iter().map(|g| values[g.index()]).collect()
    };
    let differences = |step: f64| -> Vec<f64> {
        let up = grad_at(std::array::from_fn(|i| point[i] + step * v[i]));
        let down = grad_at(std::array::from_fn(|i| point[i] - step * v[i]));
        up.iter()
            .zip(&down)
            .map(|(u, d)| (u - d) / (2.0 * step))
            .collect()
    };
    let (coarse, fine) = (differences(1e-4), differences(1e-5));
    // Differences that disagree with themselves cannot judge (a kink crossed, or rounding).
    let steady = coarse
        .iter()
        .zip(&fine)
        .all(|(c, f)| (c - f).abs() <= 1e-5 * (1.0 + f.abs()));
    if !steady {
        return Ok(false);
    }
    for (axis, (product, numeric)) in products.iter().zip(&fine).enumerate() {
        let got = product_values[product.index()];
        prop_assert!(
            (got - numeric).abs() <= 1e-5 * (1.0 + numeric.abs()),
            "(H·v)[{axis}] of {src} at {point:?} along {v:?} is {got}, central differences give {numeric}"
        );
    }
    // The Hessian: symmetric to the bit, its rows the hvp along each axis.
    let (hessian_graph, entries) = hessian(&lowered.graph, lowered.output).expect("scalars");
    let h = eval(&hessian_graph, &point);
    let entry = |i: usize, j: usize| h[entries[i * 3 + j].index()];
    for i in 0..3 {
        for j in 0..3 {
            prop_assert_eq!(entry(i, j).to_bits(), entry(j, i).to_bits());
        }
        let along: Vec<f64> = (0..3).map(|j| f64::from(u8::from(i == j))).collect();
        let inputs: Vec<f64> = point.iter().chain(&along).copied().collect();
        let column = eval(&product_graph, &inputs);
        for (j, product) in products.iter().enumerate() {
            let (a, b) = (column[product.index()], entry(j, i));
            prop_assert!(
                (a - b).abs() <= 1e-9 * (1.0 + a.abs()),
                "H[{j}][{i}] of {src} is {b} but hvp along e{i} gives {a}"
            );
        }
    }
    Ok(true)
}

#[test]
fn random_expressions_hvp_matches_differences_of_the_gradient() {
    let cases = 600;
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let strategy = (
        expression(4),
        prop::array::uniform3(-1.5..1.5),
        prop::array::uniform3(-1.0..1.0),
    );
    let compared = std::cell::Cell::new(0);
    let result = runner.run(&strategy, |(expr, point, v)| {
        if check(&expr, point, v)? {
            compared.set(compared.get() + 1);
        }
        Ok(())
    });
    let compared = compared.get();
    if let Err(error) = result {
        panic!("{error}");
    }
    assert!(
        compared >= cases as usize / 3,
        "only {compared} of {cases} expressions were smooth enough to compare"
    );
}

/// `v0 = x; v{i} = sin(v{i-1}) * x + v{i-1}`, `lines` lines.
fn chain(lines: usize) -> String {
    let mut src = String::from("|x: f64, y: f64| { let v0 = x * y;");
    for i in 1..=lines {
        src.push_str(&format!(" let v{i} = sin(v{}) * x + v{};", i - 1, i - 1));
    }
    src.push_str(&format!(" v{lines} }}"));
    src
}

#[test]
fn second_order_graphs_grow_linearly() {
    let size = |lines: usize| {
        let lowered = lower_str(&chain(lines)).unwrap();
        let (product, _) = hvp(&lowered.graph, lowered.output);
        let (matrix, _) = hessian(&lowered.graph, lowered.output).unwrap();
        (lowered.graph.len(), product.len(), matrix.len())
    };
    let (small, large) = (size(100), size(1000));
    for (name, a, b) in [("hvp", small.1, large.1), ("hessian", small.2, large.2)] {
        let (per_node_small, per_node_large) =
            (a as f64 / small.0 as f64, b as f64 / large.0 as f64);
        assert!(
            per_node_large <= 1.1 * per_node_small,
            "{name}: {per_node_small:.2} nodes per forward node at 100 lines, {per_node_large:.2} at 1000"
        );
    }
}
