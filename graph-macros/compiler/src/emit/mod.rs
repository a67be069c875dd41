//! Emission: the generated API ([`Api`]) → Rust tokens. The only stage that uses `quote!`.
//! It prints what `compile` decided: items in order, each function's body scheduled by
//! `body` and each node written by `expr`, with paths from `target`.

mod body;
mod expr;
mod fused;
mod target;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, ToTokens};

use crate::compile::api::{
    Api, Argument, Body, CheckGradient, Const, ConstValue, Container, Function, GraphBody, Item,
    Place, Struct, Type, Unpack, Value,
};
use crate::ir::Shape;
use crate::syntax::signature::Real;
use expr::literal;
use target::{type_of, Target};

/// The whole expansion: the errors, if any, then a module for a `fn` graph, or a block that
/// evaluates to a value with methods for a closure graph.
pub fn print(api: &Api) -> TokenStream {
    let errors = &api.errors;
    let target = Target::new(api);
    match (&api.container, &api.items) {
        (Container::Module { .. }, None) => quote!(#errors),
        (Container::Closure { .. }, None) => quote!({ #errors ::core::unimplemented!() }),
        (
            Container::Module {
                docs,
                vis,
                name,
                generics,
            },
            Some(items),
        ) => {
            let printer = Printer { target, generics };
            let items = items.iter().map(|item| printer.item(item));
            quote! {
                #errors
                #(#docs)*
                #vis mod #name {
                    #(#items)*
                }
            }
        }
        (Container::Closure { span }, Some(items)) => {
            let generics = &syn::Generics::default();
            let printer = Printer { target, generics };
            let items = items.iter().map(|item| printer.item(item));
            let graph_type = Ident::new("Graph", *span);
            quote! {
                {
                    #errors
                    #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
                    struct #graph_type;

                    #[allow(dead_code)]
                    impl #graph_type {
                        #(#items)*
                    }

                    #graph_type
                }
            }
        }
    }
}

/// Prints items for one target, inside a container with these generics.
struct Printer<'a> {
    target: Target,
    generics: &'a syn::Generics,
}

impl Printer<'_> {
    fn item(&self, item: &Item) -> TokenStream {
        match item {
            Item::Struct(structure) => self.structure(structure),
            Item::Function(function) => self.function(function),
            Item::Const(constant) => constant_item(constant),
        }
    }

    fn structure(&self, structure: &Struct) -> TokenStream {
        let (impl_generics, _, where_clause) = self.generics.split_for_impl();
        let (name, doc) = (named(structure.name), structure.doc);
        let derive = structure.derives.then(|| {
            quote!(#[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq)])
        });
        let fields = structure.fields.iter().map(|field| {
            let doc = field.doc.as_ref().map(|doc| quote!(#[doc = #doc]));
            let (name, ty) = (&field.name, type_of(&field.shape, &self.target));
            quote!(#doc pub #name: #ty,)
        });
        if let Some(borrowed) = structure.borrows {
            return self.borrowing_struct(structure, borrowed);
        }
        let parameters = structure.parameters.then(|| self.parameters(structure));
        quote! {
            #[doc = #doc]
            #derive
            pub struct #name #impl_generics #where_clause {
                #(#fields)*
            }

            #parameters
        }
    }

    /// `name<'_, N, …>`: a struct of references, with an elided lifetime and the generics.
    fn borrowing_type(&self, name: &str) -> TokenStream {
        let name = named(name);
        let args = self.generics.params.iter().map(|param| match param {
            syn::GenericParam::Const(param) => param.ident.to_token_stream(),
            syn::GenericParam::Type(param) => param.ident.to_token_stream(),
            syn::GenericParam::Lifetime(param) => param.lifetime.to_token_stream(),
        });
        quote!(#name<'_, #(#args),*>)
    }

    /// A struct of mutable references to the fields of `borrowed`, and `borrowed::fields_mut`.
    fn borrowing_struct(&self, structure: &Struct, borrowed: &str) -> TokenStream {
        let lifetime = syn::Lifetime::new("'a", Span::call_site());
        let mut with_lifetime = self.generics.clone();
        with_lifetime
            .params
            .insert(0, syn::LifetimeParam::new(lifetime.clone()).into());
        let (struct_generics, _, where_clause) = with_lifetime.split_for_impl();
        let (impl_generics, ty_generics, _) = self.generics.split_for_impl();
        let (name, borrowed, doc) = (named(structure.name), named(borrowed), structure.doc);
        let fields: Vec<&Ident> = structure.fields.iter().map(|field| &field.name).collect();
        let types = structure
            .fields
            .iter()
            .map(|field| type_of(&field.shape, &self.target));
        let borrowing = self.borrowing_type(structure.name);
        let private = &self.target.private;
        // Without fields (a tape that saves nothing), the lifetime is held by a marker.
        let (definition, construction) = match fields.is_empty() {
            true => (
                quote!((::core::marker::PhantomData<&#lifetime mut ()>) #where_clause;),
                quote!((::core::marker::PhantomData)),
            ),
            false => (
                quote!(#where_clause { #( pub #fields: &#lifetime mut #types, )* }),
                quote!({ #( #fields: &mut self.#fields ),* }),
            ),
        };
        quote! {
            #[doc = #doc]
            pub struct #name #struct_generics #definition

            impl #impl_generics #borrowed #ty_generics #where_clause {
                /// Each field by mutable reference, for the functions that write into them.
                pub fn fields_mut(&mut self) -> #borrowing {
                    #name #construction
                }

                /// All zeros, on the heap, allocated there in place (never through the stack,
                /// which a large value would overflow).
                pub fn boxed() -> ::std::boxed::Box<Self> {
                    #private::zeroed_box()
                }
            }

            // SAFETY: every field is a float or a fixed-size matrix of floats, all-zero bits
            // being 0.0 in each.
            unsafe impl #impl_generics #private::Zeroable for #borrowed #ty_generics #where_clause {}
        }
    }

    /// A `Default` of zeros (derived `Default` cannot see through const-generic array
    /// lengths) and `impl Parameters`: the gradient is a parameter set of its own, so an
    /// optimizer steps it and a file stores it, each field named as its parameter.
    fn parameters(&self, structure: &Struct) -> TokenStream {
        let (impl_generics, ty_generics, where_clause) = self.generics.split_for_impl();
        let name = named(structure.name);
        let fields: Vec<&Ident> = structure.fields.iter().map(|field| &field.name).collect();
        let zeros = structure.fields.iter().map(|field| match &field.shape {
            Shape::Scalar => literal(0.0, self.target.real).tokens,
            shape => {
                let ty = type_of(shape, &self.target);
                quote!(<#ty>::zeros())
            }
        });
        let private = &self.target.private;
        let scalar = type_of(&Shape::Scalar, &self.target);
        let params = &self.generics.params;
        quote! {
            impl #impl_generics ::core::default::Default for #name #ty_generics #where_clause {
                /// All zeros.
                fn default() -> Self {
                    #name { #( #fields: #zeros ),* }
                }
            }

            #private::impl_parameters!([#params] #name #ty_generics, #scalar, [#(#fields),*]);
        }
    }

    /// A function. Its signature is the user's parameter list (plus `d_out`): a lint about
    /// its length would point at code the user cannot change.
    fn function(&self, function: &Function) -> TokenStream {
        let name = named(function.name);
        let docs = function.doc.iter().map(|line| quote!(#[doc = #line]));
        let inline = function.inline.then(|| quote!(#[inline]));
        let vis = (!function.method).then(|| quote!(pub));
        let receiver = function.method.then(|| quote!(&self,));
        let (impl_generics, _, where_clause) = self.generics.split_for_impl();
        let params = function.params.iter().map(|param| {
            let (name, ty) = (&param.name, self.ty(&param.ty));
            quote!(#name: #ty)
        });
        let returns = match function.returns {
            Type::Unit => None,
            ref returns => {
                let returns = self.ty(returns);
                Some(quote!(-> #returns))
            }
        };
        let body = match &function.body {
            Body::Unimplemented => quote!(::core::unimplemented!()),
            Body::Graph(graph) => self.graph_body(graph),
            Body::CheckGradient(check) => self.check_gradient(check),
        };
        quote! {
            #(#docs)*
            #inline
            #[allow(unused_variables, clippy::too_many_arguments)]
            #vis fn #name #impl_generics (#receiver #(#params),*) #returns #where_clause {
                #body
            }
        }
    }

    fn ty(&self, ty: &Type) -> TokenStream {
        match ty {
            Type::Value(shape) => type_of(shape, &self.target),
            Type::Ref(shape) => {
                let ty = type_of(shape, &self.target);
                quote!(&#ty)
            }
            Type::Mut(shape) => {
                let ty = type_of(shape, &self.target);
                quote!(&mut #ty)
            }
            Type::Borrowing(name) => self.borrowing_type(name),
            Type::StructRef(name) => {
                let (name, (_, ty_generics, _)) = (named(name), self.generics.split_for_impl());
                quote!(&#name #ty_generics)
            }
            Type::Unit => quote!(()),
            Type::Struct(name) => {
                let (name, (_, ty_generics, _)) = (named(name), self.generics.split_for_impl());
                quote!(#name #ty_generics)
            }
            Type::Array(shape, n) => {
                let ty = type_of(shape, &self.target);
                quote!([#ty; #n])
            }
            Type::Tuple(types) => {
                let types = types.iter().map(|ty| self.ty(ty));
                quote!((#(#types),*))
            }
            Type::GradientCheck => {
                let private = &self.target.private;
                quote!(::core::result::Result<(), #private::check::GradientMismatch>)
            }
            Type::String => quote!(::std::string::String),
        }
    }

    fn graph_body(&self, graph: &GraphBody) -> TokenStream {
        let unpack = graph.unpack.as_ref().map(unpack);
        let places: Vec<Option<TokenStream>> = graph
            .places
            .iter()
            .map(|place| {
                place.as_ref().map(|Place { root, field }| match field {
                    Some(field) => quote!(#root.#field),
                    None => quote!(#root),
                })
            })
            .collect();
        let computed = body::body(
            &graph.graph,
            &graph.outputs,
            &places,
            &self.target,
            &graph.plan,
        );
        let statements = &computed.statements;
        let result = self.value(&graph.result, &computed.outputs);
        quote! {
            #unpack
            #(#statements)*
            #result
        }
    }

    /// A function's result, from the expressions of its graph's outputs.
    fn value(&self, value: &Value, outputs: &[TokenStream]) -> TokenStream {
        let values = |values: &[Value]| -> Vec<TokenStream> {
            values
                .iter()
                .map(|value| self.value(value, outputs))
                .collect()
        };
        let private = &self.target.private;
        match value {
            Value::Unit => TokenStream::new(),
            Value::Output(n) => outputs[*n].clone(),
            Value::Tuple(parts) => {
                let parts = values(parts);
                quote!((#(#parts),*))
            }
            Value::Struct(name, fields) => {
                let name = named(name);
                let fields = fields.iter().map(|(field, value)| {
                    let value = self.value(value, outputs);
                    quote!(#field: #value)
                });
                quote!(#name { #(#fields),* })
            }
            Value::Array(elements) => {
                let elements = values(elements);
                quote!([#(#elements),*])
            }
            Value::SquareMatrix(n, entries) => {
                let entries = values(entries);
                let rows = entries.chunks((*n).max(1)).map(|row| quote!([#(#row),*]));
                quote!(#private::nalgebra::SMatrix::from_array_storage(#private::nalgebra::ArrayStorage([#(#rows),*])))
            }
            Value::Picture {
                pieces,
                values: numbers,
            } => {
                let numbers = values(numbers).into_iter().map(|value| match self.target.real {
                    Real::F64 => value,
                    Real::F32 => {
                        quote!(<::core::primitive::f64 as ::core::convert::From<f32>>::from(#value))
                    }
                });
                quote!(#private::render_dot(&[#(#pieces),*], &[#(#numbers),*]))
            }
        }
    }

    /// `backward` at the point against central differences of `forward` (seeded with the
    /// runtime's fixed `d_out` for a matrix output), by the runtime's `check::check_gradient`.
    fn check_gradient(&self, check: &CheckGradient) -> TokenStream {
        let private = &self.target.private;
        let (_, ty_generics, _) = self.generics.split_for_impl();
        let point = Ident::new("point", Span::mixed_site());
        let d_out = Ident::new("d_out", Span::mixed_site());
        let fields = check.point.iter().map(|(name, by_ref)| match by_ref {
            true => quote!(#name: *#name),
            false => quote!(#name),
        });
        let arguments = check.arguments.iter().map(|argument| match argument {
            Argument::FromPoint(name, true) => quote!(&#point.#name),
            Argument::FromPoint(name, false) => quote!(#point.#name),
            Argument::Given(name) => quote!(#name),
        });
        let names = &check.names;
        let output_type = type_of(&check.output, &self.target);
        // `self::`: a parameter may be called `forward` or `backward`. The turbofish names
        // generics that only the body uses (an image's size in `conv2d`), which rustc cannot infer.
        let turbofish = ty_generics.as_turbofish();
        let forward = quote!(self::forward #turbofish (#(#arguments),*));
        let (seed, projection) = if check.output.is_scalar() {
            (literal(1.0, self.target.real).tokens, forward)
        } else {
            (
                quote!(#private::check::vjp_seed()),
                quote!(#d_out.dot(&#forward)),
            )
        };
        let d_out_argument = match check.d_out_by_ref {
            true => quote!(&#d_out),
            false => quote!(#d_out),
        };
        quote! {
            let #d_out: #output_type = #seed;
            let #point = Grad { #(#fields),* };
            #private::check::check_gradient(
                &#point,
                &self::backward #turbofish (#(#names,)* #d_out_argument),
                |#point: &Grad #ty_generics| #projection,
            )
        }
    }
}

/// `let Tape { a, b } = tape;`, then a reference to each borrowed name and a copy of each
/// copied one.
fn unpack(unpack: &Unpack) -> TokenStream {
    let fields = unpack
        .fields
        .iter()
        .map(|(field, name)| match field == name {
            true => quote!(#field),
            false => quote!(#field: #name),
        });
    let (argument, name, borrowed, copied) = (
        &unpack.argument,
        named(unpack.struct_name),
        &unpack.borrowed,
        &unpack.copied,
    );
    quote! {
        let #name { #(#fields),* } = #argument;
        #( let #borrowed = &#borrowed; )*
        #( let #copied = *#copied; )*
    }
}

fn constant_item(constant: &Const) -> TokenStream {
    let name = named(constant.name);
    let docs = constant.doc.iter().map(|line| quote!(#[doc = #line]));
    let (ty, value) = match &constant.value {
        ConstValue::U64(n) => (quote!(u64), Literal::u64_unsuffixed(*n).into_token_stream()),
        ConstValue::Str(text) => (quote!(&str), quote!(#text)),
    };
    quote! {
        #(#docs)*
        pub const #name: #ty = #value;
    }
}

/// One of the generated API's own names (`forward`, `Grad`, …).
fn named(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}
