//! The rules of the operations on images. Each is linear in the operand it passes a gradient
//! to, so each rule is another of these operations, and their rules close: a convolution's
//! two adjoints differentiate into the convolution and each other, a pooling's adjoint into
//! the pooling. Max pooling's selection is piecewise constant in the image it selects by, so
//! that operand gets nothing, as `relu`'s indicator does.

use super::Vjp;
use crate::ir::{NodeId, Op};

/// The rule of each operation on images, one arm an operation.
pub fn apply(g: &mut Vjp, op: Op) {
    let adjoint = g.adjoint;
    match op {
        // y = x ⋆ w: d_x = d_y ⋆ᵀ w, d_w = d_y ⋆ x.
        Op::Conv2d(x, w, window) => {
            pass(g, x, Op::Conv2dInputGrad(adjoint, w, window), "d_y ⋆ᵀ w");
            pass(g, w, Op::Conv2dWeightGrad(adjoint, x, window), "d_y ⋆ x");
        }
        // ⟨A, d_y ⋆ᵀ w⟩ = ⟨d_y, A ⋆ w⟩.
        Op::Conv2dInputGrad(d_y, w, window) => {
            pass(g, d_y, Op::Conv2d(adjoint, w, window), "A ⋆ w");
            pass(g, w, Op::Conv2dWeightGrad(d_y, adjoint, window), "d_y ⋆ A");
        }
        // ⟨A, d_y ⋆ x⟩ = ⟨d_y, x ⋆ A⟩.
        Op::Conv2dWeightGrad(d_y, x, window) => {
            pass(g, d_y, Op::Conv2d(x, adjoint, window), "x ⋆ A");
            pass(g, x, Op::Conv2dInputGrad(d_y, adjoint, window), "d_y ⋆ᵀ A");
        }
        Op::SpreadChannels(bias, window) => {
            pass(
                g,
                bias,
                Op::ChannelSums(adjoint, window),
                "the channel sums of d_y",
            );
        }
        Op::ChannelSums(a, window) => {
            let shape = g.graph.node(a).shape.clone();
            let spread = g
                .graph
                .push_shaped(Op::SpreadChannels(adjoint, window), g.span, shape);
            g.give(
                a,
                spread,
                format!("d_{} = d_y over each channel", g.describe(a)),
            );
        }
        Op::MaxPool2d(a, x, window) => {
            pass(
                g,
                a,
                Op::MaxUnpool2d(adjoint, x, window),
                "d_y at each first maximum",
            );
        }
        Op::MaxUnpool2d(d, x, window) => {
            pass(
                g,
                d,
                Op::MaxPool2d(adjoint, x, window),
                "A at each first maximum",
            );
        }
        Op::AvgPool2d(a, window) => {
            pass(
                g,
                a,
                Op::AvgUnpool2d(adjoint, window),
                "d_y spread over its window",
            );
        }
        Op::AvgUnpool2d(d, window) => {
            pass(
                g,
                d,
                Op::AvgPool2d(adjoint, window),
                "the window means of A",
            );
        }
        _ => unreachable!("{op:?} is not an operation on images"),
    }
}

/// Gives `operand` the contribution `op`, noted as `d_operand = formula`.
fn pass(g: &mut Vjp, operand: NodeId, op: Op, formula: &str) {
    let contribution = g.push(op);
    let note = format!("d_{} = {formula}", g.describe(operand));
    g.give(operand, contribution, note);
}
