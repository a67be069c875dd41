//! The passes: IR → IR. None of them sees tokens or the AST.

pub mod cost;
pub mod diff;
pub mod dot;
pub mod eval;
pub mod fuse;
pub mod rules;
pub mod second;
pub mod simplify;
pub mod split;
