//! The lecture's tour (`examples/lecture.rs`): what each part's pictures claim, checked from
//! the numbers behind them. The parts are included as modules and their computations called,
//! at reduced sizes where a part is slow in a debug build; nothing is drawn.

use std::sync::OnceLock;

// The tests call the parts' computations; their printing and drawing go unused here.
#[allow(dead_code)]
#[path = "../../examples/gradient_descent.rs"]
mod gradient_descent;

#[allow(dead_code)]
#[path = "../../examples/computational_graph.rs"]
mod computational_graph;

#[allow(dead_code)]
#[path = "../../examples/neuron.rs"]
mod neuron;

#[allow(dead_code)]
#[path = "../../examples/learning_rates.rs"]
mod learning_rates;

#[allow(dead_code)]
#[path = "../../examples/deep_linear.rs"]
mod deep_linear;

#[path = "../../examples/support/dot.rs"]
mod dot;

use deep_linear::{Config, Results};
use learning_rates::Regime;

#[test]
fn the_gradient_points_uphill_at_every_arrow() {
    let results = gradient_descent::compute(0);
    // 11 × 11 arrows, one of them at the origin, where the gradient is zero.
    assert_eq!(results.arrows.len(), 121);
    assert_eq!(results.arrows_with_direction, 120);
    assert_eq!(results.arrows_uphill, 120);
    assert_eq!(results.arrows_steepest, 120);
    assert!(
        results.largest_difference <= 1e-12,
        "{}",
        results.largest_difference
    );
    for arrow in &results.arrows {
        let (x, y) = arrow.at;
        let (gx, gy) = gradient_descent::gradient_by_hand(x, y);
        assert!((arrow.gradient.0 - gx).abs() <= 1e-12 && (arrow.gradient.1 - gy).abs() <= 1e-12);
    }
}

#[test]
fn the_first_descent_converges_to_the_ring_of_minima() {
    let descent = gradient_descent::descend(
        gradient_descent::STARTS[0],
        gradient_descent::LEARNING_RATE,
        gradient_descent::STEPS,
    );
    let (value, gradient_norm, radius_squared) = gradient_descent::landing(&descent);
    assert!((value + 1.0).abs() < 1e-12, "h = {value}");
    assert!(gradient_norm < 1e-9, "|∇h| = {gradient_norm}");
    assert!((radius_squared - 1.5 * std::f64::consts::PI).abs() < 1e-9);
    // Every step goes downhill.
    let heights: Vec<f64> = descent
        .path
        .iter()
        .map(|&(x, y)| gradient_descent::h::forward(x, y))
        .collect();
    assert!(heights.windows(2).all(|pair| pair[1] <= pair[0] + 1e-15));
}

#[test]
fn the_lectures_dot_has_the_slides_nodes_and_edges() {
    assert!(
        computational_graph::matches_the_slide(computational_graph::lecture::DOT),
        "{}",
        computational_graph::lecture::DOT
    );
    let (x, y, z) = computational_graph::POINT;
    let labelled = computational_graph::lecture::dot(x, y, z);
    assert!(computational_graph::matches_the_slide(&labelled));
    // The partials on the edges are the slide's: ∂a/∂x = 2, ∂d/∂c = z, ∂c/∂a = 1/b.
    let partial = |from, to| computational_graph::partial(&labelled, from, to).unwrap();
    assert_eq!(partial("x", "a"), 2.0);
    assert!((partial("c", "d") - z).abs() < 1e-6);
    assert!((partial("a", "c") - 1.0 / y.sin()).abs() < 1e-5);
    // Multiplied along the paths, they are the gradient (to the labels' six digits).
    let (_, grad) = computational_graph::lecture::value_and_grad(x, y, z);
    let from_picture = computational_graph::gradient_from_picture(&labelled).unwrap();
    for (picture, generated) in from_picture.iter().zip([grad.x, grad.y, grad.z]) {
        assert!(
            (picture - generated).abs() < 1e-5,
            "{picture} vs {generated}"
        );
    }
}

#[test]
fn the_graph_renders_to_svg_with_every_node() {
    let (x, y, z) = computational_graph::POINT;
    let labelled = computational_graph::lecture::dot(x, y, z);
    let svg = dot::to_svg(&labelled, &dot::Style::default()).unwrap();
    assert!(svg.contains("<svg ") && svg.trim_end().ends_with("</svg>"));
    for label in [
        "a = 2·x",
        "b = sin(y)",
        "c = a / b",
        "d = z·c",
        "e = ln(1 + d)",
        "f = tanh(e)",
    ] {
        assert!(svg.contains(label), "{label} is not in the picture");
    }
    assert!(svg.contains("∂f/∂e = "), "the edges name their partials");
}

#[test]
fn the_neurons_generated_gradient_is_the_hand_derived_one() {
    let (prediction, loss, (dw, db)) = neuron::by_hand(neuron::EXERCISE);
    assert_eq!((prediction, loss, dw, db), (0.0, 49.0, -14.0, -14.0));
    assert_eq!(neuron::generated(neuron::EXERCISE), (49.0, (-14.0, -14.0)));
    assert!(neuron::largest_difference_at_random(1000, 5) <= neuron::TOLERANCE);
}

#[test]
fn the_four_learning_rates_fall_into_the_lectures_four_regimes() {
    let problem = learning_rates::problem(42);
    for (rate, expected) in learning_rates::LEARNING_RATES
        .iter()
        .zip(learning_rates::EXPECTED)
    {
        let run = learning_rates::descend(&problem, *rate, learning_rates::STEPS);
        assert_eq!(
            learning_rates::classify(&run, problem.best_b),
            expected,
            "η = {rate}"
        );
    }
    assert_eq!(
        learning_rates::EXPECTED,
        [
            Regime::ConvergedSlowly,
            Regime::ConvergedFast,
            Regime::Oscillated,
            Regime::Diverged
        ]
    );
}

#[test]
fn the_divergent_run_ends_in_the_runtimes_divergence_error() {
    let problem = learning_rates::problem(42);
    let run = learning_rates::descend(&problem, 1.1, learning_rates::STEPS);
    let Some(chainrule::Error::Diverged { step, lr, .. }) = run.diverged else {
        panic!(
            "η = 1.1 did not stop with Error::Diverged: {:?}",
            run.diverged
        );
    };
    // The rate as the user wrote it, not f32's nearest value widened to f64.
    assert_eq!(lr, 1.1);
    // The trainer stopped at the step it names, having recorded one intercept per step.
    assert_eq!(run.path.len(), step + 1);
    assert!(run.path.iter().all(|b| b.is_finite()));
    // It climbed all the way: each step lands farther away, on the other side.
    let distances: Vec<f32> = run.path.iter().map(|b| b - problem.best_b).collect();
    assert!(distances
        .windows(2)
        .all(|pair| pair[1].abs() > pair[0].abs() && pair[0] * pair[1] < 0.0));
}

#[test]
fn the_regimes_are_read_off_the_path() {
    let run = |path: Vec<f32>| learning_rates::Run {
        learning_rate: 0.0,
        path,
        losses: Vec::new(),
        diverged: None,
    };
    let geometric = |factor: f32| run((0..=20).map(|k| factor.powi(k)).collect());
    assert_eq!(
        learning_rates::classify(&geometric(0.9), 0.0),
        Regime::ConvergedSlowly
    );
    assert_eq!(
        learning_rates::classify(&geometric(0.2), 0.0),
        Regime::ConvergedFast
    );
    assert_eq!(
        learning_rates::classify(&geometric(-0.6), 0.0),
        Regime::Oscillated
    );
    assert_eq!(
        learning_rates::classify(&geometric(-1.2), 0.0),
        Regime::Diverged
    );
    assert_eq!(
        learning_rates::classify(&geometric(1.1), 0.0),
        Regime::Diverged
    );
}

/// The deep linear part's runs, shortened to what the claims need: the tour's shallow run up
/// to its last mode's rise (step ~2500), and the depths and scales at four times the tour's
/// learning rate, which keeps their order and takes a quarter of the steps.
fn deep_linear_results() -> &'static Results {
    static RESULTS: OnceLock<Results> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let config = Config {
            shallow: (0.001, 0.02, 2600),
            depths: (0.1, 0.2, 400),
            init_scales: vec![0.2, 0.1, 0.05],
            init: (0.2, 500),
            ..Config::lecture()
        };
        deep_linear::compute(&config)
    })
}

#[test]
fn deeper_or_smaller_initialised_networks_plateau_longer() {
    let results = deep_linear_results();
    let chains = |runs: &[deep_linear::ChainRun]| -> Vec<Option<usize>> {
        runs.iter()
            .map(|run| deep_linear::plateau_length(&run.losses))
            .collect()
    };
    let networks = |runs: &[deep_linear::Training]| -> Vec<Option<usize>> {
        runs.iter()
            .map(|run| deep_linear::plateau_length(&run.losses))
            .collect()
    };
    // Depths 1, 2, 4, 8; then starts 0.7, 0.5, 0.3.
    assert!(deep_linear::strictly_increasing(&chains(
        &results.chains_by_depth
    )));
    assert!(deep_linear::strictly_increasing(&chains(
        &results.chains_by_start
    )));
    // Depths 1 to 4; then scales 0.2, 0.1 and 0.05 at depth 3.
    let by_depth = networks(&results.by_depth);
    assert!(deep_linear::strictly_increasing(&by_depth), "{by_depth:?}");
    let by_init = networks(&results.by_init);
    assert!(deep_linear::strictly_increasing(&by_init), "{by_init:?}");
    assert!(by_depth.iter().chain(&by_init).all(Option::is_some));
}

#[test]
fn the_modes_are_learnt_in_the_order_of_their_singular_values() {
    let results = deep_linear_results();
    assert!(deep_linear::learnt_in_order(&results.shallow));
    for run in results.by_depth.iter().filter(|run| run.depth >= 2) {
        assert!(
            deep_linear::learnt_in_order(run),
            "depth {}: {:?}",
            run.depth,
            deep_linear::half_times(run)
        );
    }
    for run in results.by_init.iter().filter(|run| run.init_scale <= 0.1) {
        assert!(deep_linear::learnt_in_order(run), "σ = {}", run.init_scale);
    }
    // Without a hidden layer every mode is learnt at the same rate, so the order is not the
    // singular values' (the picture shows them rising together).
    assert!(!deep_linear::learnt_in_order(&results.by_depth[0]));
}

#[test]
fn the_simulated_shallow_trajectory_matches_the_analytic_one() {
    let shallow = &deep_linear_results().shallow;
    let gap = deep_linear::analytic_gap(shallow).unwrap();
    assert!(gap <= deep_linear::ANALYTIC_TOLERANCE, "gap {gap}");
    let timing = deep_linear::half_time_error(shallow).unwrap();
    assert!(
        timing <= deep_linear::HALF_TIME_TOLERANCE,
        "timing error {timing}"
    );
    // The analytic solution itself: from a₀ it rises to σ, half-way at its half time.
    let (sigma, a0, rate) = (0.5, 1e-6, 0.02);
    assert!((deep_linear::analytic_strength(sigma, a0, rate, 0.0) - a0).abs() < 1e-18);
    assert!((deep_linear::analytic_strength(sigma, a0, rate, 1e5) - sigma).abs() < 1e-12);
    let half = (sigma / a0 - 1.0).ln() / (2.0 * rate * sigma);
    assert!((deep_linear::analytic_strength(sigma, a0, rate, half) - sigma / 2.0).abs() < 1e-12);
}

#[test]
fn the_learnt_map_has_the_datas_singular_values() {
    // One hidden layer, trained to convergence.
    let run = &deep_linear_results().by_depth[1];
    assert_eq!(run.depth, 2);
    let data: Vec<f64> = deep_linear::data_modes().iter().map(|m| m.sigma).collect();
    assert_eq!(run.final_singular_values.len(), data.len());
    for (learnt, sigma) in run.final_singular_values.iter().zip(&data) {
        assert!((learnt - sigma).abs() < 1e-3, "{learnt} vs {sigma}");
    }
}

#[test]
fn every_claim_of_the_deep_linear_pictures_holds() {
    let failures = deep_linear::failed_checks(deep_linear_results());
    assert!(failures.is_empty(), "{failures:?}");
}
