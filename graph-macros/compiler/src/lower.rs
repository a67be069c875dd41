//! Lowering: [`GraphDef`] → [`Graph`]. Resolves names and functions, checks types and arity,
//! and names every forward node. Collects every error it finds before giving up, so the user
//! sees all unknown names at once.

use std::collections::HashMap;

use proc_macro2::{Ident, Span};
use quote::ToTokens;
use syn::Type;

use crate::ast::{BinOp, Expr, Form, GraphDef};
use crate::ir::{Func, Graph, Input, NodeId, Op, Shape};

/// The scalar type a graph computes in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Real {
    F32,
    F64,
}

impl Real {
    pub fn name(self) -> &'static str {
        match self {
            Real::F32 => "f32",
            Real::F64 => "f64",
        }
    }

    fn of(ty: &Type) -> Option<Real> {
        let Type::Path(path) = ty else { return None };
        if path.qself.is_some() {
            return None;
        }
        let last = path.path.segments.last()?;
        if !last.arguments.is_empty() {
            return None;
        }
        match last.ident.to_string().as_str() {
            "f32" => Some(Real::F32),
            "f64" => Some(Real::F64),
            _ => None,
        }
    }
}

/// A function the graph language knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Builtin {
    Func(Func),
    Pow,
    Max,
    Min,
}

impl Builtin {
    fn arity(self) -> usize {
        match self {
            Builtin::Func(_) => 1,
            Builtin::Pow | Builtin::Max | Builtin::Min => 2,
        }
    }
}

/// Every function name, in the order error messages list them.
pub const BUILTINS: &[(&str, Builtin)] = &[
    ("sin", Builtin::Func(Func::Sin)),
    ("cos", Builtin::Func(Func::Cos)),
    ("tan", Builtin::Func(Func::Tan)),
    ("exp", Builtin::Func(Func::Exp)),
    ("ln", Builtin::Func(Func::Ln)),
    ("log", Builtin::Func(Func::Ln)),
    ("sqrt", Builtin::Func(Func::Sqrt)),
    ("tanh", Builtin::Func(Func::Tanh)),
    ("sigmoid", Builtin::Func(Func::Sigmoid)),
    ("relu", Builtin::Func(Func::Relu)),
    ("abs", Builtin::Func(Func::Abs)),
    ("softplus", Builtin::Func(Func::Softplus)),
    ("pow", Builtin::Pow),
    ("max", Builtin::Max),
    ("min", Builtin::Min),
];

fn builtin(name: &str) -> Option<Builtin> {
    BUILTINS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, builtin)| *builtin)
}

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

/// Accumulates errors, as serde's `Ctxt` does: report everything, then stop.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// Checks the parameters and returns the graph's scalar type.
pub fn check_signature(def: &GraphDef) -> syn::Result<Real> {
    let mut errors = Errors::default();
    let mut real: Option<(Real, &Type)> = None;
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for param in &def.params {
        if seen.insert(param.name.to_string(), &param.name).is_some() {
            errors.push(syn::Error::new(
                param.name.span(),
                format!("duplicate parameter `{}`", param.name),
            ));
        }
        match (Real::of(&param.ty), real) {
            (None, _) => errors.push(syn::Error::new_spanned(
                &param.ty,
                format!(
                    "unsupported parameter type `{}`; scalar graphs take `f32` or `f64`",
                    param.ty.to_token_stream()
                ),
            )),
            (Some(this), Some((first, first_ty))) if this != first => errors.push(syn::Error::new_spanned(
                &param.ty,
                format!(
                    "parameter `{}` is `{}` but an earlier one is `{}`; a graph computes in one scalar type",
                    param.name,
                    this.name(),
                    first_ty.to_token_stream()
                ),
            )),
            (Some(this), None) => real = Some((this, &param.ty)),
            (Some(_), Some(_)) => {}
        }
    }
    let real = real.map_or(Real::F64, |(real, _)| real);
    if let Form::Item { output, name, .. } = &def.form {
        match Real::of(output) {
            Some(out) if out == real => {}
            Some(out) => errors.push(syn::Error::new_spanned(
                output,
                format!(
                    "graph `{name}` returns `{}` but computes in `{}`",
                    out.name(),
                    real.name()
                ),
            )),
            None => errors.push(syn::Error::new_spanned(
                output,
                format!(
                    "non-scalar output `{}`: `value_and_grad` needs a scalar output, `{}`",
                    output.to_token_stream(),
                    real.name()
                ),
            )),
        }
    }
    errors.finish(real)
}

/// Lowers a parsed graph to IR, reporting every error found.
pub fn lower(def: &GraphDef) -> syn::Result<Lowered> {
    let real = check_signature(def)?;
    let inputs = def
        .params
        .iter()
        .map(|param| Input {
            name: param.name.clone(),
            shape: Shape::Scalar,
            requires_grad: param.requires_grad,
        })
        .collect();
    let mut lowering = Lowering {
        graph: Graph::new(inputs),
        scope: HashMap::new(),
        errors: Errors::default(),
    };
    for (index, param) in def.params.iter().enumerate() {
        let id = lowering
            .graph
            .push_op(Op::Input(index as u16), param.name.span());
        lowering.scope.insert(param.name.to_string(), id);
    }
    for binding in &def.body.lets {
        if let Some(id) = lowering.expr(&binding.value) {
            lowering.bind(&binding.name, id);
        }
    }
    let output = lowering.expr(&def.body.result);
    let Lowering {
        mut graph, errors, ..
    } = lowering;
    let output = errors
        .finish(output)?
        .expect("an output when lowering reported no error");
    name_anonymous_nodes(&mut graph);
    Ok(Lowered {
        graph,
        output,
        real,
    })
}

/// Names the forward nodes no `let` named `v0`, `v1`, … in order, as the lecture names
/// its intermediates. Minted with `mixed_site` so they cannot clash with the user's names.
fn name_anonymous_nodes(graph: &mut Graph) {
    let mut counter = 0;
    for id in graph.ids() {
        let node = graph.node_mut(id);
        if node.name.is_none() && !matches!(node.op, Op::Input(_) | Op::Const(_)) {
            node.name = Some(Ident::new(&format!("v{counter}"), Span::mixed_site()));
            counter += 1;
        }
    }
}

struct Lowering {
    graph: Graph,
    scope: HashMap<String, NodeId>,
    errors: Errors,
}

impl Lowering {
    /// Binds a `let` name to a node, naming the node unless it already has a name (an alias,
    /// `let b = a;`) or is an input or constant.
    fn bind(&mut self, name: &Ident, id: NodeId) {
        let shadows = self.scope.contains_key(&name.to_string());
        let node = self.graph.node_mut(id);
        if node.name.is_none() && !matches!(node.op, Op::Input(_) | Op::Const(_)) {
            // A shadowed name gets a fresh, hygienic spelling so the backward pass, which
            // uses both values, never confuses them.
            node.name = Some(if shadows {
                Ident::new(&format!("{name}_{}", id.index()), Span::mixed_site())
            } else {
                name.clone()
            });
        }
        self.scope.insert(name.to_string(), id);
    }

    fn push(&mut self, op: Op, span: Span) -> Option<NodeId> {
        Some(self.graph.push_op(op, span))
    }

    fn expr(&mut self, expr: &Expr) -> Option<NodeId> {
        match expr {
            Expr::Number { value, span } => Some(self.graph.constant(*value, *span)),
            Expr::Name(name) => self.name(name),
            Expr::Neg { span, operand } => {
                let operand = self.expr(operand)?;
                self.push(Op::Neg(operand), *span)
            }
            Expr::Binary { op, span, lhs, rhs } => {
                // Lower both sides before giving up, to report errors in each.
                let (lhs, rhs) = (self.expr(lhs), self.expr(rhs));
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op {
                    BinOp::Add => Op::Add(lhs, rhs),
                    BinOp::Sub => Op::Sub(lhs, rhs),
                    BinOp::Mul => Op::Mul(lhs, rhs),
                    BinOp::Div => Op::Div(lhs, rhs),
                    BinOp::Pow => Op::Pow(lhs, rhs),
                };
                self.push(op, *span)
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
            return Some(*id);
        }
        let message = if builtin(&text).is_some() {
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
        let lowered: Vec<Option<NodeId>> = args.iter().map(|arg| self.expr(arg)).collect();
        let name = func.to_string();
        let Some(builtin) = builtin(&name) else {
            let known = BUILTINS.iter().map(|(known, _)| *known);
            let message = match closest(&name, known.clone()) {
                Some(similar) => format!("unknown function `{name}`; did you mean `{similar}`?"),
                None => format!(
                    "unknown function `{name}`; graphs know {}",
                    known
                        .map(|known| format!("`{known}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.errors.push(syn::Error::new(func.span(), message));
            return None;
        };
        if args.len() != builtin.arity() {
            let plural = if builtin.arity() == 1 { "" } else { "s" };
            self.errors.push(syn::Error::new(
                args_span,
                format!(
                    "`{name}` takes {} argument{plural}, found {}",
                    builtin.arity(),
                    args.len()
                ),
            ));
            return None;
        }
        let args: Vec<NodeId> = lowered.into_iter().collect::<Option<_>>()?;
        let op = match builtin {
            Builtin::Func(f) => Op::Call(f, args[0]),
            Builtin::Pow => Op::Pow(args[0], args[1]),
            Builtin::Max => Op::Max(args[0], args[1]),
            Builtin::Min => Op::Min(args[0], args[1]),
        };
        self.push(op, func.span())
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
            errors("|x: f64| tahn(w) + sinh(x) + y"),
            vec![
                "cannot find `w` in this graph; declare it as a parameter or with `let`",
                "unknown function `tahn`; did you mean `tanh`?",
                "unknown function `sinh`; did you mean `sin`?",
                "cannot find `y` in this graph; declare it as a parameter or with `let`",
            ]
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
            vec!["unsupported parameter type `String`; scalar graphs take `f32` or `f64`"]
        );
        assert_eq!(
            errors("fn f(x: f64) -> [f64; 2] { x }"),
            vec!["non-scalar output `[f64 ; 2]`: `value_and_grad` needs a scalar output, `f64`"]
        );
    }
}
