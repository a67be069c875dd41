//! Operation counts: what a graph's `FORWARD_OPS` and `BACKWARD_OPS` say. IR in, a number out.
//!
//! A graph's cost is the number of scalar operations its nodes perform:
//!
//! - an element-wise operation (`+ - * /`, `^`, a function such as `tanh`, a comparison) costs
//!   one per element of its result, whatever the function: the count measures the work the
//!   graph's structure implies, not cycles;
//! - a matrix product `(m×k)·(k×n)` costs `m·k·n`, one per multiply-add;
//! - a reduction (`sum`, the largest element, the sums or maxima of rows or columns) costs one
//!   per element of its operand;
//! - inputs, constants, and nodes that only move or repeat values (transposes, broadcasts and
//!   spreads, `count`, `stop_gradient`) cost nothing.
//!
//! A dimension given by a const generic counts as 1, since only rustc knows its value: the
//! count is exact for literal shapes, and for a const-generic graph it is the cost at size 1
//! along each generic dimension.

use crate::ir::{Dim, Graph, Kind, NodeId, Op, Shape};

/// The number of scalar operations `graph` performs, by the rules of the module docs.
pub fn operations(graph: &Graph) -> u64 {
    graph
        .ids()
        .map(|id| node_operations(graph, id))
        .fold(0, u64::saturating_add)
}

/// The scalar operations of one node.
pub fn node_operations(graph: &Graph, id: NodeId) -> u64 {
    let node = graph.node(id);
    let elements_of = |operand: NodeId| elements(&graph.node(operand).shape);
    match (node.op.kind(), node.op) {
        (Kind::Leaf | Kind::Movement, _) => 0,
        (Kind::Product, Op::MatMul(a, b)) => match (&graph.node(a).shape, &graph.node(b).shape) {
            (Shape::Matrix { rows, cols: depth }, Shape::Matrix { cols, .. }) => size(rows)
                .saturating_mul(size(depth))
                .saturating_mul(size(cols)),
            // A product with a scalar is element-wise.
            _ => elements(&node.shape),
        },
        (Kind::Reduction, op) => op.operands().map(elements_of).sum(),
        (Kind::Elementwise | Kind::Product, _) => elements(&node.shape),
    }
}

fn elements(shape: &Shape) -> u64 {
    match shape {
        Shape::Scalar => 1,
        Shape::Matrix { rows, cols } => size(rows).saturating_mul(size(cols)),
    }
}

fn size(dim: &Dim) -> u64 {
    match dim {
        Dim::Fixed(n) => u64::try_from(*n).unwrap_or(u64::MAX),
        Dim::Named(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{graphs, lower_str};

    /// `(FORWARD_OPS, BACKWARD_OPS)` of a graph.
    #[track_caller]
    fn costs(src: &str) -> (u64, u64) {
        let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
        let def = crate::syntax::parse::parse_graph(tokens).expect("parses");
        let program = graphs(lower_str(src).expect("lowers"), &def.options);
        (
            operations(&program.forward.0),
            operations(&program.backward.0),
        )
    }

    #[test]
    fn scalar_operations_count_one_each_and_inputs_and_constants_nothing() {
        // 2·x, then + 1: two operations.
        assert_eq!(costs("fn f(x: f64) -> f64 { 2x + 1 }").0, 2);
        // tanh(x): forward 1; backward recomputes it, then d_out · (1 − t·t): 1 + 3.
        assert_eq!(costs("fn f(x: f64) -> f64 { tanh(x) }"), (1, 4));
    }

    #[test]
    fn a_matrix_product_counts_its_multiply_adds_and_a_sum_its_elements() {
        let (forward, _) =
            costs("fn f(w: SMatrix<f64, 3, 4>, x: SMatrix<f64, 4, 5>) -> f64 { sum(tanh(w * x)) }");
        // w·x: 3·4·5; tanh: 15; the sum: 15.
        assert_eq!(forward, 60 + 15 + 15);
    }

    #[test]
    fn transposes_and_broadcasts_only_move_values() {
        let (forward, _) = costs("fn f(a: SMatrix<f64, 2, 3>) -> f64 { sum(transpose(a)) }");
        assert_eq!(forward, 6);
    }

    #[test]
    fn a_const_generic_dimension_counts_as_one() {
        let (forward, _) = costs(
            "fn f<const N: usize>(w: SMatrix<f64, 3, N>, x: SVector<f64, N>) -> SVector<f64, 3> { w * x }",
        );
        assert_eq!(forward, 3);
    }
}
