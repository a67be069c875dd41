//! The compiler behind chainrule's `graph!` macro, as a plain library on `proc-macro2` so that
//! tests and benchmarks can call it without compiling a crate.
//!
//! The stages, one folder each, in pipeline order: [`syntax`] (tokens → the AST, and the
//! checked signature), [`mod@lower`] (AST → [`ir`]), [`passes`] (IR → IR: differentiation,
//! simplification, and what the options ask for), [`mod@compile`] (the passes' graphs → the
//! generated API as data) and [`emit`] (that API → tokens).

pub mod compile;
pub mod emit;
pub mod ir;
pub mod lower;
pub mod passes;
pub mod stack;
pub mod syntax;

use proc_macro2::TokenStream;

use syntax::signature::check_signature;

pub use compile::{compile, graphs, stub, Graphs};
pub use lower::{lower, Lowered};
pub use syntax::signature::Real;

/// Expands a `graph!` invocation. Errors carry the span of the offending token; after an error
/// in a `fn` graph's body, the expansion still holds a stub module with the right signatures.
pub fn expand(tokens: TokenStream) -> syn::Result<TokenStream> {
    let def = syntax::parse::parse_graph(tokens)?;
    let signature = match check_signature(&def) {
        Ok(signature) => signature,
        Err(errors) => return Ok(emit::print(&stub(&def, errors.to_compile_error(), None))),
    };
    let api = match lower(&def, &signature) {
        Ok(lowered) => compile(&def, lowered),
        Err(errors) => stub(&def, errors.to_compile_error(), Some(&signature)),
    };
    Ok(emit::print(&api))
}

/// Parses and lowers `src`, a `graph!` input written as a string: the entry point of tests.
pub fn lower_str(src: &str) -> syn::Result<Lowered> {
    let tokens: TokenStream = src
        .parse()
        .map_err(|error| syn::Error::new(proc_macro2::Span::call_site(), format!("{error}")))?;
    let def = syntax::parse::parse_graph(tokens)?;
    lower(&def, &check_signature(&def)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn expands(src: &str) -> bool {
        expand(src.parse().expect("test source lexes")).is_ok()
    }

    #[test]
    fn raw_identifiers_as_names_expand_without_panicking() {
        assert!(expands(
            "|r#type: f64| { let r#in = r#type * r#type; r#in * r#type }"
        ));
        assert!(expands(
            "fn f<const r#N: usize>(r#v: SVector<f64, r#N>) -> f64 { sum(r#v) }"
        ));
    }

    #[test]
    fn several_errors_in_a_closure_graph_stay_one_expression() {
        let expanded = expand("|x: f64| w * x + b".parse().unwrap()).unwrap();
        let block: syn::Block = syn::parse2(expanded).expect("one block expression");
        let errors = block
            .stmts
            .iter()
            .filter(|stmt| matches!(stmt, syn::Stmt::Macro(_)))
            .count();
        assert_eq!(errors, 2, "one compile_error! per unknown name");
    }
}
