use chainrule::{graph, Primitive};

pub struct Swish;

impl Primitive<f64> for Swish {
    fn value(x: f64) -> f64 {
        x / (1.0 + (-x).exp())
    }
    fn derivative(x: f64, y: f64) -> f64 {
        let s = 1.0 / (1.0 + (-x).exp());
        s + y * (1.0 - s)
    }
}

// The graph never declares `swish`, so it is an unknown function.
graph! {
    fn neuron(w: f64, #[no_grad] x: f64) -> f64 {
        swish(w * x)
    }
}

fn main() {
    let _ = neuron::forward(1.0, 2.0);
}
