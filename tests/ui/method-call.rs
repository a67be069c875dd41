use chainrule::graph;

graph! {
    fn wave(x: f64) -> f64 {
        x.sin()
    }
}

fn main() {}
