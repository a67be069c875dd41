use chainrule::graph;

graph! {
    fn loss(prediction: SVector<f32, 4>, #[no_grad] target: SVector<f32, 3>) -> f32 {
        mse(prediction, target)
    }
}

fn main() {}
