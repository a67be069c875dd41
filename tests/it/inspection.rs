//! What a graph tells about itself: `check_gradient` against central differences, and the
//! operation counts `FORWARD_OPS` and `BACKWARD_OPS` on the benchmark workloads.

use chainrule::check::{self, Element};
use chainrule::nalgebra::{Matrix2x3, SVector, Vector3};
use chainrule::{graph, GradientMismatch};

#[path = "../../benches/workloads/mod.rs"]
mod workloads;

use workloads::{deep, lecture, mlp_batch, mlp_sample, neuron};

#[test]
fn every_workload_passes_its_own_gradient_check() {
    let (x, y, z) = workloads::LECTURE_POINT;
    lecture::check_gradient(x, y, z).unwrap();
    let ((w, b), (x, y)) = (workloads::NEURON_POINT, workloads::NEURON_DATA);
    neuron::check_gradient(w, b, x, y).unwrap();
    let (p, d) = workloads::mlp_inputs(7);
    mlp_batch::check_gradient(p.w1, p.b1, p.w2, p.b2, d.x, d.y, d.ones).unwrap();
    let (x, y) = (d.x.column(0).into(), d.y.column(0).into());
    mlp_sample::check_gradient(p.w1, p.b1, p.w2, p.b2, x, y).unwrap();
    let d = workloads::deep_inputs(7);
    let [w1, w2, w3, w4, w5] = d.w;
    deep::check_gradient(w1, w2, w3, w4, w5, d.x, d.y).unwrap();
}

graph! {
    /// A matrix output: checked through ⟨d_out, forward⟩ with the runtime's fixed `d_out`.
    fn layer(w: SMatrix<f64, 2, 3>, b: SVector<f64, 2>, #[no_grad] x: SVector<f64, 3>) -> SVector<f64, 2> {
        tanh(w * x + b)
    }
}

graph! {
    #[by_ref]
    fn layer_by_ref<const I: usize, const O: usize>(w: SMatrix<f32, O, I>, b: SVector<f32, O>, x: SVector<f32, I>) -> f32 {
        sum(sigmoid(w * x + b))
    }
}

#[test]
fn matrix_outputs_const_generics_and_references_are_checked_too() {
    let w = Matrix2x3::new(0.1, -0.4, 0.7, 0.3, 0.2, -0.5);
    layer::check_gradient(w, SVector::from([0.1, -0.2]), Vector3::new(1.0, 2.0, -1.0)).unwrap();
    let w = w.map(|v| v as f32);
    let (b, x) = (
        SVector::from([0.1_f32, -0.2]),
        Vector3::new(1.0_f32, 2.0, -1.0),
    );
    layer_by_ref::check_gradient(&w, &b, &x).unwrap();
}

#[test]
fn the_fixed_d_out_of_a_matrix_output_weighs_every_element_differently() {
    // Element k of 6, column by column, is 1 + k/6.
    let seed = check::vjp_seed::<f64, 2, 3>();
    let expected = Matrix2x3::new(6.0, 8.0, 10.0, 7.0, 9.0, 11.0) / 6.0;
    assert!((seed - expected).abs().max() < 1e-15, "{seed}");
}

graph! {
    /// relu has no derivative at 0: `backward` takes 0 there, central differences see ½.
    fn kink(x: f64, y: f64) -> f64 { relu(x) + y * y }
}

#[test]
fn a_gradient_that_disagrees_with_central_differences_is_named() {
    kink::check_gradient(1.0, 2.0).unwrap();
    // relu′(0) is 0 in `backward`, but the central difference straddles the kink: ½.
    let mismatch: GradientMismatch = kink::check_gradient(0.0, 2.0).unwrap_err();
    assert_eq!(mismatch.parameter, "x");
    assert_eq!(mismatch.element, Element::Single);
    assert_eq!(mismatch.backward, 0.0);
    assert!((mismatch.numeric - 0.5).abs() < 1e-9, "{mismatch}");
    assert!(mismatch
        .to_string()
        .starts_with("gradient mismatch at `x`: backward gives 0, central differences give 0.5"));
}

#[test]
fn a_wrong_hand_written_gradient_is_found_at_its_row_and_column() {
    let point = Matrix2x3::new(1.0, 2.0, 3.0, -1.0, 0.5, 2.0);
    // f(m) = Σ m³, so ∇f = 3m²; the hand-written one forgets the 3 in one element.
    let f = |m: &Matrix2x3<f64>| m.iter().map(|v| v * v * v).sum::<f64>();
    let mut gradient = point.map(|v| 3.0 * v * v);
    gradient[(1, 2)] /= 3.0;
    let mismatch = check::check_gradient(&point, &gradient, f).unwrap_err();
    assert_eq!(mismatch.element, Element::Entry { row: 1, column: 2 });
    assert_eq!(mismatch.backward, 4.0);
    assert!((mismatch.numeric - 12.0).abs() < 1e-6);
    assert!(
        mismatch
            .to_string()
            .contains("at `[(1, 2)]`: backward gives 4,"),
        "{mismatch}"
    );
}

#[test]
fn each_workloads_backward_pass_costs_at_most_four_forward_passes() {
    let costs = [
        ("lecture", lecture::FORWARD_OPS, lecture::BACKWARD_OPS),
        ("neuron", neuron::FORWARD_OPS, neuron::BACKWARD_OPS),
        ("mlp_batch", mlp_batch::FORWARD_OPS, mlp_batch::BACKWARD_OPS),
        (
            "mlp_sample",
            mlp_sample::FORWARD_OPS,
            mlp_sample::BACKWARD_OPS,
        ),
        ("deep", deep::FORWARD_OPS, deep::BACKWARD_OPS),
    ];
    for (name, forward, backward) in costs {
        assert!(forward > 0, "{name}");
        assert!(
            backward <= 4 * forward,
            "{name}: backward costs {backward} operations, forward {forward}"
        );
    }
}

#[test]
fn operation_counts_follow_the_documented_rules() {
    // The lecture: 2·x, sin, /, ·, 1 +, ln, tanh.
    assert_eq!(lecture::FORWARD_OPS, 7);
    // The deep network: four 8×8·8×8 products, one 8×8·8×32, then mse over 8×32 elements
    // (the difference, its square, the sum; the mean's division is one more).
    let products = 4 * 8 * 8 * 8 + 8 * 8 * 32;
    assert_eq!(deep::FORWARD_OPS, products + 3 * 8 * 32 + 1);
}

graph! {
    /// Parameters named like the module's functions, and no parameter to differentiate.
    fn shadowing(forward: f64, backward: f64, #[no_grad] data: f64) -> f64 {
        forward * backward + data
    }
}

graph! {
    fn data_only(#[no_grad] x: f64) -> f64 { sin(x) }
}

#[test]
fn parameters_named_forward_or_backward_and_graphs_without_gradients_are_checked() {
    shadowing::check_gradient(2.0, 3.0, 1.0).unwrap();
    data_only::check_gradient(1.0).unwrap();
}
