//! The functions the graph language knows, their shape rules, and how each lowers to IR.
//!
//! Scalar functions apply element-wise to matrices. The tensor functions (`mean`, `softmax`,
//! `mse`, `cross_entropy`, …) are compositions of a few primitive operations, so `diff` needs
//! no rule of its own for them and their gradients come out of the chain rule.
//!
//! `softmax`, `sum`, `mean` and `cross_entropy` work over all elements. Their batch forms
//! (`softmax_columns`, `column_sums`, `batch_cross_entropy`, …) work on a matrix with one
//! sample per column, column by column, through the per-column operations `ColumnSums`,
//! `ColumnMaxes` and `SpreadRow` (and `RowSums` for the per-row reductions).

use proc_macro2::Span;

use crate::ir::{Func, Graph, NodeId, Op, Shape};

/// A function the graph language knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Builtin {
    Func(Func),
    Pow,
    Max,
    Min,
    Atan2,
    Hypot,
    Clamp,
    Square,
    Cube,
    LeakyRelu,
    Elu,
    StopGradient,
    Hadamard,
    Transpose,
    Sum,
    Mean,
    Dot,
    NormSquared,
    Softmax,
    LogSoftmax,
    LogSumExp,
    Mse,
    CrossEntropy,
    BinaryCrossEntropy,
    SoftmaxColumns,
    LogSoftmaxColumns,
    LogSumExpColumns,
    ColumnSums,
    ColumnMeans,
    RowSums,
    RowMeans,
    BatchCrossEntropy,
}

/// Every function, by name, in the order error messages list them.
pub const BUILTINS: &[(&str, Builtin)] = &[
    ("sin", Builtin::Func(Func::Sin)),
    ("cos", Builtin::Func(Func::Cos)),
    ("tan", Builtin::Func(Func::Tan)),
    ("exp", Builtin::Func(Func::Exp)),
    ("ln", Builtin::Func(Func::Ln)),
    ("log", Builtin::Func(Func::Ln)),
    ("sqrt", Builtin::Func(Func::Sqrt)),
    ("tanh", Builtin::Func(Func::Tanh)),
    ("sigmoid", Builtin::Func(Func::Sigmoid)),
    ("relu", Builtin::Func(Func::Relu)),
    ("abs", Builtin::Func(Func::Abs)),
    ("softplus", Builtin::Func(Func::Softplus)),
    ("atan", Builtin::Func(Func::Atan)),
    ("asin", Builtin::Func(Func::Asin)),
    ("acos", Builtin::Func(Func::Acos)),
    ("sinh", Builtin::Func(Func::Sinh)),
    ("cosh", Builtin::Func(Func::Cosh)),
    ("asinh", Builtin::Func(Func::Asinh)),
    ("erf", Builtin::Func(Func::Erf)),
    ("gelu", Builtin::Func(Func::Gelu)),
    ("silu", Builtin::Func(Func::Silu)),
    ("log1p", Builtin::Func(Func::Log1p)),
    ("expm1", Builtin::Func(Func::Expm1)),
    ("log2", Builtin::Func(Func::Log2)),
    ("log10", Builtin::Func(Func::Log10)),
    ("exp2", Builtin::Func(Func::Exp2)),
    ("cbrt", Builtin::Func(Func::Cbrt)),
    ("square", Builtin::Square),
    ("cube", Builtin::Cube),
    ("pow", Builtin::Pow),
    ("max", Builtin::Max),
    ("min", Builtin::Min),
    ("atan2", Builtin::Atan2),
    ("hypot", Builtin::Hypot),
    ("clamp", Builtin::Clamp),
    ("leaky_relu", Builtin::LeakyRelu),
    ("elu", Builtin::Elu),
    ("stop_gradient", Builtin::StopGradient),
    ("hadamard", Builtin::Hadamard),
    ("transpose", Builtin::Transpose),
    ("sum", Builtin::Sum),
    ("mean", Builtin::Mean),
    ("dot", Builtin::Dot),
    ("norm_squared", Builtin::NormSquared),
    ("softmax", Builtin::Softmax),
    ("log_softmax", Builtin::LogSoftmax),
    ("logsumexp", Builtin::LogSumExp),
    ("mse", Builtin::Mse),
    ("cross_entropy", Builtin::CrossEntropy),
    ("binary_cross_entropy", Builtin::BinaryCrossEntropy),
    ("softmax_columns", Builtin::SoftmaxColumns),
    ("log_softmax_columns", Builtin::LogSoftmaxColumns),
    ("logsumexp_columns", Builtin::LogSumExpColumns),
    ("column_sums", Builtin::ColumnSums),
    ("column_means", Builtin::ColumnMeans),
    ("row_sums", Builtin::RowSums),
    ("row_means", Builtin::RowMeans),
    ("batch_cross_entropy", Builtin::BatchCrossEntropy),
];

pub fn lookup(name: &str) -> Option<Builtin> {
    BUILTINS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, builtin)| *builtin)
}

/// What a function needs of its arguments' shapes.
enum Pairing {
    /// Any shape (one argument), or two equal shapes, or one of them a scalar (broadcast).
    Broadcast,
    /// Equal shapes.
    Equal,
    /// Matrices, one sample per column; two of them of one shape.
    Batch,
}

impl Builtin {
    /// The fewest and the most arguments the function takes.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Builtin::Clamp => (3, 3),
            // `elu(x)` is `elu(x, 1)`, PyTorch's default α.
            Builtin::Elu => (1, 2),
            builtin => (builtin.fixed_arity(), builtin.fixed_arity()),
        }
    }

    fn fixed_arity(self) -> usize {
        match self {
            Builtin::Pow
            | Builtin::Max
            | Builtin::Min
            | Builtin::Atan2
            | Builtin::Hypot
            | Builtin::LeakyRelu
            | Builtin::Hadamard
            | Builtin::Dot
            | Builtin::Mse
            | Builtin::CrossEntropy
            | Builtin::BinaryCrossEntropy
            | Builtin::BatchCrossEntropy => 2,
            _ => 1,
        }
    }

    fn pairing(self) -> Pairing {
        match self {
            Builtin::Pow
            | Builtin::Max
            | Builtin::Min
            | Builtin::Atan2
            | Builtin::Hypot
            | Builtin::Clamp
            | Builtin::LeakyRelu
            | Builtin::Elu => Pairing::Broadcast,
            Builtin::SoftmaxColumns
            | Builtin::LogSoftmaxColumns
            | Builtin::LogSumExpColumns
            | Builtin::ColumnSums
            | Builtin::ColumnMeans
            | Builtin::RowSums
            | Builtin::RowMeans
            | Builtin::BatchCrossEntropy => Pairing::Batch,
            _ => Pairing::Equal,
        }
    }

    /// Checks the arguments' shapes; the message names the function and the shapes.
    pub fn check(self, name: &str, shapes: &[&Shape]) -> Result<(), String> {
        let pairing = self.pairing();
        if matches!(pairing, Pairing::Batch) && shapes.iter().any(|shape| shape.is_scalar()) {
            let found: Vec<String> = shapes.iter().map(|shape| format!("`{shape}`")).collect();
            return Err(format!(
                "`{name}` works column by column, one sample per column, so it needs {}, found {}",
                if shapes.len() == 1 {
                    "a matrix"
                } else {
                    "matrices"
                },
                found.join(" and ")
            ));
        }
        if let [x, lo, hi] = shapes {
            // `clamp(x, lo, hi)`: each bound a scalar or of `x`'s shape.
            for bound in [lo, hi] {
                if !bound.is_scalar() && !bound.compatible(x) {
                    return Err(format!(
                        "`{name}` needs bounds that are scalars or of the shape of its first argument, found `{x}` and `{bound}`"
                    ));
                }
            }
            return Ok(());
        }
        let [a, b] = shapes else { return Ok(()) };
        let fits = match pairing {
            Pairing::Broadcast => a.is_scalar() || b.is_scalar() || a.compatible(b),
            Pairing::Equal | Pairing::Batch => a.compatible(b),
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "`{name}` needs arguments of one shape, found `{a}` and `{b}`"
            ))
        }
    }

    /// Appends the nodes computing this function of `args` (already shape-checked).
    pub fn build(self, graph: &mut Graph, args: &[NodeId], span: Span) -> NodeId {
        let mut push = |op: Op| graph.push_op(op, span);
        match self {
            Builtin::Func(f) => push(Op::Call(f, args[0])),
            Builtin::Pow => push(Op::Pow(args[0], args[1])),
            Builtin::Max => push(Op::Max(args[0], args[1])),
            Builtin::Min => push(Op::Min(args[0], args[1])),
            Builtin::Atan2 => push(Op::Atan2(args[0], args[1])),
            Builtin::Hypot => push(Op::Hypot(args[0], args[1])),
            Builtin::Square => push(Op::Powi(args[0], 2)),
            Builtin::Cube => push(Op::Powi(args[0], 3)),
            Builtin::StopGradient => push(Op::StopGradient(args[0])),
            Builtin::Clamp => clamp(graph, args, span),
            Builtin::LeakyRelu => leaky_relu(graph, args, span),
            Builtin::Elu => elu(graph, args, span),
            Builtin::Hadamard => push(Op::Mul(args[0], args[1])),
            Builtin::Transpose => push(Op::Transpose(args[0])),
            Builtin::Sum => push(Op::Sum(args[0])),
            Builtin::Mean => mean(graph, args[0], span),
            Builtin::Dot => sum_of_products(graph, args[0], args[1], span),
            Builtin::NormSquared => sum_of_products(graph, args[0], args[0], span),
            Builtin::Softmax => softmax(graph, args[0], span),
            Builtin::LogSoftmax => log_softmax(graph, args[0], span),
            Builtin::LogSumExp => logsumexp(graph, args[0], span),
            Builtin::Mse => mse(graph, args[0], args[1], span),
            Builtin::CrossEntropy => cross_entropy(graph, args[0], args[1], span),
            Builtin::BinaryCrossEntropy => binary_cross_entropy(graph, args[0], args[1], span),
            Builtin::SoftmaxColumns => softmax_columns(graph, args[0], span),
            Builtin::LogSoftmaxColumns => log_softmax_columns(graph, args[0], span).0,
            Builtin::LogSumExpColumns => logsumexp_columns(graph, args[0], span),
            Builtin::ColumnSums => push(Op::ColumnSums(args[0])),
            Builtin::RowSums => push(Op::RowSums(args[0])),
            // Each column's sum over its number of rows, the count of `a` over the count of
            // the sums (both constants once the dimensions are numbers).
            Builtin::ColumnMeans => {
                let sums = push(Op::ColumnSums(args[0]));
                per_element(graph, args[0], sums, span)
            }
            Builtin::RowMeans => {
                let sums = push(Op::RowSums(args[0]));
                per_element(graph, args[0], sums, span)
            }
            Builtin::BatchCrossEntropy => batch_cross_entropy(graph, args[0], args[1], span),
        }
    }
}

/// min(max(x, lo), hi): the gradient goes to `x` strictly inside the bounds, else to the
/// bound that holds it (std's `clamp`, which panics if lo > hi, is hi there too).
fn clamp(graph: &mut Graph, args: &[NodeId], span: Span) -> NodeId {
    let above = graph.push_op(Op::Max(args[0], args[1]), span);
    graph.push_op(Op::Min(above, args[2]), span)
}

/// max(x, 0) + slope·min(x, 0): slope 1 above 0 and `slope` below, 0 at 0 as for `relu`; the
/// slope is differentiable too.
fn leaky_relu(graph: &mut Graph, args: &[NodeId], span: Span) -> NodeId {
    let (x, slope) = (args[0], args[1]);
    let zero = graph.constant(0.0, span);
    let positive = graph.push_op(Op::Max(x, zero), span);
    let negative = graph.push_op(Op::Min(x, zero), span);
    let scaled = graph.push_op(Op::Mul(slope, negative), span);
    graph.push_op(Op::Add(positive, scaled), span)
}

/// max(0, x) + α·expm1(min(x, 0)): `expm1` of a non-positive number never overflows and
/// keeps its precision near 0. `max(0, x)` gives `x` the tie, so the slope at 0 is 1 (the
/// slope from the right, and for α = 1 from both).
fn elu(graph: &mut Graph, args: &[NodeId], span: Span) -> NodeId {
    let x = args[0];
    let zero = graph.constant(0.0, span);
    let positive = graph.push_op(Op::Max(zero, x), span);
    let negative = graph.push_op(Op::Min(x, zero), span);
    let mut tail = graph.push_op(Op::Call(Func::Expm1, negative), span);
    if let Some(&alpha) = args.get(1) {
        tail = graph.push_op(Op::Mul(alpha, tail), span);
    }
    graph.push_op(Op::Add(positive, tail), span)
}

/// Σ a∘b: `dot`, and `norm_squared` with `b` = `a`.
fn sum_of_products(graph: &mut Graph, a: NodeId, b: NodeId, span: Span) -> NodeId {
    let product = graph.push_op(Op::Mul(a, b), span);
    graph.push_op(Op::Sum(product), span)
}

fn mse(graph: &mut Graph, prediction: NodeId, target: NodeId, span: Span) -> NodeId {
    let difference = graph.push_op(Op::Sub(prediction, target), span);
    let square = graph.push_op(Op::Powi(difference, 2), span);
    mean(graph, square, span)
}

/// −Σ target · log_softmax(logits).
fn cross_entropy(graph: &mut Graph, logits: NodeId, target: NodeId, span: Span) -> NodeId {
    let log_probabilities = log_softmax(graph, logits, span);
    let weighted = graph.push_op(Op::Mul(target, log_probabilities), span);
    let total = graph.push_op(Op::Sum(weighted), span);
    graph.push_op(Op::Neg(total), span)
}

/// mean(softplus(z) − t·z): the stable form of −t·ln σ(z) − (1−t)·ln(1−σ(z)).
fn binary_cross_entropy(graph: &mut Graph, logits: NodeId, target: NodeId, span: Span) -> NodeId {
    let softplus = graph.push_op(Op::Call(Func::Softplus, logits), span);
    let agreement = graph.push_op(Op::Mul(target, logits), span);
    let loss = graph.push_op(Op::Sub(softplus, agreement), span);
    mean(graph, loss, span)
}

/// −Σ target · log_softmax_columns(logits), over the number of columns: each sample's
/// cross-entropy, averaged over the batch (PyTorch's `CrossEntropyLoss` with probability
/// targets and `reduction='mean'`).
fn batch_cross_entropy(graph: &mut Graph, logits: NodeId, target: NodeId, span: Span) -> NodeId {
    let (log_probabilities, logs) = log_softmax_columns(graph, logits, span);
    let weighted = graph.push_op(Op::Mul(target, log_probabilities), span);
    let total = graph.push_op(Op::Sum(weighted), span);
    let loss = graph.push_op(Op::Neg(total), span);
    // One logarithm per column: their count is the batch size.
    let batch = graph.push_op(Op::Count(logs), span);
    graph.push_op(Op::Div(loss, batch), span)
}

/// `sums` of `a`'s rows or columns, each divided by the number of elements it adds up:
/// `count(a) / count(sums)`.
fn per_element(graph: &mut Graph, a: NodeId, sums: NodeId, span: Span) -> NodeId {
    let elements = graph.push_op(Op::Count(a), span);
    let n_sums = graph.push_op(Op::Count(sums), span);
    let each = graph.push_op(Op::Div(elements, n_sums), span);
    graph.push_op(Op::Div(sums, each), span)
}

fn mean(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let total = graph.push_op(Op::Sum(a), span);
    let count = graph.push_op(Op::Count(a), span);
    graph.push_op(Op::Div(total, count), span)
}

/// `e^(a − max a)`: exponentials that cannot overflow, and their sum.
fn shifted_exp(graph: &mut Graph, a: NodeId, span: Span) -> (NodeId, NodeId, NodeId) {
    let largest = graph.push_op(Op::MaxElement(a), span);
    let shifted = graph.push_op(Op::Sub(a, largest), span);
    let exp = graph.push_op(Op::Call(Func::Exp, shifted), span);
    let total = graph.push_op(Op::Sum(exp), span);
    (largest, exp, total)
}

fn softmax(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let (_, exp, total) = shifted_exp(graph, a, span);
    graph.push_op(Op::Div(exp, total), span)
}

/// `max a + ln Σ e^(a − max a)`.
fn logsumexp(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let (largest, _, total) = shifted_exp(graph, a, span);
    let log = graph.push_op(Op::Call(Func::Ln, total), span);
    graph.push_op(Op::Add(largest, log), span)
}

fn log_softmax(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let normaliser = logsumexp(graph, a, span);
    graph.push_op(Op::Sub(a, normaliser), span)
}

/// The `1×C` row `row` repeated into `a`'s shape, `R×C`.
fn spread_row(graph: &mut Graph, row: NodeId, a: NodeId, span: Span) -> NodeId {
    let shape = graph.node(a).shape.clone();
    graph.push_shaped(Op::SpreadRow(row), span, shape)
}

/// Per column of `a`, shifted by the column's largest element so that no exponential can
/// overflow.
struct ShiftedColumns {
    /// `1×C`: each column's largest element.
    largest: NodeId,
    /// `R×C`: `a − largest`, every element ≤ 0.
    shifted: NodeId,
    /// `R×C`: `e^shifted`, every element in [0, 1].
    exp: NodeId,
    /// `1×C`: each column's sum of `exp`, at least 1.
    totals: NodeId,
}

fn shifted_exp_columns(graph: &mut Graph, a: NodeId, span: Span) -> ShiftedColumns {
    let largest = graph.push_op(Op::ColumnMaxes(a), span);
    let spread = spread_row(graph, largest, a, span);
    let shifted = graph.push_op(Op::Sub(a, spread), span);
    let exp = graph.push_op(Op::Call(Func::Exp, shifted), span);
    let totals = graph.push_op(Op::ColumnSums(exp), span);
    ShiftedColumns {
        largest,
        shifted,
        exp,
        totals,
    }
}

fn softmax_columns(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let columns = shifted_exp_columns(graph, a, span);
    let spread = spread_row(graph, columns.totals, a, span);
    graph.push_op(Op::Div(columns.exp, spread), span)
}

/// Per column, `max + ln Σ e^(a − max)`: a `1×C` row.
fn logsumexp_columns(graph: &mut Graph, a: NodeId, span: Span) -> NodeId {
    let columns = shifted_exp_columns(graph, a, span);
    let log = graph.push_op(Op::Call(Func::Ln, columns.totals), span);
    graph.push_op(Op::Add(columns.largest, log), span)
}

/// Per column, `(a − max) − ln Σ e^(a − max)`, and the `1×C` row of the logarithms. The
/// shifted logits are subtracted from directly: `a − (max + ln Σ)` would round `max + ln Σ`
/// first, losing the small logarithm next to a large maximum.
fn log_softmax_columns(graph: &mut Graph, a: NodeId, span: Span) -> (NodeId, NodeId) {
    let columns = shifted_exp_columns(graph, a, span);
    let log = graph.push_op(Op::Call(Func::Ln, columns.totals), span);
    let spread = spread_row(graph, log, a, span);
    (graph.push_op(Op::Sub(columns.shifted, spread), span), log)
}
