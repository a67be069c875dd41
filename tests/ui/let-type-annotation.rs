use chainrule::graph;

graph! {
    fn square(x: f64) -> f64 {
        let y: f64 = x * x;
        y
    }
}

fn main() {}
