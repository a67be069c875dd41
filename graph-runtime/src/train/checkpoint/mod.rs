//! A [`Trainer`]'s checkpoint: everything that determines the rest of its run, in one
//! safetensors file through `io::save_safetensors_with_extra` (atomic) and
//! `io::load_safetensors_with_extra` (checked before written). Reads and writes files; never
//! steps a model. `header` writes and parses the metadata, `contents` the other tensors and
//! the checksum.
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
//! `chainrule.checksum`, an FNV-1a hash of everything else (see `contents::checksum`).
//!
//! **Corruption.** safetensors has no checksum, so a changed byte in a tensor's data would
//! load as a wrong number. The checksum makes every changed value, tensor or metadata, an
//! [`Error::BadCheckpoint`] naming `chainrule.checksum` instead. It is checked last, so a
//! checkpoint of another model or optimizer is reported as such.
//!
//! The shuffle needs no saved generator state: epoch `e`'s order is
//! `epoch_order(seed, e, n)`, and the position in it is `trainer.batch_in_epoch`.

mod contents;
mod header;

use std::path::Path;

use self::contents::{buffer_key, checksum, HistoryTensors};
use self::header::{read_metadata, Fields, Header, CHECKSUM_KEY};
use super::trainer::Trainer;
use crate::nn::Init;
use crate::optim::{Optimizer, OptimizerState};
use crate::{io, Error, Parameters, Real, Result};

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
    /// use chainrule::loss::Mse;
    /// use chainrule::nn::Linear;
    /// use chainrule::optim::Adam;
    /// use chainrule::train::Trainer;
    ///
    /// let data = chainrule::data::sine::<f64>(16, 0.0, 1);
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
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        let optimizer = self.optimizer.state();
        let header = Header::of(&self.state, self.config.seed, &optimizer);
        let history = HistoryTensors::of(&self.state.history);
        let buffer_keys: Vec<String> = optimizer
            .buffers
            .keys()
            .map(|name| buffer_key(name))
            .collect();
        let buffers = optimizer.buffers.values().map(Vec::as_slice);
        let mut extra: Vec<(&str, &[T])> = buffer_keys
            .iter()
            .map(String::as_str)
            .zip(buffers)
            .collect();
        extra.extend(history.named());
        let mut metadata = header.to_metadata();
        let hash = checksum(
            &metadata,
            &self.model,
            extra.iter().map(|&(_, values)| values),
        );
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
    /// use chainrule::io::save_safetensors;
    /// use chainrule::loss::Mse;
    /// use chainrule::nn::Linear;
    /// use chainrule::optim::Sgd;
    /// use chainrule::train::Trainer;
    /// use chainrule::Error;
    ///
    /// let path = std::env::temp_dir().join(format!("doc-plain-{}.safetensors", std::process::id()));
    /// save_safetensors(&Linear::<f64, 1, 1>::zeros(), &path)?;
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// let error = trainer.load_checkpoint(&path).unwrap_err();
    /// assert!(matches!(&error, Error::BadCheckpoint { key, .. } if key == "chainrule.checkpoint"));
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), chainrule::Error>(())
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
            max_count: file_len / std::mem::size_of::<T>(),
        };
        let header = Header::parse(&fields)?;
        // Read everything into scratch space; the trainer changes only once all of it is in.
        let Loaded {
            model,
            buffers,
            history,
        } = Loaded::read(&header, path)?;
        let expected = fields.string(CHECKSUM_KEY)?;
        let tensors = buffers
            .iter()
            .map(Vec::as_slice)
            .chain(history.named().map(|(_, values)| values));
        let found = format!("{:016x}", checksum(&metadata, &model, tensors));
        let optimizer = self.optimizer_with_state(OptimizerState {
            step: header.optimizer_step,
            buffers: header.buffer_names.iter().cloned().zip(buffers).collect(),
        })?;
        if found != expected {
            return Err(fields.bad(
                CHECKSUM_KEY,
                format!(
                    "is {expected}, but the contents hash to {found}: a tensor or a metadata \
                     value changed after the file was written"
                ),
            ));
        }
        self.model = model;
        self.optimizer = optimizer;
        self.config.seed = header.seed;
        self.state = header.state(history.into_history(&header.validation_kinds));
        Ok(())
    }

    /// A copy of the optimizer with `state`, checked against its configuration; so an error
    /// leaves the trainer's optimizer as it was.
    fn optimizer_with_state(&self, state: OptimizerState<T>) -> Result<O>
    where
        O: Clone,
    {
        let mut optimizer = self.optimizer.clone();
        optimizer.load_state(state).map_err(name_optimizer_buffer)?;
        Ok(optimizer)
    }
}

/// A checkpoint's tensors, read and checked, not yet in the trainer.
struct Loaded<T, M> {
    model: M,
    /// The optimizer's buffers, in the header's order.
    buffers: Vec<Vec<T>>,
    history: HistoryTensors<T>,
}

impl<T: Real, M: Parameters<T> + Init> Loaded<T, M> {
    /// The tensors of the file at `path`, which must be exactly those `header` describes for
    /// a model `M`.
    fn read(header: &Header, path: &Path) -> Result<Self> {
        let mut model = M::zeros();
        let n_params = model.len();
        let keys: Vec<String> = header
            .buffer_names
            .iter()
            .map(|name| buffer_key(name))
            .collect();
        let mut buffers = vec![vec![T::ZERO; n_params]; keys.len()];
        let mut history = HistoryTensors::zeros(header.step, header.epoch);
        let mut extra: Vec<(&str, &mut [T])> = keys
            .iter()
            .map(String::as_str)
            .zip(buffers.iter_mut().map(Vec::as_mut_slice))
            .collect();
        extra.extend(history.named_mut());
        io::load_safetensors_with_extra(&mut model, &mut extra, path)?;
        Ok(Loaded {
            model,
            buffers,
            history,
        })
    }
}

/// An optimizer's state error, with the buffer named as the checkpoint names it.
fn name_optimizer_buffer(error: Error) -> Error {
    let prefixed = |key: String| buffer_key(&key);
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
