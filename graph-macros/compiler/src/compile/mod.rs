//! The pipeline: lowered graph → the three graphs a `graph!` emits, each simplified.
//!
//! `forward` computes the output; `backward` takes `d_out` and computes the vector-Jacobian
//! product; `value_and_grad` seeds the adjoint with the constant 1 and returns both. With
//! `#[hessian]`, `second` differentiates the backward graph again for `hvp` and `hessian`.

use proc_macro2::{Ident, Span};

use crate::ir::{Graph, Input, NodeId, Op};
use crate::lower::Lowered;
use crate::passes::diff::differentiate;
use crate::passes::second;
use crate::passes::simplify::simplify;
use crate::passes::split::{split, Split};
use crate::syntax::ast::Options;
use crate::syntax::signature::Real;

/// Everything `emit` needs.
pub struct Program {
    pub real: Real,
    /// The forward graph and its output.
    pub forward: (Graph, NodeId),
    /// The backward graph (its last input is `d_out`) and one gradient per differentiable input.
    pub backward: (Graph, Vec<NodeId>),
    /// The output first, then the gradients; only for a scalar output.
    pub value_and_grad: Option<(Graph, Vec<NodeId>)>,
    /// With `#[tape]`: the backward graph split into a forward pass that saves values and a
    /// backward pass that uses them.
    pub tape: Option<Split>,
    /// With `#[hessian]`: the Hessian-vector product (inputs: the parameters, `d_out` for a
    /// non-scalar output, then one `v_<name>` per differentiable parameter; one output per
    /// differentiable parameter). See `second`.
    pub hvp: Option<(Graph, Vec<NodeId>)>,
    /// With `#[hessian]`, for a scalar output and scalar parameters: the Hessian's entries in
    /// row-major order, exactly symmetric.
    pub hessian: Option<(Graph, Vec<NodeId>)>,
}

pub fn compile(lowered: Lowered, options: &Options) -> Program {
    let (forward, outputs) = simplify(&lowered.graph, &[lowered.output]);
    let output = outputs[0];

    let mut with_d_out = forward.clone();
    let d_out = with_d_out.inputs.len();
    with_d_out.inputs.push(Input {
        name: Ident::new("d_out", Span::mixed_site()),
        shape: with_d_out.node(output).shape.clone(),
        requires_grad: false,
    });
    let seed = with_d_out.push_op(Op::Input(d_out as u16), Span::call_site());
    // The seed is the output's adjoint; it needs the output's shape, which `push_op` infers.
    let (backward, grads) = differentiate(&with_d_out, output, seed);
    let tape = options.tape.then(|| {
        let outputs: Vec<NodeId> = std::iter::once(output)
            .chain(grads.iter().copied())
            .collect();
        let (both, outputs) = simplify(&backward, &outputs);
        split(&both, &outputs, d_out as u16)
    });
    let backward = simplify(&backward, &grads);

    let value_and_grad = forward.node(output).shape.is_scalar().then(|| {
        let mut seeded = forward.clone();
        let seed = seeded.constant(1.0, Span::call_site());
        let (both, grads) = differentiate(&seeded, output, seed);
        let outputs: Vec<NodeId> = std::iter::once(output).chain(grads).collect();
        simplify(&both, &outputs)
    });

    let hvp = options.hessian.then(|| second::hvp(&forward, output));
    let hessian = options
        .hessian
        .then(|| second::hessian(&forward, output))
        .flatten();

    Program {
        real: lowered.real,
        forward: (forward, output),
        backward,
        value_and_grad,
        tape,
        hvp,
        hessian,
    }
}
