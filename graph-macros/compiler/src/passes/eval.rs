//! An interpreter for the IR in `f64`: constant folding uses it at compile time, and property
//! tests use it to check the backward graph against finite differences without compiling code.
//! Its functions must agree with what `emit` writes and the runtime computes.
//!
//! Every value is a scalar here, so matrix operations mean what they mean on 1×1 matrices.
//! A user's primitive (and its derivatives) is NaN here: only the emitted code can call it, so
//! `simplify` never folds it (`Op::is_foldable`).

use crate::ir::{Func, Graph, NodeId, Op};

/// Applies one unary function.
pub fn call(func: Func, x: f64) -> f64 {
    match func {
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
        Func::Silu => x * call(Func::Sigmoid, x),
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

/// Φ(x) = erfc(−x/√2)/2: through `erfc`, so that the far left tail keeps its relative
/// precision instead of cancelling in 1 + erf(x/√2).
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The value of `op`, given the values of its operands.
pub fn apply(op: Op, inputs: &[f64], value: impl Fn(NodeId) -> f64) -> f64 {
    match op {
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
        Op::Call(func, a) => call(func, value(a)),
        Op::Derivative(..) => f64::NAN,
        Op::MatMul(a, b) => value(a) * value(b),
        Op::Transpose(a)
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

/// The value of every node, given the graph's inputs in order.
pub fn eval(graph: &Graph, inputs: &[f64]) -> Vec<f64> {
    assert_eq!(
        inputs.len(),
        graph.inputs.len(),
        "one value per graph input"
    );
    let mut values: Vec<f64> = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let value = apply(node.op, inputs, |id| values[id.index()]);
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_and_softplus_stay_finite_far_from_zero() {
        assert_eq!(call(Func::Sigmoid, 1000.0), 1.0);
        assert_eq!(call(Func::Sigmoid, -1000.0), 0.0);
        assert!((call(Func::Sigmoid, 0.0) - 0.5).abs() < 1e-15);
        assert_eq!(call(Func::Softplus, 1000.0), 1000.0);
        assert_eq!(call(Func::Softplus, -1000.0), 0.0);
        assert!((call(Func::Softplus, 0.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn sign_is_zero_at_zero() {
        assert_eq!(call(Func::Sign, 0.0), 0.0);
        assert_eq!(call(Func::Sign, -3.0), -1.0);
        assert_eq!(call(Func::Sign, 2.0), 1.0);
    }

    #[test]
    fn ln_of_negative_is_nan_not_panic() {
        assert!(call(Func::Ln, -1.0).is_nan());
    }
}
