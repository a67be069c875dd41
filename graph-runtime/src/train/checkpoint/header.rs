//! A checkpoint's header: the run's position, the optimizer's step and the names of its
//! buffers, as the strings of the safetensors `__metadata__`. Writes and parses strings;
//! never reads a tensor.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::str::FromStr;

use safetensors::SafeTensors;

use super::super::trainer::State;
use super::super::{History, Metrics};
use crate::nn::Init;
use crate::optim::OptimizerState;
use crate::{io, Error, Parameters, Real, Result};

pub(super) const FORMAT_KEY: &str = "chainrule.checkpoint";
const FORMAT: &str = "1";
pub(super) const CHECKSUM_KEY: &str = "chainrule.checksum";

/// Everything a checkpoint's metadata holds besides its format and checksum.
pub(super) struct Header {
    pub(super) optimizer_step: usize,
    /// The optimizer's buffers, by PyTorch's name (`exp_avg`), in the optimizer's order.
    pub(super) buffer_names: Vec<String>,
    pub(super) seed: u64,
    pub(super) epoch: usize,
    pub(super) batch_in_epoch: usize,
    pub(super) step: usize,
    pub(super) batch_size: Option<usize>,
    pub(super) train_samples: Option<usize>,
    /// The lowest monitored loss's `f64` bits (exact) and its epoch.
    best: Option<(u64, usize)>,
    epochs_without_improvement: usize,
    /// One letter per finished epoch: `n` not validated, `l` a loss, `a` a loss and an
    /// accuracy.
    pub(super) validation_kinds: String,
}

impl Header {
    /// The header of a trainer in `state`, shuffling with `seed`, with this optimizer state.
    pub(super) fn of<T: Real>(state: &State<T>, seed: u64, optimizer: &OptimizerState<T>) -> Self {
        Header {
            optimizer_step: optimizer.step,
            buffer_names: optimizer.buffers.keys().cloned().collect(),
            seed,
            epoch: state.epoch,
            batch_in_epoch: state.batch_in_epoch,
            step: state.step,
            batch_size: state.batch_size,
            train_samples: state.train_samples,
            best: state
                .best
                .map(|(loss, epoch)| (loss.to_f64().to_bits(), epoch)),
            epochs_without_improvement: state.epochs_without_improvement,
            validation_kinds: validation_kinds(&state.history),
        }
    }

    /// The metadata strings, under their keys; the format's among them, not the checksum.
    pub(super) fn to_metadata(&self) -> HashMap<String, String> {
        let optional =
            |value: Option<usize>| value.map_or_else(|| "none".to_string(), |v| v.to_string());
        let best_loss = self
            .best
            .map_or_else(|| "none".to_string(), |(bits, _)| format!("{bits:016x}"));
        [
            (FORMAT_KEY, FORMAT.to_string()),
            ("optimizer.step", self.optimizer_step.to_string()),
            ("optimizer.buffers", self.buffer_names.join(",")),
            ("trainer.seed", self.seed.to_string()),
            ("trainer.epoch", self.epoch.to_string()),
            ("trainer.batch_in_epoch", self.batch_in_epoch.to_string()),
            ("trainer.step", self.step.to_string()),
            ("trainer.batch_size", optional(self.batch_size)),
            ("trainer.train_samples", optional(self.train_samples)),
            ("trainer.best_loss", best_loss),
            (
                "trainer.best_epoch",
                self.best.map_or(0, |(_, epoch)| epoch).to_string(),
            ),
            (
                "trainer.epochs_without_improvement",
                self.epochs_without_improvement.to_string(),
            ),
            ("trainer.validation", self.validation_kinds.clone()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
    }

    /// Reads every value, checking that each is there, of its type, and consistent with the
    /// others.
    pub(super) fn parse(fields: &Fields<'_>) -> Result<Self> {
        let format = fields.string(FORMAT_KEY)?;
        if format != FORMAT {
            return Err(fields.bad(
                FORMAT_KEY,
                format!("is `{format}`, but this version of chainrule reads format `{FORMAT}`"),
            ));
        }
        // In the order of the keys, so that the first bad one is reported.
        let header = Header {
            optimizer_step: fields.number("optimizer.step")?,
            buffer_names: fields
                .string("optimizer.buffers")?
                .split(',')
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect(),
            seed: fields.number("trainer.seed")?,
            epoch: fields.count("trainer.epoch")?,
            batch_in_epoch: fields.number("trainer.batch_in_epoch")?,
            step: fields.count("trainer.step")?,
            batch_size: fields.optional("trainer.batch_size")?,
            train_samples: fields.optional("trainer.train_samples")?,
            best: fields.best()?,
            epochs_without_improvement: fields.number("trainer.epochs_without_improvement")?,
            validation_kinds: fields.string("trainer.validation")?.to_string(),
        };
        header.check(fields)?;
        Ok(header)
    }

    /// That there is a validation letter per finished epoch, and that a position within an
    /// epoch fits its batch size and training set.
    fn check(&self, fields: &Fields<'_>) -> Result<()> {
        let (epoch, kinds) = (self.epoch, &self.validation_kinds);
        if kinds.len() != epoch || !kinds.chars().all(|kind| "nla".contains(kind)) {
            return Err(fields.bad(
                "trainer.validation",
                format!("is `{kinds}`, but {epoch} finished epochs need as many of `n`, `l`, `a`"),
            ));
        }
        let batch_in_epoch = self.batch_in_epoch;
        let fits = match (self.batch_size, self.train_samples) {
            (Some(size), Some(samples)) => batch_in_epoch
                .checked_mul(size)
                .is_some_and(|used| used <= samples),
            _ => false,
        };
        if batch_in_epoch > 0 && !fits {
            return Err(fields.bad(
                "trainer.batch_in_epoch",
                format!(
                    "is {batch_in_epoch}, more batches than `trainer.batch_size` and \
                     `trainer.train_samples` allow"
                ),
            ));
        }
        Ok(())
    }

    /// The trainer's state this header describes, with `history`.
    pub(super) fn state<T: Real>(&self, history: History<T>) -> State<T> {
        State {
            epoch: self.epoch,
            batch_in_epoch: self.batch_in_epoch,
            step: self.step,
            history,
            best: self
                .best
                .map(|(bits, epoch)| (T::from_f64(f64::from_bits(bits)), epoch)),
            epochs_without_improvement: self.epochs_without_improvement,
            batch_size: self.batch_size,
            train_samples: self.train_samples,
        }
    }
}

/// One letter per finished epoch of `history`: `n` not validated, `l` a loss, `a` a loss and
/// an accuracy.
fn validation_kinds<T>(history: &History<T>) -> String {
    history
        .epochs
        .iter()
        .map(|epoch| match epoch.validation {
            None => 'n',
            Some(Metrics { accuracy: None, .. }) => 'l',
            Some(_) => 'a',
        })
        .collect()
}

/// The header's metadata and the file's length, or the error that says why there is none.
pub(super) fn read_metadata<T: Real, M: Parameters<T> + Init>(
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
pub(super) struct Fields<'a> {
    pub(super) path: &'a Path,
    pub(super) metadata: &'a HashMap<String, String>,
    /// No count can exceed the values the file could hold.
    pub(super) max_count: usize,
}

impl Fields<'_> {
    pub(super) fn bad(&self, key: &str, problem: String) -> Error {
        Error::BadCheckpoint {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            problem,
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<&str> {
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

    /// `trainer.best_loss` (`none`, or an `f64`'s bits as 16 hex digits) and
    /// `trainer.best_epoch`.
    fn best(&self) -> Result<Option<(u64, usize)>> {
        const KEY: &str = "trainer.best_loss";
        let bits =
            match self.string(KEY)? {
                "none" => None,
                bits => Some(u64::from_str_radix(bits, 16).map_err(|_| {
                    self.bad(KEY, format!("is `{bits}`, not `none` or 16 hex digits"))
                })?),
            };
        let epoch: usize = self.number("trainer.best_epoch")?;
        Ok(bits.map(|bits| (bits, epoch)))
    }
}
