use chainrule::graph;

graph! {
    fn layer(w: SMatrix<f32, 16, 2>, x: SVector<f32, 3>) -> f32 {
        sum(tanh(w * x))
    }
}

fn main() {}
