//! Second derivatives, by differentiating the backward graph again. IR in, IR out.
//!
//! The Hessian-vector product H·v is the gradient of ⟨∇f, v⟩: the backward graph (seeded
//! with 1) computes ∇f, a few nodes add up ⟨∇f, v⟩ with `v` as new inputs, and `diff` runs
//! over that graph, forward and backward nodes alike, as over any other. This is
//! reverse-over-reverse rather than forward-over-reverse (a JVP pass over the backward
//! graph): both cost a constant times the backward graph, but this one needs no second set of
//! rules, only the vector-Jacobian products of `rules`, each of which is built from
//! operations that have rules themselves. The Hessian of scalar parameters is one such pass
//! per parameter, seeded at that parameter's gradient: row `i` is ∇(∂f/∂pᵢ).
//!
//! Each graph is simplified (constant folding, CSE, dead code) like the first-order ones, so
//! the Hessian-vector product stays linear in the size of the graph, and the Hessian is `N`
//! times that for `N` parameters.

use proc_macro2::{Ident, Span};

use crate::ir::{mint, Graph, Input, NodeId, Op};
use crate::passes::diff::{differentiate, differentiate_as};
use crate::passes::simplify::simplify;

/// The gradient of `forward`'s `output`, simplified, seeded with 1 for a scalar output and
/// with a new `d_out` input otherwise.
fn gradient(forward: &Graph, output: NodeId) -> (Graph, Vec<NodeId>) {
    let mut graph = forward.clone();
    let span = Span::call_site();
    let seed = if graph.node(output).shape.is_scalar() {
        graph.constant(1.0, span)
    } else {
        let shape = graph.node(output).shape.clone();
        graph.add_input(Ident::new("d_out", Span::mixed_site()), shape, span)
    };
    let (backward, grads) = differentiate(&graph, output, seed);
    simplify(&backward, &grads)
}

/// The Hessian-vector product of `forward`'s `output`: a graph whose inputs are the forward
/// graph's, then `d_out` if the output is not a scalar (the Hessian of ⟨d_out, f⟩), then
/// `v_<name>` for each input with `requires_grad`; and its outputs, H·v, one per such input.
pub fn hvp(forward: &Graph, output: NodeId) -> (Graph, Vec<NodeId>) {
    let (mut graph, grads) = gradient(forward, output);
    let span = Span::call_site();
    let differentiable: Vec<Input> = forward
        .inputs
        .iter()
        .filter(|input| input.requires_grad)
        .cloned()
        .collect();
    let mut terms = Vec::with_capacity(grads.len());
    for (input, grad) in differentiable.iter().zip(&grads) {
        let name = mint(&format!("v_{}", input.name));
        let v = graph.add_input(name, input.shape.clone(), span);
        let product = graph.push_op(Op::Mul(*grad, v), span);
        terms.push(if input.shape.is_scalar() {
            product
        } else {
            graph.push_op(Op::Sum(product), span)
        });
    }
    let inner = graph.balanced_sum(terms, span);
    let one = graph.constant(1.0, span);
    let (second, products) = differentiate_as(&graph, inner, one, "d2_");
    simplify(&second, &products)
}

/// The Hessian of `forward`'s scalar `output` in its scalar inputs with `requires_grad`, or
/// `None` if the output or one of those inputs is a matrix. The outputs are the `N×N` entries
/// in row-major order; entry (i, j) for j < i is entry (j, i), so the matrix is exactly
/// symmetric.
pub fn hessian(forward: &Graph, output: NodeId) -> Option<(Graph, Vec<NodeId>)> {
    let differentiable: Vec<&Input> = forward
        .inputs
        .iter()
        .filter(|input| input.requires_grad)
        .collect();
    let scalar = forward.node(output).shape.is_scalar()
        && differentiable.iter().all(|input| input.shape.is_scalar());
    if !scalar {
        return None;
    }
    let (mut graph, grads) = gradient(forward, output);
    let span = Span::call_site();
    let mut rows = Vec::with_capacity(grads.len());
    for (input, grad) in differentiable.iter().zip(&grads) {
        let one = graph.constant(1.0, span);
        let prefix = format!("d{}_", input.name);
        let (next, row) = differentiate_as(&graph, *grad, one, &prefix);
        graph = next;
        rows.push(row);
    }
    let n = rows.len();
    let entries: Vec<NodeId> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| if j >= i { rows[i][j] } else { rows[j][i] })
        .collect();
    Some(simplify(&graph, &entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower_str;
    use crate::passes::eval::eval;

    /// The Hessian of a closure graph at `point`, through the IR evaluator.
    fn hessian_at(src: &str, point: &[f64]) -> Vec<Vec<f64>> {
        let lowered = lower_str(src).unwrap();
        let (graph, entries) = hessian(&lowered.graph, lowered.output).expect("scalar graph");
        let values = eval(&graph, point);
        let n = point.len();
        (0..n)
            .map(|i| (0..n).map(|j| values[entries[i * n + j].index()]).collect())
            .collect()
    }

    /// H·v at `point`, through the IR evaluator.
    fn hvp_at(src: &str, point: &[f64], v: &[f64]) -> Vec<f64> {
        let lowered = lower_str(src).unwrap();
        let (graph, products) = hvp(&lowered.graph, lowered.output);
        let inputs: Vec<f64> = point.iter().chain(v).copied().collect();
        let values = eval(&graph, &inputs);
        products.iter().map(|p| values[p.index()]).collect()
    }

    #[test]
    fn rosenbrock_hessian_matches_the_hand_derived_one() {
        let src = "|x: f64, y: f64| (1 - x)^2 + 100*(y - x^2)^2";
        let (x, y) = (-1.2, 1.0);
        let h = hessian_at(src, &[x, y]);
        // ∂²/∂x² = 2 − 400(y − x²) + 800x², ∂²/∂x∂y = −400x, ∂²/∂y² = 200.
        let expected = [
            [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x],
            [-400.0 * x, 200.0],
        ];
        for i in 0..2 {
            for j in 0..2 {
                assert!((h[i][j] - expected[i][j]).abs() < 1e-9, "{h:?}");
            }
        }
        assert_eq!(h[0][1], h[1][0]);
        let hv = hvp_at(src, &[x, y], &[0.5, -2.0]);
        for i in 0..2 {
            let want = expected[i][0] * 0.5 + expected[i][1] * -2.0;
            assert!((hv[i] - want).abs() < 1e-9, "{hv:?}");
        }
    }

    #[test]
    fn piecewise_functions_have_no_curvature_off_their_kinks() {
        let h = hessian_at(
            "|x: f64, y: f64| relu(x) * 3 + abs(y) + max(x, y) + min(2x, y)",
            &[0.7, -0.4],
        );
        assert_eq!(h, vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
    }

    #[test]
    fn stop_gradient_is_a_constant_to_the_second_derivative_too() {
        // f = x²·sg(x), sg(x) held constant: f″ = 2·sg(x) = 3, not (x³)″ = 6x = 9.
        let h = hessian_at("|x: f64| x^2 * stop_gradient(x)", &[1.5]);
        assert_eq!(h, vec![vec![3.0]]);
    }

    #[test]
    fn a_matrix_parameter_gets_a_hessian_vector_product_and_no_hessian() {
        let lowered = lower_str("fn f(w: SVector<f64, 3>) -> f64 { sum(tanh(w)) }").unwrap();
        assert!(hessian(&lowered.graph, lowered.output).is_none());
        let (graph, products) = hvp(&lowered.graph, lowered.output);
        assert_eq!(products.len(), 1);
        assert_eq!(graph.node(products[0]).shape.to_string(), "3×1");
    }
}
