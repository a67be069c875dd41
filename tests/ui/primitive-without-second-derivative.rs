use chainrule::{graph, Primitive};

/// x³, with a first derivative only.
pub struct Cube;

impl Primitive<f64> for Cube {
    fn value(x: f64) -> f64 {
        x * x * x
    }
    fn derivative(x: f64, _y: f64) -> f64 {
        3.0 * x * x
    }
}

graph! {
    #[hessian]
    #[primitive(cube = Cube)]
    fn loss(w: f64) -> f64 {
        cube(w) + w
    }
}

fn main() {
    let _ = loss::hessian(1.0);
}
