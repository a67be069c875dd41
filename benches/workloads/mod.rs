//! The benchmark workloads, shared by `benches/gradients.rs` (chainrule against hand-written
//! code) and `benches/peers` (against other AD crates), so both measure the same thing.
//!
//! Each workload has its data (deterministic from a fixed seed), its `graph!`, and the same
//! gradient written by hand with nalgebra. Every timed function returns the value and all
//! gradients.

#![allow(dead_code)] // Each bench uses the part of this module it compares.

use chainrule::graph;
use chainrule::nalgebra::{RowSVector, SMatrix, SVector};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub const BATCH: usize = 32;
pub const HIDDEN: usize = 16;
/// Width of every layer of the deep linear network.
pub const WIDTH: usize = 8;

/// A value and its gradients as one list of numbers, to compare contenders.
pub fn flatten<T: Copy + Into<f64>>(parts: &[&[T]]) -> Vec<f64> {
    parts
        .iter()
        .flat_map(|part| part.iter())
        .map(|v| (*v).into())
        .collect()
}

/// A call of `f` that reads its small `Copy` inputs through `black_box` every time, so the
/// optimiser can neither constant-fold nor hoist the work out of the timing loop.
pub fn on_black_boxed<I: Copy, T>(inputs: I, f: impl Fn(I) -> T) -> impl FnMut() -> T {
    move || f(*std::hint::black_box(&inputs))
}

fn random_matrix<T: chainrule::nalgebra::Scalar, const R: usize, const C: usize>(
    rng: &mut StdRng,
    scale: f64,
    convert: fn(f64) -> T,
) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|_, _| convert(scale * rng.random_range(-1.0..1.0)))
}

// --- lecture: f(x, y, z) = tanh(ln(1 + z·2x/sin y)) ---------------------------------------

pub const LECTURE_POINT: (f64, f64, f64) = (0.3, 1.1, 0.7);

graph! {
    /// The lecture's computational graph.
    pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
        tanh(ln(1 + z*2x/sin(y)))
    }
}

/// The lecture's forward pass by hand.
#[inline]
pub fn lecture_forward_by_hand(x: f64, y: f64, z: f64) -> f64 {
    (1.0 + z * 2.0 * x / y.sin()).ln().tanh()
}

/// The lecture's gradient by hand, as on the slide.
#[inline]
pub fn lecture_by_hand(x: f64, y: f64, z: f64) -> (f64, [f64; 3]) {
    let a = 2.0 * x;
    let b = y.sin();
    let c = a / b;
    let d = z * c;
    let e = (1.0 + d).ln();
    let f = e.tanh();
    let df_dd = (1.0 - f * f) / (1.0 + d);
    let dc = df_dd * z;
    (f, [dc / b * 2.0, -dc * c / b * y.cos(), df_dd * c])
}

// --- neuron: L(w, b) = (y − tanh(w·x + b))² ------------------------------------------------

pub const NEURON_DATA: (f64, f64) = (1.5, 0.5);
pub const NEURON_POINT: (f64, f64) = (0.4, -0.1);

graph! {
    /// The lecture's neuron, with the sample `x`, `y` as data.
    pub fn neuron(w: f64, b: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - tanh(w*x + b))^2
    }
}

#[inline]
pub fn neuron_forward_by_hand(w: f64, b: f64, x: f64, y: f64) -> f64 {
    let r = y - (w * x + b).tanh();
    r * r
}

#[inline]
pub fn neuron_by_hand(w: f64, b: f64, x: f64, y: f64) -> (f64, [f64; 2]) {
    let t = (w * x + b).tanh();
    let r = y - t;
    let d_pre = -2.0 * r * (1.0 - t * t);
    (r * r, [d_pre * x, d_pre])
}

// --- mlp: 2 → 16 (tanh) → 1, MSE over a batch of 32, f32 ----------------------------------

pub type Input = SMatrix<f32, 2, BATCH>;
pub type Target = SMatrix<f32, 1, BATCH>;
pub type Ones = RowSVector<f32, BATCH>;

/// The network's parameters.
#[derive(Clone, Copy, Debug)]
pub struct Mlp {
    pub w1: SMatrix<f32, HIDDEN, 2>,
    pub b1: SVector<f32, HIDDEN>,
    pub w2: SMatrix<f32, 1, HIDDEN>,
    pub b2: SVector<f32, 1>,
}

/// A batch for the network: inputs as the columns of `x`, targets `y = sin(x₀)·x₁`.
#[derive(Clone, Copy, Debug)]
pub struct MlpData {
    pub x: Input,
    pub y: Target,
    pub ones: Ones,
}

pub fn mlp_inputs(seed: u64) -> (Mlp, MlpData) {
    let mut rng = StdRng::seed_from_u64(seed);
    let to_f32 = |v: f64| v as f32;
    let params = Mlp {
        w1: random_matrix(&mut rng, 1.0, to_f32),
        b1: random_matrix(&mut rng, 0.1, to_f32),
        w2: random_matrix(&mut rng, 0.25, to_f32),
        b2: random_matrix(&mut rng, 0.1, to_f32),
    };
    let x: Input = random_matrix(&mut rng, 2.0, to_f32);
    let y = Target::from_fn(|_, j| x[(0, j)].sin() * x[(1, j)]);
    (
        params,
        MlpData {
            x,
            y,
            ones: Ones::repeat(1.0),
        },
    )
}

graph! {
    /// The whole batch in one graph: samples are columns, `b * ones` broadcasts a bias.
    pub fn mlp_batch(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                     w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                     #[no_grad] x: SMatrix<f32, 2, 32>, #[no_grad] y: SMatrix<f32, 1, 32>,
                     #[no_grad] ones: RowSVector<f32, 32>) -> f32 {
        let h = tanh(w1 * x + b1 * ones);
        let out = w2 * h + b2 * ones;
        mse(out, y)
    }
}

graph! {
    /// One sample's squared error; the loop version calls it once per sample.
    pub fn mlp_sample(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                      w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                      #[no_grad] x: SVector<f32, 2>, #[no_grad] y: SVector<f32, 1>) -> f32 {
        let h = tanh(w1 * x + b1);
        let out = w2 * h + b2;
        mse(out, y)
    }
}

#[inline]
pub fn mlp_batched(p: &Mlp, d: &MlpData) -> (f32, mlp_batch::Grad) {
    mlp_batch::value_and_grad(p.w1, p.b1, p.w2, p.b2, d.x, d.y, d.ones)
}

#[inline]
pub fn mlp_batched_forward(p: &Mlp, d: &MlpData) -> f32 {
    mlp_batch::forward(p.w1, p.b1, p.w2, p.b2, d.x, d.y, d.ones)
}

/// The batch as a loop over the one-sample graph, averaging values and gradients.
#[inline]
pub fn mlp_looped(p: &Mlp, d: &MlpData) -> (f32, mlp_sample::Grad) {
    let mut total = 0.0;
    let mut grad = mlp_sample::Grad::default();
    for j in 0..BATCH {
        let (loss, g) = mlp_sample::value_and_grad(
            p.w1,
            p.b1,
            p.w2,
            p.b2,
            d.x.column(j).into(),
            d.y.column(j).into(),
        );
        total += loss;
        grad.w1 += g.w1;
        grad.b1 += g.b1;
        grad.w2 += g.w2;
        grad.b2 += g.b2;
    }
    let n = BATCH as f32;
    grad.w1 /= n;
    grad.b1 /= n;
    grad.w2 /= n;
    grad.b2 /= n;
    (total / n, grad)
}

/// The batched gradient as a person would write it with nalgebra.
#[inline]
pub fn mlp_by_hand(p: &Mlp, d: &MlpData) -> (f32, Mlp) {
    let h = (p.w1 * d.x + p.b1 * d.ones).map(f32::tanh);
    let residual = p.w2 * h + p.b2 * d.ones - d.y;
    let n = BATCH as f32;
    let loss = residual.norm_squared() / n;
    let d_out = residual * (2.0 / n);
    let d_pre = (p.w2.transpose() * d_out).component_mul(&h.map(|t| 1.0 - t * t));
    let grad = Mlp {
        w1: d_pre * d.x.transpose(),
        b1: d_pre * d.ones.transpose(),
        w2: d_out * h.transpose(),
        b2: d_out * d.ones.transpose(),
    };
    (loss, grad)
}

#[inline]
pub fn mlp_forward_by_hand(p: &Mlp, d: &MlpData) -> f32 {
    let h = (p.w1 * d.x + p.b1 * d.ones).map(f32::tanh);
    (p.w2 * h + p.b2 * d.ones - d.y).norm_squared() / BATCH as f32
}

// --- deep: ŷ = w5·w4·w3·w2·w1·x, MSE over 32 samples, f64 ---------------------------------

pub type Layer = SMatrix<f64, WIDTH, WIDTH>;
pub type Batch = SMatrix<f64, WIDTH, BATCH>;

/// A deep linear network's weights and a batch.
#[derive(Clone, Copy, Debug)]
pub struct Deep {
    pub w: [Layer; 5],
    pub x: Batch,
    pub y: Batch,
}

pub fn deep_inputs(seed: u64) -> Deep {
    let mut rng = StdRng::seed_from_u64(seed);
    // Scaled so the product of five layers neither explodes nor vanishes.
    let scale = (3.0 / WIDTH as f64).sqrt();
    let w = std::array::from_fn(|_| random_matrix(&mut rng, scale, |v| v));
    let x: Batch = random_matrix(&mut rng, 1.0, |v| v);
    let y = x.map(|v| 0.5 * v);
    Deep { w, x, y }
}

graph! {
    /// The lecture's deep linear network.
    pub fn deep(w1: SMatrix<f64, 8, 8>, w2: SMatrix<f64, 8, 8>, w3: SMatrix<f64, 8, 8>,
                w4: SMatrix<f64, 8, 8>, w5: SMatrix<f64, 8, 8>,
                #[no_grad] x: SMatrix<f64, 8, 32>, #[no_grad] y: SMatrix<f64, 8, 32>) -> f64 {
        mse(w5 * w4 * w3 * w2 * w1 * x, y)
    }
}

#[inline]
pub fn deep_generated(d: &Deep) -> (f64, deep::Grad) {
    let [w1, w2, w3, w4, w5] = d.w;
    deep::value_and_grad(w1, w2, w3, w4, w5, d.x, d.y)
}

graph! {
    /// `deep` with its matrices by reference, read in place as the hand-written code reads
    /// them: by value, each call copies 6.5 KiB of arguments, which the kernels' calls make
    /// real (nalgebra's inlined code reads the caller's matrices instead).
    #[by_ref]
    pub fn deep_by_ref(w1: SMatrix<f64, 8, 8>, w2: SMatrix<f64, 8, 8>, w3: SMatrix<f64, 8, 8>,
                       w4: SMatrix<f64, 8, 8>, w5: SMatrix<f64, 8, 8>,
                       #[no_grad] x: SMatrix<f64, 8, 32>, #[no_grad] y: SMatrix<f64, 8, 32>) -> f64 {
        mse(w5 * w4 * w3 * w2 * w1 * x, y)
    }
}

#[inline]
pub fn deep_generated_by_ref(d: &Deep) -> (f64, deep_by_ref::Grad) {
    let [w1, w2, w3, w4, w5] = &d.w;
    deep_by_ref::value_and_grad(w1, w2, w3, w4, w5, &d.x, &d.y)
}

#[inline]
pub fn deep_generated_forward(d: &Deep) -> f64 {
    let [w1, w2, w3, w4, w5] = d.w;
    deep::forward(w1, w2, w3, w4, w5, d.x, d.y)
}

/// Backpropagation through the layers by hand.
#[inline]
pub fn deep_by_hand(d: &Deep) -> (f64, [Layer; 5]) {
    let [w1, w2, w3, w4, w5] = d.w;
    // The product is left-associative, as the graph writes it: ((((w5·w4)·w3)·w2)·w1)·x.
    let p54 = w5 * w4;
    let p543 = p54 * w3;
    let p5432 = p543 * w2;
    let p54321 = p5432 * w1;
    let residual = p54321 * d.x - d.y;
    let n = (WIDTH * BATCH) as f64;
    let loss = residual.norm_squared() / n;
    let d_out = residual * (2.0 / n);
    let d_p54321 = d_out * d.x.transpose();
    let d_w1 = p5432.tr_mul(&d_p54321);
    let d_p5432 = d_p54321 * w1.transpose();
    let d_w2 = p543.tr_mul(&d_p5432);
    let d_p543 = d_p5432 * w2.transpose();
    let d_w3 = p54.tr_mul(&d_p543);
    let d_p54 = d_p543 * w3.transpose();
    let d_w4 = w5.tr_mul(&d_p54);
    let d_w5 = d_p54 * w4.transpose();
    (loss, [d_w1, d_w2, d_w3, d_w4, d_w5])
}

#[inline]
pub fn deep_forward_by_hand(d: &Deep) -> f64 {
    let [w1, w2, w3, w4, w5] = d.w;
    (w5 * w4 * w3 * w2 * w1 * d.x - d.y).norm_squared() / (WIDTH * BATCH) as f64
}
