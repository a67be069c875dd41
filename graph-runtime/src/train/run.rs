//! The loop both `fit`s share: epochs of steps, each step checked for divergence, then the
//! epoch's summary, early stopping, checkpoints, the callback and the progress bar. How a
//! step's gradient and the validation metrics are computed is the caller's.

use std::cmp::Ordering;
use std::ops::ControlFlow;

use indicatif::ProgressBar;

use super::padding::Batch;
use super::progress;
use super::trainer::{Clip, Trainer};
use super::{epoch_order, EpochSummary, Event, Metrics, Progress, Stop};
use crate::data::{Dataset, Target};
use crate::nn::{Init, Mode};
use crate::optim::{clip_grad_norm, clip_grad_value, Optimizer};
use crate::{Error, Parameters, Real, Result};

/// What one call of `fit` fixes for all its steps.
struct Run {
    steps_per_epoch: usize,
    bar: Option<ProgressBar>,
}

/// What the callback hears about, besides where the trainer is.
struct Report<T> {
    event: Event,
    epoch: usize,
    lr: T,
    loss: T,
    validation: Option<Metrics<T>>,
}

impl<T, M, O, L, const I: usize, Y> Trainer<T, M, O, L, I, Y>
where
    T: Real,
    M: Parameters<T> + Init + Mode,
    O: Optimizer<T>,
    Y: Target<T>,
{
    /// Trains until the last epoch, an early stop or the callback's stop: `gradient` computes
    /// a step's loss and gradient, `evaluate` the validation metrics. In training mode.
    pub(super) fn run<const B: usize>(
        &mut self,
        train: &Dataset<T, I, Y>,
        mut gradient: impl FnMut(&M, &L, &Dataset<T, I, Y>, &Batch<B>, &mut M) -> T,
        evaluate: impl Fn(&M, &L, &Dataset<T, I, Y>) -> Metrics<T>,
    ) -> Result<Stop> {
        let run = self.start::<B>(train.len())?;
        self.model.train();
        // One gradient for the whole run: each step writes into it.
        let mut grads = M::zeros();
        while self.state.epoch < self.config.epochs {
            let order = epoch_order(self.config.seed, self.state.epoch, train.len());
            while self.state.batch_in_epoch < run.steps_per_epoch {
                let batch = Batch::of(&order, self.state.batch_in_epoch * B);
                if self
                    .train_step(&run, train, &batch, &mut gradient, &mut grads)?
                    .is_break()
                {
                    return Ok(Stop::Callback);
                }
            }
            if let ControlFlow::Break(stop) = self.end_epoch(&run, &evaluate) {
                self.restore_best_weights();
                return Ok(stop);
            }
        }
        if let Some(bar) = &run.bar {
            bar.finish();
        }
        self.restore_best_weights();
        Ok(Stop::Finished)
    }

    /// Checks that `n` training samples make batches of `B` (or one, padded, without
    /// `drop_last`), that a validation set is not
    /// empty, and that a run stopped mid-epoch resumes with the same `B` and `n` (else the
    /// rest of its epoch would be another shuffle's); then records them and shows the bar.
    fn start<const B: usize>(&mut self, n: usize) -> Result<Run> {
        let needed = if self.config.drop_last { B.max(1) } else { 1 };
        if n < needed || B == 0 {
            return Err(Error::TooFewSamples {
                what: "training set",
                samples: n,
                needed,
            });
        }
        if self.validation.as_ref().is_some_and(Dataset::is_empty) {
            return Err(Error::TooFewSamples {
                what: "validation set",
                samples: 0,
                needed: 1,
            });
        }
        if self.state.batch_in_epoch > 0 {
            for (what, resumed, given) in [
                ("batch size", self.state.batch_size, B),
                ("number of training samples", self.state.train_samples, n),
            ] {
                if resumed.is_some_and(|resumed| resumed != given) {
                    return Err(Error::ResumeMismatch {
                        what,
                        expected: resumed.unwrap_or_default(),
                        found: given,
                    });
                }
            }
        }
        self.state.batch_size = Some(B);
        self.state.train_samples = Some(n);
        let steps_per_epoch = if self.config.drop_last {
            n / B
        } else {
            n.div_ceil(B)
        };
        let done = (self.state.epoch * steps_per_epoch + self.state.batch_in_epoch) as u64;
        let total = (self.config.epochs * steps_per_epoch) as u64;
        // The run's losses, reserved at once so that its steps allocate nothing.
        let remaining = total.saturating_sub(done) as usize;
        self.state.history.steps.reserve(remaining);
        let bar = progress::bar(self.config.show_progress, total, done.min(total));
        Ok(Run {
            steps_per_epoch,
            bar,
        })
    }

    /// One step on the samples at `indices`: the scheduled rate, the gradient, the checked
    /// update, then the bar, a checkpoint when one is due, and the callback, whose answer it
    /// returns.
    fn train_step<const B: usize>(
        &mut self,
        run: &Run,
        train: &Dataset<T, I, Y>,
        batch: &Batch<B>,
        gradient: &mut impl FnMut(&M, &L, &Dataset<T, I, Y>, &Batch<B>, &mut M) -> T,
        grads: &mut M,
    ) -> Result<ControlFlow<()>> {
        let epoch = self.state.epoch;
        let lr = self.lr_at(self.state.step);
        self.optimizer.set_lr(lr);
        let loss = gradient(&self.model, &self.loss, train, batch, grads);
        if let Err(error) = self.apply(loss, grads, lr) {
            if let Some(bar) = &run.bar {
                bar.abandon_with_message(format!("diverged at step {}", self.state.step));
            }
            return Err(error);
        }
        if let Some(bar) = &run.bar {
            bar.inc(1);
        }
        let epochs = self.config.epochs;
        progress::say(run.bar.as_ref(), || {
            format!(
                "epoch {}/{epochs} loss {loss:.4} lr {:.2e}",
                epoch + 1,
                lr.to_f64()
            )
            .into()
        });
        self.checkpoint_if_due()?;
        let report = Report {
            event: Event::Step,
            epoch,
            lr,
            loss,
            validation: None,
        };
        Ok(self.call_back(run, report))
    }

    /// One step's update, checked: the loss and gradient must be finite before it and the
    /// parameters after it. Counts the step only if all are. Clips the gradient first, if
    /// asked to.
    fn apply(&mut self, loss: T, grads: &mut M, lr: T) -> Result<()> {
        let diverged = |what: String| Error::Diverged {
            step: self.state.step,
            epoch: self.state.epoch,
            // The decimal the rate prints as (`1.1`, not f32's `1.100000023841858`).
            lr: lr.to_string().parse().unwrap_or(lr.to_f64()),
            what,
        };
        if !loss.is_finite() {
            return Err(diverged(format!("the loss is {loss}")));
        }
        if !grads.all_finite() {
            let name = first_non_finite(grads);
            return Err(diverged(format!("the gradient of {name} is not finite")));
        }
        match self.config.clip {
            Some(Clip::Norm(max_norm)) => _ = clip_grad_norm(grads, max_norm),
            Some(Clip::Value(clip_value)) => clip_grad_value(grads, clip_value),
            None => {}
        }
        let backup: &mut M = self.backup.get_or_insert_with(|| Box::new(M::zeros()));
        backup.copy_from(&self.model);
        self.optimizer.step(&mut self.model, grads);
        if !self.model.all_finite() {
            let name = first_non_finite(&self.model);
            self.model.copy_from(backup);
            return Err(diverged(format!("the update made {name} not finite")));
        }
        self.state.history.steps.push(loss);
        self.state.step += 1;
        self.state.batch_in_epoch += 1;
        Ok(())
    }

    /// Saves the checkpoint [`checkpoint_every`](Trainer::checkpoint_every) asks for, if the
    /// step count is a multiple of its interval.
    fn checkpoint_if_due(&self) -> Result<()> {
        match &self.config.checkpoint {
            Some((every, path)) if self.state.step.is_multiple_of(*every) => {
                self.save_checkpoint(path)
            }
            _ => Ok(()),
        }
    }

    /// After the epoch's last step: its summary into the history, the bar's line, the
    /// callback, then early stopping. `Break` with the reason to stop, if training stops.
    fn end_epoch(
        &mut self,
        run: &Run,
        evaluate: impl Fn(&M, &L, &Dataset<T, I, Y>) -> Metrics<T>,
    ) -> ControlFlow<Stop> {
        let epoch = self.state.epoch;
        let loss = self.epoch_mean_loss(run.steps_per_epoch);
        let validation = self.validation.as_ref().map(|validation| {
            self.model.eval();
            let metrics = evaluate(&self.model, &self.loss, validation);
            self.model.train();
            metrics
        });
        self.state
            .history
            .epochs
            .push(EpochSummary { loss, validation });
        self.track_best(validation.map_or(loss, |metrics| metrics.loss), epoch);
        self.state.epoch += 1;
        self.state.batch_in_epoch = 0;
        if let Some(bar) = &run.bar {
            bar.set_message(epoch_line(epoch, self.config.epochs, loss, validation));
        }
        let lr = self.lr_at(self.state.step.saturating_sub(1));
        let report = Report {
            event: Event::Epoch,
            epoch,
            lr,
            loss,
            validation,
        };
        if self.call_back(run, report).is_break() {
            return ControlFlow::Break(Stop::Callback);
        }
        match (self.config.patience, self.state.best) {
            (Some(patience), Some((_, best_epoch)))
                if self.state.epochs_without_improvement >= patience =>
            {
                if let Some(bar) = &run.bar {
                    bar.finish();
                }
                ControlFlow::Break(Stop::EarlyStopping { best_epoch })
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// The mean of the losses of the epoch's `steps_per_epoch` steps, the last in the history.
    fn epoch_mean_loss(&self, steps_per_epoch: usize) -> T {
        let steps = &self.state.history.steps;
        let this_epoch = &steps[steps.len() - steps_per_epoch..];
        let sum = this_epoch.iter().fold(T::ZERO, |sum, &loss| sum + loss);
        sum / T::from_f64(steps_per_epoch as f64)
    }

    /// Early stopping's bookkeeping: whether `monitored`, epoch `epoch`'s loss, is the lowest
    /// so far; if so, and [`restore_best`](Trainer::restore_best) asks, a copy of the model.
    fn track_best(&mut self, monitored: T, epoch: usize) {
        match self.state.best {
            Some((best, _)) if monitored.partial_cmp(&best) != Some(Ordering::Less) => {
                self.state.epochs_without_improvement += 1;
            }
            _ => {
                self.state.best = Some((monitored, epoch));
                self.state.epochs_without_improvement = 0;
                if self.config.restore_best {
                    let (best_epoch, copy) = self.best_weights.get_or_insert_default();
                    *best_epoch = epoch;
                    copy.clear();
                    self.model
                        .visit_named("", &mut |_, tensor| copy.extend_from_slice(tensor.data));
                }
            }
        }
    }

    /// Puts back the best epoch's copy, if [`restore_best`](Trainer::restore_best) asks and
    /// the copy is of the best epoch (a run resumed from a checkpoint may not have it).
    fn restore_best_weights(&mut self) {
        let (Some((_, best_epoch)), Some((copied_epoch, copy))) =
            (self.state.best, &self.best_weights)
        else {
            return;
        };
        if !self.config.restore_best || best_epoch != *copied_epoch {
            return;
        }
        let mut rest = copy.as_slice();
        self.model.visit_named_mut("", &mut |_, tensor| {
            let (this, others) = rest.split_at(tensor.data.len());
            tensor.data.copy_from_slice(this);
            rest = others;
        });
    }

    /// Calls the callback, if there is one, with `report` and where training is.
    fn call_back(&mut self, run: &Run, report: Report<T>) -> ControlFlow<()> {
        let Some(callback) = self.callback.as_mut() else {
            return ControlFlow::Continue(());
        };
        callback(&Progress {
            event: report.event,
            epoch: report.epoch,
            epochs: self.config.epochs,
            step: self.state.step,
            steps_per_epoch: run.steps_per_epoch,
            lr: report.lr,
            loss: report.loss,
            validation: report.validation,
            history: &self.state.history,
            bar: run.bar.as_ref(),
        })
    }
}

/// The bar's line after an epoch: `epoch 3/10 loss 0.1234, validation loss 0.2345, …`.
fn epoch_line<T: Real>(
    epoch: usize,
    epochs: usize,
    loss: T,
    validation: Option<Metrics<T>>,
) -> String {
    match validation {
        Some(metrics) => format!(
            "epoch {}/{epochs} loss {loss:.4}, validation {metrics:.4}",
            epoch + 1
        ),
        None => format!("epoch {}/{epochs} loss {loss:.4}", epoch + 1),
    }
}

/// The name of the first tensor with a non-finite element, in backticks, for a message.
fn first_non_finite<T: Real, P: Parameters<T>>(params: &P) -> String {
    let mut found = None;
    params.visit_named("", &mut |name, tensor| {
        if found.is_none() && !tensor.data.iter().all(|x| x.is_finite()) {
            found = Some(name.to_string());
        }
    });
    match found {
        Some(name) if !name.is_empty() => format!("`{name}`"),
        _ => "the parameters".to_string(),
    }
}
