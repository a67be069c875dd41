use chainrule::graph;

graph! {
    fn double(x: f64) -> f64 {
        2i32 * x
    }
}

fn main() {}
