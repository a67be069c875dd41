//! Expressions: one node as Rust, on nalgebra and the runtime's helpers. Scalars are written
//! as the formula; matrices use nalgebra's operators where they exist, `map`/`zip_map` of the
//! scalar formula otherwise, and a few peepholes pick nalgebra's fused forms (`sum(d∘d)` is
//! `norm_squared()`, `Aᵀ·B` is `tr_mul`). Products of matrices call the runtime's kernels.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

use super::target::{dim, type_of, Target};
use crate::compile::api::Plan;
use crate::ir::{Func, Graph, Kind, NodeId, Op, Shape};
use crate::syntax::signature::Real;

mod images;

/// Operator precedence of an emitted expression, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Prec {
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
pub struct Fragment {
    pub tokens: TokenStream,
    pub prec: Prec,
}

impl Fragment {
    pub fn atom(tokens: TokenStream) -> Fragment {
        Fragment {
            tokens,
            prec: Prec::Atom,
        }
    }

    /// The same expression as one invisible (`Delimiter::None`) group: interpolating it into
    /// its user then copies one token tree instead of every token. Without this, inlining a
    /// long sum term by term copies each prefix again, quadratic work for linear output.
    /// Parentheses stay explicit (`at_least`), so the printed code is unchanged.
    pub fn sealed(self) -> Fragment {
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
    pub fn at_least(&self, min: Prec) -> TokenStream {
        let tokens = &self.tokens;
        if self.prec < min {
            quote!((#tokens))
        } else {
            tokens.clone()
        }
    }
}

pub fn literal(value: f64, real: Real) -> Fragment {
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
        // An `f32` graph's constant with `f32`'s digits: clippy's `excessive_precision`
        // rejects more.
        None => match real {
            Real::F64 => Literal::f64_unsuffixed(value.abs()).into_token_stream(),
            Real::F32 if (value as f32).is_finite() => {
                Literal::f32_unsuffixed(value.abs() as f32).into_token_stream()
            }
            Real::F32 => {
                let infinity = if value > 0.0 {
                    quote!(INFINITY)
                } else {
                    quote!(NEG_INFINITY)
                };
                return Fragment::atom(quote!(::core::primitive::f32::#infinity));
            }
        },
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
pub struct Context<'a> {
    pub graph: &'a Graph,
    pub target: &'a Target,
    pub fragments: &'a [Fragment],
    /// `bound[i]`: node `i` has a `let`; otherwise its fragment is written inline.
    pub bound: &'a [bool],
    /// Which nodes are vectorised, and which are fused into loops.
    pub plan: &'a Plan,
}

impl Context<'_> {
    pub fn operand(&self, id: NodeId) -> &Fragment {
        &self.fragments[id.index()]
    }

    fn is_matrix(&self, id: NodeId) -> bool {
        !self.graph.node(id).shape.is_scalar()
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

    pub fn by_ref(&self, id: NodeId) -> TokenStream {
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
            repeated_product(&operands[0], n)
        }
        Op::Powi(_, n) => method("powi", quote!(#n)),
        Op::Pow(..) => method("powf", second()),
        Op::Max(..) => method("max", second()),
        Op::Min(..) => method("min", second()),
        Op::Gt(..) => indicator(&operands[0], &operands[1], real),
        Op::Atan2(..) => method("atan2", second()),
        Op::Hypot(..) => method("hypot", second()),
        Op::Call(Func::Primitive(_), _) | Op::Derivative(..) => primitive(op, target, operands),
        Op::Call(Func::Log1p, _) => method("ln_1p", TokenStream::new()),
        Op::Call(Func::Expm1, _) => method("exp_m1", TokenStream::new()),
        Op::Call(func, _) if in_runtime(func) => {
            let runtime = &target.private;
            let name = Ident::new(func.name(), span);
            let arg = operands[0].at_least(Prec::Conditional);
            Fragment::atom(quote!(#runtime::#name(#arg)))
        }
        Op::Call(func, _) => method(func.name(), TokenStream::new()),
        _ => unreachable!("{op:?} is not element-wise"),
    }
}

/// The expression of node `id`, one arm a line: scalars as the formula, matrices on
/// nalgebra and the runtime's helpers.
pub fn expression(context: &Context, id: NodeId) -> Fragment {
    let node = context.graph.node(id);
    let span = node.span;
    let scalars = node
        .op
        .operands()
        .all(|operand| !context.is_matrix(operand));
    let method = |a: NodeId, name: &str| context.method(a, name, TokenStream::new());
    match node.op {
        Op::Input(n) => input(context, n),
        Op::Const(c) => literal(c.0, context.target.real),
        _ if scalars && node.shape.is_scalar() => scalar_expression(context, id),
        Op::Call(_, a) if context.plan.vectorised(id).is_some() => {
            super::fused::vectorised(context, id, a)
        }
        Op::MatMul(a, b) if context.is_matrix(a) && context.is_matrix(b) => {
            kernel_product(context, a, b, span)
        }
        Op::MatMul(a, b) => product(context, a, b, span),
        // Only `diff` treats it differently from its operand.
        Op::StopGradient(a) => context.operand(a).clone(),
        Op::Transpose(a) => method(a, "transpose"),
        Op::Sum(a) => sum(context, a),
        Op::MaxElement(a) => method(a, "max"),
        Op::Count(a) => {
            let (count, ty) = (
                method(a, "len").tokens,
                format_ident!("{}", context.target.real.name()),
            );
            Fragment::atom(quote!((#count as #ty)))
        }
        Op::Broadcast(a) if node.shape.may_be_large() => filled(context, a, &node.shape, span),
        Op::Broadcast(a) => broadcast(context, a, &node.shape),
        Op::SpreadColumn(a) => spread(context, "spread_column", a, &node.shape, span),
        Op::SpreadRow(a) => spread(context, "spread_row", a, &node.shape, span),
        // nalgebra names a reduction by the shape of its result: `column_sum` is the column
        // of each row's sum.
        Op::RowSums(a) => method(a, "column_sum"),
        Op::ColumnSums(a) => method(a, "row_sum"),
        Op::ColumnMaxes(a) => {
            let helper = Ident::new("column_maxes", span);
            let (private, operand) = (&context.target.private, context.by_ref(a));
            Fragment::atom(quote!(#private::#helper(#operand)))
        }
        Op::Add(..) if context.plan.biased(id).is_some() => {
            images::expression(context, images::biased(context, id), &node.shape, span)
        }
        op if op.window().is_some() => images::expression(context, (op, None), &node.shape, span),
        // Element-wise on matrices.
        op if node.shape.may_be_large() => in_place(context, op, span),
        op => elementwise(context, op, span),
    }
}

/// An input by its name; under `#[by_ref]` a matrix input is a reference, read in place
/// (`&(*w)` borrows it again, with no copy).
fn input(context: &Context, n: u16) -> Fragment {
    let input = &context.graph.inputs[usize::from(n)];
    let name = &input.name;
    if context.target.by_ref && !input.shape.is_scalar() {
        Fragment::atom(quote!((*#name)))
    } else {
        Fragment::atom(quote!(#name))
    }
}

/// A node whose operands and result are scalars: the formula as written.
fn scalar_expression(context: &Context, id: NodeId) -> Fragment {
    let node = context.graph.node(id);
    let mut fragments: Vec<Fragment> = node
        .op
        .operands()
        .map(|operand| context.operand(operand).clone())
        .collect();
    match node.op {
        // `simplify` removes these on scalars; if one remains, it means what it means on a
        // 1×1 matrix, as in `eval`.
        Op::Count(_) => literal(1.0, context.target.real),
        _ if !matches!(node.op.kind(), Kind::Elementwise) => fragments.swap_remove(0),
        _ => formula(context, id, fragments),
    }
}

/// The scalar formula of element-wise node `id`, given a fragment per operand (the operands
/// themselves, or one element of each).
pub fn formula(context: &Context, id: NodeId, mut fragments: Vec<Fragment>) -> Fragment {
    let node = context.graph.node(id);
    if let Some(first) = node.op.operands().next() {
        // A constant receiver needs its type: `2.0.powf(x)` is ambiguous.
        if is_method(node.op) && matches!(context.graph.node(first).op, Op::Const(_)) {
            fragments[0] = Fragment::atom(context.receiver(first));
        }
    }
    scalar_formula(node.op, context.target, &fragments, node.span)
}

/// A product of matrices goes to the runtime's kernels, which choose between nalgebra's
/// unrolled code, a small-product kernel and a blocked one by its sizes (at compile time:
/// they may be const generics, known only to rustc), and read a transposed operand in place.
fn kernel_product(context: &Context, a: NodeId, b: NodeId, span: Span) -> Fragment {
    let (kernel, a, b) = kernel_operands(context, a, b);
    let kernel = Ident::new(kernel, span);
    let private = &context.target.private;
    Fragment::atom(quote!(#private::#kernel(#a, #b)))
}

/// The kernel of the product `a·b` and its operands by reference: `matmul_tn` reads an
/// inlined transpose of `a` in place, `matmul_nt` one of `b`.
fn kernel_operands(
    context: &Context,
    a: NodeId,
    b: NodeId,
) -> (&'static str, TokenStream, TokenStream) {
    let (kernel, a, b) = match (context.inlined_op(a), context.inlined_op(b)) {
        (Some(Op::Transpose(inner)), _) => ("matmul_tn", inner, b),
        (_, Some(Op::Transpose(inner))) => ("matmul_nt", a, inner),
        _ => ("matmul", a, b),
    };
    (kernel, context.by_ref(a), context.by_ref(b))
}

/// Node `id` written into `place` (a `&mut` binding to memory the caller owns): a product of
/// matrices by the runtime's kernel straight into it, anything else by assignment.
pub fn write_into(context: &Context, id: NodeId, place: &TokenStream) -> TokenStream {
    let node = context.graph.node(id);
    match node.op {
        Op::MatMul(a, b) if context.is_matrix(a) && context.is_matrix(b) => {
            let (kernel, a, b) = kernel_operands(context, a, b);
            let kernel = Ident::new(&format!("{kernel}_into"), node.span);
            let private = &context.target.private;
            quote!(#private::#kernel(#place, #a, #b))
        }
        Op::Call(_, a) if context.plan.vectorised(id).is_some() => {
            super::fused::vectorised_into(context, id, a, place)
        }
        Op::Add(..) if context.plan.biased(id).is_some() => images::write_into(
            context,
            images::biased(context, id),
            &node.shape,
            node.span,
            place,
        ),
        op if op.window().is_some() => {
            images::write_into(context, (op, None), &node.shape, node.span, place)
        }
        op if node.shape.may_be_large() && matches!(op.kind(), Kind::Elementwise) => {
            in_place_into(context, op, node.span, place)
        }
        _ => {
            let value = expression(context, id).at_least(Prec::Conditional);
            quote!(*#place = #value)
        }
    }
}

/// A product with a scalar: nalgebra's `*`.
fn product(context: &Context, a: NodeId, b: NodeId, span: Span) -> Fragment {
    let (lhs, rhs) = (
        context.operand(a).at_least(Prec::Mul),
        context.operand(b).at_least(Prec::Prefix),
    );
    Fragment {
        tokens: quote_spanned!(span=> #lhs * #rhs),
        prec: Prec::Mul,
    }
}

/// `sum(a)`, with nalgebra's fused forms for a sum of squares or of products.
fn sum(context: &Context, a: NodeId) -> Fragment {
    match context.inlined_op(a) {
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
    }
}

/// A scalar repeated into `shape`: `zeros()` for 0.
fn broadcast(context: &Context, a: NodeId, shape: &Shape) -> Fragment {
    let ty = type_of(shape, context.target);
    match context.graph.node(a).op {
        Op::Const(c) if c.0 == 0.0 => Fragment::atom(quote!(<#ty>::zeros())),
        _ => {
            let value = context.operand(a).at_least(Prec::Conditional);
            Fragment::atom(quote!(<#ty>::repeat(#value)))
        }
    }
}

/// A column or row repeated into `shape`: a runtime helper (nalgebra has none), taking its
/// operand by reference so an inlined operand is computed once.
fn spread(context: &Context, helper: &str, a: NodeId, shape: &Shape, span: Span) -> Fragment {
    let helper = Ident::new(helper, span);
    let Shape::Matrix { rows, cols } = shape else {
        unreachable!("a spread's shape is a matrix's")
    };
    let (scalar, rows, cols) = (
        format_ident!("{}", context.target.real.name()),
        dim(rows),
        dim(cols),
    );
    let (private, operand) = (&context.target.private, context.by_ref(a));
    Fragment::atom(quote!(#private::#helper::<#scalar, #rows, #cols>(#operand)))
}

/// Functions the runtime computes (in numerically stable forms, or absent from std).
fn in_runtime(func: Func) -> bool {
    matches!(
        func,
        Func::Sigmoid
            | Func::Relu
            | Func::Softplus
            | Func::Sign
            | Func::LnOrZero
            | Func::RecipOrZero
            | Func::Erf
            | Func::NormalCdf
            | Func::Gelu
            | Func::Silu
    )
}

/// A user's primitive, or its first or second derivative, through its trait.
fn primitive(op: Op, target: &Target, operands: &[Fragment]) -> Fragment {
    let (name, trait_name, function) = match op {
        Op::Derivative(name, 2, ..) => (name, "SecondDerivative", "second_derivative"),
        Op::Derivative(name, ..) => (name, "Primitive", "derivative"),
        Op::Call(Func::Primitive(name), _) => (name, "Primitive", "value"),
        _ => unreachable!("{op:?} is not a primitive's"),
    };
    let function = target.primitive(name.as_str(), trait_name, function);
    let args = operands
        .iter()
        .map(|operand| operand.at_least(Prec::Conditional));
    Fragment::atom(quote!(#function(#(#args),*)))
}

/// `x * x` or `x * x * x`, for a square or cube of a name.
fn repeated_product(base: &Fragment, n: i32) -> Fragment {
    let base = &base.tokens;
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

/// `if a > b { 1.0 } else { 0.0 }`.
fn indicator(a: &Fragment, b: &Fragment, real: Real) -> Fragment {
    let (lhs, rhs) = (a.at_least(Prec::Add), b.at_least(Prec::Mul));
    let (one, zero) = (literal(1.0, real).tokens, literal(0.0, real).tokens);
    Fragment {
        tokens: quote!(if #lhs > #rhs { #one } else { #zero }),
        prec: Prec::Conditional,
    }
}

/// An element-wise operation with at least one matrix operand: nalgebra's operators where
/// they exist, `map`/`zip_map` of the scalar formula otherwise.
fn elementwise(context: &Context, op: Op, span: Span) -> Fragment {
    let operands: Vec<NodeId> = op.operands().collect();
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
        _ if both_matrices => zip_map(context, op, span),
        _ => map(context, op, span),
    }
}

/// An element-wise operation on a large matrix: the runtime's `map` or `zip_map`, which fill
/// the result in place (see `Shape::may_be_large`).
fn in_place(context: &Context, op: Op, span: Span) -> Fragment {
    let (helper, arguments) = in_place_call(context, op, span, "");
    let private = &context.target.private;
    Fragment::atom(quote!(#private::#helper(#(#arguments),*)))
}

/// [`in_place`] written into `place`: `map_into(place, &a, |e| formula)`.
fn in_place_into(context: &Context, op: Op, span: Span, place: &TokenStream) -> TokenStream {
    let (helper, arguments) = in_place_call(context, op, span, "_into");
    let private = &context.target.private;
    quote!(#private::#helper(#place, #(#arguments),*))
}

/// The runtime's helper for an element-wise operation on a large matrix (`map` or `zip_map`,
/// then `suffix`) and its arguments.
fn in_place_call(context: &Context, op: Op, span: Span, suffix: &str) -> (Ident, Vec<TokenStream>) {
    let operands: Vec<NodeId> = op.operands().collect();
    if operands.len() == 2 && operands.iter().all(|operand| context.is_matrix(*operand)) {
        let closure = zip_closure(context, op, span);
        let (a, b) = (context.by_ref(operands[0]), context.by_ref(operands[1]));
        return (format_ident!("zip_map{suffix}"), vec![a, b, closure]);
    }
    let (matrix, formula) = map_formula(context, op, span);
    let (matrix, x) = (context.by_ref(matrix), element("e").tokens);
    (
        format_ident!("map{suffix}"),
        vec![matrix, quote!(|#x| #formula)],
    )
}

/// A scalar repeated into a large `shape`, filled in place.
fn filled(context: &Context, a: NodeId, shape: &Shape, span: Span) -> Fragment {
    let Shape::Matrix { rows, cols } = shape else {
        unreachable!("a broadcast's shape is a matrix's")
    };
    let (private, helper) = (&context.target.private, Ident::new("filled", span));
    let scalar = format_ident!("{}", context.target.real.name());
    let (rows, cols) = (dim(rows), dim(cols));
    let value = context.operand(a).at_least(Prec::Conditional);
    Fragment::atom(quote!(#private::#helper::<#scalar, #rows, #cols>(#value)))
}

/// `a.zip_map(&b, |l, r| formula)`.
fn zip_map(context: &Context, op: Op, span: Span) -> Fragment {
    let operands: Vec<NodeId> = op.operands().collect();
    let (other, closure) = (context.by_ref(operands[1]), zip_closure(context, op, span));
    context.method(operands[0], "zip_map", quote!(#other, #closure))
}

/// `|l, r| formula`: the scalar formula of `op` on one element of each operand.
fn zip_closure(context: &Context, op: Op, span: Span) -> TokenStream {
    let (x, y) = (element("l"), element("r"));
    let formula = scalar_formula(op, context.target, &[x.clone(), y.clone()], span).tokens;
    let (x, y) = (x.tokens, y.tokens);
    quote!(|#x, #y| #formula)
}

/// `a.map(|e| formula)`: one matrix operand, the other operand (if any) captured.
fn map(context: &Context, op: Op, span: Span) -> Fragment {
    let (matrix, formula) = map_formula(context, op, span);
    let x = element("e").tokens;
    context.method(matrix, "map", quote!(|#x| #formula))
}

/// The matrix operand of `op` and the scalar formula of one of its elements, `e`.
fn map_formula(context: &Context, op: Op, span: Span) -> (NodeId, TokenStream) {
    let x = element("e");
    let matrix = op
        .operands()
        .find(|operand| context.is_matrix(*operand))
        .expect("a matrix operand");
    let fragments: Vec<Fragment> = op
        .operands()
        .enumerate()
        .map(|(k, operand)| match operand == matrix {
            true => x.clone(),
            // A constant receiver needs its type: `0.0.min(e)` is ambiguous.
            false if k == 0 && is_method(op) => Fragment::atom(context.receiver(operand)),
            false => context.operand(operand).clone(),
        })
        .collect();
    (
        matrix,
        scalar_formula(op, context.target, &fragments, span).tokens,
    )
}

/// Whether the scalar formula of `op` is a method call on its first operand.
fn is_method(op: Op) -> bool {
    matches!(
        op,
        Op::Pow(..)
            | Op::Max(..)
            | Op::Min(..)
            | Op::Atan2(..)
            | Op::Hypot(..)
            | Op::Powi(..)
            | Op::Call(..)
    )
}

/// The name of an element inside a `map` closure.
fn element(name: &str) -> Fragment {
    Fragment::atom(Ident::new(name, Span::mixed_site()).into_token_stream())
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
