use chainrule::graph;

graph! {
    fn wave(x: f64, y: f64) -> f64 {
        sin(x, y)
    }
}

fn main() {}
