//! chainrule against the AD crates a user would pick instead: num-dual (forward-mode dual
//! numbers), and the tape-based dfdx, candle and burn (ndarray backend), on the four workloads
//! of `benches/workloads`. Run it from `benches/peers` as
//! `RAYON_NUM_THREADS=1 cargo bench --bench peers`; `RESULTS.md` reports the figures.
//!
//! Each workload is one criterion group. Before timing, every contender's value and gradients
//! are checked against the hand-written gradient, twice (the second call reuses whatever state
//! the first left behind), so a figure never times a wrong or different computation.
//!
//! What one timed step is:
//! - chainrule and by hand: the value and all gradients, as plain numbers, from inputs read
//!   through `black_box`, exactly as in `benches/gradients.rs`.
//! - num-dual: `num_dual::gradient` over all parameters at once (one dual vector as wide as the
//!   parameter count); the data are lifted to dual numbers inside the step, as `gradient`'s
//!   closure must.
//! - dfdx, candle, burn: the tensors are built once, outside the timing, from the same nalgebra
//!   data; a step is the forward pass, reading the value out as a plain number, and the backward
//!   pass. The gradients stay in the library's own container (`Gradients`, `GradStore`), which
//!   is where an optimiser would read them.
//!
//! Every contender computes the same expression in the same order as the `graph!`: samples
//! are columns, and the deep product is associated from the left, `(((w5·w4)·w3)·w2)·w1·x`.
//! This file must not touch the workloads module: it only reads it.

#[path = "../../workloads/mod.rs"]
mod workloads;

use std::hint::black_box;

use chainrule::nalgebra::SMatrix;
use criterion::{criterion_group, Criterion};
use workloads::*;

/// Tolerance on `|got − by hand| ≤ tolerance · (1 + |by hand|)`: f32 workloads.
const F32_TOLERANCE: f64 = 1e-4;
/// The same for f64 workloads.
const F64_TOLERANCE: f64 = 1e-9;

/// candle and dfdx run their matrix products through `gemm` on the global rayon pool, which
/// would otherwise use both cores while chainrule and the hand-written code use one.
fn require_one_rayon_thread() {
    let found = std::env::var("RAYON_NUM_THREADS");
    assert!(
        found.as_deref() == Ok("1"),
        "run the peers bench as `RAYON_NUM_THREADS=1 cargo bench --bench peers` (RAYON_NUM_THREADS \
         is {}): candle and dfdx would otherwise multiply matrices on every core, while chainrule \
         and the hand-written gradient use one",
        found.map_or_else(|_| "unset".to_owned(), |v| format!("`{v}`"))
    );
}

#[track_caller]
fn assert_close(workload: &str, contender: &str, got: &[f64], by_hand: &[f64], tolerance: f64) {
    assert_eq!(
        got.len(),
        by_hand.len(),
        "{workload}: {contender} returned {} numbers but by hand has {}",
        got.len(),
        by_hand.len()
    );
    for (index, (g, h)) in got.iter().zip(by_hand).enumerate() {
        assert!(
            (g - h).abs() <= tolerance * (1.0 + h.abs()),
            "{workload}: {contender} disagrees with the hand-written gradient at number {index} \
             (0 is the value): {g} against {h}"
        );
    }
}

/// nalgebra stores columns first; the tensor libraries store rows first.
fn row_major<T, const R: usize, const C: usize>(matrix: &SMatrix<T, R, C>) -> Vec<f64>
where
    T: chainrule::nalgebra::Scalar + Copy + Into<f64>,
{
    matrix.transpose().iter().map(|v| (*v).into()).collect()
}

// --- num-dual -----------------------------------------------------------------------------

mod with_num_dual {
    //! Forward mode: every number carries its derivative in each parameter direction.

    use super::workloads::{Deep, Mlp, MlpData, BATCH, HIDDEN, WIDTH};
    use chainrule::nalgebra::{SMatrix, SVector};
    use num_dual::{gradient, DualNum, DualSVec32, DualSVec64, DualVec};

    pub fn lecture(x: f64, y: f64, z: f64) -> (f64, SVector<f64, 3>) {
        gradient(
            |v: SVector<DualSVec64<3>, 3>| {
                let (x, y, z) = (v[0], v[1], v[2]);
                (z * (x * 2.0) / y.sin() + 1.0).ln().tanh()
            },
            &SVector::from([x, y, z]),
        )
    }

    pub fn neuron(w: f64, b: f64, x: f64, y: f64) -> (f64, SVector<f64, 2>) {
        gradient(
            |v: SVector<DualSVec64<2>, 2>| {
                let (w, b) = (v[0], v[1]);
                let residual = -(w * x + b).tanh() + y;
                residual * residual
            },
            &SVector::from([w, b]),
        )
    }

    /// The number of parameters of the MLP: W1, b1, W2, b2.
    pub const MLP_PARAMS: usize = HIDDEN * 2 + HIDDEN + HIDDEN + 1;
    type MlpDual = DualSVec32<MLP_PARAMS>;

    /// The MLP's parameters in one vector, each matrix column after column.
    pub fn mlp_flat(p: &Mlp) -> SVector<f32, MLP_PARAMS> {
        SVector::from_iterator(
            p.w1.iter()
                .chain(p.b1.iter())
                .chain(p.w2.iter())
                .chain(p.b2.iter())
                .copied(),
        )
    }

    pub fn mlp(params: &SVector<f32, MLP_PARAMS>, d: &MlpData) -> (f32, SVector<f32, MLP_PARAMS>) {
        gradient(
            |v: SVector<MlpDual, MLP_PARAMS>| {
                let w1 = SMatrix::<MlpDual, HIDDEN, 2>::from_column_slice(&v.as_slice()[..32]);
                let b1 = SMatrix::<MlpDual, HIDDEN, 1>::from_column_slice(&v.as_slice()[32..48]);
                let w2 = SMatrix::<MlpDual, 1, HIDDEN>::from_column_slice(&v.as_slice()[48..64]);
                let b2 = SMatrix::<MlpDual, 1, 1>::from_column_slice(&v.as_slice()[64..]);
                let x = d.x.map(DualVec::from_re);
                let y = d.y.map(DualVec::from_re);
                let ones = d.ones.map(DualVec::from_re);
                let h = (w1 * x + b1 * ones).map(|t| t.tanh());
                let residual = w2 * h + b2 * ones - y;
                residual.iter().map(|r| r * r).sum::<MlpDual>() / BATCH as f32
            },
            params,
        )
    }

    /// The number of parameters of the deep network: five 8×8 layers.
    pub const DEEP_PARAMS: usize = 5 * WIDTH * WIDTH;
    type DeepDual = DualSVec64<DEEP_PARAMS>;

    pub fn deep_flat(d: &Deep) -> SVector<f64, DEEP_PARAMS> {
        SVector::from_iterator(d.w.iter().flat_map(|w| w.iter()).copied())
    }

    pub fn deep(weights: &SVector<f64, DEEP_PARAMS>, d: &Deep) -> (f64, SVector<f64, DEEP_PARAMS>) {
        gradient(
            |v: SVector<DeepDual, DEEP_PARAMS>| {
                let layer = |k: usize| {
                    SMatrix::<DeepDual, WIDTH, WIDTH>::from_column_slice(
                        &v.as_slice()[k * WIDTH * WIDTH..(k + 1) * WIDTH * WIDTH],
                    )
                };
                let (w1, w2, w3, w4, w5) = (layer(0), layer(1), layer(2), layer(3), layer(4));
                let x = d.x.map(DualVec::from_re);
                let y = d.y.map(DualVec::from_re);
                let residual = w5 * w4 * w3 * w2 * w1 * x - y;
                residual.iter().map(|r| r * r).sum::<DeepDual>() / (WIDTH * BATCH) as f64
            },
            weights,
        )
    }
}

// --- dfdx ---------------------------------------------------------------------------------

mod with_dfdx {
    //! dfdx's training-loop idiom: gradients allocated once for the parameters
    //! (`alloc_grads`), zeroed each step, traced into the first parameter, and returned by
    //! `backward`. Shapes are types; storage is row-major.

    use super::workloads::{Deep, Mlp, MlpData, BATCH, HIDDEN, WIDTH};
    use chainrule::nalgebra::SMatrix;
    use dfdx::losses::mse_loss;
    use dfdx::prelude::*;

    pub type Grads<E> = Gradients<E, Cpu>;
    type Scalar64 = Tensor<Rank0, f64, Cpu>;
    type Taped<S, E> = Tensor<S, E, Cpu, OwnedTape<E, Cpu>>;

    fn from_nalgebra<E, const R: usize, const C: usize>(
        dev: &Cpu,
        matrix: &SMatrix<E, R, C>,
    ) -> Tensor<Rank2<R, C>, E, Cpu>
    where
        E: Dtype + chainrule::nalgebra::Scalar,
        Cpu: TensorFromVec<E>,
    {
        dev.tensor_from_vec(
            matrix.transpose().as_slice().to_vec(),
            (Const::<R>, Const::<C>),
        )
    }

    /// Runs one step with gradients reused from the last, as a training loop does.
    pub fn step<P, E, O>(
        params: &P,
        grads: &mut Grads<E>,
        forward_backward: impl FnOnce(&P, Grads<E>) -> (O, Grads<E>),
    ) -> O
    where
        E: Dtype,
        Cpu: Device<E>,
        P: ZeroGrads<E, Cpu>,
    {
        params.zero_grads(grads);
        let (value, new_grads) =
            forward_backward(params, std::mem::replace(grads, Gradients::leaky()));
        *grads = new_grads;
        value
    }

    pub type LectureParams = (Scalar64, Scalar64, Scalar64);

    pub fn lecture_params(dev: &Cpu, (x, y, z): (f64, f64, f64)) -> LectureParams {
        (dev.tensor(x), dev.tensor(y), dev.tensor(z))
    }

    pub fn lecture(p: &LectureParams, grads: Grads<f64>) -> (f64, Grads<f64>) {
        let x = p.0.trace(grads);
        let y: Taped<Rank0, f64> = p.1.retaped();
        let z: Taped<Rank0, f64> = p.2.retaped();
        let f = ((z * (x * 2.0)) / y.sin() + 1.0).ln().tanh();
        (f.array(), f.backward())
    }

    pub type NeuronParams = (Scalar64, Scalar64);

    pub fn neuron_params(dev: &Cpu, (w, b): (f64, f64)) -> NeuronParams {
        (dev.tensor(w), dev.tensor(b))
    }

    pub fn neuron(p: &NeuronParams, grads: Grads<f64>, x: f64, y: f64) -> (f64, Grads<f64>) {
        let w = p.0.trace(grads);
        let b: Taped<Rank0, f64> = p.1.retaped();
        let residual = (w * x + b).tanh().negate() + y;
        let loss = residual.square();
        (loss.array(), loss.backward())
    }

    /// The gradient of a scalar parameter.
    pub fn scalar_grad(grads: &Grads<f64>, param: &Scalar64) -> f64 {
        grads.get(param).array()
    }

    pub type MlpParams = (
        Tensor<Rank2<HIDDEN, 2>, f32, Cpu>,
        Tensor<Rank1<HIDDEN>, f32, Cpu>,
        Tensor<Rank2<1, HIDDEN>, f32, Cpu>,
        Tensor<Rank1<1>, f32, Cpu>,
    );
    pub type MlpBatch = (
        Tensor<Rank2<2, BATCH>, f32, Cpu>,
        Tensor<Rank2<1, BATCH>, f32, Cpu>,
    );

    pub fn mlp_tensors(dev: &Cpu, p: &Mlp, d: &MlpData) -> (MlpParams, MlpBatch) {
        let params = (
            from_nalgebra(dev, &p.w1),
            dev.tensor_from_vec(p.b1.as_slice().to_vec(), (Const::<HIDDEN>,)),
            from_nalgebra(dev, &p.w2),
            dev.tensor_from_vec(p.b2.as_slice().to_vec(), (Const::<1>,)),
        );
        (params, (from_nalgebra(dev, &d.x), from_nalgebra(dev, &d.y)))
    }

    pub fn mlp(p: &MlpParams, grads: Grads<f32>, batch: &MlpBatch) -> (f32, Grads<f32>) {
        let w1 = p.0.trace(grads);
        let b1: Taped<Rank1<HIDDEN>, f32> = p.1.retaped();
        let w2: Taped<Rank2<1, HIDDEN>, f32> = p.2.retaped();
        let b2: Taped<Rank1<1>, f32> = p.3.retaped();
        let h =
            (w1.matmul(batch.0.clone()) + b1.broadcast::<Rank2<HIDDEN, BATCH>, Axis<1>>()).tanh();
        let out = w2.matmul(h) + b2.broadcast::<Rank2<1, BATCH>, Axis<1>>();
        let loss = mse_loss(out, batch.1.clone());
        (loss.array(), loss.backward())
    }

    type LayerTensor = Tensor<Rank2<WIDTH, WIDTH>, f64, Cpu>;
    pub type DeepParams = (
        LayerTensor,
        LayerTensor,
        LayerTensor,
        LayerTensor,
        LayerTensor,
    );
    pub type DeepBatch = (
        Tensor<Rank2<WIDTH, BATCH>, f64, Cpu>,
        Tensor<Rank2<WIDTH, BATCH>, f64, Cpu>,
    );

    pub fn deep_tensors(dev: &Cpu, d: &Deep) -> (DeepParams, DeepBatch) {
        let layer = |k: usize| from_nalgebra(dev, &d.w[k]);
        (
            (layer(0), layer(1), layer(2), layer(3), layer(4)),
            (from_nalgebra(dev, &d.x), from_nalgebra(dev, &d.y)),
        )
    }

    pub fn deep(p: &DeepParams, grads: Grads<f64>, batch: &DeepBatch) -> (f64, Grads<f64>) {
        let w1: Taped<Rank2<WIDTH, WIDTH>, f64> = p.0.retaped();
        let w2: Taped<Rank2<WIDTH, WIDTH>, f64> = p.1.retaped();
        let w3: Taped<Rank2<WIDTH, WIDTH>, f64> = p.2.retaped();
        let w4: Taped<Rank2<WIDTH, WIDTH>, f64> = p.3.retaped();
        let w5 = p.4.trace(grads);
        let prediction = w5
            .matmul(w4)
            .matmul(w3)
            .matmul(w2)
            .matmul(w1)
            .matmul(batch.0.clone());
        let loss = mse_loss(prediction, batch.1.clone());
        (loss.array(), loss.backward())
    }
}

// --- candle -------------------------------------------------------------------------------

mod with_candle {
    //! candle-core on the CPU: parameters are `Var`s, `backward` returns a `GradStore`.
    //! Storage is row-major; a bias is a column so that `broadcast_add` spreads it over samples.

    use super::workloads::{Deep, Mlp, MlpData};
    use candle_core::backprop::GradStore;
    use candle_core::{Device, Result, Tensor, Var, WithDType};
    use chainrule::nalgebra::SMatrix;

    fn from_nalgebra<E, const R: usize, const C: usize>(matrix: &SMatrix<E, R, C>) -> Result<Tensor>
    where
        E: WithDType + chainrule::nalgebra::Scalar,
    {
        Tensor::from_slice(matrix.transpose().as_slice(), (R, C), &Device::Cpu)
    }

    pub type LectureParams = [Var; 3];

    pub fn lecture_params((x, y, z): (f64, f64, f64)) -> Result<LectureParams> {
        Ok([
            Var::new(x, &Device::Cpu)?,
            Var::new(y, &Device::Cpu)?,
            Var::new(z, &Device::Cpu)?,
        ])
    }

    pub fn lecture([x, y, z]: &LectureParams) -> Result<(f64, GradStore)> {
        let f = ((z.as_tensor() * (x.as_tensor() * 2.0)?)? / y.sin()?)?
            .affine(1.0, 1.0)?
            .log()?
            .tanh()?;
        Ok((f.to_scalar()?, f.backward()?))
    }

    pub type NeuronParams = [Var; 2];

    pub fn neuron_params((w, b): (f64, f64)) -> Result<NeuronParams> {
        Ok([Var::new(w, &Device::Cpu)?, Var::new(b, &Device::Cpu)?])
    }

    pub fn neuron([w, b]: &NeuronParams, x: f64, y: f64) -> Result<(f64, GradStore)> {
        let residual = ((w.as_tensor() * x)? + b.as_tensor())?
            .tanh()?
            .affine(-1.0, y)?;
        let loss = residual.sqr()?;
        Ok((loss.to_scalar()?, loss.backward()?))
    }

    pub type MlpParams = [Var; 4];
    pub type MlpBatch = [Tensor; 2];

    pub fn mlp_tensors(p: &Mlp, d: &MlpData) -> Result<(MlpParams, MlpBatch)> {
        let params = [
            Var::from_tensor(&from_nalgebra(&p.w1)?)?,
            Var::from_tensor(&from_nalgebra(&p.b1)?)?,
            Var::from_tensor(&from_nalgebra(&p.w2)?)?,
            Var::from_tensor(&from_nalgebra(&p.b2)?)?,
        ];
        Ok((params, [from_nalgebra(&d.x)?, from_nalgebra(&d.y)?]))
    }

    pub fn mlp([w1, b1, w2, b2]: &MlpParams, [x, y]: &MlpBatch) -> Result<(f32, GradStore)> {
        let h = w1.matmul(x)?.broadcast_add(b1)?.tanh()?;
        let out = w2.matmul(&h)?.broadcast_add(b2)?;
        let loss = (out - y)?.sqr()?.mean_all()?;
        Ok((loss.to_scalar()?, loss.backward()?))
    }

    pub type DeepParams = [Var; 5];
    pub type DeepBatch = [Tensor; 2];

    pub fn deep_tensors(d: &Deep) -> Result<(DeepParams, DeepBatch)> {
        let layer = |k: usize| Var::from_tensor(&from_nalgebra(&d.w[k])?);
        Ok((
            [layer(0)?, layer(1)?, layer(2)?, layer(3)?, layer(4)?],
            [from_nalgebra(&d.x)?, from_nalgebra(&d.y)?],
        ))
    }

    pub fn deep([w1, w2, w3, w4, w5]: &DeepParams, [x, y]: &DeepBatch) -> Result<(f64, GradStore)> {
        let prediction = w5
            .matmul(w4)?
            .matmul(w3)?
            .matmul(w2)?
            .matmul(w1)?
            .matmul(x)?;
        let loss = (prediction - y)?.sqr()?.mean_all()?;
        Ok((loss.to_scalar()?, loss.backward()?))
    }

    /// A gradient's numbers, row after row.
    /// Every parameter's gradient, in order, as plain numbers.
    pub fn gradients(grads: &GradStore, vars: &[Var]) -> Vec<f64> {
        vars.iter()
            .flat_map(|var| {
                grads
                    .get(var)
                    .expect("candle: every parameter has a gradient")
                    .flatten_all()
                    .and_then(|g| g.to_dtype(candle_core::DType::F64))
                    .and_then(|g| g.to_vec1::<f64>())
                    .expect("candle: a gradient reads back as numbers")
            })
            .collect()
    }
}

// --- burn ---------------------------------------------------------------------------------

mod with_burn {
    //! burn with autodiff on its ndarray CPU device. Since burn 0.22 a tensor's device picks the
    //! backend at run time (`Tensor<2>` has no backend parameter): `Device::ndarray().autodiff()`
    //! is what `Autodiff<NdArray>` was. Parameters are leaves with `require_grad`, reused every
    //! step; `backward` returns `Gradients`. Storage is row-major.

    use super::workloads::{Deep, Mlp, MlpData};
    use burn::tensor::{DType, Device, Gradients, Tensor, TensorData};
    use chainrule::nalgebra::SMatrix;

    /// The ndarray CPU device with autodiff. burn 0.22 deprecates ndarray in favour of its new
    /// `flex` CPU backend; ndarray is the one the issue asks about.
    pub fn device() -> Device {
        #[allow(deprecated)] // Device::ndarray: the issue asks for burn's ndarray backend.
        let device = Device::ndarray();
        device.autodiff()
    }

    fn from_nalgebra<const R: usize, const C: usize, E>(
        device: &Device,
        matrix: &SMatrix<E, R, C>,
        dtype: DType,
    ) -> Tensor<2>
    where
        E: burn::tensor::Element + chainrule::nalgebra::Scalar,
    {
        let data = TensorData::new(matrix.transpose().as_slice().to_vec(), [R, C]);
        Tensor::from_data(data, (device, dtype))
    }

    fn scalar(device: &Device, value: f64) -> Tensor<1> {
        Tensor::from_data(TensorData::new(vec![value], [1]), (device, DType::F64))
    }

    pub type LectureParams = [Tensor<1>; 3];

    pub fn lecture_params(device: &Device, (x, y, z): (f64, f64, f64)) -> LectureParams {
        [x, y, z].map(|v| scalar(device, v).require_grad())
    }

    pub fn lecture([x, y, z]: &LectureParams) -> (f64, Gradients) {
        let f = (z.clone() * x.clone().mul_scalar(2.0) / y.clone().sin())
            .add_scalar(1.0)
            .log()
            .tanh();
        let grads = f.backward();
        (f.into_scalar(), grads)
    }

    pub type NeuronParams = [Tensor<1>; 2];

    pub fn neuron_params(device: &Device, (w, b): (f64, f64)) -> NeuronParams {
        [w, b].map(|v| scalar(device, v).require_grad())
    }

    pub fn neuron([w, b]: &NeuronParams, x: f64, y: f64) -> (f64, Gradients) {
        let residual = (w.clone().mul_scalar(x) + b.clone())
            .tanh()
            .neg()
            .add_scalar(y);
        let loss = residual.clone() * residual;
        let grads = loss.backward();
        (loss.into_scalar(), grads)
    }

    pub type MlpParams = [Tensor<2>; 4];
    pub type MlpBatch = [Tensor<2>; 2];

    pub fn mlp_tensors(device: &Device, p: &Mlp, d: &MlpData) -> (MlpParams, MlpBatch) {
        let f32 = DType::F32;
        let params = [
            from_nalgebra(device, &p.w1, f32).require_grad(),
            from_nalgebra(device, &p.b1, f32).require_grad(),
            from_nalgebra(device, &p.w2, f32).require_grad(),
            from_nalgebra(device, &p.b2, f32).require_grad(),
        ];
        let batch = [
            from_nalgebra(device, &d.x, f32),
            from_nalgebra(device, &d.y, f32),
        ];
        (params, batch)
    }

    pub fn mlp([w1, b1, w2, b2]: &MlpParams, [x, y]: &MlpBatch) -> (f32, Gradients) {
        // `+` broadcasts the bias column over the samples.
        let h = (w1.clone().matmul(x.clone()) + b1.clone()).tanh();
        let out = w2.clone().matmul(h) + b2.clone();
        let residual = out - y.clone();
        let loss = (residual.clone() * residual).mean();
        let grads = loss.backward();
        (loss.into_scalar(), grads)
    }

    pub type DeepParams = [Tensor<2>; 5];
    pub type DeepBatch = [Tensor<2>; 2];

    pub fn deep_tensors(device: &Device, d: &Deep) -> (DeepParams, DeepBatch) {
        let f64 = DType::F64;
        let params = d.w.map(|w| from_nalgebra(device, &w, f64).require_grad());
        let batch = [
            from_nalgebra(device, &d.x, f64),
            from_nalgebra(device, &d.y, f64),
        ];
        (params, batch)
    }

    pub fn deep([w1, w2, w3, w4, w5]: &DeepParams, [x, y]: &DeepBatch) -> (f64, Gradients) {
        let prediction = w5
            .clone()
            .matmul(w4.clone())
            .matmul(w3.clone())
            .matmul(w2.clone())
            .matmul(w1.clone())
            .matmul(x.clone());
        let residual = prediction - y.clone();
        let loss = (residual.clone() * residual).mean();
        let grads = loss.backward();
        (loss.into_scalar(), grads)
    }

    /// A gradient's numbers, row after row.
    /// Every parameter's gradient, in order, as plain numbers.
    pub fn gradients<const D: usize>(grads: &Gradients, params: &[Tensor<D>]) -> Vec<f64> {
        params
            .iter()
            .flat_map(|param| {
                param
                    .grad(grads)
                    .expect("burn: every parameter has a gradient")
                    .into_data()
                    .iter::<f64>()
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

// --- the groups ---------------------------------------------------------------------------

fn lecture_benches(c: &mut Criterion) {
    let point = LECTURE_POINT;
    let (x, y, z) = point;
    let (hand_value, hand) = lecture_by_hand(x, y, z);
    let expected = flatten(&[&[hand_value], &hand]);
    let check = |contender: &str, got: Vec<f64>| {
        assert_close("lecture", contender, &got, &expected, F64_TOLERANCE)
    };

    let (value, g) = lecture::value_and_grad(x, y, z);
    check("chainrule", vec![value, g.x, g.y, g.z]);

    let (value, g) = with_num_dual::lecture(x, y, z);
    check("num-dual", flatten(&[&[value], g.as_slice()]));

    let dev: dfdx::prelude::Cpu = Default::default();
    let dfdx_params = with_dfdx::lecture_params(&dev, point);
    let mut dfdx_grads = dfdx::prelude::ZeroGrads::alloc_grads(&dfdx_params);
    for _ in 0..2 {
        let value = with_dfdx::step(&dfdx_params, &mut dfdx_grads, with_dfdx::lecture);
        let g = [&dfdx_params.0, &dfdx_params.1, &dfdx_params.2]
            .map(|t| with_dfdx::scalar_grad(&dfdx_grads, t));
        check("dfdx", flatten(&[&[value], &g]));
    }

    let candle_params = with_candle::lecture_params(point).expect("candle: lecture tensors");
    for _ in 0..2 {
        let (value, grads) = with_candle::lecture(&candle_params).expect("candle: lecture step");
        let g = with_candle::gradients(&grads, &candle_params);
        check("candle", flatten(&[&[value], &g]));
    }

    let burn_device = with_burn::device();
    let burn_params = with_burn::lecture_params(&burn_device, point);
    for _ in 0..2 {
        let (value, grads) = with_burn::lecture(&burn_params);
        let g = with_burn::gradients(&grads, &burn_params);
        check("burn", flatten(&[&[value], &g]));
    }

    let mut group = c.benchmark_group("lecture");
    group.bench_function("chainrule", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| {
            lecture::value_and_grad(x, y, z)
        }))
    });
    group.bench_function("by_hand", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| lecture_by_hand(x, y, z)))
    });
    group.bench_function("num-dual", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| {
            with_num_dual::lecture(x, y, z)
        }))
    });
    group.bench_function("dfdx", |b| {
        b.iter(|| with_dfdx::step(black_box(&dfdx_params), &mut dfdx_grads, with_dfdx::lecture))
    });
    group.bench_function("candle", |b| {
        b.iter(|| with_candle::lecture(black_box(&candle_params)))
    });
    group.bench_function("burn", |b| {
        b.iter(|| with_burn::lecture(black_box(&burn_params)))
    });
    group.finish();
}

fn neuron_benches(c: &mut Criterion) {
    let inputs = (NEURON_POINT.0, NEURON_POINT.1, NEURON_DATA.0, NEURON_DATA.1);
    let (w, b, x, y) = inputs;
    let (hand_value, hand) = neuron_by_hand(w, b, x, y);
    let expected = flatten(&[&[hand_value], &hand]);
    let check = |contender: &str, got: Vec<f64>| {
        assert_close("neuron", contender, &got, &expected, F64_TOLERANCE)
    };

    let (value, g) = neuron::value_and_grad(w, b, x, y);
    check("chainrule", vec![value, g.w, g.b]);

    let (value, g) = with_num_dual::neuron(w, b, x, y);
    check("num-dual", flatten(&[&[value], g.as_slice()]));

    let dev: dfdx::prelude::Cpu = Default::default();
    let dfdx_params = with_dfdx::neuron_params(&dev, (w, b));
    let mut dfdx_grads = dfdx::prelude::ZeroGrads::alloc_grads(&dfdx_params);
    let dfdx_neuron = move |p: &with_dfdx::NeuronParams, grads| with_dfdx::neuron(p, grads, x, y);
    for _ in 0..2 {
        let value = with_dfdx::step(&dfdx_params, &mut dfdx_grads, dfdx_neuron);
        let g = [&dfdx_params.0, &dfdx_params.1].map(|t| with_dfdx::scalar_grad(&dfdx_grads, t));
        check("dfdx", flatten(&[&[value], &g]));
    }

    let candle_params = with_candle::neuron_params((w, b)).expect("candle: neuron tensors");
    for _ in 0..2 {
        let (value, grads) =
            with_candle::neuron(&candle_params, x, y).expect("candle: neuron step");
        let g = with_candle::gradients(&grads, &candle_params);
        check("candle", flatten(&[&[value], &g]));
    }

    let burn_device = with_burn::device();
    let burn_params = with_burn::neuron_params(&burn_device, (w, b));
    for _ in 0..2 {
        let (value, grads) = with_burn::neuron(&burn_params, x, y);
        let g = with_burn::gradients(&grads, &burn_params);
        check("burn", flatten(&[&[value], &g]));
    }

    // The tensor contenders read the data `x`, `y` through `black_box` like everyone else.
    let data = (x, y);
    let mut group = c.benchmark_group("neuron");
    group.bench_function("chainrule", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron::value_and_grad(w, b, x, y)
        }))
    });
    group.bench_function("by_hand", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron_by_hand(w, b, x, y)
        }))
    });
    group.bench_function("num-dual", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            with_num_dual::neuron(w, b, x, y)
        }))
    });
    group.bench_function("dfdx", |bench| {
        bench.iter(|| {
            let (x, y) = *black_box(&data);
            with_dfdx::step(black_box(&dfdx_params), &mut dfdx_grads, |p, grads| {
                with_dfdx::neuron(p, grads, x, y)
            })
        })
    });
    group.bench_function("candle", |bench| {
        bench.iter(|| {
            let (x, y) = *black_box(&data);
            with_candle::neuron(black_box(&candle_params), x, y)
        })
    });
    group.bench_function("burn", |bench| {
        bench.iter(|| {
            let (x, y) = *black_box(&data);
            with_burn::neuron(black_box(&burn_params), x, y)
        })
    });
    group.finish();
}

fn mlp_benches(c: &mut Criterion) {
    let (params, data) = mlp_inputs(42);
    let (hand_value, h) = mlp_by_hand(&params, &data);
    // Column-major, parameter after parameter: chainrule's and num-dual's order.
    let expected = flatten(&[
        &[hand_value],
        h.w1.as_slice(),
        h.b1.as_slice(),
        h.w2.as_slice(),
        h.b2.as_slice(),
    ]);
    // Row-major: the tensor libraries' order.
    let expected_rows = [
        vec![f64::from(hand_value)],
        row_major(&h.w1),
        row_major(&h.b1),
        row_major(&h.w2),
        row_major(&h.b2),
    ]
    .concat();
    let check = |contender: &str, got: Vec<f64>| {
        assert_close("mlp", contender, &got, &expected, F32_TOLERANCE)
    };
    let check_rows = |contender: &str, got: Vec<f64>| {
        assert_close("mlp", contender, &got, &expected_rows, F32_TOLERANCE)
    };

    let (value, g) = mlp_batched(&params, &data);
    check(
        "chainrule",
        flatten(&[
            &[value],
            g.w1.as_slice(),
            g.b1.as_slice(),
            g.w2.as_slice(),
            g.b2.as_slice(),
        ]),
    );

    let flat_params = with_num_dual::mlp_flat(&params);
    let (value, g) = with_num_dual::mlp(&flat_params, &data);
    check("num-dual", flatten(&[&[value], g.as_slice()]));

    let dev: dfdx::prelude::Cpu = Default::default();
    let (dfdx_params, dfdx_batch) = with_dfdx::mlp_tensors(&dev, &params, &data);
    let mut dfdx_grads = dfdx::prelude::ZeroGrads::alloc_grads(&dfdx_params);
    let dfdx_mlp =
        |p: &with_dfdx::MlpParams, grads| with_dfdx::mlp(p, grads, black_box(&dfdx_batch));
    for _ in 0..2 {
        let value = with_dfdx::step(&dfdx_params, &mut dfdx_grads, dfdx_mlp);
        let got = flatten(&[
            &[value],
            &dfdx_grads.get(&dfdx_params.0).as_vec(),
            &dfdx_grads.get(&dfdx_params.1).as_vec(),
            &dfdx_grads.get(&dfdx_params.2).as_vec(),
            &dfdx_grads.get(&dfdx_params.3).as_vec(),
        ]);
        check_rows("dfdx", got);
    }

    let (candle_params, candle_batch) =
        with_candle::mlp_tensors(&params, &data).expect("candle: mlp tensors");
    for _ in 0..2 {
        let (value, grads) =
            with_candle::mlp(&candle_params, &candle_batch).expect("candle: mlp step");
        let g = with_candle::gradients(&grads, &candle_params);
        check_rows("candle", flatten(&[&[f64::from(value)], &g]));
    }

    let burn_device = with_burn::device();
    let (burn_params, burn_batch) = with_burn::mlp_tensors(&burn_device, &params, &data);
    for _ in 0..2 {
        let (value, grads) = with_burn::mlp(&burn_params, &burn_batch);
        let g = with_burn::gradients(&grads, &burn_params);
        check_rows("burn", flatten(&[&[f64::from(value)], &g]));
    }

    let mut group = c.benchmark_group("mlp");
    let (params, data) = (&params, &data);
    group.bench_function("chainrule", |b| {
        b.iter(|| mlp_batched(black_box(params), black_box(data)))
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| mlp_by_hand(black_box(params), black_box(data)))
    });
    group.bench_function("num-dual", |b| {
        b.iter(|| with_num_dual::mlp(black_box(&flat_params), black_box(data)))
    });
    group.bench_function("dfdx", |b| {
        b.iter(|| with_dfdx::step(black_box(&dfdx_params), &mut dfdx_grads, dfdx_mlp))
    });
    group.bench_function("candle", |b| {
        b.iter(|| with_candle::mlp(black_box(&candle_params), black_box(&candle_batch)))
    });
    group.bench_function("burn", |b| {
        b.iter(|| with_burn::mlp(black_box(&burn_params), black_box(&burn_batch)))
    });
    group.finish();
}

fn deep_benches(c: &mut Criterion) {
    let data = deep_inputs(7);
    let (hand_value, h) = deep_by_hand(&data);
    let expected = flatten(&[
        &[hand_value],
        h[0].as_slice(),
        h[1].as_slice(),
        h[2].as_slice(),
        h[3].as_slice(),
        h[4].as_slice(),
    ]);
    let expected_rows = [
        vec![hand_value],
        row_major(&h[0]),
        row_major(&h[1]),
        row_major(&h[2]),
        row_major(&h[3]),
        row_major(&h[4]),
    ]
    .concat();
    let check = |contender: &str, got: Vec<f64>| {
        assert_close("deep", contender, &got, &expected, F64_TOLERANCE)
    };
    let check_rows = |contender: &str, got: Vec<f64>| {
        assert_close("deep", contender, &got, &expected_rows, F64_TOLERANCE)
    };

    let (value, g) = deep_generated(&data);
    check(
        "chainrule",
        flatten(&[
            &[value],
            g.w1.as_slice(),
            g.w2.as_slice(),
            g.w3.as_slice(),
            g.w4.as_slice(),
            g.w5.as_slice(),
        ]),
    );

    let flat_weights = with_num_dual::deep_flat(&data);
    let (value, g) = with_num_dual::deep(&flat_weights, &data);
    check("num-dual", flatten(&[&[value], g.as_slice()]));

    let dev: dfdx::prelude::Cpu = Default::default();
    let (dfdx_params, dfdx_batch) = with_dfdx::deep_tensors(&dev, &data);
    let mut dfdx_grads = dfdx::prelude::ZeroGrads::alloc_grads(&dfdx_params);
    let dfdx_deep =
        |p: &with_dfdx::DeepParams, grads| with_dfdx::deep(p, grads, black_box(&dfdx_batch));
    for _ in 0..2 {
        let value = with_dfdx::step(&dfdx_params, &mut dfdx_grads, dfdx_deep);
        let got = flatten(&[
            &[value],
            &dfdx_grads.get(&dfdx_params.0).as_vec(),
            &dfdx_grads.get(&dfdx_params.1).as_vec(),
            &dfdx_grads.get(&dfdx_params.2).as_vec(),
            &dfdx_grads.get(&dfdx_params.3).as_vec(),
            &dfdx_grads.get(&dfdx_params.4).as_vec(),
        ]);
        check_rows("dfdx", got);
    }

    let (candle_params, candle_batch) =
        with_candle::deep_tensors(&data).expect("candle: deep tensors");
    for _ in 0..2 {
        let (value, grads) =
            with_candle::deep(&candle_params, &candle_batch).expect("candle: deep step");
        let g = with_candle::gradients(&grads, &candle_params);
        check_rows("candle", flatten(&[&[value], &g]));
    }

    let burn_device = with_burn::device();
    let (burn_params, burn_batch) = with_burn::deep_tensors(&burn_device, &data);
    for _ in 0..2 {
        let (value, grads) = with_burn::deep(&burn_params, &burn_batch);
        let g = with_burn::gradients(&grads, &burn_params);
        check_rows("burn", flatten(&[&[value], &g]));
    }

    let mut group = c.benchmark_group("deep");
    let data = &data;
    group.bench_function("chainrule", |b| b.iter(|| deep_generated(black_box(data))));
    group.bench_function("by_hand", |b| b.iter(|| deep_by_hand(black_box(data))));
    group.bench_function("num-dual", |b| {
        b.iter(|| with_num_dual::deep(black_box(&flat_weights), black_box(data)))
    });
    group.bench_function("dfdx", |b| {
        b.iter(|| with_dfdx::step(black_box(&dfdx_params), &mut dfdx_grads, dfdx_deep))
    });
    group.bench_function("candle", |b| {
        b.iter(|| with_candle::deep(black_box(&candle_params), black_box(&candle_batch)))
    });
    group.bench_function("burn", |b| {
        b.iter(|| with_burn::deep(black_box(&burn_params), black_box(&burn_batch)))
    });
    group.finish();
}

criterion_group!(
    benches,
    lecture_benches,
    neuron_benches,
    mlp_benches,
    deep_benches
);

/// `criterion_main!`, with the thread check first.
fn main() {
    require_one_rayon_thread();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
