use chainrule::graph;

graph! {
    fn normalise(v: SVector<f64, 3>, s: SVector<f64, 3>) -> f64 {
        sum(v / s)
    }
}

fn main() {}
