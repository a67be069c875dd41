//! The graph IR: one node per operation, in forward order, each with its span and shape.
//!
//! Every pass (`simplify`, `diff`) is a function from a [`Graph`] to a [`Graph`]; none of them
//! sees tokens. Only `emit` turns a graph back into Rust.

use std::fmt;

use proc_macro2::{Ident, Span};

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

/// A constant, compared and hashed by its bits so that nodes can be keys for CSE.
#[derive(Clone, Copy, Debug)]
pub struct Const(pub f64);

impl PartialEq for Const {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Const {}
impl std::hash::Hash for Const {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// The name of a user's primitive (`#[primitive(swish = Swish)]`), interned so that it is
/// `Copy` like the rest of an [`Op`]. The table lives as long as the process (a proc macro's
/// lives as long as one crate's compilation) and holds each distinct name once.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Symbol(u32);

static SYMBOLS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

impl Symbol {
    pub fn intern(name: &str) -> Symbol {
        let mut symbols = SYMBOLS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = match symbols.iter().position(|known| *known == name) {
            Some(index) => index,
            None => {
                symbols.push(Box::leak(name.to_string().into_boxed_str()));
                symbols.len() - 1
            }
        };
        Symbol(u32::try_from(index).expect("under 2^32 primitive names"))
    }

    pub fn as_str(self) -> &'static str {
        let symbols = SYMBOLS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        symbols[self.0 as usize]
    }
}

/// Element-wise functions of one argument.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Softplus,
    Atan,
    Asin,
    Acos,
    Sinh,
    Cosh,
    Asinh,
    Erf,
    /// x·Φ(x), Φ the standard normal distribution function: the exact GELU.
    Gelu,
    /// x·sigmoid(x).
    Silu,
    /// ln(1 + x), accurate near 0.
    Log1p,
    /// eˣ − 1, accurate near 0.
    Expm1,
    Log2,
    Log10,
    Exp2,
    Cbrt,
    /// `sign(x)`: −1, 0 or 1. The derivative of `abs` (0 at 0, as PyTorch does).
    Sign,
    /// `ln(x)` for `x > 0`, else 0: the exponent's part of the derivative of `a^b`, which is
    /// 0 where the base is 0 (0^b is 0) and undefined in the reals where it is negative.
    LnOrZero,
    /// `1/x` for `x > 0`, else 0: the derivative of [`Func::LnOrZero`], 0 wherever it is.
    RecipOrZero,
    /// Φ(x), the standard normal distribution function: part of the derivative of `gelu`.
    NormalCdf,
    /// A function the user declared with `#[primitive(name = Type)]`; generated code calls
    /// `Primitive::value` of the type.
    Primitive(Symbol),
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Exp => "exp",
            Func::Ln => "ln",
            Func::Sqrt => "sqrt",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Relu => "relu",
            Func::Abs => "abs",
            Func::Softplus => "softplus",
            Func::Atan => "atan",
            Func::Asin => "asin",
            Func::Acos => "acos",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Asinh => "asinh",
            Func::Erf => "erf",
            Func::Gelu => "gelu",
            Func::Silu => "silu",
            Func::Log1p => "log1p",
            Func::Expm1 => "expm1",
            Func::Log2 => "log2",
            Func::Log10 => "log10",
            Func::Exp2 => "exp2",
            Func::Cbrt => "cbrt",
            Func::Sign => "sign",
            Func::LnOrZero => "ln_or_zero",
            Func::RecipOrZero => "recip_or_zero",
            Func::NormalCdf => "normal_cdf",
            Func::Primitive(name) => name.as_str(),
        }
    }
}

/// What a node computes. Operands are [`NodeId`]s of earlier nodes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Op {
    /// The graph's `n`-th input (see [`Graph::inputs`]).
    Input(u16),
    Const(Const),
    Neg(NodeId),
    Add(NodeId, NodeId),
    Sub(NodeId, NodeId),
    Mul(NodeId, NodeId),
    Div(NodeId, NodeId),
    /// `a^b` for a general exponent.
    Pow(NodeId, NodeId),
    /// `a^n` for an integer constant exponent.
    Powi(NodeId, i32),
    Max(NodeId, NodeId),
    Min(NodeId, NodeId),
    /// `1` if `a > b`, else `0`: the derivative of `relu`, `max` and `min`.
    Gt(NodeId, NodeId),
    /// `atan2(y, x)`: the angle of the point (x, y).
    Atan2(NodeId, NodeId),
    /// `hypot(a, b)`: √(a² + b²) without overflow.
    Hypot(NodeId, NodeId),
    Call(Func, NodeId),
    /// The derivative of order 1 or 2 of the user's primitive at `x`, given its value `y`
    /// (`Derivative(name, order, x, y)`): `Primitive::derivative(x, y)` or
    /// `SecondDerivative::second_derivative(x, y)`. Opaque to constant folding and `eval`.
    Derivative(Symbol, u8, NodeId, NodeId),
    /// `stop_gradient(e)`: the value of `e`, through which `diff` passes no gradient, in any
    /// pass (so a second derivative sees it as a constant too). Emitted as `e` itself.
    StopGradient(NodeId),
    /// Matrix product. (`Mul` is element-wise, or a scalar times anything.)
    MatMul(NodeId, NodeId),
    Transpose(NodeId),
    /// The sum of all elements.
    Sum(NodeId),
    /// The largest element. Treated as a constant by `diff`: it only shifts `logsumexp`
    /// and `softmax`, whose gradient does not depend on the shift.
    MaxElement(NodeId),
    /// The number of elements, as a scalar.
    Count(NodeId),
    /// A scalar repeated into the node's shape.
    Broadcast(NodeId),
    /// An `R×1` column repeated over the node's `C` columns, into `R×C`: a bias added to a
    /// batch with one sample per column.
    SpreadColumn(NodeId),
    /// A `1×C` row repeated over the node's `R` rows, into `R×C`: a per-column value (a
    /// column's maximum or sum) applied to every element of its column.
    SpreadRow(NodeId),
    /// The sum of each row, `R×C` → `R×1` (nalgebra's `column_sum`). The adjoint of
    /// [`Op::SpreadColumn`].
    RowSums(NodeId),
    /// The sum of each column, `R×C` → `1×C` (nalgebra's `row_sum`). The adjoint of
    /// [`Op::SpreadRow`].
    ColumnSums(NodeId),
    /// The largest element of each column, `R×C` → `1×C`. Treated as a constant by `diff`,
    /// like [`Op::MaxElement`]: it only shifts the per-column softmax and logsumexp.
    ColumnMaxes(NodeId),
}

impl Op {
    /// The operands, in order.
    pub fn operands(&self) -> impl Iterator<Item = NodeId> {
        let (a, b) = match *self {
            Op::Input(_) | Op::Const(_) => (None, None),
            Op::Neg(a)
            | Op::Powi(a, _)
            | Op::Call(_, a)
            | Op::StopGradient(a)
            | Op::Transpose(a)
            | Op::Sum(a)
            | Op::MaxElement(a)
            | Op::Count(a)
            | Op::Broadcast(a)
            | Op::SpreadColumn(a)
            | Op::SpreadRow(a)
            | Op::RowSums(a)
            | Op::ColumnSums(a)
            | Op::ColumnMaxes(a) => (Some(a), None),
            Op::MatMul(a, b) => (Some(a), Some(b)),
            op => {
                let (a, b) = op
                    .elementwise_operands()
                    .expect("every other operation is binary element-wise");
                (Some(a), Some(b))
            }
        };
        a.into_iter().chain(b)
    }

    /// The same operation with every operand passed through `f`.
    pub fn map_operands(self, mut f: impl FnMut(NodeId) -> NodeId) -> Op {
        match self {
            Op::Input(_) | Op::Const(_) => self,
            Op::Neg(a) => Op::Neg(f(a)),
            Op::Powi(a, n) => Op::Powi(f(a), n),
            Op::Call(func, a) => Op::Call(func, f(a)),
            Op::Add(a, b) => Op::Add(f(a), f(b)),
            Op::Sub(a, b) => Op::Sub(f(a), f(b)),
            Op::Mul(a, b) => Op::Mul(f(a), f(b)),
            Op::Div(a, b) => Op::Div(f(a), f(b)),
            Op::Pow(a, b) => Op::Pow(f(a), f(b)),
            Op::Max(a, b) => Op::Max(f(a), f(b)),
            Op::Min(a, b) => Op::Min(f(a), f(b)),
            Op::Gt(a, b) => Op::Gt(f(a), f(b)),
            Op::Atan2(a, b) => Op::Atan2(f(a), f(b)),
            Op::Hypot(a, b) => Op::Hypot(f(a), f(b)),
            Op::Derivative(name, order, x, y) => Op::Derivative(name, order, f(x), f(y)),
            Op::StopGradient(a) => Op::StopGradient(f(a)),
            Op::MatMul(a, b) => Op::MatMul(f(a), f(b)),
            Op::Transpose(a) => Op::Transpose(f(a)),
            Op::Sum(a) => Op::Sum(f(a)),
            Op::MaxElement(a) => Op::MaxElement(f(a)),
            Op::Count(a) => Op::Count(f(a)),
            Op::Broadcast(a) => Op::Broadcast(f(a)),
            Op::SpreadColumn(a) => Op::SpreadColumn(f(a)),
            Op::SpreadRow(a) => Op::SpreadRow(f(a)),
            Op::RowSums(a) => Op::RowSums(f(a)),
            Op::ColumnSums(a) => Op::ColumnSums(f(a)),
            Op::ColumnMaxes(a) => Op::ColumnMaxes(f(a)),
        }
    }

    /// The operands of a binary element-wise operation, which broadcasts a scalar operand
    /// over a matrix one.
    pub fn elementwise_operands(&self) -> Option<(NodeId, NodeId)> {
        match *self {
            Op::Add(a, b)
            | Op::Sub(a, b)
            | Op::Mul(a, b)
            | Op::Div(a, b)
            | Op::Pow(a, b)
            | Op::Max(a, b)
            | Op::Min(a, b)
            | Op::Gt(a, b)
            | Op::Atan2(a, b)
            | Op::Hypot(a, b)
            | Op::Derivative(_, _, a, b) => Some((a, b)),
            _ => None,
        }
    }

    /// Whether the operation repeats its operand into the node's larger shape, which is
    /// known only from the node (push these with [`Graph::push_shaped`]).
    pub fn is_spread(&self) -> bool {
        matches!(
            self,
            Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_)
        )
    }

    /// Whether the compiler can compute the operation itself, to fold constants: not a user's
    /// primitive, which only the emitted code can call.
    pub fn is_foldable(&self) -> bool {
        !matches!(
            self,
            Op::Call(Func::Primitive(_), _) | Op::Derivative(..) | Op::Input(_)
        )
    }

    pub fn as_const(&self) -> Option<f64> {
        match self {
            Op::Const(c) => Some(c.0),
            _ => None,
        }
    }
}

/// One dimension of a matrix: a number, or the name of a const generic parameter.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

impl Dim {
    /// Whether two dimensions may be equal. A name and a number other than 1 may be: only
    /// rustc can tell, once the const generic is known, so we leave that case to rustc. A
    /// literal 1 never equals a name: `O×1` is a vector and `O×B` a batch of them, and
    /// treating them as one shape would only move the error into the emitted code.
    pub fn compatible(&self, other: &Dim) -> bool {
        match (self, other) {
            (Dim::Fixed(a), Dim::Fixed(b)) => a == b,
            (Dim::Named(a), Dim::Named(b)) => a == b,
            (Dim::Fixed(n), Dim::Named(_)) | (Dim::Named(_), Dim::Fixed(n)) => *n != 1,
        }
    }

    pub fn is_one(&self) -> bool {
        *self == Dim::Fixed(1)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Named(name) => f.write_str(name),
        }
    }
}

/// The shape of a node's value: a scalar, or a fixed-size matrix (vectors are `n×1`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Shape {
    Scalar,
    Matrix { rows: Dim, cols: Dim },
}

impl Shape {
    pub fn matrix(rows: Dim, cols: Dim) -> Shape {
        Shape::Matrix { rows, cols }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Shape::Scalar)
    }

    pub fn compatible(&self, other: &Shape) -> bool {
        match (self, other) {
            (Shape::Scalar, Shape::Scalar) => true,
            (Shape::Matrix { rows: r1, cols: c1 }, Shape::Matrix { rows: r2, cols: c2 }) => {
                r1.compatible(r2) && c1.compatible(c2)
            }
            _ => false,
        }
    }

    /// A column vector: a matrix whose number of columns is literally 1.
    pub fn is_column(&self) -> bool {
        matches!(self, Shape::Matrix { cols, .. } if cols.is_one())
    }

    /// A row vector: a matrix whose number of rows is literally 1.
    pub fn is_row(&self) -> bool {
        matches!(self, Shape::Matrix { rows, .. } if rows.is_one())
    }

    pub fn transposed(&self) -> Shape {
        match self {
            Shape::Scalar => Shape::Scalar,
            Shape::Matrix { rows, cols } => Shape::matrix(cols.clone(), rows.clone()),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Scalar => f.write_str("scalar"),
            Shape::Matrix { rows, cols } => write!(f, "{rows}×{cols}"),
        }
    }
}

/// The shape of `op`'s result, for operands whose shapes `lower` has already checked.
/// Element-wise operations broadcast a scalar operand to the other operand's shape.
pub fn result_shape(graph: &Graph, op: Op) -> Shape {
    let shape = |id: NodeId| graph.node(id).shape.clone();
    let wider = |a: NodeId, b: NodeId| {
        if shape(a).is_scalar() {
            shape(b)
        } else {
            shape(a)
        }
    };
    if let Some((a, b)) = op.elementwise_operands() {
        return wider(a, b);
    }
    match op {
        Op::Input(n) => graph.inputs[usize::from(n)].shape.clone(),
        Op::Const(_) | Op::Sum(_) | Op::MaxElement(_) | Op::Count(_) => Shape::Scalar,
        Op::Neg(a) | Op::Powi(a, _) | Op::Call(_, a) | Op::StopGradient(a) => shape(a),
        Op::MatMul(a, b) => match (shape(a), shape(b)) {
            (Shape::Matrix { rows, .. }, Shape::Matrix { cols, .. }) => Shape::matrix(rows, cols),
            _ => wider(a, b),
        },
        Op::Transpose(a) => shape(a).transposed(),
        Op::RowSums(a) => match shape(a) {
            Shape::Matrix { rows, .. } => Shape::matrix(rows, Dim::Fixed(1)),
            Shape::Scalar => Shape::Scalar,
        },
        Op::ColumnSums(a) | Op::ColumnMaxes(a) => match shape(a) {
            Shape::Matrix { cols, .. } => Shape::matrix(Dim::Fixed(1), cols),
            Shape::Scalar => Shape::Scalar,
        },
        Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_) => {
            panic!("a spread's shape is its target's; push it with `push_shaped`")
        }
        _ => unreachable!("element-wise operations returned above"),
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
        match node.op {
            Op::Input(_) | Op::Const(_) => self.label(id),
            Op::Neg(a) => format!("-{}", d(a)),
            Op::Add(a, b) => format!("({} + {})", d(a), d(b)),
            Op::Sub(a, b) => format!("({} - {})", d(a), d(b)),
            Op::Mul(a, b) => format!("{}·{}", d(a), d(b)),
            Op::MatMul(a, b) => format!("{}·{}", d(a), d(b)),
            Op::Div(a, b) => format!("{}/{}", d(a), d(b)),
            Op::Pow(a, b) => format!("{}^{}", d(a), d(b)),
            Op::Powi(a, n) => format!("{}^{n}", d(a)),
            Op::Max(a, b) => format!("max({}, {})", d(a), d(b)),
            Op::Min(a, b) => format!("min({}, {})", d(a), d(b)),
            Op::Gt(a, b) => format!("[{} > {}]", d(a), d(b)),
            Op::Atan2(a, b) => format!("atan2({}, {})", d(a), d(b)),
            Op::Hypot(a, b) => format!("hypot({}, {})", d(a), d(b)),
            Op::Call(func, a) => format!("{}({})", func.name(), d(a)),
            Op::Derivative(name, order, x, _) => {
                format!("{}{}({})", name.as_str(), primes(order), d(x))
            }
            Op::StopGradient(a) => format!("stop_gradient({})", d(a)),
            Op::Transpose(a) => format!("{}ᵀ", d(a)),
            Op::Sum(a) => format!("sum({})", d(a)),
            Op::MaxElement(a) => format!("max_element({})", d(a)),
            Op::Count(a) => format!("count({})", d(a)),
            // A repeated value reads as itself: `d_b` is the adjoint of the bias, not of a
            // matrix of copies of it.
            Op::Broadcast(a) | Op::SpreadColumn(a) | Op::SpreadRow(a) => d(a),
            Op::RowSums(a) => format!("row_sums({})", d(a)),
            Op::ColumnSums(a) => format!("column_sums({})", d(a)),
            Op::ColumnMaxes(a) => format!("column_maxes({})", d(a)),
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
            let rhs = match self.node(id).op {
                Op::Input(n) => format!("input {n}"),
                Op::Const(c) => format!("const {}", c.0),
                Op::Neg(a) => format!("neg {}", label(a)),
                Op::Powi(a, n) => format!("powi {} {n}", label(a)),
                Op::Call(func, a) => format!("{} {}", func.name(), label(a)),
                Op::Add(a, b) => format!("add {} {}", label(a), label(b)),
                Op::Sub(a, b) => format!("sub {} {}", label(a), label(b)),
                Op::Mul(a, b) => format!("mul {} {}", label(a), label(b)),
                Op::Div(a, b) => format!("div {} {}", label(a), label(b)),
                Op::Pow(a, b) => format!("pow {} {}", label(a), label(b)),
                Op::Max(a, b) => format!("max {} {}", label(a), label(b)),
                Op::Min(a, b) => format!("min {} {}", label(a), label(b)),
                Op::Gt(a, b) => format!("gt {} {}", label(a), label(b)),
                Op::Atan2(a, b) => format!("atan2 {} {}", label(a), label(b)),
                Op::Hypot(a, b) => format!("hypot {} {}", label(a), label(b)),
                Op::Derivative(name, order, x, y) => format!(
                    "{}{} {} {}",
                    name.as_str(),
                    primes(order),
                    label(x),
                    label(y)
                ),
                Op::StopGradient(a) => format!("stop_gradient {}", label(a)),
                Op::MatMul(a, b) => format!("matmul {} {}", label(a), label(b)),
                Op::Transpose(a) => format!("transpose {}", label(a)),
                Op::Sum(a) => format!("sum {}", label(a)),
                Op::MaxElement(a) => format!("max_element {}", label(a)),
                Op::Count(a) => format!("count {}", label(a)),
                Op::Broadcast(a) => format!("broadcast {}", label(a)),
                Op::SpreadColumn(a) => format!("spread_column {}", label(a)),
                Op::SpreadRow(a) => format!("spread_row {}", label(a)),
                Op::RowSums(a) => format!("row_sums {}", label(a)),
                Op::ColumnSums(a) => format!("column_sums {}", label(a)),
                Op::ColumnMaxes(a) => format!("column_maxes {}", label(a)),
            };
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
