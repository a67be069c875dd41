use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Linear, Sequential, Tanh};
use chainrule::rand::{rngs::StdRng, SeedableRng};

type Broken = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 8, 1>)>;

fn main() {
    let model = Broken::init(&mut StdRng::seed_from_u64(0));
    let x = SMatrix::<f32, 2, 32>::zeros();
    let d = SMatrix::<f32, 1, 32>::zeros();
    let (_, tape) = model.forward_with_tape(&x);
    let _ = model.backward(&x, &tape, &d);
}
