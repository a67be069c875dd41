use chainrule::graph;

graph! {
    fn wrap(x: f64, y: f64) -> f64 {
        x % y
    }
}

fn main() {}
