use chainrule::graph;

graph! {
    fn activation(x: f64) -> f64 {
        elu(x, 1, 2)
    }
}

fn main() {}
