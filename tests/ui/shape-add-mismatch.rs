use chainrule::graph;

graph! {
    fn residual(a: SVector<f64, 4>, b: SVector<f64, 3>) -> f64 {
        norm_squared(a + b)
    }
}

fn main() {}
