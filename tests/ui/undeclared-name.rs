use chainrule::graph;

graph! {
    fn neuron(x: f64, b: f64) -> f64 {
        w * x + b
    }
}

fn main() {}
