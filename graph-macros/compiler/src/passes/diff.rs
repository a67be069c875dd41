//! Reverse-mode differentiation by source transformation. IR in, IR out; never sees tokens.
//!
//! The backward graph is the forward graph with adjoint nodes appended: walking the forward
//! nodes from last to first, each node's adjoint `d_u` is the sum of the contributions of its
//! users, `d_v · ∂v/∂u`, and each rule reuses forward values where the lecture does
//! (tanh' = 1 − t², exp' = eˣ, sigmoid' = s(1 − s)). Only nodes that depend on an input with
//! `requires_grad` get an adjoint, so `#[no_grad]` inputs cost nothing.
//!
//! The rules themselves, one per operation, are in `rules`; this module only walks the graph
//! and sums each node's contributions.

use std::collections::HashSet;

use proc_macro2::Span;

use crate::ir::{mint, Graph, NodeId, Op};
use crate::passes::rules::vector_jacobian_products;

/// Appends to `forward` the adjoints of `output` seeded with `seed` (a node of `forward`: the
/// constant 1, or the backward pass's `d_out` input). Returns the new graph and, for each input
/// with `requires_grad`, in order, the node holding its gradient.
pub fn differentiate(forward: &Graph, output: NodeId, seed: NodeId) -> (Graph, Vec<NodeId>) {
    differentiate_as(forward, output, seed, "d_")
}

/// [`differentiate`], naming each adjoint `prefix` and its node's name: a second pass over a
/// backward graph names its adjoints apart from the first pass's `d_x` (`d2_x`, `dx_y`).
pub fn differentiate_as(
    forward: &Graph,
    output: NodeId,
    seed: NodeId,
    prefix: &str,
) -> (Graph, Vec<NodeId>) {
    let mut graph = forward.clone();
    let needs_grad = nodes_needing_grad(forward);
    // Contributions to each node's adjoint, pushed by its users, with the chain-rule step.
    let mut pending: Vec<Vec<(NodeId, String)>> = vec![Vec::new(); forward.len()];
    let mut adjoint: Vec<Option<NodeId>> = vec![None; forward.len()];
    if needs_grad[output.index()] {
        pending[output.index()].push((seed, String::new()));
    }
    for id in forward.ids().rev() {
        if !needs_grad[id.index()] || pending[id.index()].is_empty() {
            continue;
        }
        let contributions = std::mem::take(&mut pending[id.index()]);
        let d_node = sum_contributions(&mut graph, id, contributions, prefix);
        adjoint[id.index()] = Some(d_node);
        // A step out of a builtin's inside is told by the call, not by its unnamed temporaries.
        let via_call = match (&forward.node(id).name, &forward.node(id).note) {
            (None, Some(call)) => Some(format!("via {call}")),
            _ => None,
        };
        for (operand, contribution, step) in vector_jacobian_products(&mut graph, id, d_node) {
            let step = via_call.clone().unwrap_or(step);
            if needs_grad[operand.index()] {
                // A scalar broadcast over a matrix receives the sum of the matrix's adjoints.
                let contribution = if graph.node(operand).shape.is_scalar()
                    && !graph.node(contribution).shape.is_scalar()
                {
                    graph.push_op(Op::Sum(contribution), graph.node(id).span)
                } else {
                    contribution
                };
                pending[operand.index()].push((contribution, step));
            }
        }
    }
    let grads = forward
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.requires_grad)
        .map(|(index, _)| {
            let input_node = forward
                .ids()
                .find(|id| forward.node(*id).op == Op::Input(index as u16));
            match input_node.and_then(|node| adjoint[node.index()]) {
                Some(grad) => grad,
                // The output does not depend on this input: a zero of the input's shape.
                None => {
                    let zero = graph.constant(0.0, Span::call_site());
                    let shape = forward.inputs[index].shape.clone();
                    graph.broadcast(zero, &shape, Span::call_site())
                }
            }
        })
        .collect();
    (graph, grads)
}

/// `needs[i]`: node `i` depends on an input with `requires_grad`.
fn nodes_needing_grad(graph: &Graph) -> Vec<bool> {
    let mut needs = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let value = match node.op {
            Op::Input(n) => graph.inputs[usize::from(n)].requires_grad,
            op => op.operands().any(|operand| needs[operand.index()]),
        };
        needs.push(value);
    }
    needs
}

/// `d_u = c1 + c2 + …`, named `d_u` (with `prefix` for `d_`) and noted with each contribution's
/// chain-rule step, as a balanced sum.
fn sum_contributions(
    graph: &mut Graph,
    primal: NodeId,
    contributions: Vec<(NodeId, String)>,
    prefix: &str,
) -> NodeId {
    let span = graph.node(primal).span;
    // In order, each once: a set, as a parameter used on every line of a long graph has as
    // many contributions as lines.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut steps: Vec<String> = Vec::new();
    for (_, step) in &contributions {
        if !step.is_empty() && seen.insert(step) {
            steps.push(step.clone());
        }
    }
    assert!(
        !contributions.is_empty(),
        "a node with pending contributions has at least one"
    );
    let terms = contributions
        .into_iter()
        .map(|(contribution, _)| contribution)
        .collect();
    let total = graph.balanced_sum(terms, span);
    // Only named values get named adjoints; a builtin's internal temporaries have neither.
    let primal_named =
        graph.node(primal).name.is_some() || matches!(graph.node(primal).op, Op::Input(_));
    let name = format!("{prefix}{}", graph.label(primal));
    let node = graph.node_mut(total);
    // A contribution may be an existing named node (the seed, or `d_v` passed through
    // unchanged by `+`); it keeps its name and the caller sees it as this adjoint too.
    if primal_named && node.name.is_none() && !matches!(node.op, Op::Const(_) | Op::Input(_)) {
        node.name = Some(mint(&name));
        node.note = (!steps.is_empty()).then(|| steps.join("; "));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower_str;
    use crate::passes::eval::eval;

    /// Gradient of a one-output closure graph at `point`, through the IR evaluator.
    fn gradient(src: &str, point: &[f64]) -> Vec<f64> {
        let lowered = lower_str(src).unwrap();
        let mut forward = lowered.graph;
        let seed = forward.constant(1.0, Span::call_site());
        let (backward, grads) = differentiate(&forward, lowered.output, seed);
        let values = eval(&backward, point);
        grads.iter().map(|g| values[g.index()]).collect()
    }

    #[test]
    fn lecture_gradient_matches_the_slide_formula() {
        let (x, y, z) = (0.3, 1.1, 0.7);
        let grad = gradient(
            "|x: f64, y: f64, z: f64| tanh(ln(1 + z*2x/sin(y)))",
            &[x, y, z],
        );
        // ∂f/∂x = (1 − tanh²(e)) · 1/(d+1) · z · 1/b · 2, with b = sin y, d = z·2x/b, e = ln(1+d).
        let b = f64::sin(y);
        let d = z * 2.0 * x / b;
        let e = (1.0 + d).ln();
        let slide = (1.0 - e.tanh().powi(2)) / (d + 1.0) * z / b * 2.0;
        assert!((grad[0] - slide).abs() < 1e-12, "{} vs {slide}", grad[0]);
        assert!((grad[0] - 0.9231108766).abs() < 1e-9);
        assert!((grad[1] + 0.1409501981).abs() < 1e-9);
        assert!((grad[2] - 0.3956189471).abs() < 1e-9);
    }

    #[test]
    fn adjoints_of_a_value_used_twice_are_summed() {
        // f = x·x + x, f' = 2x + 1.
        assert_eq!(gradient("|x: f64| x*x + x", &[3.0]), vec![7.0]);
    }

    #[test]
    fn no_grad_inputs_get_no_adjoint_nodes() {
        let lowered = lower_str("|w: f64, #[no_grad] x: f64| w * sin(x)").unwrap();
        let mut forward = lowered.graph;
        let seed = forward.constant(1.0, Span::call_site());
        let (backward, grads) = differentiate(&forward, lowered.output, seed);
        assert_eq!(grads.len(), 1);
        let text = backward.to_string();
        assert!(!text.contains("d_x"), "{text}");
        assert!(!text.contains("cos"), "{text}");
    }

    #[test]
    fn an_unused_input_has_a_zero_gradient() {
        assert_eq!(
            gradient("|x: f64, y: f64| x * 3", &[1.0, 2.0]),
            vec![3.0, 0.0]
        );
    }

    #[test]
    fn max_sends_the_gradient_to_the_larger_operand() {
        assert_eq!(
            gradient("|a: f64, b: f64| max(a, b)", &[2.0, 1.0]),
            vec![1.0, 0.0]
        );
        assert_eq!(
            gradient("|a: f64, b: f64| min(a, b)", &[2.0, 1.0]),
            vec![0.0, 1.0]
        );
        assert_eq!(gradient("|x: f64| relu(x)", &[-1.0]), vec![0.0]);
        assert_eq!(gradient("|x: f64| abs(x)", &[-1.0]), vec![-1.0]);
    }

    #[test]
    fn a_step_out_of_a_builtin_is_noted_with_its_call() {
        let lowered = lower_str("fn f(a: SVector<f64, 3>, #[no_grad] b: SVector<f64, 3>) -> f64 { let p = tanh(a); mse(p, b) }").unwrap();
        let mut forward = lowered.graph;
        let seed = forward.constant(1.0, Span::call_site());
        let (backward, _) = differentiate(&forward, lowered.output, seed);
        let d_p = backward
            .nodes()
            .iter()
            .find(|node| node.name.as_ref().is_some_and(|name| name == "d_p"))
            .expect("an adjoint named d_p");
        assert_eq!(d_p.note.as_deref(), Some("via mse(p, b)"));
    }

    /// The simplified backward graph of a `fn` graph, seeded with a `d_out` input of the
    /// output's shape as `compile` does, one node per line with each adjoint's note.
    fn backward(src: &str) -> String {
        let lowered = lower_str(src).unwrap();
        let mut forward = lowered.graph;
        let shape = forward.node(lowered.output).shape.clone();
        let d_out = proc_macro2::Ident::new("d_out", Span::call_site());
        let seed = forward.add_input(d_out, shape, Span::call_site());
        let (backward, grads) = differentiate(&forward, lowered.output, seed);
        let (backward, _) = crate::passes::simplify::simplify(&backward, &grads);
        let notes = backward.nodes().iter().filter_map(|node| node.note.clone());
        format!("{backward}{}", notes.collect::<Vec<_>>().join("\n"))
    }

    #[test]
    fn a_bias_spread_over_a_batch_takes_the_row_sums_of_its_adjoint() {
        assert_eq!(
            backward("fn f<const B: usize>(w: SMatrix<f64, 3, 2>, b: SVector<f64, 3>, #[no_grad] x: SMatrix<f64, 2, B>) -> SMatrix<f64, 3, B> { w * x + b }"),
            "x: 2×B = input 2\nd_out: 3×B = input 3\nd_b: 3×1 = row_sums d_out\n%3: B×2 = transpose x\nd_w: 3×2 = matmul d_out %3\nd_b = the row sums of d_out\nv0 = w·x: d_w = d_out·xᵀ"
        );
    }

    #[test]
    fn sums_per_row_and_column_hand_their_adjoint_back_to_every_element() {
        assert_eq!(
            backward("fn f(a: SMatrix<f64, 3, 5>) -> SVector<f64, 3> { row_sums(a) }"),
            "d_out: 3×1 = input 1\nd_a: 3×5 = spread_column d_out\nv0 = row_sums(a): d_a = d_out in every column"
        );
        assert_eq!(
            backward("fn f(a: SMatrix<f64, 3, 5>) -> RowSVector<f64, 5> { column_sums(a) }"),
            "d_out: 1×5 = input 1\nd_a: 3×5 = spread_row d_out\nv0 = column_sums(a): d_a = d_out in every row"
        );
    }

    #[test]
    fn the_column_maxes_shift_softmax_columns_and_get_no_adjoint() {
        let text = backward(
            "fn f(a: SMatrix<f64, 3, 5>, #[no_grad] w: SMatrix<f64, 3, 5>) -> f64 { dot(w, softmax_columns(a)) }",
        );
        assert_eq!(text.matches("column_maxes").count(), 1, "{text}");
        // The normaliser's adjoint is summed over each column and spread back over its rows.
        assert!(
            text.contains("column_sums") && text.contains("spread_row"),
            "{text}"
        );
    }

    #[test]
    fn adjoints_are_named_and_noted_with_their_chain_rule_step() {
        let lowered = lower_str("|x: f64| { let e = ln(x); tanh(e) }").unwrap();
        let mut forward = lowered.graph;
        let seed = forward.constant(1.0, Span::call_site());
        let (backward, _) = differentiate(&forward, lowered.output, seed);
        let d_e = backward
            .nodes()
            .iter()
            .find(|node| node.name.as_ref().is_some_and(|name| name == "d_e"))
            .expect("an adjoint named d_e");
        assert_eq!(d_e.note.as_deref(), Some("∂v0/∂e = 1 - v0²"));
    }
}
