//! Simplification: constant folding, algebraic identities (`x*1`, `x+0`, `x*0`, …),
//! common-subexpression elimination and dead-code elimination. IR in, IR out.
//!
//! One forward walk rewrites each node with its operands already simplified and looks it up
//! in a table of the nodes built so far (CSE); a backward walk then keeps only what the
//! outputs need. Both walks are linear in the number of nodes.

use std::collections::HashMap;

use crate::ir::{Const, Dim, Graph, Node, NodeId, Op, Shape};

/// Simplifies `graph`, keeping only what `outputs` need. Returns the new graph and the
/// outputs' new ids, in order.
pub fn simplify(graph: &Graph, outputs: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let (rewritten, outputs) = rewrite_all(graph, outputs);
    eliminate_dead_code(&rewritten, &outputs)
}

/// What a node becomes: an existing node, a (possibly new) operation, or `factor · x` with a
/// constant factor that may not exist yet as a node.
enum Rewrite {
    Existing(NodeId),
    Op(Op),
    Scale { x: NodeId, factor: f64 },
}

/// The simplified graph under construction, with its CSE table.
struct Builder {
    out: Graph,
    /// Keyed by shape too: broadcasts of one scalar to two shapes are different nodes.
    seen: HashMap<(Op, Shape), NodeId>,
}

impl Builder {
    /// The node computing `op`: an existing one if any (CSE), else a new one like `template`.
    fn intern(&mut self, op: Op, template: &Node, shape: Shape) -> NodeId {
        let key = (canonical(op), shape.clone());
        if let Some(&id) = self.seen.get(&key) {
            return id;
        }
        let id = self.out.push(Node {
            op,
            shape,
            name: None,
            note: None,
            ..template.clone()
        });
        self.seen.insert(key, id);
        id
    }

    /// Rewrites `op` (the operation of `node`, operands already simplified) until it settles.
    /// Every step keeps the node's shape: `M * 0` is a zero matrix, not `0`, so it stays.
    fn simplified(&mut self, mut op: Op, node: &Node) -> NodeId {
        // Each step shrinks or specialises the operation, so a few steps always suffice.
        for _ in 0..8 {
            match rewrite(&self.out, op) {
                Rewrite::Existing(id) if self.out.node(id).shape == node.shape => return id,
                Rewrite::Existing(_) => break,
                Rewrite::Op(new) if new == op => break,
                Rewrite::Op(Op::Const(_)) if !node.shape.is_scalar() => break,
                Rewrite::Op(new) => op = new,
                Rewrite::Scale { x, factor } => {
                    let factor = self.intern(Op::Const(Const(factor)), node, Shape::Scalar);
                    op = Op::Mul(x, factor);
                }
            }
        }
        self.intern(op, node, node.shape.clone())
    }
}

fn rewrite_all(graph: &Graph, outputs: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let mut builder = Builder {
        out: Graph::new(graph.inputs.clone()),
        seen: HashMap::new(),
    };
    let mut new_id: Vec<NodeId> = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let op = node.op.map_operands(|operand| new_id[operand.index()]);
        let id = builder.simplified(op, node);
        adopt_name(&mut builder.out, id, node);
        new_id.push(id);
    }
    let outputs = outputs.iter().map(|id| new_id[id.index()]).collect();
    (builder.out, outputs)
}

/// Gives `id` the name and note of `source`, the node it replaces, unless `id` already has a
/// name or is a constant or input (those are written inline, never `let`-bound).
fn adopt_name(graph: &mut Graph, id: NodeId, source: &Node) {
    let target = graph.node_mut(id);
    if target.name.is_none() && !matches!(target.op, Op::Const(_) | Op::Input(_)) {
        target.name.clone_from(&source.name);
        target.note.clone_from(&source.note);
    }
}

/// Commutative operations with their operands sorted, so `a*b` and `b*a` share a CSE entry.
/// Not `max` and `min`: at a tie, their second operand takes the gradient, so `min(0, x)`
/// and `min(x, 0)` differ there.
fn canonical(op: Op) -> Op {
    let sorted = |a: NodeId, b: NodeId| if a <= b { (a, b) } else { (b, a) };
    match op {
        Op::Add(a, b) => {
            let (a, b) = sorted(a, b);
            Op::Add(a, b)
        }
        Op::Mul(a, b) => {
            let (a, b) = sorted(a, b);
            Op::Mul(a, b)
        }
        op => op,
    }
}

/// The rewrite of `op`, whose operands are already simplified: a scalar broadcast into an
/// element-wise operation is left to broadcast by itself, constants fold, and then the
/// algebraic identities apply, one arm a line.
fn rewrite(graph: &Graph, op: Op) -> Rewrite {
    if let Some(rewrite) = unbroadcast(graph, op).or_else(|| fold(graph, op)) {
        return rewrite;
    }
    let constant = |id: NodeId| graph.node(id).op.as_const();
    let is = |id: NodeId, value: f64| constant(id) == Some(value);
    let shape = |id: NodeId| &graph.node(id).shape;
    let operand_op = |id: NodeId| graph.node(id).op;
    match op {
        Op::Add(a, b) if is(b, 0.0) => Rewrite::Existing(a),
        Op::Add(a, b) if is(a, 0.0) => Rewrite::Existing(b),
        Op::Sub(a, b) if is(b, 0.0) => Rewrite::Existing(a),
        Op::Sub(a, b) if is(a, 0.0) => Rewrite::Op(Op::Neg(b)),
        Op::Mul(a, b) if is(a, 0.0) || is(b, 0.0) => Rewrite::Op(Op::Const(Const(0.0))),
        Op::Mul(a, b) if is(b, 1.0) => Rewrite::Existing(a),
        Op::Mul(a, b) if is(a, 1.0) => Rewrite::Existing(b),
        Op::Mul(a, b) if is(b, -1.0) => Rewrite::Op(Op::Neg(a)),
        Op::Mul(a, b) if is(a, -1.0) => Rewrite::Op(Op::Neg(b)),
        Op::Mul(a, b) => gather_factors(graph, op, a, b),
        Op::Div(a, _) if is(a, 0.0) => Rewrite::Op(Op::Const(Const(0.0))),
        Op::Div(a, b) if is(b, 1.0) => Rewrite::Existing(a),
        Op::Div(a, b) if is(b, -1.0) => Rewrite::Op(Op::Neg(a)),
        Op::Neg(a) => match operand_op(a) {
            Op::Neg(inner) => Rewrite::Existing(inner),
            _ => Rewrite::Op(op),
        },
        Op::Pow(a, b) => integer_power(op, a, constant(b)),
        Op::Powi(_, 0) => Rewrite::Op(Op::Const(Const(1.0))),
        Op::Powi(a, 1) => Rewrite::Existing(a),
        // Reductions and transposes of a scalar are the scalar.
        Op::Sum(a) | Op::Transpose(a) | Op::MaxElement(a) if shape(a).is_scalar() => {
            Rewrite::Existing(a)
        }
        Op::RowSums(a) | Op::ColumnSums(a) | Op::ColumnMaxes(a) if shape(a).is_scalar() => {
            Rewrite::Existing(a)
        }
        Op::SpreadColumn(a) | Op::SpreadRow(a) => spread(graph, a),
        // Summing the rows of a column, or the columns of a row, leaves it as it is.
        Op::RowSums(a) if shape(a).is_column() => Rewrite::Existing(a),
        Op::ColumnSums(a) | Op::ColumnMaxes(a) if shape(a).is_row() => Rewrite::Existing(a),
        Op::Transpose(a) => match operand_op(a) {
            Op::Transpose(inner) => Rewrite::Existing(inner),
            _ => Rewrite::Op(op),
        },
        Op::Count(a) => count(graph, op, a),
        op => Rewrite::Op(op),
    }
}

/// An element-wise operation broadcasts a scalar operand by itself: no need to materialise
/// the broadcast matrix.
fn unbroadcast(graph: &Graph, op: Op) -> Option<Rewrite> {
    let scalar_of_broadcast = |id: NodeId| match graph.node(id).op {
        Op::Broadcast(scalar) => Some(scalar),
        _ => None,
    };
    let is_matrix = |id: NodeId| !graph.node(id).shape.is_scalar();
    let (a, b) = op.elementwise_operands()?;
    if let (Some(scalar), true) = (scalar_of_broadcast(a), is_matrix(b)) {
        return Some(Rewrite::Op(with_operands(op, scalar, b)));
    }
    if let (Some(scalar), true) = (scalar_of_broadcast(b), is_matrix(a)) {
        return Some(Rewrite::Op(with_operands(op, a, scalar)));
    }
    None
}

/// An operation of constants is a constant, but for a user's primitive, which only runs in
/// the emitted code.
fn fold(graph: &Graph, op: Op) -> Option<Rewrite> {
    let constant = |id: NodeId| graph.node(id).op.as_const();
    let folded = !matches!(op, Op::Input(_) | Op::Const(_))
        && op.is_foldable()
        && op.operands().all(|operand| constant(operand).is_some());
    folded.then(|| {
        let value = op.evaluate(&[], |id| constant(id).expect("checked constant"));
        Rewrite::Op(Op::Const(Const(value)))
    })
}

/// Gathers constant factors: (c1·x)·c2 = (c1·c2)·x, one pass over a matrix instead of two.
fn gather_factors(graph: &Graph, op: Op, a: NodeId, b: NodeId) -> Rewrite {
    let constant = |id: NodeId| graph.node(id).op.as_const();
    let (c, x) = match (constant(a), constant(b)) {
        (Some(c), _) => (c, b),
        (None, Some(c)) => (c, a),
        (None, None) => return Rewrite::Op(op),
    };
    let inner = match graph.node(x).op {
        Op::Mul(p, q) => constant(p)
            .map(|c| (c, q))
            .or_else(|| constant(q).map(|c| (c, p))),
        _ => None,
    };
    match inner {
        Some((inner_factor, y)) => Rewrite::Scale {
            x: y,
            factor: c * inner_factor,
        },
        None => Rewrite::Op(op),
    }
}

/// Integer exponents become multiplications or `powi`, never `powf`.
fn integer_power(op: Op, base: NodeId, exponent: Option<f64>) -> Rewrite {
    match exponent {
        Some(n) if n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX) => {
            Rewrite::Op(Op::Powi(base, n as i32))
        }
        _ => Rewrite::Op(op),
    }
}

/// A scalar repeated is a broadcast, however it is repeated; so is a broadcast repeated.
fn spread(graph: &Graph, a: NodeId) -> Rewrite {
    if graph.node(a).shape.is_scalar() {
        return Rewrite::Op(Op::Broadcast(a));
    }
    match graph.node(a).op {
        Op::Broadcast(scalar) => Rewrite::Op(Op::Broadcast(scalar)),
        // A spread to the operand's own shape (a column over one column, a 1×1 anywhere it
        // fits) is the operand; `simplified` keeps the rewrite only if the shapes agree.
        _ => Rewrite::Existing(a),
    }
}

/// A fixed-size matrix's element count is a constant.
fn count(graph: &Graph, op: Op, a: NodeId) -> Rewrite {
    match &graph.node(a).shape {
        Shape::Scalar => Rewrite::Op(Op::Const(Const(1.0))),
        Shape::Matrix {
            rows: Dim::Fixed(rows),
            cols: Dim::Fixed(cols),
        } => Rewrite::Op(Op::Const(Const((rows * cols) as f64))),
        // A count reads only its operand's shape: count an operand of the same size instead,
        // so that a value needed only for its count (`ln` of the column sums, in a batch
        // mean's backward pass) is not computed for it.
        shape => {
            let transposed = shape.transposed();
            let same_size = graph.node(a).op.operands().find(|operand| {
                let operand = &graph.node(*operand).shape;
                operand == shape || *operand == transposed
            });
            match same_size {
                Some(operand) => Rewrite::Op(Op::Count(operand)),
                None => Rewrite::Op(op),
            }
        }
    }
}

/// The same binary operation on other operands.
fn with_operands(op: Op, a: NodeId, b: NodeId) -> Op {
    let mut operands = [a, b].into_iter();
    op.map_operands(|_| operands.next().expect("a binary operation"))
}

/// Keeps the nodes the outputs need, in order.
fn eliminate_dead_code(graph: &Graph, outputs: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let mut live = vec![false; graph.len()];
    for output in outputs {
        live[output.index()] = true;
    }
    for id in graph.ids().rev() {
        if live[id.index()] {
            for operand in graph.node(id).op.operands() {
                live[operand.index()] = true;
            }
        }
    }
    let mut out = Graph::new(graph.inputs.clone());
    let mut new_id: Vec<Option<NodeId>> = vec![None; graph.len()];
    for id in graph.ids().filter(|id| live[id.index()]) {
        let node = graph.node(id);
        let op = node.op.map_operands(|operand| {
            new_id[operand.index()].expect("operands of live nodes are live")
        });
        new_id[id.index()] = Some(out.push(Node { op, ..node.clone() }));
    }
    let outputs = outputs
        .iter()
        .map(|id| new_id[id.index()].expect("outputs are live"))
        .collect();
    (out, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower_str;

    #[track_caller]
    fn check(src: &str, expected_ir: &str) {
        let lowered = lower_str(src).unwrap();
        let (graph, _) = simplify(&lowered.graph, &[lowered.output]);
        assert_eq!(graph.to_string().trim(), expected_ir.trim());
    }

    #[test]
    fn constants_fold() {
        check(
            "|x: f64| x * (2 + 3) ^ 2",
            "x = input 0\n%1 = const 25\nv2 = mul x 25",
        );
    }

    #[test]
    fn identities_disappear() {
        check("|x: f64| (x * 1 + 0) / 1 - 0", "x = input 0");
        check("|x: f64, y: f64| x * 0 + y", "y = input 1");
        check("|x: f64| --x", "x = input 0");
        check("|x: f64| 0 - x", "x = input 0\nv0 = neg x");
    }

    #[test]
    fn integer_exponents_become_powi() {
        check("|x: f64| x^3", "x = input 0\nv0 = powi x 3");
        check("|x: f64| x^(1 + 1)", "x = input 0\nv1 = powi x 2");
        check("|x: f64| x^1", "x = input 0");
        check(
            "|x: f64| x^0.5",
            "x = input 0\n%1 = const 0.5\nv0 = pow x 0.5",
        );
    }

    #[test]
    fn common_subexpressions_are_computed_once_even_when_commuted() {
        check(
            "|x: f64, y: f64| { let a = sin(x * y); let b = sin(y * x); a + b }",
            "x = input 0\ny = input 1\nv0 = mul x y\na = sin v0\nv2 = add a a",
        );
    }

    #[test]
    fn dead_lets_are_removed() {
        check(
            "|x: f64, y: f64| { let unused = exp(y); x * x }",
            "x = input 0\nv0 = mul x x",
        );
    }

    /// A graph over the given inputs, built by `build`, simplified for its last node.
    fn simplified(inputs: &[(&str, Shape)], build: impl FnOnce(&mut Graph) -> NodeId) -> String {
        let inputs = inputs
            .iter()
            .map(|(name, shape)| crate::ir::Input {
                name: proc_macro2::Ident::new(name, proc_macro2::Span::call_site()),
                shape: shape.clone(),
                requires_grad: true,
            })
            .collect();
        let mut graph = Graph::new(inputs);
        let output = build(&mut graph);
        let (graph, _) = simplify(&graph, &[output]);
        graph.to_string().trim().to_string()
    }

    fn matrix(rows: usize, cols: usize) -> Shape {
        Shape::matrix(Dim::Fixed(rows), Dim::Fixed(cols))
    }

    #[test]
    fn a_spread_scalar_is_a_broadcast() {
        let span = proc_macro2::Span::call_site();
        let text = simplified(&[("s", Shape::Scalar)], |g| {
            let s = g.push_op(Op::Input(0), span);
            let column = g.broadcast(s, &matrix(3, 1), span);
            g.push_shaped(Op::SpreadColumn(column), span, matrix(3, 5))
        });
        assert_eq!(text, "s = input 0\n%1: 3×5 = broadcast s");
        let text = simplified(&[("s", Shape::Scalar)], |g| {
            let s = g.push_op(Op::Input(0), span);
            g.push_shaped(Op::SpreadRow(s), span, matrix(3, 5))
        });
        assert_eq!(text, "s = input 0\n%1: 3×5 = broadcast s");
    }

    #[test]
    fn summing_or_spreading_along_a_side_of_length_one_changes_nothing() {
        let span = proc_macro2::Span::call_site();
        let text = simplified(&[("c", matrix(3, 1)), ("r", matrix(1, 5))], |g| {
            let c = g.push_op(Op::Input(0), span);
            let r = g.push_op(Op::Input(1), span);
            let c = g.push_op(Op::RowSums(c), span);
            let c = g.push_shaped(Op::SpreadColumn(c), span, matrix(3, 1));
            let r = g.push_op(Op::ColumnSums(r), span);
            let r = g.push_op(Op::ColumnMaxes(r), span);
            let r = g.push_shaped(Op::SpreadRow(r), span, matrix(1, 5));
            g.push_op(Op::MatMul(c, r), span)
        });
        assert_eq!(
            text,
            "c: 3×1 = input 0\nr: 1×5 = input 1\n%2: 3×5 = matmul c r"
        );
    }

    #[test]
    fn spreads_of_one_column_share_a_node_only_at_one_shape() {
        let span = proc_macro2::Span::call_site();
        let text = simplified(&[("c", matrix(3, 1))], |g| {
            let c = g.push_op(Op::Input(0), span);
            let wide = g.push_shaped(Op::SpreadColumn(c), span, matrix(3, 5));
            let again = g.push_shaped(Op::SpreadColumn(c), span, matrix(3, 5));
            let narrow = g.push_shaped(Op::SpreadColumn(c), span, matrix(3, 4));
            let (wide, again, narrow) = (
                g.push_op(Op::Sum(wide), span),
                g.push_op(Op::Sum(again), span),
                g.push_op(Op::Sum(narrow), span),
            );
            let both = g.push_op(Op::Add(wide, again), span);
            g.push_op(Op::Add(both, narrow), span)
        });
        assert_eq!(
            text,
            "c: 3×1 = input 0\n%1: 3×5 = spread_column c\n%2: 3×4 = spread_column c\n%3 = sum %1\n%4 = sum %2\n%5 = add %3 %3\n%6 = add %5 %4"
        );
    }

    #[test]
    fn a_fixed_batch_size_folds_into_the_means() {
        check(
            "fn f(a: SMatrix<f64, 3, 5>) -> SVector<f64, 3> { row_means(a) }",
            "a: 3×5 = input 0\n%1: 3×1 = row_sums a\n%2 = const 5\nv0: 3×1 = div %1 5",
        );
        check(
            "fn f(a: SMatrix<f64, 3, 5>) -> RowSVector<f64, 5> { column_means(a) }",
            "a: 3×5 = input 0\n%1: 1×5 = column_sums a\n%2 = const 3\nv0: 1×5 = div %1 3",
        );
    }

    #[test]
    fn a_count_reads_the_earliest_value_of_its_size() {
        // `mean` of a const-generic batch counts the input, not the `tanh` of it.
        check(
            "fn f<const B: usize>(a: SMatrix<f64, 3, B>) -> f64 { mean(tanh(a)) }",
            "a: 3×B = input 0\nv0: 3×B = tanh a\n%2 = sum v0\n%3 = count a\nv1 = div %2 %3",
        );
    }

    #[test]
    fn simplifying_twice_changes_nothing() {
        let lowered = lower_str("|x: f64, y: f64| tanh(ln(1 + y*2x/sin(y))) * 1 + 0").unwrap();
        let (once, outputs) = simplify(&lowered.graph, &[lowered.output]);
        let (twice, _) = simplify(&once, &outputs);
        assert_eq!(once.to_string(), twice.to_string());
    }
}
