//! `#[tape]`: the backward pass split at the values it needs from the forward pass, and
//! `Parameters` on every `Grad`.

use chainrule::nalgebra::SMatrix;
use chainrule::params::Parameters;

chainrule::graph! {
    #[tape]
    fn layer(w: SMatrix<f64, 3, 2>, #[no_grad] x: SMatrix<f64, 2, 4>) -> SMatrix<f64, 3, 4> {
        let z = w * x;
        let h = tanh(z);
        hadamard(h, exp(z))
    }
}

chainrule::graph! {
    #[tape]
    /// A scalar graph with shared intermediates.
    fn scalar(x: f64, y: f64) -> f64 {
        let a = sin(x) * y;
        let b = exp(a);
        b * tanh(y) + a
    }
}

fn sample_w() -> SMatrix<f64, 3, 2> {
    SMatrix::from_fn(|r, c| 0.3 * r as f64 - 0.2 * c as f64 + 0.1)
}

fn sample_x() -> SMatrix<f64, 2, 4> {
    SMatrix::from_fn(|r, c| (r as f64 + 1.0) * 0.4 - c as f64 * 0.25)
}

#[test]
fn tape_functions_compute_what_forward_and_backward_compute() {
    let (w, x) = (sample_w(), sample_x());
    let d_out = SMatrix::<f64, 3, 4>::from_fn(|r, c| 1.0 + r as f64 - 0.5 * c as f64);
    let (output, tape) = layer::forward_with_tape(w, x);
    assert_eq!(output, layer::forward(w, x));
    let from_tape = layer::backward_with_tape(tape, w, x, d_out);
    let direct = layer::backward(w, x, d_out);
    assert!((from_tape.w - direct.w).abs().max() < 1e-12);

    let (value, tape) = scalar::forward_with_tape(0.4, -1.3);
    assert_eq!(value, scalar::forward(0.4, -1.3));
    let from_tape = scalar::backward_with_tape(tape, 0.4, -1.3, 2.0);
    let direct = scalar::backward(0.4, -1.3, 2.0);
    assert!((from_tape.x - direct.x).abs() < 1e-12 && (from_tape.y - direct.y).abs() < 1e-12);
}

#[test]
fn a_grad_is_parameters_named_after_its_fields() {
    let mut grad = scalar::Grad { x: 1.0, y: 2.0 };
    assert_eq!(grad.len(), 2);
    let mut names = Vec::new();
    grad.visit_named("net", &mut |name, tensor| {
        names.push((name.to_string(), tensor.data.to_vec()))
    });
    assert_eq!(
        names,
        vec![
            ("net.x".to_string(), vec![1.0]),
            ("net.y".to_string(), vec![2.0])
        ]
    );
    grad.add_scaled(0.5, &scalar::Grad { x: 2.0, y: 4.0 });
    assert_eq!(grad, scalar::Grad { x: 2.0, y: 4.0 });

    let matrix = layer::Grad { w: sample_w() };
    let mut shapes = Vec::new();
    matrix.visit_named("", &mut |name, tensor| {
        shapes.push((name.to_string(), tensor.shape.to_vec()))
    });
    assert_eq!(shapes, vec![("w".to_string(), vec![3, 2])]);
}

chainrule::graph! {
    /// The same layer as `layer`, taking its matrices by reference.
    #[tape]
    #[by_ref]
    fn layer_by_ref(w: SMatrix<f64, 3, 2>, #[no_grad] x: SMatrix<f64, 2, 4>) -> SMatrix<f64, 3, 4> {
        let z = w * x;
        let h = tanh(z);
        hadamard(h, exp(z))
    }
}

#[test]
fn by_ref_graphs_compute_what_by_value_graphs_compute() {
    let (w, x) = (sample_w(), sample_x());
    let d_out = SMatrix::<f64, 3, 4>::from_fn(|r, c| 0.5 - r as f64 + 0.25 * c as f64);
    assert_eq!(layer_by_ref::forward(&w, &x), layer::forward(w, x));
    assert_eq!(
        layer_by_ref::backward(&w, &x, &d_out),
        layer::Grad {
            w: layer::backward(w, x, d_out).w
        }
        .into_by_ref()
    );
    let (output, tape) = layer_by_ref::forward_with_tape(&w, &x);
    assert_eq!(output, layer::forward(w, x));
    let from_tape = layer_by_ref::backward_with_tape(&tape, &w, &x, &d_out);
    assert_eq!(from_tape.w, layer::backward(w, x, d_out).w);
}

impl layer::Grad {
    fn into_by_ref(self) -> layer_by_ref::Grad {
        layer_by_ref::Grad { w: self.w }
    }
}

chainrule::graph! {
    /// A const-generic layer, so it also gets the forms that write into the caller's memory.
    #[tape]
    #[by_ref]
    fn gained_layer<const B: usize>(
        gain: f64,
        w: SMatrix<f64, 3, 2>,
        #[no_grad] x: SMatrix<f64, 2, B>,
    ) -> SMatrix<f64, 3, B> {
        let z = w * x;
        gain * hadamard(tanh(z), exp(z))
    }
}

#[test]
fn forward_with_tape_into_writes_what_forward_with_tape_returns() {
    let (w, x) = (sample_w(), sample_x());
    let d_out = SMatrix::<f64, 3, 4>::from_fn(|r, c| 0.5 - r as f64 + 0.25 * c as f64);
    let (output, tape) = gained_layer::forward_with_tape(1.5, &w, &x);

    // Memory that holds something else, as a reused box does.
    let mut out = SMatrix::<f64, 3, 4>::repeat(f64::NAN);
    let mut written = gained_layer::Tape::boxed();
    gained_layer::forward_with_tape_into(1.5, &w, &x, &mut out, written.fields_mut());
    assert_eq!(out, output);
    assert_eq!(out, gained_layer::forward(1.5, &w, &x));

    // The backward pass reads the written tape, by reference, as it reads the returned one.
    let from_written = gained_layer::backward_with_tape(&written, 1.5, &w, &x, &d_out);
    let from_returned = gained_layer::backward_with_tape(&tape, 1.5, &w, &x, &d_out);
    let direct = gained_layer::backward(1.5, &w, &x, &d_out);
    assert_eq!(from_written, from_returned);
    assert!((from_written.w - direct.w).abs().max() < 1e-12);
    assert!((from_written.gain - direct.gain).abs() < 1e-12);
}
