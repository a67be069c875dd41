//! The lecture's title, "Deep Linear Neural Networks": networks with no nonlinearity at all,
//! whose input–output map is a product of weights, and whose learning still has plateaus and
//! sudden drops. Saxe, McClelland & Ganguli (2013), "Exact solutions to the nonlinear
//! dynamics of learning in deep linear neural networks", solve them exactly.
//!
//! **A chain of scalar weights**, `ŷ = w_D ⋯ w_2 w_1 x`, learning `y = x`: every weight
//! starts at the same small value, so the product starts at `w₀^D` and its gradient is
//! smaller still. Deeper chains, or smaller starting weights, sit longer on the plateau
//! before the drop.
//!
//! **A deep linear network on hierarchical data**: eight items at the leaves of a binary
//! tree (`chainrule::data::hierarchical`), each with the 15 features of the nodes above it
//! ("is a living thing", "is an animal", …). The input–output correlation `Σʸˣ` has singular
//! values `σ₁ > σ₂ > σ₃ > σ₄` (`hierarchical_modes`): the split shared by every item, the
//! root's split, the two splits below it, the four splits above the leaves. A network
//! `W_D ⋯ W_1` (hidden layers 16 wide) trained by gradient descent from small random weights
//! learns these modes one after another, largest first, each in a sudden sigmoidal rise;
//! the loss drops a step with each. For one hidden layer the paper gives each mode's
//! strength in closed form, `a(t) = σ e^{2σt/τ} / (e^{2σt/τ} − 1 + σ/a₀)` with `τ = 1/η`,
//! drawn beside the simulation. The learnt map's SVD shows the same modes.
//!
//! The example exits with status 1 if what its pictures show does not hold: deeper and
//! smaller-initialised networks plateau longer, modes are learnt in the order of their
//! singular values, and the shallow network follows the analytic trajectory.
//!
//! Pictures: `target/lecture/deep-linear-chain.svg`, `deep-linear-modes.svg`,
//! `deep-linear-depth.svg` and `deep-linear-init.svg`.
//!
//! `cargo run --release --example deep_linear` runs this part alone.

use std::path::PathBuf;

use chainrule::data::{hierarchical, hierarchical_modes, Mode};
use chainrule::graph;
use chainrule::nalgebra::{DMatrix, SMatrix, SVector};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use plotters::prelude::*;

#[allow(dead_code)] // Each part uses some of the drawing helpers.
#[allow(clippy::duplicate_mod)] // The tour includes every part, each with its own copy of them.
#[path = "support/plot.rs"]
mod plot;

/// Items: the leaves of the tree.
pub const ITEMS: usize = 8;
/// Features: the tree's nodes.
pub const FEATURES: usize = 15;
/// The width of every hidden layer.
pub const HIDDEN: usize = 16;

type Input = SMatrix<f64, ITEMS, ITEMS>;
type Target = SMatrix<f64, FEATURES, ITEMS>;
type First = SMatrix<f64, HIDDEN, ITEMS>;
type Middle = SMatrix<f64, HIDDEN, HIDDEN>;
type Last = SMatrix<f64, FEATURES, HIDDEN>;
/// The input–output map of a network: the product of its weights.
pub type Map = SMatrix<f64, FEATURES, ITEMS>;

// The loss of each depth: half the squared error, summed over the features and averaged over
// the 8 items (16 = 2 · 8), as in Saxe et al.'s `Σ ‖y − ŷ‖² / 2P`.
graph! {
    /// No hidden layer: `W₁x`, linear regression.
    pub fn depth1(w1: SMatrix<f64, 15, 8>,
                  #[no_grad] x: SMatrix<f64, 8, 8>, #[no_grad] y: SMatrix<f64, 15, 8>) -> f64 {
        norm_squared(w1 * x - y) / 16
    }
}
graph! {
    /// One hidden layer: `W₂W₁x`.
    pub fn depth2(w1: SMatrix<f64, 16, 8>, w2: SMatrix<f64, 15, 16>,
                  #[no_grad] x: SMatrix<f64, 8, 8>, #[no_grad] y: SMatrix<f64, 15, 8>) -> f64 {
        norm_squared(w2 * w1 * x - y) / 16
    }
}
graph! {
    /// Two hidden layers: `W₃W₂W₁x`.
    pub fn depth3(w1: SMatrix<f64, 16, 8>, w2: SMatrix<f64, 16, 16>, w3: SMatrix<f64, 15, 16>,
                  #[no_grad] x: SMatrix<f64, 8, 8>, #[no_grad] y: SMatrix<f64, 15, 8>) -> f64 {
        norm_squared(w3 * w2 * w1 * x - y) / 16
    }
}
graph! {
    /// Three hidden layers: `W₄W₃W₂W₁x`.
    pub fn depth4(w1: SMatrix<f64, 16, 8>, w2: SMatrix<f64, 16, 16>, w3: SMatrix<f64, 16, 16>,
                  w4: SMatrix<f64, 15, 16>,
                  #[no_grad] x: SMatrix<f64, 8, 8>, #[no_grad] y: SMatrix<f64, 15, 8>) -> f64 {
        norm_squared(w4 * w3 * w2 * w1 * x - y) / 16
    }
}

/// A deep linear network of one of the depths above: its weights, first layer first.
/// Its weights are the fields of the depth's generated `Grad`, which the optimizer steps
/// like any parameters.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // One network per run, on the stack, never in a collection.
pub enum Network {
    Depth1(depth1::Grad),
    Depth2(depth2::Grad),
    Depth3(depth3::Grad),
    Depth4(depth4::Grad),
}

impl Network {
    /// A network with `depth` weight matrices (1 to 4), every weight drawn from
    /// `N(0, scale²)`: the lecture's `W(0) ~ N(0, σ²)`.
    pub fn random(depth: usize, scale: f64, seed: u64) -> Network {
        fn draw<P: chainrule::Parameters<f64>>(params: &mut P, scale: f64, rng: &mut StdRng) {
            chainrule::init::normal(params, 0.0, scale, rng);
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut first, mut last) = (First::zeros(), Last::zeros());
        let mut middle = [Middle::zeros(), Middle::zeros()];
        if depth == 1 {
            let mut only = Map::zeros();
            draw(&mut only, scale, &mut rng);
            return Network::Depth1(depth1::Grad { w1: only });
        }
        draw(&mut first, scale, &mut rng);
        for m in middle.iter_mut().take(depth.saturating_sub(2)) {
            draw(m, scale, &mut rng);
        }
        draw(&mut last, scale, &mut rng);
        match depth {
            2 => Network::Depth2(depth2::Grad {
                w1: first,
                w2: last,
            }),
            3 => Network::Depth3(depth3::Grad {
                w1: first,
                w2: middle[0],
                w3: last,
            }),
            4 => Network::Depth4(depth4::Grad {
                w1: first,
                w2: middle[0],
                w3: middle[1],
                w4: last,
            }),
            _ => panic!("depth {depth} is not 1 to 4"),
        }
    }

    /// The number of weight matrices.
    pub fn depth(&self) -> usize {
        match self {
            Network::Depth1(_) => 1,
            Network::Depth2(_) => 2,
            Network::Depth3(_) => 3,
            Network::Depth4(_) => 4,
        }
    }

    /// The input–output map, the product of the weights.
    pub fn map(&self) -> Map {
        match self {
            Network::Depth1(n) => n.w1,
            Network::Depth2(n) => n.w2 * n.w1,
            Network::Depth3(n) => n.w3 * n.w2 * n.w1,
            Network::Depth4(n) => n.w4 * n.w3 * n.w2 * n.w1,
        }
    }

    /// The loss for `(x, y)`.
    pub fn loss(&self, x: &Input, y: &Target) -> f64 {
        let (x, y) = (*x, *y);
        match self {
            Network::Depth1(n) => depth1::forward(n.w1, x, y),
            Network::Depth2(n) => depth2::forward(n.w1, n.w2, x, y),
            Network::Depth3(n) => depth3::forward(n.w1, n.w2, n.w3, x, y),
            Network::Depth4(n) => depth4::forward(n.w1, n.w2, n.w3, n.w4, x, y),
        }
    }

    /// One step of `optimizer` on the loss for `(x, y)`; returns the loss before the step.
    pub fn step(&mut self, optimizer: &mut Sgd<f64>, x: &Input, y: &Target) -> f64 {
        let (x, y) = (*x, *y);
        match self {
            Network::Depth1(n) => {
                let (loss, grad) = depth1::value_and_grad(n.w1, x, y);
                optimizer.step(n, &grad);
                loss
            }
            Network::Depth2(n) => {
                let (loss, grad) = depth2::value_and_grad(n.w1, n.w2, x, y);
                optimizer.step(n, &grad);
                loss
            }
            Network::Depth3(n) => {
                let (loss, grad) = depth3::value_and_grad(n.w1, n.w2, n.w3, x, y);
                optimizer.step(n, &grad);
                loss
            }
            Network::Depth4(n) => {
                let (loss, grad) = depth4::value_and_grad(n.w1, n.w2, n.w3, n.w4, x, y);
                optimizer.step(n, &grad);
                loss
            }
        }
    }
}

/// The hierarchical items as one batch: inputs `I` (one-hot items), targets `Y`.
pub fn items() -> (Input, Target) {
    let data = hierarchical::<f64, ITEMS, FEATURES>();
    data.batch::<ITEMS>(&std::array::from_fn(|i| i))
}

/// One mode of the input–output correlation `Σʸˣ = Σₖ σₖ uₖ vₖᵀ`, the vectors as nalgebra
/// vectors, with the index of its singular value among the distinct ones (`group`: 0 for
/// the largest).
#[derive(Clone, Debug)]
pub struct ModeVectors {
    pub sigma: f64,
    pub u: SVector<f64, FEATURES>,
    pub v: SVector<f64, ITEMS>,
    pub group: usize,
}

/// The modes of the hierarchical items, largest singular value first (from
/// `hierarchical_modes`), grouped by equal singular values.
pub fn data_modes() -> Vec<ModeVectors> {
    let modes: Vec<Mode> = hierarchical_modes(ITEMS);
    let mut group = 0;
    modes
        .iter()
        .enumerate()
        .map(|(index, mode)| {
            if index > 0 && modes[index - 1].singular_value - mode.singular_value > 1e-12 {
                group += 1;
            }
            ModeVectors {
                sigma: mode.singular_value,
                u: SVector::from_column_slice(&mode.output),
                v: SVector::from_column_slice(&mode.input),
                group,
            }
        })
        .collect()
}

/// The number of distinct singular values.
pub fn groups(modes: &[ModeVectors]) -> usize {
    modes.iter().map(|m| m.group).max().map_or(0, |g| g + 1)
}

/// What the modes of group `group` are, in the tree's terms, from `hierarchical_modes`.
pub fn group_description(group: usize) -> String {
    let modes = hierarchical_modes(ITEMS);
    let all = data_modes();
    let members: Vec<&Mode> = modes
        .iter()
        .zip(&all)
        .filter(|(_, m)| m.group == group)
        .map(|(mode, _)| mode)
        .collect();
    match members[0].node {
        None => String::from("shared by all items"),
        Some(0) => String::from("the root's split"),
        Some(node) => {
            let level = (node + 1).ilog2();
            format!("{} splits at level {level} of the tree", members.len())
        }
    }
}

/// Mode `k`'s strength in a map `W`: `uₖᵀ (W Σˣˣ) vₖ`, with `Σˣˣ = I/P` for one-hot items, so
/// that a map that fits the data has strength `σₖ` in every mode.
pub fn strength(map: &Map, mode: &ModeVectors) -> f64 {
    (mode.u.transpose() * map * mode.v)[0] / ITEMS as f64
}

/// For one hidden layer, `r + q` for a mode, with `r = W₁v` and `q = W₂ᵀu`: while the weights
/// are small, `r + q` grows as `e^{σηt}` and `r − q` shrinks as `e^{−σηt}`, so the mode's
/// strength `qᵀr / P` soon grows as `|r₀ + q₀|² / 4P · e^{2σηt}`. Random small weights act as
/// the paper's balanced start from `a₀ = |r₀ + q₀|² / 4P`.
fn growing_direction(network: &depth2::Grad, mode: &ModeVectors) -> SVector<f64, HIDDEN> {
    network.w1 * mode.v + network.w2.transpose() * mode.u
}

/// The data's modes in the basis a one-hidden-layer network starts decoupled in.
///
/// A singular value shared by several modes (the splits of one level of the tree) leaves
/// their basis free: any rotation of those modes is as good. This picks, for each such
/// group, the rotation that makes the growing directions `r + q` of its modes orthogonal
/// (the eigenvectors of their Gram matrix), so each grows on its own from its own `a₀`, as in
/// the paper's decoupled solution. Modes with a singular value of their own are unchanged.
pub fn decoupled_modes(network: &depth2::Grad) -> Vec<ModeVectors> {
    let modes = data_modes();
    let mut rotated = Vec::with_capacity(modes.len());
    for group in 0..groups(&modes) {
        let members: Vec<&ModeVectors> = modes.iter().filter(|m| m.group == group).collect();
        let directions: Vec<SVector<f64, HIDDEN>> = members
            .iter()
            .map(|mode| growing_direction(network, mode))
            .collect();
        let gram = DMatrix::from_fn(members.len(), members.len(), |i, j| {
            directions[i].dot(&directions[j])
        });
        let eigen = gram.symmetric_eigen();
        for column in 0..members.len() {
            let mut u = SVector::<f64, FEATURES>::zeros();
            let mut v = SVector::<f64, ITEMS>::zeros();
            for (row, member) in members.iter().enumerate() {
                let weight = eigen.eigenvectors[(row, column)];
                u += member.u * weight;
                v += member.v * weight;
            }
            rotated.push(ModeVectors {
                sigma: members[0].sigma,
                u,
                v,
                group,
            });
        }
    }
    rotated
}

/// Saxe et al.'s mode strength for one hidden layer at step `t`,
/// `σ e^{2σt/τ} / (e^{2σt/τ} − 1 + σ/a₀)` with `τ = 1/η`: the solution of
/// `τ da/dt = 2a(σ − a)` from `a₀`.
pub fn analytic_strength(sigma: f64, initial: f64, learning_rate: f64, t: f64) -> f64 {
    // The same, divided through by e^{2σt/τ}, which would overflow for large t.
    let decay = (-2.0 * sigma * learning_rate * t).exp();
    sigma / (1.0 + (sigma / initial - 1.0) * decay)
}

/// A training run of a deep linear network on the hierarchical items.
#[derive(Clone, Debug)]
pub struct Training {
    pub depth: usize,
    pub init_scale: f64,
    pub learning_rate: f64,
    /// The modes the strengths are measured in: the data's, or for one hidden layer the
    /// [`decoupled_modes`] of the first network.
    pub modes: Vec<ModeVectors>,
    /// The loss before every step, and after the last.
    pub losses: Vec<f64>,
    /// Each mode's strength before every step, and after the last: `strengths[step][mode]`.
    pub strengths: Vec<Vec<f64>>,
    /// For one hidden layer, each mode's `a₀` for the analytic solution.
    pub initial_strengths: Option<Vec<f64>>,
    /// The singular values of the learnt map `W Σˣˣ` after the last step, largest first.
    pub final_singular_values: Vec<f64>,
}

/// Trains a network of `depth` weight matrices, every weight drawn from `N(0, init_scale²)`,
/// by `steps` steps of plain gradient descent (the runtime's `Sgd`) at `learning_rate`.
pub fn train(
    depth: usize,
    init_scale: f64,
    learning_rate: f64,
    steps: usize,
    seed: u64,
) -> Training {
    let (x, y) = items();
    let mut network = Network::random(depth, init_scale, seed);
    let (modes, initial_strengths) = match &network {
        Network::Depth2(first) => {
            let modes = decoupled_modes(first);
            let initial = modes
                .iter()
                .map(|mode| growing_direction(first, mode).norm_squared() / (4.0 * ITEMS as f64))
                .collect();
            (modes, Some(initial))
        }
        _ => (data_modes(), None),
    };
    let mut optimizer = Sgd::new(learning_rate);
    let mut losses = Vec::with_capacity(steps + 1);
    let mut strengths = Vec::with_capacity(steps + 1);
    for _ in 0..steps {
        let map = network.map();
        strengths.push(modes.iter().map(|mode| strength(&map, mode)).collect());
        losses.push(network.step(&mut optimizer, &x, &y));
    }
    let map = network.map();
    strengths.push(modes.iter().map(|mode| strength(&map, mode)).collect());
    losses.push(network.loss(&x, &y));
    let learnt = map / ITEMS as f64;
    let mut final_singular_values: Vec<f64> = learnt
        .svd(false, false)
        .singular_values
        .iter()
        .copied()
        .collect();
    final_singular_values.sort_by(|a, b| b.total_cmp(a));
    Training {
        depth: network.depth(),
        init_scale,
        learning_rate,
        modes,
        losses,
        strengths,
        initial_strengths,
        final_singular_values,
    }
}

/// How long learning waits: the first step at which the loss is at most half its initial
/// value, or `None` if it never is.
pub fn plateau_length(losses: &[f64]) -> Option<usize> {
    let first = *losses.first()?;
    losses.iter().position(|&loss| loss <= 0.5 * first)
}

/// When each mode is learnt: the first step at which its strength reaches half its
/// singular value.
pub fn half_times(training: &Training) -> Vec<Option<usize>> {
    (0..training.modes.len())
        .map(|k| {
            let half = training.modes[k].sigma / 2.0;
            training.strengths.iter().position(|s| s[k] >= half)
        })
        .collect()
}

/// Whether every mode is learnt, and every mode of a larger singular value before every mode
/// of a smaller one.
pub fn learnt_in_order(training: &Training) -> bool {
    let times = half_times(training);
    let modes = &training.modes;
    (0..modes.len()).all(|i| {
        (0..modes.len()).all(|j| {
            modes[i].group >= modes[j].group
                || matches!((times[i], times[j]), (Some(a), Some(b)) if a < b)
        })
    }) && times.iter().all(Option::is_some)
}

/// For one hidden layer, the largest gap between the simulated and the analytic strength of
/// any mode at any step, relative to that mode's singular value.
pub fn analytic_gap(training: &Training) -> Option<f64> {
    let initial = training.initial_strengths.as_ref()?;
    let mut worst: f64 = 0.0;
    for (step, strengths) in training.strengths.iter().enumerate() {
        for (k, mode) in training.modes.iter().enumerate() {
            let analytic =
                analytic_strength(mode.sigma, initial[k], training.learning_rate, step as f64);
            worst = worst.max((analytic - strengths[k]).abs() / mode.sigma);
        }
    }
    Some(worst)
}

/// For one hidden layer, when the analytic solution reaches half of each mode's `σ`:
/// `a(t) = σ/2` at `t = τ ln(σ/a₀ − 1) / 2σ`.
pub fn analytic_half_times(training: &Training) -> Option<Vec<f64>> {
    let initial = training.initial_strengths.as_ref()?;
    Some(
        training
            .modes
            .iter()
            .zip(initial)
            .map(|(mode, &a0)| {
                (mode.sigma / a0 - 1.0).ln() / (2.0 * training.learning_rate * mode.sigma)
            })
            .collect(),
    )
}

/// The largest relative error of [`analytic_half_times`] against the simulated [`half_times`].
pub fn half_time_error(training: &Training) -> Option<f64> {
    let predicted = analytic_half_times(training)?;
    let simulated = half_times(training);
    predicted
        .iter()
        .zip(&simulated)
        .map(|(p, s)| s.map(|s| (s as f64 - p).abs() / p))
        .try_fold(0.0f64, |worst, error| error.map(|e| worst.max(e)))
}

graph! {
    /// A chain of one scalar weight: `ŷ = w₁x`, half the squared error.
    pub fn chain1(w1: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - w1*x)^2 / 2
    }
}
graph! {
    /// A chain of two: `ŷ = w₂w₁x`.
    pub fn chain2(w1: f64, w2: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - w2*w1*x)^2 / 2
    }
}
graph! {
    /// A chain of four: `ŷ = w₄w₃w₂w₁x`.
    pub fn chain4(w1: f64, w2: f64, w3: f64, w4: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - w4*w3*w2*w1*x)^2 / 2
    }
}
graph! {
    /// A chain of eight: `ŷ = w₈ ⋯ w₁x`.
    pub fn chain8(w1: f64, w2: f64, w3: f64, w4: f64, w5: f64, w6: f64, w7: f64, w8: f64,
                  #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
        (y - w8*w7*w6*w5*w4*w3*w2*w1*x)^2 / 2
    }
}

/// The chains' depths.
pub const CHAIN_DEPTHS: [usize; 4] = [1, 2, 4, 8];

/// The loss of a chain with these weights on the sample `x = 1, y = 1`, and its gradient,
/// from the chain's `graph!`.
pub fn chain_loss_and_grad(w: &[f64]) -> (f64, Vec<f64>) {
    let (x, y) = (1.0, 1.0);
    match *w {
        [w1] => {
            let (loss, g) = chain1::value_and_grad(w1, x, y);
            (loss, vec![g.w1])
        }
        [w1, w2] => {
            let (loss, g) = chain2::value_and_grad(w1, w2, x, y);
            (loss, vec![g.w1, g.w2])
        }
        [w1, w2, w3, w4] => {
            let (loss, g) = chain4::value_and_grad(w1, w2, w3, w4, x, y);
            (loss, vec![g.w1, g.w2, g.w3, g.w4])
        }
        [w1, w2, w3, w4, w5, w6, w7, w8] => {
            let (loss, g) = chain8::value_and_grad(w1, w2, w3, w4, w5, w6, w7, w8, x, y);
            (loss, vec![g.w1, g.w2, g.w3, g.w4, g.w5, g.w6, g.w7, g.w8])
        }
        _ => panic!("a chain of {} weights has no graph here", w.len()),
    }
}

/// A chain trained by gradient descent.
#[derive(Clone, Debug)]
pub struct ChainRun {
    pub depth: usize,
    pub start_weight: f64,
    /// The product of the weights before every step, and after the last.
    pub products: Vec<f64>,
    /// The loss before every step, and after the last.
    pub losses: Vec<f64>,
}

/// Trains a chain of `depth` weights, all starting at `start_weight`, for `steps` steps of
/// `w ← w − η ∇L(w)`.
pub fn train_chain(depth: usize, start_weight: f64, learning_rate: f64, steps: usize) -> ChainRun {
    let mut w = vec![start_weight; depth];
    let mut products = Vec::with_capacity(steps + 1);
    let mut losses = Vec::with_capacity(steps + 1);
    for step in 0..=steps {
        let (loss, gradient) = chain_loss_and_grad(&w);
        products.push(w.iter().product());
        losses.push(loss);
        if step == steps {
            break;
        }
        for (w, g) in w.iter_mut().zip(gradient) {
            *w -= learning_rate * g;
        }
    }
    ChainRun {
        depth,
        start_weight,
        products,
        losses,
    }
}

/// The runs this part shows, and their settings.
pub struct Config {
    pub chain_learning_rate: f64,
    pub chain_steps: usize,
    /// The chains' common starting weight, for the depths of [`CHAIN_DEPTHS`].
    pub chain_start: f64,
    /// The depth of the chains started from different weights, and those weights.
    pub chain_depth_for_starts: usize,
    pub chain_starts: Vec<f64>,
    /// One hidden layer from small weights, against the analytic solution.
    pub shallow: (f64, f64, usize),
    /// Depths 1 to 4 from the same weights: `(init scale, learning rate, steps)`.
    pub depths: (f64, f64, usize),
    /// Depth `init_depth` from several scales: `(learning rate, steps)`.
    pub init_depth: usize,
    pub init_scales: Vec<f64>,
    pub init: (f64, usize),
    pub seed: u64,
}

impl Config {
    /// What the tour runs.
    pub fn lecture() -> Config {
        Config {
            chain_learning_rate: 0.05,
            chain_steps: 300,
            chain_start: 0.5,
            chain_depth_for_starts: 4,
            chain_starts: vec![0.7, 0.5, 0.3],
            shallow: (0.001, 0.02, 4000),
            depths: (0.1, 0.05, 3000),
            init_depth: 3,
            init_scales: vec![0.2, 0.1, 0.05, 0.02],
            init: (0.05, 5000),
            seed: 1,
        }
    }
}

/// Every run of this part.
pub struct Results {
    pub chains_by_depth: Vec<ChainRun>,
    pub chains_by_start: Vec<ChainRun>,
    pub shallow: Training,
    pub by_depth: Vec<Training>,
    pub by_init: Vec<Training>,
}

/// Runs everything `config` asks for.
pub fn compute(config: &Config) -> Results {
    let chains_by_depth = CHAIN_DEPTHS
        .iter()
        .map(|&depth| {
            train_chain(
                depth,
                config.chain_start,
                config.chain_learning_rate,
                config.chain_steps,
            )
        })
        .collect();
    let chains_by_start = config
        .chain_starts
        .iter()
        .map(|&start| {
            train_chain(
                config.chain_depth_for_starts,
                start,
                config.chain_learning_rate,
                config.chain_steps,
            )
        })
        .collect();
    let (scale, rate, steps) = config.shallow;
    let shallow = train(2, scale, rate, steps, config.seed);
    let (scale, rate, steps) = config.depths;
    let by_depth = (1..=4)
        .map(|depth| train(depth, scale, rate, steps, config.seed))
        .collect();
    let (rate, steps) = config.init;
    let by_init = config
        .init_scales
        .iter()
        .map(|&scale| train(config.init_depth, scale, rate, steps, config.seed))
        .collect();
    Results {
        chains_by_depth,
        chains_by_start,
        shallow,
        by_depth,
        by_init,
    }
}

/// Whether each item is strictly larger than the one before (`None` counts as the longest).
pub fn strictly_increasing(lengths: &[Option<usize>]) -> bool {
    lengths.windows(2).all(|pair| match (pair[0], pair[1]) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    })
}

/// The largest analytic gap that counts as agreement, relative to each mode's `σ`. The
/// theory is exact for weights that start decoupled; random weights couple the modes a
/// little, through hidden directions that are not quite orthogonal, which shifts the time of
/// a mode's rise by a few percent and so its strength, mid-rise, by up to several.
pub const ANALYTIC_TOLERANCE: f64 = 0.1;
/// The largest relative error of the analytic half-strength times that counts as agreement.
pub const HALF_TIME_TOLERANCE: f64 = 0.05;

/// The claims this part's pictures make, each checked on `results`; the failures' descriptions.
pub fn failed_checks(results: &Results) -> Vec<String> {
    let mut failures = Vec::new();
    let chain_plateaus = |runs: &[ChainRun]| -> Vec<Option<usize>> {
        runs.iter().map(|run| plateau_length(&run.losses)).collect()
    };
    if !strictly_increasing(&chain_plateaus(&results.chains_by_depth)) {
        failures.push("deeper chains do not plateau longer".to_string());
    }
    // The starts are listed from the largest down.
    if !strictly_increasing(&chain_plateaus(&results.chains_by_start)) {
        failures.push("chains started smaller do not plateau longer".to_string());
    }
    let plateaus = |runs: &[Training]| -> Vec<Option<usize>> {
        runs.iter().map(|run| plateau_length(&run.losses)).collect()
    };
    if !strictly_increasing(&plateaus(&results.by_depth)) {
        failures.push("deeper networks do not plateau longer".to_string());
    }
    if !strictly_increasing(&plateaus(&results.by_init)) {
        failures.push("networks initialised smaller do not plateau longer".to_string());
    }
    let small_init = std::iter::once(&results.shallow)
        .chain(results.by_depth.iter().filter(|run| run.depth >= 2))
        .chain(results.by_init.iter().filter(|run| run.init_scale <= 0.1));
    for run in small_init {
        if !learnt_in_order(run) {
            failures.push(format!(
                "depth {} from N(0, {}²): the modes are not learnt in the order of their singular values",
                run.depth, run.init_scale
            ));
        }
    }
    match analytic_gap(&results.shallow) {
        Some(gap) if gap <= ANALYTIC_TOLERANCE => {}
        gap => failures.push(format!(
            "the shallow network strays from the analytic solution by {gap:?} of σ"
        )),
    }
    match half_time_error(&results.shallow) {
        Some(error) if error <= HALF_TIME_TOLERANCE => {}
        error => failures.push(format!(
            "the analytic solution mistimes the shallow network's modes by {error:?}"
        )),
    }
    failures
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// `values` joined by ", ", each formatted by `format`.
fn list<T>(values: impl IntoIterator<Item = T>, format: impl Fn(T) -> String) -> String {
    values
        .into_iter()
        .map(format)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A plateau length for printing.
fn steps(length: Option<usize>) -> String {
    length.map_or_else(|| String::from("never"), |steps| steps.to_string())
}

/// When each group of modes is learnt, as `first–last` steps.
fn group_times(training: &Training) -> String {
    let times = half_times(training);
    list(0..groups(&training.modes), |group| {
        let members: Vec<Option<usize>> = times
            .iter()
            .zip(&training.modes)
            .filter(|(_, m)| m.group == group)
            .map(|(t, _)| *t)
            .collect();
        match (
            members.iter().flatten().min(),
            members.iter().flatten().max(),
        ) {
            (Some(a), Some(b)) if members.iter().all(Option::is_some) && a == b => a.to_string(),
            (Some(a), Some(b)) if members.iter().all(Option::is_some) => format!("{a}–{b}"),
            _ => String::from("not all"),
        }
    })
}

/// Runs this part: prints what it computed, checks it, draws its pictures and returns their
/// paths.
pub fn run() -> Vec<PathBuf> {
    let config = Config::lecture();
    let results = compute(&config);
    println!(
        "A chain of scalar weights ŷ = w_D ⋯ w_1·x learning y = x, every w_i starting equal, η = {}:",
        config.chain_learning_rate
    );
    println!(
        "  from w_i = {}: the loss halves after {} steps for D = {}",
        config.chain_start,
        list(&results.chains_by_depth, |run| steps(plateau_length(
            &run.losses
        ))),
        list(&results.chains_by_depth, |run| run.depth.to_string()),
    );
    println!(
        "  for D = {}: after {} steps from w_i = {}",
        config.chain_depth_for_starts,
        list(&results.chains_by_start, |run| steps(plateau_length(
            &run.losses
        ))),
        list(&results.chains_by_start, |run| run.start_weight.to_string()),
    );
    let modes = data_modes();
    println!();
    println!(
        "Deep linear networks W_D ⋯ W_1 on the hierarchical items ({ITEMS} items, {FEATURES} features, hidden layers of {HIDDEN}):"
    );
    println!(
        "  Σʸˣ has singular values {}",
        list(0..groups(&modes), |group| {
            let members: Vec<&ModeVectors> = modes.iter().filter(|m| m.group == group).collect();
            format!("{:.3} ({})", members[0].sigma, group_description(group))
        })
    );
    let shallow = &results.shallow;
    println!(
        "  one hidden layer from N(0, {}²), η = {}: the modes reach half strength at steps {}, largest first;",
        shallow.init_scale,
        shallow.learning_rate,
        group_times(shallow)
    );
    println!(
        "    Saxe et al.'s analytic sigmoids predict those steps within {:.1}%, and each strength within {:.1}% of its σ;",
        100.0 * half_time_error(shallow).unwrap_or(f64::NAN),
        100.0 * analytic_gap(shallow).unwrap_or(f64::NAN),
    );
    println!(
        "    final loss {:.1e}; the learnt map WΣˣˣ has singular values {}",
        shallow.losses.last().copied().unwrap_or(f64::NAN),
        list(&shallow.final_singular_values, |s| format!("{s:.3}"))
    );
    println!(
        "  depths 1–4 from N(0, {}²), η = {}: the loss halves after {} steps; modes learnt at {}",
        config.depths.0,
        config.depths.1,
        list(&results.by_depth, |run| steps(plateau_length(&run.losses))),
        list(&results.by_depth, |run| format!("[{}]", group_times(run)))
    );
    println!(
        "  depth {} from N(0, s²) for s = {}: the loss halves after {} steps",
        config.init_depth,
        list(&config.init_scales, |s| s.to_string()),
        list(&results.by_init, |run| steps(plateau_length(&run.losses))),
    );
    let failures = failed_checks(&results);
    if !failures.is_empty() {
        fail(&failures.join("; "));
    }
    println!("  Deeper and smaller-initialised networks plateau longer, and learn the modes largest first.");

    let mut pictures = Vec::new();
    let drawings: [(&str, Drawing<'_>); 4] = [
        ("deep-linear-chain.svg", &|path| {
            draw_chains(&results, &config, path)
        }),
        ("deep-linear-modes.svg", &|path| {
            draw_shallow(&results.shallow, path)
        }),
        ("deep-linear-depth.svg", &|path| {
            draw_grid(
                &results.by_depth,
                &format!(
                    "Depth: W_D ⋯ W_1 from N(0, {}²), η = {}",
                    config.depths.0, config.depths.1
                ),
                &|run| format!("D = {} ({} hidden)", run.depth, hidden_layers(run.depth)),
                path,
            )
        }),
        ("deep-linear-init.svg", &|path| {
            draw_grid(
                &results.by_init,
                &format!(
                    "Initial scale: D = {} ({} hidden), weights from N(0, s²), η = {}",
                    config.init_depth,
                    hidden_layers(config.init_depth),
                    config.init.0
                ),
                &|run| format!("weights from N(0, {}²)", run.init_scale),
                path,
            )
        }),
    ];
    for (name, draw) in drawings {
        match plot::picture_path(name).and_then(|path| draw(&path).map(|()| path)) {
            Ok(path) => pictures.push(path),
            Err(error) => fail(&format!("could not draw {name}: {error}")),
        }
    }
    println!();
    for (path, what) in pictures.iter().zip([
        "the chains",
        "the shallow network against the analytic solution",
        "the depths",
        "the initial scales",
    ]) {
        println!("  picture: {} ({what})", path.display());
    }
    pictures
}

/// A picture to draw, given its path.
type Drawing<'a> = &'a dyn Fn(&std::path::Path) -> plot::DrawResult<()>;

/// "1 layer", "2 layers", …
fn hidden_layers(depth: usize) -> String {
    match depth - 1 {
        0 => String::from("none"),
        1 => String::from("1 layer"),
        n => format!("{n} layers"),
    }
}

/// At most about 250 of a run's steps, evenly spread, the last included: enough for a smooth
/// line at any width, few enough to keep the SVG small.
fn thinned(length: usize) -> Vec<usize> {
    let every = length.div_ceil(250).max(1);
    let mut indices: Vec<usize> = (0..length).step_by(every).collect();
    if indices.last() != Some(&(length - 1)) {
        indices.push(length - 1);
    }
    indices
}

/// The colour of a group of modes.
fn group_color(group: usize) -> RGBColor {
    plot::series_color(group)
}

/// The legend's words for a group.
fn group_label(modes: &[ModeVectors], group: usize) -> String {
    let members = modes.iter().filter(|m| m.group == group).count();
    let sigma = modes
        .iter()
        .find(|m| m.group == group)
        .map_or(f64::NAN, |m| m.sigma);
    let count = if members == 1 {
        String::from("1 mode")
    } else {
        format!("{members} modes")
    };
    format!("σ = {sigma:.3}, {count}")
}

/// The chains: the product of the weights over the steps, by depth and by starting weight.
fn draw_chains(results: &Results, config: &Config, path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1200, 520))?;
    let (left, right) = root.split_horizontally(600);
    for (area, runs, title, label) in [
        (
            &left,
            &results.chains_by_depth,
            format!("Depth D, every w_i starting at {}", config.chain_start),
            &(|run: &ChainRun| format!("D = {}", run.depth)) as &dyn Fn(&ChainRun) -> String,
        ),
        (
            &right,
            &results.chains_by_start,
            format!(
                "D = {}, from different starts",
                config.chain_depth_for_starts
            ),
            &(|run: &ChainRun| format!("w_i = {}", run.start_weight))
                as &dyn Fn(&ChainRun) -> String,
        ),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(title, plot::font(plot::LABEL_SIZE + 2))
            .margin(14)
            .x_label_area_size(56)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..config.chain_steps as f64, 0f64..1.05)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("w_D ⋯ w_1 (target 1)")
            .x_label_formatter(&|step| format!("{step:.0}"))
            .y_label_formatter(&|p| format!("{p:.1}"))
            .label_style(plot::font(plot::TICK_SIZE))
            .axis_desc_style(plot::font(plot::LABEL_SIZE))
            .light_line_style(WHITE)
            .draw()?;
        for (index, run) in runs.iter().enumerate() {
            let color = plot::series_color(index);
            chart
                .draw_series(LineSeries::new(
                    run.products
                        .iter()
                        .enumerate()
                        .map(|(step, &p)| (step as f64, p)),
                    color.stroke_width(3),
                ))?
                .label(label(run))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
        }
        plot::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    }
    root.present()?;
    Ok(())
}

/// Draws the loss of `run` on a log axis in `area`.
fn draw_loss<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    runs: &[&Training],
    labels: &[String],
    caption: &str,
) -> plot::DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let length = runs.iter().map(|run| run.losses.len()).max().unwrap_or(1);
    let positive = |l: &f64| *l > 0.0;
    let low = runs
        .iter()
        .flat_map(|run| run.losses.iter().copied().filter(positive))
        .fold(f64::MAX, f64::min)
        .max(1e-8);
    let high = runs
        .iter()
        .flat_map(|run| run.losses.iter().copied())
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, plot::font(plot::LABEL_SIZE + 2))
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..length as f64, (low..high * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .x_label_formatter(&|step| format!("{step:.0}"))
        .y_label_formatter(&|loss| format!("{loss:.0e}"))
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .light_line_style(WHITE)
        .draw()?;
    for (index, (run, label)) in runs.iter().zip(labels).enumerate() {
        let color = if runs.len() == 1 {
            plot::PALETTE[0]
        } else {
            plot::series_color(index)
        };
        chart
            .draw_series(LineSeries::new(
                thinned(run.losses.len())
                    .into_iter()
                    .map(|step| (step as f64, run.losses[step].max(low))),
                color.stroke_width(3),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
    }
    plot::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// The shallow network: its loss, and each mode's strength beside the analytic solution.
fn draw_shallow(run: &Training, path: &std::path::Path) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1300, 560))?;
    let (left, right) = root.split_horizontally(560);
    draw_loss(
        &left,
        &[run],
        &[String::from("simulated")],
        &format!("Loss: 1 hidden layer, N(0, {}²)", run.init_scale),
    )?;
    let length = run.strengths.len();
    // Room above the largest mode for the legend.
    let top = run.modes.iter().map(|m| m.sigma).fold(0.0, f64::max) * 1.6;
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "Mode strengths uₖᵀ(WΣˣˣ)vₖ: simulated and analytic",
            plot::font(plot::LABEL_SIZE + 2),
        )
        .margin(14)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(0f64..length as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("strength")
        .x_label_formatter(&|step| format!("{step:.0}"))
        .y_label_formatter(&|a| format!("{a:.2}"))
        .label_style(plot::font(plot::TICK_SIZE))
        .axis_desc_style(plot::font(plot::LABEL_SIZE))
        .light_line_style(WHITE)
        .draw()?;
    let initial = run.initial_strengths.clone().unwrap_or_default();
    let steps = thinned(length);
    for (k, mode) in run.modes.iter().enumerate() {
        let color = group_color(mode.group);
        let first_of_group = run.modes.iter().position(|m| m.group == mode.group) == Some(k);
        let series = chart.draw_series(LineSeries::new(
            steps
                .iter()
                .map(|&step| (step as f64, run.strengths[step][k])),
            color.stroke_width(3),
        ))?;
        if first_of_group {
            series
                .label(group_label(&run.modes, mode.group))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
        }
        if let Some(&a0) = initial.get(k) {
            let analytic = chart.draw_series(DashedLineSeries::new(
                steps.iter().map(|&step| {
                    (
                        step as f64,
                        analytic_strength(mode.sigma, a0, run.learning_rate, step as f64),
                    )
                }),
                10,
                6,
                BLACK.stroke_width(2),
            ))?;
            if k == 0 {
                analytic.label("Saxe et al.'s a(t)").legend(|(x, y)| {
                    plotters::element::DashedPathElement::new(
                        vec![(x, y), (x + 26, y)],
                        6,
                        4,
                        BLACK.stroke_width(2),
                    )
                });
            }
        }
    }
    plot::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present()?;
    Ok(())
}

/// Up to four runs in a 2×2 grid: in each panel the modes' strengths, and the loss on the
/// right axis.
fn draw_grid(
    runs: &[Training],
    title: &str,
    panel_title: &dyn Fn(&Training) -> String,
    path: &std::path::Path,
) -> plot::DrawResult<()> {
    let root = plot::canvas(path, (1300, 1040))?;
    let (header, body) = root.split_vertically(96);
    header.draw(&Text::new(title, (24, 12), plot::font(plot::CAPTION_SIZE)))?;
    let modes = &runs[0].modes;
    let mut entries: Vec<(String, RGBColor, bool)> = (0..groups(modes))
        .map(|group| (group_label(modes, group), group_color(group), false))
        .collect();
    entries.push((String::from("loss (right axis)"), BLACK, true));
    header_legend(&header, &entries, (30, 74))?;
    let panels = body.split_evenly((2, 2));
    let length = runs
        .iter()
        .map(|run| run.strengths.len())
        .max()
        .unwrap_or(1);
    let top = modes.iter().map(|m| m.sigma).fold(0.0, f64::max) * 1.12;
    let high = runs
        .iter()
        .flat_map(|run| run.losses.iter().copied())
        .fold(0.0, f64::max)
        * 2.0;
    // The loss is drawn down to here; below, it is drawn at this floor.
    let low = 1e-6;
    for (run, area) in runs.iter().zip(panels.iter()) {
        let mut chart = ChartBuilder::on(area)
            .caption(panel_title(run), plot::font(plot::LABEL_SIZE + 2))
            .margin(10)
            .x_label_area_size(52)
            .y_label_area_size(76)
            .right_y_label_area_size(84)
            .build_cartesian_2d(0f64..length as f64, 0f64..top)?
            .set_secondary_coord(0f64..length as f64, (low..high).log_scale());
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("mode strength")
            .x_labels(6)
            .x_label_formatter(&|step| format!("{step:.0}"))
            .y_label_formatter(&|a| format!("{a:.2}"))
            .label_style(plot::font(plot::TICK_SIZE))
            .axis_desc_style(plot::font(plot::LABEL_SIZE))
            .light_line_style(WHITE)
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("loss (dashed)")
            .y_label_formatter(&|loss| format!("{loss:.0e}"))
            .label_style(plot::font(plot::TICK_SIZE))
            .axis_desc_style(plot::font(plot::LABEL_SIZE))
            .draw()?;
        let steps = thinned(run.strengths.len());
        for (k, mode) in run.modes.iter().enumerate() {
            chart.draw_series(LineSeries::new(
                steps
                    .iter()
                    .map(|&step| (step as f64, run.strengths[step][k])),
                group_color(mode.group).stroke_width(3),
            ))?;
        }
        chart.draw_secondary_series(DashedLineSeries::new(
            thinned(run.losses.len())
                .into_iter()
                .map(|step| (step as f64, run.losses[step].clamp(low, high))),
            10,
            6,
            BLACK.stroke_width(2),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// A legend in a row of `area`, for series drawn in several panels: `(label, colour, dashed)`.
fn header_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
    at: (i32, i32),
) -> plot::DrawResult<()>
where
    DB::ErrorType: 'static,
{
    let (mut x, y) = at;
    let style = plot::font(plot::LEGEND_SIZE);
    for (label, color, dashed) in entries {
        if *dashed {
            for dash in 0..3 {
                let from = x + dash * 10;
                area.draw(&PathElement::new(
                    vec![(from, y), (from + 6, y)],
                    color.stroke_width(2),
                ))?;
            }
        } else {
            area.draw(&PathElement::new(
                vec![(x, y), (x + 28, y)],
                color.stroke_width(4),
            ))?;
        }
        area.draw(&Text::new(label.clone(), (x + 36, y - 9), style.clone()))?;
        let (width, _) = area.estimate_text_size(label, &style)?;
        x += 36 + width as i32 + 28;
    }
    Ok(())
}

#[allow(dead_code)] // The tour calls `run` instead.
fn main() {
    run();
}
