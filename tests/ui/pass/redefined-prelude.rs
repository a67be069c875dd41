//! Generated code names everything by absolute path, so user types that shadow the prelude
//! (and common std names) do not break it.

#![allow(dead_code, non_camel_case_types)]

use chainrule::graph;

struct Option;
struct Some;
struct None;
struct Result;
struct Ok;
struct Err;
struct Default;
struct Clone;
struct Copy;
struct Debug;
struct PartialEq;
struct Vec;
struct String;
struct Box;
struct Into;
struct From;
struct Iterator;
struct Send;
struct Sync;
struct Sized;
struct Drop;
struct Fn;
struct core;
struct std;
struct alloc;
struct chainrule_private;
struct unimplemented;
struct nalgebra;
struct Grad;
struct Graph;

graph! {
    /// The lecture's graph, with a `let` and a `#[no_grad]` input.
    pub fn lecture(x: f64, y: f64, #[no_grad] z: f64) -> f64 {
        let d = z*2x/sin(y);
        tanh(ln(1 + d)) + relu(x) + sigmoid(y) + softplus(z) + max(x, y)
    }
}

fn main() {
    let (value, grad) = lecture::value_and_grad(0.3, 1.1, 0.7);
    assert_eq!(lecture::forward(0.3, 1.1, 0.7), value);
    assert_eq!(lecture::backward(0.3, 1.1, 0.7, 1.0), grad);
    let zero: lecture::Grad = ::core::default::Default::default();
    assert_eq!(zero.x, 0.0);

    let f = graph!(|x: f32, y: f32| x * sin(y) + abs(x) - min(x, y) ^ 2);
    let (value, [dx, dy]) = f.value_and_grad(2.0, 0.5);
    assert_eq!(f.forward(2.0, 0.5), value);
    assert!(dx.is_finite() && dy.is_finite());
}
