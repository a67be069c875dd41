use chainrule::graph;

graph! {
    fn activation(x: f64) -> f64 {
        tahn(x)
    }
}

fn main() {}
