//! The functions the graph language knows, their shape rules, and how each lowers to IR.
//!
//! Scalar functions apply element-wise to matrices. The tensor functions (`mean`, `softmax`,
//! `mse`, `cross_entropy`, …) are compositions of a few primitive operations, so `diff` needs
//! no rule of its own for them and their gradients come out of the chain rule.

use proc_macro2::Span;

use crate::ir::{Func, Graph, NodeId, Op, Shape};

/// A function the graph language knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Builtin {
    Func(Func),
    Pow,
    Max,
    Min,
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
    ("pow", Builtin::Pow),
    ("max", Builtin::Max),
    ("min", Builtin::Min),
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
];

pub fn lookup(name: &str) -> Option<Builtin> {
    BUILTINS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, builtin)| *builtin)
}

/// How a two-argument function relates its arguments' shapes.
enum Pairing {
    /// Equal shapes, or one of them a scalar (broadcast).
    Broadcast,
    /// Equal shapes.
    Equal,
}

impl Builtin {
    pub fn arity(self) -> usize {
        match self {
            Builtin::Pow
            | Builtin::Max
            | Builtin::Min
            | Builtin::Hadamard
            | Builtin::Dot
            | Builtin::Mse
            | Builtin::CrossEntropy
            | Builtin::BinaryCrossEntropy => 2,
            _ => 1,
        }
    }

    fn pairing(self) -> Pairing {
        match self {
            Builtin::Pow | Builtin::Max | Builtin::Min => Pairing::Broadcast,
            _ => Pairing::Equal,
        }
    }

    /// Checks the arguments' shapes; the message names the function and both shapes.
    pub fn check(self, name: &str, shapes: &[&Shape]) -> Result<(), String> {
        let [a, b] = shapes else { return Ok(()) };
        let fits = match self.pairing() {
            Pairing::Broadcast => a.is_scalar() || b.is_scalar() || a.compatible(b),
            Pairing::Equal => a.compatible(b),
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
            Builtin::Hadamard => push(Op::Mul(args[0], args[1])),
            Builtin::Transpose => push(Op::Transpose(args[0])),
            Builtin::Sum => push(Op::Sum(args[0])),
            Builtin::Mean => mean(graph, args[0], span),
            Builtin::Dot => {
                let product = push(Op::Mul(args[0], args[1]));
                push(Op::Sum(product))
            }
            Builtin::NormSquared => {
                let square = push(Op::Mul(args[0], args[0]));
                push(Op::Sum(square))
            }
            Builtin::Softmax => softmax(graph, args[0], span),
            Builtin::LogSoftmax => log_softmax(graph, args[0], span),
            Builtin::LogSumExp => logsumexp(graph, args[0], span),
            Builtin::Mse => {
                let difference = push(Op::Sub(args[0], args[1]));
                let square = push(Op::Powi(difference, 2));
                mean(graph, square, span)
            }
            Builtin::CrossEntropy => {
                // −Σ target · log_softmax(logits)
                let log_probabilities = log_softmax(graph, args[0], span);
                let weighted = graph.push_op(Op::Mul(args[1], log_probabilities), span);
                let total = graph.push_op(Op::Sum(weighted), span);
                graph.push_op(Op::Neg(total), span)
            }
            Builtin::BinaryCrossEntropy => {
                // mean(softplus(z) − t·z): the stable form of −t·ln σ(z) − (1−t)·ln(1−σ(z)).
                let (logits, target) = (args[0], args[1]);
                let softplus = push(Op::Call(Func::Softplus, logits));
                let agreement = push(Op::Mul(target, logits));
                let loss = push(Op::Sub(softplus, agreement));
                mean(graph, loss, span)
            }
        }
    }
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
