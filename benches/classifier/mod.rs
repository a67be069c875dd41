//! The MNIST-sized classifier of `benches/mnist.rs` and `benches/step.rs`, at any input
//! width: the model, a batch, and the floor of a step, its five matrix products alone, so that
//! both benchmarks measure against the same floor.

#![allow(dead_code)] // Each bench uses the part of this module it compares.

use chainrule::loss::one_hot;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Linear, ReLU, Sequential};
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};
use chainrule::runtime::kernels::{matmul, matmul_nt, matmul_tn};

pub const CLASSES: usize = 10;

/// PyTorch's `nn.Sequential(nn.Linear(I, H), nn.ReLU(), nn.Linear(H, 10))`.
pub type Classifier<const I: usize, const H: usize> =
    Sequential<(Linear<f32, I, H>, ReLU, Linear<f32, H, CLASSES>)>;

/// A batch: pixels uniform in [0, 1), one sample per column, and each sample's class.
pub struct Batch<const I: usize, const B: usize> {
    pub x: SMatrix<f32, I, B>,
    pub y: SMatrix<f32, CLASSES, B>,
    pub classes: [usize; B],
}

/// A model initialised as PyTorch does and a batch, from a fixed seed.
pub fn inputs<const I: usize, const H: usize, const B: usize>(
    seed: u64,
) -> (Box<Classifier<I, H>>, Box<Batch<I, B>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let model = Box::new(Classifier::<I, H>::init(&mut rng));
    let classes: [usize; B] = std::array::from_fn(|_| rng.random_range(0..CLASSES));
    let batch = Box::new(Batch {
        x: SMatrix::from_fn(|_, _| rng.random_range(0.0..1.0)),
        y: one_hot(&classes),
        classes,
    });
    (model, batch)
}

/// The operands of the step's five products, and their results, allocated once.
pub struct Products<const I: usize, const H: usize, const B: usize> {
    w1: SMatrix<f32, H, I>,
    x: SMatrix<f32, I, B>,
    d_z1: SMatrix<f32, H, B>,
    w2: SMatrix<f32, CLASSES, H>,
    h: SMatrix<f32, H, B>,
    d_z2: SMatrix<f32, CLASSES, B>,
    z1: SMatrix<f32, H, B>,
    d_w1: SMatrix<f32, H, I>,
    z2: SMatrix<f32, CLASSES, B>,
    d_w2: SMatrix<f32, CLASSES, H>,
    d_h: SMatrix<f32, H, B>,
}

impl<const I: usize, const H: usize, const B: usize> Products<I, H, B> {
    /// The model's weights and the batch's pixels; the other operands are any values, as the
    /// kernels' time does not depend on them.
    pub fn new(model: &Classifier<I, H>, batch: &Batch<I, B>) -> Box<Self> {
        let filled =
            |salt: f32| move |r: usize, c: usize| ((r * 31 + c * 17) as f32 * 0.013 + salt).sin();
        Box::new(Products {
            w1: *model.layers.0.weight,
            x: batch.x,
            d_z1: SMatrix::from_fn(filled(0.1)),
            w2: *model.layers.2.weight,
            h: SMatrix::from_fn(filled(0.2)),
            d_z2: SMatrix::from_fn(filled(0.3)),
            z1: SMatrix::zeros(),
            d_w1: SMatrix::zeros(),
            z2: SMatrix::zeros(),
            d_w2: SMatrix::zeros(),
            d_h: SMatrix::zeros(),
        })
    }

    /// The five products, each one `gemm` call writing its result in place.
    pub fn by_gemm(&mut self) {
        // SAFETY: every operand is column-major with the sizes given, so the strides
        // (row, column) address only its elements: `m×n` is (1, m) and its transpose (m, 1).
        unsafe {
            gemm_into(&mut self.z1, (H, B, I), &self.w1, (1, H), &self.x, (1, I));
            gemm_into(
                &mut self.d_w1,
                (H, I, B),
                &self.d_z1,
                (1, H),
                &self.x,
                (I, 1),
            );
            gemm_into(
                &mut self.z2,
                (CLASSES, B, H),
                &self.w2,
                (1, CLASSES),
                &self.h,
                (1, H),
            );
            gemm_into(
                &mut self.d_w2,
                (CLASSES, H, B),
                &self.d_z2,
                (1, CLASSES),
                &self.h,
                (H, 1),
            );
            gemm_into(
                &mut self.d_h,
                (H, B, CLASSES),
                &self.w2,
                (CLASSES, 1),
                &self.d_z2,
                (1, CLASSES),
            );
        }
    }

    /// The five products through the runtime's kernels, as generated code calls them.
    pub fn by_kernels(&mut self) {
        self.z1 = matmul(&self.w1, &self.x);
        self.d_w1 = matmul_nt(&self.d_z1, &self.x);
        self.z2 = matmul(&self.w2, &self.h);
        self.d_w2 = matmul_nt(&self.d_z2, &self.h);
        self.d_h = matmul_tn(&self.w2, &self.d_z2);
    }

    /// Every result, in order.
    pub fn results(&self) -> Vec<f32> {
        [
            self.z1.as_slice(),
            self.d_w1.as_slice(),
            self.z2.as_slice(),
            self.d_w2.as_slice(),
            self.d_h.as_slice(),
        ]
        .concat()
    }
}

/// `c = a·b` for column-major `c` (`rows×columns`), `a` (`rows×depth`) and `b`
/// (`depth×columns`), the operands read with the (row, column) strides given.
///
/// # Safety
///
/// The strides must address only elements inside `a` and `b`.
unsafe fn gemm_into<
    const R: usize,
    const C: usize,
    const AR: usize,
    const AC: usize,
    const BR: usize,
    const BC: usize,
>(
    c: &mut SMatrix<f32, R, C>,
    (rows, columns, depth): (usize, usize, usize),
    a: &SMatrix<f32, AR, AC>,
    (a_row_stride, a_column_stride): (usize, usize),
    b: &SMatrix<f32, BR, BC>,
    (b_row_stride, b_column_stride): (usize, usize),
) {
    assert_eq!((rows, columns), (R, C));
    // SAFETY: as the caller guarantees; `c` is `R·C` contiguous elements, column-major.
    unsafe {
        gemm::gemm(
            rows,
            columns,
            depth,
            c.as_mut_ptr(),
            R as isize,
            1,
            false,
            a.as_ptr(),
            a_column_stride as isize,
            a_row_stride as isize,
            b.as_ptr(),
            b_column_stride as isize,
            b_row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[track_caller]
pub fn assert_close(label: &str, left: &[f32], right: &[f32]) {
    assert_eq!(left.len(), right.len(), "{label}: lengths differ");
    for (index, (l, r)) in left.iter().zip(right).enumerate() {
        assert!(
            (l - r).abs() <= 1e-5 * (1.0 + r.abs()),
            "{label}[{index}]: {l} against {r}"
        );
    }
}
