use chainrule::graph;

graph! {
    fn scale(weight: f64, x: f64) -> f64 {
        wieght * x
    }
}

fn main() {}
