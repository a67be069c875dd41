use chainrule::graph;

graph! {
    fn product(x: f64, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
