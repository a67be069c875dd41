//! The graph as a picture: the forward IR → Graphviz DOT text, for `#[dot]`'s `NAME::DOT`, and
//! the same text with placeholders plus a graph computing what fills them, for `NAME::dot(..)`.
//! IR in, text and IR out; never sees tokens (`emit` writes the function).
//!
//! **Nodes** are the values the user named, as the lecture's slide draws them: each parameter,
//! each `let`, and the output, labelled as written (`a = 2·x`, `e = ln(1 + d)`). An operation
//! the user did not name is folded into the label of the node that uses it, so a formula with
//! no `let` is one node; a value two named nodes share (a common subexpression) is drawn as a
//! node of its own, under the name the emitted code gives it (`v3`). Constants are written in
//! the labels, and a builtin such as `mse` is written as its call.
//!
//! **Edges** go from an operand to its user, `v → u`. In `dot(..)`, each is labelled with the
//! partial `∂u/∂v` at the point, found by differentiating `u`'s own expression with its
//! operands as inputs and a unit adjoint: what the vector-Jacobian rules give for that step,
//! so the product of the partials along a path is the chain rule of the slide. Only edges
//! between scalars are labelled (the partial of a matrix is a Jacobian).
//!
//! **Values** in `dot(..)`: each node's forward value (a matrix shows its shape) and its
//! adjoint `∂output/∂node` (a matrix shows its Frobenius norm `‖grad‖`), parameters
//! included, `#[no_grad]` ones too. For a matrix output, the adjoints are those of the sum of
//! its elements. Adjoints come from the usual reverse pass (`diff`) over a copy of the graph in
//! which each drawn node `u` is replaced by `u + probe_u`: the gradient with respect to
//! `probe_u`, an input, is `u`'s adjoint. The probes are then set to zero and simplified away,
//! so `dot(..)` computes the forward pass, the adjoints and the partials, nothing else.

use std::collections::HashSet;
use std::fmt::Write;

use proc_macro2::Span;

use crate::ir::{mint, Binding, Graph, Input, Kind, Node, NodeId, Notation, Op, Shape};
use crate::passes::diff::differentiate;
use crate::passes::simplify::simplify;
use crate::stack::ensure_sufficient_stack;

/// What `emit` writes for a `#[dot]` graph.
pub struct Picture {
    /// The structure, without numbers: `NAME::DOT`.
    pub structure: String,
    /// The text of `NAME::dot(..)` around its numbers: one more piece than `values` has
    /// outputs, each number written between two pieces.
    pub pieces: Vec<String>,
    /// Computes the numbers from the graph's parameters (its inputs).
    pub values: Graph,
    pub outputs: Vec<NodeId>,
}

/// The picture of `forward`, the forward graph of the graph called `name`, whose output is
/// `output`. `user_names` are the names of the user's `let`s: the nodes to draw.
pub fn picture(
    forward: &Graph,
    output: NodeId,
    name: &str,
    user_names: &HashSet<String>,
) -> Picture {
    let layout = Layout::new(forward, output, name, user_names);
    let structure = layout.text(name, None);
    let mut numbers = Numbers::new(forward, &layout, output);
    let template = layout.text(name, Some(&mut numbers));
    let (values, outputs) = numbers.finish();
    Picture {
        structure: template_free(structure),
        pieces: template,
        values,
        outputs,
    }
}

/// A text with no placeholders, in one piece.
fn template_free(pieces: Vec<String>) -> String {
    debug_assert_eq!(pieces.len(), 1, "the structure has no numbers");
    pieces.concat()
}

/// Which nodes are drawn, and what each drawn node's own expression is made of.
struct Layout<'a> {
    graph: &'a Graph,
    output: NodeId,
    /// The drawn nodes, in forward order.
    drawn: Vec<NodeId>,
    is_drawn: Vec<bool>,
    /// For each drawn node, in the order of `drawn`: the nodes folded into its label (its
    /// expression, itself last, in forward order) and the drawn nodes it reads (its operands
    /// in the picture, in order of first use).
    trees: Vec<Tree>,
    /// The DOT identifier of each drawn node, by node index: its name (the graph's, for an
    /// output the user did not name), made unique.
    ids: Vec<String>,
}

struct Tree {
    nodes: Vec<NodeId>,
    leaves: Vec<NodeId>,
}

impl<'a> Layout<'a> {
    fn new(
        graph: &'a Graph,
        output: NodeId,
        graph_name: &str,
        user_names: &HashSet<String>,
    ) -> Layout<'a> {
        let mut users: Vec<Vec<NodeId>> = vec![Vec::new(); graph.len()];
        for id in graph.ids() {
            for operand in graph.node(id).op.operands() {
                if users[operand.index()].last() != Some(&id) {
                    users[operand.index()].push(id);
                }
            }
        }
        // A `let` name, or the spelling `lower` gives a `let` that shadows another (`a_7`).
        let is_users_name = |name: &str| {
            user_names.contains(name)
                || name.rsplit_once('_').is_some_and(|(base, index)| {
                    user_names.contains(base) && index.bytes().all(|b| b.is_ascii_digit())
                })
        };
        let named_by_user: Vec<bool> = graph
            .nodes()
            .iter()
            .map(|node| {
                node.name
                    .as_ref()
                    .is_some_and(|name| is_users_name(&name.to_string()))
            })
            .collect();
        let is_drawn: Vec<bool> = graph
            .ids()
            .map(|id| {
                let node = graph.node(id);
                match (&node.op, &node.name) {
                    (Op::Const(_), _) => false,
                    (Op::Input(_), _) => true,
                    _ if id == output => true,
                    // A builtin's inside: part of its call, never a node of its own.
                    (_, None) => false,
                    (_, Some(_)) => named_by_user[id.index()] || users[id.index()].len() != 1,
                }
            })
            .collect();
        let drawn: Vec<NodeId> = graph.ids().filter(|id| is_drawn[id.index()]).collect();
        let trees = drawn
            .iter()
            .map(|&id| Tree::of(graph, id, &is_drawn))
            .collect();
        let mut ids = vec![String::new(); graph.len()];
        let mut taken = HashSet::new();
        for &id in &drawn {
            // An output the user did not name is called by the graph's name.
            let base = if id == output && !named_by_user[id.index()] {
                graph_name.to_string()
            } else {
                graph.label(id).replace("r#", "")
            };
            let unique = std::iter::once(base.clone())
                .chain((2..).map(|n| format!("{base}_{n}")))
                .find(|candidate| !taken.contains(candidate))
                .expect("some suffix is free");
            taken.insert(unique.clone());
            ids[id.index()] = unique;
        }
        Layout {
            graph,
            output,
            drawn,
            is_drawn,
            trees,
            ids,
        }
    }

    /// The DOT text, in pieces around the numbers `numbers` asks for (one piece without it).
    fn text(&self, name: &str, mut numbers: Option<&mut Numbers>) -> Vec<String> {
        let mut pieces = vec![String::new()];
        let write = |pieces: &mut Vec<String>, text: &str| last(pieces).push_str(text);
        write(
            &mut pieces,
            &format!(
                "digraph {} {{\n    rankdir=LR;\n    node [fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\"];\n",
                quoted(name)
            ),
        );
        for (position, &id) in self.drawn.iter().enumerate() {
            let node = self.graph.node(id);
            let shape = match node.op {
                Op::Input(_) => "ellipse",
                _ => "box",
            };
            let mut attributes = format!("shape={shape}");
            if id == self.output {
                attributes.push_str(", peripheries=2");
            }
            if let Op::Input(n) = node.op {
                if !self.graph.inputs[usize::from(n)].requires_grad {
                    attributes.push_str(", style=dashed");
                }
            }
            write(
                &mut pieces,
                &format!(
                    "    {} [{attributes}, label=\"{}",
                    quoted(&self.ids[id.index()]),
                    escape(&self.label(id))
                ),
            );
            if let Some(numbers) = numbers.as_deref_mut() {
                numbers.node(position, id, &mut pieces);
            }
            write(&mut pieces, "\"];\n");
        }
        for (position, &id) in self.drawn.iter().enumerate() {
            for &leaf in &self.trees[position].leaves {
                write(
                    &mut pieces,
                    &format!(
                        "    {} -> {}",
                        quoted(&self.ids[leaf.index()]),
                        quoted(&self.ids[id.index()])
                    ),
                );
                if let Some(numbers) = numbers.as_deref_mut() {
                    numbers.edge(position, leaf, &mut pieces);
                }
                write(&mut pieces, ";\n");
            }
        }
        write(&mut pieces, "}\n");
        pieces
    }

    /// `a = 2·x` for a named node, `x` for a parameter, `lecture = tanh(e)` for an output the
    /// user did not name, in a graph called `lecture`.
    fn label(&self, id: NodeId) -> String {
        let node = self.graph.node(id);
        if let Op::Input(_) = node.op {
            return self.graph.label(id).replace("r#", "");
        }
        format!("{} = {}", self.ids[id.index()], self.expression(id, true).0)
    }

    /// The expression of `id` as the user would write it, with how tightly it binds. `whole`:
    /// expand `id` itself even though it is drawn (the right side of its own label).
    fn expression(&self, id: NodeId, whole: bool) -> (String, u8) {
        ensure_sufficient_stack(|| self.expression_here(id, whole))
    }

    fn expression_here(&self, id: NodeId, whole: bool) -> (String, u8) {
        const SUM: u8 = 1;
        const PRODUCT: u8 = 2;
        const PREFIX: u8 = 3;
        const POWER: u8 = 4;
        const ATOM: u8 = 5;
        let graph = self.graph;
        let node = graph.node(id);
        if let Op::Const(c) = node.op {
            let text = number(c.0);
            let prec = if text.starts_with('-') { PREFIX } else { ATOM };
            return (text, prec);
        }
        if !whole && self.is_drawn[id.index()] {
            return (self.ids[id.index()].clone(), ATOM);
        }
        // A builtin's result or inside reads as the call the user wrote.
        let inside_of_call = node
            .op
            .operands()
            .chain(std::iter::once(id))
            .filter(|operand| !self.is_drawn[operand.index()] || *operand == id)
            .find_map(|operand| {
                let operand = graph.node(operand);
                match (&operand.name, &operand.note) {
                    (None, Some(call)) => Some(call.clone()),
                    _ => None,
                }
            });
        if let Some(call) = inside_of_call {
            return (call.replace("r#", ""), ATOM);
        }
        let at_least = |operand: NodeId, min: u8| {
            let (text, prec) = self.expression(operand, false);
            if prec < min {
                format!("({text})")
            } else {
                text
            }
        };
        let op = node.op;
        let operands: Vec<NodeId> = op.operands().collect();
        let all_matrices = operands.iter().all(|a| !graph.node(*a).shape.is_scalar());
        match (op.notation(), op) {
            (Notation::Leaf, _) => (graph.label(id), ATOM),
            (Notation::Negation, _) => (format!("-{}", at_least(operands[0], PREFIX)), PREFIX),
            (Notation::Infix(symbol, binding), _) => {
                let prec = if binding == Binding::Sum {
                    SUM
                } else {
                    PRODUCT
                };
                let symbol = match symbol {
                    // An element-wise product of matrices is the Hadamard product.
                    "·" if op.kind() == Kind::Elementwise && all_matrices => "∘".to_string(),
                    "·" => symbol.to_string(),
                    _ => format!(" {symbol} "),
                };
                let (a, b) = (at_least(operands[0], prec), at_least(operands[1], prec + 1));
                (format!("{a}{symbol}{b}"), prec)
            }
            (Notation::Power, Op::Powi(a, n)) => (format!("{}^{n}", at_least(a, ATOM)), POWER),
            (Notation::Power, _) => {
                let (a, b) = (at_least(operands[0], ATOM), at_least(operands[1], PREFIX));
                (format!("{a}^{b}"), POWER)
            }
            (Notation::Indicator, _) => {
                let (a, b) = (at_least(operands[0], SUM), at_least(operands[1], SUM));
                (format!("[{a} > {b}]"), ATOM)
            }
            (Notation::Transpose, _) => (format!("{}ᵀ", at_least(operands[0], ATOM)), ATOM),
            (Notation::Operand, _) => self.expression(operands[0], false),
            (Notation::Call, _) => {
                let args: Vec<String> = operands.iter().map(|arg| at_least(*arg, 0)).collect();
                (format!("{}({})", op.mnemonic(), args.join(", ")), ATOM)
            }
            (Notation::Derivative, _) => (graph.describe(id), ATOM),
        }
    }
}

impl Tree {
    /// The nodes folded into `root`'s label and the drawn nodes they read.
    fn of(graph: &Graph, root: NodeId, is_drawn: &[bool]) -> Tree {
        let mut seen = HashSet::from([root]);
        let mut nodes = vec![root];
        let mut leaves = Vec::new();
        let mut stack: Vec<NodeId> = graph.node(root).op.operands().collect();
        stack.reverse();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match graph.node(id).op {
                Op::Const(_) => nodes.push(id),
                _ if is_drawn[id.index()] => leaves.push(id),
                op => {
                    nodes.push(id);
                    let operands: Vec<NodeId> = op.operands().collect();
                    stack.extend(operands.into_iter().rev());
                }
            }
        }
        nodes.sort();
        Tree { nodes, leaves }
    }
}

/// The graph computing `dot(..)`'s numbers, built as the text asks for them.
struct Numbers<'a> {
    forward: &'a Graph,
    layout: &'a Layout<'a>,
    graph: Graph,
    outputs: Vec<NodeId>,
    /// The node of `graph` holding each forward node's value.
    value: Vec<NodeId>,
    /// Each drawn node's adjoint in `graph`, in the order of `layout.drawn`.
    adjoints: Vec<NodeId>,
}

impl<'a> Numbers<'a> {
    /// Copies `forward` with a probe added to each drawn node that is not a parameter, and
    /// differentiates the copy in every parameter (`#[no_grad]` ones too) and every probe.
    fn new(forward: &'a Graph, layout: &'a Layout<'a>, output: NodeId) -> Numbers<'a> {
        let mut inputs: Vec<Input> = forward
            .inputs
            .iter()
            .map(|input| Input {
                requires_grad: true,
                ..input.clone()
            })
            .collect();
        let probed: Vec<NodeId> = layout
            .drawn
            .iter()
            .copied()
            .filter(|id| !matches!(forward.node(*id).op, Op::Input(_)))
            .collect();
        for &id in &probed {
            inputs.push(Input {
                name: mint(&format!("probe_{}", layout.ids[id.index()])),
                shape: forward.node(id).shape.clone(),
                requires_grad: true,
            });
        }
        let mut graph = Graph::new(inputs);
        let mut value = Vec::with_capacity(forward.len());
        // What users of each node read: the node plus its probe, if it is drawn.
        let mut read = Vec::with_capacity(forward.len());
        let mut probes = forward.inputs.len();
        for id in forward.ids() {
            let node = forward.node(id);
            let copy = graph.push(Node {
                op: node.op.map_operands(|operand| read[operand.index()]),
                ..node.clone()
            });
            value.push(copy);
            if probed.binary_search(&id).is_ok() {
                let probe = graph.push_op(Op::Input(probes as u16), Span::call_site());
                probes += 1;
                read.push(graph.push_op(Op::Add(copy, probe), node.span));
            } else {
                read.push(copy);
            }
        }
        let seed = graph.constant(1.0, Span::call_site());
        let seed = graph.broadcast(seed, &forward.node(output).shape, Span::call_site());
        let (mut graph, grads) = differentiate(&graph, read[output.index()], seed);
        // A probe's gradient is its node's adjoint: named so, `d_e` rather than `d_probe_e`.
        let (params, mut probes) = grads.split_at(forward.inputs.len());
        let adjoints = layout
            .drawn
            .iter()
            .map(|&id| match forward.node(id).op {
                Op::Input(n) => params[usize::from(n)],
                _ => {
                    let (adjoint, rest) = probes.split_first().expect("a probe per drawn node");
                    probes = rest;
                    let node = graph.node_mut(*adjoint);
                    if !matches!(node.op, Op::Input(_) | Op::Const(_)) {
                        node.name = Some(mint(&format!("d_{}", layout.ids[id.index()])));
                        node.note = None;
                    }
                    *adjoint
                }
            })
            .collect();
        Numbers {
            forward,
            layout,
            graph,
            outputs: Vec::new(),
            value,
            adjoints,
        }
    }

    /// A number to write here: ends the current piece.
    fn placeholder(&mut self, node: NodeId, pieces: &mut Vec<String>) {
        self.outputs.push(node);
        pieces.push(String::new());
    }

    /// The value and adjoint lines of the `position`-th drawn node, `id`.
    fn node(&mut self, position: usize, id: NodeId, pieces: &mut Vec<String>) {
        let adjoint = self.adjoints[position];
        match &self.forward.node(id).shape {
            Shape::Scalar => {
                last(pieces).push_str("\\nvalue ");
                self.placeholder(self.value[id.index()], pieces);
                last(pieces).push_str("\\ngrad ");
                self.placeholder(adjoint, pieces);
            }
            shape => {
                let span = Span::call_site();
                let squares = self.graph.push_op(Op::Mul(adjoint, adjoint), span);
                let sum = self.graph.push_op(Op::Sum(squares), span);
                let norm = self
                    .graph
                    .push_op(Op::Call(crate::ir::Func::Sqrt, sum), span);
                write!(last(pieces), "\\n{shape}\\n‖grad‖ ").expect("writes to a string");
                self.placeholder(norm, pieces);
            }
        }
    }

    /// The label of the edge from `leaf` into the `position`-th drawn node: `∂node/∂leaf`.
    fn edge(&mut self, position: usize, leaf: NodeId, pieces: &mut Vec<String>) {
        let root = self.layout.drawn[position];
        let scalar = |id: NodeId| self.forward.node(id).shape.is_scalar();
        if !scalar(root) || !scalar(leaf) {
            return;
        }
        let partial = self.partial(position, leaf);
        last(pieces).push_str(" [label=\"");
        self.placeholder(partial, pieces);
        last(pieces).push_str("\"]");
    }

    /// `∂root/∂leaf` through `root`'s own expression: that expression copied into a graph of
    /// its own with its drawn operands as inputs, differentiated with a unit adjoint, and the
    /// result copied into `self.graph` reading the operands' values there.
    fn partial(&mut self, position: usize, leaf: NodeId) -> NodeId {
        let tree = &self.layout.trees[position];
        let root = self.layout.drawn[position];
        let inputs = tree
            .leaves
            .iter()
            .map(|&id| Input {
                name: mint("leaf"),
                shape: self.forward.node(id).shape.clone(),
                requires_grad: id == leaf,
            })
            .collect();
        let mut local = Graph::new(inputs);
        let mut map: Vec<Option<NodeId>> = vec![None; self.forward.len()];
        for (n, &id) in tree.leaves.iter().enumerate() {
            map[id.index()] = Some(local.push_op(Op::Input(n as u16), self.forward.node(id).span));
        }
        for &id in &tree.nodes {
            let node = self.forward.node(id);
            let op = node
                .op
                .map_operands(|operand| map[operand.index()].expect("operands precede users"));
            map[id.index()] = Some(local.push(Node { op, ..node.clone() }));
        }
        let seed = local.constant(1.0, Span::call_site());
        let local_root = map[root.index()].expect("the root is in its tree");
        let (local, grads) = differentiate(&local, local_root, seed);
        let (local, grads) = simplify(&local, &grads);
        // Into the numbers' graph: the inputs are the leaves' values.
        let mut into = Vec::with_capacity(local.len());
        for node in local.nodes() {
            let id = match node.op {
                Op::Input(n) => self.value[tree.leaves[usize::from(n)].index()],
                op => self.graph.push(Node {
                    op: op.map_operands(|operand: NodeId| into[operand.index()]),
                    name: None,
                    note: None,
                    ..node.clone()
                }),
            };
            into.push(id);
        }
        into[grads[0].index()]
    }

    /// The numbers' graph with every probe set to zero, simplified: `u + probe_u` is `u`.
    fn finish(self) -> (Graph, Vec<NodeId>) {
        let params = self.forward.inputs.len();
        let mut without_probes = Graph::new(self.forward.inputs.clone());
        let mut map = Vec::with_capacity(self.graph.len());
        for node in self.graph.nodes() {
            let id = match node.op {
                Op::Input(n) if usize::from(n) >= params => {
                    let zero = without_probes.constant(0.0, node.span);
                    without_probes.broadcast(zero, &node.shape, node.span)
                }
                op => without_probes.push(Node {
                    op: op.map_operands(|operand| map[operand.index()]),
                    // A chain-rule step that went through a probe names it; drop it.
                    note: node.note.clone().filter(|note| !note.contains("probe_")),
                    ..node.clone()
                }),
            };
            map.push(id);
        }
        let outputs: Vec<NodeId> = self.outputs.iter().map(|id| map[id.index()]).collect();
        simplify(&without_probes, &outputs)
    }
}

/// The piece being written.
fn last(pieces: &mut [String]) -> &mut String {
    pieces.last_mut().expect("one piece at least")
}

/// A constant as the user would write it: `2`, `0.5`, `-1`.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// A DOT identifier in double quotes.
fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// Escapes `text` for the inside of a double-quoted DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::eval::eval;
    use crate::{graphs, lower_str};

    fn picture_of(src: &str) -> Picture {
        let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
        let def = crate::syntax::parse::parse_graph(tokens).expect("parses");
        let lets: HashSet<String> = def
            .body
            .lets
            .iter()
            .map(|binding| binding.name.to_string())
            .collect();
        let program = graphs(lower_str(src).expect("lowers"), &def.options);
        let (forward, output) = (&program.forward.0, program.forward.1);
        picture(forward, output, "f", &lets)
    }

    /// `dot(..)`'s text at `inputs`, by the IR interpreter.
    fn rendered(picture: &Picture, inputs: &[f64]) -> String {
        let values = eval(&picture.values, inputs);
        let mut text = String::new();
        for (index, piece) in picture.pieces.iter().enumerate() {
            text.push_str(piece);
            if let Some(output) = picture.outputs.get(index) {
                write!(text, "{}", values[output.index()]).unwrap();
            }
        }
        text
    }

    const LECTURE: &str = "fn f(x: f64, y: f64, z: f64) -> f64 {
        let a = 2x; let b = sin(y); let c = a / b; let d = z * c; let e = ln(1 + d); tanh(e)
    }";

    #[test]
    fn the_lectures_lets_are_its_nodes() {
        let picture = picture_of(LECTURE);
        assert_eq!(
            picture.structure,
            r#"digraph "f" {
    rankdir=LR;
    node [fontname="Helvetica"];
    edge [fontname="Helvetica"];
    "x" [shape=ellipse, label="x"];
    "y" [shape=ellipse, label="y"];
    "z" [shape=ellipse, label="z"];
    "a" [shape=box, label="a = 2·x"];
    "b" [shape=box, label="b = sin(y)"];
    "c" [shape=box, label="c = a / b"];
    "d" [shape=box, label="d = z·c"];
    "e" [shape=box, label="e = ln(1 + d)"];
    "f" [shape=box, peripheries=2, label="f = tanh(e)"];
    "x" -> "a";
    "y" -> "b";
    "a" -> "c";
    "b" -> "c";
    "z" -> "d";
    "c" -> "d";
    "d" -> "e";
    "e" -> "f";
}
"#
        );
    }

    #[test]
    fn values_adjoints_and_partials_match_the_slide() {
        let picture = picture_of(LECTURE);
        let (x, y, z) = (0.3_f64, 1.1_f64, 0.7_f64);
        let text = rendered(&picture, &[x, y, z]);
        let (a, b) = (2.0 * x, y.sin());
        let c = a / b;
        let d = z * c;
        let e = (1.0 + d).ln();
        let f = e.tanh();
        let d_e = 1.0 - f * f;
        let d_d = d_e / (1.0 + d);
        let expected_partial = |from: &str, to: &str, value: f64| {
            let line = text
                .lines()
                .find(|line| line.starts_with(&format!("    \"{from}\" -> \"{to}\"")))
                .unwrap_or_else(|| panic!("edge {from} -> {to} in\n{text}"));
            let label: f64 = line
                .split("label=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("a number on {line}"));
            assert!((label - value).abs() < 1e-12, "{line}: expected {value}");
        };
        expected_partial("x", "a", 2.0);
        expected_partial("y", "b", y.cos());
        expected_partial("a", "c", 1.0 / b);
        expected_partial("b", "c", -a / (b * b));
        expected_partial("z", "d", c);
        expected_partial("c", "d", z);
        expected_partial("d", "e", 1.0 / (1.0 + d));
        expected_partial("e", "f", 1.0 - f * f);
        let node = |name: &str| {
            text.lines()
                .find(|line| line.starts_with(&format!("    \"{name}\" [")))
                .unwrap_or_else(|| panic!("node {name} in\n{text}"))
                .to_string()
        };
        assert!(
            node("e").contains(&format!("\\nvalue {e}\\ngrad {d_e}")),
            "{}",
            node("e")
        );
        assert!(
            node("d").contains(&format!("\\ngrad {d_d}")),
            "{}",
            node("d")
        );
        assert!(node("x").contains(&format!("\\nvalue {x}\\ngrad {}", d_d * z / b * 2.0)));
        assert!(node("f").contains(&format!("\\nvalue {f}\\ngrad 1")));
    }

    #[test]
    fn a_formula_without_lets_is_one_node() {
        let picture =
            picture_of("fn f(x: f64, y: f64, z: f64) -> f64 { tanh(ln(1 + z*2x/sin(y))) }");
        assert!(
            picture.structure.contains(
                r#"[shape=box, peripheries=2, label="f = tanh(ln(1 + z·(2·x) / sin(y)))"]"#
            ),
            "{}",
            picture.structure
        );
        assert_eq!(picture.structure.matches("->").count(), 3);
    }

    #[test]
    fn a_shared_value_is_a_node_and_builtins_read_as_calls() {
        let picture = picture_of(
            "fn f(w: SVector<f64, 3>, #[no_grad] t: SVector<f64, 3>) -> f64 {
                let p = sin(w * 2) + cos(w * 2);
                mse(p, t)
            }",
        );
        let structure = &picture.structure;
        assert!(
            structure.contains(r#""v0" [shape=box, label="v0 = w·2"]"#),
            "{structure}"
        );
        assert!(
            structure.contains(r#"label="p = sin(v0) + cos(v0)"]"#),
            "{structure}"
        );
        assert!(
            structure.contains(r#"label="f = mse(p, t)"]"#),
            "{structure}"
        );
        assert!(structure.contains(r#""t" [shape=ellipse, style=dashed, label="t"]"#));
        // Matrices show their shape and the norm of their adjoint; their edges are bare.
        assert!(picture
            .pieces
            .iter()
            .any(|piece| piece.contains("\\n3×1\\n‖grad‖ ")));
        assert!(picture
            .pieces
            .iter()
            .any(|piece| piece.contains("\"v0\" -> \"p\";")));
    }
}
