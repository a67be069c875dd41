use chainrule::graph;

graph! {
    fn square(x: f64) -> f64 {
        x ** 2
    }
}

fn main() {}
