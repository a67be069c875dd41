//! Emission: graphs → Rust tokens. The only stage that uses `quote!`.
//!
//! Each named node becomes one `let` (forward intermediates keep the user's names; adjoints
//! are `d_<name>`, with their chain-rule step as a comment). An unnamed temporary is written
//! inline where it is used once and gets a `let t<k>` otherwise, so the emitted code grows
//! linearly with the graph. Everything outside the user's code is named by absolute path.

use std::collections::HashSet;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::compile::Program;
use crate::ir::{mint, user_ident, Dim, Func, Graph, NodeId, Op, Shape};
use crate::passes::split::Split;
use crate::syntax::ast::{Form, GraphDef};
use crate::syntax::signature::{Real, Signature};

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

    /// The same expression as one invisible (`Delimiter::None`) group: interpolating it into
    /// its user then copies one token tree instead of every token. Without this, inlining a
    /// long sum term by term copies each prefix again, quadratic work for linear output.
    /// Parentheses stay explicit (`at_least`), so the printed code is unchanged.
    fn sealed(self) -> Fragment {
        if self.prec == Prec::Atom && self.tokens.clone().into_iter().count() <= 1 {
            return self;
        }
        let group = proc_macro2::Group::new(proc_macro2::Delimiter::None, self.tokens);
        Fragment {
            tokens: group.into_token_stream(),
            prec: self.prec,
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
pub fn body(graph: &Graph, outputs: &[NodeId], target: &Target) -> Body {
    // How many times each node's expression is written out: a squared or cubed operand is
    // written two or three times (`a * a`), and must then be `let`-bound, not recomputed.
    let mut uses = vec![0u32; graph.len()];
    for node in graph.nodes() {
        for operand in node.op.operands() {
            uses[operand.index()] += 1;
        }
        if let Op::Powi(a, n @ (2 | 3)) = node.op {
            uses[a.index()] += n.unsigned_abs() - 1;
        }
    }
    for output in outputs {
        uses[output.index()] += 1;
    }
    let mut fragments: Vec<Fragment> = Vec::with_capacity(graph.len());
    let mut bound: Vec<bool> = Vec::with_capacity(graph.len());
    let mut statements = Vec::new();
    let mut names = Vec::new();
    // The statement each bound node's `let` is, for `scoped`.
    let mut statement_of: Vec<Option<usize>> = vec![None; graph.len()];
    let mut temporaries = 0;
    // Names already bound in this function. A minted name may spell the same as another
    // (`d_out` the adjoint of a `let out`, and `d_out` the seed): it gets a suffix.
    let mut taken: HashSet<String> = graph
        .inputs
        .iter()
        .map(|input| input.name.to_string())
        .collect();
    for id in graph.ids() {
        let node = graph.node(id);
        let context = Context {
            graph,
            target,
            fragments: &fragments,
            bound: &bound,
        };
        let fragment = expression(&context, id);
        let binding = match (&node.name, node.op) {
            (_, Op::Input(_) | Op::Const(_)) => None,
            (Some(name), _) => Some(name.clone()),
            (None, _) if uses[id.index()] > 1 => {
                temporaries += 1;
                Some(mint(&format!("t{temporaries}")))
            }
            (None, _) => None,
        };
        bound.push(binding.is_some());
        let Some(name) = binding else {
            fragments.push(fragment.sealed());
            continue;
        };
        let name = unique(name, &mut taken);
        let value = fragment.at_least(Prec::Conditional);
        let note = node.note.as_ref().map(|note| {
            let text = format!(" {note}");
            quote!(#[doc = #text])
        });
        statement_of[id.index()] = Some(statements.len());
        statements.push(quote!(#note let #name = #value;));
        fragments.push(Fragment::atom(quote!(#name)));
        names.push(name);
    }
    let last_reads = last_reads(graph, outputs, &statement_of);
    let outputs = outputs
        .iter()
        .map(|id| fragments[id.index()].at_least(Prec::Conditional))
        .collect();
    Body {
        statements: scoped(statements, names, last_reads),
        outputs,
    }
}

/// For each statement (each bound node, in order), the last statement that reads its name:
/// `usize::MAX` for the outputs, read after every statement. An inlined node is read where
/// its user is written.
fn last_reads(graph: &Graph, outputs: &[NodeId], statement_of: &[Option<usize>]) -> Vec<usize> {
    let mut written_in = vec![usize::MAX; graph.len()];
    let mut user = vec![None; graph.len()];
    for id in graph.ids() {
        for operand in graph.node(id).op.operands() {
            user[operand.index()] = Some(id);
        }
    }
    for id in graph.ids().rev() {
        written_in[id.index()] = match (statement_of[id.index()], user[id.index()]) {
            (Some(statement), _) => statement,
            (None, Some(user)) if !outputs.contains(&id) => written_in[user.index()],
            (None, _) => usize::MAX,
        };
    }
    let mut last_read = vec![0; graph.len()];
    for id in graph.ids() {
        for operand in graph.node(id).op.operands() {
            last_read[operand.index()] = last_read[operand.index()].max(written_in[id.index()]);
        }
    }
    for output in outputs {
        last_read[output.index()] = usize::MAX;
    }
    graph
        .ids()
        .filter(|id| statement_of[id.index()].is_some())
        .map(|id| last_read[id.index()])
        .collect()
}

/// Up to this many `let`s, a function's body is one flat list, as `cargo expand` shows it.
const FLAT_STATEMENTS: usize = 256;

/// `statements`, each binding the name beside it, grouped so that lexical scopes stay shallow.
///
/// Every `let` opens a scope that holds the rest of its block, so straight-line code nests
/// one scope per `let`, and LLVM writes debug info by recursing through scopes: past about
/// 2,500 `let`s in one function, rustc's own stack overflows (in the default dev profile).
/// Past [`FLAT_STATEMENTS`], the `let`s go in blocks of about √n that each bind their names
/// at once, `let (a, b, …) = { let a = …; let b = …; …; (a, b, …) };`: about 2√n scopes deep.
/// A block binds only the names read after it (`last_reads`, by statement).
fn scoped(
    statements: Vec<TokenStream>,
    names: Vec<Ident>,
    last_reads: Vec<usize>,
) -> Vec<TokenStream> {
    if statements.len() <= FLAT_STATEMENTS {
        return statements;
    }
    let size = (statements.len() as f64).sqrt().ceil() as usize;
    statements
        .chunks(size)
        .enumerate()
        .map(|(chunk, statements)| {
            let end = (chunk + 1) * size;
            let names: Vec<&Ident> = (chunk * size..end.min(names.len()))
                .filter(|statement| last_reads[*statement] >= end)
                .map(|statement| &names[statement])
                .collect();
            quote! {
                let (#(#names,)*) = {
                    #(#statements)*
                    (#(#names,)*)
                };
            }
        })
        .collect()
}

/// `name`, or `name_2`, `name_3`, … if the spelling is taken; records the result as taken.
fn unique(name: Ident, taken: &mut HashSet<String>) -> Ident {
    let spelling = name.to_string();
    if taken.insert(spelling.clone()) {
        return name;
    }
    let fresh = (2..)
        .map(|n| format!("{spelling}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .expect("some suffix is free");
    taken.insert(fresh.clone());
    mint(&fresh)
}

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
    fn primitive(&self, name: &str, trait_name: &str, function: &str) -> TokenStream {
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

    pub fn new(def: &GraphDef, real: Real) -> Target {
        let private = match &def.options.krate {
            Some(path) => quote!(#path::__private),
            None => quote!(::chainrule::__private),
        };
        let in_module = matches!(def.form, Form::Item { .. });
        let primitives = def
            .options
            .primitives
            .iter()
            .map(|primitive| {
                let path = primitive_path(&primitive.path, in_module);
                let span = primitive
                    .path
                    .segments
                    .last()
                    .map_or_else(|| primitive.name.span(), |segment| segment.ident.span());
                (primitive.name.to_string(), path, span)
            })
            .collect();
        Target {
            real,
            private,
            by_ref: def.options.by_ref,
            primitives,
        }
    }

    /// The type of a parameter of this shape: a matrix by reference under `#[by_ref]`.
    fn param_type(&self, shape: &Shape) -> TokenStream {
        let ty = type_of(shape, self);
        if self.by_ref && !shape.is_scalar() {
            quote!(&#ty)
        } else {
            ty
        }
    }
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
    // A derivative rule's constant (ln 2 in log2′, 2/√π in erf′) by its name: clippy's
    // `approx_constant` rejects the digits in the user's crate.
    let magnitude = match std_constant(value.abs()) {
        Some(name) => {
            let name = format_ident!("{name}");
            quote!(::core::#ty::consts::#name)
        }
        None => Literal::f64_unsuffixed(value.abs()).into_token_stream(),
    };
    if value.is_sign_negative() {
        Fragment {
            tokens: quote!(-#magnitude),
            prec: Prec::Prefix,
        }
    } else {
        Fragment::atom(quote!(#magnitude))
    }
}

/// The name in `core::f64::consts` of a constant that is exactly `value`.
fn std_constant(value: f64) -> Option<&'static str> {
    use std::f64::consts as c;
    [
        ("E", c::E),
        ("FRAC_1_PI", c::FRAC_1_PI),
        ("FRAC_1_SQRT_2", c::FRAC_1_SQRT_2),
        ("FRAC_2_PI", c::FRAC_2_PI),
        ("FRAC_2_SQRT_PI", c::FRAC_2_SQRT_PI),
        ("FRAC_PI_2", c::FRAC_PI_2),
        ("FRAC_PI_3", c::FRAC_PI_3),
        ("FRAC_PI_4", c::FRAC_PI_4),
        ("FRAC_PI_6", c::FRAC_PI_6),
        ("FRAC_PI_8", c::FRAC_PI_8),
        ("LN_10", c::LN_10),
        ("LN_2", c::LN_2),
        ("LOG10_E", c::LOG10_E),
        ("LOG2_E", c::LOG2_E),
        ("LOG10_2", c::LOG10_2),
        ("LOG2_10", c::LOG2_10),
        ("PI", c::PI),
        ("SQRT_2", c::SQRT_2),
        ("TAU", c::TAU),
    ]
    .into_iter()
    .find(|(_, known)| known.to_bits() == value.to_bits())
    .map(|(name, _)| name)
}

/// What emitting one node needs to know about the nodes before it.
struct Context<'a> {
    graph: &'a Graph,
    target: &'a Target,
    fragments: &'a [Fragment],
    /// `bound[i]`: node `i` has a `let`; otherwise its fragment is written inline.
    bound: &'a [bool],
}

impl Context<'_> {
    fn operand(&self, id: NodeId) -> &Fragment {
        &self.fragments[id.index()]
    }

    fn is_matrix(&self, id: NodeId) -> bool {
        !self.graph.node(id).shape.is_scalar()
    }

    /// Whether the product `id` is large enough for a blocked kernel, or has a dimension
    /// only rustc knows (a const generic): `kernels::GEMM_THRESHOLD` multiply-adds, 32³,
    /// decides at compile time inside the runtime's `matmul`.
    fn needs_kernel(&self, id: NodeId) -> bool {
        let Op::MatMul(a, b) = self.graph.node(id).op else {
            return false;
        };
        let dims = |id: NodeId| match &self.graph.node(id).shape {
            Shape::Matrix { rows, cols } => [rows.clone(), cols.clone()],
            Shape::Scalar => [Dim::Fixed(1), Dim::Fixed(1)],
        };
        let ([rows, depth], [_, cols]) = (dims(a), dims(b));
        match (rows, depth, cols) {
            (Dim::Fixed(r), Dim::Fixed(k), Dim::Fixed(c)) => r * k * c >= 32 * 32 * 32,
            _ => true,
        }
    }

    /// The node's operation, if it is written inline (so a peephole may look through it).
    fn inlined_op(&self, id: NodeId) -> Option<Op> {
        (!self.bound[id.index()]).then(|| self.graph.node(id).op)
    }

    /// A method receiver: a constant needs its type spelled out (`2.0.ln()` is ambiguous).
    fn receiver(&self, id: NodeId) -> TokenStream {
        match self.graph.node(id).op {
            // (A constant too large for `f32` is infinite there, and written as a path.)
            Op::Const(c)
                if c.0.is_finite()
                    && (self.target.real == Real::F64 || (c.0 as f32).is_finite()) =>
            {
                let magnitude = match self.target.real {
                    Real::F32 => Literal::f32_suffixed(c.0.abs() as f32),
                    Real::F64 => Literal::f64_suffixed(c.0.abs()),
                };
                if c.0.is_sign_negative() {
                    quote!((-#magnitude))
                } else {
                    quote!(#magnitude)
                }
            }
            // A method call dereferences a `#[by_ref]` input by itself.
            _ => match self.input_reference(id) {
                Some(name) => name,
                None => self.operand(id).at_least(Prec::Atom),
            },
        }
    }

    fn method(&self, receiver: NodeId, name: &str, args: TokenStream) -> Fragment {
        let receiver = self.receiver(receiver);
        let name = Ident::new(name, Span::call_site());
        Fragment::atom(quote!(#receiver.#name(#args)))
    }

    /// The name of a `#[by_ref]` matrix input, which is already a reference.
    fn input_reference(&self, id: NodeId) -> Option<TokenStream> {
        match self.graph.node(id).op {
            Op::Input(n) if self.target.by_ref && self.is_matrix(id) => {
                let name = &self.graph.inputs[usize::from(n)].name;
                Some(quote!(#name))
            }
            _ => None,
        }
    }

    fn by_ref(&self, id: NodeId) -> TokenStream {
        if let Some(name) = self.input_reference(id) {
            return name;
        }
        let tokens = self.operand(id).at_least(Prec::Prefix);
        quote!(&#tokens)
    }
}

/// The scalar formula of an element-wise operation, given its operands' fragments.
fn scalar_formula(op: Op, target: &Target, operands: &[Fragment], span: Span) -> Fragment {
    let real = target.real;
    let infix = |op: TokenStream, prec: Prec| {
        let (lhs, rhs) = (operands[0].at_least(prec), operands[1].at_least(next(prec)));
        Fragment {
            tokens: quote!(#lhs #op #rhs),
            prec,
        }
    };
    let method = |name: &str, args: TokenStream| {
        let receiver = operands[0].at_least(Prec::Atom);
        let name = Ident::new(name, span);
        Fragment::atom(quote!(#receiver.#name(#args)))
    };
    let second = || operands[1].at_least(Prec::Conditional);
    match op {
        Op::Neg(_) => {
            let inner = operands[0].at_least(Prec::Prefix);
            Fragment {
                tokens: quote_spanned!(span=> -#inner),
                prec: Prec::Prefix,
            }
        }
        Op::Add(..) => infix(quote_spanned!(span=> +), Prec::Add),
        Op::Sub(..) => infix(quote_spanned!(span=> -), Prec::Add),
        Op::Mul(..) => infix(quote_spanned!(span=> *), Prec::Mul),
        Op::Div(..) => infix(quote_spanned!(span=> /), Prec::Mul),
        Op::Powi(_, n @ (2 | 3)) if operands[0].prec == Prec::Atom => {
            let base = &operands[0].tokens;
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
        Op::Powi(_, n) => method("powi", quote!(#n)),
        Op::Pow(..) => method("powf", second()),
        Op::Max(..) => method("max", second()),
        Op::Min(..) => method("min", second()),
        Op::Gt(..) => {
            let (lhs, rhs) = (
                operands[0].at_least(Prec::Add),
                operands[1].at_least(Prec::Mul),
            );
            let (one, zero) = (literal(1.0, real).tokens, literal(0.0, real).tokens);
            Fragment {
                tokens: quote!(if #lhs > #rhs { #one } else { #zero }),
                prec: Prec::Conditional,
            }
        }
        Op::Atan2(..) => method("atan2", second()),
        Op::Hypot(..) => method("hypot", second()),
        Op::Call(Func::Primitive(name), _) | Op::Derivative(name, ..) => {
            let (trait_name, function) = match op {
                Op::Derivative(_, 2, ..) => ("SecondDerivative", "second_derivative"),
                Op::Derivative(..) => ("Primitive", "derivative"),
                _ => ("Primitive", "value"),
            };
            let function = target.primitive(name.as_str(), trait_name, function);
            let args = operands
                .iter()
                .map(|operand| operand.at_least(Prec::Conditional));
            Fragment::atom(quote!(#function(#(#args),*)))
        }
        Op::Call(Func::Log1p, _) => method("ln_1p", TokenStream::new()),
        Op::Call(Func::Expm1, _) => method("exp_m1", TokenStream::new()),
        Op::Call(
            func @ (Func::Sigmoid
            | Func::Relu
            | Func::Softplus
            | Func::Sign
            | Func::LnOrZero
            | Func::RecipOrZero
            | Func::Erf
            | Func::NormalCdf
            | Func::Gelu
            | Func::Silu),
            _,
        ) => {
            let runtime = &target.private;
            let name = Ident::new(func.name(), span);
            let arg = operands[0].at_least(Prec::Conditional);
            Fragment::atom(quote!(#runtime::#name(#arg)))
        }
        Op::Call(func, _) => method(func.name(), TokenStream::new()),
        _ => unreachable!("{op:?} is not element-wise"),
    }
}

fn expression(context: &Context, id: NodeId) -> Fragment {
    let graph = context.graph;
    let node = graph.node(id);
    let span = node.span;
    let target = context.target;
    let real = target.real;
    let operands: Vec<NodeId> = node.op.operands().collect();
    match node.op {
        Op::Input(n) => {
            let input = &graph.inputs[usize::from(n)];
            let name = &input.name;
            if target.by_ref && !input.shape.is_scalar() {
                // A reference: read in place; `&(*w)` borrows it again, with no copy.
                Fragment::atom(quote!((*#name)))
            } else {
                Fragment::atom(quote!(#name))
            }
        }
        Op::Const(c) => literal(c.0, real),
        // Scalars only: the formula as written.
        _ if operands.iter().all(|operand| !context.is_matrix(*operand))
            && node.shape.is_scalar() =>
        {
            let fragments: Vec<Fragment> = operands
                .iter()
                .map(|operand| context.operand(*operand).clone())
                .collect();
            match node.op {
                Op::Pow(a, _)
                | Op::Max(a, _)
                | Op::Min(a, _)
                | Op::Atan2(a, _)
                | Op::Hypot(a, _)
                | Op::Powi(a, _)
                | Op::Call(_, a)
                    if matches!(graph.node(a).op, Op::Const(_)) =>
                {
                    // A constant receiver needs its type: `2.0.powf(x)` is ambiguous.
                    let mut fragments = fragments;
                    fragments[0] = Fragment::atom(context.receiver(a));
                    scalar_formula(node.op, target, &fragments, span)
                }
                // `simplify` removes these on scalars; if one remains, it means what it
                // means on a 1×1 matrix, as in `eval`.
                Op::Count(_) => literal(1.0, real),
                Op::MatMul(..)
                | Op::StopGradient(_)
                | Op::Transpose(_)
                | Op::Sum(_)
                | Op::MaxElement(_)
                | Op::Broadcast(_)
                | Op::SpreadColumn(_)
                | Op::SpreadRow(_)
                | Op::RowSums(_)
                | Op::ColumnSums(_)
                | Op::ColumnMaxes(_) => context.operand(operands[0]).clone(),
                _ => scalar_formula(node.op, target, &fragments, span),
            }
        }
        Op::MatMul(a, b) if context.needs_kernel(id) => {
            // A large product (or one whose size only rustc knows) goes to the runtime's
            // kernels, which read a transposed operand in place.
            let (kernel, a, b) = match (context.inlined_op(a), context.inlined_op(b)) {
                (Some(Op::Transpose(inner)), _) => ("matmul_tn", inner, b),
                (_, Some(Op::Transpose(inner))) => ("matmul_nt", a, inner),
                _ => ("matmul", a, b),
            };
            let kernel = Ident::new(kernel, span);
            let private = &target.private;
            let (a, b) = (context.by_ref(a), context.by_ref(b));
            Fragment::atom(quote!(#private::#kernel(#a, #b)))
        }
        Op::MatMul(a, b) => match context.inlined_op(a) {
            // Aᵀ·B without materialising Aᵀ.
            Some(Op::Transpose(inner)) => context.method(inner, "tr_mul", context.by_ref(b)),
            _ => {
                let (lhs, rhs) = (
                    context.operand(a).at_least(Prec::Mul),
                    context.operand(b).at_least(Prec::Prefix),
                );
                Fragment {
                    tokens: quote_spanned!(span=> #lhs * #rhs),
                    prec: Prec::Mul,
                }
            }
        },
        // Only `diff` treats it differently from its operand.
        Op::StopGradient(a) => context.operand(a).clone(),
        Op::Transpose(a) => context.method(a, "transpose", TokenStream::new()),
        Op::Sum(a) => match context.inlined_op(a) {
            Some(Op::Powi(x, 2)) if context.is_matrix(x) => {
                context.method(x, "norm_squared", TokenStream::new())
            }
            Some(Op::Mul(x, y)) if x == y && context.is_matrix(x) => {
                context.method(x, "norm_squared", TokenStream::new())
            }
            Some(Op::Mul(x, y)) if context.is_matrix(x) && context.is_matrix(y) => {
                context.method(x, "dot", context.by_ref(y))
            }
            _ => context.method(a, "sum", TokenStream::new()),
        },
        Op::MaxElement(a) => context.method(a, "max", TokenStream::new()),
        Op::Count(a) => {
            let count = context.method(a, "len", TokenStream::new()).tokens;
            let ty = format_ident!("{}", real.name());
            Fragment::atom(quote!((#count as #ty)))
        }
        Op::Broadcast(a) => {
            let ty = type_of(&node.shape, target);
            match graph.node(a).op {
                Op::Const(c) if c.0 == 0.0 => Fragment::atom(quote!(<#ty>::zeros())),
                _ => {
                    let value = context.operand(a).at_least(Prec::Conditional);
                    Fragment::atom(quote!(<#ty>::repeat(#value)))
                }
            }
        }
        // A column or row repeated into the node's shape: a runtime helper (nalgebra has
        // none), taking its operand by reference so an inlined operand is computed once.
        Op::SpreadColumn(a) | Op::SpreadRow(a) => {
            let helper = match node.op {
                Op::SpreadColumn(_) => "spread_column",
                _ => "spread_row",
            };
            let helper = Ident::new(helper, span);
            let Shape::Matrix { rows, cols } = &node.shape else {
                unreachable!("a spread's shape is a matrix's")
            };
            let (scalar, rows, cols) = (format_ident!("{}", real.name()), dim(rows), dim(cols));
            let (private, operand) = (&target.private, context.by_ref(a));
            Fragment::atom(quote!(#private::#helper::<#scalar, #rows, #cols>(#operand)))
        }
        // nalgebra names a reduction by the shape of its result: `column_sum` is the column
        // of each row's sum.
        Op::RowSums(a) => context.method(a, "column_sum", TokenStream::new()),
        Op::ColumnSums(a) => context.method(a, "row_sum", TokenStream::new()),
        Op::ColumnMaxes(a) => {
            let helper = Ident::new("column_maxes", span);
            let (private, operand) = (&target.private, context.by_ref(a));
            Fragment::atom(quote!(#private::#helper(#operand)))
        }
        // Element-wise on matrices.
        op => elementwise(context, op, span),
    }
}

/// An element-wise operation with at least one matrix operand: nalgebra's operators where
/// they exist, `map`/`zip_map` of the scalar formula otherwise.
fn elementwise(context: &Context, op: Op, span: Span) -> Fragment {
    let operands: Vec<NodeId> = op.operands().collect();
    let element =
        |name: &str| Fragment::atom(Ident::new(name, Span::mixed_site()).into_token_stream());
    let infix = |a: NodeId, b: NodeId, symbol: TokenStream, prec: Prec| {
        let (lhs, rhs) = (
            context.operand(a).at_least(prec),
            context.operand(b).at_least(next(prec)),
        );
        Fragment {
            tokens: quote!(#lhs #symbol #rhs),
            prec,
        }
    };
    let both_matrices =
        operands.len() == 2 && operands.iter().all(|operand| context.is_matrix(*operand));
    match op {
        Op::Neg(_) => scalar_formula(
            op,
            context.target,
            &[context.operand(operands[0]).clone()],
            span,
        ),
        Op::Add(a, b) | Op::Sub(a, b) if both_matrices => {
            let symbol = if matches!(op, Op::Add(..)) {
                quote_spanned!(span=> +)
            } else {
                quote_spanned!(span=> -)
            };
            infix(a, b, symbol, Prec::Add)
        }
        Op::Mul(a, b) if both_matrices => context.method(a, "component_mul", context.by_ref(b)),
        Op::Div(a, b) if both_matrices => context.method(a, "component_div", context.by_ref(b)),
        Op::Mul(a, b) if context.is_matrix(a) => infix(a, b, quote_spanned!(span=> *), Prec::Mul),
        Op::Mul(a, b) => infix(b, a, quote_spanned!(span=> *), Prec::Mul),
        Op::Div(a, b) if context.is_matrix(a) => infix(a, b, quote_spanned!(span=> /), Prec::Mul),
        Op::Add(a, b) => {
            let (matrix, scalar) = if context.is_matrix(a) { (a, b) } else { (b, a) };
            context.method(
                matrix,
                "add_scalar",
                context.operand(scalar).at_least(Prec::Conditional),
            )
        }
        Op::Sub(a, b) if context.is_matrix(a) => {
            let negated = context.operand(b).at_least(Prec::Prefix);
            context.method(a, "add_scalar", quote!(-#negated))
        }
        Op::Powi(a, 2) => context.method(a, "component_mul", context.by_ref(a)),
        _ if both_matrices => {
            let (x, y) = (element("l"), element("r"));
            let formula = scalar_formula(op, context.target, &[x.clone(), y.clone()], span).tokens;
            let (x, y) = (x.tokens, y.tokens);
            context.method(operands[0], "zip_map", {
                let other = context.by_ref(operands[1]);
                quote!(#other, |#x, #y| #formula)
            })
        }
        _ => {
            // One matrix operand: map its elements, the other operand (if any) captured.
            let x = element("e");
            let matrix = *operands
                .iter()
                .find(|operand| context.is_matrix(**operand))
                .expect("a matrix operand");
            let fragments: Vec<Fragment> = operands
                .iter()
                .map(|operand| {
                    if *operand == matrix {
                        x.clone()
                    } else {
                        context.operand(*operand).clone()
                    }
                })
                .collect();
            let formula = scalar_formula(op, context.target, &fragments, span).tokens;
            let x = x.tokens;
            context.method(matrix, "map", quote!(|#x| #formula))
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

fn dim(dim: &Dim) -> TokenStream {
    match dim {
        Dim::Fixed(n) => Literal::usize_unsuffixed(*n).into_token_stream(),
        Dim::Named(name) => user_ident(name, Span::call_site()).into_token_stream(),
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

/// The parameter list `x: f64, w: SMatrix<f64, 2, 3>` with the user's names and our types.
fn params(def: &GraphDef, shapes: &[Shape], target: &Target) -> Vec<TokenStream> {
    def.params
        .iter()
        .zip(shapes)
        .map(|(param, shape)| {
            let (name, ty) = (&param.name, target.param_type(shape));
            quote!(#name: #ty)
        })
        .collect()
}

fn d_out() -> Ident {
    Ident::new("d_out", Span::mixed_site())
}

/// The `Grad` struct: one field per parameter that requires a gradient, of its type, and a
/// `Default` of zeros (derived `Default` cannot see through const-generic array lengths).
fn grad_struct(
    def: &GraphDef,
    shapes: &[Shape],
    target: &Target,
    generics: &syn::Generics,
) -> TokenStream {
    let (fields, (types, zeros)): (Vec<&Ident>, (Vec<TokenStream>, Vec<TokenStream>)) = def
        .params
        .iter()
        .zip(shapes)
        .filter(|(param, _)| param.requires_grad)
        .map(|(param, shape)| {
            let ty = type_of(shape, target);
            let zero = match shape {
                Shape::Scalar => literal(0.0, target.real).tokens,
                Shape::Matrix { .. } => quote!(<#ty>::zeros()),
            };
            (&param.name, (ty, zero))
        })
        .unzip();
    let parameters = grad_parameters(&fields, target, generics);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        /// The gradient: one field per parameter that requires it, of the parameter's type.
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq)]
        pub struct Grad #impl_generics #where_clause {
            #( pub #fields: #types, )*
        }

        impl #impl_generics ::core::default::Default for Grad #ty_generics #where_clause {
            /// All zeros.
            fn default() -> Self {
                Grad { #( #fields: #zeros ),* }
            }
        }

        #parameters
    }
}

/// `impl Parameters for Grad`: the gradient is a parameter set of its own, so an optimizer
/// steps it (`opt.step(&mut params, &grad)` with `params` a `Grad` too) and a file stores it.
/// Fields are visited in the parameters' order, each named as its parameter.
fn grad_parameters(fields: &[&Ident], target: &Target, generics: &syn::Generics) -> TokenStream {
    let private = &target.private;
    let scalar = type_of(&Shape::Scalar, target);
    let params = &generics.params;
    let (_, ty_generics, _) = generics.split_for_impl();
    quote! {
        #private::impl_parameters!([#params] Grad #ty_generics, #scalar, [#(#fields),*]);
    }
}

fn grad_fields(def: &GraphDef) -> Vec<&Ident> {
    def.params
        .iter()
        .filter(|param| param.requires_grad)
        .map(|param| &param.name)
        .collect()
}

/// The whole expansion: a module for `fn` graphs, a value with methods for closure graphs.
pub fn program(def: &GraphDef, program: &Program) -> TokenStream {
    // The signatures are the user's parameter list (plus `d_out`); a lint about its length
    // would point at code the user cannot change.
    let allow_long_signature = quote!(#[allow(clippy::too_many_arguments)]);
    let target = &Target::new(def, program.real);
    let (forward_graph, output) = (&program.forward.0, program.forward.1);
    let shapes: Vec<Shape> = forward_graph
        .inputs
        .iter()
        .map(|input| input.shape.clone())
        .collect();
    let output_shape = forward_graph.node(output).shape.clone();
    let scalar = type_of(&Shape::Scalar, target);
    let output_type = type_of(&output_shape, target);
    let d_out_type = target.param_type(&output_shape);
    let params = params(def, &shapes, target);
    let d_out = d_out();

    let forward = body(forward_graph, &[output], target);
    let backward = body(&program.backward.0, &program.backward.1, target);
    let (fwd_statements, fwd_out) = (&forward.statements, &forward.outputs[0]);
    let (bwd_statements, bwd_grads) = (&backward.statements, &backward.outputs);

    match &def.form {
        Form::Item {
            docs,
            vis,
            name,
            generics,
            ..
        } => {
            let fields = grad_fields(def);
            let grad = grad_struct(def, &shapes, target, generics);
            let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
            let value_and_grad = program.value_and_grad.as_ref().map(|(graph, outputs)| {
                let both = body(graph, outputs, target);
                let (statements, value, grads) = (&both.statements, &both.outputs[0], &both.outputs[1..]);
                quote! {
                    /// The value and the gradient, sharing one forward pass (`d_out` = 1).
                    #[inline]
                    #[allow(unused_variables)]
                    #allow_long_signature
                    pub fn value_and_grad #impl_generics (#(#params),*) -> (#scalar, Grad #ty_generics) #where_clause {
                        #(#statements)*
                        (#value, Grad { #( #fields: #grads ),* })
                    }
                }
            });
            let tape = program.tape.as_ref().map(|split| {
                let signature = TapeSignature {
                    params: &params,
                    output_type: &output_type,
                    d_out_type: &d_out_type,
                    generics,
                };
                tape_functions(split, &signature, &fields, target)
            });
            let second_order = second_order_items(def, program, target);
            let inspection = inspection_items(def, program, target);
            quote! {
                #(#docs)*
                #vis mod #name {
                    #grad

                    /// The forward pass: one `let` per node of the graph.
                    #[inline]
                    #[allow(unused_variables)]
                    #allow_long_signature
                    pub fn forward #impl_generics (#(#params),*) -> #output_type #where_clause {
                        #(#fwd_statements)*
                        #fwd_out
                    }

                    /// The backward pass: the vector-Jacobian product `d_out · ∂forward/∂params`,
                    /// one `let` per adjoint, by the chain rule.
                    #[inline]
                    #[allow(unused_variables)]
                    #allow_long_signature
                    pub fn backward #impl_generics (#(#params,)* #d_out: #d_out_type) -> Grad #ty_generics #where_clause {
                        #(#bwd_statements)*
                        Grad { #( #fields: #bwd_grads ),* }
                    }

                    #value_and_grad

                    #tape

                    #second_order

                    #inspection
                }
            }
        }
        Form::Closure { span } => {
            let (graph, outputs) = program
                .value_and_grad
                .as_ref()
                .expect("lowering checked that a closure graph's output is a scalar");
            let both = body(graph, outputs, target);
            let (both_statements, both_value, both_grads) =
                (&both.statements, &both.outputs[0], &both.outputs[1..]);
            let n_grads = bwd_grads.len();
            let graph_type = Ident::new("Graph", *span);
            quote! {
                {
                    #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
                    struct #graph_type;

                    #[allow(dead_code, unused_variables)]
                    #allow_long_signature
                    impl #graph_type {
                        #[inline]
                        fn forward(&self, #(#params),*) -> #scalar {
                            #(#fwd_statements)*
                            #fwd_out
                        }

                        #[inline]
                        fn backward(&self, #(#params,)* #d_out: #scalar) -> [#scalar; #n_grads] {
                            #(#bwd_statements)*
                            [#(#bwd_grads),*]
                        }

                        #[inline]
                        fn value_and_grad(&self, #(#params),*) -> (#scalar, [#scalar; #n_grads]) {
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

/// With `#[hessian]`: `hvp(.., v: Grad) -> Grad`, and `hessian(..) -> SMatrix<T, N, N>` when
/// the output and every differentiable parameter are scalars (see `second`).
fn second_order_items(def: &GraphDef, program: &Program, target: &Target) -> TokenStream {
    let (Some((hvp_graph, products)), Form::Item { generics, .. }) = (&program.hvp, &def.form)
    else {
        return TokenStream::new();
    };
    let (forward_graph, output) = (&program.forward.0, program.forward.1);
    let shapes: Vec<Shape> = forward_graph
        .inputs
        .iter()
        .map(|input| input.shape.clone())
        .collect();
    let output_shape = &forward_graph.node(output).shape;
    let params = params(def, &shapes, target);
    let fields = grad_fields(def);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    // `hvp`'s graph names `v`'s fields `v_<name>`, after the parameters (and `d_out`).
    let n_grads = fields.len();
    let v_inputs = &hvp_graph.inputs[hvp_graph.inputs.len() - n_grads..];
    let v_names: Vec<&Ident> = v_inputs.iter().map(|input| &input.name).collect();
    // Under `#[by_ref]` the body reads every matrix input through a reference.
    let borrowed: Vec<&Ident> = v_inputs
        .iter()
        .filter(|input| target.by_ref && !input.shape.is_scalar())
        .map(|input| &input.name)
        .collect();
    let d_out = (!output_shape.is_scalar()).then(|| {
        let (name, ty) = (d_out(), target.param_type(output_shape));
        quote!(#name: #ty,)
    });
    let doc = if output_shape.is_scalar() {
        " The Hessian-vector product H·v: the derivative of the gradient along `v`, by differentiating the backward pass again. Costs a few backward passes, never the whole Hessian."
    } else {
        " The Hessian-vector product of ⟨d_out, forward⟩ (the output is not a scalar): H·v, the derivative of `backward(.., d_out)` along `v`."
    };
    let v = Ident::new("v", Span::mixed_site());
    let hvp = body(hvp_graph, products, target);
    let (statements, outputs) = (&hvp.statements, &hvp.outputs);
    let hessian = program.hessian.as_ref().map(|(graph, entries)| {
        let hessian = body(graph, entries, target);
        let (statements, entries) = (&hessian.statements, &hessian.outputs);
        let (private, scalar) = (&target.private, type_of(&Shape::Scalar, target));
        let n = Literal::usize_unsuffixed(n_grads);
        // Row-major entries; nalgebra stores columns, which are the rows: it is symmetric.
        let rows: Vec<&[TokenStream]> = entries.chunks(n_grads.max(1)).collect();
        let rows = rows.iter().map(|row| quote!([#(#row),*]));
        quote! {
            /// The Hessian: the second derivatives of the output in the parameters that are
            /// not `#[no_grad]`, in their order. Exactly symmetric: entry (i, j) below the
            /// diagonal is entry (j, i).
            #[inline]
            #[allow(unused_variables, clippy::too_many_arguments)]
            pub fn hessian #impl_generics (#(#params),*) -> #private::nalgebra::SMatrix<#scalar, #n, #n> #where_clause {
                #(#statements)*
                #private::nalgebra::SMatrix::from_array_storage(#private::nalgebra::ArrayStorage([#(#rows),*]))
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[inline]
        #[allow(unused_variables, clippy::too_many_arguments)]
        pub fn hvp #impl_generics (#(#params,)* #d_out #v: Grad #ty_generics) -> Grad #ty_generics #where_clause {
            let Grad { #( #fields: #v_names ),* } = #v;
            #( let #borrowed = &#borrowed; )*
            #(#statements)*
            Grad { #( #fields: #outputs ),* }
        }

        #hessian
    }
}

/// What a graph tells about itself: `check_gradient`, its operation counts (`FORWARD_OPS`,
/// `BACKWARD_OPS`) and, with `#[dot]`, its picture (`DOT`, `dot`).
fn inspection_items(def: &GraphDef, program: &Program, target: &Target) -> TokenStream {
    let Form::Item { name, generics, .. } = &def.form else {
        return TokenStream::new();
    };
    let (forward_graph, output) = (&program.forward.0, program.forward.1);
    let shapes: Vec<Shape> = forward_graph
        .inputs
        .iter()
        .map(|input| input.shape.clone())
        .collect();
    let signature = InspectionSignature {
        params: &params(def, &shapes, target),
        shapes: &shapes,
        output: &forward_graph.node(output).shape,
        generics,
    };
    let check = check_gradient_item(def, &signature, target);
    let costs = cost_consts(
        crate::passes::cost::operations(forward_graph),
        crate::passes::cost::operations(&program.backward.0),
    );
    let picture = def
        .options
        .dot
        .then(|| picture_items(def, program, &name.to_string(), &signature, target));
    quote!(#check #costs #picture)
}

/// What the inspection items share with the graph's other functions.
struct InspectionSignature<'a> {
    params: &'a [TokenStream],
    shapes: &'a [Shape],
    output: &'a Shape,
    generics: &'a syn::Generics,
}

/// `check_gradient(args…)`: `backward` against central differences of `forward` (seeded with
/// the runtime's fixed `d_out` for a matrix output), by the runtime's `check::check_gradient`.
fn check_gradient_item(
    def: &GraphDef,
    signature: &InspectionSignature,
    target: &Target,
) -> TokenStream {
    let private = &target.private;
    let (impl_generics, ty_generics, where_clause) = signature.generics.split_for_impl();
    let params = signature.params;
    let point = Ident::new("point", Span::mixed_site());
    let d_out = d_out();
    let by_ref = |shape: &Shape| target.by_ref && !shape.is_scalar();
    // The point as a `Grad`, and `forward`'s arguments read from a point: the parameters that
    // are not `#[no_grad]` come from it, the others stay as given.
    let fields = def
        .params
        .iter()
        .zip(signature.shapes)
        .filter(|(param, _)| param.requires_grad)
        .map(|(param, shape)| {
            let name = &param.name;
            if by_ref(shape) {
                quote!(#name: *#name)
            } else {
                quote!(#name)
            }
        });
    let arguments = def
        .params
        .iter()
        .zip(signature.shapes)
        .map(|(param, shape)| {
            let name = &param.name;
            match (param.requires_grad, by_ref(shape)) {
                (true, true) => quote!(&#point.#name),
                (true, false) => quote!(#point.#name),
                (false, _) => quote!(#name),
            }
        });
    let names = def.params.iter().map(|param| &param.name);
    let output_type = type_of(signature.output, target);
    // `self::`: a parameter may be called `forward` or `backward`.
    let forward = quote!(self::forward(#(#arguments),*));
    let (seed, projection) = if signature.output.is_scalar() {
        (literal(1.0, target.real).tokens, forward)
    } else {
        (
            quote!(#private::check::vjp_seed()),
            quote!(#d_out.dot(&#forward)),
        )
    };
    let d_out_argument = if by_ref(signature.output) {
        quote!(&#d_out)
    } else {
        quote!(#d_out)
    };
    quote! {
        /// Checks `backward` at this point against central differences of `forward`: `Ok`,
        /// or the worst element of all parameters with both values and their relative error.
        /// A test helper, not for hot paths: it runs `forward` twice per parameter element.
        /// Steps and tolerances are those of `chainrule::check`; a matrix output is checked
        /// through ⟨d_out, forward⟩ with the fixed `d_out` of `chainrule::check::vjp_seed`.
        #[allow(unused_variables, clippy::too_many_arguments)]
        pub fn check_gradient #impl_generics (#(#params),*) -> ::core::result::Result<(), #private::check::GradientMismatch> #where_clause {
            let #d_out: #output_type = #seed;
            let #point = Grad { #(#fields),* };
            #private::check::check_gradient(
                &#point,
                &self::backward(#(#names,)* #d_out_argument),
                |#point: &Grad #ty_generics| #projection,
            )
        }
    }
}

/// `FORWARD_OPS` and `BACKWARD_OPS`, counted by `cost`.
fn cost_consts(forward: u64, backward: u64) -> TokenStream {
    let (forward, backward) = (
        Literal::u64_unsuffixed(forward),
        Literal::u64_unsuffixed(backward),
    );
    quote! {
        /// The scalar operations `forward` performs: one per element of an element-wise
        /// operation, one per multiply-add of a matrix product, one per element a reduction
        /// reads; inputs, constants, transposes and broadcasts count nothing, and a
        /// const-generic dimension counts as 1.
        pub const FORWARD_OPS: u64 = #forward;
        /// The scalar operations `backward` performs, counted as `FORWARD_OPS` is, the forward
        /// values it recomputes included: by the cheap-gradient principle, a small multiple of
        /// `FORWARD_OPS`.
        pub const BACKWARD_OPS: u64 = #backward;
    }
}

/// With `#[dot]`: `DOT`, the structure in Graphviz's language, and `dot(args…)`, the same
/// labelled with values, adjoints and partials at a point (see `dot`).
fn picture_items(
    def: &GraphDef,
    program: &Program,
    name: &str,
    signature: &InspectionSignature,
    target: &Target,
) -> TokenStream {
    let lets: HashSet<String> = def
        .body
        .lets
        .iter()
        .map(|binding| binding.name.to_string())
        .collect();
    let (forward_graph, output) = (&program.forward.0, program.forward.1);
    let picture =
        crate::passes::dot::picture(forward_graph, output, &name.replace("r#", ""), &lets);
    let structure = &picture.structure;
    let numbers = body(&picture.values, &picture.outputs, target);
    let statements = &numbers.statements;
    let values = numbers.outputs.iter().map(|value| match target.real {
        Real::F64 => value.clone(),
        Real::F32 => quote!(<::core::primitive::f64 as ::core::convert::From<f32>>::from(#value)),
    });
    let pieces = &picture.pieces;
    let private = &target.private;
    let (impl_generics, _, where_clause) = signature.generics.split_for_impl();
    let params = signature.params;
    quote! {
        /// The graph in Graphviz's DOT language: a node per parameter (an ellipse, dashed if
        /// `#[no_grad]`), per `let` and for the output (doubly outlined), labelled as written,
        /// and an edge from each operand to its user. Render it with `dot -Tsvg`, or any
        /// layout crate.
        pub const DOT: &str = #structure;

        /// `DOT` labelled at this point: each node with its value (a matrix with its shape)
        /// and its adjoint ∂output/∂node (a matrix with its norm; for a matrix output, of the
        /// sum of its elements), each edge between scalars with the partial ∂user/∂operand.
        /// The product of the partials along a path is the chain rule.
        #[allow(unused_variables, clippy::too_many_arguments)]
        pub fn dot #impl_generics (#(#params),*) -> ::std::string::String #where_clause {
            #(#statements)*
            #private::render_dot(&[#(#pieces),*], &[#(#values),*])
        }
    }
}

/// What the tape functions share with the graph's other functions.
struct TapeSignature<'a> {
    params: &'a [TokenStream],
    output_type: &'a TokenStream,
    d_out_type: &'a TokenStream,
    generics: &'a syn::Generics,
}

/// With `#[tape]`: the `Tape` struct of saved values, `forward_with_tape` and
/// `backward_with_tape`, the backward pass split at its seed (see `split`).
fn tape_functions(
    split: &Split,
    signature: &TapeSignature,
    fields: &[&Ident],
    target: &Target,
) -> TokenStream {
    let names: Vec<&Ident> = split.saved.iter().map(|saved| &saved.name).collect();
    let notes: Vec<String> = split
        .saved
        .iter()
        .map(|saved| format!(" {}", saved.note))
        .collect();
    let types: Vec<TokenStream> = split
        .saved
        .iter()
        .map(|saved| type_of(&saved.shape, target))
        .collect();
    let forward = body(&split.forward.0, &split.forward.1, target);
    let (statements, output, values) = (
        &forward.statements,
        &forward.outputs[0],
        &forward.outputs[1..],
    );
    let backward = body(&split.backward.0, &split.backward.1, target);
    let (backward_statements, grads) = (&backward.statements, &backward.outputs);
    let TapeSignature {
        params,
        output_type,
        d_out_type,
        generics,
    } = signature;
    // Under `#[by_ref]`, the backward pass reads every matrix input through a reference.
    let borrowed: Vec<&Ident> = split
        .saved
        .iter()
        .filter(|saved| target.by_ref && !saved.shape.is_scalar())
        .map(|saved| &saved.name)
        .collect();
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let tape = Ident::new("tape", Span::mixed_site());
    let d_out = d_out();
    quote! {
        /// The forward values the backward pass needs, saved by `forward_with_tape`.
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::cmp::PartialEq)]
        pub struct Tape #impl_generics #where_clause {
            #( #[doc = #notes] pub #names: #types, )*
        }

        /// The forward pass, saving what `backward_with_tape` needs.
        #[inline]
        #[allow(unused_variables, clippy::too_many_arguments)]
        pub fn forward_with_tape #impl_generics (#(#params),*) -> (#output_type, Tape #ty_generics) #where_clause {
            #(#statements)*
            (#output, Tape { #( #names: #values ),* })
        }

        /// The backward pass from a tape: the same gradient as `backward`, without running
        /// the forward pass again.
        #[inline]
        #[allow(unused_variables, clippy::too_many_arguments)]
        pub fn backward_with_tape #impl_generics (#tape: Tape #ty_generics, #(#params,)* #d_out: #d_out_type) -> Grad #ty_generics #where_clause {
            let Tape { #( #names ),* } = #tape;
            #( let #borrowed = &#borrowed; )*
            #(#backward_statements)*
            Grad { #( #fields: #grads ),* }
        }
    }
}

/// What an erroneous graph expands to: its errors, and (when the signature is sound) a stub
/// with the right signatures, so the user's calls type-check and only the real error shows.
/// A closure graph's errors and stub go in one block: the macro is an expression there.
pub fn after_errors(
    def: &GraphDef,
    errors: TokenStream,
    signature: Option<&Signature>,
) -> TokenStream {
    match (&def.form, signature) {
        (Form::Item { .. }, None) => errors,
        (Form::Item { .. }, Some(signature)) => {
            let stub = item_stub(def, signature);
            quote!(#errors #stub)
        }
        (Form::Closure { .. }, None) => quote!({ #errors ::core::unimplemented!() }),
        (Form::Closure { span }, Some(signature)) => {
            let target = &Target::new(def, signature.real);
            let scalar = type_of(&Shape::Scalar, target);
            let params = params(def, &signature.params, target);
            let n_grads = def
                .params
                .iter()
                .filter(|param| param.requires_grad)
                .count();
            let graph_type = Ident::new("Graph", *span);
            let d_out = d_out();
            quote! {
                {
                    #errors
                    struct #graph_type;
                    #[allow(dead_code, unused_variables, clippy::too_many_arguments)]
                    impl #graph_type {
                        fn forward(&self, #(#params),*) -> #scalar {
                            ::core::unimplemented!()
                        }
                        fn backward(&self, #(#params,)* #d_out: #scalar) -> [#scalar; #n_grads] {
                            ::core::unimplemented!()
                        }
                        fn value_and_grad(&self, #(#params),*) -> (#scalar, [#scalar; #n_grads]) {
                            ::core::unimplemented!()
                        }
                    }
                    #graph_type
                }
            }
        }
    }
}

fn item_stub(def: &GraphDef, signature: &Signature) -> TokenStream {
    let Form::Item {
        docs,
        vis,
        name,
        generics,
        ..
    } = &def.form
    else {
        return TokenStream::new();
    };
    let target = &Target::new(def, signature.real);
    let output = signature.output.clone().unwrap_or(Shape::Scalar);
    let output_type = type_of(&output, target);
    let d_out_type = target.param_type(&output);
    let scalar = type_of(&Shape::Scalar, target);
    let params = params(def, &signature.params, target);
    let d_out = d_out();
    let grad = grad_struct(def, &signature.params, target, generics);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let value_and_grad = output.is_scalar().then(|| {
        quote! {
            pub fn value_and_grad #impl_generics (#(#params),*) -> (#scalar, Grad #ty_generics) #where_clause {
                ::core::unimplemented!()
            }
        }
    });
    let tape = def.options.tape.then(|| {
        let tape = Ident::new("tape", Span::mixed_site());
        quote! {
            pub struct Tape #impl_generics #where_clause {}
            pub fn forward_with_tape #impl_generics (#(#params),*) -> (#output_type, Tape #ty_generics) #where_clause {
                ::core::unimplemented!()
            }
            pub fn backward_with_tape #impl_generics (#tape: Tape #ty_generics, #(#params,)* #d_out: #d_out_type) -> Grad #ty_generics #where_clause {
                ::core::unimplemented!()
            }
        }
    });
    let second_order = def.options.hessian.then(|| {
        let v = Ident::new("v", Span::mixed_site());
        let d_out = (!output.is_scalar()).then(|| quote!(#d_out: #d_out_type,));
        let differentiable: Vec<&Shape> = def
            .params
            .iter()
            .zip(&signature.params)
            .filter(|(param, _)| param.requires_grad)
            .map(|(_, shape)| shape)
            .collect();
        let hessian = (output.is_scalar() && differentiable.iter().all(|shape| shape.is_scalar()))
            .then(|| {
                let n = Literal::usize_unsuffixed(differentiable.len());
                let private = &target.private;
                quote! {
                    pub fn hessian #impl_generics (#(#params),*) -> #private::nalgebra::SMatrix<#scalar, #n, #n> #where_clause {
                        ::core::unimplemented!()
                    }
                }
            });
        quote! {
            pub fn hvp #impl_generics (#(#params,)* #d_out #v: Grad #ty_generics) -> Grad #ty_generics #where_clause {
                ::core::unimplemented!()
            }
            #hessian
        }
    });
    let inspection = inspection_stub(def, &params, generics, target);
    quote! {
        #(#docs)*
        #[allow(unused_variables, clippy::too_many_arguments)]
        #vis mod #name {
            #grad
            pub fn forward #impl_generics (#(#params),*) -> #output_type #where_clause {
                ::core::unimplemented!()
            }
            pub fn backward #impl_generics (#(#params,)* #d_out: #d_out_type) -> Grad #ty_generics #where_clause {
                ::core::unimplemented!()
            }
            #value_and_grad
            #tape
            #second_order
            #inspection
        }
    }
}

/// The stub's `check_gradient`, operation counts and (with `#[dot]`) `DOT` and `dot`.
fn inspection_stub(
    def: &GraphDef,
    params: &[TokenStream],
    generics: &syn::Generics,
    target: &Target,
) -> TokenStream {
    let private = &target.private;
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let picture = def.options.dot.then(|| {
        quote! {
            pub const DOT: &str = "";
            pub fn dot #impl_generics (#(#params),*) -> ::std::string::String #where_clause {
                ::core::unimplemented!()
            }
        }
    });
    quote! {
        pub fn check_gradient #impl_generics (#(#params),*) -> ::core::result::Result<(), #private::check::GradientMismatch> #where_clause {
            ::core::unimplemented!()
        }
        pub const FORWARD_OPS: u64 = 0;
        pub const BACKWARD_OPS: u64 = 0;
        #picture
    }
}
