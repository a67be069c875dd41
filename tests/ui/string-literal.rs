use chainrule::graph;

graph! {
    fn f(x: f64) -> f64 {
        x + "one"
    }
}

fn main() {}
