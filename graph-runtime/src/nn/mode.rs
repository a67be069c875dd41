//! [`Mode`]: training and evaluation modes, PyTorch's `model.train()` and `model.eval()`.

/// Training or evaluation mode: PyTorch's `module.train()` and `module.eval()`.
///
/// A layer starts in training mode, as in PyTorch. [`Dropout`](super::Dropout) and
/// [`BatchNorm1d`](super::BatchNorm1d) behave differently in evaluation mode; every other
/// layer ignores the mode, through the default methods: such a layer implements `Mode` with
/// an empty `impl Mode for MyLayer {}`. A [`Sequential`](super::Sequential) passes the mode on
/// to every layer, nested `Sequential`s included.
///
/// The trait has no type parameter (unlike [`Module<X>`](super::Module), which a layer
/// implements for every batch size), so `model.eval()` needs no annotation.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Dropout, Linear, Mode, Module, Sequential};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut model = Sequential::<(Linear<f64, 4, 4>, Dropout)>::init(&mut StdRng::seed_from_u64(0));
/// let x = SMatrix::<f64, 4, 8>::repeat(1.0);
/// model.eval(); // dropout is now the identity
/// assert_eq!(model.forward(&x), model.layers.0.forward(&x));
/// model.train();
/// assert_ne!(model.forward(&x), model.layers.0.forward(&x));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no training and evaluation modes: it does not implement `Mode`",
    label = "the `Trainer` switches the model to evaluation mode to validate and predict",
    note = "for a model without dropout or batch statistics, add `impl chainrule::nn::Mode for {Self} {{}}`: the methods default to doing nothing"
)]
pub trait Mode {
    /// Switches to training mode (`true`) or evaluation mode (`false`): PyTorch's
    /// `module.train(mode)`. The default does nothing, for a layer without modes.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Training mode: PyTorch's `module.train()`.
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode: PyTorch's `module.eval()`.
    fn eval(&mut self) {
        self.set_training(false);
    }
}

/// A boxed layer's mode is the layer's.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Dropout, Mode, Module};
/// let mut boxed = Box::new(Dropout::new(0.5));
/// boxed.eval();
/// let x = SMatrix::<f32, 4, 4>::repeat(1.0);
/// assert_eq!(Module::forward(&boxed, &x), x);
/// ```
impl<M: Mode + ?Sized> Mode for Box<M> {
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
}
