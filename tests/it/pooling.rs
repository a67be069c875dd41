//! Max pooling and its adjoint against a naive loop written here, bit for bit: random images
//! drawn from a few values (so windows tie often) with NaNs among them, windows that tile
//! the image, overlap it and skip parts of it, in `f32` and `f64`.

use chainrule::nalgebra::SMatrix;
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};
use chainrule::runtime::kernels;
use chainrule::Real;

/// Each window's chosen element, as an offset into one image, scanning in row-major order
/// with a strict `>`: a tie keeps the earlier element, and a NaN is never larger (a NaN at
/// the window's corner is never beaten).
fn naive_argmaxes<T: Real>(
    image: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    s: usize,
) -> Vec<usize> {
    let (out_h, out_w) = ((h - k) / s + 1, (w - k) / s + 1);
    let mut chosen = Vec::new();
    for channel in 0..c {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let offset = |i: usize, j: usize| (channel * h + oy * s + i) * w + ox * s + j;
                let mut best = offset(0, 0);
                for i in 0..k {
                    for j in 0..k {
                        if image[offset(i, j)] > image[best] {
                            best = offset(i, j);
                        }
                    }
                }
                chosen.push(best);
            }
        }
    }
    chosen
}

/// Values from a small set (ties), a tenth of them NaN, some of them `-0.0`.
fn tied<T: Real, const R: usize, const B: usize>(rng: &mut StdRng) -> SMatrix<T, R, B> {
    SMatrix::from_fn(|_, _| match rng.random_range(0..10) {
        0 => T::from_f64(f64::NAN),
        1 => T::from_f64(-0.0),
        n => T::from_f64(f64::from(n % 4) - 1.5),
    })
}

/// The bits of a value, which tell `-0.0` from `0.0` (widening to `f64` keeps them apart).
fn bits<T: Real>(value: T) -> u64 {
    value.to_f64().to_bits()
}

/// Pools and unpools random batches through the kernels and through the naive loop, and
/// asserts the same bits, the `_into` forms writing over memory full of NaNs.
#[allow(clippy::too_many_arguments)]
fn check<
    T: Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const R: usize,
    const B: usize,
    const OUT: usize,
>(
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..20 {
        let (x, a) = (tied::<T, R, B>(&mut rng), tied::<T, R, B>(&mut rng));
        let d = tied::<T, OUT, B>(&mut rng);
        let mut pooled = SMatrix::<T, OUT, B>::repeat(T::from_f64(f64::NAN));
        kernels::max_pool2d_into::<T, C, H, W, K, S, R, B, OUT>(&a, &x, &mut pooled);
        let mut unpooled = SMatrix::<T, R, B>::repeat(T::from_f64(f64::NAN));
        kernels::max_unpool2d_into::<T, C, H, W, K, S, R, B, OUT>(&d, &x, &mut unpooled);
        for b in 0..B {
            let chosen = naive_argmaxes(x.column(b).as_slice(), (C, H, W), K, S);
            let mut expected = vec![T::ZERO; R];
            for (o, &at) in chosen.iter().enumerate() {
                assert_eq!(
                    bits(pooled[(o, b)]),
                    bits(a[(at, b)]),
                    "window {o} of image {b}"
                );
                expected[at] += d[(o, b)];
            }
            for (p, e) in expected.iter().enumerate() {
                assert_eq!(bits(unpooled[(p, b)]), bits(*e), "element {p} of image {b}");
            }
        }
    }
}

#[test]
fn max_pooling_tiling_windows_chooses_the_naive_scans_elements() {
    // The digits CNN's two poolings, and windows of 3 on images they do not divide.
    check::<f32, 8, 8, 8, 2, 2, 512, 16, 128>(1);
    check::<f32, 16, 4, 4, 2, 2, 256, 16, 64>(2);
    check::<f64, 8, 8, 8, 2, 2, 512, 3, 128>(3);
    check::<f64, 2, 7, 8, 3, 3, 112, 2, 8>(4);
    check::<f32, 1, 5, 5, 5, 5, 25, 4, 1>(5);
}

#[test]
fn max_pooling_overlapping_or_gapped_windows_chooses_the_naive_scans_elements() {
    // Overlapping windows share their maxima, whose gradients add up in window order.
    check::<f64, 2, 6, 5, 3, 1, 60, 2, 24>(6);
    check::<f32, 3, 7, 7, 3, 2, 147, 2, 27>(7);
    check::<f32, 1, 9, 8, 2, 3, 72, 3, 9>(8);
}

#[test]
fn max_pooling_rows_wider_than_one_block_choose_the_naive_scans_elements() {
    // A row of corners spanning more positions than the kernel scans at once.
    check::<f32, 1, 2, 600, 2, 2, 1200, 2, 300>(9);
    check::<f64, 2, 3, 300, 3, 1, 1800, 1, 596>(10);
    // Planes grouped into blocks, the batch's last block with fewer of them.
    check::<f32, 3, 4, 4, 2, 2, 48, 7, 12>(11);
}
