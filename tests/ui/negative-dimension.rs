use chainrule::graph;

graph! {
    fn total(v: SVector<f64, -1>) -> f64 {
        sum(v)
    }
}

fn main() {}
