//! Properties of the whole compiler on random input: gradients of random expressions agree
//! with central differences through the IR evaluator, `simplify` keeps forward values, random
//! token streams never make `expand` panic, and the expansion grows linearly with the graph.
//!
//! Spans are not checked: outside a proc macro, without proc-macro2's `span-locations`
//! feature, every span is the same, so an error's span cannot be told from `call_site()`.

use std::cell::Cell;

use graph_compiler::ir::{Func, Graph, NodeId, Op};
use graph_compiler::passes::diff::differentiate;
use graph_compiler::passes::eval::eval;
use graph_compiler::passes::simplify::simplify;
use graph_compiler::{expand, graphs, lower_str};
use proc_macro2::{Span, TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use quote::ToTokens;

// ---------------------------------------------------------------------------------------------
// Random expressions, as lexer tokens (joined with spaces they are the source text).

/// Names (twice as likely), numbers and coefficients glued to a name (`2x`, `1e-3x`).
const LEAVES: &[&str] = &[
    "x", "y", "z", "x", "y", "z", "2", "0.5", "3", "1e-3", "1.5", "2x", "0.5y", "3z", "1e-3x",
];
const UNARY: &[&str] = &[
    "sin", "cos", "tan", "exp", "ln", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "softplus",
];
const BINARY: &[&str] = &["pow", "max", "min"];
const OPERATORS: &[&str] = &["+", "-", "*", "/"];
const EXPONENTS: &[&str] = &["2", "3", "-1", "0.5", "-2", "1.5", "y", "x"];

/// The tokens of `text`, which separates them with single spaces.
fn words(text: &str) -> Vec<String> {
    text.split(' ').map(String::from).collect()
}

/// `f ( a , b )`.
fn call(f: &str, args: &[Vec<String>]) -> Vec<String> {
    let mut out = words(&format!("{f} ("));
    for (index, arg) in args.iter().enumerate() {
        if index > 0 {
            out.push(",".to_string());
        }
        out.extend(arg.iter().cloned());
    }
    out.push(")".to_string());
    out
}

/// Every function and operator of the grammar, nested up to `depth` levels. Binary operators
/// are parenthesised or not at random: either way the text is a valid expression.
fn expression(depth: u32) -> impl Strategy<Value = Vec<String>> {
    let leaf = select(LEAVES).prop_map(|token| vec![token.to_string()]);
    leaf.prop_recursive(depth, 48, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                select(OPERATORS),
                inner.clone(),
                any::<bool>()
            )
                .prop_map(|(a, op, b, parens)| if parens {
                    [words("("), a, words(op), b, words(")")].concat()
                } else {
                    [a, words(op), b].concat()
                }),
            (select(UNARY), inner.clone()).prop_map(|(f, a)| call(f, &[a])),
            (select(BINARY), inner.clone(), inner.clone()).prop_map(|(f, a, b)| call(f, &[a, b])),
            (inner.clone(), select(EXPONENTS))
                .prop_map(|(a, e)| [a, words(&format!("^ {e}"))].concat()),
            inner.prop_map(|a| [words("-"), a].concat()),
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// (a) Gradients against central differences, and `simplify` against the raw graph.

/// The value of `output` at `point`.
fn value_at(graph: &Graph, output: NodeId, point: &[f64]) -> f64 {
    eval(graph, point)[output.index()]
}

/// The central difference along `axis` with step `h · (1 + |point[axis]|)`.
fn central_difference(graph: &Graph, output: NodeId, point: [f64; 3], axis: usize, h: f64) -> f64 {
    let step = h * (1.0 + point[axis].abs());
    let (mut up, mut down) = (point, point);
    up[axis] += step;
    down[axis] -= step;
    (value_at(graph, output, &up) - value_at(graph, output, &down)) / (2.0 * step)
}

/// The largest magnitude of any node's value at `point`.
fn largest_value(graph: &Graph, point: &[f64]) -> f64 {
    eval(graph, point)
        .iter()
        .fold(0.0, |max, value| value.abs().max(max))
}

/// Whether central differences can tell `graph`'s derivative at `point` along `axis`: its
/// values are small enough that rounding cannot hide the step, differences at two step sizes
/// agree, and so do the one-sided ones (which a jump at `point` itself breaks).
fn smooth_along(graph: &Graph, output: NodeId, point: [f64; 3], axis: usize) -> bool {
    let coarse = central_difference(graph, output, point, axis, 1e-5);
    let fine = central_difference(graph, output, point, axis, 1e-6);
    let step = 1e-6 * (1.0 + point[axis].abs());
    let mut up = point;
    up[axis] += step;
    let at = value_at(graph, output, &point);
    let forward_difference = (value_at(graph, output, &up) - at) / step;
    // An intermediate of size v is rounded by about v·ε, which the difference divides by h.
    let rounding = largest_value(graph, &point) * 2.0 * f64::EPSILON / step;
    rounding <= 1e-8 * (1.0 + fine.abs())
        && coarse.is_finite()
        && fine.is_finite()
        && (coarse - fine).abs() <= 1e-7 * (1.0 + fine.abs())
        && (forward_difference - fine).abs() <= 1e-3 * (1.0 + fine.abs())
}

/// Whether some operation of `graph` is not differentiable at `point`, where the chain rule
/// does not apply even if the whole function is smooth (`sqrt(z - z)`, `abs(x - x)`).
fn at_a_singular_point(graph: &Graph, point: &[f64]) -> bool {
    let values = eval(graph, point);
    let value = |id: NodeId| values[id.index()];
    graph.nodes().iter().any(|node| match node.op {
        Op::Call(Func::Sqrt | Func::Abs | Func::Relu, a) => value(a) == 0.0,
        Op::Max(a, b) | Op::Min(a, b) => value(a) == value(b),
        // A power's derivative in its base is infinite at 0 for exponents below 1.
        Op::Pow(base, _) => value(base) == 0.0,
        _ => false,
    })
}

/// The gradients the pipeline computes at `point`: by hand (simplify → differentiate →
/// simplify), and both of `compile`'s backward graphs (`value_and_grad`, and `backward` with
/// `d_out = 1`).
fn gradients(src: &str, point: [f64; 3]) -> Vec<Vec<f64>> {
    let lowered = lower_str(src).expect("generated expressions lower");
    let (mut forward, outputs) = simplify(&lowered.graph, &[lowered.output]);
    let seed = forward.constant(1.0, Span::call_site());
    let (backward, grads) = differentiate(&forward, outputs[0], seed);
    let (backward, grads) = simplify(&backward, &grads);
    let by_hand = eval(&backward, &point);

    let program = graphs(lowered, &Default::default());
    let (both, outputs) = program.value_and_grad.expect("a scalar output");
    let both_values = eval(&both, &point);
    let (backward, grads_of_backward) = &program.backward;
    let backward_values = eval(backward, &[point[0], point[1], point[2], 1.0]);
    vec![
        grads.iter().map(|g| by_hand[g.index()]).collect(),
        outputs[1..]
            .iter()
            .map(|g| both_values[g.index()])
            .collect(),
        grads_of_backward
            .iter()
            .map(|g| backward_values[g.index()])
            .collect(),
    ]
}

/// Checks one expression at one point; returns how many partial derivatives it compared
/// (none where the function is not finite or not smooth enough for differences to tell).
fn check_gradient(expr: &str, point: [f64; 3]) -> Result<usize, TestCaseError> {
    let src = format!("|x: f64, y: f64, z: f64| {expr}");
    let lowered =
        lower_str(&src).map_err(|error| TestCaseError::fail(format!("{src}: {error}")))?;
    let (raw, output) = (&lowered.graph, lowered.output);
    let value = value_at(raw, output, &point);
    let (simplified, outputs) = simplify(raw, &[output]);
    let simplified_value = value_at(&simplified, outputs[0], &point);
    if !value.is_finite() {
        return Ok(0);
    }
    // Simplifying rounds differently (`powi` for `powf`, gathered factors), and `sin(1e8)`
    // magnifies a rounding error by its argument's size; past 1e8 the value means nothing.
    let largest = largest_value(raw, &point);
    if largest <= 1e8 {
        let tolerance = 1e-9 * (1.0 + value.abs()) + 1e-12 * largest;
        prop_assert!(
            (simplified_value - value).abs() <= tolerance,
            "simplify changed {src} at {point:?} from {value} to {simplified_value}"
        );
    }
    // `max` and `min` drop a NaN operand (as `f64::max` does), so a finite value may hide a
    // NaN inside, whose zero adjoint times its NaN derivative is NaN, as in PyTorch and JAX.
    // A value near underflow (`y^1000`) makes an adjoint `1/value` overflow.
    let representable = |value: &f64| value.is_finite() && (*value == 0.0 || value.abs() > 1e-100);
    if !eval(raw, &point).iter().all(representable) || at_a_singular_point(raw, &point) {
        return Ok(0);
    }
    let all_gradients = gradients(&src, point);
    let mut compared = 0;
    for axis in 0..3 {
        if !smooth_along(raw, output, point, axis) {
            continue;
        }
        let fine = central_difference(raw, output, point, axis, 1e-6);
        for (pipeline, grad) in [
            "simplify-differentiate-simplify",
            "value_and_grad",
            "backward",
        ]
        .iter()
        .zip(&all_gradients)
        {
            let g = grad[axis];
            prop_assert!(
                (g - fine).abs() <= 1e-6 * (1.0 + g.abs()),
                "{pipeline}: ∂/∂{} of {src} at {point:?} is {g} but central differences give {fine}",
                ["x", "y", "z"][axis]
            );
        }
        compared += 1;
    }
    Ok(compared)
}

#[test]
fn random_expressions_gradients_match_central_differences() {
    let cases = 2000;
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let point = prop::array::uniform3(-2.0..2.0);
    let checked = Cell::new(0);
    let result = runner.run(&(expression(4), point), |(tokens, point)| {
        let compared = check_gradient(&tokens.join(" "), point)?;
        checked.set(checked.get() + usize::from(compared > 0));
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    // Most random points must be smooth, or the property says little.
    assert!(
        checked.get() >= cases as usize / 2,
        "only {} of {cases} expressions were smooth enough to compare",
        checked.get()
    );
}

#[test]
fn hand_picked_expressions_gradients_match_central_differences() {
    for (expr, point) in [
        ("tanh(ln(1 + z*2x/sin(y)))", [0.3, 1.1, 0.7]),
        ("x^y^z", [1.3, 0.7, 1.2]),
        ("-x^2 + 2x^-1 - y^0.5", [0.8, 1.5, 0.0]),
        ("pow(max(x, y), min(y, z)) / softplus(-z)", [1.5, 0.5, 0.2]),
        ("sigmoid(relu(x) * abs(y)) - sqrt(exp(z))", [0.4, -1.2, 0.3]),
        ("log(cos(x) + 2) * tan(y)", [2.0, -0.9, 0.0]),
    ] {
        let compared = check_gradient(expr, point).unwrap_or_else(|error| panic!("{error}"));
        assert!(compared >= 2, "{expr} at {point:?}: compared {compared}");
    }
}

#[test]
fn a_power_of_a_non_positive_base_gives_its_exponent_no_nan() {
    // ∂(a^b)/∂b = ln(a)·a^b is taken as 0 where a ≤ 0: exact at a = 0, since 0^y is 0 for
    // every y > 0, and no NaN from a branch that a `max` or `relu` masks out.
    let at = |x: f64, y: f64| [x, y, 0.0];
    for grads in gradients("|x: f64, y: f64, z: f64| pow(0, y)", at(0.0, 1.0)) {
        assert_eq!(grads[1], 0.0, "{grads:?}");
    }
    for grads in gradients("|x: f64, y: f64, z: f64| relu(x)^y", at(-1.0, 2.0)) {
        assert_eq!((grads[0], grads[1]), (0.0, 0.0), "{grads:?}");
    }
    // (x - 2)^max(2, x) is (x - 2)² for x < 2: its derivative at 0 is -4.
    for grads in gradients(
        "|x: f64, y: f64, z: f64| pow(x - 2, max(2, x))",
        at(0.0, 0.0),
    ) {
        assert_eq!(grads[0], -4.0, "{grads:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// (b) Random token streams never make `expand` panic.

/// Tokens that are not delimiters; the fuzzer inserts and swaps these, so groups stay balanced.
fn vocabulary() -> Vec<&'static str> {
    let names = [
        "x", "y", "z", "tanh", "sin", "pow", "sum", "foo", "r#type", "SMatrix", "_",
    ];
    let keywords = ["let", "fn", "pub", "f64", "f32", "#[no_grad]"];
    let numbers = [
        "2", "2x", "1e-3", "0.5", "3y^2", "1e300", "0b1", "2u8", "\"s\"",
    ];
    let puncts = [
        "+", "-", "*", "/", "^", "%", "&&", "**", ";", ",", ":", "|", "->", "=", "<", ">",
    ];
    [&names[..], &keywords, &numbers, &puncts].concat()
}

/// Nested groups of vocabulary tokens.
fn token_trees() -> impl Strategy<Value = Vec<String>> {
    let token = select(vocabulary()).prop_map(|token| vec![token.to_string()]);
    let tree = token.prop_recursive(3, 48, 6, |inner| {
        (
            select(&[("(", ")"), ("{", "}"), ("[", "]")][..]),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|((open, close), items)| {
                let mut out = vec![open.to_string()];
                out.extend(items.into_iter().flatten());
                out.push(close.to_string());
                out
            })
    });
    prop::collection::vec(tree, 0..16).prop_map(|trees| trees.concat())
}

/// A valid graph around random expressions: a closure, a `fn` with a `let`, or a `fn` over a
/// matrix `x` (where many expressions fail shape checks, which is the point).
fn valid_graph() -> impl Strategy<Value = Vec<String>> {
    (expression(3), expression(2), 0..3).prop_map(|(body, bound, form)| match form {
        0 => [words("| x : f64 , y : f64 , z : f64 |"), body].concat(),
        1 => [
            words("pub fn f ( x : f64 , #[no_grad] y : f64 , z : f64 ) -> f64 { let a ="),
            bound,
            words(";"),
            body,
            words("}"),
        ]
        .concat(),
        _ => [
            words("fn g ( x : SMatrix < f64 , 2 , 2 > , y : f64 , #[no_grad] z : f64 ) -> f64 {"),
            call("sum", &[body]),
            words("}"),
        ]
        .concat(),
    })
}

/// An edit that keeps groups balanced: replace, insert or delete one non-delimiter token.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, &'static str),
    Insert(prop::sample::Index, &'static str),
    Delete(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), select(vocabulary()))
            .prop_map(|(at, token)| Edit::Replace(at, token)),
        (any::<prop::sample::Index>(), select(vocabulary()))
            .prop_map(|(at, token)| Edit::Insert(at, token)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
    ]
}

fn is_delimiter(token: &str) -> bool {
    matches!(token, "(" | ")" | "{" | "}" | "[" | "]")
}

fn apply(mut tokens: Vec<String>, edits: Vec<Edit>) -> Vec<String> {
    for edit in edits {
        let len = tokens.len();
        match edit {
            Edit::Insert(at, token) => tokens.insert(at.index(len + 1), token.to_string()),
            Edit::Replace(at, token) if len > 0 && !is_delimiter(&tokens[at.index(len)]) => {
                tokens[at.index(len)] = token.to_string();
            }
            Edit::Delete(at) if len > 0 && !is_delimiter(&tokens[at.index(len)]) => {
                tokens.remove(at.index(len));
            }
            Edit::Replace(..) | Edit::Delete(_) => {}
        }
    }
    tokens
}

/// Token soup, or a valid graph with a few edits (which reach lowering and emission).
fn fuzz_input() -> impl Strategy<Value = String> {
    prop_oneof![
        token_trees(),
        (valid_graph(), prop::collection::vec(edit(), 0..4))
            .prop_map(|(graph, edits)| apply(graph, edits)),
    ]
    .prop_map(|tokens| tokens.join(" "))
}

/// Error messages are lower-case and have no final period (the crate's style).
fn check_message(message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.is_empty(), "an empty error message");
    prop_assert!(
        !message.starts_with(char::is_uppercase) && !message.ends_with('.'),
        "error message not in the crate's style: {message:?}"
    );
    Ok(())
}

/// The messages of the `compile_error!`s in an expansion, at any depth.
fn compile_errors(expansion: TokenStream) -> Vec<String> {
    let mut messages = Vec::new();
    let mut pending = vec![expansion];
    while let Some(stream) = pending.pop() {
        let trees: Vec<TokenTree> = stream.into_iter().collect();
        for (index, tree) in trees.iter().enumerate() {
            let TokenTree::Group(group) = tree else {
                continue;
            };
            let is_compile_error = index >= 2
                && matches!(&trees[index - 2], TokenTree::Ident(name) if name == "compile_error");
            match group.stream().into_iter().next() {
                Some(TokenTree::Literal(message)) if is_compile_error => {
                    let message: syn::LitStr = syn::parse2(message.into_token_stream())
                        .expect("compile_error! takes a string");
                    messages.push(message.value());
                }
                _ => pending.push(group.stream()),
            }
        }
    }
    messages
}

#[test]
fn a_lowering_error_expands_to_its_compile_error() {
    let expansion = expand("fn f(x: f64) -> f64 { tahn(x) }".parse().expect("it lexes"));
    let messages = compile_errors(expansion.expect("lowering errors are tokens, not `Err`"));
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("`tanh`"), "{messages:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn random_token_streams_expand_or_fail_without_panicking(src in fuzz_input()) {
        let tokens: TokenStream = src
            .parse()
            .map_err(|error| TestCaseError::fail(format!("`{src}` does not lex: {error}")))?;
        let messages = match expand(tokens) {
            Ok(expansion) => {
                // Items for a `fn` graph (maybe with `compile_error!`), an expression for a closure.
                let parses = syn::parse2::<syn::File>(expansion.clone()).is_ok()
                    || syn::parse2::<syn::Expr>(expansion.clone()).is_ok();
                prop_assert!(parses, "`{src}` expanded to unparsable tokens: {expansion}");
                compile_errors(expansion)
            }
            Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
        };
        for message in messages {
            check_message(&message)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) The expansion grows linearly with the graph.

/// Every token, descending into groups (a group counts once, for its delimiters), and the
/// deepest nesting of groups. A loop, not recursion: the nesting may be deep.
fn count_tokens(stream: TokenStream) -> (usize, usize) {
    let (mut count, mut deepest) = (0, 0);
    let mut pending = vec![(stream, 0)];
    while let Some((stream, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        for tree in stream {
            count += 1;
            if let TokenTree::Group(group) = tree {
                pending.push((group.stream(), depth + 1));
            }
        }
    }
    (count, deepest)
}

/// A chain of `lets`, each using the previous value twice: `a1 = a0 * sin(a0) + y`.
///
/// FIXME: the expansion is linear, but rustc cannot compile it in a debug build past about
/// 700 of these `let`s (2,000 nodes): one `let` per node nests that many debuginfo scopes,
/// and LLVM's `DwarfCompileUnit::createAndAddScopeChildren` overflows rustc's stack. Plain
/// Rust with 4,000 `let`s in one function does the same; `cargo check` and release builds pass.
fn chain(n_lets: usize) -> String {
    let mut src = String::from("pub fn chain(x: f64, y: f64) -> f64 { let a0 = x;");
    for k in 1..=n_lets {
        src.push_str(&format!(" let a{k} = a{} * sin(a{}) + y;", k - 1, k - 1));
    }
    src.push_str(&format!(" a{n_lets} }}"));
    src
}

/// A balanced tree of `+` and `*` over `n_leaves` distinct leaves (distinct, so CSE keeps them).
fn tree(n_leaves: usize) -> String {
    fn subtree(first: usize, count: usize, depth: usize) -> String {
        if count == 1 {
            return format!("sin({}x + y)", first + 1);
        }
        let half = count / 2;
        let op = if depth.is_multiple_of(2) { "+" } else { "*" };
        format!(
            "({} {op} {})",
            subtree(first, half, depth + 1),
            subtree(first + half, count - half, depth + 1)
        )
    }
    format!(
        "pub fn tree(x: f64, y: f64) -> f64 {{ {} }}",
        subtree(0, n_leaves, 0)
    )
}

/// The lowered graph's node count and the expansion's token count.
fn size(src: &str) -> (usize, usize) {
    let nodes = lower_str(src).expect("the source lowers").graph.len();
    let expansion = expand(src.parse().expect("the source lexes")).expect("the source expands");
    (nodes, count_tokens(expansion).0)
}

#[track_caller]
fn assert_linear(build: fn(usize) -> String, small: usize) {
    let (nodes_small, tokens_small) = size(&build(small));
    let (nodes_large, tokens_large) = size(&build(10 * small));
    for (nodes, tokens) in [(nodes_small, tokens_small), (nodes_large, tokens_large)] {
        assert!(
            tokens <= 60 * nodes,
            "{tokens} tokens for {nodes} nodes: over 60 per node"
        );
    }
    let node_ratio = nodes_large as f64 / nodes_small as f64;
    let token_ratio = tokens_large as f64 / tokens_small as f64;
    assert!(
        (9.0..=11.0).contains(&node_ratio),
        "the large graph has {nodes_large} nodes, the small {nodes_small}"
    );
    assert!(
        token_ratio < 12.0,
        "{node_ratio:.1}× the nodes expand to {token_ratio:.1}× the tokens ({tokens_small} → {tokens_large})"
    );
}

#[test]
fn a_chain_of_lets_expands_linearly() {
    // Each `let` lowers to three nodes: about 1,000 and 10,000 nodes.
    assert_linear(chain, 333);
}

#[test]
fn a_balanced_tree_expands_linearly() {
    // Each leaf lowers to four nodes (constant, product, sum, sine) and joins the tree with one
    // more: about 1,000 and 10,000 nodes.
    assert_linear(tree, 200);
}

#[test]
fn an_adjoint_of_many_terms_nests_only_logarithmically() {
    // `y` feeds every `let` of the chain, so `d_y` sums 300 contributions. `diff` adds them as
    // a balanced tree, so the inlined sum nests about log₂ 300 groups deep, and tools that
    // recurse over the tokens (syn, rustc) never meet a deep stack.
    let expansion = expand(chain(300).parse().expect("the source lexes")).expect("it expands");
    let (_, deepest) = count_tokens(expansion);
    assert!(deepest <= 40, "nesting {deepest}");
}
