use chainrule::graph;

graph! {
    #[inline]
    fn square(x: f64) -> f64 {
        x * x
    }
}

fn main() {}
