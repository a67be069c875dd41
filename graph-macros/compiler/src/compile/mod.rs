//! The pipeline after lowering: [`graphs`] runs the passes (the three graphs a `graph!` emits,
//! each simplified, and those its options ask for), and [`compile`] turns them into the
//! generated API as data ([`api::Api`]), which `emit` only prints. [`stub`] builds the same
//! items with signatures only, for a graph whose body has errors.
//!
//! `forward` computes the output; `backward` takes `d_out` and computes the vector-Jacobian
//! product; `value_and_grad` seeds the adjoint with the constant 1 and returns both. With
//! `#[hessian]`, `second` differentiates the backward graph again for `hvp` and `hessian`.

pub mod api;
mod items;

use proc_macro2::{Ident, Span, TokenStream};

use crate::ir::{Graph, NodeId, Shape};
use crate::lower::Lowered;
use crate::passes::diff::differentiate;
use crate::passes::second;
use crate::passes::simplify::simplify;
use crate::passes::split::{split, Split};
use crate::syntax::ast::{Form, GraphDef, Options};
use crate::syntax::signature::Real;
use crate::syntax::signature::Signature;
use api::{Api, Body, Container, Function, Item, Param, PrimitiveType, Type, Value};
use items::Declared;

/// The graphs of a `graph!`, each simplified.
pub struct Graphs {
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

pub fn graphs(lowered: Lowered, options: &Options) -> Graphs {
    let (forward, outputs) = simplify(&lowered.graph, &[lowered.output]);
    let output = outputs[0];

    let mut with_d_out = forward.clone();
    let d_out = with_d_out.inputs.len();
    // The seed is the output's adjoint, of the output's shape.
    let shape = with_d_out.node(output).shape.clone();
    let seed = with_d_out.add_input(
        Ident::new("d_out", Span::mixed_site()),
        shape,
        Span::call_site(),
    );
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

    Graphs {
        real: lowered.real,
        forward: (forward, output),
        backward,
        value_and_grad,
        tape,
        hvp,
        hessian,
    }
}

/// The generated API of a graph that lowered without errors.
pub fn compile(def: &GraphDef, lowered: Lowered) -> Api {
    let graphs = graphs(lowered, &def.options);
    let (forward, output) = &graphs.forward;
    let declared = Declared {
        def,
        shapes: forward
            .inputs
            .iter()
            .map(|input| input.shape.clone())
            .collect(),
        output: forward.node(*output).shape.clone(),
    };
    let items = match &def.form {
        Form::Item { .. } => module_items(&declared, Some(&graphs)),
        Form::Closure { .. } => closure_items(&declared, Some(&graphs)),
    };
    api(def, graphs.real, None, Some(items))
}

/// What a graph whose body has errors expands to: the errors, and, when the signature is
/// sound, the same items with unimplemented bodies, so the user's calls type-check and only
/// the real error shows.
pub fn stub(def: &GraphDef, errors: TokenStream, signature: Option<&Signature>) -> Api {
    let Some(signature) = signature else {
        return api(def, crate::Real::F64, Some(errors), None);
    };
    let declared = Declared {
        def,
        shapes: signature.params.clone(),
        output: signature.output.clone().unwrap_or(Shape::Scalar),
    };
    let items = match &def.form {
        Form::Item { .. } => module_items(&declared, None),
        Form::Closure { .. } => closure_items(&declared, None),
    };
    api(def, signature.real, Some(errors), Some(items))
}

/// A `fn` graph's module: `Grad`, `forward`, `backward`, `value_and_grad` for a scalar output,
/// then what the options ask for, and the inspection items.
fn module_items(declared: &Declared, graphs: Option<&Graphs>) -> Vec<Item> {
    let body = |build: &dyn Fn(&Graphs) -> Body| graphs.map_or(Body::Unimplemented, build);
    let mut items = vec![
        declared.grad_struct(),
        declared.forward(body(&|graphs| Declared::forward_body(&graphs.forward))),
        declared.backward(body(&|graphs| declared.backward_body(&graphs.backward))),
    ];
    if declared.output.is_scalar() {
        items.push(declared.value_and_grad(body(&|graphs| {
            let graph = graphs.value_and_grad.as_ref().expect("a scalar output");
            declared.value_and_grad_body(graph)
        })));
    }
    let options = &declared.def.options;
    if options.tape {
        items.extend(declared.tape(graphs.and_then(|graphs| graphs.tape.as_ref())));
    }
    if options.hessian {
        items.extend(declared.second_order(graphs));
    }
    if declared.may_be_large() {
        items.extend(declared.writing_forms(graphs));
    }
    items.extend(declared.inspection(graphs));
    items
}

/// A closure graph's value has `forward`, `backward` and `value_and_grad` as methods, the
/// gradient as an array.
fn closure_items(declared: &Declared, graphs: Option<&Graphs>) -> Vec<Item> {
    let scalar = || Type::Value(Shape::Scalar);
    let n_grads = declared
        .def
        .params
        .iter()
        .filter(|p| p.requires_grad)
        .count();
    let grads = || Type::Array(Shape::Scalar, n_grads);
    let body = |build: &dyn Fn(&Graphs) -> Built| {
        graphs.map_or(Body::Unimplemented, |graphs| {
            let (graph, outputs, result) = build(graphs);
            items::graph_body(None, graph, outputs, result)
        })
    };
    let array = |first: usize| Value::Array((first..=n_grads).map(Value::Output).collect());
    let both = |graphs: &Graphs| {
        graphs
            .value_and_grad
            .clone()
            .expect("a closure's output is a scalar")
    };
    let mut with_d_out = declared_params(declared);
    with_d_out.push(Param {
        name: Ident::new("d_out", Span::mixed_site()),
        ty: scalar(),
    });
    vec![
        method(
            "forward",
            declared_params(declared),
            scalar(),
            body(&|graphs| {
                let (graph, output) = graphs.forward.clone();
                (graph, vec![output], Value::Output(0))
            }),
        ),
        method(
            "backward",
            with_d_out,
            grads(),
            body(&|graphs| {
                let (graph, grads) = graphs.backward.clone();
                (
                    graph,
                    grads,
                    Value::Array((0..n_grads).map(Value::Output).collect()),
                )
            }),
        ),
        method(
            "value_and_grad",
            declared_params(declared),
            Type::Tuple(vec![scalar(), grads()]),
            body(&|graphs| {
                let (graph, outputs) = both(graphs);
                (
                    graph,
                    outputs,
                    Value::Tuple(vec![Value::Output(0), array(1)]),
                )
            }),
        ),
    ]
}

/// A closure method's graph, its outputs and how they assemble into its result.
type Built = (crate::ir::Graph, Vec<NodeId>, Value);

fn declared_params(declared: &Declared) -> Vec<Param> {
    declared
        .def
        .params
        .iter()
        .map(|param| Param {
            name: param.name.clone(),
            ty: Type::Value(Shape::Scalar),
        })
        .collect()
}

fn method(name: &'static str, params: Vec<Param>, returns: Type, body: Body) -> Item {
    Item::Function(Box::new(Function {
        name,
        doc: Vec::new(),
        method: true,
        inline: matches!(body, Body::Graph(_)),
        params,
        returns,
        body,
    }))
}

/// The API around `items`: the container and what printing paths needs.
fn api(
    def: &GraphDef,
    real: crate::Real,
    errors: Option<TokenStream>,
    items: Option<Vec<Item>>,
) -> Api {
    let primitives = def
        .options
        .primitives
        .iter()
        .map(|primitive| PrimitiveType {
            name: primitive.name.to_string(),
            path: primitive.path.clone(),
            span: primitive
                .path
                .segments
                .last()
                .map_or_else(|| primitive.name.span(), |segment| segment.ident.span()),
        })
        .collect();
    let container = match &def.form {
        Form::Item {
            docs,
            vis,
            name,
            generics,
            ..
        } => Container::Module {
            docs: docs.clone(),
            vis: vis.clone(),
            name: name.clone(),
            generics: generics.clone(),
        },
        Form::Closure { span } => Container::Closure { span: *span },
    };
    Api {
        container,
        real,
        krate: def.options.krate.clone(),
        by_ref: def.options.by_ref,
        primitives,
        errors,
        items,
    }
}
