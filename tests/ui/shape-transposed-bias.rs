use chainrule::graph;

graph! {
    fn layer(w: SMatrix<f32, 16, 2>, b: SVector<f32, 16>, #[no_grad] x: SVector<f32, 2>) -> f32 {
        sum(w * x + transpose(b))
    }
}

fn main() {}
