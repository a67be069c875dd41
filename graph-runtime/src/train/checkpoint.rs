//! A [`Trainer`]'s checkpoint: everything that determines the rest of its run, in one
//! safetensors file through `io::save_safetensors_with_extra` (atomic) and
//! `io::load_safetensors_with_extra` (checked
//! before written). Reads and writes files; never steps a model.
//!
//! **Layout.** The model's tensors under their `state_dict` names; each optimizer buffer as
//! `optimizer.<PyTorch's name>` (`optimizer.exp_avg`, …), one value per parameter scalar; the
//! history as `trainer.step_losses`, `trainer.epoch_losses`, `trainer.validation_losses` and
//! `trainer.validation_accuracy`. The header's `__metadata__` holds the rest as strings:
//! `chainrule.checkpoint` (the format, `1`), `optimizer.step`, `optimizer.buffers` (the
//! buffers' names, comma-separated), and `trainer.seed`, `trainer.epoch`,
//! `trainer.batch_in_epoch`, `trainer.step`, `trainer.batch_size`, `trainer.train_samples`,
//! `trainer.best_loss` (the `f64` bits in hex, exact), `trainer.best_epoch`,
//! `trainer.epochs_without_improvement` and `trainer.validation` (one letter per finished
//! epoch: `n` not validated, `l` a loss, `a` a loss and an accuracy), and last
//! `chainrule.checksum`, an FNV-1a hash of everything else (see [`checksum`]).
//!
//! **Corruption.** safetensors has no checksum, so a changed byte in a tensor's data would
//! load as a wrong number. The checksum makes every changed value, tensor or metadata, an
//! [`Error::BadCheckpoint`] naming `chainrule.checksum` instead. It is checked last, so a
//! checkpoint of another model or optimizer is reported as such.
//!
//! The shuffle needs no saved generator state: epoch `e`'s order is
//! `epoch_order(seed, e, n)`, and the position in it is `trainer.batch_in_epoch`.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use safetensors::SafeTensors;

use super::trainer::{State, Trainer};
use super::{EpochSummary, History, Metrics};
use crate::nn::Init;
use crate::optim::{Optimizer, OptimizerState};
use crate::{io, Error, Parameters, Real, Result};

const FORMAT_KEY: &str = "chainrule.checkpoint";
const FORMAT: &str = "1";
const CHECKSUM_KEY: &str = "chainrule.checksum";
const STEP_LOSSES: &str = "trainer.step_losses";
const EPOCH_LOSSES: &str = "trainer.epoch_losses";
const VALIDATION_LOSSES: &str = "trainer.validation_losses";
const VALIDATION_ACCURACY: &str = "trainer.validation_accuracy";

impl<T, M, O, L, const I: usize, Y> Trainer<T, M, O, L, I, Y>
where
    T: Real,
    M: Parameters<T> + Init,
    O: Optimizer<T>,
{
    /// Writes the model, the optimizer's state, the position of the run (step, epoch, batch
    /// within it, shuffle seed) and its history to one safetensors file at `path`,
    /// atomically: a failed or interrupted save leaves the previous file intact.
    ///
    /// A trainer of the same configuration (model type, optimizer and its hyperparameters,
    /// loss, schedule, epochs, validation set) that [`load_checkpoint`](Trainer::load_checkpoint)s
    /// it and `fit`s the same data with the same batch size ends bit for bit where this one
    /// would. The format is in the source of this module; the model's tensors are in
    /// PyTorch's `state_dict` layout, so `safetensors.torch.load_file` reads them too.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be written; [`Error::DuplicateKey`] if a tensor of
    /// the model is named like one of the checkpoint's own (`optimizer.…`, `trainer.…`).
    ///
    /// ```
    /// use graph_runtime::loss::Mse;
    /// use graph_runtime::nn::Linear;
    /// use graph_runtime::optim::Adam;
    /// use graph_runtime::train::Trainer;
    ///
    /// let data = graph_runtime::data::sine::<f64>(16, 0.0, 1);
    /// let path = std::env::temp_dir().join(format!("doc-trainer-{}.safetensors", std::process::id()));
    /// let new_trainer = || Trainer::new(Linear::<f64, 1, 1>::zeros(), Adam::new(0.1), Mse).epochs(4);
    ///
    /// let mut trainer = new_trainer().epochs(2);
    /// trainer.fit::<4>(&data)?;
    /// trainer.save_checkpoint(&path)?;
    ///
    /// let mut resumed = new_trainer();
    /// resumed.load_checkpoint(&path)?;
    /// resumed.fit::<4>(&data)?; // epochs 2 and 3
    ///
    /// let mut uninterrupted = new_trainer();
    /// uninterrupted.fit::<4>(&data)?;
    /// assert_eq!(resumed.model(), uninterrupted.model());
    /// assert_eq!(resumed.history(), uninterrupted.history());
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        let optimizer = self.optimizer.state();
        let state = &self.state;
        let history = &state.history;
        let buffer_names: Vec<String> = optimizer
            .buffers
            .keys()
            .map(|name| format!("optimizer.{name}"))
            .collect();
        let epoch_losses: Vec<T> = history.epochs.iter().map(|epoch| epoch.loss).collect();
        let validation = |field: fn(&Metrics<T>) -> Option<T>| -> Vec<T> {
            history
                .epochs
                .iter()
                .map(|epoch| epoch.validation.as_ref().and_then(field).unwrap_or(T::ZERO))
                .collect()
        };
        let validation_losses = validation(|metrics| Some(metrics.loss));
        let validation_accuracy = validation(|metrics| metrics.accuracy);
        let mut extra: Vec<(&str, &[T])> = buffer_names
            .iter()
            .zip(optimizer.buffers.values())
            .map(|(name, buffer)| (name.as_str(), buffer.as_slice()))
            .collect();
        extra.extend([
            (STEP_LOSSES, history.steps.as_slice()),
            (EPOCH_LOSSES, &epoch_losses),
            (VALIDATION_LOSSES, &validation_losses),
            (VALIDATION_ACCURACY, &validation_accuracy),
        ]);

        let optional =
            |value: Option<usize>| value.map_or_else(|| "none".to_string(), |v| v.to_string());
        let kinds: String = history
            .epochs
            .iter()
            .map(|epoch| match epoch.validation {
                None => 'n',
                Some(Metrics { accuracy: None, .. }) => 'l',
                Some(_) => 'a',
            })
            .collect();
        let mut metadata: HashMap<String, String> = [
            (FORMAT_KEY, FORMAT.to_string()),
            ("optimizer.step", optimizer.step.to_string()),
            (
                "optimizer.buffers",
                optimizer
                    .buffers
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("trainer.seed", self.config.seed.to_string()),
            ("trainer.epoch", state.epoch.to_string()),
            ("trainer.batch_in_epoch", state.batch_in_epoch.to_string()),
            ("trainer.step", state.step.to_string()),
            ("trainer.batch_size", optional(state.batch_size)),
            ("trainer.train_samples", optional(state.train_samples)),
            (
                "trainer.best_loss",
                state.best.map_or_else(
                    || "none".to_string(),
                    |(loss, _)| format!("{:016x}", loss.to_f64().to_bits()),
                ),
            ),
            (
                "trainer.best_epoch",
                state.best.map_or(0, |(_, epoch)| epoch).to_string(),
            ),
            (
                "trainer.epochs_without_improvement",
                state.epochs_without_improvement.to_string(),
            ),
            ("trainer.validation", kinds),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
        let tensors = extra.iter().map(|(_, values)| *values);
        let hash = checksum(&metadata, &self.model, tensors);
        metadata.insert(CHECKSUM_KEY.to_string(), format!("{hash:016x}"));
        io::save_safetensors_with_extra(&self.model, &extra, &metadata, path)
    }

    /// Restores the model, the optimizer's state, the run's position and its history from a
    /// file [`save_checkpoint`](Trainer::save_checkpoint) wrote, all or nothing. The next
    /// `fit` continues from there. The trainer's configuration (epochs, schedule, validation
    /// set, callback) stays its own; the shuffle seed is the checkpoint's.
    ///
    /// # Errors
    ///
    /// Each names what is wrong, and leaves the trainer as it was:
    ///
    /// - [`Error::Io`] if the file cannot be read; [`Error::Corrupt`] if it is not a whole
    ///   safetensors file (truncated, overwritten);
    /// - [`Error::BadCheckpoint`] if its metadata is missing (a plain model file), of
    ///   another format, not a number where one is due, or inconsistent;
    /// - [`Error::MissingTensor`], [`Error::UnexpectedTensor`], [`Error::ShapeMismatch`] or
    ///   [`Error::DtypeMismatch`] if a tensor of the model, an optimizer buffer or the history
    ///   is absent, extra or of the wrong shape or type: a checkpoint of another model, or of
    ///   another optimizer (the key then starts with `optimizer.`).
    ///
    /// ```
    /// use graph_runtime::io::save_safetensors;
    /// use graph_runtime::loss::Mse;
    /// use graph_runtime::nn::Linear;
    /// use graph_runtime::optim::Sgd;
    /// use graph_runtime::train::Trainer;
    /// use graph_runtime::Error;
    ///
    /// let path = std::env::temp_dir().join(format!("doc-plain-{}.safetensors", std::process::id()));
    /// save_safetensors(&Linear::<f64, 1, 1>::zeros(), &path)?;
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// let error = trainer.load_checkpoint(&path).unwrap_err();
    /// assert!(matches!(&error, Error::BadCheckpoint { key, .. } if key == "chainrule.checkpoint"));
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        O: Clone,
    {
        let path = path.as_ref();
        let (metadata, file_len) = read_metadata::<T, M>(path)?;
        let fields = Fields {
            path,
            metadata: &metadata,
            // No count can exceed the values the file could hold.
            max_count: file_len / std::mem::size_of::<T>(),
        };
        let format = fields.string(FORMAT_KEY)?;
        if format != FORMAT {
            return Err(fields.bad(
                FORMAT_KEY,
                format!("is `{format}`, but this version of chainrule reads format `{FORMAT}`"),
            ));
        }
        let optimizer_step: usize = fields.number("optimizer.step")?;
        let buffer_names: Vec<&str> = fields
            .string("optimizer.buffers")?
            .split(',')
            .filter(|name| !name.is_empty())
            .collect();
        let seed: u64 = fields.number("trainer.seed")?;
        let epoch = fields.count("trainer.epoch")?;
        let batch_in_epoch: usize = fields.number("trainer.batch_in_epoch")?;
        let step = fields.count("trainer.step")?;
        let batch_size = fields.optional("trainer.batch_size")?;
        let train_samples = fields.optional("trainer.train_samples")?;
        let best_loss = match fields.string("trainer.best_loss")? {
            "none" => None,
            bits => Some(u64::from_str_radix(bits, 16).map_err(|_| {
                fields.bad(
                    "trainer.best_loss",
                    format!("is `{bits}`, not `none` or 16 hex digits"),
                )
            })?),
        };
        let best_epoch: usize = fields.number("trainer.best_epoch")?;
        let epochs_without_improvement: usize =
            fields.number("trainer.epochs_without_improvement")?;
        let kinds = fields.string("trainer.validation")?;
        if kinds.len() != epoch || !kinds.chars().all(|kind| "nla".contains(kind)) {
            return Err(fields.bad(
                "trainer.validation",
                format!("is `{kinds}`, but {epoch} finished epochs need as many of `n`, `l`, `a`"),
            ));
        }
        if batch_in_epoch > 0 {
            let consistent = matches!((batch_size, train_samples),
                (Some(size), Some(samples)) if batch_in_epoch.checked_mul(size).is_some_and(|used| used <= samples));
            if !consistent {
                return Err(fields.bad(
                    "trainer.batch_in_epoch",
                    format!(
                        "is {batch_in_epoch}, more batches than `trainer.batch_size` and \
                         `trainer.train_samples` allow"
                    ),
                ));
            }
        }

        // Read everything into scratch space; the trainer changes only once all of it is in.
        let mut model = M::zeros();
        let n_params = model.len();
        let mut buffers: Vec<(String, Vec<T>)> = buffer_names
            .iter()
            .map(|name| (format!("optimizer.{name}"), vec![T::ZERO; n_params]))
            .collect();
        let mut steps = vec![T::ZERO; step];
        let mut epoch_losses = vec![T::ZERO; epoch];
        let mut validation_losses = vec![T::ZERO; epoch];
        let mut validation_accuracy = vec![T::ZERO; epoch];
        {
            let mut extra: Vec<(&str, &mut [T])> = buffers
                .iter_mut()
                .map(|(name, buffer)| (name.as_str(), buffer.as_mut_slice()))
                .collect();
            extra.extend([
                (STEP_LOSSES, steps.as_mut_slice()),
                (EPOCH_LOSSES, &mut epoch_losses),
                (VALIDATION_LOSSES, &mut validation_losses),
                (VALIDATION_ACCURACY, &mut validation_accuracy),
            ]);
            io::load_safetensors_with_extra(&mut model, &mut extra, path)?;
        }
        let expected = fields.string(CHECKSUM_KEY)?;
        let tensors = buffers.iter().map(|(_, buffer)| buffer.as_slice()).chain([
            &steps[..],
            &epoch_losses,
            &validation_losses,
            &validation_accuracy,
        ]);
        let found = format!("{:016x}", checksum(&metadata, &model, tensors));
        let optimizer_state = OptimizerState {
            step: optimizer_step,
            buffers: buffer_names
                .iter()
                .zip(buffers)
                .map(|(name, (_, buffer))| (name.to_string(), buffer))
                .collect(),
        };
        // Checks the buffers against the optimizer's configuration, on a copy, so that an
        // error leaves the trainer's optimizer as it was.
        let mut optimizer = self.optimizer.clone();
        optimizer
            .load_state(optimizer_state)
            .map_err(name_optimizer_buffer)?;
        if found != expected {
            return Err(fields.bad(
                CHECKSUM_KEY,
                format!(
                    "is {expected}, but the contents hash to {found}: a tensor or a metadata \
                     value changed after the file was written"
                ),
            ));
        }

        let epochs = kinds
            .chars()
            .zip(epoch_losses)
            .zip(validation_losses.into_iter().zip(validation_accuracy))
            .map(|((kind, loss), (validation_loss, accuracy))| EpochSummary {
                loss,
                validation: match kind {
                    'n' => None,
                    'l' => Some(Metrics {
                        loss: validation_loss,
                        accuracy: None,
                    }),
                    _ => Some(Metrics {
                        loss: validation_loss,
                        accuracy: Some(accuracy),
                    }),
                },
            })
            .collect();
        self.model = model;
        self.optimizer = optimizer;
        self.config.seed = seed;
        self.state = State {
            epoch,
            batch_in_epoch,
            step,
            history: History { steps, epochs },
            best: best_loss.map(|bits| (T::from_f64(f64::from_bits(bits)), best_epoch)),
            epochs_without_improvement,
            batch_size,
            train_samples,
        };
        Ok(())
    }
}

/// The header's metadata and the file's length, or the error that says why there is none.
fn read_metadata<T: Real, M: Parameters<T> + Init>(
    path: &Path,
) -> Result<(HashMap<String, String>, usize)> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    match SafeTensors::read_metadata(&bytes) {
        Ok((_, header)) => match header.metadata() {
            Some(metadata) => Ok((metadata.clone(), bytes.len())),
            None => Err(Error::BadCheckpoint {
                path: path.to_path_buf(),
                key: FORMAT_KEY.to_string(),
                problem: "is missing: the file has no metadata, so it holds tensors but no \
                          training state (was it written by `io::save_safetensors`?)"
                    .to_string(),
            }),
        },
        // `io` words a corrupt file's reason best; ask it, on the same file.
        Err(error) => Err(
            match io::load_safetensors_with_metadata(&mut M::zeros(), path) {
                Err(corrupt @ Error::Corrupt { .. }) => corrupt,
                _ => Error::Corrupt {
                    path: path.to_path_buf(),
                    reason: error.to_string(),
                },
            },
        ),
    }
}

/// The metadata of one checkpoint, read with errors that name the file and the key.
struct Fields<'a> {
    path: &'a Path,
    metadata: &'a HashMap<String, String>,
    max_count: usize,
}

impl Fields<'_> {
    fn bad(&self, key: &str, problem: String) -> Error {
        Error::BadCheckpoint {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            problem,
        }
    }

    fn string(&self, key: &str) -> Result<&str> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| {
            self.bad(
                key,
                "is missing; was the file written by `Trainer::save_checkpoint`?".to_string(),
            )
        })
    }

    fn number<N: FromStr>(&self, key: &str) -> Result<N> {
        let value = self.string(key)?;
        value
            .parse()
            .map_err(|_| self.bad(key, format!("is `{value}`, not a whole number")))
    }

    /// A number of values stored as a tensor, so at most what the file can hold.
    fn count(&self, key: &str) -> Result<usize> {
        let count: usize = self.number(key)?;
        if count > self.max_count {
            return Err(self.bad(
                key,
                format!("is {count}, more values than the file could hold"),
            ));
        }
        Ok(count)
    }

    fn optional(&self, key: &str) -> Result<Option<usize>> {
        match self.string(key)? {
            "none" => Ok(None),
            _ => self.number(key).map(Some),
        }
    }
}

/// An optimizer's state error, with the buffer named as the checkpoint names it.
fn name_optimizer_buffer(error: Error) -> Error {
    let prefixed = |key: String| format!("optimizer.{key}");
    match error {
        Error::MissingTensor { key, expected } => Error::MissingTensor {
            key: prefixed(key),
            expected,
        },
        Error::UnexpectedTensor { key, found } => Error::UnexpectedTensor {
            key: prefixed(key),
            found,
        },
        Error::ShapeMismatch {
            key,
            expected,
            found,
        } => Error::ShapeMismatch {
            key: prefixed(key),
            expected,
            found,
        },
        other => other,
    }
}

/// FNV-1a (64-bit) of a checkpoint's contents: every metadata entry but the checksum, in key
/// order, as `key NUL value NUL`; then every value of the model's tensors in visit order,
/// then of `tensors` in order, each as the little-endian bytes of its `f64` bits (exact for
/// `f32` and `f64`).
fn checksum<'a, T: Real, M: Parameters<T>>(
    metadata: &HashMap<String, String>,
    model: &M,
    tensors: impl Iterator<Item = &'a [T]>,
) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    };
    let mut entries: Vec<(&String, &String)> = metadata
        .iter()
        .filter(|(key, _)| key.as_str() != CHECKSUM_KEY)
        .collect();
    entries.sort();
    for (key, value) in entries {
        eat(key.as_bytes());
        eat(&[0]);
        eat(value.as_bytes());
        eat(&[0]);
    }
    let mut eat_values = |values: &[T]| {
        for value in values {
            eat(&value.to_f64().to_bits().to_le_bytes());
        }
    };
    model.visit(&mut |tensor| eat_values(tensor));
    tensors.for_each(eat_values);
    hash
}
