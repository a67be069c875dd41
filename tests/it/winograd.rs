//! The large 3×3 stride-1 convolutions (from 2 M multiply-adds, which the kernels compute by
//! Winograd's F(2×2, 3×3)): forward pass, bias and both gradients against loops written here
//! from PyTorch's definitions, at the MNIST example's second convolution and at awkward
//! shapes (odd and even output sides, padding 0, 1 and 2, channels that are multiples of
//! nothing), in `f64` to rounding and in `f32` relative to the sum of the terms' sizes.

use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::runtime::kernels::{self, Window};

/// A batch of images' shape and the convolution's: `(channels, height, width, padding,
/// out_channels, batch)`, kernel 3, stride 1.
type Shape = (usize, usize, usize, usize, usize, usize);

/// The MNIST example's second convolution (32→64 channels, 26×26 → 24×24), one image.
const EXAMPLE: Shape = (32, 26, 26, 0, 64, 1);

/// Odd × odd, even × odd and even × even outputs; padding 0, 1, 2 (an input gradient padded
/// by 2, 1, 0); each at least 2 M multiply-adds.
const AWKWARD: [Shape; 3] = [
    (11, 25, 23, 0, 13, 4),
    (9, 20, 17, 1, 17, 5),
    (13, 16, 16, 2, 10, 6),
];

fn window((channels, height, width, padding, _, _): Shape) -> Window {
    Window {
        channels,
        height,
        width,
        kernel: 3,
        stride: 1,
        padding,
    }
}

/// Values in [−1, 1) spread without a pattern the kernels could line up with.
fn values(seed: usize, len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| 2.0 * ((seed * 7919 + i * 104_729) as f64 * 0.618_033_988_75).fract() - 1.0)
        .collect()
}

/// Calls `f(w, x, y)` for every term `weight[w]·x[x]` of output element `y[y]` of the
/// convolution of `shape` by its definition, `y[o][y][x] = Σ_{c,i,j} w[o][c][i][j]·x[c][y + i
/// − P][x + j − P]` (terms in the padding left out); `weight[o + C_out·((c·3 + i)·3 + j)]`,
/// column-major.
fn for_each_term(shape: Shape, mut f: impl FnMut(usize, usize, usize)) {
    let (c, h, w, p, co, batch) = shape;
    let (ho, wo) = (h + 2 * p - 2, w + 2 * p - 2);
    for b in 0..batch {
        for o in 0..co {
            for (y, x_out, ci, i, j) in taps(ho, wo, c) {
                let (row, col) = ((y + i).wrapping_sub(p), (x_out + j).wrapping_sub(p));
                if row < h && col < w {
                    let weight = o + co * ((ci * 3 + i) * 3 + j);
                    let input = ((b * c + ci) * h + row) * w + col;
                    f(weight, input, ((b * co + o) * ho + y) * wo + x_out);
                }
            }
        }
    }
}

/// `term` added to `sum`, and its size to the sum of the terms' sizes.
fn add(sum: &mut (f64, f64), term: f64) {
    *sum = (sum.0 + term, sum.1 + term.abs());
}

/// The forward pass by its definition, each element with the sum of its terms' sizes.
fn naive_forward(x: &[f64], weight: &[f64], shape: Shape) -> Vec<(f64, f64)> {
    let (_, h, w, p, co, batch) = shape;
    let mut out = vec![(0.0, 0.0); batch * co * (h + 2 * p - 2) * (w + 2 * p - 2)];
    for_each_term(shape, |wi, xi, yi| add(&mut out[yi], weight[wi] * x[xi]));
    out
}

/// The input gradient as the forward pass's adjoint: every `d_y[o][y][x]·w[o][c][i][j]` added
/// to the input element the forward pass read it from.
fn naive_input_grad(d_y: &[f64], weight: &[f64], shape: Shape) -> Vec<(f64, f64)> {
    let (c, h, w, _, _, batch) = shape;
    let mut d_x = vec![(0.0, 0.0); batch * c * h * w];
    for_each_term(shape, |wi, xi, yi| add(&mut d_x[xi], weight[wi] * d_y[yi]));
    d_x
}

/// The weight's gradient by its definition, `d_w[o][c][i][j] = Σ_{b,y,x} d_y[o][y][x]·x[c][y
/// + i − P][x + j − P]`, column-major as the weight.
fn naive_weight_grad(d_y: &[f64], x: &[f64], shape: Shape) -> Vec<(f64, f64)> {
    let (c, _, _, _, co, _) = shape;
    let mut d_w = vec![(0.0, 0.0); co * c * 9];
    for_each_term(shape, |wi, xi, yi| add(&mut d_w[wi], d_y[yi] * x[xi]));
    d_w
}

/// Every (output row, output column, input channel, tap row, tap column).
fn taps(
    ho: usize,
    wo: usize,
    c: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize, usize)> {
    (0..ho).flat_map(move |y| {
        (0..wo).flat_map(move |x| {
            (0..c).flat_map(move |ci| (0..9).map(move |t| (y, x, ci, t / 3, t % 3)))
        })
    })
}

/// Each of `got` within `tolerance` times the sum of its terms' sizes of the reference.
#[track_caller]
fn assert_close(got: &[f64], reference: &[(f64, f64)], tolerance: f64) {
    assert_eq!(got.len(), reference.len());
    for (k, (got, (want, size))) in got.iter().zip(reference).enumerate() {
        assert!(
            (got - want).abs() <= tolerance * size.max(1e-300),
            "element {k}: {got} where the definition gives {want} (terms' sizes {size})"
        );
    }
}

/// The input, the weight and the output's gradient of `shape`.
fn operands(shape: Shape) -> [Vec<f64>; 3] {
    let (c, h, w, p, co, batch) = shape;
    let out_len = batch * co * (h + 2 * p - 2) * (w + 2 * p - 2);
    [
        values(1, batch * c * h * w),
        values(2, co * c * 9),
        values(3, out_len),
    ]
}

/// The forward pass and both gradients of `shape` in `f64` and `f32`.
#[track_caller]
fn check(shape: Shape) {
    let (c, h, w, _, co, batch) = shape;
    let [x, weight, d_y] = operands(shape);
    let (forward, input_grad, weight_grad) = (
        naive_forward(&x, &weight, shape),
        naive_input_grad(&d_y, &weight, shape),
        naive_weight_grad(&d_y, &x, shape),
    );
    let mut y = vec![f64::NAN; d_y.len()];
    kernels::conv2d_slices(&x, &weight, &window(shape), co, &mut y);
    assert_close(&y, &forward, 1e-13);
    let mut d_x = vec![f64::NAN; batch * c * h * w];
    kernels::conv2d_input_grad_slices(&d_y, &weight, &window(shape), co, &mut d_x);
    assert_close(&d_x, &input_grad, 1e-13);
    let mut d_w = vec![f64::NAN; weight.len()];
    kernels::conv2d_weight_grad_slices(&d_y, &x, &window(shape), co, &mut d_w);
    assert_close(&d_w, &weight_grad, 1e-13);

    let single = |v: &[f64]| v.iter().map(|&e| e as f32).collect::<Vec<f32>>();
    let double = |v: &[f32]| v.iter().map(|&e| f64::from(e)).collect::<Vec<f64>>();
    let (x, weight, d_y) = (single(&x), single(&weight), single(&d_y));
    let mut y = vec![f32::NAN; d_y.len()];
    kernels::conv2d_slices(&x, &weight, &window(shape), co, &mut y);
    assert_close(&double(&y), &forward, 1e-5);
    let mut d_x = vec![f32::NAN; batch * c * h * w];
    kernels::conv2d_input_grad_slices(&d_y, &weight, &window(shape), co, &mut d_x);
    assert_close(&double(&d_x), &input_grad, 1e-5);
    let mut d_w = vec![f32::NAN; weight.len()];
    kernels::conv2d_weight_grad_slices(&d_y, &x, &window(shape), co, &mut d_w);
    assert_close(&double(&d_w), &weight_grad, 1e-5);
}

#[test]
fn the_mnist_examples_second_convolution_matches_its_definition() {
    check(EXAMPLE);
}

#[test]
fn odd_and_even_outputs_and_every_padding_match_the_definition() {
    for shape in AWKWARD {
        check(shape);
    }
}

#[test]
fn the_bias_is_added_to_every_position_of_its_channel() {
    // 16 channels of 19×22, padding 1, 13 output channels, a batch of 3: 2.3 M multiply-adds.
    const SHAPE: Shape = (16, 19, 22, 1, 13, 3);
    let [x, weight, _] = operands(SHAPE);
    let bias = SVector::<f64, 13>::from_fn(|o, _| o as f64 - 6.5);
    let x = Box::new(SMatrix::<f64, 6688, 3>::from_column_slice(&x));
    let weight = SMatrix::<f64, 13, 144>::from_column_slice(&weight);
    let mut y = Box::new(SMatrix::<f64, 5434, 3>::repeat(f64::NAN));
    kernels::conv2d_bias_into::<f64, 16, 19, 22, 3, 1, 1, 6688, 3, 13, 144, 5434>(
        &x, &weight, &bias, &mut y,
    );
    let without_bias = naive_forward(x.as_slice(), weight.as_slice(), SHAPE);
    let expected: Vec<(f64, f64)> = without_bias
        .iter()
        .enumerate()
        .map(|(k, (sum, size))| (sum + bias[k / 418 % 13], size + bias[k / 418 % 13].abs()))
        .collect();
    assert_close(y.as_slice(), &expected, 1e-13);
}
