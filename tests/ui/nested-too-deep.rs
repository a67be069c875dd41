//! Past 10,000 levels of nesting, a spanned error rather than a crash.

/// Wraps the expression in 100 calls per `@`: 101 `@` are 10,100 levels.
macro_rules! nested_graph {
    ([] $($expr:tt)*) => {
        chainrule::graph! {
            fn nested(x: f64) -> f64 { $($expr)* }
        }
    };
    ([@ $($more:tt)*] $($expr:tt)*) => {
        nested_graph!([$($more)*]
            sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(
            sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(
            sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(
            sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(
            sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(
            $($expr)*
            ))))))))))))))))))))))))))))))))))))))))))))))))))
            ))))))))))))))))))))))))))))))))))))))))))))))))))
        );
    };
}

nested_graph!([
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @
] x);

fn main() {}
