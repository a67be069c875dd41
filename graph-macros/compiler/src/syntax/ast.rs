//! The syntax tree `parse` produces: what the user wrote, with spans, before names are resolved.

use std::fmt;

use proc_macro2::{Ident, Span};
use syn::{Attribute, Generics, Type, Visibility};

/// A whole `graph!` input.
pub struct GraphDef {
    pub options: Options,
    pub form: Form,
    pub params: Vec<Param>,
    pub body: Body,
}

/// `graph! { fn name(..) -> T { .. } }` or `graph!(|..| ..)`.
// One `Form` exists per macro call; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Form {
    Item {
        /// Doc comments, passed on to the emitted module.
        docs: Vec<Attribute>,
        vis: Visibility,
        name: Ident,
        /// `<const I: usize, const O: usize>`: const generic dimensions.
        generics: Generics,
        output: Type,
    },
    Closure {
        /// The `|..|`, where errors about the closure as a whole point.
        span: Span,
    },
}

/// What the attributes before a graph ask for.
#[derive(Default)]
pub struct Options {
    /// `#[chainrule(crate = path)]`: where generated code finds chainrule's runtime
    /// (`path::__private`). `None` is `::chainrule`; the runtime crate itself writes `crate`.
    pub krate: Option<syn::Path>,
    /// `#[tape]`: also emit `forward_with_tape` and `backward_with_tape`, which split the
    /// backward pass at the forward values it needs, so a layer computes them only once.
    pub tape: bool,
    /// `#[by_ref]`: matrix parameters (and a matrix `d_out`) are taken by reference, so a
    /// large model's weights are not copied into every call.
    pub by_ref: bool,
    /// `#[hessian]`: also emit `hvp` and, for scalar parameters and output, `hessian`.
    pub hessian: bool,
    /// `#[primitive(swish = Swish)]`: functions of the user's that the graph calls by name.
    pub primitives: Vec<PrimitiveDecl>,
    /// `#[dot]`: also emit `DOT`, the graph's structure in Graphviz's language, and `dot(..)`,
    /// the same graph labelled with values and partials at a point.
    pub dot: bool,
}

/// One `name = Type` of `#[primitive(..)]`: the graph calls `name(x)`, and the emitted code
/// calls `Type`'s `chainrule::Primitive` implementation (and, for `#[hessian]`, its
/// `chainrule::SecondDerivative`).
pub struct PrimitiveDecl {
    pub name: Ident,
    /// As the user wrote it, resolved where the `graph!` is: `emit` prefixes `super::` for a
    /// `fn` graph's module.
    pub path: syn::Path,
}

/// `#[no_grad] x: f64`.
pub struct Param {
    pub name: Ident,
    pub ty: Type,
    pub requires_grad: bool,
}

/// Zero or more `let NAME = EXPR;` and one final expression.
pub struct Body {
    pub lets: Vec<Let>,
    pub result: Expr,
}

pub struct Let {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Expr {
    Number {
        value: f64,
        span: Span,
    },
    Name(Ident),
    Neg {
        span: Span,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        /// The operator token.
        span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        func: Ident,
        /// The parentheses, where arity errors point.
        args_span: Span,
        args: Vec<Expr>,
    },
}

/// Fully parenthesised, so tests can see exactly how the parser grouped an expression.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number { value, .. } => write!(f, "{value}"),
            Expr::Name(name) => write!(f, "{name}"),
            Expr::Neg { operand, .. } => write!(f, "(-{operand})"),
            Expr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.symbol()),
            Expr::Call { func, args, .. } => {
                write!(f, "{func}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}
