use chainrule::graph;

graph! {
    fn normalise(v: SMatrix<f64, 3, 4>, s: SVector<f64, 3>) -> f64 {
        sum(v / s)
    }
}

fn main() {}
