//! The `graph!` procedural macro: a thin shell around `graph-compiler`.

use proc_macro::TokenStream;

/// Compiles math into plain Rust for its value and its reverse-mode gradient.
///
/// See the `chainrule` crate for the language and examples.
#[proc_macro]
pub fn graph(input: TokenStream) -> TokenStream {
    graph_compiler::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
