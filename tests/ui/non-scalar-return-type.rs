use chainrule::graph;

graph! {
    fn pair(x: f64) -> (f64, f64) {
        x
    }
}

fn main() {}
