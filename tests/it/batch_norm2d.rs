//! BatchNorm2d against PyTorch's documented formula, computed here with naive loops over each
//! channel's `N·H·W` values; its gradients against finite differences; its running statistics
//! (unbiased by `N·H·W − 1`), keys and files; and a small CNN with it that trains, and that
//! loads a state_dict laid out as PyTorch's and predicts what a naive network predicts.

use chainrule::loss::CrossEntropy;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{BatchNorm2d, Flatten, Linear, Mode, Module, ReLU, Sequential};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::{conv2d, max_pool2d, Parameters};
use safetensors::tensor::TensorView;
use safetensors::Dtype;

use crate::conv::{naive_conv, naive_max_pool};
use crate::layers::{check_layer_gradients, irregular};

/// Three channels of 2×4 images: rows `8c..8c + 8` of a column are channel `c`.
const CHANNELS: usize = 3;
const PLANE: usize = 8;

/// Each channel's mean and biased variance over every image's positions, by naive loops.
fn channel_statistics<const B: usize>(x: &SMatrix<f64, 24, B>) -> Vec<(f64, f64)> {
    (0..CHANNELS)
        .map(|c| {
            let values: Vec<f64> = (0..B)
                .flat_map(|b| (0..PLANE).map(move |p| (b, c * PLANE + p)))
                .map(|(b, row)| x[(row, b)])
                .collect();
            let count = values.len() as f64;
            let mean = values.iter().sum::<f64>() / count;
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
            (mean, variance)
        })
        .collect()
}

/// PyTorch's `BatchNorm2d` output for `x` normalised by these per-channel statistics.
#[track_caller]
fn assert_batch_norm2d<const B: usize>(
    norm: &BatchNorm2d<f64, CHANNELS>,
    x: &SMatrix<f64, 24, B>,
    statistics: &[(f64, f64)],
) {
    let y = norm.forward(x);
    for ((row, column), value) in (0..B)
        .flat_map(|b| (0..24).map(move |r| (r, b)))
        .zip(y.iter())
    {
        let c = row / PLANE;
        let (mean, variance) = statistics[c];
        let expected =
            (x[(row, column)] - mean) / (variance + 1e-5).sqrt() * norm.weight[c] + norm.bias[c];
        assert!(
            (value - expected).abs() < 1e-12,
            "({row}, {column}): {value} vs {expected}"
        );
    }
}

fn affine_batch_norm2d() -> BatchNorm2d<f64, CHANNELS> {
    let mut norm = BatchNorm2d::<f64, CHANNELS>::new(1e-5, Some(0.1));
    norm.weight = irregular::<3, 1>(0.9).add_scalar(1.5);
    norm.bias = irregular::<3, 1>(2.3);
    norm
}

/// A batch whose channels have distinct means and spreads.
fn images<const B: usize>(phase: f64) -> SMatrix<f64, 24, B> {
    irregular::<24, B>(phase)
        .map_with_location(|r, _, v| (r / PLANE + 1) as f64 * 3.0 * v + r as f64)
}

#[test]
fn batch_norm2d_trains_on_each_channel_over_batch_and_positions_tracking_unbiased_statistics() {
    let norm = affine_batch_norm2d();
    let (mut mean, mut var) = (vec![0.0; 3], vec![1.0; 3]);
    for step in 0..5 {
        let x = images::<5>(step as f64).add_scalar(step as f64);
        let statistics = channel_statistics(&x);
        assert_batch_norm2d(&norm, &x, &statistics);
        let count = (5 * PLANE) as f64;
        for (c, (batch_mean, batch_var)) in statistics.iter().enumerate() {
            mean[c] = 0.9 * mean[c] + 0.1 * batch_mean;
            // The unbiased variance over N·H·W values: N·H·W / (N·H·W − 1) times the biased.
            var[c] = 0.9 * var[c] + 0.1 * batch_var * count / (count - 1.0);
        }
        let stats = norm.running_stats();
        assert_eq!(stats.num_batches_tracked, step + 1);
        for c in 0..3 {
            assert!((stats.mean[c] - mean[c]).abs() < 1e-12, "mean {c}");
            assert!((stats.var[c] - var[c]).abs() < 1e-12, "var {c}");
        }
    }
}

#[test]
fn batch_norm2d_in_eval_mode_uses_the_running_statistics_and_leaves_them() {
    let mut norm = affine_batch_norm2d();
    norm.forward(&images::<4>(0.2));
    norm.forward(&images::<4>(1.1).add_scalar(2.0));
    norm.eval();
    let stats = norm.running_stats();
    let running: Vec<(f64, f64)> = (0..3).map(|c| (stats.mean[c], stats.var[c])).collect();
    assert_batch_norm2d(&norm, &images::<2>(0.7), &running);
    assert_eq!(norm.running_stats(), stats);
    norm.train();
    norm.forward(&images::<2>(0.7));
    assert_eq!(norm.running_stats().num_batches_tracked, 3);
}

#[test]
fn batch_norm2d_gradients_match_finite_differences_in_both_modes() {
    let mut norm = affine_batch_norm2d();
    check_layer_gradients(&norm, images::<3>(0.4));
    norm.forward(&images::<3>(1.9));
    norm.eval();
    check_layer_gradients(&norm, images::<3>(0.4));
}

/// Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU, MaxPool2d(2), Flatten, Linear(36, 3) on
/// 1×6×6 images, as `nn.Sequential` indexes it: `0`, `1` and `5` hold tensors.
type Cnn = Sequential<(
    conv2d![f32; 1 => 4, kernel 3, stride 1, padding 1, image 6 x 6],
    BatchNorm2d<f32, 4>,
    ReLU,
    max_pool2d![channels 4, kernel 2, image 6 x 6],
    Flatten,
    Linear<f32, 36, 3>,
)>;

#[test]
fn batch_norm2d_state_dict_has_pytorchs_keys_and_shapes_and_round_trips() {
    let model = Cnn::init(&mut StdRng::seed_from_u64(3));
    let x = irregular::<36, 4>(0.5).map(|v| v as f32);
    model.forward(&x);
    model.forward(&x.add_scalar(1.0));
    let mut keys = Vec::new();
    model.visit_named("", &mut |key, tensor| {
        keys.push((key.to_string(), tensor.shape.to_vec(), tensor.integer))
    });
    let expected = [
        ("0.weight", vec![4, 1, 3, 3], false),
        ("0.bias", vec![4], false),
        ("1.weight", vec![4], false),
        ("1.bias", vec![4], false),
        ("1.running_mean", vec![4], false),
        ("1.running_var", vec![4], false),
        ("1.num_batches_tracked", vec![], true),
        ("5.weight", vec![3, 36], false),
        ("5.bias", vec![3], false),
    ];
    assert_eq!(
        keys,
        expected.map(|(key, shape, integer)| (key.to_string(), shape, integer))
    );
    // An optimizer sees the weights and biases only, as PyTorch's `parameters()`.
    assert_eq!(Parameters::<f32>::len(&model), 36 + 4 + 4 + 4 + 108 + 3);

    let path = std::env::temp_dir().join(format!(
        "chainrule-it-{}-batch-norm2d.safetensors",
        std::process::id()
    ));
    model.save_safetensors(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut loaded = Cnn::load_safetensors(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let count = file.tensor("1.num_batches_tracked").unwrap();
    assert_eq!(
        (count.dtype(), count.data()),
        (Dtype::I64, &2i64.to_le_bytes()[..])
    );
    assert_eq!(
        loaded.layers.1.running_stats(),
        model.layers.1.running_stats()
    );
    let mut model = model;
    model.eval();
    loaded.eval();
    assert_eq!(loaded.forward(&x), model.forward(&x));
}

#[test]
fn a_cnn_with_batch_norm2d_trains_a_few_steps() {
    let mut model = Cnn::init(&mut StdRng::seed_from_u64(5));
    // Three classes: a bright top half, a bright bottom half, a dark image.
    let x = SMatrix::<f32, 36, 6>::from_fn(|r, c| match c % 3 {
        0 => f32::from(r < 18),
        1 => f32::from(r >= 18),
        _ => 0.1,
    } + 0.05 * (r * 7 + c) as f32 % 0.3);
    let y = [0, 1, 2, 0, 1, 2];
    let mut sgd = Sgd::new(0.1f32).momentum(0.9);
    let (first, _) = model.loss_and_grad(&x, &y, CrossEntropy);
    let mut last = first;
    for _ in 0..30 {
        let (loss, grads) = model.loss_and_grad(&x, &y, CrossEntropy);
        sgd.step(&mut model, &grads);
        last = loss;
    }
    assert!(last < 0.25 * first, "loss {first} → {last}");
    // The batch norm's weight and bias moved, and its statistics followed the batches.
    let norm = &model.layers.1;
    assert!(norm.weight.iter().any(|w| (w - 1.0).abs() > 1e-3));
    assert_eq!(norm.running_stats().num_batches_tracked, 31); // every training forward pass
}

/// A deterministic value for element `n` of tensor `salt`, in (−0.5, 0.5).
fn value(salt: usize, n: usize) -> f32 {
    (((salt * 7919 + n * 104_729) % 1000) as f32 / 1000.0) - 0.5
}

/// The CNN's state_dict as PyTorch lays it out: flat row-major tensors, an I64 count.
fn pytorch_state_dict() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let tensor = |name, shape: Vec<usize>, values: Vec<f32>| (name, shape, values);
    let salted = |salt, len| (0..len).map(|n| value(salt, n)).collect::<Vec<f32>>();
    vec![
        tensor("0.weight", vec![4, 1, 3, 3], salted(1, 36)),
        tensor("0.bias", vec![4], salted(2, 4)),
        tensor(
            "1.weight",
            vec![4],
            salted(3, 4).iter().map(|v| v + 1.0).collect(),
        ),
        tensor("1.bias", vec![4], salted(4, 4)),
        tensor("1.running_mean", vec![4], salted(5, 4)),
        tensor(
            "1.running_var",
            vec![4],
            salted(6, 4).iter().map(|v| v + 0.75).collect(),
        ),
        tensor("5.weight", vec![3, 36], salted(7, 108)),
        tensor("5.bias", vec![3], salted(8, 3)),
    ]
}

/// The network in eval mode by its definition on one image: the logits.
fn naive_cnn(image: &[f64], tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<f64> {
    let t = |n: usize, i: usize| f64::from(tensors[n].2[i]);
    let h = naive_conv(
        image,
        |o, j| t(0, o * 9 + j),
        |o| t(1, o),
        (1, 6, 6),
        4,
        (3, 1, 1),
    );
    // y = (x − running_mean) / √(running_var + eps) · weight + bias, then ReLU.
    let normalized: Vec<f64> = h
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let c = i / 36;
            let y = (v - t(4, c)) / (t(5, c) + 1e-5).sqrt() * t(2, c) + t(3, c);
            y.max(0.0)
        })
        .collect();
    let h = naive_max_pool(&normalized, (4, 6, 6), 2);
    (0..3)
        .map(|o| t(7, o) + (0..36).map(|i| t(6, o * 36 + i) * h[i]).sum::<f64>())
        .collect()
}

#[test]
fn a_pytorch_state_dict_with_batch_norm2d_predicts_what_the_naive_network_predicts() {
    let mut tensors = pytorch_state_dict();
    let bytes: Vec<(Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|(_, _, data)| {
            (
                data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                Dtype::F32,
            )
        })
        .chain([(9i64.to_le_bytes().to_vec(), Dtype::I64)])
        .collect();
    tensors.push(("1.num_batches_tracked", vec![], Vec::new()));
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), (bytes, dtype))| {
            (
                *name,
                TensorView::new(*dtype, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    let path = std::env::temp_dir().join(format!(
        "chainrule-it-{}-cnn-batch-norm2d.safetensors",
        std::process::id()
    ));
    safetensors::serialize_to_file(views, None, &path).unwrap();
    let mut model = Cnn::zeros();
    chainrule::io::load_safetensors(&mut model, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(model.layers.1.running_stats().num_batches_tracked, 9);

    model.eval();
    let x = irregular::<36, 5>(0.3).map(|v| v as f32);
    let logits = model.forward(&x);
    for column in 0..5 {
        let image: Vec<f64> = x.column(column).iter().map(|&p| f64::from(p)).collect();
        let expected = naive_cnn(&image, &tensors);
        for (got, want) in logits.column(column).iter().zip(&expected) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
        }
    }
}

#[test]
fn batch_norm2d_on_the_digits_cnns_activations_trains_on_a_spawned_threads_stack() {
    // 8 channels of 8×8 at batch 32, as after the digits CNN's first convolution: 64 KiB a
    // matrix, in a test's unoptimised build, on a spawned thread's default 2 MiB stack. The
    // output, tape and gradients are written in place on the heap (`_into`).
    let run = || {
        let norm = BatchNorm2d::<f32, 8>::new(1e-5, Some(0.1));
        let x = Box::new(SMatrix::<f32, 512, 32>::from_fn(|r, c| {
            ((r * 31 + c * 17) % 23) as f32
        }));
        let mut y = chainrule::runtime::heap::zeros::<SMatrix<f32, 512, 32>>();
        let mut d_x = chainrule::runtime::heap::zeros::<SMatrix<f32, 512, 32>>();
        let mut grads = <BatchNorm2d<f32, 8> as chainrule::nn::Init>::zeros();
        let tape = norm.forward_with_tape_into(&x, &mut y);
        norm.backward_into(&x, &tape, &y, &mut grads, &mut d_x);
        // Each channel of the output has mean 0, and so has the gradient of ½‖y‖².
        for c in 0..8 {
            let channel = |m: &SMatrix<f32, 512, 32>| m.rows(c * 64, 64).sum() / 2048.0;
            assert!(
                channel(&y).abs() < 1e-4 && channel(&d_x).abs() < 1e-4,
                "channel {c}"
            );
        }
        // ∂(½‖y‖²)/∂weight is Σ ŷ² = 2048 (less eps's share) a channel.
        assert!(grads.weight.iter().all(|w| (w - 2048.0).abs() < 0.5));
    };
    std::thread::spawn(run).join().unwrap();
}
