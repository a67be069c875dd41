//! The derivative rules, one entry per primitive operation: how each passes its adjoint to its
//! operands, built as IR. IR in, IR out; never sees tokens.
//!
//! This is PyTorch's `tools/autograd/derivatives.yaml` and JAX's one rule per primitive: an
//! element-wise function is one [`Derivative`] in [`DERIVATIVES`], its slope f′ written in
//! terms of its argument `x` and its value `y` (`tanh: 1 - y²`), and every other operation is
//! one function below (`mul`, `matmul`, …), given its operands, that `apply` names. A new function extends the
//! table, not a `match` in `diff`.
//!
//! Every rule builds its product from operations that themselves have rules, so the backward
//! graph can be differentiated again (the Hessian-vector product does): `relu`'s slope is the
//! indicator `[x > 0]`, piecewise constant, so its own rule passes nothing; `abs`'s is
//! `sign(x)`, likewise; `pow`'s exponent slope uses `ln_or_zero`, whose slope `recip_or_zero`
//! is differentiable in turn. A user's primitive `f` has slope `f′(x, y)`, an
//! [`Op::Derivative`] node, whose own slope is `f″(x, y)`.

use proc_macro2::Span;

use crate::ir::{primes, Func, Graph, NodeId, Op, Symbol};

mod images;

/// One operand's share of the adjoint: `(operand, contribution, chain-rule note)`. The
/// contribution has the node's shape; `diff` sums it down to a broadcast scalar operand's.
pub type Product = (NodeId, NodeId, String);

/// For each operand `u` of `node` (`v`), the contribution `d_v · ∂v/∂u` as new nodes of
/// `graph`, and a note naming the chain-rule step, like `∂f/∂e = 1 - f²`.
pub fn vector_jacobian_products(graph: &mut Graph, node: NodeId, adjoint: NodeId) -> Vec<Product> {
    let op = graph.node(node).op;
    let mut vjp = Vjp {
        span: graph.node(node).span,
        v: graph.describe(node),
        dv: graph.describe(adjoint),
        graph,
        node,
        adjoint,
        products: Vec::new(),
    };
    apply(&mut vjp, op);
    vjp.products
}

/// The rule of each operation, given its operands: `derivatives.yaml` as a table, one arm a
/// line. No rule at all for inputs and constants; the piecewise-constant indicators `Gt` and
/// `sign`; the shifts `MaxElement` and `ColumnMaxes`, which `softmax` and `logsumexp` do not
/// depend on; `Count`, which reads only a shape; and `stop_gradient`.
fn apply(g: &mut Vjp, op: Op) {
    match op {
        Op::Input(_) | Op::Const(_) | Op::Gt(..) | Op::StopGradient(_) => {}
        Op::MaxElement(_) | Op::ColumnMaxes(_) | Op::Count(_) => {}
        Op::Call(Func::Primitive(name), x) => primitive(g, name, x),
        Op::Call(func, x) => function(g, func, x),
        Op::Derivative(name, order, x, y) => primitive_derivative(g, name, order, x, y),
        Op::Neg(a) => neg(g, a),
        Op::Add(a, b) => add(g, a, b),
        Op::Sub(a, b) => sub(g, a, b),
        Op::Mul(a, b) => mul(g, a, b),
        Op::Div(a, b) => div(g, a, b),
        Op::Pow(a, b) => pow(g, a, b),
        Op::Powi(a, n) => powi(g, a, n),
        Op::Max(a, b) => max_min(g, a, b, Op::Gt(a, b)),
        Op::Min(a, b) => max_min(g, a, b, Op::Gt(b, a)),
        Op::Atan2(y, x) => atan2(g, y, x),
        Op::Hypot(a, b) => hypot(g, a, b),
        Op::MatMul(a, b) => matmul(g, a, b),
        Op::Transpose(a) => transpose(g, a),
        Op::Sum(a) => sum(g, a),
        Op::Broadcast(a) => broadcast(g, a),
        Op::SpreadColumn(a) => spread_column(g, a),
        Op::SpreadRow(a) => spread_row(g, a),
        Op::RowSums(a) => row_sums(g, a),
        Op::ColumnSums(a) => column_sums(g, a),
        op if op.window().is_some() => images::apply(g, op),
        _ => unreachable!("every operation has a rule above"),
    }
}

/// An element-wise function of one argument: `d_x = d_v · f′(x)` (or `d_v / …`), by its
/// entry in [`DERIVATIVES`]; `sign`, piecewise constant, has none.
fn function(g: &mut Vjp, func: Func, x: NodeId) {
    let Some(entry) = derivative(func) else {
        return;
    };
    let slope = (entry.slope)(g, x, g.node);
    let note = entry
        .note
        .replace("{x}", &g.describe(x))
        .replace("{y}", &g.v);
    let contribution = match slope {
        Slope::Times(slope) => g.times(slope),
        Slope::Over(denominator) => g.push(Op::Div(g.adjoint, denominator)),
    };
    g.partial(x, contribution, &note);
}

/// What a rule builds with: the graph, the node `v` and its adjoint `d_v`, and how notes name
/// them.
pub struct Vjp<'g> {
    pub graph: &'g mut Graph,
    pub node: NodeId,
    pub adjoint: NodeId,
    span: Span,
    /// How notes name `v`.
    v: String,
    /// How notes name `d_v`: it may be shared, as `+` passes its adjoint through.
    dv: String,
    products: Vec<Product>,
}

impl Vjp<'_> {
    /// Appends an operation at the node's span.
    pub fn push(&mut self, op: Op) -> NodeId {
        self.graph.push_op(op, self.span)
    }

    pub fn constant(&mut self, value: f64) -> NodeId {
        self.graph.constant(value, self.span)
    }

    pub fn describe(&self, id: NodeId) -> String {
        self.graph.describe(id)
    }

    /// `d_v · slope`.
    fn times(&mut self, slope: NodeId) -> NodeId {
        self.push(Op::Mul(self.adjoint, slope))
    }

    /// Gives `operand` the contribution, noted `∂v/∂u = partial`.
    fn partial(&mut self, operand: NodeId, contribution: NodeId, partial: &str) {
        let note = format!("∂{}/∂{} = {partial}", self.v, self.describe(operand));
        self.products.push((operand, contribution, note));
    }

    /// Gives `operand` the contribution with a note of its own.
    fn give(&mut self, operand: NodeId, contribution: NodeId, note: String) {
        self.products.push((operand, contribution, note));
    }
}

/// A function's slope: the adjoint is multiplied by it, or divided by it (`ln`: `d_v / x`,
/// one division rather than a reciprocal and a product).
pub enum Slope {
    Times(NodeId),
    Over(NodeId),
}

/// One element-wise function's derivative, as `derivatives.yaml` writes one: the slope f′
/// built from the argument `x` and the value `y` (reusing `y` where the lecture does:
/// tanh′ = 1 − y², exp′ = y), and the note, with `{x}` and `{y}` standing for their names.
pub struct Derivative {
    pub func: Func,
    pub note: &'static str,
    pub slope: fn(&mut Vjp, NodeId, NodeId) -> Slope,
}

/// The derivative of `func`, if it has one (`sign` is piecewise constant; a primitive's is
/// its [`Op::Derivative`], not in the table).
pub fn derivative(func: Func) -> Option<&'static Derivative> {
    DERIVATIVES.iter().find(|entry| entry.func == func)
}

use Slope::{Over, Times};

/// Every element-wise function's derivative. Each slope is built from operations that have
/// rules themselves, so it can be differentiated again.
pub static DERIVATIVES: &[Derivative] = &[
    Derivative {
        func: Func::Sin,
        note: "cos({x})",
        slope: |g, x, _| Times(g.push(Op::Call(Func::Cos, x))),
    },
    Derivative {
        func: Func::Cos,
        note: "-sin({x})",
        slope: |g, x, _| {
            let sin = g.push(Op::Call(Func::Sin, x));
            Times(g.push(Op::Neg(sin)))
        },
    },
    Derivative {
        func: Func::Tan,
        note: "1 + {y}²",
        slope: |g, _, y| {
            let square = g.push(Op::Mul(y, y));
            let one = g.constant(1.0);
            Times(g.push(Op::Add(one, square)))
        },
    },
    Derivative {
        func: Func::Exp,
        note: "{y}",
        slope: |_, _, y| Times(y),
    },
    Derivative {
        func: Func::Ln,
        note: "1/{x}",
        slope: |_, x, _| Over(x),
    },
    Derivative {
        func: Func::Sqrt,
        note: "1/(2·{y})",
        slope: |g, _, y| {
            let two = g.constant(2.0);
            Over(g.push(Op::Mul(two, y)))
        },
    },
    Derivative {
        func: Func::Tanh,
        note: "1 - {y}²",
        slope: |g, _, y| {
            let square = g.push(Op::Mul(y, y));
            let one = g.constant(1.0);
            Times(g.push(Op::Sub(one, square)))
        },
    },
    Derivative {
        func: Func::Sigmoid,
        note: "{y}·(1 - {y})",
        slope: |g, _, y| {
            let one = g.constant(1.0);
            let complement = g.push(Op::Sub(one, y));
            Times(g.push(Op::Mul(y, complement)))
        },
    },
    Derivative {
        func: Func::Relu,
        note: "[{x} > 0]",
        slope: |g, x, _| {
            let zero = g.constant(0.0);
            Times(g.push(Op::Gt(x, zero)))
        },
    },
    Derivative {
        func: Func::Abs,
        note: "sign({x})",
        slope: |g, x, _| Times(g.push(Op::Call(Func::Sign, x))),
    },
    Derivative {
        func: Func::Softplus,
        note: "sigmoid({x})",
        slope: |g, x, _| Times(g.push(Op::Call(Func::Sigmoid, x))),
    },
    Derivative {
        func: Func::Atan,
        note: "1/(1 + {x}²)",
        slope: |g, x, _| {
            let one = g.constant(1.0);
            let square = g.push(Op::Mul(x, x));
            Over(g.push(Op::Add(one, square)))
        },
    },
    Derivative {
        func: Func::Asin,
        note: "1/√(1 - {x}²)",
        slope: |g, x, _| Over(unit_root(g, x)),
    },
    Derivative {
        func: Func::Acos,
        note: "-1/√(1 - {x}²)",
        slope: |g, x, _| {
            let root = unit_root(g, x);
            Over(g.push(Op::Neg(root)))
        },
    },
    Derivative {
        func: Func::Sinh,
        note: "cosh({x})",
        slope: |g, x, _| Times(g.push(Op::Call(Func::Cosh, x))),
    },
    Derivative {
        func: Func::Cosh,
        note: "sinh({x})",
        slope: |g, x, _| Times(g.push(Op::Call(Func::Sinh, x))),
    },
    Derivative {
        func: Func::Asinh,
        note: "1/√({x}² + 1)",
        // hypot(x, 1) rather than √(x² + 1): no overflow for |x| > 1e154.
        slope: |g, x, _| {
            let one = g.constant(1.0);
            Over(g.push(Op::Hypot(x, one)))
        },
    },
    Derivative {
        func: Func::Erf,
        note: "2/√π·e^(-{x}²)",
        slope: |g, x, _| {
            let square = g.push(Op::Mul(x, x));
            let exponent = g.push(Op::Neg(square));
            let exp = g.push(Op::Call(Func::Exp, exponent));
            let scale = g.constant(std::f64::consts::FRAC_2_SQRT_PI);
            Times(g.push(Op::Mul(scale, exp)))
        },
    },
    Derivative {
        func: Func::NormalCdf,
        note: "φ({x})",
        slope: |g, x, _| Times(normal_pdf(g, x)),
    },
    Derivative {
        func: Func::Gelu,
        note: "Φ({x}) + {x}·φ({x})",
        slope: |g, x, _| {
            let cdf = g.push(Op::Call(Func::NormalCdf, x));
            let pdf = normal_pdf(g, x);
            let scaled = g.push(Op::Mul(x, pdf));
            Times(g.push(Op::Add(cdf, scaled)))
        },
    },
    Derivative {
        func: Func::Silu,
        note: "sigmoid({x}) + {y}·(1 - sigmoid({x}))",
        // σ + x·σ·(1 − σ), with x·σ the value itself.
        slope: |g, x, y| {
            let sigmoid = g.push(Op::Call(Func::Sigmoid, x));
            let one = g.constant(1.0);
            let complement = g.push(Op::Sub(one, sigmoid));
            let scaled = g.push(Op::Mul(y, complement));
            Times(g.push(Op::Add(sigmoid, scaled)))
        },
    },
    Derivative {
        func: Func::Log1p,
        note: "1/(1 + {x})",
        slope: |g, x, _| {
            let one = g.constant(1.0);
            Over(g.push(Op::Add(one, x)))
        },
    },
    Derivative {
        func: Func::Expm1,
        note: "{y} + 1",
        slope: |g, _, y| {
            let one = g.constant(1.0);
            Times(g.push(Op::Add(y, one)))
        },
    },
    Derivative {
        func: Func::Log2,
        note: "1/({x}·ln 2)",
        slope: |g, x, _| {
            let ln2 = g.constant(std::f64::consts::LN_2);
            Over(g.push(Op::Mul(x, ln2)))
        },
    },
    Derivative {
        func: Func::Log10,
        note: "1/({x}·ln 10)",
        slope: |g, x, _| {
            let ln10 = g.constant(std::f64::consts::LN_10);
            Over(g.push(Op::Mul(x, ln10)))
        },
    },
    Derivative {
        func: Func::Exp2,
        note: "{y}·ln 2",
        slope: |g, _, y| {
            let ln2 = g.constant(std::f64::consts::LN_2);
            Times(g.push(Op::Mul(y, ln2)))
        },
    },
    Derivative {
        func: Func::Cbrt,
        note: "1/(3·{y}²)",
        slope: |g, _, y| {
            let square = g.push(Op::Mul(y, y));
            let three = g.constant(3.0);
            Over(g.push(Op::Mul(three, square)))
        },
    },
    Derivative {
        func: Func::LnOrZero,
        note: "1/{x}",
        slope: |g, x, _| Times(g.push(Op::Call(Func::RecipOrZero, x))),
    },
    Derivative {
        func: Func::RecipOrZero,
        note: "-{y}²",
        slope: |g, _, y| {
            let square = g.push(Op::Mul(y, y));
            Times(g.push(Op::Neg(square)))
        },
    },
];

/// √(1 − x²) as √((1 − x)(1 + x)), which keeps its precision for |x| near 1.
fn unit_root(g: &mut Vjp, x: NodeId) -> NodeId {
    let one = g.constant(1.0);
    let below = g.push(Op::Sub(one, x));
    let above = g.push(Op::Add(one, x));
    let product = g.push(Op::Mul(below, above));
    g.push(Op::Call(Func::Sqrt, product))
}

/// φ(x) = e^(−x²/2)/√(2π), the standard normal density.
fn normal_pdf(g: &mut Vjp, x: NodeId) -> NodeId {
    let square = g.push(Op::Mul(x, x));
    let minus_half = g.constant(-0.5);
    let exponent = g.push(Op::Mul(minus_half, square));
    let exp = g.push(Op::Call(Func::Exp, exponent));
    let scale =
        g.constant(0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2);
    g.push(Op::Mul(scale, exp))
}

fn neg(g: &mut Vjp, a: NodeId) {
    let contribution = g.push(Op::Neg(g.adjoint));
    g.partial(a, contribution, "-1");
}

fn add(g: &mut Vjp, a: NodeId, b: NodeId) {
    // The adjoint passes through unchanged.
    g.partial(a, g.adjoint, "1");
    g.partial(b, g.adjoint, "1");
}

fn sub(g: &mut Vjp, a: NodeId, b: NodeId) {
    g.partial(a, g.adjoint, "1");
    let contribution = g.push(Op::Neg(g.adjoint));
    g.partial(b, contribution, "-1");
}

fn mul(g: &mut Vjp, a: NodeId, b: NodeId) {
    let (la, lb) = (g.describe(a), g.describe(b));
    let contribution = g.times(b);
    g.partial(a, contribution, &lb);
    let contribution = g.times(a);
    g.partial(b, contribution, &la);
}

fn div(g: &mut Vjp, a: NodeId, b: NodeId) {
    let lb = g.describe(b);
    let contribution = g.push(Op::Div(g.adjoint, b));
    g.partial(a, contribution, &format!("1/{lb}"));
    // ∂(a/b)/∂b = -(a/b)/b: reuse the quotient itself.
    let scaled = g.times(g.node);
    let ratio = g.push(Op::Div(scaled, b));
    let note = format!("-{}/{lb}", g.v);
    let contribution = g.push(Op::Neg(ratio));
    g.partial(b, contribution, &note);
}

fn pow(g: &mut Vjp, a: NodeId, b: NodeId) {
    let (la, lb) = (g.describe(a), g.describe(b));
    let one = g.constant(1.0);
    let exponent = g.push(Op::Sub(b, one));
    let power = g.push(Op::Pow(a, exponent));
    let slope = g.push(Op::Mul(b, power));
    let product = g.times(slope);
    g.partial(a, product, &format!("{lb}·{la}^({lb} - 1)"));
    // ln(a)·a^b, taken as 0 where a ≤ 0: exact at a = 0 (0^b is 0 for every b > 0),
    // and no NaN from a branch a `max` or `relu` masks out.
    let log = g.push(Op::Call(Func::LnOrZero, a));
    let slope = g.push(Op::Mul(log, g.node));
    let product = g.times(slope);
    let note = format!("ln({la})·{}", g.v);
    g.partial(b, product, &note);
}

fn powi(g: &mut Vjp, a: NodeId, n: i32) {
    let power = g.push(Op::Powi(a, n - 1));
    let coefficient = g.constant(f64::from(n));
    let slope = g.push(Op::Mul(coefficient, power));
    let product = g.times(slope);
    let text = match n - 1 {
        1 => format!("{n}·{}", g.describe(a)),
        m => format!("{n}·{}^{m}", g.describe(a)),
    };
    g.partial(a, product, &text);
}

/// `max(a, b)` or `min(a, b)`, where `a_wins` is the indicator that `a` is the result.
fn max_min(g: &mut Vjp, a: NodeId, b: NodeId, a_wins: Op) {
    // The operand that wins takes the gradient; at a tie, `b` does. The indicators are
    // piecewise constant, so the curvature is zero off the kink.
    let a_wins = g.push(a_wins);
    let (la, lb) = (g.describe(a), g.describe(b));
    let one = g.constant(1.0);
    let b_wins = g.push(Op::Sub(one, a_wins));
    let contribution = g.times(a_wins);
    g.partial(a, contribution, &format!("[{la} wins]"));
    let contribution = g.times(b_wins);
    g.partial(b, contribution, &format!("[{lb} wins]"));
}

fn atan2(g: &mut Vjp, y: NodeId, x: NodeId) {
    // θ = atan2(y, x): ∂θ/∂y = x/r², ∂θ/∂x = −y/r², each divided by r = hypot(y, x) twice so
    // that r² never overflows.
    let (ly, lx) = (g.describe(y), g.describe(x));
    let radius = g.push(Op::Hypot(y, x));
    let once = g.push(Op::Div(x, radius));
    let slope = g.push(Op::Div(once, radius));
    let contribution = g.times(slope);
    g.partial(y, contribution, &format!("{lx}/({ly}² + {lx}²)"));
    let once = g.push(Op::Div(y, radius));
    let twice = g.push(Op::Div(once, radius));
    let slope = g.push(Op::Neg(twice));
    let contribution = g.times(slope);
    g.partial(x, contribution, &format!("-{ly}/({ly}² + {lx}²)"));
}

fn hypot(g: &mut Vjp, a: NodeId, b: NodeId) {
    // h = hypot(a, b): ∂h/∂a = a/h, ∂h/∂b = b/h, reusing h.
    for operand in [a, b] {
        let slope = g.push(Op::Div(operand, g.node));
        let contribution = g.times(slope);
        let note = format!("{}/{}", g.describe(operand), g.v);
        g.partial(operand, contribution, &note);
    }
}

fn primitive(g: &mut Vjp, name: Symbol, x: NodeId) {
    let slope = g.push(Op::Derivative(name, 1, x, g.node));
    let contribution = g.times(slope);
    let note = format!("{}′({})", name.as_str(), g.describe(x));
    g.partial(x, contribution, &note);
}

/// `f′(x, y)` depends on `x` both directly and through `y = f(x)`; as a function of `x` alone
/// its derivative is f″, which the whole contribution goes to `x` with (none to `y`).
fn primitive_derivative(g: &mut Vjp, name: Symbol, order: u8, x: NodeId, y: NodeId) {
    // Only two orders are ever compiled: the Hessian differentiates the first derivative.
    if order >= 2 {
        return;
    }
    let slope = g.push(Op::Derivative(name, order + 1, x, y));
    let contribution = g.times(slope);
    let note = format!("{}{}({})", name.as_str(), primes(order + 1), g.describe(x));
    g.partial(x, contribution, &note);
}

fn matmul(g: &mut Vjp, a: NodeId, b: NodeId) {
    // Y = A·B: dA = dY·Bᵀ, dB = Aᵀ·dY.
    let (la, lb, v, dv) = (g.describe(a), g.describe(b), g.v.clone(), g.dv.clone());
    let b_t = g.push(Op::Transpose(b));
    let contribution = g.push(Op::MatMul(g.adjoint, b_t));
    g.give(
        a,
        contribution,
        format!("{v} = {la}·{lb}: d_{la} = {dv}·{lb}ᵀ"),
    );
    let a_t = g.push(Op::Transpose(a));
    let contribution = g.push(Op::MatMul(a_t, g.adjoint));
    g.give(
        b,
        contribution,
        format!("{v} = {la}·{lb}: d_{lb} = {la}ᵀ·{dv}"),
    );
}

fn transpose(g: &mut Vjp, a: NodeId) {
    let note = format!("d_{} = {}ᵀ", g.describe(a), g.dv);
    let contribution = g.push(Op::Transpose(g.adjoint));
    g.give(a, contribution, note);
}

fn sum(g: &mut Vjp, a: NodeId) {
    let shape = g.graph.node(a).shape.clone();
    let (v, dv, la) = (&g.v, &g.dv, g.describe(a));
    let note = format!("{v} = sum({la}): d_{la} = {dv} in every element");
    let contribution = g.graph.broadcast(g.adjoint, &shape, g.span);
    g.give(a, contribution, note);
}

fn broadcast(g: &mut Vjp, a: NodeId) {
    let note = format!("d_{} = the sum of {}", g.describe(a), g.dv);
    let contribution = g.push(Op::Sum(g.adjoint));
    g.give(a, contribution, note);
}

// Repeating and summing are each other's adjoints: a column repeated over the columns
// collects the sum of each row of its adjoint, and a row sum hands its adjoint back to
// every column.

fn spread_column(g: &mut Vjp, a: NodeId) {
    let note = format!("d_{} = the row sums of {}", g.describe(a), g.dv);
    let contribution = g.push(Op::RowSums(g.adjoint));
    g.give(a, contribution, note);
}

fn spread_row(g: &mut Vjp, a: NodeId) {
    let note = format!("d_{} = the column sums of {}", g.describe(a), g.dv);
    let contribution = g.push(Op::ColumnSums(g.adjoint));
    g.give(a, contribution, note);
}

fn row_sums(g: &mut Vjp, a: NodeId) {
    let shape = g.graph.node(a).shape.clone();
    let (v, dv, la) = (&g.v, &g.dv, g.describe(a));
    let note = format!("{v} = row_sums({la}): d_{la} = {dv} in every column");
    let contribution = g
        .graph
        .push_shaped(Op::SpreadColumn(g.adjoint), g.span, shape);
    g.give(a, contribution, note);
}

fn column_sums(g: &mut Vjp, a: NodeId) {
    let shape = g.graph.node(a).shape.clone();
    let (v, dv, la) = (&g.v, &g.dv, g.describe(a));
    let note = format!("{v} = column_sums({la}): d_{la} = {dv} in every row");
    let contribution = g.graph.push_shaped(Op::SpreadRow(g.adjoint), g.span, shape);
    g.give(a, contribution, note);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_but_sign_and_primitives_has_one_derivative() {
        for entry in DERIVATIVES {
            let count = DERIVATIVES.iter().filter(|e| e.func == entry.func).count();
            assert_eq!(count, 1, "{} has {count} entries", entry.func.name());
        }
        assert!(derivative(Func::Sign).is_none());
    }

    #[test]
    fn indicators_and_shifts_pass_no_gradient() {
        let mut graph = Graph::new(Vec::new());
        let span = Span::call_site();
        let (a, b) = (graph.constant(1.0, span), graph.constant(2.0, span));
        for op in [
            Op::Gt(a, b),
            Op::Call(Func::Sign, a),
            Op::MaxElement(a),
            Op::StopGradient(a),
        ] {
            let node = graph.push_op(op, span);
            let adjoint = graph.constant(1.0, span);
            let products = vector_jacobian_products(&mut graph, node, adjoint);
            assert!(products.is_empty(), "{op:?}");
        }
    }
}
