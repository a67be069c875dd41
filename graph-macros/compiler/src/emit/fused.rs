//! What the plan (`passes::fuse`) decided, printed: a vectorised node as one call of the
//! runtime's `vmath`, and a fused region as one loop over the elements, the runtime's `fused`,
//! whose closure reads like the nodes it fuses: one `let` per node, on one element.
//!
//! ```text
//! let mut d_v1 = ::chainrule::__private::zeroed();
//! ::chainrule::__private::fused([&h, &d_h], [&mut d_v1], |[h, d_h]| {
//!     /// ∂h/∂v1 = 1 - h²
//!     let d_v1 = d_h * (1.0 - h * h);
//!     [d_v1]
//! });
//! ```

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::body::{note, unique};
use super::expr::{formula, Context, Fragment, Prec};
use crate::compile::api::{Plan, Region};
use crate::ir::{mint, Graph, NodeId, Op};

/// `vmath::map(Function::Tanh, &a)`: a vectorised node, the whole matrix in one call.
pub fn vectorised(context: &Context, id: NodeId, operand: NodeId) -> Fragment {
    let (function, operand) = vectorised_parts(context, id, operand);
    let private = &context.target.private;
    Fragment::atom(quote!(#private::vmath::map(#function, #operand)))
}

/// `vmath::map_into(Function::Tanh, &a, place)`: a vectorised node written into its place.
pub fn vectorised_into(
    context: &Context,
    id: NodeId,
    operand: NodeId,
    place: &TokenStream,
) -> TokenStream {
    let (function, operand) = vectorised_parts(context, id, operand);
    let private = &context.target.private;
    quote!(#private::vmath::map_into(#function, #operand, #place))
}

/// The function a vectorised node applies (`vmath::Function::Tanh`) and its operand.
fn vectorised_parts(context: &Context, id: NodeId, operand: NodeId) -> (TokenStream, TokenStream) {
    let function = context
        .plan
        .vectorised(id)
        .expect("the plan vectorises this node");
    let (private, function) = (&context.target.private, format_ident!("{function}"));
    (
        quote!(#private::vmath::Function::#function),
        context.by_ref(operand),
    )
}

/// What emitting a region needs from the body around it.
pub struct Surroundings<'a> {
    /// The name bound to each node that has one outside the region (its `let`, or an input's).
    pub names: &'a [Option<Ident>],
    /// Where each node is written, if into a place the caller owns.
    pub places: &'a [Option<&'a TokenStream>],
    /// How many times each node is read.
    pub uses: &'a [u32],
}

/// The statements computing `region`: a matrix per output (or its place, borrowed), then one
/// loop over the elements writing all of them.
pub fn region(
    context: &Context,
    region: &Region,
    around: &Surroundings,
    temporaries: &mut usize,
    taken: &mut HashSet<String>,
) -> TokenStream {
    let private = &context.target.private;
    let name = |id: NodeId| -> Ident {
        around.names[id.index()]
            .clone()
            .expect("a region's inputs and outputs are bound")
    };
    let mut declarations = Vec::new();
    let mut targets = Vec::new();
    for output in &region.outputs {
        let name = name(*output);
        match around.places[output.index()] {
            Some(place) => {
                declarations.push(quote!(let #name = &mut *#place;));
                targets.push(quote!(&mut *#name));
            }
            None => {
                declarations.push(quote!(let mut #name = #private::zeroed();));
                targets.push(quote!(&mut #name));
            }
        }
    }
    let sources = region.inputs.iter().map(|input| context.by_ref(*input));
    let elements: Vec<Ident> = region.inputs.iter().map(|input| name(*input)).collect();
    let body = closure_body(context, region, around, temporaries, taken);
    quote! {
        #(#declarations)*
        #private::fused([#(#sources),*], [#(#targets),*], |[#(#elements),*]| { #body });
    }
}

/// One `let` per member on one element (a member read once, unnamed, is written inline), then
/// the array of the outputs' elements.
fn closure_body(
    context: &Context,
    region: &Region,
    around: &Surroundings,
    temporaries: &mut usize,
    taken: &mut HashSet<String>,
) -> TokenStream {
    let graph = context.graph;
    let mut element: Vec<Option<Fragment>> = vec![None; graph.len()];
    for input in &region.inputs {
        let name = around.names[input.index()].clone().expect("a bound input");
        element[input.index()] = Some(Fragment::atom(quote!(#name)));
    }
    let mut statements = Vec::new();
    for member in &region.members {
        let node = graph.node(*member);
        let operands = node
            .op
            .operands()
            .map(|operand| match &element[operand.index()] {
                Some(fragment) => fragment.clone(),
                None => context.operand(operand).clone(),
            })
            .collect();
        let value = formula(context, *member, operands);
        let name = match (&around.names[member.index()], &node.name) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(name)) => Some(unique(name.clone(), taken)),
            (None, None) if around.uses[member.index()] > 1 => {
                *temporaries += 1;
                Some(unique(mint(&format!("t{temporaries}")), taken))
            }
            (None, None) => None,
        };
        let Some(name) = name else {
            element[member.index()] = Some(value.sealed());
            continue;
        };
        let note = note(node);
        let value = value.at_least(Prec::Conditional);
        statements.push(quote!(#note let #name = #value;));
        element[member.index()] = Some(Fragment::atom(quote!(#name)));
    }
    let outputs = region
        .outputs
        .iter()
        .map(|output| element[output.index()].clone().expect("a member").tokens);
    quote!(#(#statements)* [#(#outputs),*])
}

/// Per node: whether a fused loop reads it and it is neither an input nor a constant. It must
/// be bound to a name before the loop, so that it is computed once, not once per element.
pub fn read_by_a_loop(graph: &Graph, plan: &Plan) -> Vec<bool> {
    let mut read = vec![false; graph.len()];
    for region in &plan.regions {
        for member in &region.members {
            for operand in graph.node(*member).op.operands() {
                let outside = !region.members.contains(&operand);
                let leaf = matches!(graph.node(operand).op, Op::Input(_) | Op::Const(_));
                if outside && !leaf {
                    read[operand.index()] = true;
                }
            }
        }
    }
    read
}
