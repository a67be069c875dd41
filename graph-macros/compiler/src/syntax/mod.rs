//! The language as written: tokens → [`ast::GraphDef`], and the checked signature.

pub mod ast;
pub mod parse;
pub mod signature;
pub mod types;
