//! The `Trainer` end to end: it reaches the targets on spirals and sin, reports
//! divergence with the last finite parameters, gives the same result on any number of threads,
//! resumes from a checkpoint bit for bit, and refuses corrupt, truncated and mismatched
//! checkpoints, keeping the previous one through failed and interrupted saves.

use std::collections::HashMap;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use graph_runtime::data::{self, Dataset};
use graph_runtime::loss::{CrossEntropy, Mse};
use graph_runtime::nalgebra::SVector;
use graph_runtime::nn::{Linear, Sequential, Tanh};
use graph_runtime::optim::schedule::{CosineAnnealingLR, LinearLR, SequentialLR};
use graph_runtime::optim::{Adam, Optimizer, Sgd};
use graph_runtime::rand::{rngs::StdRng, SeedableRng};
use graph_runtime::train::rayon::ThreadPoolBuilder;
use graph_runtime::train::{DataParallel, Event, Stop, Trainer};
use graph_runtime::{Error, Parameters, Real};
use safetensors::SafeTensors;

mod common;
use common::TempDir;

type Classifier = Sequential<(
    Linear<f32, 2, 32>,
    Tanh,
    Linear<f32, 32, 32>,
    Tanh,
    Linear<f32, 32, 2>,
)>;
type Regressor = Sequential<(Linear<f64, 1, 16>, Tanh, Linear<f64, 16, 1>)>;
type Small = Sequential<(Linear<f64, 2, 8>, Tanh, Linear<f64, 8, 2>)>;
/// The trainer most tests checkpoint: `Small` by Adam on the spirals.
type AdamTrainer = Trainer<f64, Small, Adam<f64>, CrossEntropy, 2, usize>;
/// A safetensors file's tensors (name, shape, bytes) and metadata.
type Parts = (Vec<(String, Vec<usize>, Vec<u8>)>, HashMap<String, String>);

/// Every parameter's bits, in visit order: equal bits, equal models, NaNs included.
fn bits<T: Real, P: Parameters<T>>(params: &P) -> Vec<u64> {
    let mut all = Vec::new();
    params.visit(&mut |tensor| all.extend(tensor.iter().map(|x| x.to_f64().to_bits())));
    all
}

#[test]
fn the_trainer_separates_two_spirals() {
    let train = data::two_spirals::<f32>(512, 0.0, 1);
    let validation = data::two_spirals::<f32>(256, 0.0, 2);
    let model = Classifier::init(&mut StdRng::seed_from_u64(1));
    let epochs = 60;
    let mut trainer = Trainer::new(model, Adam::new(0.01), CrossEntropy)
        .epochs(epochs)
        .seed(3)
        .schedule(CosineAnnealingLR::new(epochs * 512 / 32, 0.0005))
        .validation(validation.clone());
    assert_eq!(trainer.fit::<32>(&train).unwrap(), Stop::Finished);
    let accuracy = trainer.evaluate::<32>(&validation).accuracy.unwrap();
    assert!(accuracy > 0.97, "validation accuracy {accuracy}");
    let history = trainer.history();
    assert_eq!(history.steps.len(), epochs * 16);
    assert_eq!(history.epochs.len(), epochs);
    assert_eq!(
        history.epochs.last().unwrap().validation.unwrap().accuracy,
        Some(accuracy)
    );
}

#[test]
fn the_trainer_fits_sin_to_an_mse_below_one_thousandth() {
    let train = data::sine::<f64>(256, 0.01, 1);
    let clean = data::sine::<f64>(200, 0.0, 2);
    let model = Regressor::init(&mut StdRng::seed_from_u64(0));
    let epochs = 150;
    let warmup = LinearLR::warmup(0.1, 20);
    let anneal = CosineAnnealingLR::new(epochs * 8 - 20, 1e-4);
    let mut trainer = Trainer::new(model, Adam::new(0.02), Mse)
        .epochs(epochs)
        .schedule(SequentialLR::new(warmup, 20, anneal))
        .validation(clean.clone());
    trainer.fit::<32>(&train).unwrap();
    let mse = trainer.evaluate::<32>(&clean).loss;
    assert!(mse < 1e-3, "MSE against the clean sine {mse}");
    assert_eq!(trainer.evaluate::<32>(&clean).accuracy, None);
}

/// A run whose rate is far too high, and the same run stopped by its callback after
/// `steps` steps (4 an epoch; after an epoch's last step, once the epoch has ended).
fn diverging(steps: Option<usize>) -> Trainer<f64, Regressor, Sgd<f64>, Mse, 1, SVector<f64, 1>> {
    let model = Regressor::init(&mut StdRng::seed_from_u64(4));
    let trainer = Trainer::new(model, Sgd::new(50.0).momentum(0.9), Mse)
        .epochs(100)
        .seed(1);
    match steps {
        Some(stop_at) => trainer.callback(move |progress| {
            let epoch_done = stop_at % 4 != 0 || progress.event == Event::Epoch;
            if progress.step == stop_at && epoch_done {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }),
        None => trainer,
    }
}

#[test]
fn a_diverging_run_names_its_step_and_rate_and_keeps_the_last_finite_parameters() {
    let data = data::sine::<f64>(64, 0.0, 3);
    let mut trainer = diverging(None);
    let error = trainer.fit::<16>(&data).unwrap_err();
    let message = error.to_string();
    let Error::Diverged {
        step,
        epoch,
        lr,
        what,
    } = error
    else {
        panic!("expected a divergence, got {message}");
    };
    assert_eq!(lr, 50.0);
    assert_eq!(epoch, step / 4);
    assert!(
        message.contains(&format!("at step {step} (epoch {epoch}, learning rate 50)")),
        "{message}"
    );
    assert!(message.contains(&what), "{message}");
    // Nothing of the failed step is kept: the step count, the history and the parameters are
    // those after step `step − 1`, as a run stopped right there has them.
    assert_eq!(
        (trainer.step(), trainer.history().steps.len()),
        (step, step)
    );
    assert!(trainer.model().all_finite());
    let mut stopped = diverging(Some(step));
    assert_eq!(stopped.fit::<16>(&data).unwrap(), Stop::Callback);
    assert_eq!(bits(trainer.model()), bits(stopped.model()));
    assert_eq!(trainer.history(), stopped.history());
}

#[test]
fn a_non_finite_gradient_is_divergence_naming_the_tensor() {
    // With x = 1e160 and an error of 1e150, the loss (1e300) is finite but the weight's
    // gradient, 2·1e150·1e160, overflows; the bias's, 2e150, does not.
    let mut data = Dataset::<f64, 1, SVector<f64, 1>>::new();
    for _ in 0..4 {
        data.push(SVector::from([1e160]), SVector::from([0.0]));
    }
    let model = Linear::<f64, 1, 1>::new(SVector::from([1e-10]).transpose(), SVector::from([0.0]));
    let mut trainer = Trainer::new(model, Sgd::new(0.1), Mse);
    let before = bits(trainer.model());
    let error = trainer.fit::<4>(&data).unwrap_err();
    assert!(
        matches!(&error, Error::Diverged { step: 0, epoch: 0, what, .. } if what == "the gradient of `weight` is not finite"),
        "{error}"
    );
    assert_eq!(bits(trainer.model()), before);
}

#[test]
fn an_update_that_overflows_is_divergence_and_is_undone() {
    // The loss (1e20) and the gradient (−2e10) are finite; 1e300 times the gradient is not.
    let data: Dataset<f64, 1, SVector<f64, 1>> = (0..4)
        .map(|_| (SVector::from([1.0]), SVector::from([1e10])))
        .collect();
    let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(1e300), Mse);
    let error = trainer.fit::<4>(&data).unwrap_err();
    assert!(
        matches!(&error, Error::Diverged { step: 0, lr, what, .. }
            if *lr == 1e300 && what == "the update made `weight` not finite"),
        "{error}"
    );
    assert_eq!(trainer.model(), &Linear::zeros());
    assert_eq!(trainer.step(), 0);
}

/// The trainer stopped at its `n`-th step of its first `fit`, left in the state it had then.
fn stop_after(
    steps: usize,
) -> impl FnMut(&graph_runtime::train::Progress<'_, f64>) -> ControlFlow<()> + Send {
    move |progress| {
        if progress.event == Event::Step && progress.step == steps {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn the_gradient_is_the_same_on_one_two_and_three_threads() {
    let data = data::moons::<f64>(96, 0.1, 5);
    let model = Small::init(&mut StdRng::seed_from_u64(5));
    let indices: [usize; 48] = std::array::from_fn(|i| (i * 7) % 96);
    let on = |threads: usize| {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| DataParallel::<8>::loss_and_grad(&model, &CrossEntropy, &data, &indices))
    };
    let (loss, grads) = on(1);
    for threads in [2, 3] {
        let (other_loss, other_grads) = on(threads);
        assert_eq!(loss.to_bits(), other_loss.to_bits(), "{threads} threads");
        assert_eq!(bits(&grads), bits(&other_grads), "{threads} threads");
    }
}

#[test]
fn parallel_training_ends_the_same_on_any_number_of_threads_and_as_fit_for_one_chunk() {
    let data = data::moons::<f64>(128, 0.1, 6);
    let validation = data::moons::<f64>(40, 0.1, 7);
    let trainer = || {
        let model = Small::init(&mut StdRng::seed_from_u64(6));
        Trainer::new(model, Adam::new(0.01), CrossEntropy)
            .epochs(4)
            .validation(validation.clone())
    };
    let mut runs = Vec::new();
    for threads in [1, 2, 4] {
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut trainer = trainer();
        pool.install(|| trainer.fit_parallel::<32, 8>(&data))
            .unwrap();
        runs.push((bits(trainer.model()), trainer.history().clone()));
    }
    assert!(runs.windows(2).all(|pair| pair[0] == pair[1]));

    // One chunk of the whole batch is `fit` itself.
    let mut sequential = trainer();
    sequential.fit::<32>(&data).unwrap();
    let mut one_chunk = trainer();
    one_chunk.fit_parallel::<32, 32>(&data).unwrap();
    assert_eq!(bits(sequential.model()), bits(one_chunk.model()));
    assert_eq!(sequential.history(), one_chunk.history());
}

/// Trains `new_trainer()` to the end without stopping, and again stopped at step `k`,
/// checkpointed, dropped, and resumed into a trainer whose own model started elsewhere; both
/// must end with the same bits.
fn check_resume_is_exact<O: Optimizer<f64> + Clone>(
    dir: &TempDir,
    new_trainer: impl Fn(u64) -> Trainer<f64, Small, O, CrossEntropy, 2, usize>,
    k: usize,
) {
    let data = data::two_spirals::<f64>(100, 0.05, 8); // 6 batches of 16 an epoch, 4 dropped
    let mut uninterrupted = new_trainer(0);
    uninterrupted.fit::<16>(&data).unwrap();

    let path = dir.join("resume.safetensors");
    let mut first = new_trainer(0).callback(stop_after(k));
    assert_eq!(first.fit::<16>(&data).unwrap(), Stop::Callback);
    assert_eq!(first.step(), k);
    first.save_checkpoint(&path).unwrap();
    drop(first);

    let mut resumed = new_trainer(99);
    resumed.load_checkpoint(&path).unwrap();
    assert_eq!(resumed.step(), k);
    resumed.fit::<16>(&data).unwrap();
    assert_eq!(bits(resumed.model()), bits(uninterrupted.model()));
    assert_eq!(resumed.history(), uninterrupted.history());
    assert_eq!(
        resumed.optimizer().state(),
        uninterrupted.optimizer().state()
    );
}

/// A trainer with everything a checkpoint must carry: a schedule, validation with early
/// stopping, a seed; `init` seeds the model (the resumed trainer's own is overwritten).
fn full_trainer<O: Optimizer<f64>>(
    optimizer: O,
    init: u64,
) -> Trainer<f64, Small, O, CrossEntropy, 2, usize> {
    let model = Small::init(&mut StdRng::seed_from_u64(init));
    Trainer::new(model, optimizer, CrossEntropy)
        .epochs(7)
        .seed(11)
        .schedule(SequentialLR::new(
            LinearLR::warmup(0.2, 5),
            5,
            CosineAnnealingLR::new(37, 0.0),
        ))
        .validation(data::two_spirals::<f64>(30, 0.05, 9))
        .early_stopping(3)
}

/// Adam on the spirals, with validation: a trainer of any model of `Small`'s shape.
fn adam_on_spirals<M>(model: M) -> Trainer<f64, M, Adam<f64>, CrossEntropy, 2, usize> {
    Trainer::new(model, Adam::new(0.01), CrossEntropy)
        .epochs(3)
        .seed(2)
        .validation(data::two_spirals::<f64>(30, 0.05, 9))
}

/// `Trainer::new(Box::new(model), ..)`, as issue 15 writes it: a boxed model trains,
/// validates and checkpoints as the model itself, to the same bits and the same file.
#[test]
fn a_boxed_model_trains_and_checkpoints_as_the_model_itself() {
    let dir = TempDir::new("boxed");
    let data = data::two_spirals::<f64>(100, 0.05, 8);
    let model = Small::init(&mut StdRng::seed_from_u64(4));

    let mut plain = adam_on_spirals(model.clone());
    let mut boxed = adam_on_spirals(Box::new(model.clone()));
    plain.fit::<16>(&data).unwrap();
    boxed.fit::<16>(&data).unwrap();
    assert_eq!(bits(boxed.model()), bits(plain.model()));
    assert_eq!(boxed.history(), plain.history());

    let mut plain_parallel = adam_on_spirals(model.clone());
    let mut boxed_parallel = adam_on_spirals(Box::new(model));
    plain_parallel.fit_parallel::<16, 8>(&data).unwrap();
    boxed_parallel.fit_parallel::<16, 8>(&data).unwrap();
    assert_eq!(bits(boxed_parallel.model()), bits(plain_parallel.model()));

    let (plain_path, boxed_path) = (dir.join("plain"), dir.join("boxed"));
    plain.save_checkpoint(&plain_path).unwrap();
    boxed.save_checkpoint(&boxed_path).unwrap();
    // The same tensors under the same names, and the same metadata. (Not the same bytes: the
    // metadata is a map, written in no fixed order.)
    let contents = |path: &Path| {
        let (mut tensors, metadata) = parts(&fs::read(path).unwrap());
        tensors.sort();
        (tensors, metadata)
    };
    assert_eq!(contents(&boxed_path), contents(&plain_path));
    let mut unboxed = adam_on_spirals(Small::zeros());
    unboxed.load_checkpoint(&boxed_path).unwrap();
    assert_eq!(bits(unboxed.model()), bits(plain.model()));
    assert_eq!(unboxed.history(), plain.history());
}

#[test]
fn resuming_sgd_with_momentum_mid_epoch_ends_bit_identical() {
    let dir = TempDir::new("resume-sgd");
    let sgd = || {
        Sgd::new(0.2)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(1e-4)
    };
    check_resume_is_exact(&dir, |init| full_trainer(sgd(), init), 17);
    // At an epoch's last step, before its end is processed, and at the very first step.
    check_resume_is_exact(&dir, |init| full_trainer(sgd(), init), 12);
    check_resume_is_exact(&dir, |init| full_trainer(sgd(), init), 1);
}

#[test]
fn resuming_adam_mid_epoch_ends_bit_identical() {
    let dir = TempDir::new("resume-adam");
    let adam = || Adam::new(0.02).amsgrad(true);
    check_resume_is_exact(&dir, |init| full_trainer(adam(), init), 23);
}

#[test]
fn checkpoint_every_saves_a_resumable_run() {
    let dir = TempDir::new("every");
    let path = dir.join("every.safetensors");
    let data = data::two_spirals::<f64>(64, 0.05, 8);
    let saves = Arc::new(AtomicUsize::new(0));
    let counter = saves.clone();
    let mut trainer = full_trainer(Adam::new(0.01), 0)
        .checkpoint_every(5, &path)
        .callback(move |progress| {
            if progress.event == Event::Step && progress.step % 5 == 0 {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            ControlFlow::Continue(())
        });
    trainer.fit::<16>(&data).unwrap();
    let last_save = trainer.step() / 5 * 5;
    let mut resumed = full_trainer(Adam::new(0.01), 1);
    resumed.load_checkpoint(&path).unwrap();
    assert_eq!(resumed.step(), last_save);
    assert_eq!(saves.load(Ordering::Relaxed), trainer.step() / 5);
    resumed.fit::<16>(&data).unwrap();
    assert_eq!(bits(resumed.model()), bits(trainer.model()));
    assert_eq!(dir.entries(), ["every.safetensors"]); // no temporary file left
}

/// A trained trainer, its checkpoint at `path`, and the checkpoint's bytes.
fn saved(path: &Path) -> (AdamTrainer, Vec<u8>) {
    let mut trainer = full_trainer(Adam::new(0.01), 0).callback(stop_after(9));
    trainer
        .fit::<16>(&data::two_spirals::<f64>(64, 0.05, 8))
        .unwrap();
    trainer.save_checkpoint(path).unwrap();
    let bytes = fs::read(path).unwrap();
    (trainer, bytes)
}

/// Loads `path` into a fresh trainer, which must refuse it and stay as it was.
fn load_fails(path: &Path) -> Error {
    let mut trainer = full_trainer(Adam::new(0.01), 5);
    let before = bits(trainer.model());
    let error = trainer.load_checkpoint(path).unwrap_err();
    assert_eq!(bits(trainer.model()), before, "{error}");
    assert_eq!(
        (trainer.step(), trainer.optimizer().step_count()),
        (0, 0),
        "{error}"
    );
    assert!(trainer.history().steps.is_empty(), "{error}");
    error
}

#[test]
fn a_truncated_checkpoint_is_an_error_and_loads_nothing() {
    let dir = TempDir::new("truncated");
    let path = dir.join("run.safetensors");
    let (_, bytes) = saved(&path);
    for len in [0, 5, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        fs::write(&path, &bytes[..len]).unwrap();
        let error = load_fails(&path);
        assert!(
            matches!(error, Error::Corrupt { .. }),
            "{len} bytes: {error}"
        );
    }
}

#[test]
fn every_corrupted_byte_of_a_checkpoint_is_an_error() {
    let dir = TempDir::new("corrupt");
    let path = dir.join("run.safetensors");
    let (_, bytes) = saved(&path);
    // Every position, header and data alike; the data has no checksum of its own in
    // safetensors, so without the checkpoint's a flipped data byte would load.
    let positions: Vec<usize> = (0..bytes.len())
        .step_by(7)
        .chain([bytes.len() - 1])
        .collect();
    for position in positions {
        let mut corrupt = bytes.clone();
        corrupt[position] ^= 0xff;
        fs::write(&path, &corrupt).unwrap();
        let mut trainer = full_trainer(Adam::new(0.01), 5);
        let before = bits(trainer.model());
        match trainer.load_checkpoint(&path) {
            Ok(()) => panic!(
                "byte {position} of {} flipped, and the checkpoint loaded",
                bytes.len()
            ),
            Err(error) => assert_eq!(bits(trainer.model()), before, "{error}"),
        }
    }
    // A data byte is caught by the checksum; the header's by the format.
    fs::write(&path, {
        let mut corrupt = bytes.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        corrupt
    })
    .unwrap();
    let error = load_fails(&path);
    assert!(
        matches!(&error, Error::BadCheckpoint { key, .. } if key == "chainrule.checksum"),
        "{error}"
    );
}

/// The checkpoint's tensors and metadata, to rewrite with a change.
fn parts(bytes: &[u8]) -> Parts {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .collect();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    (tensors, header.metadata().clone().unwrap())
}

fn write(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    metadata: &HashMap<String, String>,
) {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, shape, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F64, shape.clone(), data)
                    .unwrap();
            (name.clone(), view)
        })
        .collect();
    fs::write(
        path,
        safetensors::serialize(views, Some(metadata.clone())).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_mismatched_checkpoint_is_an_error_naming_what_differs() {
    let dir = TempDir::new("mismatched");
    let path = dir.join("run.safetensors");
    let (_, bytes) = saved(&path);
    let (tensors, metadata) = parts(&bytes);

    // Another model's shape.
    type Wider = Sequential<(Linear<f64, 2, 16>, Tanh, Linear<f64, 16, 2>)>;
    let mut wider = Trainer::new(Wider::zeros(), Adam::new(0.01), CrossEntropy)
        .validation(data::two_spirals::<f64>(4, 0.0, 0));
    let error = wider.load_checkpoint(&path).unwrap_err();
    assert!(
        matches!(&error, Error::ShapeMismatch { key, .. } if key == "0.weight"),
        "{error}"
    );

    // Another optimizer: SGD finds Adam's moments.
    let mut sgd = full_trainer(Sgd::new(0.1).momentum(0.9), 0);
    let error = sgd.load_checkpoint(&path).unwrap_err();
    assert!(
        matches!(&error, Error::UnexpectedTensor { key, .. } if key.starts_with("optimizer.exp_avg")),
        "{error}"
    );
    assert_eq!(sgd.optimizer().step_count(), 0);

    // A missing optimizer buffer, listed in the metadata.
    let without: Vec<_> = tensors
        .iter()
        .filter(|(name, ..)| name != "optimizer.exp_avg_sq")
        .cloned()
        .collect();
    write(&path, &without, &metadata);
    let error = load_fails(&path);
    assert!(
        matches!(&error, Error::MissingTensor { key, .. } if key == "optimizer.exp_avg_sq"),
        "{error}"
    );

    // A missing optimizer buffer, also gone from the metadata's list: Adam still needs it.
    let mut unlisted = metadata.clone();
    unlisted.insert("optimizer.buffers".into(), "exp_avg".into());
    write(&path, &without, &unlisted);
    let error = load_fails(&path);
    assert!(
        matches!(&error, Error::MissingTensor { key, .. } if key == "optimizer.exp_avg_sq"),
        "{error}"
    );

    // Metadata that is not a number, missing, or of another format.
    for (key, value, expected) in [
        (
            "trainer.step",
            Some("nine"),
            "metadata `trainer.step` is `nine`, not a whole number",
        ),
        ("trainer.seed", None, "metadata `trainer.seed` is missing"),
        (
            "chainrule.checkpoint",
            Some("2"),
            "metadata `chainrule.checkpoint` is `2`, but this version",
        ),
        (
            "trainer.step",
            Some("99999999999"),
            "more values than the file could hold",
        ),
        (
            "trainer.validation",
            Some("ax"),
            "metadata `trainer.validation` is `ax`",
        ),
    ] {
        let mut changed = metadata.clone();
        match value {
            Some(value) => changed.insert(key.into(), value.into()),
            None => changed.remove(key),
        };
        write(&path, &tensors, &changed);
        let error = load_fails(&path);
        assert!(matches!(&error, Error::BadCheckpoint { .. }), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
    }

    // A plain model file is not a checkpoint.
    graph_runtime::io::save_safetensors(&Small::zeros(), &path).unwrap();
    let error = load_fails(&path);
    assert!(error.to_string().contains("no metadata"), "{error}");
}

#[test]
fn a_failed_save_leaves_the_previous_checkpoint_whole() {
    let dir = TempDir::new("failed-save");
    let path = dir.join("run.safetensors");
    let (trainer, bytes) = saved(&path);

    // The target is a directory: the temporary file is written, the rename fails, and the
    // temporary file is removed.
    let directory = dir.join("a-directory.safetensors");
    fs::create_dir(&directory).unwrap();
    let error = trainer.save_checkpoint(&directory).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Io {
                action: "renaming into place",
                ..
            }
        ),
        "{error}"
    );
    // A directory that does not exist.
    let error = trainer
        .save_checkpoint(dir.join("missing").join("run.safetensors"))
        .unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    assert_eq!(
        dir.entries(),
        ["a-directory.safetensors", "run.safetensors"]
    );

    assert_eq!(fs::read(&path).unwrap(), bytes);
    let mut restored = full_trainer(Adam::new(0.01), 3);
    restored.load_checkpoint(&path).unwrap();
    assert_eq!(bits(restored.model()), bits(trainer.model()));
}

/// The child half of the next test: saves a checkpoint over the one at
/// `$CHAINRULE_CRASH_DURING_SAVE` under a file-size limit, so the kernel kills the process
/// in the middle of writing. Does nothing when the variable is not set.
#[test]
fn crash_during_save_child() {
    let Some(path) = std::env::var_os("CHAINRULE_CRASH_DURING_SAVE") else {
        return;
    };
    type Big = Sequential<(Linear<f64, 2, 1024>, Tanh, Linear<f64, 1024, 2>)>;
    let model = Big::init(&mut StdRng::seed_from_u64(1));
    let trainer = Trainer::new(model, Adam::new(0.01), CrossEntropy)
        .validation(data::two_spirals::<f64>(4, 0.0, 0));
    trainer.save_checkpoint(PathBuf::from(path)).unwrap();
    unreachable!("the file-size limit should have killed this process mid-write");
}

#[cfg(unix)]
#[test]
fn a_crash_in_the_middle_of_a_save_leaves_the_previous_checkpoint_whole() {
    let dir = TempDir::new("crash");
    let path = dir.join("run.safetensors");
    let (trainer, bytes) = saved(&path);
    // `ulimit -f 16` caps files at 8 KiB (dash counts 512-byte blocks; bash 1 KiB ones,
    // which also works), far below the child's checkpoint of 40 KiB: SIGXFSZ kills the child
    // while it writes the temporary file.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 16 && exec \"$0\" crash_during_save_child --exact --nocapture --test-threads=1")
        .arg(std::env::current_exe().unwrap())
        .env("CHAINRULE_CRASH_DURING_SAVE", &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child should have died mid-save");
    // What a crash leaves: the old checkpoint, whole, and a partial temporary file beside it.
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let leftovers: Vec<String> = dir
        .entries()
        .into_iter()
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers.len(), 1, "{:?}", dir.entries());
    let mut restored = full_trainer(Adam::new(0.01), 3);
    restored.load_checkpoint(&path).unwrap();
    assert_eq!(bits(restored.model()), bits(trainer.model()));
    assert_eq!(restored.step(), 9);
}

#[test]
fn too_small_datasets_and_changed_batches_are_errors() {
    let small = data::xor::<f64>(10, 0.0, 0);
    let mut trainer = full_trainer(Sgd::new(0.1), 0);
    let error = trainer.fit::<16>(&small).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the training set has 10 samples, but training needs at least 16"
    );

    let mut empty_validation =
        Trainer::new(Small::zeros(), Sgd::new(0.1), CrossEntropy).validation(Dataset::new());
    let error = empty_validation.fit::<4>(&small).unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooFewSamples {
                what: "validation set",
                ..
            }
        ),
        "{error}"
    );

    // Stopped mid-epoch, the run must go on with the same batch size and data.
    let data = data::xor::<f64>(64, 0.0, 0);
    let mut trainer = full_trainer(Sgd::new(0.1), 0).callback(stop_after(2));
    trainer.fit::<16>(&data).unwrap();
    let error = trainer.fit::<8>(&data).unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResumeMismatch {
                what: "batch size",
                expected: 16,
                found: 8
            }
        ),
        "{error}"
    );
    let error = trainer
        .fit::<16>(&data::xor::<f64>(80, 0.0, 0))
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::ResumeMismatch {
                expected: 64,
                found: 80,
                ..
            }
        ),
        "{error}"
    );
    trainer.fit::<16>(&data).unwrap();
}

#[test]
fn early_stopping_watches_the_validation_loss() {
    let train = data::moons::<f64>(64, 0.1, 1);
    // A validation set the model cannot learn from its training data: the labels swapped.
    let mut swapped = Dataset::new();
    for (x, &class) in train.inputs().iter().zip(train.targets()) {
        swapped.push(*x, 1 - class);
    }
    let model = Small::init(&mut StdRng::seed_from_u64(2));
    let mut trainer = Trainer::new(model, Adam::new(0.05), CrossEntropy)
        .epochs(200)
        .validation(swapped)
        .early_stopping(4);
    let stop = trainer.fit::<16>(&train).unwrap();
    let Stop::EarlyStopping { best_epoch } = stop else {
        panic!("expected an early stop, got {stop:?}")
    };
    let epochs = &trainer.history().epochs;
    assert_eq!(epochs.len(), best_epoch + 5);
    let best = epochs[best_epoch].validation.unwrap().loss;
    assert!(epochs[best_epoch + 1..]
        .iter()
        .all(|epoch| epoch.validation.unwrap().loss >= best));
}
