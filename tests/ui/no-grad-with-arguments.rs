use chainrule::graph;

graph! {
    fn neuron(w: f64, #[no_grad(x)] x: f64) -> f64 {
        w * x
    }
}

fn main() {}
