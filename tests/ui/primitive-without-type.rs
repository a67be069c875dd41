use chainrule::graph;

graph! {
    #[primitive(swish)]
    fn neuron(w: f64, #[no_grad] x: f64) -> f64 {
        swish(w * x)
    }
}

fn main() {}
