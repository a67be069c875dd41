use chainrule::graph;

graph! {
    fn nothing(x: f64) -> f64 {}
}

fn main() {}
