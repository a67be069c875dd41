use chainrule::graph;

graph! {
    fn square(x: f64) -> f32 {
        x * x
    }
}

fn main() {}
