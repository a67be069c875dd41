//! Predictions over a whole [`Dataset`]: [`Trainer::predict`] and
//! [`Trainer::predict_classes`], in evaluation mode, in batches whose last is padded.

use nalgebra::{DMatrix, SMatrix};

use super::trainer::Trainer;
use super::Columns;
use crate::data::{argmax, Dataset};
use crate::nn::{Mode, Module};
use crate::Real;

impl<T: Real, M, O, L, const I: usize, Y> Trainer<T, M, O, L, I, Y> {
    /// The model's output for every sample of `data`, one column per sample in `data`'s
    /// order (the layout of a batch, the transpose of PyTorch's `[n, K]`): PyTorch
    /// Lightning's `trainer.predict`, Keras' `model.predict`. Computed in evaluation mode
    /// ([`Mode::eval`]), like `with torch.no_grad(): model.eval(); model(x)`, in batches of
    /// `B`, the last one padded with copies whose outputs are left out; the model is left in
    /// training mode. Only `data`'s inputs are read: its targets may be of any type.
    ///
    /// An empty `data` gives a 0×0 matrix.
    ///
    /// ```
    /// use chainrule::loss::Mse;
    /// use chainrule::nalgebra::{SMatrix, SVector};
    /// use chainrule::nn::{Linear, Module};
    /// use chainrule::optim::Sgd;
    /// use chainrule::train::Trainer;
    ///
    /// let model = Linear::new(SMatrix::<f64, 2, 1>::new(2.0, -1.0), SVector::<f64, 2>::zeros());
    /// let data = chainrule::data::sine::<f64>(5, 0.0, 0);
    /// let mut trainer = Trainer::new(model, Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, SVector<f64, 2>> = &trainer;
    /// let predictions = trainer.predict::<2>(&data); // batches of 2, 2 and 1
    /// assert_eq!(predictions.shape(), (2, 5));
    /// let x = data.inputs()[4][0];
    /// assert_eq!((predictions[(0, 4)], predictions[(1, 4)]), (2.0 * x, -x));
    /// ```
    pub fn predict<const B: usize>(&mut self, data: &Dataset<T, I, impl Sized>) -> DMatrix<T>
    where
        M: Mode + Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
    {
        let mut values = Vec::new();
        self.for_each_prediction::<B>(data, |prediction| values.extend_from_slice(prediction));
        let outputs = values.len().checked_div(data.len()).unwrap_or(0);
        DMatrix::from_vec(outputs, data.len(), values)
    }

    /// The class each sample of `data` is predicted to be: the index of the largest output
    /// (the first of equals), as `model(x).argmax(dim=1)`, the class validation's accuracy
    /// counts. In evaluation mode, in batches of `B`, as [`predict`](Trainer::predict). Only
    /// finite outputs count: a sample with none is class 0.
    ///
    /// ```
    /// use chainrule::loss::CrossEntropy;
    /// use chainrule::nn::{Linear, Sequential, Tanh};
    /// use chainrule::optim::Adam;
    /// use chainrule::rand::{rngs::StdRng, SeedableRng};
    /// use chainrule::train::Trainer;
    ///
    /// type Classifier = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 2>)>;
    /// let data = chainrule::data::xor::<f32>(300, 0.0, 1);
    /// let model = Classifier::init(&mut StdRng::seed_from_u64(2));
    /// let mut trainer = Trainer::new(model, Adam::new(0.02), CrossEntropy).epochs(30);
    /// trainer.fit::<16>(&data)?;
    /// let classes = trainer.predict_classes::<16>(&data); // 18 batches, the last of 12
    /// let right = classes.iter().zip(data.targets()).filter(|(p, t)| p == t).count();
    /// assert_eq!(right as f32 / 300.0, trainer.evaluate::<16>(&data).accuracy.unwrap());
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn predict_classes<const B: usize>(
        &mut self,
        data: &Dataset<T, I, impl Sized>,
    ) -> Vec<usize>
    where
        M: Mode + Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
    {
        let mut classes = Vec::with_capacity(data.len());
        self.for_each_prediction::<B>(data, |prediction| {
            classes.push(argmax(prediction).unwrap_or(0))
        });
        classes
    }

    /// Calls `f` with the model's output for each sample of `data` in order, in evaluation
    /// mode, in batches of `B`; then puts the model back in training mode.
    fn for_each_prediction<const B: usize>(
        &mut self,
        data: &Dataset<T, I, impl Sized>,
        mut f: impl FnMut(&[T]),
    ) where
        M: Mode + Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
    {
        let n = if B == 0 { 0 } else { data.len() };
        self.model.eval();
        for start in (0..n).step_by(B.max(1)) {
            let real = B.min(n - start);
            let indices: [usize; B] = std::array::from_fn(|i| start + i.min(real - 1));
            let output = self.model.forward(&data.batch_inputs(&indices));
            (0..real).for_each(|sample| f(output.sample(sample)));
        }
        self.model.train();
    }
}
