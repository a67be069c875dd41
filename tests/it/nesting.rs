//! A formula nested 2,000 calls deep, as a computer-algebra system exports them, compiles
//! through rustc (which runs `graph!` on its own thread's stack) and differentiates right.

/// `graph! { fn $name(x: f64) -> f64 { … } }` with the expression wrapped in 20 calls,
/// `tanh(sin(…))`, per `@`: 100 `@` make 2,000 levels, in 100 steps of macro recursion, within
/// rustc's default limit of 128.
macro_rules! nested_graph {
    ($name:ident [] $($expr:tt)*) => {
        chainrule::graph! {
            fn $name(x: f64) -> f64 { $($expr)* }
        }
    };
    ($name:ident [@ $($more:tt)*] $($expr:tt)*) => {
        nested_graph!($name [$($more)*]
            tanh(sin(tanh(sin(tanh(sin(tanh(sin(tanh(sin(
            tanh(sin(tanh(sin(tanh(sin(tanh(sin(tanh(sin($($expr)*))))))))))))))))))))
        );
    };
}

nested_graph!(deep [
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
    @ @ @ @ @ @ @ @ @ @  @ @ @ @ @ @ @ @ @ @
] x);

/// The same function as a loop from the inside out (`sin` innermost), and its derivative by
/// the chain rule.
fn by_hand(x: f64) -> (f64, f64) {
    let (mut value, mut slope) = (x, 1.0);
    for level in 0..2_000 {
        let (next, derivative) = if level % 2 == 0 {
            (value.sin(), value.cos())
        } else {
            let t = value.tanh();
            (t, 1.0 - t * t)
        };
        value = next;
        slope *= derivative;
    }
    (value, slope)
}

#[test]
fn two_thousand_nested_calls_compile_and_differentiate() {
    for x in [0.5, -1.5, 3.0] {
        let (value, slope) = by_hand(x);
        let (found, grad) = deep::value_and_grad(x);
        assert!((found - value).abs() < 1e-12, "{found} vs {value}");
        assert!(
            (grad.x - slope).abs() < 1e-12 * slope.abs().max(1.0),
            "{} vs {slope}",
            grad.x
        );
        deep::check_gradient(x).unwrap();
    }
    assert_eq!(deep::FORWARD_OPS, 2_000);
}
