//! `MultiStepLR`, `OneCycleLR` and `ReduceLROnPlateau` against PyTorch's documented formulas
//! and algorithms, written out here and sharing no code with the library, each over at least
//! 100 steps or epochs. (By hand, PyTorch 2.15's schedulers gave the same bits as ours for
//! every sequence checked here, momenta included.)

use std::f64::consts::PI;

use graph_runtime::optim::schedule::{
    Anneal, Mode, MultiStepLR, OneCycleLR, ReduceLROnPlateau, Schedule, ThresholdMode,
};

#[track_caller]
fn assert_close(ours: f64, expected: f64, step: usize) {
    assert!(
        (ours - expected).abs() <= 1e-14 * expected.abs(),
        "step {step}: {ours} but PyTorch's formula gives {expected}"
    );
}

// ---------------------------------------------------------------------------------------------
// MultiStepLR

#[test]
fn multi_step_lr_multiplies_by_gamma_at_each_milestone() {
    // PyTorch's chainable form: at a milestone that appears n times, lr ← lr · gammaⁿ.
    let milestones = [30, 80, 80, 120];
    let schedule = MultiStepLR::new([120, 80, 30, 80], 0.5);
    let mut expected = 0.2;
    for step in 0..200 {
        let hits = milestones.iter().filter(|&&m| m == step).count();
        expected *= 0.5f64.powi(hits as i32);
        assert_close(schedule.lr(0.2, step), expected, step);
    }
    assert_eq!(schedule.lr(0.2, 79), 0.1);
    assert_eq!(schedule.lr(0.2, 80), 0.2 * 0.125);
    assert_eq!(Schedule::<f64>::momentum(&schedule, 100), None);
}

#[test]
fn multi_step_lr_without_milestones_is_constant() {
    let schedule = MultiStepLR::new([], 0.1);
    assert!((0..150).all(|step| schedule.lr(0.3_f32, step) == 0.3));
}

// ---------------------------------------------------------------------------------------------
// OneCycleLR: the closed form of PyTorch's docs. Phase `i` runs from step `sᵢ` to `eᵢ`; with
// `p = (step − sᵢ)/(eᵢ − sᵢ)`, the rate is `end + (start − end)·(1 + cos πp)/2`, or
// `start + (end − start)·p` for `'linear'`. Two phases: initial_lr → max_lr up to step
// `pct_start·total − 1`, then max_lr → min_lr up to `total − 1`; three phases: up, back
// down to initial_lr by `2·pct_start·total − 2`, then down to min_lr.

struct OneCycle {
    max_lr: f64,
    total: usize,
    pct_start: f64,
    div_factor: f64,
    final_div_factor: f64,
    linear: bool,
    three_phase: bool,
}

impl OneCycle {
    fn pytorch_defaults(max_lr: f64, total: usize) -> Self {
        OneCycle {
            max_lr,
            total,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            linear: false,
            three_phase: false,
        }
    }

    fn anneal(&self, start: f64, end: f64, p: f64) -> f64 {
        if self.linear {
            start + (end - start) * p
        } else {
            end + (start - end) * (1.0 + (PI * p).cos()) / 2.0
        }
    }

    /// The rate and the momentum (cycled between 0.85 and 0.95) at `step`.
    fn at(&self, step: usize) -> (f64, f64) {
        let t = self.total as f64;
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let peak = self.pct_start * t - 1.0;
        let step = step as f64;
        if step <= peak {
            let p = step / peak;
            return (
                self.anneal(initial, self.max_lr, p),
                self.anneal(0.95, 0.85, p),
            );
        }
        if self.three_phase {
            let back = 2.0 * self.pct_start * t - 2.0;
            if step <= back {
                let p = (step - peak) / (back - peak);
                return (
                    self.anneal(self.max_lr, initial, p),
                    self.anneal(0.85, 0.95, p),
                );
            }
            let p = (step - back) / (t - 1.0 - back);
            return (self.anneal(initial, min, p), 0.95);
        }
        let p = (step - peak) / (t - 1.0 - peak);
        (self.anneal(self.max_lr, min, p), self.anneal(0.85, 0.95, p))
    }

    #[track_caller]
    fn check(&self, schedule: &OneCycleLR) {
        for step in 0..self.total {
            let (lr, momentum) = self.at(step);
            assert_close(schedule.lr(123.0, step), lr, step);
            let ours: Option<f64> = schedule.momentum(step);
            assert!((ours.unwrap() - momentum).abs() < 1e-15, "step {step}");
        }
    }
}

#[test]
fn one_cycle_lr_with_pytorchs_defaults_follows_the_closed_form() {
    for total in [1000, 137, 100] {
        let reference = OneCycle::pytorch_defaults(0.1, total);
        reference.check(&OneCycleLR::new(0.1, total));
    }
    let schedule = OneCycleLR::new(0.1, 1000);
    let lr = |step| Schedule::<f64>::lr(&schedule, 0.0, step);
    assert_close(lr(0), 0.1 / 25.0, 0);
    assert_eq!(lr(299), 0.1);
    assert_close(lr(999), 0.1 / 25.0 / 1e4, 999);
    // Rising to the peak, then falling all the way.
    assert!((1..300).all(|step| lr(step) > lr(step - 1)));
    assert!((300..1000).all(|step| lr(step) < lr(step - 1)));
}

#[test]
fn one_cycle_lr_options_follow_the_closed_form() {
    let mut reference = OneCycle::pytorch_defaults(2.0, 250);
    reference.pct_start = 0.45;
    reference.div_factor = 10.0;
    reference.final_div_factor = 100.0;
    reference.linear = true;
    let schedule = OneCycleLR::new(2.0, 250)
        .pct_start(0.45)
        .div_factor(10.0)
        .final_div_factor(100.0)
        .anneal_strategy(Anneal::Linear);
    reference.check(&schedule);

    let mut reference = OneCycle::pytorch_defaults(0.5, 300);
    reference.three_phase = true;
    reference.check(&OneCycleLR::new(0.5, 300).three_phase(true));
    reference.linear = true;
    reference.check(
        &OneCycleLR::new(0.5, 300)
            .three_phase(true)
            .anneal_strategy(Anneal::Linear),
    );
}

#[test]
fn one_cycle_lr_holds_its_minimum_after_the_last_step() {
    let schedule = OneCycleLR::new(0.1, 120);
    let last: f64 = schedule.lr(0.0, 119);
    assert_eq!(schedule.lr(0.0, 120), last);
    assert_eq!(schedule.lr(0.0, 10_000), last);
    assert_eq!(schedule.momentum(10_000), Some(0.95));
    assert_eq!(
        Schedule::<f32>::momentum(&schedule.cycle_momentum(false), 5),
        None
    );
}

#[test]
fn one_cycle_lr_rejects_what_pytorch_rejects() {
    use std::panic::catch_unwind;
    assert!(catch_unwind(|| OneCycleLR::new(0.1, 0)).is_err());
    assert!(catch_unwind(|| OneCycleLR::new(0.1, 10).pct_start(1.5)).is_err());
    assert!(catch_unwind(|| OneCycleLR::new(0.1, 10).pct_start(f64::NAN)).is_err());
    // 0.1 · 10 − 1 = 0: a first phase from step 0 to step 0 (PyTorch divides by zero).
    assert!(catch_unwind(|| OneCycleLR::new(0.1, 10).pct_start(0.1)).is_err());
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau: PyTorch's documented algorithm, replayed.

struct Plateau {
    max_mode: bool,
    absolute: bool,
    factor: f64,
    patience: usize,
    threshold: f64,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
}

impl Plateau {
    fn pytorch_defaults() -> Self {
        Plateau {
            max_mode: false,
            absolute: false,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }

    /// The rate after each epoch of `metrics`, starting from `lr`.
    fn replay(&self, metrics: &[f64], mut lr: f64) -> Vec<f64> {
        let mut best = if self.max_mode {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        let (mut bad_epochs, mut cooldown_left) = (0, 0);
        let mut rates = Vec::new();
        for &metric in metrics {
            let improved = match (self.max_mode, self.absolute) {
                (false, false) => metric < best * (1.0 - self.threshold),
                (false, true) => metric < best - self.threshold,
                (true, false) => metric > best * (1.0 + self.threshold),
                (true, true) => metric > best + self.threshold,
            };
            if improved {
                best = metric;
                bad_epochs = 0;
            } else {
                bad_epochs += 1;
            }
            if cooldown_left > 0 {
                cooldown_left -= 1;
                bad_epochs = 0;
            }
            if bad_epochs > self.patience {
                let reduced = f64::max(lr * self.factor, self.min_lr);
                if lr - reduced > self.eps {
                    lr = reduced;
                }
                cooldown_left = self.cooldown;
                bad_epochs = 0;
            }
            rates.push(lr);
        }
        rates
    }
}

/// A validation loss over 300 epochs: fast progress, then slower, with noise and plateaus.
fn validation_losses() -> Vec<f64> {
    (0..300)
        .map(|epoch| {
            let epoch = epoch as f64;
            let trend = 0.3 + 0.7 / (1.0 + epoch / 8.0);
            trend + 0.004 * (epoch * 1.7).sin() + 0.002 * (epoch * 0.31).cos()
        })
        .collect()
}

fn ours(mut plateau: ReduceLROnPlateau, metrics: &[f64], mut lr: f64) -> Vec<f64> {
    metrics
        .iter()
        .map(|&metric| {
            lr = plateau.step(metric, lr);
            lr
        })
        .collect()
}

#[track_caller]
fn assert_cuts(rates: &[f64], at_least: usize) {
    let cuts = rates.windows(2).filter(|pair| pair[1] < pair[0]).count();
    assert!(
        cuts >= at_least,
        "only {cuts} cuts: the test checks too little"
    );
}

#[test]
fn reduce_lr_on_plateau_with_pytorchs_defaults_replays_its_algorithm() {
    let losses = validation_losses();
    let expected = Plateau::pytorch_defaults().replay(&losses, 0.1);
    assert_cuts(&expected, 2);
    assert_eq!(ours(ReduceLROnPlateau::new(), &losses, 0.1), expected);
}

#[test]
fn reduce_lr_on_plateau_options_replay_its_algorithm() {
    let losses = validation_losses();
    let reference = Plateau {
        factor: 0.5,
        patience: 3,
        cooldown: 4,
        min_lr: 2e-3,
        threshold: 1e-3,
        ..Plateau::pytorch_defaults()
    };
    let expected = reference.replay(&losses, 0.1);
    assert_cuts(&expected, 4);
    assert_eq!(*expected.last().unwrap(), 2e-3); // down to min_lr
    let plateau = ReduceLROnPlateau::new()
        .factor(0.5)
        .patience(3)
        .cooldown(4)
        .min_lr(2e-3)
        .threshold(1e-3, ThresholdMode::Rel);
    assert_eq!(ours(plateau, &losses, 0.1), expected);

    // An accuracy, higher being better, with an absolute threshold.
    let accuracies: Vec<f64> = losses.iter().map(|loss| 1.0 - loss).collect();
    let reference = Plateau {
        max_mode: true,
        absolute: true,
        threshold: 2e-3,
        patience: 5,
        eps: 1e-4,
        ..Plateau::pytorch_defaults()
    };
    let expected = reference.replay(&accuracies, 1.0);
    assert_cuts(&expected, 3);
    let plateau = ReduceLROnPlateau::new()
        .mode(Mode::Max)
        .threshold(2e-3, ThresholdMode::Abs)
        .patience(5)
        .eps(1e-4);
    assert_eq!(ours(plateau, &accuracies, 1.0), expected);
}

#[test]
fn reduce_lr_on_plateau_resumes_from_its_state() {
    let losses = validation_losses();
    let configured = || ReduceLROnPlateau::new().patience(4).cooldown(2);
    let whole = ours(configured(), &losses, 0.1);

    let mut first = configured();
    let mut lr = 0.1;
    for &loss in &losses[..150] {
        lr = first.step(loss, lr);
    }
    let mut resumed = configured();
    resumed.load_state(first.state());
    let rest = ours(resumed, &losses[150..], lr);
    assert_eq!(rest, whole[150..]);
}

#[test]
fn reduce_lr_on_plateau_steps_an_f32_rate_as_pytorch_rounds_it() {
    let losses: Vec<f32> = validation_losses()
        .iter()
        .map(|&loss| loss as f32)
        .collect();
    let mut plateau = ReduceLROnPlateau::new().patience(2);
    let as_f64: Vec<f64> = losses.iter().map(|&loss| f64::from(loss)).collect();
    let expected = Plateau {
        patience: 2,
        ..Plateau::pytorch_defaults()
    }
    .replay(&as_f64, f64::from(0.1_f32));
    // PyTorch keeps the rate of an f32 model as a Python float; here it is the optimizer's
    // f32, so each cut is rounded to f32 and the next cut starts from that.
    let mut lr = 0.1_f32;
    for (epoch, &loss) in losses.iter().enumerate() {
        lr = plateau.step(loss, lr);
        let relative = (f64::from(lr) - expected[epoch]).abs() / expected[epoch];
        assert!(
            relative < 1e-6,
            "epoch {epoch}: {lr} vs {}",
            expected[epoch]
        );
    }
    assert_cuts(&expected, 3);
}
