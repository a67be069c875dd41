//! The graph IR: one node per operation, in forward order, each with its span and shape.
//!
//! Every pass (`simplify`, `diff`) is a function from a [`Graph`] to a [`Graph`]; none of them
//! sees tokens. Only `emit` turns a graph back into Rust.

use std::fmt;

use proc_macro2::{Ident, Span};

mod op;
mod shape;
mod window;

pub use op::{result_shape, Binding, Const, Func, Kind, Notation, Op, Symbol};
pub use shape::{Dim, Shape, LARGE_ELEMENTS};
pub use window::{Geometry, WindowId};

/// Index of a node in its [`Graph`]. Operands always have smaller ids than their users.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn from_index(index: usize) -> NodeId {
        NodeId(u32::try_from(index).expect("graph has under 2^32 nodes"))
    }
}

/// One operation of the graph.
#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    /// The user's token this node came from; errors and emitted code point here.
    pub span: Span,
    pub shape: Shape,
    /// The name the emitted `let` uses: the user's `let` name, `v3` for other forward nodes,
    /// `d_v3` for adjoints. Unnamed nodes are temporaries, inlined where used once.
    pub name: Option<Ident>,
    /// Printed beside the node's `let`: for an adjoint, the chain-rule step that produced it;
    /// for a temporary inside a builtin, the call it belongs to (`mse(prediction, y)`).
    pub note: Option<String>,
}

/// A graph input: a parameter of the user's function, or the backward pass's `d_out`.
#[derive(Clone, Debug)]
pub struct Input {
    pub name: Ident,
    pub shape: Shape,
    pub requires_grad: bool,
}

/// A computation as a list of nodes.
///
/// Invariant: operands come before their users, so index order is forward order and walking the
/// list backwards is the backward pass.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub inputs: Vec<Input>,
    nodes: Vec<Node>,
}

impl Graph {
    pub fn new(inputs: Vec<Input>) -> Graph {
        Graph {
            inputs,
            nodes: Vec::new(),
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.index()]
    }

    pub fn ids(&self) -> impl DoubleEndedIterator<Item = NodeId> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Appends a node. Panics if an operand does not exist yet: that would break the
    /// forward-order invariant, and only our own passes build nodes.
    pub fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).expect("graph has under 2^32 nodes"));
        assert!(
            node.op.operands().all(|operand| operand < id),
            "operands must precede their users"
        );
        self.nodes.push(node);
        id
    }

    /// Appends an unnamed node, its shape inferred from its operands'.
    pub fn push_op(&mut self, op: Op, span: Span) -> NodeId {
        let shape = result_shape(self, op);
        self.push_shaped(op, span, shape)
    }

    /// Appends an unnamed node of the given shape.
    pub fn push_shaped(&mut self, op: Op, span: Span, shape: Shape) -> NodeId {
        self.push(Node {
            op,
            span,
            shape,
            name: None,
            note: None,
        })
    }

    /// `value` repeated into `shape` (itself when `shape` is scalar).
    pub fn broadcast(&mut self, value: NodeId, shape: &Shape, span: Span) -> NodeId {
        if shape.is_scalar() {
            value
        } else {
            self.push_shaped(Op::Broadcast(value), span, shape.clone())
        }
    }

    pub fn constant(&mut self, value: f64, span: Span) -> NodeId {
        self.push_op(Op::Const(Const(value)), span)
    }

    /// A new input (without a gradient) named `name`, and the node that reads it.
    pub fn add_input(&mut self, name: Ident, shape: Shape, span: Span) -> NodeId {
        let index = u16::try_from(self.inputs.len()).expect("a graph has under 2^16 inputs");
        self.inputs.push(Input {
            name,
            shape: shape.clone(),
            requires_grad: false,
        });
        self.push_shaped(Op::Input(index), span, shape)
    }

    /// `Σᵢ terms[i]` (0 if there are none), added as a balanced tree: its depth, log₂ of their
    /// number, bounds how deeply `emit` nests an inlined sum, and pairwise summation rounds
    /// no worse than left to right.
    pub fn balanced_sum(&mut self, mut terms: Vec<NodeId>, span: Span) -> NodeId {
        if terms.is_empty() {
            return self.constant(0.0, span);
        }
        while terms.len() > 1 {
            terms = terms
                .chunks(2)
                .map(|pair| match *pair {
                    [a, b] => self.push_op(Op::Add(a, b), span),
                    [a] => a,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
        }
        terms[0]
    }

    /// A short label for a node: its input's or its own name, its constant value, or `%index`.
    pub fn label(&self, id: NodeId) -> String {
        let node = self.node(id);
        match (&node.name, node.op) {
            (_, Op::Input(n)) => self.inputs[usize::from(n)].name.to_string(),
            (None, Op::Const(c)) => c.0.to_string(),
            (Some(name), _) => name.to_string(),
            (None, _) => format!("%{}", id.index()),
        }
    }
}

impl Graph {
    /// How a chain-rule note names a node: its label, or for an unnamed temporary a short
    /// expression (`v5^2`, `sum(v5^2)`), since temporaries have no name in the emitted code.
    pub fn describe(&self, id: NodeId) -> String {
        self.describe_within(id, 2)
    }

    fn describe_within(&self, id: NodeId, depth: u32) -> String {
        let node = self.node(id);
        if node.name.is_some() || matches!(node.op, Op::Input(_) | Op::Const(_)) {
            return self.label(id);
        }
        if depth == 0 {
            return "…".to_string();
        }
        let d = |operand: NodeId| self.describe_within(operand, depth - 1);
        let op = node.op;
        let operands: Vec<String> = op.operands().map(d).collect();
        match (op.notation(), op) {
            (Notation::Leaf, _) => self.label(id),
            (Notation::Negation | Notation::Operand, _) => {
                let sign = if op.notation() == Notation::Negation {
                    "-"
                } else {
                    ""
                };
                format!("{sign}{}", operands[0])
            }
            (Notation::Infix(symbol, Binding::Sum), _) => {
                format!("({} {symbol} {})", operands[0], operands[1])
            }
            (Notation::Infix(symbol, Binding::Product), _) => {
                format!("{}{symbol}{}", operands[0], operands[1])
            }
            (Notation::Power, Op::Powi(_, n)) => format!("{}^{n}", operands[0]),
            (Notation::Power, _) => format!("{}^{}", operands[0], operands[1]),
            (Notation::Indicator, _) => format!("[{} > {}]", operands[0], operands[1]),
            (Notation::Transpose, _) => format!("{}ᵀ", operands[0]),
            (Notation::Derivative, _) => {
                format!("{}{}({})", op.mnemonic(), op.order_marks(), operands[0])
            }
            (Notation::Call, _) => format!("{}({})", op.mnemonic(), operands.join(", ")),
        }
    }
}

/// `′` or `″`: how notes and the IR's text write a derivative's order.
pub fn primes(order: u8) -> &'static str {
    match order {
        1 => "′",
        2 => "″",
        _ => "‴",
    }
}

/// A name for generated code, hygienic (`mixed_site`) so it cannot clash with the user's.
/// `text` may be built from a raw user name (`d_r#type`); the `r#` goes, as every minted name
/// has a prefix or suffix that keeps it from being a keyword.
pub fn mint(text: &str) -> Ident {
    Ident::new(&text.replace("r#", ""), Span::mixed_site())
}

/// The identifier spelled `text`, which came from the user (so it may be raw, `r#type`).
pub fn user_ident(text: &str, span: Span) -> Ident {
    match text.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, span),
        None => Ident::new(text, span),
    }
}

/// One node per line, `label = op operands`: both the debug print and the language of tests.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for id in self.ids() {
            let label = |operand: NodeId| self.label(operand);
            let lhs = match (&self.node(id).name, self.node(id).op) {
                (_, Op::Input(_)) => self.label(id),
                (Some(name), _) => name.to_string(),
                (None, _) => format!("%{}", id.index()),
            };
            let op = self.node(id).op;
            // The mnemonic, then what the operation holds besides operands, then the operands.
            let mut words = vec![format!("{}{}", op.mnemonic(), op.order_marks())];
            match op {
                Op::Input(n) => words.push(n.to_string()),
                Op::Const(c) => words.push(c.0.to_string()),
                _ => {}
            }
            words.extend(op.operands().map(label));
            if let Op::Powi(_, n) = op {
                words.push(n.to_string());
            }
            let rhs = words.join(" ");
            match &self.node(id).shape {
                Shape::Scalar => writeln!(f, "{lhs} = {rhs}")?,
                shape => writeln!(f, "{lhs}: {shape} = {rhs}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_come_in_order_and_map_keeps_the_operation() {
        let (a, b) = (NodeId(0), NodeId(1));
        let op = Op::Sub(a, b);
        assert_eq!(op.operands().collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(
            op.map_operands(|id| NodeId(id.0 + 5)),
            Op::Sub(NodeId(5), NodeId(6))
        );
        assert_eq!(Op::Powi(a, 3).operands().count(), 1);
        assert_eq!(Op::Const(Const(1.0)).operands().count(), 0);
    }

    #[test]
    fn constants_compare_by_bits_so_negative_zero_differs_from_zero() {
        assert_eq!(Const(f64::NAN), Const(f64::NAN));
        assert_ne!(Const(0.0), Const(-0.0));
    }

    #[test]
    fn display_prints_one_node_per_line() {
        let mut graph = Graph::new(vec![Input {
            name: Ident::new("x", Span::call_site()),
            shape: Shape::Scalar,
            requires_grad: true,
        }]);
        let x = graph.push_op(Op::Input(0), Span::call_site());
        let two = graph.constant(2.0, Span::call_site());
        graph.push_op(Op::Mul(two, x), Span::call_site());
        assert_eq!(
            graph.to_string(),
            "x = input 0\n%1 = const 2\n%2 = mul 2 x\n"
        );
    }
}
