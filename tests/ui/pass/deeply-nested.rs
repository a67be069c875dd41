//! A formula 2,000 calls deep compiles: rustc runs `graph!` on its own thread's stack, and
//! the stages that recurse over the expression grow theirs.

/// Wraps the expression in 20 calls per `@`: 100 `@` are 2,000 levels, in 100 steps of
/// macro recursion (rustc's limit is 128).
macro_rules! nested_graph {
    ([] $($expr:tt)*) => {
        chainrule::graph! {
            fn nested(x: f64) -> f64 { $($expr)* }
        }
    };
    ([@ $($more:tt)*] $($expr:tt)*) => {
        nested_graph!([$($more)*]
            tanh(sin(tanh(sin(tanh(sin(tanh(sin(tanh(sin(
            tanh(sin(tanh(sin(tanh(sin(tanh(sin(tanh(sin($($expr)*))))))))))))))))))))
        );
    };
}

nested_graph!([
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
] x);

fn main() {
    let (value, grad) = nested::value_and_grad(0.5);
    assert!(value.is_finite() && grad.x.is_finite());
    nested::check_gradient(0.5).unwrap();
}
