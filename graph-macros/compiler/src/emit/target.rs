//! Where emitted code finds things: the scalar type, the runtime's helpers, the user's
//! primitives, and the Rust type of each shape. Everything outside the user's code is named
//! by absolute path.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

use crate::compile::api::{Api, Container};
use crate::ir::{user_ident, Dim, Shape};
use crate::syntax::signature::Real;

/// What emitted code is for: the scalar type it computes in, and where it finds the runtime.
pub struct Target {
    pub real: Real,
    /// The path of the runtime's helpers, `::chainrule::__private` unless the graph says
    /// `#[chainrule(crate = path)]`.
    pub private: TokenStream,
    /// `#[by_ref]`: matrix inputs arrive as references, written `(*w)` where used.
    pub by_ref: bool,
    /// Each `#[primitive(name = Type)]`: the name, the type's path as the emitted code writes
    /// it (see `primitive_path`), and the span of the type's name, where a missing trait
    /// implementation is reported.
    pub primitives: Vec<(String, TokenStream, Span)>,
}

/// `tokens`, every one of them at `span`: an error about the whole (a trait the user's type
/// lacks) then points at the user's token instead of the whole macro call.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            proc_macro2::TokenTree::Group(group) => {
                let mut new =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                proc_macro2::TokenTree::Group(new)
            }
            mut tree => {
                tree.set_span(span);
                tree
            }
        })
        .collect()
}

/// A primitive's type as written inside the emitted code: as the user wrote it for a closure
/// graph, which expands in place; one module further out for a `fn` graph, whose code is in a
/// module of its own, so `Swish` is `super::Swish` and `self::a::Swish` is `super::a::Swish`.
/// Absolute paths (`::a::Swish`, `crate::a::Swish`) stay as they are.
fn primitive_path(path: &syn::Path, in_module: bool) -> TokenStream {
    let first = path
        .segments
        .first()
        .map(|segment| segment.ident.to_string());
    let absolute = path.leading_colon.is_some() || first.as_deref() == Some("crate");
    if !in_module || absolute {
        return quote!(#path);
    }
    if first.as_deref() == Some("self") {
        let rest = path.segments.iter().skip(1);
        return quote!(super #(:: #rest)*);
    }
    quote!(super::#path)
}

impl Target {
    /// `<Type as Trait<T>>::function` for the declared primitive `name`, spanned at the
    /// user's `Type`.
    pub fn primitive(&self, name: &str, trait_name: &str, function: &str) -> TokenStream {
        let (_, path, span) = self
            .primitives
            .iter()
            .find(|(known, _, _)| known == name)
            .expect("`lower` calls only declared primitives");
        let (private, real) = (&self.private, format_ident!("{}", self.real.name()));
        let (trait_name, function) = (format_ident!("{trait_name}"), format_ident!("{function}"));
        respan(
            quote!(<#path as #private::#trait_name<#real>>::#function),
            *span,
        )
    }

    pub fn new(api: &Api) -> Target {
        let private = match &api.krate {
            Some(path) => quote!(#path::__private),
            None => quote!(::chainrule::__private),
        };
        let in_module = matches!(api.container, Container::Module { .. });
        let primitives = api
            .primitives
            .iter()
            .map(|primitive| {
                let path = primitive_path(&primitive.path, in_module);
                (primitive.name.clone(), path, primitive.span)
            })
            .collect();
        Target {
            real: api.real,
            private,
            by_ref: api.by_ref,
            primitives,
        }
    }
}

/// The Rust type of a value of `shape`, by absolute path.
pub fn type_of(shape: &Shape, target: &Target) -> TokenStream {
    let scalar = format_ident!("{}", target.real.name());
    match shape {
        Shape::Scalar => quote!(#scalar),
        Shape::Matrix { rows, cols } => {
            let (rows, cols) = (dim(rows), dim(cols));
            let private = &target.private;
            quote!(#private::nalgebra::SMatrix<#scalar, #rows, #cols>)
        }
    }
}

pub fn dim(dim: &Dim) -> TokenStream {
    match dim {
        Dim::Fixed(n) => Literal::usize_unsuffixed(*n).into_token_stream(),
        Dim::Named(name) => user_ident(name, Span::call_site()).into_token_stream(),
    }
}
