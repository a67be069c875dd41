use chainrule::graph;

graph! {
    fn activation(x: f64, y: f64) -> f64 {
        tahn(x) * y
    }
}

fn main() {
    let (value, grad) = activation::value_and_grad(0.5, 2.0);
    let _ = value + grad.x + grad.y;
    let _ = activation::forward(0.5, 2.0);
    let _ = activation::backward(0.5, 2.0, 1.0).x;
}
