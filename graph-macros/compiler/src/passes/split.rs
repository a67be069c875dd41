//! Splitting a backward graph at its seed: the part that needs only the inputs runs in the
//! forward pass and saves what the rest needs; the rest runs in the backward pass. IR in, IR
//! out.
//!
//! This is what a layer wants: `tanh`'s backward needs `1 - t²`, and computing `t` again in
//! the backward pass would double the cost of the layer. The saved values are the tape
//! (JAX's residuals, PyTorch's `save_for_backward`): exactly the values computed before the
//! seed exists that the adjoints use. Inputs are not saved (the backward pass takes them
//! again), and constants, and inputs or constants spread into a shape or transposed, are
//! recomputed rather than saved.

use proc_macro2::Ident;

use crate::ir::{mint, Graph, Node, NodeId, Op, Shape};
use crate::passes::simplify::simplify;

/// A value the forward pass saves for the backward pass.
pub struct Saved {
    /// The field of the emitted `Tape`: the value's own name, or `saved<k>`.
    pub name: Ident,
    pub shape: Shape,
    /// What the value is, as a chain-rule note names it (`(1 - v0·v0)`).
    pub note: String,
}

/// A graph split at its seed.
pub struct Split {
    /// Computes the output and then each saved value, in `saved` order.
    pub forward: (Graph, Vec<NodeId>),
    pub saved: Vec<Saved>,
    /// Inputs: the original graph's, then one per saved value. Outputs: the gradients.
    pub backward: (Graph, Vec<NodeId>),
}

/// Splits `graph`, whose `outputs` are the forward output and then the gradients, at the
/// input `seed` (the backward pass's `d_out`).
pub fn split(graph: &Graph, outputs: &[NodeId], seed: u16) -> Split {
    let (output, grads) = outputs
        .split_first()
        .expect("the forward output comes first");
    // `late[i]`: node `i` depends on the seed, so it can only run in the backward pass.
    let mut late = Vec::with_capacity(graph.len());
    // `cheap[i]`: node `i` is an input or a constant, possibly spread or transposed; the
    // backward pass recomputes it instead of saving it.
    let mut cheap = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        late.push(match node.op {
            Op::Input(n) => n == seed,
            op => op.operands().any(|operand| late[operand.index()]),
        });
        cheap.push(match node.op {
            Op::Input(_) | Op::Const(_) => true,
            op => is_view(op) && op.operands().all(|operand| cheap[operand.index()]),
        });
    }
    let needed_late = late_uses(graph, &late, &cheap, grads);

    let mut saved_nodes = Vec::new();
    let mut saved = Vec::new();
    for id in graph.ids() {
        if needed_late[id.index()] && !late[id.index()] && !cheap[id.index()] {
            let node = graph.node(id);
            let name = match &node.name {
                Some(name) => name.clone(),
                None => mint(&format!("saved{}", saved.len())),
            };
            saved_nodes.push(id);
            saved.push(Saved {
                name,
                shape: node.shape.clone(),
                note: graph.describe(id),
            });
        }
    }

    let forward_outputs: Vec<NodeId> = std::iter::once(*output)
        .chain(saved_nodes.iter().copied())
        .collect();
    let forward = simplify(graph, &forward_outputs);

    let mut backward = Graph::new(graph.inputs.clone());
    let mut new_id: Vec<Option<NodeId>> = vec![None; graph.len()];
    for (saved_node, value) in saved_nodes.iter().zip(&saved) {
        let span = graph.node(*saved_node).span;
        new_id[saved_node.index()] =
            Some(backward.add_input(value.name.clone(), value.shape.clone(), span));
    }
    for id in graph.ids() {
        let keep = late[id.index()] || (cheap[id.index()] && needed_late[id.index()]);
        if keep && new_id[id.index()].is_none() {
            let node = graph.node(id);
            let op = node.op.map_operands(|operand| {
                new_id[operand.index()].expect("a late node's operands are late, cheap or saved")
            });
            new_id[id.index()] = Some(backward.push(Node { op, ..node.clone() }));
        }
    }
    let grads: Vec<NodeId> = grads
        .iter()
        .map(|grad| new_id[grad.index()].expect("every gradient is in the backward part"))
        .collect();
    let backward = simplify(&backward, &grads);
    Split {
        forward,
        saved,
        backward,
    }
}

/// A value repeated into a larger shape ([`Op::is_spread`]), or transposed: cheap to
/// recompute when its operand is, and `emit` fuses a transpose into the product that uses it
/// (`Aᵀ·B` is `tr_mul`).
fn is_view(op: Op) -> bool {
    op.is_spread() || matches!(op, Op::Transpose(_))
}

/// `needed[i]`: node `i` is a gradient, or an operand of a late or recomputed node that a
/// gradient needs.
fn late_uses(graph: &Graph, late: &[bool], cheap: &[bool], grads: &[NodeId]) -> Vec<bool> {
    let mut needed = vec![false; graph.len()];
    for grad in grads {
        needed[grad.index()] = true;
    }
    for id in graph.ids().rev() {
        let node = graph.node(id);
        if needed[id.index()] && (late[id.index()] || cheap[id.index()]) {
            for operand in node.op.operands() {
                needed[operand.index()] = true;
            }
        }
    }
    needed
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;
    use crate::lower_str;
    use crate::passes::diff::differentiate;
    use crate::passes::eval::eval;

    /// The graph seeded with a `d_out` input, simplified, and split.
    fn split_source(src: &str) -> (Graph, Vec<NodeId>, Split) {
        let lowered = lower_str(src).unwrap();
        let mut graph = lowered.graph;
        let seed = graph.inputs.len();
        let shape = graph.node(lowered.output).shape.clone();
        let seed_node = graph.add_input(mint("d_out"), shape, Span::call_site());
        let (backward, grads) = differentiate(&graph, lowered.output, seed_node);
        let outputs: Vec<NodeId> = std::iter::once(lowered.output).chain(grads).collect();
        let (both, outputs) = simplify(&backward, &outputs);
        let split = split(&both, &outputs, seed as u16);
        (both, outputs, split)
    }

    fn saved_names(split: &Split) -> Vec<String> {
        split.saved.iter().map(|s| s.name.to_string()).collect()
    }

    #[test]
    fn tanh_saves_its_derivative_and_the_backward_pass_never_calls_tanh() {
        let (_, _, split) = split_source("|x: f64| tanh(x)");
        assert_eq!(split.saved.len(), 1);
        let backward = split.backward.0.to_string();
        assert!(!backward.contains("tanh"), "{backward}");
    }

    #[test]
    fn inputs_are_not_saved() {
        // d_w = d_out·x and d_x = d_out·w: nothing computed, nothing saved.
        let (_, _, split) = split_source("|w: f64, x: f64| w * x");
        assert!(split.saved.is_empty(), "{:?}", saved_names(&split));
    }

    #[test]
    fn the_two_halves_compute_what_the_whole_does() {
        let src = "|x: f64, y: f64| { let a = sin(x) * y; let b = exp(a); b * tanh(y) + a }";
        let (both, outputs, split) = split_source(src);
        let point = [0.3, -1.2, 0.7]; // x, y, d_out
        let whole = eval(&both, &point);
        let (forward, forward_outputs) = &split.forward;
        let forward_values = eval(forward, &point);
        assert_eq!(
            forward_values[forward_outputs[0].index()],
            whole[outputs[0].index()]
        );
        let mut backward_inputs = point.to_vec();
        backward_inputs.extend(
            forward_outputs[1..]
                .iter()
                .map(|id| forward_values[id.index()]),
        );
        let (backward, grads) = &split.backward;
        let backward_values = eval(backward, &backward_inputs);
        for (grad, expected) in grads.iter().zip(&outputs[1..]) {
            let (got, want) = (backward_values[grad.index()], whole[expected.index()]);
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // Nothing the backward pass needs from `exp` or `sin` is computed again.
        let text = backward.to_string();
        assert!(!text.contains("exp") && !text.contains("sin"), "{text}");
    }
}
