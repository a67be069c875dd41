use chainrule::graph;

graph! {
    fn hidden(w: SMatrix<f32, 4, 2>, #[no_grad] x: SVector<f32, 2>) -> f32 {
        tanh(w * x)
    }
}

fn main() {}
