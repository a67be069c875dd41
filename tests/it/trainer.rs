//! The `Trainer`'s modes, last partial batch, best weights, predictions and clipping, each
//! against the same computation done here by hand: `loss_and_grad` on a batch of exactly
//! the real samples, a run stopped at the best epoch, a forward pass one sample at a time.

use std::ops::ControlFlow;

use chainrule::data::Dataset;
use chainrule::loss::{CrossEntropy, Loss, Mse};
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{BatchNorm1d, Dropout, Linear, Mode, Module, Sequential, Tanh};
use chainrule::optim::{clip_grad_norm, clip_grad_value, Adam, Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::train::{epoch_order, Event, Stop, Trainer};
use chainrule::Parameters;

type Dropped = Sequential<(Linear<f64, 1, 8>, Dropout, Linear<f64, 8, 1>)>;
type Normed = Sequential<(
    Linear<f64, 1, 8>,
    BatchNorm1d<f64, 8>,
    Tanh,
    Linear<f64, 8, 1>,
)>;
type Classifier = Sequential<(Linear<f64, 2, 5>, Tanh, Linear<f64, 5, 3>)>;

/// Every named tensor, buffers included, for exact comparisons.
fn tensors<P: Parameters<f64>>(model: &P) -> Vec<(String, Vec<f64>)> {
    let mut all = Vec::new();
    model.visit_named("", &mut |name, tensor| {
        all.push((name.to_string(), tensor.data.to_vec()));
    });
    all
}

/// The largest elementwise difference between two models' parameters.
fn largest_difference<P: Parameters<f64> + Clone>(a: &P, b: &P) -> f64 {
    let mut difference = a.clone();
    difference.add_scaled(-1.0, b);
    let mut largest = 0.0_f64;
    difference.visit(&mut |tensor| tensor.iter().for_each(|d| largest = largest.max(d.abs())));
    largest
}

/// A batch of the samples at `indices`, of whatever size the array has.
fn batch_of<const B: usize>(
    data: &Dataset<f64, 2, usize>,
    indices: [usize; B],
) -> (SMatrix<f64, 2, B>, [usize; B]) {
    data.batch(&indices)
}

#[test]
fn validation_runs_in_eval_mode_and_training_in_train_mode() {
    let mut model = Dropped::init(&mut StdRng::seed_from_u64(1));
    model.eval(); // `fit` trains in training mode whatever the model was in
    let (train, validation) = chainrule::data::sine::<f64>(40, 0.0, 2).split_at(32);
    // A rate of 0 keeps the parameters: every loss below is of the initial model.
    let mut trainer =
        Trainer::new(model.clone(), Sgd::new(0.0), Mse).validation(validation.clone());
    trainer.fit::<8>(&train).unwrap();

    // Without dropout, the model is its two `Linear`s: the validation loss by hand.
    let layers = &model.layers;
    let expected = validation
        .inputs()
        .iter()
        .zip(validation.targets())
        .map(|(x, y)| {
            let x = SMatrix::<f64, 1, 1>::new(x[0]);
            let prediction = layers.2.forward(&layers.0.forward(&x));
            (prediction[0] - y[0]).powi(2)
        })
        .sum::<f64>()
        / 8.0;
    let recorded = trainer.history().epochs[0].validation.unwrap().loss;
    assert!(
        (recorded - expected).abs() < 1e-12,
        "{recorded} vs {expected}"
    );

    // The training steps saw dropout: their losses are not the deterministic ones.
    let order = epoch_order(0, 0, 32);
    let (x, y) = train.batch::<8>(&std::array::from_fn(|i| order[i]));
    let deterministic = Mse.loss(&layers.2.forward(&layers.0.forward(&x)), &y);
    assert_ne!(trainer.history().steps[0], deterministic);

    // And the model is back in training mode after validating.
    let x = SMatrix::<f64, 1, 8>::from_fn(|_, c| c as f64 * 0.1);
    let trained = trainer.model();
    assert_ne!(trained.forward(&x), layers.2.forward(&layers.0.forward(&x)));
}

/// A classifier's step on a batch of `real` samples, by hand: SGD of rate 1 on the gradient of
/// a batch of exactly those samples.
fn step_by_hand<const R: usize>(
    model: &mut Classifier,
    data: &Dataset<f64, 2, usize>,
    indices: [usize; R],
) -> f64 {
    let (x, classes) = batch_of(data, indices);
    let (loss, grads) = model.loss_and_grad(&x, &classes, CrossEntropy);
    model.add_scaled(-1.0, &grads);
    loss
}

#[test]
fn the_last_partial_batch_steps_on_its_real_samples_alone() {
    let data = chainrule::data::xor::<f64>(7, 0.1, 3);
    let model = Classifier::init(&mut StdRng::seed_from_u64(4));
    let mut trainer = Trainer::new(model.clone(), Sgd::new(1.0), CrossEntropy).drop_last(false);
    trainer.fit::<4>(&data).unwrap();
    assert_eq!(trainer.step(), 2); // 4 samples, then 3

    let order = epoch_order(0, 0, 7);
    let mut by_hand = model;
    let first = step_by_hand(
        &mut by_hand,
        &data,
        std::array::from_fn::<_, 4, _>(|i| order[i]),
    );
    let last = step_by_hand(
        &mut by_hand,
        &data,
        std::array::from_fn::<_, 3, _>(|i| order[4 + i]),
    );
    let steps = &trainer.history().steps;
    assert_eq!(steps[0], first);
    assert!((steps[1] - last).abs() < 1e-12, "{} vs {last}", steps[1]);
    let difference = largest_difference(trainer.model(), &by_hand);
    assert!(difference < 1e-12, "the parameters differ by {difference}");

    // Dropping it, as by default, is one step.
    let mut dropping = Trainer::new(Classifier::zeros(), Sgd::new(1.0), CrossEntropy);
    dropping.fit::<4>(&data).unwrap();
    assert_eq!(dropping.step(), 1);
}

#[test]
fn a_padded_batch_in_parallel_chunks_weighs_only_its_real_samples() {
    // Batches of 4 in chunks of 2: the last batch has 1 real sample, in the first chunk.
    let data = chainrule::data::sine::<f64>(5, 0.1, 5);
    let model = Sequential::<(Linear<f64, 1, 6>, Tanh, Linear<f64, 6, 1>)>::init(
        &mut StdRng::seed_from_u64(6),
    );
    let mut trainer = Trainer::new(model.clone(), Sgd::new(0.5), Mse).drop_last(false);
    trainer.fit_parallel::<4, 2>(&data).unwrap();

    let order = epoch_order(0, 0, 5);
    let mut by_hand = model;
    let (x, y) = data.batch::<4>(&std::array::from_fn(|i| order[i]));
    let (first, grads) = by_hand.loss_and_grad(&x, &y, Mse);
    by_hand.add_scaled(-0.5, &grads);
    let (x, y) = data.batch::<1>(&[order[4]]);
    let (last, grads) = by_hand.loss_and_grad(&x, &y, Mse);
    by_hand.add_scaled(-0.5, &grads);

    let steps = &trainer.history().steps;
    assert!((steps[0] - first).abs() < 1e-12 && (steps[1] - last).abs() < 1e-12);
    let difference = largest_difference(trainer.model(), &by_hand);
    assert!(difference < 1e-12, "the parameters differ by {difference}");
}

#[test]
fn fewer_samples_than_a_batch_train_only_without_drop_last() {
    let data = chainrule::data::xor::<f64>(3, 0.1, 7);
    let model = Classifier::init(&mut StdRng::seed_from_u64(8));
    let mut dropping = Trainer::new(model.clone(), Sgd::new(1.0), CrossEntropy);
    assert!(dropping.fit::<4>(&data).is_err());

    let mut padding = Trainer::new(model.clone(), Sgd::new(1.0), CrossEntropy).drop_last(false);
    padding.fit::<4>(&data).unwrap();
    let mut by_hand = model;
    let order = epoch_order(0, 0, 3);
    step_by_hand(&mut by_hand, &data, [order[0], order[1], order[2]]);
    let difference = largest_difference(padding.model(), &by_hand);
    assert!(difference < 1e-12, "the parameters differ by {difference}");
}

/// A trainer of the batch-normalised model at a rate high enough to overshoot.
fn overshooting(
    model: &Normed,
    validation: &Dataset<f64, 1, SVector<f64, 1>>,
) -> Trainer<f64, Normed, Adam<f64>, Mse, 1, SVector<f64, 1>> {
    Trainer::new(model.clone(), Adam::new(0.3), Mse)
        .validation(validation.clone())
        .seed(9)
}

#[test]
fn restore_best_ends_with_the_best_epochs_weights_and_running_statistics() {
    let (train, validation) = chainrule::data::sine::<f64>(80, 0.2, 10).split_at(64);
    let model = Normed::init(&mut StdRng::seed_from_u64(11));
    let mut restoring = overshooting(&model, &validation)
        .epochs(200)
        .early_stopping(3)
        .restore_best(true);
    let stop = restoring.fit::<16>(&train).unwrap();
    let Stop::EarlyStopping { best_epoch } = stop else {
        panic!("no early stop: {stop:?}")
    };

    // The same run, stopped by hand at the end of the best epoch.
    let mut stopped_at_best = overshooting(&model, &validation).epochs(best_epoch + 1);
    stopped_at_best.fit::<16>(&train).unwrap();
    assert_eq!(tensors(restoring.model()), tensors(stopped_at_best.model()));
    let best = restoring.history().epochs[best_epoch]
        .validation
        .unwrap()
        .loss;
    assert_eq!(restoring.evaluate::<16>(&validation).loss, best);

    // Without `restore_best`, the model is the last epoch's, another one.
    let mut last = overshooting(&model, &validation)
        .epochs(200)
        .early_stopping(3);
    last.fit::<16>(&train).unwrap();
    assert_ne!(tensors(last.model()), tensors(restoring.model()));
}

#[test]
fn predict_runs_sample_by_sample_in_eval_mode_over_a_partial_last_batch() {
    let data = chainrule::data::sine::<f64>(10, 0.0, 12);
    let model = Normed::init(&mut StdRng::seed_from_u64(13));
    let mut trainer = Trainer::new(model, Adam::new(0.01), Mse).epochs(3);
    trainer.fit::<4>(&data).unwrap();

    let predictions = trainer.predict::<4>(&data); // batches of 4, 4 and 2
    let mut eval = trainer.model().clone();
    eval.eval();
    assert_eq!(predictions.shape(), (1, 10));
    for (sample, x) in data.inputs().iter().enumerate() {
        // One sample at a time: in eval mode batch normalisation reads only running statistics.
        let alone = eval.forward(&SMatrix::<f64, 1, 1>::new(x[0]))[0];
        let predicted = predictions[(0, sample)];
        assert!(
            (predicted - alone).abs() < 1e-12,
            "sample {sample}: {predicted} vs {alone}"
        );
    }
    // And the model is back in training mode: a batch's own statistics.
    let x = SMatrix::<f64, 1, 4>::new(0.1, 0.2, 0.3, 0.4);
    assert_ne!(trainer.model().forward(&x), eval.forward(&x));
}

#[test]
fn predict_classes_is_the_argmax_of_each_prediction() {
    let data = chainrule::data::xor::<f64>(30, 0.1, 14);
    let model = Classifier::init(&mut StdRng::seed_from_u64(15));
    let mut trainer = Trainer::new(model.clone(), Adam::new(0.05), CrossEntropy).epochs(5);
    trainer.fit::<8>(&data).unwrap();
    let classes = trainer.predict_classes::<8>(&data);
    let expected: Vec<usize> = data
        .inputs()
        .iter()
        .map(|x| {
            let logits = trainer
                .model()
                .forward(&SMatrix::<f64, 2, 1>::from_column_slice(x.as_slice()));
            (0..3).fold(0, |best, k| if logits[k] > logits[best] { k } else { best })
        })
        .collect();
    assert_eq!(classes, expected);
    assert!(
        classes.iter().any(|&c| c != classes[0]),
        "a trained model picks several classes"
    );
}

/// One step of SGD on a batch of all of `data` by a trainer, and by hand with `clip`.
fn clipped_steps(
    configure: impl FnOnce(
        Trainer<f64, Classifier, Sgd<f64>, CrossEntropy, 2, usize>,
    ) -> Trainer<f64, Classifier, Sgd<f64>, CrossEntropy, 2, usize>,
    clip: impl FnOnce(&mut Classifier),
) -> (Classifier, Classifier, Classifier) {
    let data = chainrule::data::xor::<f64>(8, 0.1, 16);
    let model = Classifier::init(&mut StdRng::seed_from_u64(17));
    let mut trainer = configure(Trainer::new(model.clone(), Sgd::new(5.0), CrossEntropy));
    trainer.fit::<8>(&data).unwrap();

    let order = epoch_order(0, 0, 8);
    let (x, classes) = batch_of(&data, std::array::from_fn::<_, 8, _>(|i| order[i]));
    let (_, mut grads) = model.loss_and_grad(&x, &classes, CrossEntropy);
    let unclipped = grads.clone();
    clip(&mut grads);
    let mut by_hand = model;
    Sgd::new(5.0).step(&mut by_hand, &grads);
    (trainer.into_model(), by_hand, unclipped)
}

#[test]
fn the_trainer_clips_as_clip_grad_norm_and_clip_grad_value_by_hand() {
    let (trained, by_hand, unclipped) = clipped_steps(
        |trainer| trainer.clip_grad_norm(0.05),
        |grads| _ = clip_grad_norm(grads, 0.05),
    );
    assert_eq!(tensors(&trained), tensors(&by_hand));
    let mut norm = 0.0;
    unclipped.visit(&mut |tensor| norm += tensor.iter().map(|g| g * g).sum::<f64>());
    assert!(norm.sqrt() > 0.05, "the gradient needs clipping");

    let (trained, by_hand, unclipped) = clipped_steps(
        |trainer| trainer.clip_grad_value(0.01),
        |grads| clip_grad_value(grads, 0.01),
    );
    assert_eq!(tensors(&trained), tensors(&by_hand));
    let mut largest = 0.0_f64;
    unclipped.visit(&mut |tensor| tensor.iter().for_each(|g| largest = largest.max(g.abs())));
    assert!(largest > 0.01, "the gradient needs clipping");
}

#[test]
fn the_callback_sees_the_partial_batch_in_the_epochs_steps() {
    let data = chainrule::data::sine::<f64>(10, 0.0, 18);
    let mut seen = Vec::new();
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
        .drop_last(false)
        .epochs(2)
        .callback(move |progress| {
            if progress.event == Event::Epoch {
                sender.send(progress.steps_per_epoch).unwrap();
            }
            ControlFlow::Continue(())
        });
    trainer.fit::<4>(&data).unwrap();
    seen.extend(receiver.try_iter());
    assert_eq!(seen, [3, 3]);
    assert_eq!(trainer.history().steps.len(), 6);
}
