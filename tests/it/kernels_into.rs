//! The image kernels' `_into` forms, which generated code calls to write a result into the
//! caller's memory, give their value forms' results whatever that memory held before.

use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::runtime::kernels;

use crate::tensor::sample;

/// Memory left by a previous step: every element NaN, so a missed write shows.
fn stale<const R: usize, const C: usize>() -> SMatrix<f64, R, C> {
    SMatrix::repeat(f64::NAN)
}

#[test]
fn convolution_kernels_into_stale_memory_give_their_value_forms_results() {
    // 2 channels of 5×5, kernel 3, stride 2, padding 1 → 3 channels of 3×3; a batch of 2.
    let x = sample::<50, 2>(31, -1.0, 1.0);
    let weight = sample::<3, 18>(32, -1.0, 1.0);
    let d_y = sample::<27, 2>(33, -1.0, 1.0);

    let mut y = stale::<27, 2>();
    kernels::conv2d_into::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(&x, &weight, &mut y);
    assert_eq!(
        y,
        kernels::conv2d::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(&x, &weight)
    );

    let mut d_x = stale::<50, 2>();
    kernels::conv2d_input_grad_into::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(
        &d_y, &weight, &mut d_x,
    );
    let expected =
        kernels::conv2d_input_grad::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(&d_y, &weight);
    assert_eq!(d_x, expected);

    let mut d_weight = stale::<3, 18>();
    kernels::conv2d_weight_grad_into::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(
        &d_y,
        &x,
        &mut d_weight,
    );
    let expected = kernels::conv2d_weight_grad::<f64, 2, 5, 5, 3, 2, 1, 50, 2, 3, 18, 27>(&d_y, &x);
    assert_eq!(d_weight, expected);

    let mut sums = SVector::<f64, 3>::repeat(f64::NAN);
    kernels::channel_sums_into::<f64, 3, 27, 2>(&d_y, &mut sums);
    assert_eq!(sums, kernels::channel_sums::<f64, 3, 27, 2>(&d_y));
    let mut spread = stale::<27, 2>();
    kernels::spread_channels_into::<f64, 3, 27, 2>(&sums, &mut spread);
    assert_eq!(spread, kernels::spread_channels::<f64, 3, 27, 2>(&sums));
}

#[test]
fn pooling_kernels_into_stale_memory_give_their_value_forms_results() {
    // 3 channels of 4×4, windows of 2 every 2 → 3 channels of 2×2; a batch of 2.
    let x = sample::<48, 2>(34, -1.0, 1.0);
    let d = sample::<12, 2>(35, -1.0, 1.0);

    let mut pooled = stale::<12, 2>();
    kernels::max_pool2d_into::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&x, &x, &mut pooled);
    assert_eq!(
        pooled,
        kernels::max_pool2d::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&x, &x)
    );
    let mut unpooled = stale::<48, 2>();
    kernels::max_unpool2d_into::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&d, &x, &mut unpooled);
    assert_eq!(
        unpooled,
        kernels::max_unpool2d::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&d, &x)
    );

    let mut averaged = stale::<12, 2>();
    kernels::avg_pool2d_into::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&x, &mut averaged);
    assert_eq!(
        averaged,
        kernels::avg_pool2d::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&x)
    );
    let mut spread = stale::<48, 2>();
    kernels::avg_unpool2d_into::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&d, &mut spread);
    assert_eq!(
        spread,
        kernels::avg_unpool2d::<f64, 3, 4, 4, 2, 2, 48, 2, 12>(&d)
    );
}
