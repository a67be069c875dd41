//! Parsing: tokens → [`GraphDef`]. A precedence-climbing parser over syn's `ParseStream`,
//! because syn's `Expr` reads `^` as xor and `2x` as a suffixed literal.
//!
//! Precedence, loosest first: `+ -` (left), `* /` (left), unary `-`, `^` (right; its exponent
//! may itself start with `-`), a coefficient glued to a name (`2x^2` is 2·(x²)).
//! Names are not resolved here; `lower` does that and reports all unknown names at once.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{braced, parenthesized, Attribute, Ident, Lit, Token, Type, Visibility};

use crate::stack::ensure_sufficient_stack;
use crate::syntax::ast::{BinOp, Body, Expr, Form, GraphDef, Let, Options, Param, PrimitiveDecl};

/// Parses a whole `graph!` input.
pub fn parse_graph(tokens: TokenStream) -> syn::Result<GraphDef> {
    parse_deep(parse_def, tokens)
}

/// `parser` over `tokens`, with the stack syn needs: it builds its token buffer recursively,
/// one frame (under 1 KiB unoptimised) per level of brackets, before our parser, which grows
/// its own stack, sees a token.
fn parse_deep<T>(parser: impl Parser<Output = T>, tokens: TokenStream) -> syn::Result<T> {
    let depth = bracket_depth(&tokens)?;
    let needed = (depth + 1024) * 1024;
    stacker::maybe_grow(needed, needed, || parser.parse2(tokens))
}

/// How deeply brackets nest in `tokens`, found without recursion; an error past what any
/// expression within [`MAX_NESTING`] needs (its own levels, and the item's braces and
/// attributes), so that nothing recurses over absurdly deep input.
fn bracket_depth(tokens: &TokenStream) -> syn::Result<usize> {
    const SLACK: usize = 8;
    let mut open = vec![tokens.clone().into_iter()];
    let mut deepest = 0;
    while let Some(trees) = open.last_mut() {
        match trees.next() {
            Some(TokenTree::Group(group)) => {
                if open.len() > MAX_NESTING as usize + SLACK {
                    return Err(syn::Error::new(
                        group.span_open(),
                        format!("expression nested more than {MAX_NESTING} levels deep; name parts of it with `let`"),
                    ));
                }
                open.push(group.stream().into_iter());
                deepest = deepest.max(open.len());
            }
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    Ok(deepest)
}

/// Parses one expression, all of `tokens`.
pub fn parse_expr_tokens(tokens: TokenStream) -> syn::Result<Expr> {
    parse_deep(
        |input: ParseStream| {
            let expr = parse_expr(input)?;
            expect_end(input, "the end of the expression")?;
            Ok(expr)
        },
        tokens,
    )
}

fn parse_def(input: ParseStream) -> syn::Result<GraphDef> {
    let attrs = input.call(Attribute::parse_outer)?;
    let closure = input.peek(Token![|]) || input.peek(Token![||]);
    let (options, docs) = parse_options(attrs, closure)?;
    let mut def = if closure {
        parse_closure(input)?
    } else {
        parse_item(input, docs)?
    };
    def.options = options;
    Ok(def)
}

/// Splits the attributes before a graph into its [`Options`] and its doc comments.
fn parse_options(attrs: Vec<Attribute>, closure: bool) -> syn::Result<(Options, Vec<Attribute>)> {
    let mut options = Options::default();
    let mut docs = Vec::new();
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("doc") && !closure {
            docs.push(attr);
        } else if path.is_ident("tape") && !closure {
            attr.meta.require_path_only()?;
            options.tape = true;
        } else if path.is_ident("by_ref") && !closure {
            attr.meta.require_path_only()?;
            options.by_ref = true;
        } else if path.is_ident("hessian") && !closure {
            attr.meta.require_path_only()?;
            options.hessian = true;
        } else if path.is_ident("dot") && !closure {
            attr.meta.require_path_only()?;
            options.dot = true;
        } else if path.is_ident("primitive") {
            parse_primitives(&attr, &mut options)?;
        } else if path.is_ident("chainrule") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    options.krate = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    Err(meta.error("unknown option; `#[chainrule(..)]` takes `crate = path`"))
                }
            })?;
        } else {
            let name = path.to_token_stream().to_string().replace(' ', "");
            let allowed = if closure {
                "a closure graph takes only `#[primitive(name = Type)]` and `#[chainrule(crate = path)]`"
            } else {
                "only doc comments, `#[tape]`, `#[by_ref]`, `#[hessian]`, `#[dot]`, `#[primitive(name = Type)]` and `#[chainrule(crate = path)]` are allowed here"
            };
            return Err(syn::Error::new_spanned(
                path,
                format!("unsupported attribute `#[{name}]` on a graph; {allowed}"),
            ));
        }
    }
    Ok((options, docs))
}

/// `#[primitive(swish = Swish, mish = crate::act::Mish)]`: names the graph may call, each
/// implemented by a type.
fn parse_primitives(attr: &Attribute, options: &mut Options) -> syn::Result<()> {
    let hint = "write `#[primitive(name = Type)]`, `Type` implementing `chainrule::Primitive`";
    if !matches!(attr.meta, syn::Meta::List(_)) {
        return Err(syn::Error::new_spanned(
            attr,
            format!("expected a list; {hint}"),
        ));
    }
    attr.parse_nested_meta(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format!("a primitive's name is one identifier; {hint}")));
        };
        if !meta.input.peek(Token![=]) {
            return Err(meta.error(format!("expected `= Type` after `{name}`; {hint}")));
        }
        let path: syn::Path = meta.value()?.parse()?;
        if options.primitives.iter().any(|known| known.name == name) {
            return Err(syn::Error::new(
                name.span(),
                format!("primitive `{name}` is declared twice"),
            ));
        }
        options.primitives.push(PrimitiveDecl { name, path });
        Ok(())
    })
}

fn parse_closure(input: ParseStream) -> syn::Result<GraphDef> {
    if input.peek(Token![||]) {
        let bars: Token![||] = input.parse()?;
        return Err(syn::Error::new_spanned(
            bars,
            "a graph needs at least one parameter, as in `|x: f64| x * x`",
        ));
    }
    let open: Token![|] = input.parse()?;
    let mut params = Vec::new();
    while !input.peek(Token![|]) {
        if input.is_empty() {
            return Err(syn::Error::new(
                open.span,
                "unclosed `|`: expected `|` after the parameters",
            ));
        }
        let param = parse_param(input)?;
        if input.is_empty() {
            return Err(syn::Error::new(
                open.span,
                "unclosed `|`: expected `|` after the parameters",
            ));
        }
        if !input.peek(Token![|]) && !input.peek(Token![,]) {
            return Err(input.error(format!(
                "expected `,` or `|` after parameter `{}`",
                param.name
            )));
        }
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        params.push(param);
    }
    input.parse::<Token![|]>()?;
    let body = if input.peek(syn::token::Brace) {
        let content;
        let braces = braced!(content in input);
        let body = parse_body(&content, braces.span.join())?;
        expect_end(input, "the end of the graph")?;
        body
    } else {
        let result = parse_expr(input)?;
        expect_end(input, "the end of the expression")?;
        Body {
            lets: Vec::new(),
            result,
        }
    };
    Ok(GraphDef {
        options: Options::default(),
        form: Form::Closure { span: open.span },
        params,
        body,
    })
}

fn parse_item(input: ParseStream, docs: Vec<Attribute>) -> syn::Result<GraphDef> {
    let vis: Visibility = input.parse()?;
    if !input.peek(Token![fn]) {
        return Err(input.error(
            "expected `fn` or `|`: a graph is `fn name(x: f64) -> f64 { .. }` or `|x: f64| ..`",
        ));
    }
    input.parse::<Token![fn]>()?;
    let name: Ident = input.parse()?;
    let generics: syn::Generics = input.parse()?;
    let content;
    let parens = parenthesized!(content in input);
    let params = content
        .parse_terminated(parse_param, Token![,])?
        .into_iter()
        .collect();
    if !input.peek(Token![->]) {
        return Err(syn::Error::new(
            parens.span.close(),
            format!("missing return type for graph `{name}`; write `-> f64` (or `-> f32`) after the parameters"),
        ));
    }
    input.parse::<Token![->]>()?;
    let output: Type = input.parse()?;
    if !input.peek(syn::token::Brace) {
        return Err(input.error("expected `{` and the graph's body"));
    }
    let content;
    let braces = braced!(content in input);
    let body = parse_body(&content, braces.span.join())?;
    expect_end(input, "the end of the graph")?;
    Ok(GraphDef {
        options: Options::default(),
        form: Form::Item {
            docs,
            vis,
            name,
            generics,
            output,
        },
        params,
        body,
    })
}

fn parse_param(input: ParseStream) -> syn::Result<Param> {
    let mut requires_grad = true;
    for attr in input.call(Attribute::parse_outer)? {
        if attr.path().is_ident("no_grad") && matches!(attr.meta, syn::Meta::Path(_)) {
            requires_grad = false;
        } else if attr.path().is_ident("no_grad") {
            return Err(syn::Error::new_spanned(
                &attr.meta,
                "`#[no_grad]` takes no arguments",
            ));
        } else {
            return Err(syn::Error::new_spanned(
                attr,
                "unsupported attribute on a parameter; only `#[no_grad]` is allowed",
            ));
        }
    }
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let ty: Type = input.parse()?;
    Ok(Param {
        name,
        ty,
        requires_grad,
    })
}

fn parse_body(input: ParseStream, braces: Span) -> syn::Result<Body> {
    let mut lets = Vec::new();
    while input.peek(Token![let]) {
        input.parse::<Token![let]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![:]) {
            return Err(input.error(
                "type annotations on `let` are not needed in a graph; write `let name = ..;`",
            ));
        }
        input.parse::<Token![=]>()?;
        let value = parse_expr(input)?;
        if !input.peek(Token![;]) {
            expect_end(input, "`;`")?;
            return Err(input.error("expected `;` after the `let`"));
        }
        input.parse::<Token![;]>()?;
        lets.push(Let { name, value });
    }
    if input.is_empty() {
        return Err(match lets.last() {
            None => syn::Error::new(braces, "empty graph body; expected an expression"),
            Some(last) => syn::Error::new(
                last.name.span(),
                format!(
                    "the graph body ends with `let {0} = ..;` but must end with its output; write `{0}` after it",
                    last.name
                ),
            ),
        });
    }
    let result = parse_expr(input)?;
    if input.peek(Token![;]) {
        return Err(input.error("the output expression must not end with `;`"));
    }
    expect_end(input, "the end of the graph body")?;
    Ok(Body { lets, result })
}

/// Errors unless `input` is exhausted, naming what was found instead of `expected`.
fn expect_end(input: ParseStream, expected: &str) -> syn::Result<()> {
    if input.is_empty() {
        return Ok(());
    }
    input.step(|cursor| {
        let Some((tree, _)) = cursor.token_tree() else {
            return Err(cursor.error(format!("expected {expected}")));
        };
        let message = match &tree {
            TokenTree::Punct(_) => {
                let operator = joined_punct(*cursor);
                if operator == "**" {
                    "`**` is not an operator in graphs; write `x^2` for a power".to_string()
                } else if operator == "." {
                    "method calls are not part of the graph language; call functions as `sin(x)`"
                        .to_string()
                } else {
                    format!("unsupported operator `{operator}`; graphs know `+ - * / ^`")
                }
            }
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                format!("expected an operator or {expected}, found `{tree}`")
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Parenthesis => {
                format!("expected an operator before `(`; write `*` for a product, found `{tree}`")
            }
            TokenTree::Group(_) => format!("expected {expected}, found `{tree}`"),
        };
        Err(syn::Error::new(tree.span(), message))
    })
}

/// The operator starting at `cursor`, with the puncts joined to it (`&&`, `**`, `>=`).
fn joined_punct(mut cursor: syn::buffer::Cursor) -> String {
    let mut operator = String::new();
    while let Some((punct, next)) = cursor.punct() {
        operator.push(punct.as_char());
        if punct.spacing() == proc_macro2::Spacing::Alone {
            break;
        }
        cursor = next;
    }
    operator
}

/// How deeply parentheses, calls, powers and unary minus may nest, and how many binary
/// operators one expression may chain. The stages that recurse over the tree grow their stack
/// as they go (`stack::ensure_sufficient_stack`), so formulas exported from a computer-algebra
/// system, thousands of calls deep, compile; the cap only turns absurd input into an error.
/// Real graphs split long sums with `let`.
pub const MAX_NESTING: u32 = 10_000;
const MAX_CHAIN: usize = 2048;

/// `expr := term (('+' | '-') term)*`
pub fn parse_expr(input: ParseStream) -> syn::Result<Expr> {
    expr_at(input, 0)
}

fn expr_at(input: ParseStream, depth: u32) -> syn::Result<Expr> {
    if depth > MAX_NESTING {
        return Err(too_deep(input));
    }
    ensure_sufficient_stack(|| parse_binary(input, 0, depth))
}

fn too_deep(input: ParseStream) -> syn::Error {
    input.error(format!(
        "expression nested more than {MAX_NESTING} levels deep; name parts of it with `let`"
    ))
}

fn peek_binary(input: ParseStream) -> Option<(BinOp, u8)> {
    if input.peek(Token![+]) && !input.peek(Token![+=]) {
        Some((BinOp::Add, 0))
    } else if input.peek(Token![-]) && !input.peek(Token![-=]) && !input.peek(Token![->]) {
        Some((BinOp::Sub, 0))
    } else if input.peek(Token![*]) && !input.peek(Token![*=]) {
        Some((BinOp::Mul, 1))
    } else if input.peek(Token![/]) && !input.peek(Token![/=]) {
        Some((BinOp::Div, 1))
    } else {
        None
    }
}

fn parse_binary(input: ParseStream, min_precedence: u8, depth: u32) -> syn::Result<Expr> {
    let mut lhs = parse_unary(input, depth)?;
    let mut chained = 0;
    while let Some((op, precedence)) = peek_binary(input) {
        chained += 1;
        if chained > MAX_CHAIN {
            return Err(input.error(format!(
                "expression chains more than {MAX_CHAIN} operators; split it with `let`"
            )));
        }
        if precedence < min_precedence {
            break;
        }
        if op == BinOp::Mul && input.peek2(Token![*]) {
            return Err(input.error("`**` is not an operator in graphs; write `x^2` for a power"));
        }
        let span = input.step(|cursor| {
            let (punct, rest) = cursor.punct().expect("peeked an operator");
            Ok((punct.span(), rest))
        })?;
        expect_operand(input, span, op.symbol())?;
        // Left-associative: the right side binds only tighter operators.
        let rhs = parse_binary(input, precedence + 1, depth)?;
        lhs = Expr::Binary {
            op,
            span,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
    }
    Ok(lhs)
}

/// Errors on the operator itself when nothing follows it (`x +`, `x + ;`).
fn expect_operand(input: ParseStream, operator: Span, symbol: &str) -> syn::Result<()> {
    if input.is_empty() || input.peek(Token![;]) || input.peek(Token![,]) {
        return Err(syn::Error::new(
            operator,
            format!("expected an expression after `{symbol}`"),
        ));
    }
    Ok(())
}

/// `unary := '-' unary | power`
fn parse_unary(input: ParseStream, depth: u32) -> syn::Result<Expr> {
    if depth > MAX_NESTING {
        return Err(too_deep(input));
    }
    if input.peek(Token![-]) {
        let minus: Token![-] = input.parse()?;
        expect_operand(input, minus.span, "-")?;
        let operand = ensure_sufficient_stack(|| parse_unary(input, depth + 1))?;
        return Ok(Expr::Neg {
            span: minus.span,
            operand: Box::new(operand),
        });
    }
    let base = parse_primary(input, depth)?;
    parse_power_of(input, base, depth)
}

/// `power := primary ('^' unary)?`, right-associative through `unary`.
fn parse_power_of(input: ParseStream, base: Expr, depth: u32) -> syn::Result<Expr> {
    if !input.peek(Token![^]) || input.peek(Token![^=]) {
        return Ok(base);
    }
    let caret: Token![^] = input.parse()?;
    expect_operand(input, caret.span, "^")?;
    let exponent = ensure_sufficient_stack(|| parse_unary(input, depth + 1))?;
    Ok(Expr::Binary {
        op: BinOp::Pow,
        span: caret.span,
        lhs: Box::new(base),
        rhs: Box::new(exponent),
    })
}

const INTEGER_SUFFIXES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

fn parse_primary(input: ParseStream, depth: u32) -> syn::Result<Expr> {
    if input.peek(Lit) {
        return parse_number(input, depth);
    }
    if input.peek(syn::token::Paren) {
        let content;
        let parens = parenthesized!(content in input);
        if content.is_empty() {
            return Err(syn::Error::new(
                parens.span.join(),
                "empty parentheses; expected an expression inside",
            ));
        }
        let inner = expr_at(&content, depth + 1)?;
        expect_end(&content, "`)`")?;
        return Ok(inner);
    }
    if input.peek(Ident) {
        let name: Ident = input.parse()?;
        if !input.peek(syn::token::Paren) {
            return Ok(Expr::Name(name));
        }
        let content;
        let parens = parenthesized!(content in input);
        let mut args = Vec::new();
        while !content.is_empty() {
            args.push(expr_at(&content, depth + 1)?);
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        return Ok(Expr::Call {
            func: name,
            args_span: parens.span.join(),
            args,
        });
    }
    if input.is_empty() {
        return Err(input.error("expected an expression"));
    }
    if input.peek(Ident::peek_any) {
        let keyword = input.call(Ident::parse_any)?;
        return Err(syn::Error::new(
            keyword.span(),
            format!("expected an expression, found keyword `{keyword}`"),
        ));
    }
    input.step(|cursor| {
        let (tree, _) = cursor.token_tree().expect("input is not empty");
        let found = match &tree {
            TokenTree::Punct(_) => joined_punct(*cursor),
            _ => tree.to_string(),
        };
        Err(syn::Error::new(
            tree.span(),
            format!("expected an expression, found `{found}`"),
        ))
    })
}

/// A number, or a coefficient glued to a name: `2x^2` is `2 * (x^2)`.
fn parse_number(input: ParseStream, depth: u32) -> syn::Result<Expr> {
    let literal: Lit = input.parse()?;
    let span = literal.span();
    let (digits, suffix) = match &literal {
        Lit::Int(int) => (int.base10_digits().to_string(), int.suffix().to_string()),
        Lit::Float(float) => (
            float.base10_digits().to_string(),
            float.suffix().to_string(),
        ),
        _ => {
            return Err(syn::Error::new(
                span,
                format!("expected a number, found `{}`", literal.to_token_stream()),
            ))
        }
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| syn::Error::new(span, format!("`{digits}` is not a number")))?;
    let number = Expr::Number { value, span };
    match suffix.as_str() {
        "" | "f32" | "f64" => Ok(number),
        suffix if INTEGER_SUFFIXES.contains(&suffix) => Err(syn::Error::new(
            span,
            format!("integer suffix `{suffix}` is not supported; graph numbers are real"),
        )),
        suffix => {
            let name = Ident::new(suffix, span);
            let factor = parse_power_of(input, Expr::Name(name), depth)?;
            Ok(Expr::Binary {
                op: BinOp::Mul,
                span,
                lhs: Box::new(number),
                rhs: Box::new(factor),
            })
        }
    }
}

impl Parse for GraphDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        parse_def(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn grouping(src: &str) -> String {
        let tokens: TokenStream = src.parse().expect("test source lexes");
        match parse_expr_tokens(tokens) {
            Ok(expr) => expr.to_string(),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn arithmetic_is_left_associative_with_usual_precedence() {
        assert_eq!(grouping("a - b - c"), "((a - b) - c)");
        assert_eq!(grouping("a + b * c / d"), "(a + ((b * c) / d))");
        assert_eq!(grouping("(a + b) * c"), "((a + b) * c)");
    }

    #[test]
    fn power_is_right_associative_and_binds_tighter_than_unary_minus() {
        assert_eq!(grouping("-x^2"), "(-(x ^ 2))");
        assert_eq!(grouping("a^b^c"), "(a ^ (b ^ c))");
        assert_eq!(grouping("2^-x"), "(2 ^ (-x))");
        assert_eq!(grouping("--x"), "(-(-x))");
    }

    #[test]
    fn coefficient_glued_to_a_name_binds_tightest() {
        assert_eq!(grouping("2x"), "(2 * x)");
        assert_eq!(grouping("2x^2"), "(2 * (x ^ 2))");
        assert_eq!(grouping("1/2x"), "(1 / (2 * x))");
        assert_eq!(grouping("z*2x/sin(y)"), "((z * (2 * x)) / sin(y))");
        assert_eq!(grouping("2.5e1w"), "(25 * w)");
    }

    #[test]
    fn type_suffixes_keep_their_rust_meaning() {
        assert_eq!(grouping("2f32 + 1.5f64"), "(2 + 1.5)");
        assert_eq!(grouping("1e-3"), "0.001");
        assert!(grouping("2i32").contains("integer suffix `i32`"));
    }

    #[test]
    fn the_lecture_graph_parses_with_calls_nested() {
        assert_eq!(
            grouping("tanh(ln(1 + z*2x/sin(y)))"),
            "tanh(ln((1 + ((z * (2 * x)) / sin(y)))))"
        );
        assert_eq!(grouping("pow(a, b)"), "pow(a, b)");
    }

    #[test]
    fn deep_nesting_parses_up_to_its_cap_and_long_chains_to_theirs() {
        let nested = |depth: usize| format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(grouping(&nested(2_000)), "x");
        assert!(grouping(&nested(10_001)).contains("nested more than 10000 levels"));
        assert_eq!(grouping(&format!("{}x", "-".repeat(3))), "(-(-(-x)))");
        assert!(
            grouping(&format!("{}x", "-".repeat(10_001))).contains("nested more than 10000 levels")
        );
        let chain = vec!["x"; 3000].join(" + ");
        assert!(grouping(&chain).contains("chains more than 2048 operators"));
        let long_but_fine = vec!["x"; 2000].join(" + ");
        assert!(!grouping(&long_but_fine).starts_with("error"));
    }

    #[test]
    fn trailing_and_unsupported_operators_are_named() {
        assert_eq!(grouping("x +"), "error: expected an expression after `+`");
        assert_eq!(
            grouping("x % y"),
            "error: unsupported operator `%`; graphs know `+ - * / ^`"
        );
        assert_eq!(
            grouping("x && y"),
            "error: unsupported operator `&&`; graphs know `+ - * / ^`"
        );
        assert!(grouping("x ** 2").contains("write `x^2`"));
        assert!(grouping("x y").contains("found `y`"));
        assert!(grouping("x + if").contains("keyword `if`"));
        assert!(grouping("\"s\"").contains("expected a number"));
    }

    #[track_caller]
    fn def_error(src: &str) -> String {
        let tokens: TokenStream = src.parse().expect("test source lexes");
        match parse_graph(tokens) {
            Ok(_) => "ok".to_string(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn item_and_closure_forms_parse() {
        assert_eq!(
            def_error("/// doc\npub fn f(x: f64, #[no_grad] y: f64) -> f64 { let a = x * y; a }"),
            "ok"
        );
        assert_eq!(def_error("|x: f64, y: f64| x * y"), "ok");
        assert_eq!(def_error("|x: f64| { let a = x; a }"), "ok");
    }

    #[test]
    fn malformed_items_say_what_is_missing() {
        assert!(def_error("fn f(x: f64) { x }").contains("missing return type for graph `f`"));
        assert_eq!(
            def_error("fn f(x: f64) -> f64 {}"),
            "empty graph body; expected an expression"
        );
        assert!(def_error("fn f(x: f64) -> f64 { let a = x; }").contains("write `a` after it"));
        assert!(def_error("fn f(x: f64) -> f64 { x; }").contains("must not end with `;`"));
        assert!(def_error("fn f(#[grad] x: f64) -> f64 { x }").contains("only `#[no_grad]`"));
        assert!(def_error("|| 1").contains("at least one parameter"));
        assert!(def_error("|x: f64").contains("unclosed `|`"));
        assert!(def_error("|x: f64 y: f64| x").contains("expected `,` or `|` after parameter `x`"));
        assert_eq!(
            def_error("fn f(#[no_grad(x)] x: f64) -> f64 { x }"),
            "`#[no_grad]` takes no arguments"
        );
        assert!(def_error("#[inline] fn f(x: f64) -> f64 { x }").contains("`#[inline]`"));
        assert!(def_error("|x: f64| x.sin()").contains("call functions as `sin(x)`"));
        assert!(def_error("|x: f64").contains("unclosed `|`"));
        assert!(def_error("|x: f64 y: f64| x").contains("expected `,` or `|` after parameter `x`"));
        assert_eq!(
            def_error("fn f(#[no_grad(x)] x: f64) -> f64 { x }"),
            "`#[no_grad]` takes no arguments"
        );
        assert!(def_error("#[inline] fn f(x: f64) -> f64 { x }").contains("`#[inline]`"));
        assert!(def_error("|x: f64| x.sin()").contains("call functions as `sin(x)`"));
    }
}
