//! `optim` against PyTorch's published algorithms: every optimizer configuration is checked
//! over many steps against a reference written here, element by element, from the pseudo-code
//! in the `torch.optim.SGD`, `Adam` and `AdamW` docs, sharing no code with the library. Also:
//! every parameter type steps alike, state round-trips bit for bit, the schedules are their
//! closed forms, and steps after the first allocate nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

use graph_runtime::nalgebra::{SMatrix, SVector};
use graph_runtime::optim::schedule::{
    CosineAnnealingLR, ExponentialLR, LinearLR, Schedule, SequentialLR, StepLR,
};
use graph_runtime::optim::{Adam, AdamW, Optimizer, OptimizerState, Sgd};
use graph_runtime::params::{key, TensorMut, TensorRef};
use graph_runtime::{Error, Parameters};

// ---------------------------------------------------------------------------------------------
// The objective: f(θ) = Σ ½·cᵢ·(θᵢ − aᵢ)² + θᵢ⁴/40, a different curvature per coordinate and a
// quartic term, so the gradient changes with θ and errors compound from step to step.

const N: usize = 6;
const CURVATURE: [f64; N] = [0.5, 1.0, 2.0, 4.0, 0.25, 3.0];
const TARGET: [f64; N] = [1.0, -2.0, 0.5, 3.0, -1.0, 0.0];
const START: [f64; N] = [2.0, 1.0, -1.5, 0.0, 2.5, -2.0];
const STEPS: usize = 30;

fn objective(theta: &[f64; N]) -> f64 {
    (0..N)
        .map(|i| 0.5 * CURVATURE[i] * (theta[i] - TARGET[i]).powi(2) + theta[i].powi(4) / 40.0)
        .sum()
}

fn gradient(theta: &[f64; N]) -> [f64; N] {
    std::array::from_fn(|i| CURVATURE[i] * (theta[i] - TARGET[i]) + theta[i].powi(3) / 10.0)
}

/// The gradient of −f, for the `maximize` runs.
fn gradient_of_negative(theta: &[f64; N]) -> [f64; N] {
    gradient(theta).map(|g| -g)
}

/// The library's trajectory: θ after each of `STEPS` steps, the gradient taken at the current θ.
fn trajectory<O: Optimizer<f64>>(
    mut optimizer: O,
    grad_of: fn(&[f64; N]) -> [f64; N],
) -> Vec<[f64; N]> {
    let mut theta = SVector::<f64, N>::from(START);
    (0..STEPS)
        .map(|_| {
            let grad = SVector::<f64, N>::from(grad_of(&theta.data.0[0]));
            optimizer.step(&mut theta, &grad);
            theta.data.0[0]
        })
        .collect()
}

#[track_caller]
fn assert_trajectories_agree(ours: &[[f64; N]], reference: &[[f64; N]]) {
    assert_eq!(ours.len(), reference.len());
    for (step, (ours, reference)) in ours.iter().zip(reference).enumerate() {
        for i in 0..N {
            let (a, b) = (ours[i], reference[i]);
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "step {}, coordinate {i}: {a} but the reference has {b}",
                step + 1
            );
        }
    }
    // The run went somewhere: the test is not comparing two standing-still trajectories.
    let last = reference.last().unwrap();
    assert!((0..N).any(|i| (last[i] - START[i]).abs() > 0.1));
}

// ---------------------------------------------------------------------------------------------
// References, straight from PyTorch's algorithm boxes.

#[derive(Clone, Copy, Default)]
struct SgdConfig {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    maximize: bool,
}

/// `torch.optim.SGD`'s algorithm box:
///
/// ```text
/// for t = 1 to ...
///   g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
///   if λ ≠ 0: g_t ← g_t + λθ_{t−1}
///   if μ ≠ 0:
///     if t > 1: b_t ← μ b_{t−1} + (1 − τ) g_t  else: b_t ← g_t
///     if nesterov: g_t ← g_t + μ b_t  else: g_t ← b_t
///   θ_t ← θ_{t−1} − γ g_t
/// ```
fn reference_sgd(config: SgdConfig, grad_of: fn(&[f64; N]) -> [f64; N]) -> Vec<[f64; N]> {
    let SgdConfig {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
        maximize,
    } = config;
    let mut theta = START;
    let mut b = [0.0; N];
    let mut out = Vec::new();
    for t in 1..=STEPS {
        let nabla = grad_of(&theta);
        for i in 0..N {
            let mut g = if maximize { -nabla[i] } else { nabla[i] };
            if weight_decay != 0.0 {
                g += weight_decay * theta[i];
            }
            if momentum != 0.0 {
                if t > 1 {
                    b[i] = momentum * b[i] + (1.0 - dampening) * g;
                } else {
                    b[i] = g;
                }
                if nesterov {
                    g += momentum * b[i];
                } else {
                    g = b[i];
                }
            }
            theta[i] -= lr * g;
        }
        out.push(theta);
    }
    out
}

#[derive(Clone, Copy)]
struct AdamConfig {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    maximize: bool,
    /// AdamW: θ ← θ − γλθ instead of g ← g + λθ.
    decoupled: bool,
}

impl AdamConfig {
    fn adam(lr: f64) -> Self {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled: false,
        }
    }

    fn adamw(lr: f64) -> Self {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled: true,
            ..AdamConfig::adam(lr)
        }
    }
}

/// `torch.optim.Adam`'s and `AdamW`'s algorithm boxes:
///
/// ```text
/// m_0 ← 0, v_0 ← 0, v_0^max ← 0
/// for t = 1 to ...
///   g_t ← −∇f(θ_{t−1}) if maximize else ∇f(θ_{t−1})
///   Adam:  if λ ≠ 0: g_t ← g_t + λθ_{t−1}        AdamW: θ_t ← θ_{t−1} − γλθ_{t−1}
///   m_t ← β₁ m_{t−1} + (1 − β₁) g_t
///   v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
///   m̂_t ← m_t / (1 − β₁^t)
///   if amsgrad: v_t^max ← max(v_{t−1}^max, v_t); v̂_t ← v_t^max / (1 − β₂^t)
///   else:       v̂_t ← v_t / (1 − β₂^t)
///   θ_t ← θ_t − γ m̂_t / (√v̂_t + ε)
/// ```
fn reference_adam(config: AdamConfig, grad_of: fn(&[f64; N]) -> [f64; N]) -> Vec<[f64; N]> {
    let AdamConfig {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        amsgrad,
        maximize,
        decoupled,
    } = config;
    let mut theta = START;
    let (mut m, mut v, mut v_max) = ([0.0_f64; N], [0.0_f64; N], [0.0_f64; N]);
    let mut out = Vec::new();
    for t in 1..=STEPS {
        let nabla = grad_of(&theta);
        for i in 0..N {
            let mut g = if maximize { -nabla[i] } else { nabla[i] };
            if decoupled {
                theta[i] -= lr * weight_decay * theta[i];
            } else if weight_decay != 0.0 {
                g += weight_decay * theta[i];
            }
            m[i] = beta1 * m[i] + (1.0 - beta1) * g;
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
            let m_hat = m[i] / (1.0 - beta1.powi(t as i32));
            let v_hat = if amsgrad {
                v_max[i] = v_max[i].max(v[i]);
                v_max[i] / (1.0 - beta2.powi(t as i32))
            } else {
                v[i] / (1.0 - beta2.powi(t as i32))
            };
            theta[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        out.push(theta);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Trajectories.

#[test]
fn plain_sgd_follows_the_reference() {
    let config = SgdConfig {
        lr: 0.05,
        ..Default::default()
    };
    assert_trajectories_agree(
        &trajectory(Sgd::new(0.05), gradient),
        &reference_sgd(config, gradient),
    );
}

#[test]
fn sgd_with_momentum_follows_the_reference() {
    let config = SgdConfig {
        lr: 0.02,
        momentum: 0.9,
        ..Default::default()
    };
    assert_trajectories_agree(
        &trajectory(Sgd::new(0.02).momentum(0.9), gradient),
        &reference_sgd(config, gradient),
    );
}

#[test]
fn sgd_with_dampened_momentum_follows_the_reference() {
    let config = SgdConfig {
        lr: 0.02,
        momentum: 0.9,
        dampening: 0.3,
        ..Default::default()
    };
    let ours = trajectory(Sgd::new(0.02).momentum(0.9).dampening(0.3), gradient);
    assert_trajectories_agree(&ours, &reference_sgd(config, gradient));
    // Dampening changed something: it is not ignored.
    let undampened = trajectory(Sgd::new(0.02).momentum(0.9), gradient);
    assert_ne!(ours, undampened);
    // And not on the first step, whose buffer is the gradient itself.
    assert_eq!(ours[0], undampened[0]);
}

#[test]
fn sgd_with_nesterov_momentum_follows_the_reference() {
    let config = SgdConfig {
        lr: 0.02,
        momentum: 0.8,
        nesterov: true,
        ..Default::default()
    };
    assert_trajectories_agree(
        &trajectory(Sgd::new(0.02).momentum(0.8).nesterov(true), gradient),
        &reference_sgd(config, gradient),
    );
}

#[test]
fn sgd_with_weight_decay_follows_the_reference() {
    for momentum in [0.0, 0.5] {
        let config = SgdConfig {
            lr: 0.05,
            momentum,
            weight_decay: 0.1,
            ..Default::default()
        };
        let sgd = Sgd::new(0.05).momentum(momentum).weight_decay(0.1);
        assert_trajectories_agree(&trajectory(sgd, gradient), &reference_sgd(config, gradient));
    }
}

#[test]
fn sgd_maximizing_the_negated_objective_follows_the_reference() {
    let config = SgdConfig {
        lr: 0.02,
        momentum: 0.9,
        weight_decay: 0.05,
        maximize: true,
        ..Default::default()
    };
    let sgd = Sgd::new(0.02)
        .momentum(0.9)
        .weight_decay(0.05)
        .maximize(true);
    let ours = trajectory(sgd, gradient_of_negative);
    assert_trajectories_agree(&ours, &reference_sgd(config, gradient_of_negative));
    // Maximising −f is minimising f: it goes downhill on f, bit for bit like minimising.
    let minimising = trajectory(Sgd::new(0.02).momentum(0.9).weight_decay(0.05), gradient);
    assert_eq!(ours, minimising);
    assert!(objective(ours.last().unwrap()) < objective(&START));
}

#[test]
fn adam_follows_the_reference() {
    assert_trajectories_agree(
        &trajectory(Adam::new(0.05), gradient),
        &reference_adam(AdamConfig::adam(0.05), gradient),
    );
}

#[test]
fn adam_with_other_betas_and_a_large_eps_follows_the_reference() {
    // A large eps makes where it is added (after the bias-corrected root) visible.
    let config = AdamConfig {
        beta1: 0.5,
        beta2: 0.9,
        eps: 1e-2,
        ..AdamConfig::adam(0.05)
    };
    let adam = Adam::new(0.05).betas(0.5, 0.9).eps(1e-2);
    assert_trajectories_agree(
        &trajectory(adam, gradient),
        &reference_adam(config, gradient),
    );
}

#[test]
fn adam_with_weight_decay_follows_the_reference() {
    let config = AdamConfig {
        weight_decay: 0.1,
        ..AdamConfig::adam(0.05)
    };
    let ours = trajectory(Adam::new(0.05).weight_decay(0.1), gradient);
    assert_trajectories_agree(&ours, &reference_adam(config, gradient));
    assert_ne!(ours, trajectory(Adam::new(0.05), gradient));
}

#[test]
fn adam_with_amsgrad_follows_the_reference() {
    let config = AdamConfig {
        amsgrad: true,
        beta2: 0.9, // a short memory, so the second moment falls below its maximum
        ..AdamConfig::adam(0.1)
    };
    let ours = trajectory(Adam::new(0.1).betas(0.9, 0.9).amsgrad(true), gradient);
    assert_trajectories_agree(&ours, &reference_adam(config, gradient));
    // The maximum mattered.
    assert_ne!(ours, trajectory(Adam::new(0.1).betas(0.9, 0.9), gradient));
}

#[test]
fn adam_maximize_follows_the_reference() {
    let config = AdamConfig {
        maximize: true,
        weight_decay: 0.05,
        ..AdamConfig::adam(0.05)
    };
    let adam = Adam::new(0.05).weight_decay(0.05).maximize(true);
    let ours = trajectory(adam, gradient_of_negative);
    assert_trajectories_agree(&ours, &reference_adam(config, gradient_of_negative));
    assert!(objective(ours.last().unwrap()) < objective(&START));
}

#[test]
fn adamw_with_its_default_decay_follows_the_reference() {
    let ours = trajectory(AdamW::new(0.05), gradient);
    assert_trajectories_agree(&ours, &reference_adam(AdamConfig::adamw(0.05), gradient));
    // The default decay of 1e-2 is on, and decoupled: AdamW is neither Adam nor Adam with L2.
    assert_ne!(ours, trajectory(Adam::new(0.05), gradient));
    assert_ne!(
        ours,
        trajectory(Adam::new(0.05).weight_decay(1e-2), gradient)
    );
}

#[test]
fn adamw_with_strong_decay_and_amsgrad_follows_the_reference() {
    let config = AdamConfig {
        weight_decay: 0.5,
        amsgrad: true,
        maximize: true,
        ..AdamConfig::adamw(0.05)
    };
    let adamw = AdamW::new(0.05)
        .weight_decay(0.5)
        .amsgrad(true)
        .maximize(true);
    assert_trajectories_agree(
        &trajectory(adamw, gradient_of_negative),
        &reference_adam(config, gradient_of_negative),
    );
}

#[test]
fn a_changed_learning_rate_takes_effect_at_the_next_step() {
    let mut x = 1.0_f64;
    let mut sgd = Sgd::new(0.1);
    sgd.step(&mut x, &1.0);
    sgd.set_lr(0.5);
    assert_eq!(sgd.lr(), 0.5);
    sgd.step(&mut x, &1.0);
    assert_eq!(x, 1.0 - 0.1 - 0.5);

    let mut adam = Adam::new(0.1);
    adam.set_lr(0.0);
    let mut y = 3.0_f64;
    adam.step(&mut y, &1.0);
    assert_eq!(y, 3.0);
    assert_eq!(adam.step_count(), 1);
}

#[test]
fn f32_parameters_step_like_f64_ones_to_f32_precision() {
    let mut w32 = SVector::<f32, N>::from(START.map(|x| x as f32));
    let mut w64 = SVector::<f64, N>::from(START);
    let (mut adam32, mut adam64) = (AdamW::new(0.05), AdamW::new(0.05));
    for _ in 0..STEPS {
        let g64 = gradient(&w64.data.0[0]);
        let g32 = gradient(&w32.map(f64::from).data.0[0]).map(|g| g as f32);
        adam32.step(&mut w32, &SVector::from(g32));
        adam64.step(&mut w64, &SVector::from(g64));
    }
    for i in 0..N {
        assert!((f64::from(w32[i]) - w64[i]).abs() < 1e-4, "coordinate {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// Any `Parameters` steps: scalars, vectors, matrices, structs.

/// A model with three tensors of different kinds.
#[derive(Clone, Debug, PartialEq)]
struct Model {
    weight: SMatrix<f64, 2, 3>,
    bias: SVector<f64, 2>,
    scale: f64,
}

impl Parameters<f64> for Model {
    fn visit(&self, f: &mut dyn FnMut(&[f64])) {
        self.weight.visit(f);
        self.bias.visit(f);
        self.scale.visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
        self.weight.visit_mut(f);
        self.bias.visit_mut(f);
        self.scale.visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f64], &[f64])) {
        self.weight.zip_mut(&other.weight, f);
        self.bias.zip_mut(&other.bias, f);
        self.scale.zip_mut(&other.scale, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f64>)) {
        self.weight.visit_named(&key(prefix, "weight"), f);
        self.bias.visit_named(&key(prefix, "bias"), f);
        self.scale.visit_named(&key(prefix, "scale"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f64>)) {
        self.weight.visit_named_mut(&key(prefix, "weight"), f);
        self.bias.visit_named_mut(&key(prefix, "bias"), f);
        self.scale.visit_named_mut(&key(prefix, "scale"), f);
    }
}

impl Model {
    fn start() -> Self {
        Model {
            weight: SMatrix::<f64, 2, 3>::new(1.0, -2.0, 0.5, 3.0, -1.0, 2.0),
            bias: SVector::<f64, 2>::new(0.5, -0.5),
            scale: 2.0,
        }
    }

    /// The gradient of a loss whose curvature differs per element, taken at `self`.
    fn gradient(&self) -> Model {
        Model {
            weight: self
                .weight
                .map_with_location(|i, j, w| (1.0 + i as f64 + 0.5 * j as f64) * (w - 0.25)),
            bias: self.bias.map(|b| 3.0 * b + b.powi(3)),
            scale: 0.5 * (self.scale - 1.0),
        }
    }

    fn to_bits(&self) -> Vec<u64> {
        let mut bits = Vec::new();
        self.visit(&mut |tensor| bits.extend(tensor.iter().map(|x| x.to_bits())));
        bits
    }
}

/// Steps a `Model` as one parameter set with `whole`, and its three tensors separately, each
/// with a fresh optimizer from `make`: the results must agree to the bit.
fn assert_the_struct_steps_like_its_tensors<O: Optimizer<f64>>(make: impl Fn() -> O) {
    let mut whole = Model::start();
    let mut whole_optimizer = make();
    let mut parts = Model::start();
    let (mut weight_optimizer, mut bias_optimizer, mut scale_optimizer) = (make(), make(), make());
    for _ in 0..20 {
        let grad = whole.gradient();
        whole_optimizer.step(&mut whole, &grad);
        let grad = parts.gradient();
        weight_optimizer.step(&mut parts.weight, &grad.weight);
        bias_optimizer.step(&mut parts.bias, &grad.bias);
        scale_optimizer.step(&mut parts.scale, &grad.scale);
    }
    assert_eq!(whole.to_bits(), parts.to_bits());
    assert_ne!(whole, Model::start());
    // The struct's buffers are its tensors' buffers end to end, in visit order.
    let whole_state = whole_optimizer.state();
    let part_states = [
        weight_optimizer.state(),
        bias_optimizer.state(),
        scale_optimizer.state(),
    ];
    for (name, buffer) in &whole_state.buffers {
        let concatenated: Vec<f64> = part_states
            .iter()
            .flat_map(|state| state.buffers[name].iter().copied())
            .collect();
        assert_eq!(buffer.len(), 9, "`{name}`");
        assert_eq!(
            buffer.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            concatenated.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "`{name}`"
        );
    }
}

#[test]
fn a_struct_steps_like_its_tensors_stepped_separately() {
    assert_the_struct_steps_like_its_tensors(|| Sgd::new(0.05));
    assert_the_struct_steps_like_its_tensors(|| {
        Sgd::new(0.05)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(0.01)
    });
    assert_the_struct_steps_like_its_tensors(|| Sgd::new(0.05).momentum(0.5).dampening(0.5));
    assert_the_struct_steps_like_its_tensors(|| Adam::new(0.05).weight_decay(0.1).amsgrad(true));
    assert_the_struct_steps_like_its_tensors(|| AdamW::new(0.05).amsgrad(true));
}

#[test]
fn a_matrix_steps_like_its_elements_as_scalars() {
    let grad_of =
        |w: &SMatrix<f64, 3, 2>| w.map_with_location(|i, j, x| (i + 2 * j + 1) as f64 * x);
    let mut matrix = SMatrix::<f64, 3, 2>::from_fn(|i, j| 1.0 + i as f64 - j as f64);
    let mut scalars: Vec<f64> = matrix.iter().copied().collect();
    let mut matrix_adam = Adam::new(0.1).amsgrad(true);
    let mut scalar_adams: Vec<Adam<f64>> = (0..6).map(|_| Adam::new(0.1).amsgrad(true)).collect();
    for _ in 0..20 {
        let grad = grad_of(&matrix);
        matrix_adam.step(&mut matrix, &grad);
        // Column-major, as the matrix stores its elements.
        for (k, (x, adam)) in scalars.iter_mut().zip(&mut scalar_adams).enumerate() {
            let (i, j) = (k % 3, k / 3);
            let grad = (i + 2 * j + 1) as f64 * *x;
            adam.step(x, &grad);
        }
    }
    let matrix_bits: Vec<u64> = matrix.iter().map(|x| x.to_bits()).collect();
    let scalar_bits: Vec<u64> = scalars.iter().map(|x| x.to_bits()).collect();
    assert_eq!(matrix_bits, scalar_bits);
}

#[test]
fn a_parameter_count_other_than_the_state_s_panics_with_both_counts() {
    let result = std::panic::catch_unwind(|| {
        let mut adam = Adam::new(0.1);
        let mut four = SVector::<f64, 4>::zeros();
        adam.step(&mut four, &SVector::<f64, 4>::repeat(1.0));
        let mut three = SVector::<f64, 3>::zeros();
        adam.step(&mut three, &SVector::<f64, 3>::repeat(1.0));
    });
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("3 scalars"), "{message}");
    assert!(message.contains("`exp_avg` buffer holds 4"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// State: save and restore.

fn bits(state: &OptimizerState<f64>) -> BTreeMap<String, Vec<u64>> {
    state
        .buffers
        .iter()
        .map(|(name, buffer)| (name.clone(), buffer.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// Runs `make()` for 7 steps, moves its state into a second `make()`, and steps both 13 more:
/// parameters and state must agree to the bit. Returns the buffer names.
fn assert_state_round_trips<O: Optimizer<f64>>(make: impl Fn() -> O) -> Vec<String> {
    let mut original = make();
    let mut model = Model::start();
    for _ in 0..7 {
        let grad = model.gradient();
        original.step(&mut model, &grad);
    }
    let saved = original.state();
    assert_eq!(saved.step, 7);
    let mut restored = make();
    restored.load_state(saved.clone()).unwrap();
    assert_eq!(restored.step_count(), 7);
    assert_eq!(bits(&restored.state()), bits(&saved));

    let mut restored_model = model.clone();
    for _ in 0..13 {
        let grad = model.gradient();
        original.step(&mut model, &grad);
        let grad = restored_model.gradient();
        restored.step(&mut restored_model, &grad);
    }
    assert_eq!(model.to_bits(), restored_model.to_bits());
    assert_eq!(bits(&original.state()), bits(&restored.state()));
    assert_eq!(restored.step_count(), 20);
    saved.buffers.keys().cloned().collect()
}

#[test]
fn state_round_trips_bit_for_bit_under_pytorch_s_names() {
    assert_eq!(
        assert_state_round_trips(|| Sgd::new(0.05)),
        Vec::<String>::new()
    );
    assert_eq!(
        assert_state_round_trips(|| Sgd::new(0.05).momentum(0.9).dampening(0.1)),
        ["momentum_buffer"]
    );
    assert_eq!(
        assert_state_round_trips(|| Adam::new(0.05)),
        ["exp_avg", "exp_avg_sq"]
    );
    assert_eq!(
        assert_state_round_trips(|| AdamW::new(0.05).amsgrad(true)),
        ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    );
}

#[test]
fn loading_a_state_matters() {
    // A fresh optimizer without the state would go elsewhere: the round trip is not vacuous.
    let mut model = Model::start();
    let mut adam = Adam::new(0.05);
    for _ in 0..7 {
        let grad = model.gradient();
        adam.step(&mut model, &grad);
    }
    let (mut a, mut b) = (model.clone(), model);
    let grad = a.gradient();
    adam.step(&mut a, &grad);
    Adam::new(0.05).step(&mut b, &grad);
    assert_ne!(a.to_bits(), b.to_bits());
}

#[test]
fn a_fresh_optimizer_s_state_is_empty_and_loads_back() {
    let mut adam = Adam::<f64>::new(0.1);
    let state = adam.state();
    assert_eq!(state, OptimizerState::default());
    adam.load_state(state).unwrap();
    assert_eq!(adam.step_count(), 0);
}

fn adam_state(step: usize, buffers: &[(&str, usize)]) -> OptimizerState<f64> {
    OptimizerState {
        step,
        buffers: buffers
            .iter()
            .map(|&(name, len)| (name.to_string(), vec![0.5; len]))
            .collect(),
    }
}

#[test]
fn a_state_that_does_not_fit_the_configuration_is_an_error() {
    let mut adam = Adam::<f64>::new(0.1);
    let moments = [("exp_avg", 4), ("exp_avg_sq", 4)];

    let amsgrad_state = adam_state(3, &[moments[0], moments[1], ("max_exp_avg_sq", 4)]);
    match adam.load_state(amsgrad_state.clone()) {
        Err(Error::UnexpectedTensor { key, found }) => {
            assert_eq!((key.as_str(), found), ("max_exp_avg_sq", vec![4]));
        }
        other => panic!("expected UnexpectedTensor, got {other:?}"),
    }
    Adam::new(0.1)
        .amsgrad(true)
        .load_state(amsgrad_state)
        .unwrap();

    match adam.load_state(adam_state(3, &moments[..1])) {
        Err(Error::MissingTensor { key, expected }) => {
            assert_eq!((key.as_str(), expected), ("exp_avg_sq", vec![4]));
        }
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    match adam.load_state(adam_state(3, &[("exp_avg", 4), ("exp_avg_sq", 5)])) {
        Err(Error::ShapeMismatch {
            key,
            expected,
            found,
        }) => assert_eq!(
            (key.as_str(), expected, found),
            ("exp_avg_sq", vec![4], vec![5])
        ),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    // Buffers before the first step cannot have come from an optimizer.
    assert!(matches!(
        adam.load_state(adam_state(0, &moments)),
        Err(Error::UnexpectedTensor { .. })
    ));
    // SGD's buffer is not Adam's, and SGD without momentum keeps none.
    assert!(matches!(
        adam.load_state(adam_state(3, &[("momentum_buffer", 4)])),
        Err(Error::UnexpectedTensor { .. })
    ));
    assert!(matches!(
        Sgd::new(0.1).load_state(adam_state(3, &[("momentum_buffer", 4)])),
        Err(Error::UnexpectedTensor { .. })
    ));
    Sgd::new(0.1)
        .momentum(0.9)
        .load_state(adam_state(3, &[("momentum_buffer", 4)]))
        .unwrap();

    // A failed load leaves the optimizer as it was.
    assert_eq!(adam.step_count(), 0);
    assert!(adam.state().buffers.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Schedules against their closed forms, written out here.

#[track_caller]
fn assert_close(ours: f64, expected: f64) {
    assert!(
        (ours - expected).abs() <= 1e-14 * expected.abs(),
        "{ours} but the closed form is {expected}"
    );
}

const STEPS_TO_CHECK: [usize; 9] = [0, 1, 2, 9, 10, 11, 29, 30, 75];

#[test]
fn step_lr_is_gamma_to_the_number_of_whole_periods() {
    let schedule = StepLR::new(10, 0.3);
    for step in STEPS_TO_CHECK {
        let periods = step / 10;
        let expected = (0..periods).fold(0.2, |lr, _| lr * 0.3);
        assert_close(schedule.lr(0.2, step), expected);
    }
    assert_eq!(schedule.lr(0.2, 9), 0.2);
}

#[test]
fn exponential_lr_is_gamma_to_the_step() {
    let schedule = ExponentialLR::new(0.95);
    for step in STEPS_TO_CHECK {
        assert_close(schedule.lr(0.1, step), 0.1 * 0.95f64.powi(step as i32));
    }
}

#[test]
fn cosine_annealing_is_half_a_cosine_from_the_base_rate_to_eta_min() {
    let (t_max, eta_min, base) = (30, 1e-4, 0.1);
    let schedule = CosineAnnealingLR::new(t_max, eta_min);
    for step in STEPS_TO_CHECK {
        let angle = std::f64::consts::PI * step as f64 / t_max as f64;
        let expected = eta_min + 0.5 * (base - eta_min) * (1.0 + angle.cos());
        assert_close(schedule.lr(base, step), expected);
    }
    assert_close(schedule.lr(base, 0), base);
    assert_close(schedule.lr(base, 15), 0.5 * (base + eta_min));
    assert_close(schedule.lr(base, t_max), eta_min);
}

#[test]
fn linear_lr_interpolates_the_factor_then_holds_it() {
    let schedule = LinearLR::new(0.2, 0.9, 10);
    for step in STEPS_TO_CHECK {
        let fraction = step.min(10) as f64 / 10.0;
        let expected = 0.5 * (0.2 * (1.0 - fraction) + 0.9 * fraction);
        assert_close(schedule.lr(0.5, step), expected);
    }
    let warmup = LinearLR::warmup(0.1, 5);
    assert_close(warmup.lr(1.0, 0), 0.1);
    assert_close(warmup.lr(1.0, 1), 0.28);
    assert_close(warmup.lr(1.0, 5), 1.0);
    assert_close(warmup.lr(1.0, 50), 1.0);
}

#[test]
fn sequential_lr_switches_schedules_at_the_milestone_and_restarts_the_second() {
    let warmup = LinearLR::warmup(0.1, 5);
    let cosine = CosineAnnealingLR::new(20, 0.0);
    let schedule = SequentialLR::new(warmup, 5, cosine);
    for step in 0..40 {
        let expected = if step < 5 {
            1e-2 * (0.1 + 0.9 * step as f64 / 5.0)
        } else {
            let angle = std::f64::consts::PI * (step - 5) as f64 / 20.0;
            1e-2 * 0.5 * (1.0 + angle.cos())
        };
        let ours = schedule.lr(1e-2, step);
        assert!(
            (ours - expected).abs() <= 1e-14 * 1e-2,
            "step {step}: {ours} vs {expected}"
        );
    }
    // Nested, for three phases.
    let three = SequentialLR::new(schedule, 25, ExponentialLR::new(0.5));
    assert_eq!(three.lr(1.0, 26), 0.5);
}

#[test]
fn schedules_work_in_f32() {
    let schedule = StepLR::new(2, 0.5);
    let lr: f32 = schedule.lr(0.1_f32, 4);
    assert_eq!(lr, 0.025);
}

// ---------------------------------------------------------------------------------------------
// Allocation: none after the first step.

/// Counts the allocations made by the current thread (tests run on several threads).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may already be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = work();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

/// Steps a `Model` 10 times with a schedule setting the rate: the first step allocates the
/// buffers (if the optimizer keeps any), the others nothing.
fn assert_steps_after_the_first_allocate_nothing<O: Optimizer<f64>>(mut optimizer: O) {
    let schedule = SequentialLR::new(LinearLR::warmup(0.5, 3), 3, CosineAnnealingLR::new(7, 0.0));
    let mut model = Model::start();
    let grad = model.gradient();
    optimizer.step(&mut model, &grad);
    for _ in 1..10 {
        let grad = model.gradient();
        let ((), count) = allocations_during(|| {
            optimizer.set_lr(schedule.lr(0.05, optimizer.step_count()));
            optimizer.step(&mut model, &grad);
        });
        assert_eq!(count, 0, "step {} allocated", optimizer.step_count());
    }
    assert!(model.all_finite());
}

#[test]
fn the_counter_sees_a_heap_allocation() {
    let (_, count) = allocations_during(|| std::hint::black_box(vec![1u8; 16]));
    assert!(count >= 1);
    // And the first step of Adam is one: it creates the buffers.
    let mut model = Model::start();
    let grad = model.gradient();
    let mut adam = Adam::new(0.1);
    let ((), count) = allocations_during(|| adam.step(&mut model, &grad));
    assert!(count >= 2, "{count}");
}

#[test]
fn steps_after_the_first_allocate_nothing() {
    assert_steps_after_the_first_allocate_nothing(Sgd::new(0.05));
    assert_steps_after_the_first_allocate_nothing(Sgd::new(0.05).momentum(0.9).nesterov(true));
    assert_steps_after_the_first_allocate_nothing(Adam::new(0.05).weight_decay(0.1));
    assert_steps_after_the_first_allocate_nothing(AdamW::new(0.05).amsgrad(true));
}

#[test]
fn a_step_after_loading_a_state_allocates_nothing() {
    let mut model = Model::start();
    let mut adam = Adam::new(0.05).amsgrad(true);
    let grad = model.gradient();
    adam.step(&mut model, &grad);
    let mut restored = Adam::new(0.05).amsgrad(true);
    restored.load_state(adam.state()).unwrap();
    let ((), count) = allocations_during(|| restored.step(&mut model, &grad));
    assert_eq!(count, 0);
}

/// Steps `optimizer` once on `model` (creating its state), then four more times, and checks
/// that those allocate nothing and move the model.
fn assert_no_allocation_after_the_first_step<P, O>(mut optimizer: O, model: &P, grads: &P)
where
    P: Parameters<f32> + Clone + PartialEq,
    O: Optimizer<f32>,
{
    let mut model = model.clone();
    optimizer.step(&mut model, grads);
    let after_one = model.clone();
    let ((), count) = allocations_during(|| {
        for _ in 0..4 {
            optimizer.step(&mut model, grads);
        }
    });
    assert_eq!(count, 0, "a step after the first allocated");
    assert!(model != after_one && model.all_finite());
}

/// Every configuration of every optimizer, each its own specialised loop, on an `f32` MLP.
#[test]
fn no_optimizer_configuration_allocates_after_its_first_step() {
    use graph_runtime::nn::{Linear, ReLU, Sequential};
    use graph_runtime::rand::{rngs::StdRng, SeedableRng};
    type Mlp = Sequential<(Linear<f32, 8, 16>, ReLU, Linear<f32, 16, 2>)>;
    let model = Mlp::init(&mut StdRng::seed_from_u64(0));
    let grads = Mlp::init(&mut StdRng::seed_from_u64(1));
    let mut configurations = 0;
    for maximize in [false, true] {
        for weight_decay in [0.0, 0.1] {
            for (momentum, dampening, nesterov) in [
                (0.0, 0.0, false),
                (0.9, 0.0, false),
                (0.9, 0.3, false),
                (0.9, 0.0, true),
            ] {
                let sgd = Sgd::new(0.01)
                    .momentum(momentum)
                    .dampening(dampening)
                    .nesterov(nesterov)
                    .weight_decay(weight_decay)
                    .maximize(maximize);
                assert_no_allocation_after_the_first_step(sgd, &model, &grads);
                configurations += 1;
            }
            for amsgrad in [false, true] {
                // β₁ = 0.9 and 0.2: `lerp` computes from either end.
                for beta1 in [0.9, 0.2] {
                    let adam = Adam::new(0.01).betas(beta1, 0.999);
                    let adam = adam.weight_decay(weight_decay).amsgrad(amsgrad);
                    assert_no_allocation_after_the_first_step(
                        adam.maximize(maximize),
                        &model,
                        &grads,
                    );
                    let adamw = AdamW::new(0.01).betas(beta1, 0.999);
                    let adamw = adamw.weight_decay(weight_decay).amsgrad(amsgrad);
                    assert_no_allocation_after_the_first_step(
                        adamw.maximize(maximize),
                        &model,
                        &grads,
                    );
                    configurations += 2;
                }
            }
        }
    }
    assert_eq!(configurations, 4 * (4 + 8));
}

// ---------------------------------------------------------------------------------------------
// Subnormals: state that decays below the smallest normal number becomes zero.

/// `x·factor` repeated in `f32` without flushing, from `start`: what a buffer fed zero
/// gradients holds at each step, as PyTorch computes it.
fn unflushed_decay(start: f32, step: impl Fn(f32) -> f32, steps: usize) -> Vec<f32> {
    std::iter::successors(Some(start), |&x| Some(step(x)))
        .take(steps)
        .collect()
}

/// Checks `ours` against the unflushed `reference`: equal while the reference is normal, zero
/// where it is subnormal; and that the reference does go subnormal, so the test means something.
#[track_caller]
fn assert_flushed(ours: &[f32], reference: &[f32]) {
    for (step, (&ours, &reference)) in ours.iter().zip(reference).enumerate() {
        if reference.is_subnormal() {
            assert_eq!(ours, 0.0, "step {step}: {reference} is subnormal");
        } else {
            assert_eq!(ours, reference, "step {step}");
        }
    }
    assert!(reference.iter().any(|x| x.is_subnormal()));
    assert_eq!(*ours.last().unwrap(), 0.0);
}

#[test]
fn a_momentum_buffer_fed_zero_gradients_flushes_to_zero_instead_of_staying_subnormal() {
    const STEPS: usize = 1_200;
    let (mut x, mut sgd) = (1.0_f32, Sgd::new(0.01).momentum(0.9));
    let mut buffer = Vec::new();
    for step in 0..STEPS {
        let grad = if step == 0 { 1e-3 } else { 0.0 };
        sgd.step(&mut x, &grad);
        buffer.push(sgd.state().buffers["momentum_buffer"][0]);
    }
    // PyTorch's buffer: b ← b·μ + (1 − τ)·0 after the first step. At the smallest
    // subnormals 0.9·b rounds back to b, so unflushed it would never reach zero.
    let reference = unflushed_decay(1e-3, |b| b * 0.9 + 1.0 * 0.0, STEPS);
    assert!(reference.last().unwrap().is_subnormal());
    assert_flushed(&buffer, &reference);
    // θ moved by the buffer's normal values only.
    assert!(x < 1.0 && x.is_normal());
}

#[test]
fn adam_moments_fed_zero_gradients_flush_to_zero_instead_of_staying_subnormal() {
    const STEPS: usize = 1_200;
    let (mut x, mut adam) = (1.0_f32, Adam::new(0.01).betas(0.9, 0.9).amsgrad(true));
    let (mut exp_avg, mut exp_avg_sq) = (Vec::new(), Vec::new());
    for step in 0..STEPS {
        let grad = if step == 0 { 1e-3 } else { 0.0 };
        adam.step(&mut x, &grad);
        let state = adam.state();
        exp_avg.push(state.buffers["exp_avg"][0]);
        exp_avg_sq.push(state.buffers["exp_avg_sq"][0]);
        // The running maximum keeps the largest second moment, a normal number.
        assert_eq!(state.buffers["max_exp_avg_sq"][0], exp_avg_sq[0]);
    }
    // PyTorch's moments after the first step, the gradient 0: m ← lerp(m, 0, 1 − β₁) =
    // m + (1 − β₁)·(0 − m), v ← v·β₂ + (1 − β₂)·0·0.
    let weight = 1.0 - 0.9_f32;
    let reference = unflushed_decay(exp_avg[0], |m| m + weight * (0.0 - m), STEPS);
    assert_flushed(&exp_avg, &reference);
    let reference = unflushed_decay(exp_avg_sq[0], |v| v * 0.9 + weight * 0.0 * 0.0, STEPS);
    assert_flushed(&exp_avg_sq, &reference);
    assert!(x.is_normal());
}
