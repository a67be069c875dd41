//! A checkpoint's tensors besides the model's: the optimizer's buffers and the history as
//! flat tensors, and the checksum over everything. Converts and hashes; never touches a file.

use std::collections::HashMap;

use super::super::{EpochSummary, History, Metrics};
use super::header::CHECKSUM_KEY;
use crate::{Parameters, Real};

/// The key of the optimizer's buffer `name` (`exp_avg`) in the file: `optimizer.exp_avg`.
pub(super) fn buffer_key(name: &str) -> String {
    format!("optimizer.{name}")
}

/// The history as a checkpoint stores it: four flat tensors, with 0 where an epoch has no
/// such validation value. (The header says which epochs have which.)
pub(super) struct HistoryTensors<T> {
    steps: Vec<T>,
    epoch_losses: Vec<T>,
    validation_losses: Vec<T>,
    validation_accuracy: Vec<T>,
}

impl<T: Real> HistoryTensors<T> {
    pub(super) fn of(history: &History<T>) -> Self {
        let epochs = &history.epochs;
        let validation = |field: fn(&Metrics<T>) -> Option<T>| -> Vec<T> {
            epochs
                .iter()
                .map(|epoch| epoch.validation.as_ref().and_then(field).unwrap_or(T::ZERO))
                .collect()
        };
        HistoryTensors {
            steps: history.steps.clone(),
            epoch_losses: epochs.iter().map(|epoch| epoch.loss).collect(),
            validation_losses: validation(|metrics| Some(metrics.loss)),
            validation_accuracy: validation(|metrics| metrics.accuracy),
        }
    }

    /// Zeros for a history of `steps` steps and `epochs` epochs, to load into.
    pub(super) fn zeros(steps: usize, epochs: usize) -> Self {
        HistoryTensors {
            steps: vec![T::ZERO; steps],
            epoch_losses: vec![T::ZERO; epochs],
            validation_losses: vec![T::ZERO; epochs],
            validation_accuracy: vec![T::ZERO; epochs],
        }
    }

    /// The tensors under their keys, in the file's (and the checksum's) order.
    pub(super) fn named(&self) -> [(&'static str, &[T]); 4] {
        [
            ("trainer.step_losses", &self.steps),
            ("trainer.epoch_losses", &self.epoch_losses),
            ("trainer.validation_losses", &self.validation_losses),
            ("trainer.validation_accuracy", &self.validation_accuracy),
        ]
    }

    /// As [`named`](HistoryTensors::named), mutably.
    pub(super) fn named_mut(&mut self) -> [(&'static str, &mut [T]); 4] {
        [
            ("trainer.step_losses", &mut self.steps),
            ("trainer.epoch_losses", &mut self.epoch_losses),
            ("trainer.validation_losses", &mut self.validation_losses),
            ("trainer.validation_accuracy", &mut self.validation_accuracy),
        ]
    }

    /// The history, each epoch validated as `validation_kinds` says (`n` not, `l` a loss, `a`
    /// a loss and an accuracy; one letter per epoch, checked by the header).
    pub(super) fn into_history(self, validation_kinds: &str) -> History<T> {
        let epochs = validation_kinds
            .chars()
            .zip(self.epoch_losses)
            .zip(
                self.validation_losses
                    .into_iter()
                    .zip(self.validation_accuracy),
            )
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
        History {
            steps: self.steps,
            epochs,
        }
    }
}

/// FNV-1a (64-bit) of a checkpoint's contents: every metadata entry but the checksum, in key
/// order, as `key NUL value NUL`; then every value of the model's tensors in visit order,
/// then of `tensors` in order, each as the little-endian bytes of its `f64` bits (exact for
/// `f32` and `f64`).
pub(super) fn checksum<'a, T: Real, M: Parameters<T>>(
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
