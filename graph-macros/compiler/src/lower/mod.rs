//! Lowering: [`GraphDef`] → [`Graph`]. Resolves names and functions, checks types and arity,
//! and names every forward node. Collects every error it finds before giving up, so the user
//! sees all unknown names at once.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span};

use crate::ir::{mint, Func, Graph, Input, NodeId, Op, Shape, Symbol};
use crate::stack::ensure_sufficient_stack;
use crate::syntax::ast::{BinOp, Expr, Form, GraphDef};
use crate::syntax::signature::{Errors, Real, Signature};
use builtins::BUILTINS;

pub mod builtins;
mod images;

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        // One edit in three characters: `tahn` → `tanh`, but never `w` → `x`.
        .filter(|(distance, candidate)| *distance <= candidate.len().max(name.len()) / 3)
        // Among equally close names, prefer one of the same length (a transposition).
        .min_by_key(|(distance, candidate)| (*distance, candidate.len().abs_diff(name.len())))
        .map(|(_, candidate)| candidate)
}

/// A lowered graph: the IR, its output node, and its scalar type.
pub struct Lowered {
    pub graph: Graph,
    pub output: NodeId,
    pub real: Real,
}

/// Lowers a parsed graph to IR, reporting every error found.
pub fn lower(def: &GraphDef, signature: &Signature) -> syn::Result<Lowered> {
    let inputs = def
        .params
        .iter()
        .zip(&signature.params)
        .map(|(param, shape)| Input {
            name: param.name.clone(),
            shape: shape.clone(),
            requires_grad: param.requires_grad,
        })
        .collect();
    let mut lowering = Lowering {
        real: signature.real,
        graph: Graph::new(inputs),
        scope: HashMap::new(),
        errors: Errors::default(),
        internal: Vec::new(),
        calls: Vec::new(),
        primitives: def
            .options
            .primitives
            .iter()
            .map(|primitive| primitive.name.to_string())
            .collect(),
    };
    for (index, param) in def.params.iter().enumerate() {
        let id = lowering
            .graph
            .push_op(Op::Input(index as u16), param.name.span());
        lowering.scope.insert(param.name.to_string(), Some(id));
    }
    for binding in &def.body.lets {
        match lowering.expr(&binding.value) {
            Some(id) => lowering.bind(&binding.name, id),
            None => {
                lowering.scope.insert(binding.name.to_string(), None);
            }
        }
    }
    let output = lowering.expr(&def.body.result);
    if let Some(output) = output {
        lowering.check_output(def, signature, output);
    }
    let Lowering {
        mut graph,
        errors,
        internal,
        calls,
        ..
    } = lowering;
    let output = errors
        .finish(output)?
        .expect("an output when lowering reported no error");
    name_anonymous_nodes(&mut graph, &internal);
    note_builtin_calls(&mut graph, &calls);
    Ok(Lowered {
        graph,
        output,
        real: signature.real,
    })
}

/// Names the forward nodes no `let` named `v0`, `v1`, … in order, as the lecture names
/// its intermediates. Minted with `mixed_site` so they cannot clash with the user's names.
/// The nodes inside a builtin function (`mse`, `softmax`, …) stay unnamed: to the user the
/// call is one node, and `emit` may then fuse them (`sum(d∘d)` becomes `norm_squared()`).
/// A user's own `v3` is never reused: hygiene would keep the two apart, but a reader could not.
fn name_anonymous_nodes(graph: &mut Graph, internal: &[NodeId]) {
    let user_names: HashSet<String> = graph
        .inputs
        .iter()
        .map(|input| input.name.to_string())
        .chain(
            graph
                .nodes()
                .iter()
                .filter_map(|node| node.name.as_ref().map(Ident::to_string)),
        )
        .collect();
    let mut fresh_names = (0..)
        .map(|n| format!("v{n}"))
        .filter(|name| !user_names.contains(name));
    for id in graph.ids() {
        if internal.binary_search(&id).is_ok() {
            continue;
        }
        let node = graph.node_mut(id);
        if node.name.is_none() && !matches!(node.op, Op::Input(_) | Op::Const(_)) {
            let name = fresh_names.next().expect("names are endless");
            node.name = Some(mint(&name));
        }
    }
}

/// Notes each builtin's internal nodes with the call they belong to, so that the chain-rule
/// step leaving it reads `via mse(prediction, y)` rather than naming an unnamed temporary.
fn note_builtin_calls(graph: &mut Graph, calls: &[(String, Vec<NodeId>, std::ops::Range<usize>)]) {
    for (name, args, internal) in calls {
        let args: Vec<String> = args.iter().map(|arg| graph.label(*arg)).collect();
        let call = format!("{name}({})", args.join(", "));
        for index in internal.clone() {
            let node = graph.node_mut(NodeId::from_index(index));
            if node.name.is_none() {
                node.note = Some(call.clone());
            }
        }
    }
}

struct Lowering {
    real: Real,
    graph: Graph,
    /// Names in scope. `None`: a `let` whose value had an error, already reported; its uses
    /// are not reported again.
    scope: HashMap<String, Option<NodeId>>,
    errors: Errors,
    /// The nodes a builtin function built before its result, in increasing order.
    internal: Vec<NodeId>,
    /// Each builtin call: its name, arguments and the internal nodes it built, which are
    /// noted with the call (`mse(prediction, y)`) once every node has its name.
    calls: Vec<(String, Vec<NodeId>, std::ops::Range<usize>)>,
    /// The names `#[primitive(..)]` declares.
    primitives: Vec<String>,
}

impl Lowering {
    fn shape(&self, id: NodeId) -> &Shape {
        &self.graph.node(id).shape
    }

    /// The body's value must have the declared shape; a closure graph's must be a scalar.
    fn check_output(&mut self, def: &GraphDef, signature: &Signature, output: NodeId) {
        let found = self.shape(output).clone();
        let error = match (&def.form, &signature.output) {
            (Form::Item { output: ty, .. }, Some(declared)) if !declared.compatible(&found) => Some(syn::Error::new_spanned(
                ty,
                format!("the graph returns `{declared}` but its body computes `{found}`"),
            )),
            (Form::Closure { .. }, _) if !found.is_scalar() => Some(syn::Error::new(
                self.graph.node(output).span,
                format!(
                    "non-scalar output `{found}`: a closure graph needs a scalar output for `value_and_grad`; write a `fn` graph for other outputs"
                ),
            )),
            _ => None,
        };
        if let Some(error) = error {
            self.errors.push(error);
        }
    }

    /// The operation for `lhs op rhs`, or an error spanned on the operator naming both shapes.
    /// Element-wise operations broadcast a scalar operand; `+` and `-` also repeat a column
    /// vector over the columns of a matrix with as many rows (a bias over a batch), through a
    /// `SpreadColumn` node pushed here.
    fn binary(&mut self, op: BinOp, lhs: NodeId, rhs: NodeId, span: Span) -> Result<Op, String> {
        let (a, b) = (self.shape(lhs), self.shape(rhs));
        let both_matrices = !a.is_scalar() && !b.is_scalar();
        match op {
            BinOp::Add | BinOp::Sub => {
                let (lhs, rhs) = self.sum_operands(op, lhs, rhs, span)?;
                Ok(if op == BinOp::Add {
                    Op::Add(lhs, rhs)
                } else {
                    Op::Sub(lhs, rhs)
                })
            }
            BinOp::Mul if both_matrices => match (a, b) {
                (Shape::Matrix { cols, .. }, Shape::Matrix { rows, .. }) if !cols.compatible(rows) => Err(format!(
                    "cannot multiply `{a}` by `{b}`: the left has {cols} columns but the right has {rows} rows"
                )),
                _ => Ok(Op::MatMul(lhs, rhs)),
            },
            BinOp::Mul => Ok(Op::Mul(lhs, rhs)),
            BinOp::Div if both_matrices && !a.compatible(b) => Err(format!(
                "cannot divide `{a}` by `{b}`: `/` divides element by element, so it needs operands of one shape (or a scalar)"
            )),
            BinOp::Div => Ok(Op::Div(lhs, rhs)),
            BinOp::Pow if !b.is_scalar() => Err(format!("cannot raise to the power `{b}`: `^` needs a scalar exponent")),
            BinOp::Pow => Ok(Op::Pow(lhs, rhs)),
        }
    }

    /// The operands of `lhs + rhs` or `lhs - rhs`: as they are when their shapes agree or one
    /// is a scalar; with the column repeated when one is a column vector and the other a
    /// matrix of more columns and as many rows. Any other pair is an error naming both shapes.
    fn sum_operands(
        &mut self,
        op: BinOp,
        lhs: NodeId,
        rhs: NodeId,
        span: Span,
    ) -> Result<(NodeId, NodeId), String> {
        let (a, b) = (self.shape(lhs).clone(), self.shape(rhs).clone());
        if a.is_scalar() || b.is_scalar() || a.compatible(&b) {
            return Ok((lhs, rhs));
        }
        let verb = if op == BinOp::Add { "add" } else { "subtract" };
        let (column, matrix) = match (a.is_column(), b.is_column()) {
            (true, false) => (lhs, rhs),
            (false, true) => (rhs, lhs),
            _ => {
                return Err(format!(
                    "cannot {verb} `{a}` and `{b}`: `{}` needs operands of one shape",
                    op.symbol()
                ))
            }
        };
        let (column_shape, matrix_shape) = (self.shape(column).clone(), self.shape(matrix).clone());
        let (column_rows, rows) = match (&column_shape, &matrix_shape) {
            (
                Shape::Matrix {
                    rows: column_rows, ..
                },
                Shape::Matrix { rows, .. },
            ) => (column_rows, rows),
            _ => unreachable!("a column vector and a matrix"),
        };
        if !column_rows.compatible(rows) {
            return Err(format!(
                "cannot {verb} `{a}` and `{b}`: `{}` repeats a column over the columns of a matrix with as many rows, but `{column_shape}` has {column_rows} rows and `{matrix_shape}` has {rows}",
                op.symbol()
            ));
        }
        let spread = self
            .graph
            .push_shaped(Op::SpreadColumn(column), span, matrix_shape);
        // Unnamed, like a builtin's temporaries: to the user `w * x + b` is one sum.
        self.internal.push(spread);
        Ok(if column == lhs {
            (spread, rhs)
        } else {
            (lhs, spread)
        })
    }

    /// Binds a `let` name to a node, naming the node unless it already has a name (an alias,
    /// `let b = a;`) or is an input or constant.
    fn bind(&mut self, name: &Ident, id: NodeId) {
        let shadows = self.scope.contains_key(&name.to_string());
        let node = self.graph.node_mut(id);
        if node.name.is_none() && !matches!(node.op, Op::Input(_) | Op::Const(_)) {
            // A shadowed name gets a fresh, hygienic spelling so the backward pass, which
            // uses both values, never confuses them.
            node.name = Some(if shadows {
                mint(&format!("{name}_{}", id.index()))
            } else {
                name.clone()
            });
        }
        self.scope.insert(name.to_string(), Some(id));
    }

    fn push(&mut self, op: Op, span: Span) -> Option<NodeId> {
        Some(self.graph.push_op(op, span))
    }

    /// Lowers `expr`, recursing through its operands: on a fresh stack segment when the
    /// current one runs low, so a deeply nested expression cannot overflow it.
    fn expr(&mut self, expr: &Expr) -> Option<NodeId> {
        ensure_sufficient_stack(|| self.expr_here(expr))
    }

    fn expr_here(&mut self, expr: &Expr) -> Option<NodeId> {
        match expr {
            Expr::Number { value, span } => {
                let fits = match self.real {
                    Real::F32 => (*value as f32).is_finite(),
                    Real::F64 => value.is_finite(),
                };
                if !fits {
                    let largest = match self.real {
                        Real::F32 => f64::from(f32::MAX),
                        Real::F64 => f64::MAX,
                    };
                    let message = format!(
                        "number out of range for `{}`, whose largest is {largest:e}",
                        self.real.name()
                    );
                    self.errors.push(syn::Error::new(*span, message));
                    return None;
                }
                Some(self.graph.constant(*value, *span))
            }
            Expr::Name(name) => self.name(name),
            Expr::Neg { span, operand } => {
                let operand = self.expr(operand)?;
                self.push(Op::Neg(operand), *span)
            }
            Expr::Binary { op, span, lhs, rhs } => {
                // Lower both sides before giving up, to report errors in each.
                let (lhs, rhs) = (self.expr(lhs), self.expr(rhs));
                let (lhs, rhs) = (lhs?, rhs?);
                match self.binary(*op, lhs, rhs, *span) {
                    Ok(op) => self.push(op, *span),
                    Err(message) => {
                        self.errors.push(syn::Error::new(*span, message));
                        None
                    }
                }
            }
            Expr::Call {
                func,
                args_span,
                args,
            } => self.call(func, *args_span, args),
        }
    }

    fn name(&mut self, name: &Ident) -> Option<NodeId> {
        let text = name.to_string();
        if let Some(id) = self.scope.get(&text) {
            return *id;
        }
        let message = if builtins::lookup(&text).is_some() || self.primitives.contains(&text) {
            format!("`{text}` is a function; call it as `{text}(..)`")
        } else {
            let in_scope = self.scope.keys().map(String::as_str);
            match closest(&text, in_scope) {
                Some(similar) => {
                    format!("cannot find `{text}` in this graph; did you mean `{similar}`?")
                }
                None => format!(
                    "cannot find `{text}` in this graph; declare it as a parameter or with `let`"
                ),
            }
        };
        self.errors.push(syn::Error::new(name.span(), message));
        None
    }

    fn call(&mut self, func: &Ident, args_span: Span, args: &[Expr]) -> Option<NodeId> {
        let name = func.to_string();
        // A declared primitive may shadow a builtin: the declaration is explicit.
        if self.primitives.contains(&name) {
            return self.primitive_call(func, args_span, args);
        }
        if let Some(function) = images::lookup(&name) {
            return self.image_call(function, func, args_span, args);
        }
        // The function's name comes first in the source, so its error does too.
        let builtin = builtins::lookup(&name);
        if builtin.is_none() {
            let known = BUILTINS
                .iter()
                .map(|(known, _)| *known)
                .chain(self.primitives.iter().map(String::as_str));
            let message = match closest(&name, known.clone()) {
                Some(similar) => format!("unknown function `{name}`; did you mean `{similar}`?"),
                None => format!(
                    "unknown function `{name}`; a graph calls only its own functions and the primitives it declares with `#[primitive({name} = Type)]`: {}",
                    known
                        .map(|known| format!("`{known}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.errors.push(syn::Error::new(func.span(), message));
        }
        let lowered: Vec<Option<NodeId>> = args.iter().map(|arg| self.expr(arg)).collect();
        let builtin = builtin?;
        let (fewest, most) = builtin.arity();
        if args.len() < fewest || args.len() > most {
            let takes = match (fewest, most) {
                (1, 1) => "1 argument".to_string(),
                (n, m) if n == m => format!("{n} arguments"),
                (n, m) => format!("{n} or {m} arguments"),
            };
            self.errors.push(syn::Error::new(
                args_span,
                format!("`{name}` takes {takes}, found {}", args.len()),
            ));
            return None;
        }
        let args: Vec<NodeId> = lowered.into_iter().collect::<Option<_>>()?;
        let shapes: Vec<&Shape> = args.iter().map(|arg| self.shape(*arg)).collect();
        if let Err(message) = builtin.check(&name, &shapes) {
            self.errors.push(syn::Error::new(func.span(), message));
            return None;
        }
        let first = self.graph.len();
        let result = builtin.build(&mut self.graph, &args, func.span());
        self.internal
            .extend(self.graph.ids().skip(first).filter(|id| *id != result));
        self.calls.push((name, args, first..result.index()));
        Some(result)
    }

    /// `name(x)` for a declared primitive: one argument of any shape, element-wise.
    fn primitive_call(&mut self, func: &Ident, args_span: Span, args: &[Expr]) -> Option<NodeId> {
        let lowered: Vec<Option<NodeId>> = args.iter().map(|arg| self.expr(arg)).collect();
        let [arg] = lowered[..] else {
            self.errors.push(syn::Error::new(
                args_span,
                format!("primitive `{func}` takes 1 argument, found {}", args.len()),
            ));
            return None;
        };
        let symbol = Symbol::intern(&func.to_string());
        self.push(Op::Call(Func::Primitive(symbol), arg?), func.span())
    }
}

#[cfg(test)]
mod tests {
    use crate::lower_str;

    #[track_caller]
    fn check(src: &str, expected_ir: &str) {
        match lower_str(src) {
            Ok(lowered) => assert_eq!(lowered.graph.to_string().trim(), expected_ir.trim()),
            Err(err) => panic!("{src}: {err}"),
        }
    }

    #[track_caller]
    fn errors(src: &str) -> Vec<String> {
        match lower_str(src) {
            Ok(_) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn lets_name_their_nodes_and_other_nodes_are_numbered() {
        check(
            "|x: f64, y: f64| { let a = 2x; let b = sin(y); a / b + 1 }",
            "x = input 0\ny = input 1\n%2 = const 2\na = mul 2 x\nb = sin y\nv0 = div a b\n%6 = const 1\nv1 = add v0 1",
        );
    }

    #[test]
    fn log_is_ln_and_power_keeps_its_exponent_node() {
        check(
            "|x: f64| log(x)^3",
            "x = input 0\nv0 = ln x\n%2 = const 3\nv1 = pow v0 3",
        );
    }

    #[test]
    fn minted_names_skip_the_users_own() {
        check(
            "|x: f64| { let v0 = x * x; let v2 = v0 + 1; sin(v2) * v0 }",
            "x = input 0\nv0 = mul x x\n%2 = const 1\nv2 = add v0 1\nv1 = sin v2\nv3 = mul v1 v0",
        );
    }

    #[test]
    fn an_alias_let_does_not_rename_its_value() {
        check("|x: f64| { let a = x; a * a }", "x = input 0\nv0 = mul x x");
    }

    #[test]
    fn a_shadowing_let_gets_a_distinct_name() {
        let lowered = lower_str("|x: f64| { let a = x * x; let a = a + x; a }").unwrap();
        let text = lowered.graph.to_string();
        assert!(text.contains("a = mul x x"), "{text}");
        assert!(text.contains("a_2 = add a x"), "{text}");
    }

    #[test]
    fn every_unknown_name_and_function_is_reported_at_once() {
        assert_eq!(
            errors("|x: f64| tahn(w) + sni(x) + y"),
            vec![
                "unknown function `tahn`; did you mean `tanh`?",
                "cannot find `w` in this graph; declare it as a parameter or with `let`",
                "unknown function `sni`; did you mean `sin`?",
                "cannot find `y` in this graph; declare it as a parameter or with `let`",
            ]
        );
    }

    #[test]
    fn a_let_whose_value_failed_is_still_declared() {
        assert_eq!(
            errors("|x: f64| { let z = w * x; let y = z; tanh(y) }"),
            vec!["cannot find `w` in this graph; declare it as a parameter or with `let`"]
        );
    }

    #[test]
    fn numbers_out_of_range_are_errors_not_infinities() {
        assert_eq!(
            errors("|x: f32| 1e300 * x"),
            vec!["number out of range for `f32`, whose largest is 3.4028234663852886e38"]
        );
        assert_eq!(
            errors("|x: f64| 1e400 * x"),
            vec!["number out of range for `f64`, whose largest is 1.7976931348623157e308"]
        );
        assert!(errors("|x: f64| 1e300 * x").is_empty());
    }

    #[test]
    fn shape_errors_name_both_shapes() {
        assert_eq!(
            errors("fn f(w: SMatrix<f32, 16, 2>, x: SVector<f32, 3>) -> f32 { sum(w * x) }"),
            vec![
                "cannot multiply `16×2` by `3×1`: the left has 2 columns but the right has 3 rows"
            ]
        );
        assert_eq!(
            errors("fn f(a: SVector<f32, 4>, b: SVector<f32, 3>) -> f32 { sum(a + b) }"),
            vec!["cannot add `4×1` and `3×1`: `+` needs operands of one shape"]
        );
        assert_eq!(
            errors("fn f(a: SVector<f32, 4>, b: RowSVector<f32, 4>) -> f32 { sum(a + b) }"),
            vec!["cannot add `4×1` and `1×4`: `+` repeats a column over the columns of a matrix with as many rows, but `4×1` has 4 rows and `1×4` has 1"]
        );
        assert_eq!(
            errors("fn f(a: SVector<f32, 4>, b: SVector<f32, 3>) -> f32 { mse(a, b) }"),
            vec!["`mse` needs arguments of one shape, found `4×1` and `3×1`"]
        );
        assert_eq!(
            errors("fn f(a: SVector<f32, 4>, b: RowSVector<f32, 4>) -> f32 { sum(a / b) }"),
            vec!["cannot divide `4×1` by `1×4`: `/` divides element by element, so it needs operands of one shape (or a scalar)"]
        );
        assert_eq!(
            errors("fn f(a: SVector<f32, 4>) -> f32 { a }"),
            vec!["the graph returns `scalar` but its body computes `4×1`"]
        );
    }

    #[test]
    fn a_const_generic_dimension_is_compared_by_name() {
        assert!(errors(
            "fn f<const N: usize>(a: SVector<f32, N>, b: SVector<f32, N>) -> f32 { dot(a, b) }"
        )
        .is_empty());
        assert_eq!(
            errors("fn f<const N: usize, const M: usize>(a: SVector<f32, N>, b: SVector<f32, M>) -> f32 { dot(a, b) }"),
            vec!["`dot` needs arguments of one shape, found `N×1` and `M×1`"]
        );
    }

    #[test]
    fn a_literal_one_never_matches_a_const_generic_dimension() {
        // `3×1` is one sample and `3×B` a batch of them: rustc could only reject the
        // emitted code, so the macro says so on the user's token.
        assert_eq!(
            errors("fn f<const B: usize>(a: SMatrix<f32, 3, B>, b: SVector<f32, 3>) -> f32 { dot(a, b) }"),
            vec!["`dot` needs arguments of one shape, found `3×B` and `3×1`"]
        );
        assert_eq!(
            errors("fn f<const B: usize>(a: SMatrix<f32, 3, B>, b: SVector<f32, 3>) -> f32 { sum(a / b) }"),
            vec!["cannot divide `3×B` by `3×1`: `/` divides element by element, so it needs operands of one shape (or a scalar)"]
        );
        assert_eq!(
            errors("fn f<const B: usize>(a: SMatrix<f32, 3, B>) -> SVector<f32, 3> { 2 * a }"),
            vec!["the graph returns `3×1` but its body computes `3×B`"]
        );
        // A number other than 1 may still be the name's value; rustc decides.
        assert!(errors(
            "fn f<const N: usize>(a: SVector<f32, N>, b: SVector<f32, 3>) -> f32 { dot(a, b) }"
        )
        .is_empty());
    }

    #[test]
    fn a_column_added_to_a_batch_spreads_over_its_columns() {
        check(
            "fn f<const B: usize>(w: SMatrix<f64, 3, 2>, b: SVector<f64, 3>, x: SMatrix<f64, 2, B>) -> SMatrix<f64, 3, B> { w * x + b }",
            "w: 3×2 = input 0\nb: 3×1 = input 1\nx: 2×B = input 2\nv0: 3×B = matmul w x\n%4: 3×B = spread_column b\nv1: 3×B = add v0 %4",
        );
        // On either side, for `-` too, with a literal batch size.
        check(
            "fn f(b: SVector<f64, 3>, x: SMatrix<f64, 3, 5>) -> f64 { sum(b - x) }",
            "b: 3×1 = input 0\nx: 3×5 = input 1\n%2: 3×5 = spread_column b\nv0: 3×5 = sub %2 x\nv1 = sum v0",
        );
        // A column of a const-generic height against a batch of the same height.
        check(
            "fn f<const O: usize, const B: usize>(y: SMatrix<f64, O, B>, b: SVector<f64, O>) -> SMatrix<f64, O, B> { y - b }",
            "y: O×B = input 0\nb: O×1 = input 1\n%2: O×B = spread_column b\nv0: O×B = sub y %2",
        );
        // Two columns, or two equal shapes, need no spreading.
        check(
            "fn f(a: SVector<f64, 3>, b: SVector<f64, 3>) -> SVector<f64, 3> { a + b }",
            "a: 3×1 = input 0\nb: 3×1 = input 1\nv0: 3×1 = add a b",
        );
    }

    #[test]
    fn only_a_column_with_the_matrixs_rows_spreads() {
        assert_eq!(
            errors("fn f(b: SVector<f64, 4>, x: SMatrix<f64, 3, 5>) -> f64 { sum(x + b) }"),
            vec!["cannot add `3×5` and `4×1`: `+` repeats a column over the columns of a matrix with as many rows, but `4×1` has 4 rows and `3×5` has 3"]
        );
        assert_eq!(
            errors("fn f<const O: usize, const I: usize, const B: usize>(x: SMatrix<f64, I, B>, b: SVector<f64, O>) -> f64 { sum(x - b) }"),
            vec!["cannot subtract `I×B` and `O×1`: `-` repeats a column over the columns of a matrix with as many rows, but `O×1` has O rows and `I×B` has I"]
        );
        // A row does not spread over rows: a batch is one sample per column.
        assert_eq!(
            errors("fn f(r: RowSVector<f64, 5>, x: SMatrix<f64, 3, 5>) -> f64 { sum(x + r) }"),
            vec!["cannot add `3×5` and `1×5`: `+` needs operands of one shape"]
        );
        assert_eq!(
            errors("fn f(a: SMatrix<f64, 3, 5>, b: SMatrix<f64, 3, 4>) -> f64 { sum(a - b) }"),
            vec!["cannot subtract `3×5` and `3×4`: `-` needs operands of one shape"]
        );
    }

    #[test]
    fn a_scalar_broadcasts_over_a_matrix_on_either_side() {
        check(
            "fn f(s: f64, a: SMatrix<f64, 2, 3>) -> f64 { sum(s + a) + sum(a - s) + sum(s - a) + sum(s / a) }",
            "s = input 0\na: 2×3 = input 1\nv0: 2×3 = add s a\nv1 = sum v0\nv2: 2×3 = sub a s\nv3 = sum v2\nv4 = add v1 v3\nv5: 2×3 = sub s a\nv6 = sum v5\nv7 = add v4 v6\nv8: 2×3 = div s a\nv9 = sum v8\nv10 = add v7 v9",
        );
    }

    #[test]
    fn matrices_of_one_shape_divide_element_by_element() {
        check(
            "fn f(a: SMatrix<f64, 2, 3>, b: SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> { a / b }",
            "a: 2×3 = input 0\nb: 2×3 = input 1\nv0: 2×3 = div a b",
        );
    }

    #[test]
    fn batch_functions_work_column_by_column() {
        check(
            "fn f(a: SMatrix<f64, 3, 5>) -> SMatrix<f64, 3, 5> { softmax_columns(a) }",
            "a: 3×5 = input 0\n%1: 1×5 = column_maxes a\n%2: 3×5 = spread_row %1\n%3: 3×5 = sub a %2\n%4: 3×5 = exp %3\n%5: 1×5 = column_sums %4\n%6: 3×5 = spread_row %5\nv0: 3×5 = div %4 %6",
        );
        check(
            "fn f(a: SMatrix<f64, 3, 5>) -> RowSVector<f64, 5> { logsumexp_columns(a) }",
            "a: 3×5 = input 0\n%1: 1×5 = column_maxes a\n%2: 3×5 = spread_row %1\n%3: 3×5 = sub a %2\n%4: 3×5 = exp %3\n%5: 1×5 = column_sums %4\n%6: 1×5 = ln %5\nv0: 1×5 = add %1 %6",
        );
        check(
            "fn f(a: SMatrix<f64, 3, 5>) -> SVector<f64, 3> { row_means(a) }",
            "a: 3×5 = input 0\n%1: 3×1 = row_sums a\n%2 = count a\n%3 = count %1\n%4 = div %2 %3\nv0: 3×1 = div %1 %4",
        );
        check(
            "fn f<const B: usize>(a: SMatrix<f64, 3, B>) -> SMatrix<f64, 1, B> { column_sums(a) }",
            "a: 3×B = input 0\nv0: 1×B = column_sums a",
        );
        // −Σ t·log_softmax_columns(z), over the number of columns (of per-column logarithms).
        check(
            "fn f<const B: usize>(z: SMatrix<f64, 3, B>, #[no_grad] t: SMatrix<f64, 3, B>) -> f64 { batch_cross_entropy(z, t) }",
            "z: 3×B = input 0\nt: 3×B = input 1\n%2: 1×B = column_maxes z\n%3: 3×B = spread_row %2\n%4: 3×B = sub z %3\n%5: 3×B = exp %4\n%6: 1×B = column_sums %5\n%7: 1×B = ln %6\n%8: 3×B = spread_row %7\n%9: 3×B = sub %4 %8\n%10: 3×B = mul t %9\n%11 = sum %10\n%12 = neg %11\n%13 = count %7\nv0 = div %12 %13",
        );
    }

    #[test]
    fn batch_functions_name_themselves_and_the_shapes_they_refuse() {
        assert_eq!(
            errors("|x: f64| sum(softmax_columns(x))"),
            vec!["`softmax_columns` works column by column, one sample per column, so it needs a matrix, found `scalar`"]
        );
        assert_eq!(
            errors("fn f(x: f64, t: f64) -> f64 { batch_cross_entropy(x, t) }"),
            vec!["`batch_cross_entropy` works column by column, one sample per column, so it needs matrices, found `scalar` and `scalar`"]
        );
        assert_eq!(
            errors("fn f<const B: usize>(z: SMatrix<f32, 10, B>, t: SVector<f32, 10>) -> f32 { batch_cross_entropy(z, t) }"),
            vec!["`batch_cross_entropy` needs arguments of one shape, found `10×B` and `10×1`"]
        );
        assert_eq!(
            errors("fn f(a: SMatrix<f64, 3, 5>) -> SVector<f64, 5> { column_means(a) }"),
            vec!["the graph returns `5×1` but its body computes `1×5`"]
        );
    }

    #[test]
    fn a_misspelled_name_gets_a_suggestion() {
        assert_eq!(
            errors("|weight: f64| wieght * 2"),
            vec!["cannot find `wieght` in this graph; did you mean `weight`?"]
        );
        assert_eq!(
            errors("|x: f64| tanh + x"),
            vec!["`tanh` is a function; call it as `tanh(..)`"]
        );
    }

    #[test]
    fn arity_and_signature_errors_name_the_culprit() {
        assert_eq!(
            errors("|x: f64| pow(x)"),
            vec!["`pow` takes 2 arguments, found 1"]
        );
        assert_eq!(
            errors("|x: f64| sin(x, x)"),
            vec!["`sin` takes 1 argument, found 2"]
        );
        assert_eq!(
            errors("|x: f64, x: f64| x"),
            vec!["duplicate parameter `x`"]
        );
        assert_eq!(
            errors("|x: f64, y: f32| x"),
            vec!["parameter `y` is `f32` but an earlier one is `f64`; a graph computes in one scalar type"]
        );
        assert_eq!(
            errors("|s: String| s"),
            vec!["unsupported type `String`; graphs take `f32`, `f64`, or nalgebra's `SMatrix<T, R, C>`, `SVector<T, N>`, `RowSVector<T, N>`, `Matrix3<T>`, `Vector3<T>`, …"]
        );
    }
}
