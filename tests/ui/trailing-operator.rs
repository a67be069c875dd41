use chainrule::graph;

graph! {
    fn sum(x: f64, y: f64) -> f64 {
        x + y +
    }
}

fn main() {}
