//! The items of the generated API, each built from its signature and, when the graph compiled,
//! its graphs. A stub (after an error in the body) is the same items with `Body::Unimplemented`.

use std::collections::HashSet;

use proc_macro2::{Ident, Span};

use super::api::{
    Argument, Body, CheckGradient, Const, ConstValue, Field, Function, GraphBody, Item, Param,
    Place, Struct, Type, Unpack, Value,
};
use super::Graphs;
use crate::ir::{Dim, Graph, NodeId, Shape};
use crate::passes::{cost, dot, fuse};
use crate::syntax::ast::GraphDef;

/// What every item's signature is built from: the user's parameters with their shapes, and
/// the output's shape.
pub struct Declared<'a> {
    pub def: &'a GraphDef,
    pub shapes: Vec<Shape>,
    pub output: Shape,
}

impl Declared<'_> {
    /// The type of a parameter of this shape: a matrix by reference under `#[by_ref]`.
    fn param_type(&self, shape: &Shape) -> Type {
        if self.by_ref(shape) {
            Type::Ref(shape.clone())
        } else {
            Type::Value(shape.clone())
        }
    }

    fn by_ref(&self, shape: &Shape) -> bool {
        self.def.options.by_ref && !shape.is_scalar()
    }

    /// The user's parameters, with their types.
    fn params(&self) -> Vec<Param> {
        self.def
            .params
            .iter()
            .zip(&self.shapes)
            .map(|(param, shape)| Param {
                name: param.name.clone(),
                ty: self.param_type(shape),
            })
            .collect()
    }

    /// The user's parameters, then `d_out`, the output's adjoint.
    fn params_and_d_out(&self) -> Vec<Param> {
        let mut params = self.params();
        params.push(Param {
            name: d_out(),
            ty: self.param_type(&self.output),
        });
        params
    }

    /// The parameters that are not `#[no_grad]`, with their shapes: the `Grad`'s fields.
    fn differentiable(&self) -> Vec<(&Ident, &Shape)> {
        self.def
            .params
            .iter()
            .zip(&self.shapes)
            .filter(|(param, _)| param.requires_grad)
            .map(|(param, shape)| (&param.name, shape))
            .collect()
    }

    /// `Grad { x: <output first>, y: <output first + 1>, … }`.
    fn grad_value(&self, first: usize) -> Value {
        let fields = self
            .differentiable()
            .into_iter()
            .enumerate()
            .map(|(k, (name, _))| (name.clone(), Value::Output(first + k)))
            .collect();
        Value::Struct("Grad", fields)
    }

    pub fn grad_struct(&self) -> Item {
        let fields = self
            .differentiable()
            .into_iter()
            .map(|(name, shape)| Field {
                name: name.clone(),
                shape: shape.clone(),
                doc: None,
            })
            .collect();
        Item::Struct(Struct {
            name: "Grad",
            doc:
                " The gradient: one field per parameter that requires it, of the parameter's type.",
            fields,
            derives: true,
            parameters: true,
            borrows: None,
        })
    }

    pub fn forward(&self, body: Body) -> Item {
        function(
            "forward",
            &[" The forward pass: one `let` per node of the graph."],
            self.params(),
            Type::Value(self.output.clone()),
            body,
        )
    }

    pub fn backward(&self, body: Body) -> Item {
        function(
            "backward",
            &[
                " The backward pass: the vector-Jacobian product `d_out · ∂forward/∂params`,",
                " one `let` per adjoint, by the chain rule.",
            ],
            self.params_and_d_out(),
            Type::Struct("Grad"),
            body,
        )
    }

    pub fn value_and_grad(&self, body: Body) -> Item {
        function(
            "value_and_grad",
            &[" The value and the gradient, sharing one forward pass (`d_out` = 1)."],
            self.params(),
            Type::Tuple(vec![Type::Value(Shape::Scalar), Type::Struct("Grad")]),
            body,
        )
    }

    /// The forward graph's body and `backward`'s.
    pub fn forward_body(graph: &(Graph, NodeId)) -> Body {
        graph_body(None, graph.0.clone(), vec![graph.1], Value::Output(0))
    }

    pub fn backward_body(&self, graph: &(Graph, Vec<NodeId>)) -> Body {
        graph_body(None, graph.0.clone(), graph.1.clone(), self.grad_value(0))
    }

    pub fn value_and_grad_body(&self, graph: &(Graph, Vec<NodeId>)) -> Body {
        let result = Value::Tuple(vec![Value::Output(0), self.grad_value(1)]);
        graph_body(None, graph.0.clone(), graph.1.clone(), result)
    }

    /// `Tape`, `forward_with_tape` and `backward_with_tape`; without a split (a stub), an
    /// empty `Tape` and unimplemented functions.
    pub fn tape(&self, split: Option<&crate::passes::split::Split>) -> Vec<Item> {
        let tape = Ident::new("tape", Span::mixed_site());
        let (fields, forward, backward) = match split {
            None => (Vec::new(), Body::Unimplemented, Body::Unimplemented),
            Some(split) => {
                let fields = tape_fields(split);
                let saved: Vec<Value> = (1..=fields.len()).map(Value::Output).collect();
                let names = fields.iter().map(|field| field.name.clone());
                let result = Value::Tuple(vec![
                    Value::Output(0),
                    Value::Struct("Tape", names.clone().zip(saved).collect()),
                ]);
                let (graph, outputs) = split.forward.clone();
                let forward = graph_body(None, graph, outputs, result);
                let unpack = self.tape_unpack(&tape, &fields);
                let (graph, grads) = split.backward.clone();
                let backward = graph_body(Some(unpack), graph, grads, self.grad_value(0));
                (fields, forward, backward)
            }
        };
        let tape_struct = Item::Struct(Struct {
            name: "Tape",
            doc: " The forward values the backward pass needs, saved by `forward_with_tape`.",
            derives: split.is_some(),
            fields,
            parameters: false,
            borrows: None,
        });
        let mut backward_params = vec![Param {
            name: tape,
            ty: self.tape_type(),
        }];
        backward_params.extend(self.params_and_d_out());
        vec![
            tape_struct,
            function(
                "forward_with_tape",
                &[" The forward pass, saving what `backward_with_tape` needs."],
                self.params(),
                Type::Tuple(vec![
                    Type::Value(self.output.clone()),
                    Type::Struct("Tape"),
                ]),
                forward,
            ),
            function(
                "backward_with_tape",
                &[
                    " The backward pass from a tape: the same gradient as `backward`, without running",
                    " the forward pass again.",
                ],
                backward_params,
                Type::Struct("Grad"),
                backward,
            ),
        ]
    }

    /// How the backward passes take the tape: by reference under `#[by_ref]`, as the
    /// matrices it holds are inputs too.
    fn tape_type(&self) -> Type {
        match self.def.options.by_ref {
            true => Type::StructRef("Tape"),
            false => Type::Struct("Tape"),
        }
    }

    /// `let Tape { a, b } = tape;`. A `#[by_ref]` body reads its matrices through references:
    /// from a tape taken by reference, the fields already are, and its scalars are copied
    /// out; from one taken by value, the matrices are borrowed.
    fn tape_unpack(&self, tape: &Ident, fields: &[Field]) -> Unpack {
        let borrowed = self.borrowed(fields);
        let (borrowed, copied) = match self.tape_type() {
            Type::StructRef(_) => {
                let scalars = fields.iter().map(|field| &field.name);
                let copied = scalars.filter(|name| !borrowed.contains(name)).cloned();
                (Vec::new(), copied.collect())
            }
            _ => (borrowed, Vec::new()),
        };
        Unpack {
            argument: tape.clone(),
            struct_name: "Tape",
            fields: fields
                .iter()
                .map(|field| (field.name.clone(), field.name.clone()))
                .collect(),
            borrowed,
            copied,
        }
    }

    /// The names among `fields` that a `#[by_ref]` body reads through a reference.
    fn borrowed(&self, fields: &[Field]) -> Vec<Ident> {
        fields
            .iter()
            .filter(|field| self.by_ref(&field.shape))
            .map(|field| field.name.clone())
            .collect()
    }

    /// With `#[hessian]`: `hvp`, and `hessian` when the output and every differentiable
    /// parameter are scalars (see `passes::second`).
    pub fn second_order(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let v = Ident::new("v", Span::mixed_site());
        let mut params = self.params();
        if !self.output.is_scalar() {
            params.push(Param {
                name: d_out(),
                ty: self.param_type(&self.output),
            });
        }
        params.push(Param {
            name: v.clone(),
            ty: Type::Struct("Grad"),
        });
        let hvp_body = match graphs.and_then(|graphs| graphs.hvp.as_ref()) {
            None => Body::Unimplemented,
            Some((graph, products)) => self.hvp_body(v, graph, products),
        };
        let doc = if self.output.is_scalar() {
            " The Hessian-vector product H·v: the derivative of the gradient along `v`, by differentiating the backward pass again. Costs a few backward passes, never the whole Hessian."
        } else {
            " The Hessian-vector product of ⟨d_out, forward⟩ (the output is not a scalar): H·v, the derivative of `backward(.., d_out)` along `v`."
        };
        let mut items = vec![function(
            "hvp",
            &[doc],
            params,
            Type::Struct("Grad"),
            hvp_body,
        )];
        let differentiable = self.differentiable();
        let scalars = differentiable.iter().all(|(_, shape)| shape.is_scalar());
        if self.output.is_scalar() && scalars {
            let n = differentiable.len();
            let body = match graphs.and_then(|graphs| graphs.hessian.as_ref()) {
                None => Body::Unimplemented,
                Some((graph, entries)) => {
                    let values = (0..entries.len()).map(Value::Output).collect();
                    let result = Value::SquareMatrix(n, values);
                    graph_body(None, graph.clone(), entries.clone(), result)
                }
            };
            items.push(function(
                "hessian",
                &[
                    " The Hessian: the second derivatives of the output in the parameters that are",
                    " not `#[no_grad]`, in their order. Exactly symmetric: entry (i, j) below the",
                    " diagonal is entry (j, i).",
                ],
                self.params(),
                Type::Value(Shape::matrix(Dim::Fixed(n), Dim::Fixed(n))),
                body,
            ));
        }
        items
    }

    /// `hvp`'s graph names `v`'s fields `v_<name>`, after the parameters (and `d_out`).
    fn hvp_body(&self, v: Ident, graph: &Graph, products: &[NodeId]) -> Body {
        let differentiable = self.differentiable();
        let v_inputs = &graph.inputs[graph.inputs.len() - differentiable.len()..];
        let unpack = Unpack {
            argument: v,
            struct_name: "Grad",
            fields: differentiable
                .iter()
                .zip(v_inputs)
                .map(|((name, _), input)| ((*name).clone(), input.name.clone()))
                .collect(),
            borrowed: v_inputs
                .iter()
                .filter(|input| self.by_ref(&input.shape))
                .map(|input| input.name.clone())
                .collect(),
            copied: Vec::new(),
        };
        graph_body(
            Some(unpack),
            graph.clone(),
            products.to_vec(),
            self.grad_value(0),
        )
    }
}

impl Declared<'_> {
    /// What a graph tells about itself: `check_gradient`, its operation counts and, with
    /// `#[dot]`, its picture. `graphs` is `None` in a stub.
    pub fn inspection(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let body = match graphs {
            Some(_) => Body::CheckGradient(self.check_gradient()),
            None => Body::Unimplemented,
        };
        let check = function(
            "check_gradient",
            &[
                " Checks `backward` at this point against central differences of `forward`: `Ok`,",
                " or the worst element of all parameters with both values and their relative error.",
                " A test helper, not for hot paths: it runs `forward` twice per parameter element.",
                " Steps and tolerances are those of `chainrule::check`; a matrix output is checked",
                " through ⟨d_out, forward⟩ with the fixed `d_out` of `chainrule::check::vjp_seed`.",
            ],
            self.params(),
            Type::GradientCheck,
            body,
        );
        let (forward, backward) = graphs.map_or((0, 0), |graphs| {
            (
                cost::operations(&graphs.forward.0),
                cost::operations(&graphs.backward.0),
            )
        });
        let mut items = vec![
            check,
            Item::Const(Const {
                name: "FORWARD_OPS",
                doc: vec![
                    " The scalar operations `forward` performs: one per element of an element-wise",
                    " operation, one per multiply-add of a matrix product, one per element a reduction",
                    " reads; inputs, constants, transposes and broadcasts count nothing, and a",
                    " const-generic dimension counts as 1.",
                ],
                value: ConstValue::U64(forward),
            }),
            Item::Const(Const {
                name: "BACKWARD_OPS",
                doc: vec![
                    " The scalar operations `backward` performs, counted as `FORWARD_OPS` is, the forward",
                    " values it recomputes included: by the cheap-gradient principle, a small multiple of",
                    " `FORWARD_OPS`.",
                ],
                value: ConstValue::U64(backward),
            }),
        ];
        if self.def.options.dot {
            items.extend(self.picture(graphs));
        }
        items
    }

    /// `check_gradient`: the point is a `Grad` of the differentiable parameters, and
    /// `forward`'s arguments come from it, the others as given.
    fn check_gradient(&self) -> CheckGradient {
        let params = self.def.params.iter().zip(&self.shapes);
        CheckGradient {
            point: params
                .clone()
                .filter(|(param, _)| param.requires_grad)
                .map(|(param, shape)| (param.name.clone(), self.by_ref(shape)))
                .collect(),
            arguments: params
                .map(|(param, shape)| match param.requires_grad {
                    true => Argument::FromPoint(param.name.clone(), self.by_ref(shape)),
                    false => Argument::Given(param.name.clone()),
                })
                .collect(),
            names: self
                .def
                .params
                .iter()
                .map(|param| param.name.clone())
                .collect(),
            output: self.output.clone(),
            d_out_by_ref: self.by_ref(&self.output),
        }
    }

    /// With `#[dot]`: `DOT`, the structure in Graphviz's language, and `dot(args…)`, the same
    /// labelled with values, adjoints and partials at a point (see `passes::dot`).
    fn picture(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let (structure, body) = match graphs {
            None => (String::new(), Body::Unimplemented),
            Some(graphs) => {
                let picture = self.draw(graphs);
                let values = (0..picture.outputs.len()).map(Value::Output).collect();
                let result = Value::Picture {
                    pieces: picture.pieces,
                    values,
                };
                let body = graph_body(None, picture.values, picture.outputs, result);
                (picture.structure, body)
            }
        };
        let mut dot = function(
            "dot",
            &[
                " `DOT` labelled at this point: each node with its value (a matrix with its shape)",
                " and its adjoint ∂output/∂node (a matrix with its norm; for a matrix output, of the",
                " sum of its elements), each edge between scalars with the partial ∂user/∂operand.",
                " The product of the partials along a path is the chain rule.",
            ],
            self.params(),
            Type::String,
            body,
        );
        if let Item::Function(dot) = &mut dot {
            dot.inline = false;
        }
        let structure = Item::Const(Const {
            name: "DOT",
            doc: vec![
                " The graph in Graphviz's DOT language: a node per parameter (an ellipse, dashed if",
                " `#[no_grad]`), per `let` and for the output (doubly outlined), labelled as written,",
                " and an edge from each operand to its user. Render it with `dot -Tsvg`, or any",
                " layout crate.",
            ],
            value: ConstValue::Str(structure),
        });
        vec![structure, dot]
    }

    fn draw(&self, graphs: &Graphs) -> dot::Picture {
        let lets: HashSet<String> = self
            .def
            .body
            .lets
            .iter()
            .map(|binding| binding.name.to_string())
            .collect();
        let name = match &self.def.form {
            crate::syntax::ast::Form::Item { name, .. } => name.to_string().replace("r#", ""),
            crate::syntax::ast::Form::Closure { .. } => String::new(),
        };
        let (forward, output) = (&graphs.forward.0, graphs.forward.1);
        dot::picture(forward, output, &name, &lets)
    }
}

impl Declared<'_> {
    /// Whether a value of the graph may be too large for the stack (see
    /// [`Shape::may_be_large`]): it then also gets forms that write their results into
    /// places the caller owns (on the heap), so that it runs on a small stack.
    pub fn may_be_large(&self) -> bool {
        self.shapes
            .iter()
            .chain([&self.output])
            .any(Shape::may_be_large)
    }

    /// The forms that write into places the caller owns: `forward_into` for a matrix output,
    /// and, through `GradMut`, `backward_into`, `value_and_grad_into` for a scalar output and
    /// `backward_with_tape_into` with `#[tape]`.
    pub fn writing_forms(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let mut items = Vec::new();
        if !self.output.is_scalar() {
            let out = Ident::new("out", Span::mixed_site());
            let mut params = self.params();
            params.push(Param {
                name: out.clone(),
                ty: Type::Mut(self.output.clone()),
            });
            let body = into_body(graphs.map(|graphs| {
                let (graph, output) = graphs.forward.clone();
                (
                    None,
                    graph,
                    vec![output],
                    vec![place(&out, None)],
                    Value::Unit,
                )
            }));
            items.push(function(
                "forward_into",
                &[" As `forward`, writing the output into `out`."],
                params,
                Type::Unit,
                body,
            ));
            if self.def.options.tape {
                items.extend(self.forward_with_tape_into(graphs));
            }
        }
        if self.differentiable().is_empty() {
            return items;
        }
        let Item::Struct(grad) = self.grad_struct() else {
            unreachable!("`grad_struct` builds a struct")
        };
        items.push(Item::Struct(Struct {
            name: "GradMut",
            doc: " The gradient's fields by mutable reference: where the `_into` functions write it.",
            fields: grad.fields,
            derives: false,
            parameters: false,
            borrows: Some("Grad"),
        }));
        items.extend(self.grad_into_forms(graphs));
        items
    }

    /// Where a function's outputs go: the first `first` into its result, then each gradient
    /// into its field of `grad`.
    fn grad_places(&self, grad: &Ident, first: usize) -> Vec<Option<Place>> {
        let mut places: Vec<Option<Place>> = (0..first).map(|_| None).collect();
        let fields = self.differentiable();
        places.extend(fields.iter().map(|(name, _)| place(grad, Some(name))));
        places
    }

    fn grad_into_forms(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let grad = Ident::new("grad", Span::mixed_site());
        let grad_param = Param {
            name: grad.clone(),
            ty: Type::Borrowing("GradMut"),
        };
        let mut params = self.params_and_d_out();
        params.push(grad_param.clone());
        let backward = into_body(graphs.map(|graphs| {
            let (graph, grads) = graphs.backward.clone();
            let places = self.grad_places(&grad, 0);
            (None, graph, grads, places, Value::Unit)
        }));
        let mut items = vec![function(
            "backward_into",
            &[" As `backward`, writing the gradient into `grad`."],
            params,
            Type::Unit,
            backward,
        )];
        if self.output.is_scalar() {
            let mut params = self.params();
            params.push(grad_param.clone());
            let both = into_body(graphs.and_then(|graphs| graphs.value_and_grad.clone()).map(
                |(graph, outputs)| {
                    let places = self.grad_places(&grad, 1);
                    (None, graph, outputs, places, Value::Output(0))
                },
            ));
            items.push(function(
                "value_and_grad_into",
                &[" As `value_and_grad`, writing the gradient into `grad`."],
                params,
                Type::Value(Shape::Scalar),
                both,
            ));
        }
        if self.def.options.tape {
            items.push(self.backward_with_tape_into(graphs, grad_param));
        }
        items
    }

    /// `TapeMut` and `forward_with_tape_into`, which writes the output into `out` and the
    /// saved values into the tape's fields, all owned by the caller: a large tape never
    /// passes through the stack.
    fn forward_with_tape_into(&self, graphs: Option<&Graphs>) -> Vec<Item> {
        let split = graphs.and_then(|graphs| graphs.tape.as_ref());
        let fields = split.map(tape_fields).unwrap_or_default();
        let (out, tape) = (
            Ident::new("out", Span::mixed_site()),
            Ident::new("tape", Span::mixed_site()),
        );
        let mut params = self.params();
        params.push(Param {
            name: out.clone(),
            ty: Type::Mut(self.output.clone()),
        });
        params.push(Param {
            name: tape.clone(),
            ty: Type::Borrowing("TapeMut"),
        });
        let body = into_body(split.map(|split| {
            let mut places = vec![place(&out, None)];
            places.extend(fields.iter().map(|field| place(&tape, Some(&field.name))));
            let (graph, outputs) = split.forward.clone();
            (None, graph, outputs, places, Value::Unit)
        }));
        vec![
            Item::Struct(Struct {
                name: "TapeMut",
                doc: " The tape's fields by mutable reference: where `forward_with_tape_into` writes them.",
                fields,
                derives: false,
                parameters: false,
                borrows: Some("Tape"),
            }),
            function(
                "forward_with_tape_into",
                &[" As `forward_with_tape`, writing the output into `out` and the tape into `tape`."],
                params,
                Type::Unit,
                body,
            ),
        ]
    }

    fn backward_with_tape_into(&self, graphs: Option<&Graphs>, grad: Param) -> Item {
        let tape = Ident::new("tape", Span::mixed_site());
        let mut params = vec![Param {
            name: tape.clone(),
            ty: self.tape_type(),
        }];
        params.extend(self.params_and_d_out());
        params.push(grad.clone());
        let body = into_body(graphs.and_then(|graphs| graphs.tape.as_ref()).map(|split| {
            let unpack = self.tape_unpack(&tape, &tape_fields(split));
            let (graph, grads) = split.backward.clone();
            let places = self.grad_places(&grad.name, 0);
            (Some(unpack), graph, grads, places, Value::Unit)
        }));
        function(
            "backward_with_tape_into",
            &[" As `backward_with_tape`, writing the gradient into `grad`."],
            params,
            Type::Unit,
            body,
        )
    }
}

/// The `Tape`'s fields: each saved value, noted with what it is.
fn tape_fields(split: &crate::passes::split::Split) -> Vec<Field> {
    split
        .saved
        .iter()
        .map(|saved| Field {
            name: saved.name.clone(),
            shape: saved.shape.clone(),
            doc: Some(format!(" {}", saved.note)),
        })
        .collect()
}

/// What an `_into` function's body is made of, or `None` in a stub.
type IntoParts = (
    Option<Unpack>,
    Graph,
    Vec<NodeId>,
    Vec<Option<Place>>,
    Value,
);

fn into_body(parts: Option<IntoParts>) -> Body {
    match parts {
        None => Body::Unimplemented,
        Some((unpack, graph, outputs, places, result)) => Body::Graph(GraphBody {
            plan: fuse::plan(&graph, &outputs),
            unpack,
            graph,
            outputs,
            places,
            result,
        }),
    }
}

fn place(root: &Ident, field: Option<&Ident>) -> Option<Place> {
    Some(Place {
        root: root.clone(),
        field: field.cloned(),
    })
}

fn d_out() -> Ident {
    Ident::new("d_out", Span::mixed_site())
}

fn function(
    name: &'static str,
    doc: &[&'static str],
    params: Vec<Param>,
    returns: Type,
    body: Body,
) -> Item {
    let inline = matches!(body, Body::Graph(_));
    Item::Function(Box::new(Function {
        name,
        doc: doc.to_vec(),
        method: false,
        inline,
        params,
        returns,
        body,
    }))
}

pub fn graph_body(
    unpack: Option<Unpack>,
    graph: Graph,
    outputs: Vec<NodeId>,
    result: Value,
) -> Body {
    let places = outputs.iter().map(|_| None).collect();
    Body::Graph(GraphBody {
        plan: fuse::plan(&graph, &outputs),
        unpack,
        graph,
        outputs,
        places,
        result,
    })
}
