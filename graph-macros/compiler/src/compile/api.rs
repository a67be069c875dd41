//! The generated API as data: every item a `graph!` expands to, with every value the passes
//! computed. [`crate::emit`] prints it and decides nothing.

use proc_macro2::{Ident, Span, TokenStream};

use crate::ir::{Graph, NodeId, Shape};
pub use crate::passes::fuse::{Plan, Region};
use crate::syntax::signature::Real;

/// What one `graph!` expands to.
pub struct Api {
    /// Where the items live: a module for a `fn` graph, a value for a closure graph.
    pub container: Container,
    pub real: Real,
    /// `#[chainrule(crate = path)]`: where the runtime is, if not `::chainrule`.
    pub krate: Option<syn::Path>,
    /// `#[by_ref]`: matrix inputs arrive as references.
    pub by_ref: bool,
    /// The user's primitives, as the emitted code names their types.
    pub primitives: Vec<PrimitiveType>,
    /// The errors to report first, if the graph has any.
    pub errors: Option<TokenStream>,
    /// The items, in order; `None` when even the signature is unknown, so there is no stub.
    pub items: Option<Vec<Item>>,
}

/// The container of the items, with what passes through from the user's code unchanged.
pub enum Container {
    Module {
        docs: Vec<syn::Attribute>,
        vis: syn::Visibility,
        name: Ident,
        generics: syn::Generics,
    },
    /// A block evaluating to a value of a local `Graph` type (named at the closure's span).
    Closure { span: Span },
}

/// A function a graph declares with `#[primitive(name = Type)]`.
pub struct PrimitiveType {
    pub name: String,
    /// The type's path as the user wrote it.
    pub path: syn::Path,
    /// Where a missing trait implementation is reported: the user's type name.
    pub span: Span,
}

pub enum Item {
    Struct(Struct),
    Function(Box<Function>),
    Const(Const),
}

/// `Grad` or `Tape`.
pub struct Struct {
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: Vec<Field>,
    /// Derives `Debug`, `Clone`, `Copy` and `PartialEq` (a stub's empty `Tape` derives nothing).
    pub derives: bool,
    /// A `Default` of zeros and an `impl Parameters`: the gradient is a parameter set.
    pub parameters: bool,
    /// The fields of this other struct by mutable reference (`GradMut` of `Grad`), with
    /// `fields_mut` and `boxed` on the other struct.
    pub borrows: Option<&'static str>,
}

pub struct Field {
    pub name: Ident,
    pub shape: Shape,
    pub doc: Option<String>,
}

pub struct Function {
    pub name: &'static str,
    pub doc: Vec<&'static str>,
    /// A method on the closure graph's value, taking `&self`; otherwise a `pub fn`.
    pub method: bool,
    pub inline: bool,
    pub params: Vec<Param>,
    pub returns: Type,
    pub body: Body,
}

#[derive(Clone)]
pub struct Param {
    pub name: Ident,
    pub ty: Type,
}

/// A parameter's or result's type.
#[derive(Clone)]
pub enum Type {
    /// `()`: the function writes its results into places.
    Unit,
    /// A scalar or a matrix, by value.
    Value(Shape),
    /// A matrix by reference (`#[by_ref]`).
    Ref(Shape),
    /// A matrix by mutable reference: a place the function writes into.
    Mut(Shape),
    /// A struct of mutable references to one of the graph's structs' fields (`GradMut`,
    /// `TapeMut`), with the graph's generics.
    Borrowing(&'static str),
    /// One of the graph's own structs by reference (`&Tape` under `#[by_ref]`).
    StructRef(&'static str),
    /// One of the graph's own structs, with the graph's generics.
    Struct(&'static str),
    Array(Shape, usize),
    Tuple(Vec<Type>),
    /// `Result<(), GradientMismatch>`.
    GradientCheck,
    String,
}

pub enum Body {
    /// A stub's: the graph had errors.
    Unimplemented,
    Graph(GraphBody),
    CheckGradient(CheckGradient),
}

/// Straight-line code computing `outputs`, assembled into `result`.
pub struct GraphBody {
    /// A struct argument taken apart into the graph's inputs first.
    pub unpack: Option<Unpack>,
    pub graph: Graph,
    pub outputs: Vec<NodeId>,
    /// Where each output goes: into a place the caller owns, or (`None`) into `result`.
    pub places: Vec<Option<Place>>,
    pub result: Value,
    /// Which element-wise nodes are vectorised and which are fused into loops.
    pub plan: Plan,
}

/// A `&mut` parameter, or a `&mut` field of one (`grad.w`), that an output is written into.
#[derive(Clone)]
pub struct Place {
    pub root: Ident,
    pub field: Option<Ident>,
}

/// `let Tape { a, b } = tape;` (each field bound to an input name), then `let a = &a;` for
/// each name in `borrowed`, which the body reads through a reference, and `let b = *b;` for
/// each name in `copied`, a value the argument (itself a reference) only lends.
pub struct Unpack {
    pub argument: Ident,
    pub struct_name: &'static str,
    pub fields: Vec<(Ident, Ident)>,
    pub borrowed: Vec<Ident>,
    pub copied: Vec<Ident>,
}

/// How a function's result is assembled from its graph's outputs.
pub enum Value {
    /// Nothing: every output went into a place.
    Unit,
    /// The `n`-th output.
    Output(usize),
    Tuple(Vec<Value>),
    Struct(&'static str, Vec<(Ident, Value)>),
    Array(Vec<Value>),
    /// An `n×n` matrix from its row-major entries (symmetric, so nalgebra's column-major
    /// storage reads the same).
    SquareMatrix(usize, Vec<Value>),
    /// The runtime's `render_dot(pieces, values)`, each value as an `f64`.
    Picture {
        pieces: Vec<String>,
        values: Vec<Value>,
    },
}

/// `check_gradient`'s body: `backward` at the point against central differences of
/// `forward`, by the runtime.
pub struct CheckGradient {
    /// The point as a `Grad`: each differentiable parameter, dereferenced if it is a reference.
    pub point: Vec<(Ident, bool)>,
    /// `forward`'s arguments, read from the point for differentiable parameters.
    pub arguments: Vec<Argument>,
    /// `backward`'s arguments before `d_out`.
    pub names: Vec<Ident>,
    pub output: Shape,
    /// `d_out` is passed by reference.
    pub d_out_by_ref: bool,
}

pub enum Argument {
    /// `point.name`, borrowed if the parameter is a reference.
    FromPoint(Ident, bool),
    Given(Ident),
}

pub struct Const {
    pub name: &'static str,
    pub doc: Vec<&'static str>,
    pub value: ConstValue,
}

pub enum ConstValue {
    U64(u64),
    Str(String),
}
