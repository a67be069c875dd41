//! Small datasets made in-process from a seed: sin with noise, two spirals, moons, XOR, and the
//! hierarchical items of Saxe, McClelland & Ganguli (2013) with the analytic singular values of
//! their input–output correlation. Nothing is downloaded; nothing here trains a model.

use nalgebra::SVector;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::Dataset;
use crate::Real;

/// A draw from N(0, σ²), in `f64`.
fn gaussian(rng: &mut StdRng, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    sigma * z
}

/// A 2-D point rounded to `T`.
fn point<T: Real>(x: f64, y: f64) -> SVector<T, 2> {
    SVector::from([T::from_f64(x), T::from_f64(y)])
}

/// `n` samples of `y = sin(x) + ε`, `x` uniform in [−π, π], `ε ~ N(0, noise²)`: the 1-D
/// regression of the lecture. With `noise` 0 the targets are exact, a test set to measure a
/// fit against.
///
/// ```
/// let data = chainrule::data::sine::<f32>(64, 0.05, 1);
/// let mean_error: f32 = data.inputs().iter().zip(data.targets())
///     .map(|(x, y)| (y[0] - x[0].sin()).abs()).sum::<f32>() / 64.0;
/// assert!(mean_error > 0.0 && mean_error < 0.1);
/// ```
pub fn sine<T: Real>(n: usize, noise: f64, seed: u64) -> Dataset<T, 1, SVector<T, 1>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x = rng.random_range(-std::f64::consts::PI..=std::f64::consts::PI);
            let y = x.sin() + gaussian(&mut rng, noise);
            (
                SVector::from([T::from_f64(x)]),
                SVector::from([T::from_f64(y)]),
            )
        })
        .collect()
}

/// `n` points on two interleaved spirals of 1¼ turns each, class 0 and class 1 alternating,
/// with `N(0, noise²)` added to each coordinate.
///
/// A point's position `t` along its arm is uniform in [0.1, 1]; it sits at radius `t` and
/// angle `2π·1.25·t`, plus π for class 1, so the arms never cross and the classes are
/// separable (exactly, for `noise` 0) by a small tanh network, but not by a line.
///
/// ```
/// let data = chainrule::data::two_spirals::<f64>(100, 0.0, 5);
/// assert!(data.inputs().iter().all(|p| p.norm() <= 1.0 + 1e-12));
/// assert_eq!(data.targets().iter().filter(|&&class| class == 1).count(), 50);
/// ```
pub fn two_spirals<T: Real>(n: usize, noise: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let class = i % 2;
            let t = rng.random_range(0.1..=1.0);
            let angle = std::f64::consts::TAU * 1.25 * t + std::f64::consts::PI * class as f64;
            let x = t * angle.cos() + gaussian(&mut rng, noise);
            let y = t * angle.sin() + gaussian(&mut rng, noise);
            (point(x, y), class)
        })
        .collect()
}

/// `n` points on two interleaving half circles, scikit-learn's `make_moons`: class 0 on
/// `(cos θ, sin θ)`, class 1 on `(1 − cos θ, 1/2 − sin θ)`, `θ` uniform in [0, π], classes
/// alternating, with `N(0, noise²)` added to each coordinate.
///
/// ```
/// let data = chainrule::data::moons::<f64>(50, 0.0, 9);
/// let (upper, lower) = (&data.inputs()[0], &data.inputs()[1]);
/// assert!((upper.norm() - 1.0).abs() < 1e-12);
/// assert!(((lower[0] - 1.0).powi(2) + (lower[1] - 0.5).powi(2) - 1.0).abs() < 1e-12);
/// ```
pub fn moons<T: Real>(n: usize, noise: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let class = i % 2;
            let theta = rng.random_range(0.0..=std::f64::consts::PI);
            let (x, y) = if class == 0 {
                (theta.cos(), theta.sin())
            } else {
                (1.0 - theta.cos(), 0.5 - theta.sin())
            };
            let x = x + gaussian(&mut rng, noise);
            let y = y + gaussian(&mut rng, noise);
            (point(x, y), class)
        })
        .collect()
}

/// `n` points uniform in the square [−1, 1]², class 1 where exactly one coordinate is
/// positive (the XOR of their signs). `N(0, noise²)` is added to each coordinate after the
/// class is fixed, so with noise some points cross an axis into the other class's quadrant.
/// Classes do not alternate here; they follow the points.
///
/// ```
/// let data = chainrule::data::xor::<f64>(100, 0.0, 4);
/// for (p, &class) in data.inputs().iter().zip(data.targets()) {
///     assert_eq!(class, ((p[0] > 0.0) != (p[1] > 0.0)) as usize);
/// }
/// ```
pub fn xor<T: Real>(n: usize, noise: f64, seed: u64) -> Dataset<T, 2, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x: f64 = rng.random_range(-1.0..=1.0);
            let y: f64 = rng.random_range(-1.0..=1.0);
            let class = ((x > 0.0) != (y > 0.0)) as usize;
            let x = x + gaussian(&mut rng, noise);
            let y = y + gaussian(&mut rng, noise);
            (point(x, y), class)
        })
        .collect()
}

/// The hierarchically structured items of Saxe, McClelland & Ganguli (2013, "Exact
/// solutions to the nonlinear dynamics of learning in deep linear neural networks"): `P`
/// items at the leaves of a complete binary tree of depth log₂ P, each with the `F = 2P − 1`
/// features that are the tree's nodes.
///
/// Item `i`'s input is the one-hot vector `eᵢ`; its target has a 1 for every node on the path
/// from the root to leaf `i` and 0 elsewhere. Nodes are numbered breadth-first: feature 0 is
/// the root (every item has it: "is a living thing"), features 1 and 2 its children, …, and
/// features `P − 1 ..= 2P − 2` the leaves themselves. The set is deterministic: there is
/// nothing to seed. [`hierarchical_modes`] gives the singular values and vectors of its
/// input–output correlation in closed form.
///
/// ```
/// use chainrule::data;
///
/// let items = data::hierarchical::<f64, 4, 7>();
/// assert_eq!(items.len(), 4);
/// // Item 2 is the left child of node 2: root, node 2, leaf 5.
/// assert_eq!(items.targets()[2].as_slice(), [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
/// assert_eq!(items.inputs()[2].as_slice(), [0.0, 0.0, 1.0, 0.0]);
/// ```
///
/// `P` must be a power of two and `F` must be `2P − 1`; anything else fails to compile.
pub fn hierarchical<T: Real, const P: usize, const F: usize>() -> Dataset<T, P, SVector<T, F>> {
    const {
        assert!(
            P.is_power_of_two() && F == 2 * P - 1,
            "`hierarchical::<T, P, F>` needs `P` a power of two and `F == 2 * P - 1`"
        )
    };
    (0..P)
        .map(|item| {
            let mut input = SVector::<T, P>::from_element(T::ZERO);
            input[item] = T::ONE;
            let mut target = SVector::<T, F>::from_element(T::ZERO);
            // Walk from the leaf up to the root: a node's parent is (node − 1) / 2.
            let mut node = P - 1 + item;
            loop {
                target[node] = T::ONE;
                if node == 0 {
                    break;
                }
                node = (node - 1) / 2;
            }
            (input, target)
        })
        .collect()
}

/// One mode of an input–output correlation: `Σʸˣ = Σₖ σₖ uₖ vₖᵀ`.
///
/// ```
/// let root_split = &chainrule::data::hierarchical_modes(2)[1];
/// assert_eq!(root_split.node, Some(0));
/// assert_eq!(root_split.singular_value, 0.5); // √(2 − 1) / 2
/// let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-15);
/// let s = std::f64::consts::FRAC_1_SQRT_2;
/// assert!(close(&root_split.input, &[s, -s])); // item 0 against item 1
/// assert!(close(&root_split.output, &[0.0, s, -s])); // the root is shared; the leaves differ
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mode {
    /// The singular value `σ`.
    pub singular_value: f64,
    /// The output (feature) singular vector `u`, unit length, one entry per feature.
    pub output: Vec<f64>,
    /// The input (item) singular vector `v`, unit length, one entry per item.
    pub input: Vec<f64>,
    /// The tree node this mode splits (its input vector is +1 on the node's left subtree and
    /// −1 on its right, normalised), or `None` for the mode shared by all items.
    pub node: Option<usize>,
}

/// The singular value decomposition of the input–output correlation
/// `Σʸˣ = (1/P) Σᵢ yᵢ xᵢᵀ` of [`hierarchical`]`::<_, P, _>()` (its input correlation is
/// `Σˣˣ = I / P`), in closed form, largest singular value first.
///
/// Write `Y` for the `F × P` matrix of targets, so `Σʸˣ = Y / P`. `YᵀY` counts the nodes two
/// leaves share, and its eigenvectors are the tree's Haar vectors: the constant vector, with
/// eigenvalue `2P − 1`, and for each internal node whose subtree has `s` leaves, the vector
/// that is +1 on its left half and −1 on its right, with eigenvalue `s − 1`. So
/// `σ = √λ / P`, `v` is that vector normalised and `u = Y v / √λ`. The root's split is the
/// second mode; the `P/2` splits just above the leaves come last, with `σ = 1/P`. A deep
/// linear network learns these modes one by one, in this order.
///
/// ```
/// use chainrule::data;
///
/// let modes = data::hierarchical_modes(4);
/// let sigmas: Vec<f64> = modes.iter().map(|mode| mode.singular_value).collect();
/// let expected = [7f64.sqrt() / 4.0, 3f64.sqrt() / 4.0, 0.25, 0.25];
/// assert!(sigmas.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-15));
/// assert_eq!(modes[1].node, Some(0)); // the root's split
/// ```
///
/// # Panics
///
/// If `items` is not a power of two.
pub fn hierarchical_modes(items: usize) -> Vec<Mode> {
    assert!(
        items.is_power_of_two(),
        "the hierarchical dataset has a power of two items, not {items}"
    );
    let features = 2 * items - 1;
    // The leaves (as item indices) under `node`: a contiguous range.
    let leaves = |node: usize| {
        let level = usize::BITS - 1 - (node + 1).leading_zeros();
        let width = items >> level;
        let first = (node + 1 - (1 << level)) * width;
        first..first + width
    };
    // `Y v`: feature `f` sums `v` over the leaves under node `f`.
    let output_of = |input: &[f64], lambda: f64| -> Vec<f64> {
        (0..features)
            .map(|node| leaves(node).map(|item| input[item]).sum::<f64>() / lambda.sqrt())
            .collect()
    };
    let scale = items as f64;
    let constant = vec![1.0 / scale.sqrt(); items];
    let lambda = 2.0 * scale - 1.0;
    let mut modes = vec![Mode {
        singular_value: lambda.sqrt() / scale,
        output: output_of(&constant, lambda),
        input: constant,
        node: None,
    }];
    // Internal nodes in breadth-first order have non-increasing subtree sizes.
    for node in 0..items - 1 {
        let under = leaves(node);
        let size = under.len();
        let lambda = size as f64 - 1.0;
        let mut input = vec![0.0; items];
        let norm = (size as f64).sqrt();
        for (offset, item) in under.enumerate() {
            input[item] = if offset < size / 2 { 1.0 } else { -1.0 } / norm;
        }
        modes.push(Mode {
            singular_value: lambda.sqrt() / scale,
            output: output_of(&input, lambda),
            input,
            node: Some(node),
        });
    }
    modes
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    #[test]
    fn hierarchical_modes_are_the_svd_of_the_correlation() {
        let data = hierarchical::<f64, 8, 15>();
        let p = 8.0;
        // Σʸˣ = (1/P) Σ y xᵀ.
        let correlation = DMatrix::from_fn(15, 8, |f, i| {
            data.inputs()
                .iter()
                .zip(data.targets())
                .map(|(x, y)| y[f] * x[i])
                .sum::<f64>()
                / p
        });
        let modes = hierarchical_modes(8);
        assert_eq!(modes.len(), 8);
        let mut numeric: Vec<f64> = correlation
            .clone()
            .svd(false, false)
            .singular_values
            .iter()
            .copied()
            .collect();
        numeric.sort_by(|a, b| b.total_cmp(a));
        for (mode, sigma) in modes.iter().zip(&numeric) {
            assert!(
                (mode.singular_value - sigma).abs() < 1e-12,
                "{} vs {sigma}",
                mode.singular_value
            );
        }
        // Each mode is a singular triple: Σ v = σ u, Σᵀ u = σ v, both unit length.
        let mut reconstructed = DMatrix::<f64>::zeros(15, 8);
        for mode in &modes {
            let u = nalgebra::DVector::from_vec(mode.output.clone());
            let v = nalgebra::DVector::from_vec(mode.input.clone());
            assert!((u.norm() - 1.0).abs() < 1e-12 && (v.norm() - 1.0).abs() < 1e-12);
            assert!((&correlation * &v - mode.singular_value * &u).norm() < 1e-12);
            assert!((correlation.transpose() * &u - mode.singular_value * &v).norm() < 1e-12);
            reconstructed += mode.singular_value * &u * v.transpose();
        }
        assert!((reconstructed - correlation).norm() < 1e-12);
        assert!(modes
            .windows(2)
            .all(|w| w[0].singular_value >= w[1].singular_value));
    }

    #[test]
    fn generators_repeat_from_a_seed_and_differ_between_seeds() {
        assert_eq!(
            two_spirals::<f32>(20, 0.1, 3),
            two_spirals::<f32>(20, 0.1, 3)
        );
        assert_ne!(
            two_spirals::<f32>(20, 0.1, 3),
            two_spirals::<f32>(20, 0.1, 4)
        );
        assert_eq!(moons::<f64>(20, 0.1, 3), moons::<f64>(20, 0.1, 3));
        assert_eq!(sine::<f64>(20, 0.1, 3), sine::<f64>(20, 0.1, 3));
        assert_eq!(xor::<f64>(20, 0.1, 3), xor::<f64>(20, 0.1, 3));
        // f32 and f64 sets agree up to rounding.
        let (a, b) = (sine::<f32>(5, 0.1, 8), sine::<f64>(5, 0.1, 8));
        for (x, y) in a.inputs().iter().zip(b.inputs()) {
            assert_eq!(x[0], y[0] as f32);
        }
    }
}
