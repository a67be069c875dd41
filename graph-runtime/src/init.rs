//! `torch.nn.init`, seeded: fill every tensor of any [`Parameters`] from a random number
//! generator the caller owns, so a run reproduces exactly from its seed.
//!
//! Each function walks every tensor the value visits: a single `SMatrix`, a layer, or a whole
//! model. Layers call these from their constructors; this module never names a layer.
//!
//! **Sampling.** Every value is drawn in `f64` (rand's 53-bit uniform [0, 1), rand_distr's
//! ziggurat standard normal) and rounded to `T` with [`Real::from_f64`], so an `f32` model and
//! an `f64` model initialised from the same seed hold the same numbers up to `f32` rounding.
//! Tensors are filled in visit order, each in nalgebra's column-major storage order. PyTorch
//! fills row-major from a different generator, so the distributions match PyTorch's but the
//! individual numbers do not. The same seed gives the same numbers with the same versions of
//! rand and rand_distr; rand documents that `StdRng`'s algorithm may change between its
//! releases, so for files that must reproduce forever, seed a portable generator instead.
//!
//! **Fans.** [`fan_in_and_fan_out`] is PyTorch's `_calculate_fan_in_and_fan_out` on the
//! tensor's PyTorch shape (`[out, in]` for a weight). A tensor with fewer than two dimensions
//! (a bias, a scalar) has no fan: the Kaiming and Xavier functions then return
//! [`Error::FanUndefined`] naming it, before writing anything, rather than guess or skip it.
//! Call them on a layer's `weight` and initialise biases with [`zeros`] or [`uniform`].

use nalgebra::{SMatrix, SVector};
use rand::distr::{Distribution, StandardUniform};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::params::Parameters;
use crate::{Error, Real, Result};

/// Which fan Kaiming initialisation divides by (PyTorch's `mode`).
///
/// ```
/// use chainrule::init::FanMode;
/// assert_eq!(FanMode::default(), FanMode::FanIn); // PyTorch's default
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FanMode {
    /// Preserve the variance of activations in the forward pass.
    #[default]
    FanIn,
    /// Preserve the variance of gradients in the backward pass.
    FanOut,
}

/// The nonlinearity that follows a layer, for its recommended gain (PyTorch's
/// `calculate_gain`).
///
/// The default is PyTorch's Kaiming default, `leaky_relu` with `a = 0`, whose gain is √2.
///
/// ```
/// use chainrule::init::Nonlinearity;
/// assert_eq!(Nonlinearity::default(), Nonlinearity::LeakyRelu(0.0));
/// assert_eq!(Nonlinearity::default().gain(), 2f64.sqrt());
/// assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// No nonlinearity (also PyTorch's `conv*` entries): gain 1.
    Linear,
    /// Gain 1.
    Sigmoid,
    /// Gain 5/3.
    Tanh,
    /// Gain √2.
    Relu,
    /// Leaky ReLU with this negative slope: gain √(2 / (1 + slope²)).
    LeakyRelu(f64),
    /// Gain 3/4.
    Selu,
}

impl Default for Nonlinearity {
    fn default() -> Self {
        Nonlinearity::LeakyRelu(0.0)
    }
}

impl Nonlinearity {
    /// The recommended gain, as PyTorch's `torch.nn.init.calculate_gain` gives it.
    ///
    /// ```
    /// use chainrule::init::Nonlinearity;
    /// assert_eq!(Nonlinearity::Relu.gain(), 2f64.sqrt());
    /// assert_eq!(Nonlinearity::LeakyRelu(1.0).gain(), 1.0);
    /// ```
    pub fn gain(self) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => 2f64.sqrt(),
            Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
            Nonlinearity::Selu => 0.75,
        }
    }
}

/// `(fan_in, fan_out)` of a tensor of this PyTorch shape, as PyTorch's
/// `_calculate_fan_in_and_fan_out` computes them; `None` below two dimensions.
///
/// For `[out, in, k…]`, fan-in is `in · Πk` and fan-out is `out · Πk`.
///
/// ```
/// use chainrule::init::fan_in_and_fan_out;
/// assert_eq!(fan_in_and_fan_out(&[16, 2]), Some((2, 16))); // a Linear(2, 16) weight
/// assert_eq!(fan_in_and_fan_out(&[8, 3, 5, 5]), Some((75, 200))); // a conv kernel
/// assert_eq!(fan_in_and_fan_out(&[16]), None); // a bias
/// ```
pub fn fan_in_and_fan_out(shape: &[usize]) -> Option<(usize, usize)> {
    match shape {
        [n_out, n_in, kernel @ ..] => {
            let receptive_field: usize = kernel.iter().product();
            Some((n_in * receptive_field, n_out * receptive_field))
        }
        _ => None,
    }
}

/// Sets every element to zero (`torch.nn.init.zeros_`).
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::SVector;
/// let mut bias = SVector::<f32, 3>::repeat(7.0);
/// init::zeros(&mut bias);
/// assert_eq!(bias, SVector::<f32, 3>::zeros());
/// ```
pub fn zeros<T: Real, P: Parameters<T> + ?Sized>(params: &mut P) {
    params.zero();
}

/// Sets every element to `value`, rounded to `T` (`torch.nn.init.constant_`).
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::SMatrix;
/// let mut weight = SMatrix::<f64, 2, 3>::zeros();
/// init::constant(&mut weight, 0.25);
/// assert_eq!(weight, SMatrix::<f64, 2, 3>::repeat(0.25));
/// ```
pub fn constant<T: Real, P: Parameters<T> + ?Sized>(params: &mut P, value: f64) {
    let value = T::from_f64(value);
    params.visit_mut(&mut |tensor| tensor.fill(value));
}

/// Fills every element from the uniform distribution U(`low`, `high`)
/// (`torch.nn.init.uniform_`).
///
/// Every value lies in [`low`, `high`] after rounding to `T`. If `low > high` the interval is
/// [`high`, `low`]; never a panic.
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut rng = StdRng::seed_from_u64(42);
/// let mut weight = SMatrix::<f64, 4, 3>::zeros();
/// init::uniform(&mut weight, -0.5, 0.5, &mut rng);
/// assert!(weight.iter().all(|w| (-0.5..=0.5).contains(w)));
/// ```
pub fn uniform<T, P, R>(params: &mut P, low: f64, high: f64, rng: &mut R)
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    params.visit_mut(&mut |tensor| {
        for x in tensor.iter_mut() {
            *x = T::from_f64(sample_uniform(low, high, rng));
        }
    });
}

/// Fills every element from the normal distribution N(`mean`, `std`²)
/// (`torch.nn.init.normal_`): the lecture's N(0, σ²) is `normal(params, 0.0, sigma, rng)`.
///
/// A negative `std` gives the same distribution as `|std|`.
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut weight = SMatrix::<f32, 4, 3>::zeros();
/// init::normal(&mut weight, 0.0, 0.01, &mut StdRng::seed_from_u64(42));
/// assert!(weight.iter().all(|w| w.abs() < 0.1)); // ten standard deviations
/// ```
pub fn normal<T, P, R>(params: &mut P, mean: f64, std: f64, rng: &mut R)
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    params.visit_mut(&mut |tensor| {
        for x in tensor.iter_mut() {
            *x = T::from_f64(mean + std * sample_standard_normal(rng));
        }
    });
}

/// Xavier (Glorot) uniform initialisation (`torch.nn.init.xavier_uniform_`): U(−a, a) with
/// a = `gain` · √(6 / (fan_in + fan_out)) for each tensor's own fans.
///
/// PyTorch's default `gain` is 1; [`Nonlinearity::gain`] gives the recommended one.
///
/// # Errors
///
/// [`Error::FanUndefined`] if a tensor with elements has fewer than two dimensions; nothing
/// is written then.
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut weight = SMatrix::<f64, 16, 2>::zeros(); // PyTorch shape [16, 2]
/// init::xavier_uniform(&mut weight, 1.0, &mut StdRng::seed_from_u64(0))?;
/// let bound = (6.0_f64 / (2.0 + 16.0)).sqrt();
/// assert!(weight.iter().all(|w| w.abs() <= bound));
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn xavier_uniform<T, P, R>(params: &mut P, gain: f64, rng: &mut R) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    fill_by_fans(params, rng, |fan_in, fan_out, rng| {
        let bound = 3f64.sqrt() * xavier_std(gain, fan_in, fan_out);
        sample_uniform(-bound, bound, rng)
    })
}

/// Xavier (Glorot) normal initialisation (`torch.nn.init.xavier_normal_`): N(0, σ²) with
/// σ = `gain` · √(2 / (fan_in + fan_out)) for each tensor's own fans.
///
/// # Errors
///
/// [`Error::FanUndefined`] if a tensor with elements has fewer than two dimensions; nothing
/// is written then.
///
/// ```
/// use chainrule::init::{self, Nonlinearity};
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut weight = SMatrix::<f32, 8, 4>::zeros();
/// let gain = Nonlinearity::Tanh.gain();
/// init::xavier_normal(&mut weight, gain, &mut StdRng::seed_from_u64(0))?;
/// assert!(weight.iter().any(|&w| w != 0.0));
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn xavier_normal<T, P, R>(params: &mut P, gain: f64, rng: &mut R) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    fill_by_fans(params, rng, |fan_in, fan_out, rng| {
        xavier_std(gain, fan_in, fan_out) * sample_standard_normal(rng)
    })
}

/// Kaiming (He) uniform initialisation (`torch.nn.init.kaiming_uniform_`): U(−b, b) with
/// b = gain · √(3 / fan), fan chosen by `mode` and gain by `nonlinearity`.
///
/// PyTorch's defaults are `FanMode::FanIn` and `Nonlinearity::LeakyRelu(0.0)` (gain √2), which
/// are also the `Default`s here: b = √(6 / fan_in).
///
/// # Errors
///
/// [`Error::FanUndefined`] if a tensor with elements has fewer than two dimensions; nothing
/// is written then.
///
/// ```
/// use chainrule::init::{self, FanMode, Nonlinearity};
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut rng = StdRng::seed_from_u64(7);
/// let mut weight = SMatrix::<f64, 16, 4>::zeros(); // fan_in = 4
/// init::kaiming_uniform(&mut weight, FanMode::default(), Nonlinearity::default(), &mut rng)?;
/// assert!(weight.iter().all(|w| w.abs() <= (6.0_f64 / 4.0).sqrt()));
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn kaiming_uniform<T, P, R>(
    params: &mut P,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut R,
) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    fill_by_fans(params, rng, |fan_in, fan_out, rng| {
        let bound = 3f64.sqrt() * kaiming_std(mode, nonlinearity, fan_in, fan_out);
        sample_uniform(-bound, bound, rng)
    })
}

/// Kaiming (He) normal initialisation (`torch.nn.init.kaiming_normal_`): N(0, σ²) with
/// σ = gain / √fan, fan chosen by `mode` and gain by `nonlinearity`.
///
/// With PyTorch's defaults (the `Default`s of both enums) σ = √2 / √fan_in.
///
/// # Errors
///
/// [`Error::FanUndefined`] if a tensor with elements has fewer than two dimensions; nothing
/// is written then:
///
/// ```
/// use chainrule::init::{self, FanMode, Nonlinearity};
/// use chainrule::nalgebra::{SMatrix, SVector};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
/// use chainrule::Error;
///
/// let mut rng = StdRng::seed_from_u64(7);
/// let mut weight = SMatrix::<f64, 16, 4>::zeros();
/// init::kaiming_normal(&mut weight, FanMode::FanIn, Nonlinearity::Relu, &mut rng)?;
///
/// let mut bias = SVector::<f64, 16>::zeros();
/// let error = init::kaiming_normal(&mut bias, FanMode::FanIn, Nonlinearity::Relu, &mut rng);
/// assert!(matches!(error, Err(Error::FanUndefined { .. })));
/// assert_eq!(bias, SVector::<f64, 16>::zeros());
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn kaiming_normal<T, P, R>(
    params: &mut P,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut R,
) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    fill_by_fans(params, rng, |fan_in, fan_out, rng| {
        kaiming_std(mode, nonlinearity, fan_in, fan_out) * sample_standard_normal(rng)
    })
}

/// PyTorch's `nn.Linear.reset_parameters`: weight and bias both from U(−1/√I, 1/√I), weight
/// first, where `I` is the number of inputs (the weight's fan-in).
///
/// PyTorch writes this as `kaiming_uniform_(weight, a=√5)`, whose bound works out to the
/// same 1/√I. With no inputs (`I == 0`) the bound is 0, as in PyTorch, so the bias is zeroed.
/// The fan-in comes from the type, so this works for every `I`, including `I == 1`.
///
/// ```
/// use chainrule::init;
/// use chainrule::nalgebra::{SMatrix, SVector};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut weight = SMatrix::<f32, 16, 4>::zeros(); // Linear(4, 16)
/// let mut bias = SVector::<f32, 16>::zeros();
/// init::linear_default(&mut weight, &mut bias, &mut StdRng::seed_from_u64(0));
/// assert!(weight.iter().chain(bias.iter()).all(|w| w.abs() <= 0.5)); // 1/√4
/// ```
pub fn linear_default<T, R, const I: usize, const O: usize>(
    weight: &mut SMatrix<T, O, I>,
    bias: &mut SVector<T, O>,
    rng: &mut R,
) where
    T: Real,
    R: Rng + ?Sized,
{
    let bound = if I > 0 { 1.0 / (I as f64).sqrt() } else { 0.0 };
    uniform(weight, -bound, bound, rng);
    uniform(bias, -bound, bound, rng);
}

/// σ of Xavier initialisation.
fn xavier_std(gain: f64, fan_in: usize, fan_out: usize) -> f64 {
    gain * (2.0 / (fan_in + fan_out) as f64).sqrt()
}

/// σ of Kaiming initialisation.
fn kaiming_std(mode: FanMode, nonlinearity: Nonlinearity, fan_in: usize, fan_out: usize) -> f64 {
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    nonlinearity.gain() / (fan as f64).sqrt()
}

/// Checks that every tensor has fans, then fills each element with `sample(fan_in, fan_out)`.
///
/// Checking first means a failure writes nothing. A tensor without elements is skipped
/// whatever its shape, as PyTorch's Kaiming functions do: there is nothing to fill.
fn fill_by_fans<T, P, R>(
    params: &mut P,
    rng: &mut R,
    mut sample: impl FnMut(usize, usize, &mut R) -> f64,
) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
    R: Rng + ?Sized,
{
    let mut first_error = None;
    params.visit_named("", &mut |key, tensor| {
        let has_fans = tensor.data.is_empty() || fan_in_and_fan_out(tensor.shape).is_some();
        if first_error.is_none() && !has_fans {
            first_error = Some(Error::FanUndefined {
                key: key.to_string(),
                shape: tensor.shape.to_vec(),
            });
        }
    });
    if let Some(error) = first_error {
        return Err(error);
    }
    params.visit_named_mut("", &mut |_, tensor| {
        if let Some((fan_in, fan_out)) = fan_in_and_fan_out(tensor.shape) {
            for x in tensor.data.iter_mut() {
                *x = T::from_f64(sample(fan_in, fan_out, rng));
            }
        }
    });
    Ok(())
}

/// One draw from U(`low`, `high`), kept inside the closed interval despite rounding.
fn sample_uniform<R: Rng + ?Sized>(low: f64, high: f64, rng: &mut R) -> f64 {
    let unit: f64 = StandardUniform.sample(rng);
    let x = low + (high - low) * unit;
    // `low + (high - low) · u` can round one ulp past `high`; `f64::clamp` would panic on NaN
    // bounds, so compare by hand (NaN bounds give NaN values).
    let (min, max) = if low <= high {
        (low, high)
    } else {
        (high, low)
    };
    if x < min {
        min
    } else if x > max {
        max
    } else {
        x
    }
}

/// One draw from N(0, 1).
fn sample_standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{key, TensorMut, TensorRef};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// A tensor of any shape on the heap, so tests can use 256×256 and 4-D shapes.
    #[derive(Clone, Debug, PartialEq)]
    struct Tensor {
        shape: Vec<usize>,
        data: Vec<f64>,
    }

    impl Tensor {
        fn zeros(shape: &[usize]) -> Self {
            Tensor {
                shape: shape.to_vec(),
                data: vec![0.0; shape.iter().product()],
            }
        }
    }

    impl Parameters<f64> for Tensor {
        fn visit(&self, f: &mut dyn FnMut(&[f64])) {
            f(&self.data);
        }
        fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
            f(&mut self.data);
        }
        fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f64], &[f64])) {
            f(&mut self.data, &other.data);
        }
        fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f64>)) {
            f(
                prefix,
                TensorRef {
                    shape: &self.shape,
                    data: &self.data,
                    integer: false,
                },
            );
        }
        fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f64>)) {
            f(
                prefix,
                TensorMut {
                    shape: &self.shape,
                    data: &mut self.data,
                    integer: false,
                },
            );
        }
    }

    /// A linear layer's parameters, named as PyTorch names them.
    #[derive(Clone, Debug, PartialEq)]
    struct Layer {
        weight: Tensor,
        bias: Tensor,
    }

    impl Parameters<f64> for Layer {
        fn visit(&self, f: &mut dyn FnMut(&[f64])) {
            self.weight.visit(f);
            self.bias.visit(f);
        }
        fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
            self.weight.visit_mut(f);
            self.bias.visit_mut(f);
        }
        fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f64], &[f64])) {
            self.weight.zip_mut(&other.weight, f);
            self.bias.zip_mut(&other.bias, f);
        }
        fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f64>)) {
            self.weight.visit_named(&key(prefix, "weight"), f);
            self.bias.visit_named(&key(prefix, "bias"), f);
        }
        fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f64>)) {
            self.weight.visit_named_mut(&key(prefix, "weight"), f);
            self.bias.visit_named_mut(&key(prefix, "bias"), f);
        }
    }

    /// Sample mean and (population) variance.
    fn mean_and_variance(values: &[f64]) -> (f64, f64) {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, variance)
    }

    /// Asserts that `values` look drawn from a distribution with mean 0 and standard deviation
    /// `std`, to within five standard errors.
    #[track_caller]
    fn assert_centred_with_std(values: &[f64], std: f64, excess_kurtosis: f64) {
        let n = values.len() as f64;
        let (mean, variance) = mean_and_variance(values);
        let mean_tolerance = 5.0 * std / n.sqrt();
        assert!(
            mean.abs() < mean_tolerance,
            "mean {mean} is not within {mean_tolerance} of 0"
        );
        // The sample variance's relative standard error is √((2 + excess kurtosis) / n).
        let variance_tolerance = 5.0 * ((2.0 + excess_kurtosis) / n).sqrt();
        let relative = (variance / (std * std) - 1.0).abs();
        assert!(
            relative < variance_tolerance,
            "variance {variance} is off {} by {relative} (relative), beyond {variance_tolerance}",
            std * std
        );
    }

    /// Excess kurtosis of a normal distribution and of a uniform one.
    const NORMAL: f64 = 0.0;
    const UNIFORM: f64 = -1.2;

    #[test]
    fn fans_follow_pytorch_for_matrices_and_kernels() {
        assert_eq!(fan_in_and_fan_out(&[3, 5]), Some((5, 3)));
        assert_eq!(fan_in_and_fan_out(&[1, 16]), Some((16, 1)));
        assert_eq!(fan_in_and_fan_out(&[4, 2, 3, 3]), Some((18, 36)));
        assert_eq!(fan_in_and_fan_out(&[7]), None);
        assert_eq!(fan_in_and_fan_out(&[]), None);
    }

    #[test]
    fn gains_match_pytorch_calculate_gain() {
        assert_eq!(Nonlinearity::Linear.gain(), 1.0);
        assert_eq!(Nonlinearity::Sigmoid.gain(), 1.0);
        assert_eq!(Nonlinearity::Tanh.gain(), 5.0 / 3.0);
        assert_eq!(Nonlinearity::Relu.gain(), 2f64.sqrt());
        assert_eq!(Nonlinearity::Selu.gain(), 0.75);
        // calculate_gain('leaky_relu', 0.01)
        assert!((Nonlinearity::LeakyRelu(0.01).gain() - 1.4141428569978354).abs() < 1e-15);
        // nn.Linear's a = √5
        assert!(
            (Nonlinearity::LeakyRelu(5f64.sqrt()).gain() - (1.0f64 / 3.0).sqrt()).abs() < 1e-15
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_values_and_another_seed_other_values() {
        let draw = |seed| {
            let mut tensor = Tensor::zeros(&[32, 8]);
            let mut rng = StdRng::seed_from_u64(seed);
            kaiming_normal(&mut tensor, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
            tensor
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));

        let draw_uniform = |seed| {
            let mut weight = SMatrix::<f32, 5, 3>::zeros();
            uniform(&mut weight, -1.0, 1.0, &mut StdRng::seed_from_u64(seed));
            weight
        };
        assert_eq!(draw_uniform(9), draw_uniform(9));
        assert_ne!(draw_uniform(9), draw_uniform(10));
    }

    #[test]
    fn f32_and_f64_draw_the_same_numbers_up_to_rounding() {
        let mut single = SMatrix::<f32, 6, 4>::zeros();
        let mut double = SMatrix::<f64, 6, 4>::zeros();
        xavier_normal(&mut single, 1.0, &mut StdRng::seed_from_u64(3)).unwrap();
        xavier_normal(&mut double, 1.0, &mut StdRng::seed_from_u64(3)).unwrap();
        assert_eq!(single, double.map(|x| x as f32));
    }

    #[test]
    fn one_generator_fills_tensors_in_visit_order_without_repeating() {
        let mut layer = Layer {
            weight: Tensor::zeros(&[4, 3]),
            bias: Tensor::zeros(&[4]),
        };
        normal(&mut layer, 0.0, 1.0, &mut StdRng::seed_from_u64(5));
        let mut alone = Tensor::zeros(&[4, 3]);
        normal(&mut alone, 0.0, 1.0, &mut StdRng::seed_from_u64(5));
        assert_eq!(layer.weight, alone);
        assert_ne!(layer.bias.data[..], layer.weight.data[..4]);
    }

    #[test]
    fn normal_has_the_requested_mean_and_std() {
        let mut tensor = Tensor::zeros(&[256, 256]);
        normal(&mut tensor, 3.0, 0.5, &mut StdRng::seed_from_u64(11));
        let shifted: Vec<f64> = tensor.data.iter().map(|x| x - 3.0).collect();
        assert_centred_with_std(&shifted, 0.5, NORMAL);
    }

    #[test]
    fn uniform_stays_in_bounds_and_has_the_uniform_variance() {
        let mut tensor = Tensor::zeros(&[256, 256]);
        uniform(&mut tensor, 1.0, 3.0, &mut StdRng::seed_from_u64(12));
        assert!(tensor.data.iter().all(|x| (1.0..=3.0).contains(x)));
        let shifted: Vec<f64> = tensor.data.iter().map(|x| x - 2.0).collect();
        assert_centred_with_std(&shifted, (1.0f64 / 3.0).sqrt(), UNIFORM);

        let mut reversed = Tensor::zeros(&[64, 4]);
        uniform(&mut reversed, 3.0, 1.0, &mut StdRng::seed_from_u64(12));
        assert!(reversed.data.iter().all(|x| (1.0..=3.0).contains(x)));

        let mut single = SMatrix::<f32, 64, 64>::zeros();
        uniform(&mut single, -0.1, 0.1, &mut StdRng::seed_from_u64(12));
        let bound = 0.1_f64 as f32;
        assert!(single.iter().all(|x| (-bound..=bound).contains(x)));
    }

    #[test]
    fn kaiming_normal_std_is_root_two_over_root_fan_in_by_default() {
        let mut tensor = Tensor::zeros(&[256, 256]);
        let mut rng = StdRng::seed_from_u64(13);
        kaiming_normal(
            &mut tensor,
            FanMode::default(),
            Nonlinearity::default(),
            &mut rng,
        )
        .unwrap();
        assert_centred_with_std(&tensor.data, 2f64.sqrt() / 16.0, NORMAL);
    }

    #[test]
    fn kaiming_uniform_bound_is_root_six_over_root_fan_in_by_default() {
        let mut tensor = Tensor::zeros(&[128, 512]); // fan_in 512, fan_out 128
        let mut rng = StdRng::seed_from_u64(14);
        kaiming_uniform(
            &mut tensor,
            FanMode::default(),
            Nonlinearity::default(),
            &mut rng,
        )
        .unwrap();
        let bound = (6.0f64 / 512.0).sqrt();
        assert!(tensor.data.iter().all(|x| x.abs() <= bound));
        assert!(tensor.data.iter().any(|x| x.abs() > 0.99 * bound));
        assert_centred_with_std(&tensor.data, (2.0f64 / 512.0).sqrt(), UNIFORM);
    }

    #[test]
    fn kaiming_fan_out_and_tanh_gain_scale_the_std() {
        let mut tensor = Tensor::zeros(&[128, 512]);
        let mut rng = StdRng::seed_from_u64(15);
        kaiming_normal(&mut tensor, FanMode::FanOut, Nonlinearity::Tanh, &mut rng).unwrap();
        assert_centred_with_std(&tensor.data, (5.0 / 3.0) / 128f64.sqrt(), NORMAL);
    }

    #[test]
    fn kaiming_uses_the_receptive_field_of_a_kernel() {
        let mut kernel = Tensor::zeros(&[64, 16, 8, 8]); // fan_in 16·64 = 1024
        let mut rng = StdRng::seed_from_u64(16);
        kaiming_normal(&mut kernel, FanMode::FanIn, Nonlinearity::Relu, &mut rng).unwrap();
        assert_centred_with_std(&kernel.data, 2f64.sqrt() / 32.0, NORMAL);
    }

    #[test]
    fn xavier_uniform_bound_is_root_six_over_root_fan_sum() {
        let mut tensor = Tensor::zeros(&[256, 256]);
        xavier_uniform(&mut tensor, 1.0, &mut StdRng::seed_from_u64(17)).unwrap();
        let bound = (6.0f64 / 512.0).sqrt();
        assert!(tensor.data.iter().all(|x| x.abs() <= bound));
        assert!(tensor.data.iter().any(|x| x.abs() > 0.99 * bound));
        assert_centred_with_std(&tensor.data, bound / 3f64.sqrt(), UNIFORM);
    }

    #[test]
    fn xavier_normal_std_is_gain_times_root_two_over_root_fan_sum() {
        let mut tensor = Tensor::zeros(&[128, 384]);
        xavier_normal(&mut tensor, 2.0, &mut StdRng::seed_from_u64(18)).unwrap();
        assert_centred_with_std(&tensor.data, 2.0 * (2.0f64 / 512.0).sqrt(), NORMAL);
    }

    #[test]
    fn fan_based_init_of_a_bias_is_an_error_that_names_it_and_writes_nothing() {
        let mut layer = Layer {
            weight: Tensor::zeros(&[4, 3]),
            bias: Tensor::zeros(&[4]),
        };
        let mut rng = StdRng::seed_from_u64(19);
        let error = xavier_uniform(&mut layer, 1.0, &mut rng).unwrap_err();
        assert!(
            matches!(&error, Error::FanUndefined { key, shape } if key == "bias" && shape == &[4])
        );
        assert_eq!(
            error.to_string(),
            "cannot compute the fan-in and fan-out of tensor `bias` with shape [4]: Kaiming and \
             Xavier initialisation need at least 2 dimensions; initialise it with `uniform`, \
             `normal` or `zeros`"
        );
        let untouched = Layer {
            weight: Tensor::zeros(&[4, 3]),
            bias: Tensor::zeros(&[4]),
        };
        assert_eq!(layer, untouched);

        let mut scalar = 1.5_f64;
        let result = kaiming_uniform(&mut scalar, FanMode::FanIn, Nonlinearity::Relu, &mut rng);
        assert!(matches!(result, Err(Error::FanUndefined { shape, .. }) if shape.is_empty()));
        assert_eq!(scalar, 1.5);
    }

    #[test]
    fn fan_based_init_skips_tensors_without_elements() {
        let mut empty = Tensor::zeros(&[0]);
        let mut rng = StdRng::seed_from_u64(20);
        assert!(kaiming_normal(&mut empty, FanMode::FanIn, Nonlinearity::Relu, &mut rng).is_ok());
        let mut no_inputs = SMatrix::<f64, 3, 0>::zeros();
        assert!(xavier_normal(&mut no_inputs, 1.0, &mut rng).is_ok());
    }

    #[test]
    fn zeros_and_constant_are_exact() {
        let mut layer = Layer {
            weight: Tensor::zeros(&[3, 2]),
            bias: Tensor::zeros(&[3]),
        };
        constant(&mut layer, 0.1);
        assert!(layer
            .weight
            .data
            .iter()
            .chain(&layer.bias.data)
            .all(|&x| x == 0.1));
        zeros(&mut layer);
        assert!(layer
            .weight
            .data
            .iter()
            .chain(&layer.bias.data)
            .all(|&x| x == 0.0));

        let mut single = SVector::<f32, 4>::zeros();
        constant(&mut single, 0.1);
        assert_eq!(single, SVector::<f32, 4>::repeat(0.1));
    }

    #[test]
    fn linear_default_draws_weight_and_bias_within_one_over_root_fan_in() {
        let mut weight = SMatrix::<f64, 64, 100>::zeros();
        let mut bias = SVector::<f64, 64>::zeros();
        linear_default(&mut weight, &mut bias, &mut StdRng::seed_from_u64(21));
        assert!(weight.iter().chain(bias.iter()).all(|w| w.abs() <= 0.1));
        assert!(bias.iter().any(|b| b.abs() > 0.05));
        assert_centred_with_std(weight.as_slice(), 0.1 / 3f64.sqrt(), UNIFORM);

        // Weight first, then bias, from one generator.
        let mut rng = StdRng::seed_from_u64(21);
        let mut expected_weight = SMatrix::<f64, 64, 100>::zeros();
        let mut expected_bias = SVector::<f64, 64>::zeros();
        uniform(&mut expected_weight, -0.1, 0.1, &mut rng);
        uniform(&mut expected_bias, -0.1, 0.1, &mut rng);
        assert_eq!((weight, bias), (expected_weight, expected_bias));
    }

    #[test]
    fn linear_default_handles_one_input_and_zeroes_the_bias_without_inputs() {
        let mut weight = SMatrix::<f32, 8, 1>::zeros(); // PyTorch shape [8, 1]; ours says [8]
        let mut bias = SVector::<f32, 8>::zeros();
        linear_default(&mut weight, &mut bias, &mut StdRng::seed_from_u64(22));
        assert!(weight.iter().all(|w| w.abs() <= 1.0) && weight.iter().any(|&w| w != 0.0));

        let mut no_weight = SMatrix::<f32, 3, 0>::zeros();
        let mut bias = SVector::<f32, 3>::repeat(5.0);
        linear_default(&mut no_weight, &mut bias, &mut StdRng::seed_from_u64(22));
        assert!(bias.iter().all(|&b| b == 0.0));
    }
}
