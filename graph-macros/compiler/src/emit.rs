//! Emission: graphs → Rust tokens. The only stage that uses `quote!`.
//!
//! Each named node becomes one `let` (forward intermediates keep the user's names; adjoints
//! are `d_<name>`, with their chain-rule step as a comment). An unnamed temporary is written
//! inline where it is used once and gets a `let t<k>` otherwise, so the emitted code grows
//! linearly with the graph. Everything outside the user's code is named by absolute path.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::ast::{Form, GraphDef};
use crate::compile::Program;
use crate::ir::{Func, Graph, NodeId, Op};
use crate::lower::Real;

/// Operator precedence of an emitted expression, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Prec {
    /// `if a > b { 1.0 } else { 0.0 }`
    Conditional,
    Add,
    Mul,
    Prefix,
    /// Names, literals, calls, method calls: safe as a method receiver.
    Atom,
}

/// An emitted expression and how tightly it binds.
#[derive(Clone)]
struct Fragment {
    tokens: TokenStream,
    prec: Prec,
}

impl Fragment {
    fn atom(tokens: TokenStream) -> Fragment {
        Fragment {
            tokens,
            prec: Prec::Atom,
        }
    }

    /// The tokens, parenthesised if they bind looser than `min`.
    fn at_least(&self, min: Prec) -> TokenStream {
        let tokens = &self.tokens;
        if self.prec < min {
            quote!((#tokens))
        } else {
            tokens.clone()
        }
    }
}

/// The statements computing a graph, and an expression for each requested output.
pub struct Body {
    pub statements: Vec<TokenStream>,
    pub outputs: Vec<TokenStream>,
}

/// Emits one `let` per named node (and per temporary used more than once), in forward order.
pub fn body(graph: &Graph, outputs: &[NodeId], real: Real) -> Body {
    let mut uses = vec![0u32; graph.len()];
    for node in graph.nodes() {
        for operand in node.op.operands() {
            uses[operand.index()] += 1;
        }
    }
    for output in outputs {
        uses[output.index()] += 1;
    }
    let mut fragments: Vec<Fragment> = Vec::with_capacity(graph.len());
    let mut statements = Vec::new();
    let mut temporaries = 0;
    for id in graph.ids() {
        let node = graph.node(id);
        let fragment = expression(graph, id, real, &fragments);
        let binding = match (&node.name, node.op) {
            (_, Op::Input(_) | Op::Const(_)) => None,
            (Some(name), _) => Some(name.clone()),
            (None, _) if uses[id.index()] > 1 => {
                temporaries += 1;
                Some(Ident::new(&format!("t{temporaries}"), Span::mixed_site()))
            }
            (None, _) => None,
        };
        let Some(name) = binding else {
            fragments.push(fragment);
            continue;
        };
        let value = fragment.at_least(Prec::Conditional);
        let note = node.note.as_ref().map(|note| {
            let text = format!(" {note}");
            quote!(#[doc = #text])
        });
        statements.push(quote!(#note let #name = #value;));
        fragments.push(Fragment::atom(quote!(#name)));
    }
    let outputs = outputs
        .iter()
        .map(|id| fragments[id.index()].at_least(Prec::Conditional))
        .collect();
    Body {
        statements,
        outputs,
    }
}

/// The path of the runtime helpers generated code calls.
fn runtime() -> TokenStream {
    quote!(::chainrule::__private)
}

fn literal(value: f64, real: Real) -> Fragment {
    let ty = format_ident!("{}", real.name());
    if value.is_nan() {
        return Fragment::atom(quote!(::core::primitive::#ty::NAN));
    }
    if value.is_infinite() {
        let tokens = if value > 0.0 {
            quote!(::core::primitive::#ty::INFINITY)
        } else {
            quote!(::core::primitive::#ty::NEG_INFINITY)
        };
        return Fragment::atom(tokens);
    }
    let magnitude = Literal::f64_unsuffixed(value.abs());
    if value.is_sign_negative() {
        Fragment {
            tokens: quote!(-#magnitude),
            prec: Prec::Prefix,
        }
    } else {
        Fragment::atom(quote!(#magnitude))
    }
}

fn expression(graph: &Graph, id: NodeId, real: Real, fragments: &[Fragment]) -> Fragment {
    let node = graph.node(id);
    let span = node.span;
    let operand = |id: NodeId| &fragments[id.index()];
    // A method receiver: a constant needs its type spelled out (`2.0.ln()` is ambiguous).
    let receiver = |id: NodeId| match graph.node(id).op {
        Op::Const(c) if c.0.is_finite() => {
            let typed = match real {
                Real::F32 => Literal::f32_suffixed(c.0 as f32),
                Real::F64 => Literal::f64_suffixed(c.0),
            };
            if c.0.is_sign_negative() {
                let magnitude = match real {
                    Real::F32 => Literal::f32_suffixed(c.0.abs() as f32),
                    Real::F64 => Literal::f64_suffixed(c.0.abs()),
                };
                quote!((-#magnitude))
            } else {
                quote!(#typed)
            }
        }
        _ => operand(id).at_least(Prec::Atom),
    };
    let infix = |a: NodeId, b: NodeId, op: TokenStream, prec: Prec| {
        let (lhs, rhs) = (operand(a).at_least(prec), operand(b).at_least(next(prec)));
        Fragment {
            tokens: quote!(#lhs #op #rhs),
            prec,
        }
    };
    let method = |a: NodeId, name: &str, args: TokenStream| {
        let recv = receiver(a);
        let name = Ident::new(name, span);
        Fragment::atom(quote!(#recv.#name(#args)))
    };
    let helper = |a: NodeId, name: &str| {
        let runtime = runtime();
        let name = Ident::new(name, span);
        let arg = operand(a).at_least(Prec::Conditional);
        Fragment::atom(quote!(#runtime::#name(#arg)))
    };
    match node.op {
        Op::Input(n) => {
            let name = &graph.inputs[usize::from(n)].name;
            Fragment::atom(quote!(#name))
        }
        Op::Const(c) => literal(c.0, real),
        Op::Neg(a) => {
            let inner = operand(a).at_least(Prec::Prefix);
            Fragment {
                tokens: quote_spanned!(span=> -#inner),
                prec: Prec::Prefix,
            }
        }
        Op::Add(a, b) => infix(a, b, quote_spanned!(span=> +), Prec::Add),
        Op::Sub(a, b) => infix(a, b, quote_spanned!(span=> -), Prec::Add),
        Op::Mul(a, b) => infix(a, b, quote_spanned!(span=> *), Prec::Mul),
        Op::Div(a, b) => infix(a, b, quote_spanned!(span=> /), Prec::Mul),
        Op::Powi(a, n @ (2 | 3)) if operand(a).prec == Prec::Atom => {
            let base = &operand(a).tokens;
            let tokens = if n == 2 {
                quote!(#base * #base)
            } else {
                quote!(#base * #base * #base)
            };
            Fragment {
                tokens,
                prec: Prec::Mul,
            }
        }
        Op::Powi(a, n) => method(a, "powi", quote!(#n)),
        Op::Pow(a, b) => method(a, "powf", operand(b).at_least(Prec::Conditional)),
        Op::Max(a, b) => method(a, "max", operand(b).at_least(Prec::Conditional)),
        Op::Min(a, b) => method(a, "min", operand(b).at_least(Prec::Conditional)),
        Op::Gt(a, b) => {
            let (lhs, rhs) = (
                operand(a).at_least(Prec::Add),
                operand(b).at_least(Prec::Mul),
            );
            Fragment {
                tokens: quote!(if #lhs > #rhs { 1.0 } else { 0.0 }),
                prec: Prec::Conditional,
            }
        }
        Op::Call(func, a) => match func {
            Func::Sigmoid | Func::Relu | Func::Softplus | Func::Sign => helper(a, func.name()),
            Func::Sin
            | Func::Cos
            | Func::Tan
            | Func::Exp
            | Func::Ln
            | Func::Sqrt
            | Func::Tanh
            | Func::Abs => method(a, func.name(), TokenStream::new()),
        },
    }
}

/// The precedence a left-associative operator's right operand needs.
fn next(prec: Prec) -> Prec {
    match prec {
        Prec::Conditional => Prec::Add,
        Prec::Add => Prec::Mul,
        Prec::Mul => Prec::Prefix,
        Prec::Prefix | Prec::Atom => Prec::Atom,
    }
}

/// The parameter list `x: f64, y: f64` with the user's names and types.
fn params(def: &GraphDef) -> Vec<TokenStream> {
    def.params
        .iter()
        .map(|param| {
            let (name, ty) = (&param.name, &param.ty);
            quote!(#name: #ty)
        })
        .collect()
}

fn d_out() -> Ident {
    Ident::new("d_out", Span::mixed_site())
}

/// The whole expansion: a module for `fn` graphs, a value with methods for closure graphs.
pub fn program(def: &GraphDef, program: &Program) -> TokenStream {
    let real = format_ident!("{}", program.real.name());
    let params = params(def);
    let d_out = d_out();

    let forward = body(&program.forward.0, &[program.forward.1], program.real);
    let backward = body(&program.backward.0, &program.backward.1, program.real);
    let both = body(
        &program.value_and_grad.0,
        &program.value_and_grad.1,
        program.real,
    );
    let (fwd_statements, fwd_out) = (&forward.statements, &forward.outputs[0]);
    let (bwd_statements, bwd_grads) = (&backward.statements, &backward.outputs);
    let (both_statements, both_value, both_grads) =
        (&both.statements, &both.outputs[0], &both.outputs[1..]);

    match &def.form {
        Form::Item {
            docs, vis, name, ..
        } => {
            let fields: Vec<&Ident> = def
                .params
                .iter()
                .filter(|param| param.requires_grad)
                .map(|param| &param.name)
                .collect();
            let field_types = def
                .params
                .iter()
                .filter(|param| param.requires_grad)
                .map(|param| &param.ty);
            quote! {
                #(#docs)*
                #vis mod #name {
                    /// The gradient: one field per parameter that requires it, of the parameter's type.
                    #[derive(
                        ::core::fmt::Debug,
                        ::core::clone::Clone,
                        ::core::marker::Copy,
                        ::core::cmp::PartialEq,
                        ::core::default::Default
                    )]
                    pub struct Grad {
                        #( pub #fields: #field_types, )*
                    }

                    /// The forward pass: one `let` per node of the graph.
                    #[inline]
                    pub fn forward(#(#params),*) -> #real {
                        #(#fwd_statements)*
                        #fwd_out
                    }

                    /// The backward pass: the vector-Jacobian product `d_out · ∂forward/∂params`,
                    /// one `let` per adjoint, by the chain rule.
                    #[inline]
                    #[allow(unused_variables)]
                    pub fn backward(#(#params,)* #d_out: #real) -> Grad {
                        #(#bwd_statements)*
                        Grad { #( #fields: #bwd_grads ),* }
                    }

                    /// The value and the gradient, sharing one forward pass (`d_out` = 1).
                    #[inline]
                    #[allow(unused_variables)]
                    pub fn value_and_grad(#(#params),*) -> (#real, Grad) {
                        #(#both_statements)*
                        (#both_value, Grad { #( #fields: #both_grads ),* })
                    }
                }
            }
        }
        Form::Closure { span } => {
            let n_grads = bwd_grads.len();
            let graph_type = Ident::new("Graph", *span);
            quote! {
                {
                    #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
                    struct #graph_type;

                    #[allow(dead_code, unused_variables)]
                    impl #graph_type {
                        #[inline]
                        fn forward(&self, #(#params),*) -> #real {
                            #(#fwd_statements)*
                            #fwd_out
                        }

                        #[inline]
                        fn backward(&self, #(#params,)* #d_out: #real) -> [#real; #n_grads] {
                            #(#bwd_statements)*
                            [#(#bwd_grads),*]
                        }

                        #[inline]
                        fn value_and_grad(&self, #(#params),*) -> (#real, [#real; #n_grads]) {
                            #(#both_statements)*
                            (#both_value, [#(#both_grads),*])
                        }
                    }

                    #graph_type
                }
            }
        }
    }
}

/// What an erroneous `fn` graph expands to beside its errors: the module with the right
/// signatures, so the user's calls type-check and only the real error is reported.
pub fn stub(def: &GraphDef, real: Real) -> TokenStream {
    let Form::Item {
        docs, vis, name, ..
    } = &def.form
    else {
        return TokenStream::new();
    };
    let real = format_ident!("{}", real.name());
    let params = params(def);
    let d_out = d_out();
    let fields = def
        .params
        .iter()
        .filter(|param| param.requires_grad)
        .map(|param| &param.name);
    let field_types = def
        .params
        .iter()
        .filter(|param| param.requires_grad)
        .map(|param| &param.ty);
    quote! {
        #(#docs)*
        #[allow(unused_variables)]
        #vis mod #name {
            #[derive(
                ::core::fmt::Debug,
                ::core::clone::Clone,
                ::core::marker::Copy,
                ::core::cmp::PartialEq,
                ::core::default::Default
            )]
            pub struct Grad {
                #( pub #fields: #field_types, )*
            }
            pub fn forward(#(#params),*) -> #real {
                ::core::unimplemented!()
            }
            pub fn backward(#(#params,)* #d_out: #real) -> Grad {
                ::core::unimplemented!()
            }
            pub fn value_and_grad(#(#params),*) -> (#real, Grad) {
                ::core::unimplemented!()
            }
        }
    }
}
