//! Dropout, LayerNorm, BatchNorm1d and Embedding against PyTorch's documented formulas,
//! computed here independently, and their gradients against finite differences; training and
//! evaluation modes through `Sequential`.

use chainrule::check::check_gradient;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{
    BatchNorm1d, Dropout, Embedding, Init, LayerNorm, Linear, Mode, Module, Sequential, Tanh,
};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::Parameters;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

/// An irregular matrix, so every element differs.
pub(crate) fn irregular<const R: usize, const C: usize>(phase: f64) -> SMatrix<f64, R, C> {
    SMatrix::from_fn(|r, c| ((r * 5 + c * 3) as f64 * 0.61 + phase).sin())
}

#[test]
fn dropout_keeps_a_fraction_of_one_minus_p_scaled_by_its_inverse() {
    for p in [0.1, 0.5, 0.9] {
        let x = irregular::<64, 64>(0.3).add_scalar(2.0); // no zeros of its own
        let y = Dropout::new(p).with_seed(7).forward(&x);
        let kept = y.iter().filter(|v| **v != 0.0).count() as f64 / x.len() as f64;
        // Four standard deviations of a binomial fraction over 4096 elements.
        let tolerance = 4.0 * (p * (1.0 - p) / x.len() as f64).sqrt();
        assert!((kept - (1.0 - p)).abs() < tolerance, "p = {p}: kept {kept}");
        for (out, input) in y.iter().zip(x.iter()) {
            // PyTorch multiplies by the scale 1/(1 − p).
            assert!(
                *out == 0.0 || *out == input * (1.0 / (1.0 - p)),
                "p = {p}: {out} from {input}"
            );
        }
    }
}

#[test]
fn dropout_masks_differ_between_seeds_and_inputs_and_repeat_for_the_same_ones() {
    let x = irregular::<16, 16>(0.0);
    let mask = |dropout: Dropout, x: &SMatrix<f64, 16, 16>| dropout.forward(x).map(|v| v != 0.0);
    let dropout = Dropout::init(&mut StdRng::seed_from_u64(3));
    assert_eq!(
        mask(dropout, &x),
        mask(Dropout::init(&mut StdRng::seed_from_u64(3)), &x)
    );
    assert_ne!(
        mask(dropout, &x),
        mask(Dropout::init(&mut StdRng::seed_from_u64(4)), &x)
    );
    assert_ne!(mask(dropout, &x), mask(dropout, &irregular::<16, 16>(0.5)));
    // Neighbouring elements are not correlated: about a quarter of pairs are both kept.
    let x = irregular::<64, 64>(1.0);
    let m = Dropout::new(0.5).with_seed(9).forward(&x).map(|v| v != 0.0);
    let both = m
        .iter()
        .zip(m.iter().skip(1))
        .filter(|(a, b)| **a && **b)
        .count() as f64;
    assert!((both / (m.len() - 1) as f64 - 0.25).abs() < 0.03);
}

#[test]
fn dropout_at_the_ends_of_p_and_in_f32() {
    let x = irregular::<8, 8>(0.2);
    assert_eq!(Dropout::new(0.0).forward(&x), x);
    assert_eq!(Dropout::new(1.0).forward(&x), SMatrix::<f64, 8, 8>::zeros());
    let x32 = x.map(|v| v as f32 + 2.0);
    let y32 = Dropout::new(0.25).forward(&x32);
    assert!(y32
        .iter()
        .zip(x32.iter())
        .all(|(y, x)| *y == 0.0 || *y == x * (1.0 / 0.75) as f32));
    assert!(y32.iter().any(|y| *y == 0.0) && y32.iter().any(|y| *y != 0.0));
}

#[test]
fn dropout_is_the_identity_in_eval_mode_also_inside_nested_sequentials() {
    let x = irregular::<4, 8>(0.1);
    let mut dropout = Dropout::new(0.5);
    dropout.eval();
    assert_eq!(dropout.forward(&x), x);
    let (output, tape) = dropout.forward_with_tape(&x);
    assert_eq!(output, x);
    let (d_x, _): (SMatrix<f64, 4, 8>, _) = dropout.backward(&x, &tape, &x.map(|v| 2.0 * v));
    assert_eq!(d_x, x.map(|v| 2.0 * v));

    type Inner = Sequential<(Linear<f64, 4, 4>, Dropout)>;
    let mut model = Sequential::<(Inner, Tanh, Dropout)>::init(&mut StdRng::seed_from_u64(5));
    // The layers without the dropouts (`Tanh`'s own forward: it is `vmath`'s tanh, within
    // 2 ulp of std's, not std's bits).
    let without_dropout =
        |x: &SMatrix<f64, 4, 8>| Tanh.forward(&model.layers.0.layers.0.forward(x));
    let expected = without_dropout(&x);
    assert_ne!(model.forward(&x), expected);
    model.eval();
    assert!(!model.layers.0.layers.1.training && !model.layers.2.training);
    assert_eq!(model.forward(&x), expected);
    model.train();
    assert!(model.layers.0.layers.1.training && model.layers.2.training);
    assert_ne!(model.forward(&x), expected);
}

#[test]
fn dropout_gradient_for_its_mask_matches_finite_differences() {
    let dropout = Dropout::new(0.4).with_seed(11);
    let x = irregular::<5, 7>(0.4);
    let d_output = irregular::<5, 7>(2.0);
    let (output, tape) = dropout.forward_with_tape(&x);
    assert_eq!(output, dropout.forward(&x));
    let mask = *tape; // the tape is the mask
    assert!(mask.iter().all(|m| *m == 0.0 || *m == 1.0 / 0.6));
    let (d_x, _): (SMatrix<f64, 5, 7>, _) = dropout.backward(&x, &tape, &d_output);
    // The mask is fixed while `x` moves: it is the layer's function for this draw.
    check_gradient(&x, &d_x, |x| mask.component_mul(x).dot(&d_output))
        .unwrap_or_else(|mismatch| panic!("{mismatch}"));
}

/// `layer`'s gradients, for its input and its parameters, against central differences of
/// `⟨d_output, forward⟩`, with the tape's forward pass equal to the plain one.
#[track_caller]
pub(crate) fn check_layer_gradients<M, const R: usize, const O: usize, const B: usize>(
    layer: &M,
    x: SMatrix<f64, R, B>,
) where
    M: Module<SMatrix<f64, R, B>, Output = SMatrix<f64, O, B>> + Parameters<f64> + Clone,
{
    let d_output = irregular::<O, B>(1.7);
    let (output, tape) = layer.forward_with_tape(&x);
    assert_eq!(output, layer.forward(&x));
    let (d_x, d_layer) = layer.backward(&x, &tape, &d_output);
    check_gradient(&x, &d_x, |x| layer.forward(x).dot(&d_output))
        .unwrap_or_else(|mismatch| panic!("input: {mismatch}"));
    check_gradient(layer, &d_layer, |layer| layer.forward(&x).dot(&d_output))
        .unwrap_or_else(|mismatch| panic!("parameters: {mismatch}"));
}

/// PyTorch's `LayerNorm` of one sample, by its documented formula with the biased variance.
fn layer_norm_reference(sample: &[f64], weight: &[f64], bias: &[f64], eps: f64) -> Vec<f64> {
    let n = sample.len() as f64;
    let mean = sample.iter().sum::<f64>() / n;
    let variance = sample.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let std = (variance + eps).sqrt();
    (0..sample.len())
        .map(|i| (sample[i] - mean) / std * weight[i] + bias[i])
        .collect()
}

fn affine_layer_norm() -> LayerNorm<f64, 5> {
    let mut norm = LayerNorm::<f64, 5>::init(&mut StdRng::seed_from_u64(0));
    norm.weight = irregular::<5, 1>(0.9).add_scalar(1.5);
    norm.bias = irregular::<5, 1>(2.3);
    norm
}

#[test]
fn layer_norm_normalises_each_column_as_pytorch() {
    let fresh = LayerNorm::<f64, 5>::init(&mut StdRng::seed_from_u64(0));
    assert_eq!(
        (fresh.weight, fresh.bias, fresh.eps),
        (SMatrix::repeat(1.0), SMatrix::zeros(), 1e-5)
    );
    let mut keys = Vec::new();
    Parameters::<f64>::visit_named(&fresh, "3", &mut |key, _| keys.push(key.to_string()));
    assert_eq!(keys, ["3.weight", "3.bias"]);

    let norm = affine_layer_norm();
    // Wide columns, one constant (where eps matters), one far from 0.
    let mut x = irregular::<5, 4>(0.2).map(|v| 3.0 * v);
    x.set_column(1, &SMatrix::<f64, 5, 1>::repeat(0.7));
    x.set_column(3, &x.column(3).add_scalar(1e3));
    let y = norm.forward(&x);
    for c in 0..4 {
        let column: Vec<f64> = x.column(c).iter().copied().collect();
        let expected =
            layer_norm_reference(&column, norm.weight.as_slice(), norm.bias.as_slice(), 1e-5);
        for (r, e) in expected.iter().enumerate() {
            assert!(
                (y[(r, c)] - e).abs() < 1e-12,
                "({r}, {c}): {} vs {e}",
                y[(r, c)]
            );
        }
    }
    let y32 = LayerNorm::<f32, 5>::new(1e-5).forward(&x.map(|v| v as f32));
    assert!(
        (y32[(0, 0)] as f64
            - layer_norm_reference(
                &x.column(0).iter().copied().collect::<Vec<_>>(),
                &[1.0; 5],
                &[0.0; 5],
                1e-5
            )[0])
            .abs()
            < 1e-5
    );
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    check_layer_gradients(
        &affine_layer_norm(),
        irregular::<5, 3>(0.4).map(|v| 2.0 * v),
    );
    // The generated graph's own check, at a point of its own.
    let norm = affine_layer_norm();
    chainrule::nn::layer_norm::layer_norm_f64::graph::check_gradient(
        norm.weight,
        norm.bias,
        1e-5,
        SMatrix::repeat(1.0),
        SMatrix::<f64, 1, 2>::repeat(1.0),
        irregular::<5, 2>(1.1),
    )
    .unwrap_or_else(|mismatch| panic!("{mismatch}"));
}

/// Each row's mean and biased variance over the columns, as `torch.var(unbiased=False)`.
fn row_statistics<const N: usize, const B: usize>(x: &SMatrix<f64, N, B>) -> Vec<(f64, f64)> {
    (0..N)
        .map(|r| {
            let mean = x.row(r).iter().sum::<f64>() / B as f64;
            let variance = x.row(r).iter().map(|v| (v - mean).powi(2)).sum::<f64>() / B as f64;
            (mean, variance)
        })
        .collect()
}

/// PyTorch's `BatchNorm1d` output for `x` normalised by these per-feature statistics.
#[track_caller]
fn assert_batch_norm<const N: usize, const B: usize>(
    norm: &BatchNorm1d<f64, N>,
    x: &SMatrix<f64, N, B>,
    y: &SMatrix<f64, N, B>,
    statistics: &[(f64, f64)],
) {
    for (r, (mean, variance)) in statistics.iter().enumerate() {
        for c in 0..B {
            let expected =
                (x[(r, c)] - mean) / (variance + 1e-5).sqrt() * norm.weight[r] + norm.bias[r];
            assert!(
                (y[(r, c)] - expected).abs() < 1e-12,
                "({r}, {c}): {} vs {expected}",
                y[(r, c)]
            );
        }
    }
}

fn affine_batch_norm() -> BatchNorm1d<f64, 3> {
    let mut norm = BatchNorm1d::<f64, 3>::init(&mut StdRng::seed_from_u64(0));
    norm.weight = irregular::<3, 1>(0.9).add_scalar(1.5);
    norm.bias = irregular::<3, 1>(2.3);
    norm
}

#[test]
fn batch_norm_trains_on_the_batch_and_tracks_running_statistics_as_pytorch() {
    let norm = affine_batch_norm();
    let (mut mean, mut var) = (vec![0.0; 3], vec![1.0; 3]);
    for step in 0..6 {
        let x = irregular::<3, 5>(step as f64).map(|v| 4.0 * v + step as f64);
        let statistics = row_statistics(&x);
        assert_batch_norm(&norm, &x, &norm.forward(&x), &statistics);
        for (r, (batch_mean, batch_var)) in statistics.iter().enumerate() {
            mean[r] = 0.9 * mean[r] + 0.1 * batch_mean;
            var[r] = 0.9 * var[r] + 0.1 * batch_var * 5.0 / 4.0; // the unbiased variance
        }
        let stats = norm.running_stats();
        assert_eq!(stats.num_batches_tracked, step + 1);
        for r in 0..3 {
            assert!(
                (stats.mean[r] - mean[r]).abs() < 1e-12 && (stats.var[r] - var[r]).abs() < 1e-12
            );
        }
    }
}

#[test]
fn batch_norm_without_momentum_averages_all_batches_equally() {
    let norm = BatchNorm1d::<f64, 2>::new(1e-5, None);
    let batches: Vec<SMatrix<f64, 2, 4>> = (0..4).map(|k| irregular(k as f64 * 0.7)).collect();
    for x in &batches {
        norm.forward_with_tape(x);
    }
    let stats = norm.running_stats();
    for r in 0..2 {
        let means: f64 = batches.iter().map(|x| row_statistics(x)[r].0).sum::<f64>() / 4.0;
        assert!((stats.mean[r] - means).abs() < 1e-12);
    }
}

#[test]
fn batch_norm_in_eval_mode_uses_the_running_statistics_and_leaves_them() {
    let mut norm = affine_batch_norm();
    let x = irregular::<3, 4>(0.5).map(|v| 3.0 * v);
    norm.forward(&x.add_scalar(2.0));
    norm.forward(&x);
    norm.eval();
    let stats = norm.running_stats();
    let running: Vec<(f64, f64)> = (0..3).map(|r| (stats.mean[r], stats.var[r])).collect();
    assert_batch_norm(&norm, &x, &norm.forward(&x), &running);
    assert_eq!(norm.running_stats(), stats);
    norm.train();
    norm.forward(&x);
    assert_eq!(norm.running_stats().num_batches_tracked, 3);
}

#[test]
fn batch_norm_gradients_match_finite_differences_in_both_modes() {
    let x = irregular::<3, 4>(0.3).map(|v| 2.0 * v);
    let mut norm = affine_batch_norm();
    check_layer_gradients(&norm, x);
    norm.eval();
    check_layer_gradients(&norm, x);
}

#[test]
fn batch_norm_state_dict_keys_and_round_trip_with_only_weight_and_bias_trained() {
    type Net = Sequential<(
        Linear<f64, 2, 3>,
        BatchNorm1d<f64, 3>,
        Tanh,
        Linear<f64, 3, 1>,
    )>;
    let mut model = Net::init(&mut StdRng::seed_from_u64(2));
    model.forward(&irregular::<2, 8>(0.1));
    let mut keys = Vec::new();
    model.visit_named("", &mut |key, tensor| {
        keys.push((key.to_string(), tensor.shape.to_vec()))
    });
    let expected = [
        ("0.weight", vec![3, 2]),
        ("0.bias", vec![3]),
        ("1.weight", vec![3]),
        ("1.bias", vec![3]),
        ("1.running_mean", vec![3]),
        ("1.running_var", vec![3]),
        ("1.num_batches_tracked", vec![]),
        ("3.weight", vec![1, 3]),
        ("3.bias", vec![1]),
    ];
    assert_eq!(keys, expected.map(|(key, shape)| (key.to_string(), shape)));
    // An optimizer sees `weight` and `bias` only, as PyTorch's `parameters()`.
    assert_eq!(Parameters::<f64>::len(&model), 9 + 6 + 4);

    let path = std::env::temp_dir().join(format!(
        "chainrule-it-{}-batch-norm.safetensors",
        std::process::id()
    ));
    model.save_safetensors(&path).unwrap();
    let mut loaded = Net::load_safetensors(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        loaded.layers.1.running_stats(),
        model.layers.1.running_stats()
    );
    model.eval();
    loaded.eval();
    let x = irregular::<2, 5>(0.8);
    assert_eq!(loaded.forward(&x), model.forward(&x));
}

/// A `BatchNorm1d(2)` state_dict as PyTorch writes it: F32 tensors and an I64 count.
fn pytorch_batch_norm_file(count_dtype: Dtype, count: &[u8]) -> Vec<u8> {
    let floats = |values: &[f32]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    let tensors = [
        ("weight", floats(&[1.5, 0.5]), vec![2], Dtype::F32),
        ("bias", floats(&[0.25, -1.0]), vec![2], Dtype::F32),
        ("running_mean", floats(&[2.0, -3.0]), vec![2], Dtype::F32),
        ("running_var", floats(&[4.0, 0.25]), vec![2], Dtype::F32),
        ("num_batches_tracked", count.to_vec(), vec![], count_dtype),
    ];
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(key, bytes, shape, dtype)| {
            (*key, TensorView::new(*dtype, shape.clone(), bytes).unwrap())
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn batch_norm_loads_pytorchs_layout_with_its_i64_count_and_predicts() {
    let path = std::env::temp_dir().join(format!(
        "chainrule-it-{}-bn-torch.safetensors",
        std::process::id()
    ));
    std::fs::write(
        &path,
        pytorch_batch_norm_file(Dtype::I64, &7i64.to_le_bytes()),
    )
    .unwrap();
    let mut norm = BatchNorm1d::<f32, 2>::zeros();
    chainrule::io::load_safetensors(&mut norm, &path).unwrap();
    assert_eq!(norm.running_stats().num_batches_tracked, 7);
    norm.eval();
    let x = SMatrix::<f32, 2, 2>::new(1.0, 3.0, -2.0, 0.0);
    let y = norm.forward(&x);
    // PyTorch's eval formula with the file's numbers.
    let expected =
        |v: f32, mean: f32, var: f32, w: f32, b: f32| (v - mean) / (var + 1e-5).sqrt() * w + b;
    assert!((y[(0, 1)] - expected(3.0, 2.0, 4.0, 1.5, 0.25)).abs() < 1e-6);
    assert!((y[(1, 0)] - expected(-2.0, -3.0, 0.25, 0.5, -1.0)).abs() < 1e-6);

    // Saved, the count is I64 again, and the rest `T`.
    chainrule::io::save_safetensors(&norm, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let count = file.tensor("num_batches_tracked").unwrap();
    assert_eq!(
        (count.dtype(), count.data()),
        (Dtype::I64, &7i64.to_le_bytes()[..])
    );
    assert_eq!(file.tensor("running_var").unwrap().dtype(), Dtype::F32);
    // A float count is not PyTorch's layout: an error naming the tensor and both dtypes.
    std::fs::write(
        &path,
        pytorch_batch_norm_file(Dtype::F32, &7f32.to_le_bytes()),
    )
    .unwrap();
    let error = chainrule::io::load_safetensors(&mut norm, &path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(
        matches!(&error, chainrule::Error::DtypeMismatch { key, .. } if key == "num_batches_tracked"),
        "{error}"
    );
}

#[test]
fn embedding_looks_up_rows_and_starts_from_a_standard_normal() {
    let embedding = Embedding::<f64, 50, 40>::init(&mut StdRng::seed_from_u64(6));
    let indices = [3, 49, 0, 3];
    let y = embedding.forward(&indices);
    for (column, index) in indices.iter().enumerate() {
        for feature in 0..40 {
            assert_eq!(y[(feature, column)], embedding.weight[(*index, feature)]);
        }
    }
    // N(0, 1) over 2000 weights: the mean within 4σ/√n, the variance within 4·√(2/n).
    let n = embedding.weight.len() as f64;
    let mean = embedding.weight.mean();
    let variance = embedding
        .weight
        .iter()
        .map(|w| (w - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(mean.abs() < 4.0 / n.sqrt() && (variance - 1.0).abs() < 4.0 * (2.0 / n).sqrt());
    let mut keys = Vec::new();
    embedding.visit_named("0", &mut |key, tensor| {
        keys.push((key.to_string(), tensor.shape.to_vec()))
    });
    assert_eq!(keys, [("0.weight".to_string(), vec![50, 40])]);
}

#[test]
fn embedding_gradient_scatters_each_column_into_its_row() {
    let embedding = Embedding::new(irregular::<6, 3>(0.2));
    let indices = [4, 1, 4, 0, 5]; // 4 twice: its rows add up
    let d_output = irregular::<3, 5>(1.3);
    let (output, tape) = embedding.forward_with_tape(&indices);
    assert_eq!(output, embedding.forward(&indices));
    let (_, grad) = embedding.backward(&indices, &tape, &d_output);
    let mut expected = SMatrix::<f64, 6, 3>::zeros();
    for (column, index) in indices.iter().enumerate() {
        for feature in 0..3 {
            expected[(*index, feature)] += d_output[(feature, column)];
        }
    }
    assert_eq!(grad.weight, expected);
    check_gradient(&embedding, &grad, |layer| {
        layer.forward(&indices).dot(&d_output)
    })
    .unwrap_or_else(|mismatch| panic!("{mismatch}"));
}

#[test]
fn embedding_feeds_a_sequential_and_names_a_bad_index() {
    type Net = Sequential<(Embedding<f64, 8, 4>, Tanh, Linear<f64, 4, 1>)>;
    let model = Net::init(&mut StdRng::seed_from_u64(1));
    let indices = [1, 7, 2];
    let targets = SMatrix::<f64, 1, 3>::new(0.5, -0.5, 1.0);
    let (_, grads) = model.loss_and_grad(&indices, &targets, chainrule::loss::Mse);
    check_gradient(&model, &grads, |model| {
        chainrule::loss::Loss::loss_and_grad(
            &chainrule::loss::Mse,
            &model.forward(&indices),
            &targets,
        )
        .0
    })
    .unwrap_or_else(|mismatch| panic!("{mismatch}"));

    let embedding = model.layers.0;
    assert!(embedding.check_indices(&[0, 7]).is_ok());
    let panic = std::panic::catch_unwind(|| embedding.forward(&[2, 8])).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some("index 8 at position 1 is out of range for an `Embedding` of 8 vectors")
    );
}

#[test]
fn the_trainer_fits_a_model_with_batch_norm_and_dropout_with_no_extra_call() {
    use chainrule::loss::Mse;
    use chainrule::optim::Adam;
    use chainrule::train::{Stop, Trainer};

    type Net = Sequential<(
        Linear<f64, 1, 16>,
        BatchNorm1d<f64, 16>,
        Tanh,
        Dropout,
        Linear<f64, 16, 1>,
    )>;
    let mut model = Net::init(&mut StdRng::seed_from_u64(0));
    model.layers.3.p = 0.1;
    let data = chainrule::data::sine::<f64>(64, 0.0, 1);
    let (x, y) = data.batch(&std::array::from_fn::<usize, 64, _>(|i| i));
    // The mean squared error over all the data, in evaluation mode (on a copy).
    let eval_loss = |model: &Net| {
        let mut model = model.clone();
        model.eval();
        (model.forward(&x) - y).norm_squared() / 64.0
    };
    let before = eval_loss(&model);
    let mut trainer = Trainer::new(model, Adam::new(0.01), Mse).epochs(60).seed(3);
    assert_eq!(trainer.fit::<8>(&data).unwrap(), Stop::Finished);
    let model = trainer.into_model();
    assert!(
        eval_loss(&model) < before / 5.0,
        "{before} → {}",
        eval_loss(&model)
    );
    // Every training step's forward pass counted its batch (and so may the trainer's metrics).
    let stats = model.layers.1.running_stats();
    assert!(
        stats.num_batches_tracked >= 60 * 8,
        "{}",
        stats.num_batches_tracked
    );
}

#[test]
fn dropout_masks_do_not_depend_on_the_number_of_threads() {
    use chainrule::loss::Mse;
    use chainrule::train::{rayon::ThreadPoolBuilder, DataParallel};

    type Net = Sequential<(Linear<f64, 1, 32>, Tanh, Dropout, Linear<f64, 32, 1>)>;
    let model = Net::init(&mut StdRng::seed_from_u64(4));
    let data = chainrule::data::sine::<f64>(64, 0.0, 1);
    let batch: [usize; 16] = std::array::from_fn(|i| 4 * i);
    let run = |threads: usize| {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| DataParallel::<4>::loss_and_grad(&model, &Mse, &data, &batch))
    };
    let (loss_1, grad_1) = run(1);
    let (loss_2, grad_2) = run(2);
    assert_eq!(loss_1.to_bits(), loss_2.to_bits());
    assert_eq!(grad_1, grad_2);
    // And dropout did drop: the same model in eval mode has another loss.
    let mut eval = model;
    eval.eval();
    let (loss_eval, _) = DataParallel::<4>::loss_and_grad(&eval, &Mse, &data, &batch);
    assert_ne!(loss_1, loss_eval);
}
