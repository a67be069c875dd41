use chainrule::graph;
use chainrule::nalgebra::{SMatrix, SVector};

// A vector output has no Hessian matrix; `#[hessian]` gives it `hvp` (with `d_out`) only.
graph! {
    #[hessian]
    fn layer(w: SMatrix<f64, 2, 2>, #[no_grad] x: SVector<f64, 2>) -> SVector<f64, 2> {
        tanh(w * x)
    }
}

fn main() {
    let (w, x) = (SMatrix::<f64, 2, 2>::identity(), SVector::<f64, 2>::new(1.0, 2.0));
    let _ = layer::hvp(w, x, SVector::<f64, 2>::new(1.0, 0.0), layer::Grad { w });
    let _ = layer::hessian(w, x);
}
