use chainrule::graph;

graph! {
    fn square(x: f64) -> f64 {
        pow(x)
    }
}

fn main() {}
