use chainrule::graph;
use chainrule::nalgebra::{SMatrix, SVector};

graph! {
    fn linear(w: SMatrix<f32, 3, 2>, #[no_grad] x: SVector<f32, 2>) -> SVector<f32, 3> {
        w * x
    }
}

fn main() {
    // `d_out` has the output's type, a 3-vector, not a scalar.
    let _ = linear::backward(SMatrix::zeros(), SVector::zeros(), 1.0);
}
