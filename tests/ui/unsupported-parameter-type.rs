use chainrule::graph;

graph! {
    fn double(n: i32) -> f64 {
        2n
    }
}

fn main() {}
