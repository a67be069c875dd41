use chainrule::graph;

graph! {
    fn f(x: f64) -> f64 {
        if x
    }
}

fn main() {}
