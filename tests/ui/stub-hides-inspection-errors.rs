//! After an error in a graph's body, the stub still declares `check_gradient`, the operation
//! counts and (with `#[dot]`) `DOT` and `dot`, so only the real error shows.

use chainrule::graph;

graph! {
    #[dot]
    fn f(x: f64) -> f64 {
        tahn(x)
    }
}

fn main() {
    let _ = f::check_gradient(1.0).is_ok();
    let _: u64 = f::FORWARD_OPS + f::BACKWARD_OPS;
    let _: &str = f::DOT;
    let _: String = f::dot(1.0);
}
