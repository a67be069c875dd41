//! Deeply nested expressions compile, through every stage, on the 2 MiB stack of a test
//! thread (rustc gives proc macros more); past `MAX_NESTING` they are a spanned error.

use graph_compiler::syntax::parse::MAX_NESTING;

/// `tanh(sin(tanh(sin(… x …))))`, `depth` calls deep.
fn nested_calls(depth: usize) -> String {
    let mut src = String::with_capacity(depth * 7);
    for level in 0..depth {
        src.push_str(if level % 2 == 0 { "tanh(" } else { "sin(" });
    }
    src.push('x');
    src.push_str(&")".repeat(depth));
    src
}

fn expand(body: &str) -> Result<String, String> {
    let src = format!("fn deep(x: f64) -> f64 {{ {body} }}");
    let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
    graph_compiler::expand(tokens)
        .map(|tokens| tokens.to_string())
        .map_err(|error| error.to_string())
}

#[test]
fn two_thousand_nested_calls_expand() {
    let expanded = expand(&nested_calls(2_000)).expect("expands");
    assert!(!expanded.contains("compile_error"));
}

#[test]
fn nesting_up_to_the_cap_expands_in_every_form() {
    let depth = MAX_NESTING as usize;
    assert!(expand(&nested_calls(depth)).is_ok());
    let parens = format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
    assert!(expand(&parens).is_ok());
    let minus = format!("{}x", "-".repeat(depth));
    assert!(expand(&minus).is_ok());
}

#[test]
fn nesting_past_the_cap_is_an_error_not_a_crash() {
    let depth = MAX_NESTING as usize + 1;
    let expected = format!("nested more than {MAX_NESTING} levels deep");
    for body in [
        nested_calls(depth + 1),
        format!("{}x{}", "(".repeat(depth + 1), ")".repeat(depth + 1)),
        format!("{}x", "-".repeat(depth + 1)),
        format!("x{}", "^x".repeat(depth + 1)),
        // Far past it: refused before syn, which recurses over brackets, sees the tokens.
        nested_calls(10 * depth),
    ] {
        assert!(expand(&body).unwrap_err().contains(&expected));
    }
}

/// How deeply token groups (brackets, and the invisible groups of inlined expressions) nest.
fn group_depth(tokens: proc_macro2::TokenStream) -> usize {
    let mut open = vec![tokens.into_iter()];
    let mut deepest = 0;
    while let Some(trees) = open.last_mut() {
        match trees.next() {
            Some(proc_macro2::TokenTree::Group(group)) => {
                open.push(group.stream().into_iter());
                deepest = deepest.max(open.len());
            }
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    deepest
}

#[test]
fn emitted_code_stays_shallow_however_deep_the_input() {
    for src in [
        format!("fn deep(x: f64) -> f64 {{ {} }}", nested_calls(2_000)),
        format!(
            "fn chain(x: f64) -> f64 {{ {} }}",
            vec!["x"; 2_000].join(" + ")
        ),
        format!(
            "fn chain(x: f64) -> f64 {{ {} }}",
            vec!["sin(x)"; 2_000].join(" * ")
        ),
        format!(
            "#[tape] fn chain(x: f64) -> f64 {{ {} }}",
            vec!["x"; 2_000].join(" * ")
        ),
    ] {
        let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
        let expanded = graph_compiler::expand(tokens).expect("expands");
        let depth = group_depth(expanded);
        assert!(
            depth < 32,
            "{depth} levels in the expansion of {}…",
            &src[..40]
        );
    }
}

/// The most `let`s in a row in any block of `block` and the blocks it binds: each opens a
/// lexical scope that holds the rest of its block, and LLVM recurses through those scopes.
fn scope_depth(block: &syn::Block) -> usize {
    let mut lets = 0;
    let mut deepest = 0;
    for statement in &block.stmts {
        if let syn::Stmt::Local(local) = statement {
            lets += 1;
            if let Some(init) = &local.init {
                if let syn::Expr::Block(inner) = &*init.expr {
                    deepest = deepest.max(lets + scope_depth(&inner.block));
                }
            }
        }
    }
    deepest.max(lets)
}

#[test]
fn a_function_of_thousands_of_nodes_nests_few_scopes() {
    let src = format!("fn deep(x: f64) -> f64 {{ {} }}", nested_calls(2_000));
    let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
    let file: syn::File = syn::parse2(graph_compiler::expand(tokens).expect("expands")).unwrap();
    let syn::Item::Mod(module) = &file.items[0] else {
        panic!("a module")
    };
    let items = &module.content.as_ref().expect("inline module").1;
    let mut functions = 0;
    for item in items {
        if let syn::Item::Fn(function) = item {
            functions += 1;
            let depth = scope_depth(&function.block);
            // `backward` has about 6,000 `let`s: in blocks of √6000 ≈ 78, 156 scopes deep.
            assert!(depth < 200, "`{}` nests {depth} scopes", function.sig.ident);
        }
    }
    assert!(functions >= 3);
}

#[test]
fn a_small_graph_stays_one_flat_list_of_lets() {
    let src = "fn f(x: f64) -> f64 { let a = 2x; tanh(a) }";
    let expanded = graph_compiler::expand(src.parse().unwrap())
        .unwrap()
        .to_string();
    assert!(expanded.contains("let a = 2.0 * x ;"), "{expanded}");
    assert!(!expanded.contains("let (a"), "{expanded}");
}
