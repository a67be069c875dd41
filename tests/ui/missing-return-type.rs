use chainrule::graph;

graph! {
    fn square(x: f64) {
        x * x
    }
}

fn main() {}
