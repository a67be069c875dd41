use chainrule::graph;

graph! {
    fn loss<const B: usize>(logits: SMatrix<f32, 10, B>, #[no_grad] target: SVector<f32, 10>) -> f32 {
        batch_cross_entropy(logits, target)
    }
}

fn main() {}
