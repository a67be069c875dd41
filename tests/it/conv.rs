//! Convolution and pooling in the graph language: forward passes against naive loops written
//! here from PyTorch's definitions and against values worked out by hand, gradients against
//! central differences and `check_gradient`, and max-pool ties.

use chainrule::check::check_gradient;
use chainrule::loss::CrossEntropy;
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{Flatten, Init, Linear, Module, ReLU, Sequential};
use chainrule::{avg_pool2d, conv2d, graph, max_pool2d, Parameters};

use crate::tensor::{assert_gradient, sample};

/// PyTorch's `conv2d` of one `c×h×w` image (an element `x[(c·h + y)·w + x]`) with the weight
/// `weight[(o, (c·k + i)·k + j)]`, by its definition: out[o][y][x] = b[o] +
/// Σ_{c,i,j} weight[o][c][i][j] · in[c][y·s + i − p][x·s + j − p], zero outside the image.
#[allow(clippy::too_many_arguments)]
pub(crate) fn naive_conv(
    image: &[f64],
    weight: impl Fn(usize, usize) -> f64,
    bias: impl Fn(usize) -> f64,
    (c, h, w): (usize, usize, usize),
    out_channels: usize,
    (k, s, p): (usize, usize, usize),
) -> Vec<f64> {
    let (ho, wo) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let mut out = Vec::new();
    for o in 0..out_channels {
        for y in 0..ho {
            for x in 0..wo {
                let mut total = bias(o);
                for (ci, i, j) in
                    (0..c).flat_map(|ci| (0..k).flat_map(move |i| (0..k).map(move |j| (ci, i, j))))
                {
                    let (row, col) = (
                        (y * s + i) as isize - p as isize,
                        (x * s + j) as isize - p as isize,
                    );
                    if row >= 0 && col >= 0 && (row as usize) < h && (col as usize) < w {
                        total += weight(o, (ci * k + i) * k + j)
                            * image[(ci * h + row as usize) * w + col as usize];
                    }
                }
                out.push(total);
            }
        }
    }
    out
}

/// The largest element of each `k×k` window, every `k` positions, per channel.
pub(crate) fn naive_max_pool(
    image: &[f64],
    (c, h, w): (usize, usize, usize),
    k: usize,
) -> Vec<f64> {
    let mut out = Vec::new();
    for ci in 0..c {
        for y in 0..h / k {
            for x in 0..w / k {
                let window =
                    (0..k * k).map(|t| image[(ci * h + y * k + t / k) * w + x * k + t % k]);
                out.push(window.fold(f64::NEG_INFINITY, f64::max));
            }
        }
    }
    out
}

// Two 2×5×4 images (H ≠ W, so rows and columns cannot be swapped unnoticed), three output
// channels, a 3×3 kernel, stride 2, padding 1: a 3×2 output per channel.
graph! {
    fn strided<const B: usize>(x: SMatrix<f64, 40, B>, w: SMatrix<f64, 3, 18>, b: SVector<f64, 3>) -> SMatrix<f64, 18, B> {
        conv2d(x, w, b, 2, 5, 4, 3, 2, 1)
    }
}

graph! {
    fn strided_probe(x: SMatrix<f64, 40, 2>, w: SMatrix<f64, 3, 18>, b: SVector<f64, 3>, #[no_grad] probe: SMatrix<f64, 18, 2>) -> f64 {
        dot(probe, tanh(conv2d(x, w, b, 2, 5, 4, 3, 2, 1)))
    }
}

#[test]
fn conv2d_with_stride_and_padding_matches_the_naive_loop() {
    let (x, w, b) = (
        sample::<40, 2>(1, -1.0, 1.0),
        sample::<3, 18>(2, -1.0, 1.0),
        sample::<3, 1>(3, -1.0, 1.0),
    );
    let y = strided::forward(x, w, b);
    for column in 0..2 {
        let image: Vec<f64> = x.column(column).iter().copied().collect();
        let expected = naive_conv(&image, |o, j| w[(o, j)], |o| b[o], (2, 5, 4), 3, (3, 2, 1));
        for (got, want) in y.column(column).iter().zip(&expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }
}

graph! {
    fn ones_kernel(x: SMatrix<f64, 9, 1>, w: SMatrix<f64, 1, 4>, b: SVector<f64, 1>) -> SMatrix<f64, 4, 1> {
        conv2d(x, w, b, 1, 3, 3, 2, 1, 0)
    }
}

#[test]
fn conv2d_of_a_small_image_gives_the_values_worked_out_by_hand() {
    // 1 2 3 / 4 5 6 / 7 8 9 with the kernel [1 0; 0 −1] and bias 10: each output is the
    // top-left element minus the bottom-right one of its window, plus 10: always −4 + 10.
    let x = SMatrix::<f64, 9, 1>::from_column_slice(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    let w = SMatrix::<f64, 1, 4>::new(1.0, 0.0, 0.0, -1.0);
    let y = ones_kernel::forward(x, w, SVector::<f64, 1>::new(10.0));
    assert_eq!(y.as_slice(), &[6.0, 6.0, 6.0, 6.0]);
    // The kernel [0 1; 2 0], no bias: 2, 3 over 5, 6 → 1·2 + 2·4 = 10, 3 + 10 = 13, 5 + 14
    // = 19, 6 + 16 = 22.
    let w = SMatrix::<f64, 1, 4>::new(0.0, 1.0, 2.0, 0.0);
    let y = ones_kernel::forward(x, w, SVector::<f64, 1>::zeros());
    assert_eq!(y.as_slice(), &[10.0, 13.0, 19.0, 22.0]);
}

#[test]
fn conv2d_gradients_match_central_differences_for_input_weight_and_bias() {
    let (x, w, b) = (
        sample::<40, 2>(4, -1.0, 1.0),
        sample::<3, 18>(5, -0.5, 0.5),
        sample::<3, 1>(6, -1.0, 1.0),
    );
    let probe = sample::<18, 2>(7, -1.0, 1.0);
    let (_, grad) = strided_probe::value_and_grad(x, w, b, probe);
    assert_gradient(grad.x, x, |x| strided_probe::forward(x, w, b, probe));
    assert_gradient(grad.w, w, |w| strided_probe::forward(x, w, b, probe));
    assert_gradient(grad.b, b, |b| strided_probe::forward(x, w, b, probe));
    strided_probe::check_gradient(x, w, b, probe).unwrap();
}

// Two 3×4×4 images, max- and average-pooled over 2×2 windows.
graph! {
    fn pools(x: SMatrix<f64, 48, 2>, #[no_grad] p: SMatrix<f64, 12, 2>, #[no_grad] q: SMatrix<f64, 12, 2>) -> f64 {
        dot(p, max_pool2d(x, 3, 4, 4, 2)) + dot(q, avg_pool2d(square(x), 3, 4, 4, 2))
    }
}

graph! {
    fn max_pooled(x: SMatrix<f64, 48, 2>) -> SMatrix<f64, 12, 2> {
        max_pool2d(x, 3, 4, 4, 2)
    }
}

graph! {
    fn avg_pooled(x: SMatrix<f64, 48, 2>) -> SMatrix<f64, 12, 2> {
        avg_pool2d(x, 3, 4, 4, 2)
    }
}

#[test]
fn pooling_matches_the_naive_loop_and_its_gradients_central_differences() {
    let x = sample::<48, 2>(8, -1.0, 1.0);
    let y = max_pooled::forward(x);
    for column in 0..2 {
        let image: Vec<f64> = x.column(column).iter().copied().collect();
        let expected = naive_max_pool(&image, (3, 4, 4), 2);
        assert_eq!(
            y.column(column).iter().copied().collect::<Vec<_>>(),
            expected
        );
    }
    let (p, q) = (
        sample::<12, 2>(9, -1.0, 1.0),
        sample::<12, 2>(10, -1.0, 1.0),
    );
    let (value, grad) = pools::value_and_grad(x, p, q);
    // The first window of the first image, averaged by hand: x[0], x[1] and, a row of 4
    // below, x[4], x[5].
    let first = [x[0], x[1], x[4], x[5]].iter().sum::<f64>() / 4.0;
    assert!((avg_pooled::forward(x)[0] - first).abs() < 1e-15);
    assert_eq!(value, pools::forward(x, p, q));
    assert_gradient(grad.x, x, |x| pools::forward(x, p, q));
    pools::check_gradient(x, p, q).unwrap();
}

graph! {
    fn one_window(x: SMatrix<f64, 4, 1>) -> f64 {
        sum(max_pool2d(x, 1, 2, 2, 2))
    }
}

#[test]
fn a_max_pool_tie_sends_the_gradient_to_the_first_maximum_as_pytorch_does() {
    // A 2×2 window holding 1, 3, 3, 2: both 3s are maxima; row-major order makes the one at
    // index 1 first.
    let x = SMatrix::<f64, 4, 1>::from_column_slice(&[1.0, 3.0, 3.0, 2.0]);
    let (value, grad) = one_window::value_and_grad(x);
    assert_eq!(value, 3.0);
    assert_eq!(grad.x.as_slice(), &[0.0, 1.0, 0.0, 0.0]);
    // All equal: the first element.
    let (_, grad) = one_window::value_and_grad(SMatrix::repeat(0.5));
    assert_eq!(grad.x.as_slice(), &[1.0, 0.0, 0.0, 0.0]);
}

// Second derivatives through every operation on images: the convolution's two adjoints and
// the poolings' are differentiated again.
graph! {
    #[hessian]
    fn second(a: f64, c: f64, #[no_grad] x: SMatrix<f64, 40, 2>, #[no_grad] w: SMatrix<f64, 3, 18>, #[no_grad] b: SVector<f64, 3>) -> f64 {
        let y = conv2d(a * x, c * w, a * b, 2, 5, 4, 3, 2, 1);
        sum(max_pool2d(square(y), 3, 3, 2, 2)) + sum(avg_pool2d(y * c, 3, 3, 2, 2))
    }
}

#[test]
fn the_hessian_through_convolution_and_pooling_matches_central_differences_of_the_gradient() {
    let (x, w, b) = (
        sample::<40, 2>(11, -1.0, 1.0),
        sample::<3, 18>(12, -0.5, 0.5),
        sample::<3, 1>(13, -1.0, 1.0),
    );
    let (a, c) = (0.7, -1.3);
    let hessian = second::hessian(a, c, x, w, b);
    let h = 1e-5;
    let gradient = |a: f64, c: f64| {
        let (_, grad) = second::value_and_grad(a, c, x, w, b);
        [grad.a, grad.c]
    };
    let columns = [
        (gradient(a + h, c), gradient(a - h, c)),
        (gradient(a, c + h), gradient(a, c - h)),
    ];
    for (j, (up, down)) in columns.iter().enumerate() {
        for i in 0..2 {
            let numeric = (up[i] - down[i]) / (2.0 * h);
            assert!(
                (hessian[(i, j)] - numeric).abs() <= 1e-5 * (1.0 + numeric.abs()),
                "H[{i},{j}] = {} but central differences give {numeric}",
                hessian[(i, j)]
            );
        }
    }
}

/// The digits CNN of `examples/digits.rs`, as `nn.Sequential` indexes it: `0`, `3` and `7`
/// hold the parameters.
type DigitsCnn = Sequential<(
    conv2d![f32; 1 => 8, kernel 3, stride 1, padding 1, image 8 x 8],
    ReLU,
    max_pool2d![channels 8, kernel 2, image 8 x 8],
    conv2d![f32; 8 => 16, kernel 3, stride 1, padding 1, image 4 x 4],
    ReLU,
    max_pool2d![channels 16, kernel 2, image 4 x 4],
    Flatten,
    Linear<f32, 64, 10>,
)>;

/// A deterministic value for element `n` of tensor `salt`, in (−0.5, 0.5).
fn weight(salt: usize, n: usize) -> f32 {
    (((salt * 7919 + n * 104_729) % 1000) as f32 / 1000.0) - 0.5
}

/// The PyTorch model's tensors, flat in row-major order, as `state_dict()` gives them.
fn pytorch_state_dict() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let tensor = |name, shape: Vec<usize>, salt| {
        let len = shape.iter().product();
        (name, shape, (0..len).map(|n| weight(salt, n)).collect())
    };
    vec![
        tensor("0.weight", vec![8, 1, 3, 3], 1),
        tensor("0.bias", vec![8], 2),
        tensor("3.weight", vec![16, 8, 3, 3], 3),
        tensor("3.bias", vec![16], 4),
        tensor("7.weight", vec![10, 64], 5),
        tensor("7.bias", vec![10], 6),
    ]
}

/// The network by its definition on one image, from the flat PyTorch tensors: the logits.
fn naive_digits_cnn(image: &[f64], tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<f64> {
    let t = |n: usize| &tensors[n].2;
    let relu = |v: Vec<f64>| v.into_iter().map(|x| x.max(0.0)).collect::<Vec<_>>();
    let h = naive_conv(
        image,
        |o, j| f64::from(t(0)[o * 9 + j]),
        |o| f64::from(t(1)[o]),
        (1, 8, 8),
        8,
        (3, 1, 1),
    );
    let h = naive_max_pool(&relu(h), (8, 8, 8), 2);
    let h = naive_conv(
        &h,
        |o, j| f64::from(t(2)[o * 72 + j]),
        |o| f64::from(t(3)[o]),
        (8, 4, 4),
        16,
        (3, 1, 1),
    );
    let h = naive_max_pool(&relu(h), (16, 4, 4), 2);
    (0..10)
        .map(|o| {
            f64::from(t(5)[o])
                + (0..64)
                    .map(|i| f64::from(t(4)[o * 64 + i]) * h[i])
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn a_pytorch_state_dict_predicts_what_the_naive_network_predicts() {
    let tensors = pytorch_state_dict();
    // The file as `safetensors.torch.save_file(model.state_dict())` writes it.
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, data)| data.iter().flat_map(|value| value.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), bytes)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .unwrap();
            (name.to_string(), view)
        })
        .collect();
    let file = std::env::temp_dir().join(format!(
        "chainrule-conv-state-dict-{}.safetensors",
        std::process::id()
    ));
    safetensors::serialize_to_file(views, None, &file).unwrap();
    let mut model = DigitsCnn::zeros();
    chainrule::io::load_safetensors(&mut model, &file).unwrap();
    std::fs::remove_file(&file).unwrap();

    let (_, test) = chainrule::data::digits::<f32>();
    let x = SMatrix::<f32, 64, 8>::from_fn(|r, c| test.inputs()[c * 40][r] / 16.0);
    let logits = model.forward(&x);
    for column in 0..8 {
        let image: Vec<f64> = x.column(column).iter().map(|&p| f64::from(p)).collect();
        let expected = naive_digits_cnn(&image, &tensors);
        for (got, want) in logits.column(column).iter().zip(&expected) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
        }
        let argmax = |v: &[f64]| (0..10).fold(0, |best, i| if v[i] > v[best] { i } else { best });
        assert_eq!(logits.column(column).argmax().0, argmax(&expected));
    }
}

#[test]
fn conv2d_layer_gradients_match_central_differences_and_state_dict_names_are_pytorchs() {
    type Layer = conv2d![f64; 2 => 3, kernel 3, stride 2, padding 1, image 5 x 4];
    let mut layer = Layer::zeros();
    layer.weight.copy_from(&sample::<3, 18>(20, -0.5, 0.5));
    layer.bias = sample::<3, 1>(21, -0.5, 0.5);
    let x = sample::<40, 2>(22, -1.0, 1.0);
    let d_output = sample::<18, 2>(23, -1.0, 1.0);
    let (output, tape) = layer.forward_with_tape(&x);
    assert_eq!(output, strided::forward(x, *layer.weight, layer.bias));
    let (d_x, grads) = layer.backward(&x, &tape, &d_output);
    check_gradient(&layer, &grads, |l| l.forward(&x).dot(&d_output)).unwrap();
    assert_gradient(d_x, x, |x| layer.forward(&x).dot(&d_output));
    let mut names = Vec::new();
    layer.visit_named("", &mut |name, tensor| {
        names.push((name.to_string(), tensor.shape.to_vec()))
    });
    assert_eq!(
        names,
        [
            ("weight".to_string(), vec![3, 2, 3, 3]),
            ("bias".to_string(), vec![3])
        ]
    );
}

#[test]
fn pooling_layers_pass_their_gradients_to_their_input() {
    type Max = max_pool2d![channels 3, kernel 2, image 4 x 4];
    type Avg = avg_pool2d![channels 3, kernel 2, image 4 x 4];
    let x = sample::<48, 2>(24, -1.0, 1.0);
    let d_output = sample::<12, 2>(25, -1.0, 1.0);
    let (_, tape) = Max::default().forward_with_tape(&x);
    assert_gradient(Max::default().backward(&x, &tape, &d_output).0, x, |x| {
        Max::default().forward(&x).dot(&d_output)
    });
    let (_, tape) = Avg::default().forward_with_tape(&x);
    assert_gradient(Avg::default().backward(&x, &tape, &d_output).0, x, |x| {
        Avg::default().forward(&x).dot(&d_output)
    });
}

#[test]
fn a_cnn_training_step_after_the_first_allocates_nothing() {
    use chainrule::optim::{Optimizer, Sgd};
    let mut model = DigitsCnn::zeros();
    let mut grads = DigitsCnn::zeros();
    let mut optimizer = Sgd::new(0.01f32).momentum(0.9);
    let x = SMatrix::<f32, 64, 4>::from_fn(|r, c| weight(c, r));
    let y = [1, 2, 3, 4];
    model.loss_and_grad_into(&x, &y, CrossEntropy, &mut grads);
    let (_, forward) = crate::allocation::allocations_during(|| model.forward(&x));
    model.loss_and_grad_into(&x, &y, CrossEntropy, &mut grads);
    let (_, backward) = crate::allocation::allocations_during(|| {
        model.loss_and_grad_into(&x, &y, CrossEntropy, &mut grads)
    });
    optimizer.step(&mut model, &grads);
    let ((), update) = crate::allocation::allocations_during(|| optimizer.step(&mut model, &grads));
    assert_eq!((forward, backward, update), (0, 0, 0));
}

/// A deterministic irregular value for index `i`.
fn wave(i: usize, salt: f64) -> f64 {
    ((i as f64) * 0.618 + salt).sin()
}

/// The kernels from `gemm`'s size on (PyTorch's MNIST example's second convolution, 32×26×26
/// → 64×24×24, on two images) against the naive loop, and their gradients against it
/// through the adjoint identities ⟨conv(x, W), d⟩ = ⟨x, d_x⟩ = ⟨W, d_W⟩.
#[test]
fn conv_kernels_at_the_mnist_example_sizes_match_the_naive_loop() {
    use chainrule::runtime::kernels::{
        conv2d_input_grad_slices, conv2d_slices, conv2d_weight_grad_slices, Window,
    };
    let window = Window {
        channels: 32,
        height: 26,
        width: 26,
        kernel: 3,
        stride: 1,
        padding: 0,
    };
    let (images, out_channels, depth) = (2, 64, 32 * 9);
    let x: Vec<f64> = (0..images * window.input_len())
        .map(|i| wave(i, 0.1))
        .collect();
    let weight: Vec<f64> = (0..out_channels * depth)
        .map(|i| wave(i, 0.7) / 17.0)
        .collect();
    // Column-major `out_channels×depth`: row o is `weight[o][c][i][j]` flattened.
    let w = |o: usize, d: usize| weight[o + out_channels * d];
    let mut y = vec![0.0; images * out_channels * 576];
    conv2d_slices(&x, &weight, &window, out_channels, &mut y);
    for (image, expected) in x
        .chunks(window.input_len())
        .zip(y.chunks(out_channels * 576))
    {
        let naive = naive_conv(image, w, |_| 0.0, (32, 26, 26), out_channels, (3, 1, 0));
        for (value, naive) in expected.iter().zip(&naive) {
            assert!((value - naive).abs() < 1e-12, "{value} against {naive}");
        }
    }
    let d: Vec<f64> = (0..y.len()).map(|i| wave(i, 2.3)).collect();
    let (mut d_x, mut d_weight) = (vec![0.0; x.len()], vec![0.0; weight.len()]);
    conv2d_input_grad_slices(&d, &weight, &window, out_channels, &mut d_x);
    conv2d_weight_grad_slices(&d, &x, &window, out_channels, &mut d_weight);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
    let pairing = dot(&y, &d);
    for (name, adjoint) in [
        ("input", dot(&x, &d_x)),
        ("weight", dot(&weight, &d_weight)),
    ] {
        assert!(
            (adjoint - pairing).abs() < 1e-9 * pairing.abs().max(1.0),
            "{name}: {adjoint} against {pairing}"
        );
    }
}

/// The first convolution of PyTorch's MNIST example (1×28×28 → 32×26×26): one image is below
/// `gemm`'s size and takes the register-blocked path, sixteen take `gemm`'s; each image's
/// output and input gradient, and the sum of the weight gradients, agree.
#[test]
fn the_gemm_path_and_the_direct_path_of_the_conv_kernels_agree() {
    use chainrule::runtime::kernels::{
        conv2d_input_grad_slices, conv2d_slices, conv2d_weight_grad_slices, Window,
    };
    let window = Window {
        channels: 1,
        height: 28,
        width: 28,
        kernel: 3,
        stride: 1,
        padding: 0,
    };
    let (images, out_channels, plane) = (16, 32, 26 * 26);
    let x: Vec<f64> = (0..images * 784).map(|i| wave(i, 0.4)).collect();
    let weight: Vec<f64> = (0..out_channels * 9).map(|i| wave(i, 1.1)).collect();
    let d: Vec<f64> = (0..images * out_channels * plane)
        .map(|i| wave(i, 3.0))
        .collect();
    let mut batch = (
        vec![0.0; d.len()],
        vec![0.0; x.len()],
        vec![0.0; weight.len()],
    );
    conv2d_slices(&x, &weight, &window, out_channels, &mut batch.0);
    conv2d_input_grad_slices(&d, &weight, &window, out_channels, &mut batch.1);
    conv2d_weight_grad_slices(&d, &x, &window, out_channels, &mut batch.2);
    let mut summed = vec![0.0; weight.len()];
    for image in 0..images {
        let (x_b, d_b) = (
            &x[image * 784..][..784],
            &d[image * out_channels * plane..][..out_channels * plane],
        );
        let mut one = (
            vec![0.0; d_b.len()],
            vec![0.0; 784],
            vec![0.0; weight.len()],
        );
        conv2d_slices(x_b, &weight, &window, out_channels, &mut one.0);
        conv2d_input_grad_slices(d_b, &weight, &window, out_channels, &mut one.1);
        conv2d_weight_grad_slices(d_b, x_b, &window, out_channels, &mut one.2);
        let close = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .all(|(a, b)| (a - b).abs() < 1e-12 * (1.0 + b.abs()))
        };
        assert!(
            close(&batch.0[image * one.0.len()..][..one.0.len()], &one.0),
            "image {image}'s output"
        );
        assert!(
            close(&batch.1[image * 784..][..784], &one.1),
            "image {image}'s input gradient"
        );
        summed
            .iter_mut()
            .zip(&one.2)
            .for_each(|(total, value)| *total += value);
    }
    for (value, expected) in batch.2.iter().zip(&summed) {
        assert!(
            (value - expected).abs() < 1e-9 * (1.0 + expected.abs()),
            "{value} against {expected}"
        );
    }
}

/// The input gradient of stride-1 convolutions with every padding from 0 to K − 1, against
/// the naive loop: a convolution is linear in its input, so element `e` of the input
/// gradient is ⟨conv(unit_e), d_y⟩ exactly. With padding (K − 1)/2 or more the kernels
/// compute it as a convolution of `d_y` with the kernel rotated; below, by col2im.
#[test]
fn stride_one_input_gradients_match_the_naive_loop_at_every_padding() {
    use chainrule::runtime::kernels::{conv2d_input_grad_slices, Window};
    let (images, channels, out_channels, (height, width), k) = (2, 2, 3, (5, 4), 3);
    let weight: Vec<f64> = (0..out_channels * channels * k * k)
        .map(|i| wave(i, 0.3))
        .collect();
    let w = |o: usize, d: usize| weight[o + out_channels * d];
    for padding in 0..k {
        let window = Window {
            channels,
            height,
            width,
            kernel: k,
            stride: 1,
            padding,
        };
        let out_len = out_channels * window.plane_len();
        let d_y: Vec<f64> = (0..images * out_len).map(|i| wave(i, 1.9)).collect();
        let mut d_x = vec![f64::NAN; images * window.input_len()];
        conv2d_input_grad_slices(&d_y, &weight, &window, out_channels, &mut d_x);
        let geometry = ((channels, height, width), out_channels, (k, 1, padding));
        for (b, (d_x, d_y)) in d_x
            .chunks(window.input_len())
            .zip(d_y.chunks(out_len))
            .enumerate()
        {
            for (e, got) in d_x.iter().enumerate() {
                let mut unit = vec![0.0; window.input_len()];
                unit[e] = 1.0;
                let (shape, co, kernel) = geometry;
                let y = naive_conv(&unit, w, |_| 0.0, shape, co, kernel);
                let want: f64 = y.iter().zip(d_y).map(|(y, d)| y * d).sum();
                assert!(
                    (got - want).abs() < 1e-12,
                    "padding {padding}, image {b}, element {e}: {got} against {want}"
                );
            }
        }
    }
}
