//! An interpreter for the IR in `f64`: constant folding uses it at compile time, and property
//! tests use it to check the backward graph against finite differences without compiling code.
//! Its functions must agree with what `emit` writes and the runtime computes.
//!
//! Every value is a scalar here, so matrix operations mean what they mean on 1×1 matrices.
//! A user's primitive (and its derivatives) is NaN here: only the emitted code can call it, so
//! `simplify` never folds it (`Op::is_foldable`).

use crate::ir::Graph;

/// The value of every node, given the graph's inputs in order.
pub fn eval(graph: &Graph, inputs: &[f64]) -> Vec<f64> {
    assert_eq!(
        inputs.len(),
        graph.inputs.len(),
        "one value per graph input"
    );
    let mut values: Vec<f64> = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let value = node.op.evaluate(inputs, |id| values[id.index()]);
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use crate::ir::Func;

    #[test]
    fn sigmoid_and_softplus_stay_finite_far_from_zero() {
        assert_eq!(Func::Sigmoid.evaluate(1000.0), 1.0);
        assert_eq!(Func::Sigmoid.evaluate(-1000.0), 0.0);
        assert!((Func::Sigmoid.evaluate(0.0) - 0.5).abs() < 1e-15);
        assert_eq!(Func::Softplus.evaluate(1000.0), 1000.0);
        assert_eq!(Func::Softplus.evaluate(-1000.0), 0.0);
        assert!((Func::Softplus.evaluate(0.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn sign_is_zero_at_zero() {
        assert_eq!(Func::Sign.evaluate(0.0), 0.0);
        assert_eq!(Func::Sign.evaluate(-3.0), -1.0);
        assert_eq!(Func::Sign.evaluate(2.0), 1.0);
    }

    #[test]
    fn ln_of_negative_is_nan_not_panic() {
        assert!(Func::Ln.evaluate(-1.0).is_nan());
    }
}
