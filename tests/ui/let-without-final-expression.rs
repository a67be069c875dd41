use chainrule::graph;

graph! {
    fn square(x: f64) -> f64 {
        let y = x * x;
    }
}

fn main() {}
