use chainrule::graph;

graph! {
    fn neuron(w: f64, x: f64) -> f64 {
        let z = w * x + bias;
        tanh(z)
    }
}

fn main() {}
