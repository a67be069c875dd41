use chainrule::impl_parameters;
use chainrule::loss::Mse;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Init, Module};
use chainrule::optim::Sgd;
use chainrule::train::Trainer;

/// A model of the user's own that does not implement `Mode`.
#[derive(Clone)]
struct Shift {
    b: f64,
}
impl_parameters!([] Shift, f64, [b]);

impl Init for Shift {
    fn init<R: chainrule::rand::Rng + ?Sized>(_: &mut R) -> Self {
        Shift { b: 0.0 }
    }
    fn zeros() -> Self {
        Shift { b: 0.0 }
    }
}

impl<const B: usize> Module<SMatrix<f64, 1, B>> for Shift {
    type Output = SMatrix<f64, 1, B>;
    type Tape = ();
    fn forward(&self, x: &SMatrix<f64, 1, B>) -> Self::Output {
        x.add_scalar(self.b)
    }
    fn forward_with_tape(&self, x: &SMatrix<f64, 1, B>) -> (Self::Output, ()) {
        (self.forward(x), ())
    }
    fn backward(&self, _: &SMatrix<f64, 1, B>, _: &(), d: &Self::Output) -> (SMatrix<f64, 1, B>, Self) {
        (*d, Shift { b: d.sum() })
    }
}

fn main() {
    let mut trainer = Trainer::new(Shift { b: 0.0 }, Sgd::new(0.1), Mse);
    let _ = trainer.fit::<4>(&chainrule::data::sine(8, 0.0, 0));
}
