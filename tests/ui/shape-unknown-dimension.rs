use chainrule::graph;

graph! {
    fn layer<const I: usize>(w: SMatrix<f32, O, I>, x: SVector<f32, I>) -> f32 {
        sum(w * x)
    }
}

fn main() {}
