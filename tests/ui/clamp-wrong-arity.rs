use chainrule::graph;

graph! {
    fn bounded(x: f64) -> f64 {
        clamp(x, 0)
    }
}

fn main() {}
