//! The operations on images, as calls of the runtime's kernels (`kernels::conv2d`, …) with
//! every size as a const generic argument: the kernels check at monomorphisation the sizes
//! only rustc can multiply.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use super::{Context, Fragment};
use crate::emit::target::dim;
use crate::ir::{Dim, NodeId, Op, Shape};

/// The kernel call computing `op`, whose result has shape `shape`, plus `bias` spread over
/// its channels if there is one (a biased convolution: `conv2d_bias`).
pub fn expression(
    context: &Context,
    (op, bias): (Op, Option<NodeId>),
    shape: &Shape,
    span: Span,
) -> Fragment {
    let (kernel, generics, operands) = call(context, (op, bias), shape, span, "");
    let private = &context.target.private;
    Fragment::atom(quote!(#private::#kernel::<#generics>(#(#operands),*)))
}

/// The kernel call computing `op` (and `bias`, as [`expression`]) into `place`: the kernel's
/// `_into` form, the place last.
pub fn write_into(
    context: &Context,
    (op, bias): (Op, Option<NodeId>),
    shape: &Shape,
    span: Span,
    place: &TokenStream,
) -> TokenStream {
    let (kernel, generics, operands) = call(context, (op, bias), shape, span, "_into");
    let private = &context.target.private;
    quote!(#private::#kernel::<#generics>(#(#operands,)* #place))
}

/// A biased node's convolution and the bias it adds (see `passes::fuse`).
pub fn biased(context: &Context, id: NodeId) -> (Op, Option<NodeId>) {
    let (conv, bias) = context.plan.biased(id).expect("a biased node");
    (context.graph.node(conv).op, Some(bias))
}

/// The kernel (its mnemonic, `_bias` with a bias, and `suffix`), its const generic arguments
/// and its operands, the bias last.
fn call(
    context: &Context,
    (op, bias): (Op, Option<NodeId>),
    shape: &Shape,
    span: Span,
    suffix: &str,
) -> (Ident, TokenStream, Vec<TokenStream>) {
    let geometry = op.window().expect("an operation on images").geometry();
    let cols = |shape: &Shape| match shape {
        Shape::Matrix { cols, .. } => dim(cols),
        Shape::Scalar => dim(&Dim::Fixed(1)),
    };
    let batch_of = |id: NodeId| cols(&context.graph.node(id).shape);
    let [c, h, w, k, s, p, co, ckk, rows, out] = [
        &geometry.channels,
        &geometry.height,
        &geometry.width,
        &geometry.kernel,
        &geometry.stride,
        &geometry.padding,
        &geometry.out_channels,
        &geometry.weight_cols,
        &geometry.input_rows,
        &geometry.output_rows,
    ]
    .map(dim);
    // The batch: the result's columns, or those of the batch a reduction reads.
    let (b, operands) = match op {
        Op::Conv2dWeightGrad(a, x, _) => (batch_of(a), vec![a, x]),
        Op::ChannelSums(a, _) => (batch_of(a), vec![a]),
        _ => (cols(shape), op.operands().chain(bias).collect()),
    };
    let real = format_ident!("{}", context.target.real.name());
    let generics = match op {
        Op::Conv2d(..) | Op::Conv2dInputGrad(..) | Op::Conv2dWeightGrad(..) => {
            quote!(#real, #c, #h, #w, #k, #s, #p, #rows, #b, #co, #ckk, #out)
        }
        Op::SpreadChannels(..) | Op::ChannelSums(..) => quote!(#real, #co, #out, #b),
        _ => quote!(#real, #c, #h, #w, #k, #s, #rows, #b, #out),
    };
    let biased = if bias.is_some() { "_bias" } else { "" };
    let kernel = Ident::new(&format!("{}{biased}{suffix}", op.mnemonic()), span);
    let operands = operands.into_iter().map(|id| context.by_ref(id)).collect();
    (kernel, generics, operands)
}
