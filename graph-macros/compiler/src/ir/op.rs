//! The operations: one table of facts per [`Op`] and per [`Func`]. What each operation's
//! operands are, whether it is element-wise, its result's shape, what it costs, how the IR's
//! text names it, and its value in `f64`. Only the derivative rules (`passes::rules`) and the
//! expression printer (`emit::expr`) hold facts of their own about an operation.

use super::shape::{Dim, Shape};
use super::window::WindowId;
use super::{Graph, NodeId};

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
    /// `conv2d(x, w)`: PyTorch's cross-correlation of a batch of images `x` (one per column,
    /// `C·H·W` rows) with the weight `w` (`C_out×C·K·K`), by the geometry.
    Conv2d(NodeId, NodeId, WindowId),
    /// `Conv2dInputGrad(d_y, w)`: the input's adjoint of [`Op::Conv2d`] (a transposed
    /// convolution), linear in each operand.
    Conv2dInputGrad(NodeId, NodeId, WindowId),
    /// `Conv2dWeightGrad(d_y, x)`: the weight's adjoint of [`Op::Conv2d`], linear in each.
    Conv2dWeightGrad(NodeId, NodeId, WindowId),
    /// A `C_out×1` bias repeated over each channel's positions of every image.
    SpreadChannels(NodeId, WindowId),
    /// The sum of each channel's positions over every image: the adjoint of
    /// [`Op::SpreadChannels`].
    ChannelSums(NodeId, WindowId),
    /// `MaxPool2d(a, x)`: the elements of `a` where each window of `x` has its first largest
    /// element; the max-pooling of `x` is `MaxPool2d(x, x)`. No gradient reaches `x` through
    /// the selection, which is piecewise constant in `x`.
    MaxPool2d(NodeId, NodeId, WindowId),
    /// `MaxUnpool2d(d, x)`: each element of `d` sent to its window's first maximum of `x`:
    /// the adjoint of [`Op::MaxPool2d`] in `a`.
    MaxUnpool2d(NodeId, NodeId, WindowId),
    /// The mean of each window.
    AvgPool2d(NodeId, WindowId),
    /// Each element spread evenly over its window: the adjoint of [`Op::AvgPool2d`].
    AvgUnpool2d(NodeId, WindowId),
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
            | Op::ColumnMaxes(a)
            | Op::SpreadChannels(a, _)
            | Op::ChannelSums(a, _)
            | Op::AvgPool2d(a, _)
            | Op::AvgUnpool2d(a, _) => (Some(a), None),
            Op::MatMul(a, b)
            | Op::Conv2d(a, b, _)
            | Op::Conv2dInputGrad(a, b, _)
            | Op::Conv2dWeightGrad(a, b, _)
            | Op::MaxPool2d(a, b, _)
            | Op::MaxUnpool2d(a, b, _) => (Some(a), Some(b)),
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
            Op::Conv2d(a, b, g) => Op::Conv2d(f(a), f(b), g),
            Op::Conv2dInputGrad(a, b, g) => Op::Conv2dInputGrad(f(a), f(b), g),
            Op::Conv2dWeightGrad(a, b, g) => Op::Conv2dWeightGrad(f(a), f(b), g),
            Op::SpreadChannels(a, g) => Op::SpreadChannels(f(a), g),
            Op::ChannelSums(a, g) => Op::ChannelSums(f(a), g),
            Op::MaxPool2d(a, b, g) => Op::MaxPool2d(f(a), f(b), g),
            Op::MaxUnpool2d(a, b, g) => Op::MaxUnpool2d(f(a), f(b), g),
            Op::AvgPool2d(a, g) => Op::AvgPool2d(f(a), g),
            Op::AvgUnpool2d(a, g) => Op::AvgUnpool2d(f(a), g),
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
            Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_) | Op::SpreadChannels(..)
        )
    }

    /// Whether the compiler can compute the operation itself, to fold constants: not a user's
    /// primitive, which only the emitted code can call, nor an operation on images, whose
    /// value on 1×1 matrices (`evaluate`) is not its value on the images.
    pub fn is_foldable(&self) -> bool {
        !matches!(
            self,
            Op::Call(Func::Primitive(_), _) | Op::Derivative(..) | Op::Input(_)
        ) && self.window().is_none()
    }

    /// The geometry of an operation on images.
    pub fn window(&self) -> Option<WindowId> {
        match *self {
            Op::Conv2d(.., g)
            | Op::Conv2dInputGrad(.., g)
            | Op::Conv2dWeightGrad(.., g)
            | Op::SpreadChannels(_, g)
            | Op::ChannelSums(_, g)
            | Op::MaxPool2d(.., g)
            | Op::MaxUnpool2d(.., g)
            | Op::AvgPool2d(_, g)
            | Op::AvgUnpool2d(_, g) => Some(g),
            _ => None,
        }
    }

    pub fn as_const(&self) -> Option<f64> {
        match self {
            Op::Const(c) => Some(c.0),
            _ => None,
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
        Op::Conv2d(a, _, g) | Op::MaxPool2d(a, _, g) | Op::AvgPool2d(a, g) => {
            image_batch(g.geometry().output_rows.clone(), shape(a))
        }
        Op::Conv2dInputGrad(a, _, g) | Op::MaxUnpool2d(a, _, g) | Op::AvgUnpool2d(a, g) => {
            image_batch(g.geometry().input_rows.clone(), shape(a))
        }
        Op::Conv2dWeightGrad(_, _, g) => {
            let geometry = g.geometry();
            Shape::matrix(geometry.out_channels.clone(), geometry.weight_cols.clone())
        }
        Op::ChannelSums(_, g) => Shape::matrix(g.geometry().out_channels.clone(), Dim::Fixed(1)),
        Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_) | Op::SpreadChannels(..) => {
            panic!("a spread's shape is its target's; push it with `push_shaped`")
        }
        _ => unreachable!("element-wise operations returned above"),
    }
}

/// A batch of images of `rows` rows, as many as `batch` has columns.
fn image_batch(rows: Dim, batch: Shape) -> Shape {
    match batch {
        Shape::Matrix { cols, .. } => Shape::matrix(rows, cols),
        Shape::Scalar => Shape::matrix(rows, Dim::Fixed(1)),
    }
}

impl Func {
    /// The function's value at `x`, in `f64`: what constant folding and `eval` compute. It
    /// must agree with what the emitted code and the runtime compute; a user's primitive is
    /// NaN here, as only the emitted code can call it.
    pub fn evaluate(self, x: f64) -> f64 {
        match self {
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Tan => x.tan(),
            Func::Exp => x.exp(),
            Func::Ln => x.ln(),
            Func::Sqrt => x.sqrt(),
            Func::Tanh => x.tanh(),
            Func::Sigmoid => {
                // Never exponentiate a large positive number.
                if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (1.0 + e)
                }
            }
            Func::Relu => x.max(0.0),
            Func::Abs => x.abs(),
            Func::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Func::Atan => x.atan(),
            Func::Asin => x.asin(),
            Func::Acos => x.acos(),
            Func::Sinh => x.sinh(),
            Func::Cosh => x.cosh(),
            Func::Asinh => x.asinh(),
            // The `libm` crate's erf, as the runtime computes it (a port of FreeBSD's msun).
            Func::Erf => libm::erf(x),
            Func::NormalCdf => normal_cdf(x),
            Func::Gelu => x * normal_cdf(x),
            Func::Silu => x * Func::Sigmoid.evaluate(x),
            Func::Log1p => x.ln_1p(),
            Func::Expm1 => x.exp_m1(),
            Func::Log2 => x.log2(),
            Func::Log10 => x.log10(),
            Func::Exp2 => x.exp2(),
            Func::Cbrt => x.cbrt(),
            Func::RecipOrZero => {
                if x > 0.0 {
                    1.0 / x
                } else {
                    0.0
                }
            }
            Func::Primitive(_) => f64::NAN,
            Func::LnOrZero => {
                if x > 0.0 {
                    x.ln()
                } else {
                    0.0
                }
            }
            Func::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x // 0, -0 or NaN
                }
            }
        }
    }
}

/// Φ(x) = erfc(−x/√2)/2: through `erfc`, so that the far left tail keeps its relative
/// precision instead of cancelling in 1 + erf(x/√2).
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

impl Op {
    /// The value of the operation in `f64`, given the graph's inputs and its operands' values.
    /// Every value is a scalar here, so matrix operations mean what they mean on 1×1 matrices.
    pub fn evaluate(self, inputs: &[f64], value: impl Fn(NodeId) -> f64) -> f64 {
        match self {
            Op::Input(n) => inputs[usize::from(n)],
            Op::Const(c) => c.0,
            Op::Neg(a) => -value(a),
            Op::Add(a, b) => value(a) + value(b),
            Op::Sub(a, b) => value(a) - value(b),
            Op::Mul(a, b) => value(a) * value(b),
            Op::Div(a, b) => value(a) / value(b),
            Op::Pow(a, b) => value(a).powf(value(b)),
            Op::Powi(a, n) => value(a).powi(n),
            Op::Max(a, b) => value(a).max(value(b)),
            Op::Min(a, b) => value(a).min(value(b)),
            Op::Gt(a, b) => {
                if value(a) > value(b) {
                    1.0
                } else {
                    0.0
                }
            }
            Op::Atan2(a, b) => value(a).atan2(value(b)),
            Op::Hypot(a, b) => value(a).hypot(value(b)),
            Op::Call(func, a) => func.evaluate(value(a)),
            Op::Derivative(..) => f64::NAN,
            Op::MatMul(a, b)
            | Op::Conv2d(a, b, _)
            | Op::Conv2dInputGrad(a, b, _)
            | Op::Conv2dWeightGrad(a, b, _) => value(a) * value(b),
            // One 1×1 image, one 1×1 window: the selection and the means are the value.
            Op::MaxPool2d(a, ..) | Op::MaxUnpool2d(a, ..) => value(a),
            Op::SpreadChannels(a, _)
            | Op::ChannelSums(a, _)
            | Op::AvgPool2d(a, _)
            | Op::AvgUnpool2d(a, _)
            | Op::Transpose(a)
            | Op::StopGradient(a)
            | Op::Sum(a)
            | Op::MaxElement(a)
            | Op::Broadcast(a)
            | Op::SpreadColumn(a)
            | Op::SpreadRow(a)
            | Op::RowSums(a)
            | Op::ColumnSums(a)
            | Op::ColumnMaxes(a) => value(a),
            Op::Count(_) => 1.0,
        }
    }
}

/// How an operation is written in notes and pictures (see [`Op::notation`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notation {
    /// An input's name or a constant's value.
    Leaf,
    /// `-a`.
    Negation,
    /// `a + b`, `a·b`: the symbol, and how tightly it binds.
    Infix(&'static str, Binding),
    /// `a^b`, or `a^n` for an integer exponent.
    Power,
    /// `[a > b]`.
    Indicator,
    /// `aᵀ`.
    Transpose,
    /// Its operand's notation: a value repeated into a larger shape.
    Operand,
    /// `f′(x)`: a user's primitive's derivative, at its argument.
    Derivative,
    /// `name(a, b)`, by the operation's [`mnemonic`](Op::mnemonic).
    Call,
}

/// How tightly an infix operator binds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Binding {
    Sum,
    Product,
}

/// What kind of work an operation does, which decides its cost and how passes treat it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// An input or a constant.
    Leaf,
    /// One result per element of the result, from the same element of each operand (a
    /// scalar operand broadcast).
    Elementwise,
    /// A matrix product.
    Product,
    /// A sum or maximum over the operand's elements, rows or columns.
    Reduction,
    /// Moves or repeats values without arithmetic, or reads only a shape.
    Movement,
}

impl Op {
    /// The table of kinds, one arm a line.
    pub fn kind(&self) -> Kind {
        match self {
            Op::Input(_) | Op::Const(_) => Kind::Leaf,
            Op::MatMul(..) | Op::Conv2d(..) | Op::Conv2dInputGrad(..) => Kind::Product,
            Op::Conv2dWeightGrad(..) => Kind::Product,
            Op::MaxPool2d(..) | Op::AvgPool2d(..) | Op::ChannelSums(..) => Kind::Reduction,
            Op::MaxUnpool2d(..) | Op::AvgUnpool2d(..) | Op::SpreadChannels(..) => Kind::Movement,
            Op::Sum(_) | Op::MaxElement(_) => Kind::Reduction,
            Op::RowSums(_) | Op::ColumnSums(_) | Op::ColumnMaxes(_) => Kind::Reduction,
            Op::Transpose(_) | Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_) => {
                Kind::Movement
            }
            Op::Count(_) | Op::StopGradient(_) => Kind::Movement,
            Op::Neg(_) | Op::Powi(..) | Op::Call(..) | Op::Derivative(..) => Kind::Elementwise,
            Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Div(..) | Op::Pow(..) => {
                Kind::Elementwise
            }
            Op::Max(..) | Op::Min(..) | Op::Gt(..) | Op::Atan2(..) | Op::Hypot(..) => {
                Kind::Elementwise
            }
        }
    }

    /// How the operation is written in notes and pictures, one arm a line.
    pub fn notation(&self) -> Notation {
        match self {
            Op::Input(_) | Op::Const(_) => Notation::Leaf,
            Op::Neg(_) => Notation::Negation,
            Op::Add(..) => Notation::Infix("+", Binding::Sum),
            Op::Sub(..) => Notation::Infix("-", Binding::Sum),
            Op::Mul(..) | Op::MatMul(..) => Notation::Infix("·", Binding::Product),
            Op::Div(..) => Notation::Infix("/", Binding::Product),
            Op::Pow(..) | Op::Powi(..) => Notation::Power,
            Op::Gt(..) => Notation::Indicator,
            Op::Transpose(_) => Notation::Transpose,
            // A repeated value reads as itself: `w·x + b` over a batch, and `d_b` is the
            // adjoint of the bias, not of a matrix of copies of it.
            Op::Broadcast(_) | Op::SpreadColumn(_) | Op::SpreadRow(_) => Notation::Operand,
            Op::SpreadChannels(..) => Notation::Operand,
            Op::Derivative(..) => Notation::Derivative,
            _ => Notation::Call,
        }
    }

    /// The primes of a derivative's order (`′`, `″`); empty for every other operation.
    pub fn order_marks(&self) -> &'static str {
        match self {
            Op::Derivative(_, order, ..) => super::primes(*order),
            _ => "",
        }
    }

    /// The operation's name in the IR's text (`add`, `matmul`, `row_sums`, …); a function's
    /// is its own name.
    pub fn mnemonic(&self) -> &'static str {
        match self {
            Op::Input(_) => "input",
            Op::Const(_) => "const",
            Op::Neg(_) => "neg",
            Op::Add(..) => "add",
            Op::Sub(..) => "sub",
            Op::Mul(..) => "mul",
            Op::Div(..) => "div",
            Op::Pow(..) => "pow",
            Op::Powi(..) => "powi",
            Op::Max(..) => "max",
            Op::Min(..) => "min",
            Op::Gt(..) => "gt",
            Op::Atan2(..) => "atan2",
            Op::Hypot(..) => "hypot",
            Op::Call(func, _) => func.name(),
            Op::Derivative(name, ..) => name.as_str(),
            Op::StopGradient(_) => "stop_gradient",
            Op::MatMul(..) => "matmul",
            Op::Transpose(_) => "transpose",
            Op::Sum(_) => "sum",
            Op::MaxElement(_) => "max_element",
            Op::Count(_) => "count",
            Op::Broadcast(_) => "broadcast",
            Op::SpreadColumn(_) => "spread_column",
            Op::SpreadRow(_) => "spread_row",
            Op::RowSums(_) => "row_sums",
            Op::ColumnSums(_) => "column_sums",
            Op::ColumnMaxes(_) => "column_maxes",
            Op::Conv2d(..) => "conv2d",
            Op::Conv2dInputGrad(..) => "conv2d_input_grad",
            Op::Conv2dWeightGrad(..) => "conv2d_weight_grad",
            Op::SpreadChannels(..) => "spread_channels",
            Op::ChannelSums(..) => "channel_sums",
            Op::MaxPool2d(..) => "max_pool2d",
            Op::MaxUnpool2d(..) => "max_unpool2d",
            Op::AvgPool2d(..) => "avg_pool2d",
            Op::AvgUnpool2d(..) => "avg_unpool2d",
        }
    }
}
