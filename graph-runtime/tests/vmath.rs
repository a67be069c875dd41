//! `vmath` against independent references: every path gives the scalar path's bits; special
//! values are std's, libm's and the runtime's scalar functions'; sampled accuracy in `f32`
//! against the `f64` functions (exact to 2⁻²⁹ ulp of `f32`), and in `f64` against `libm`.
//! (`benches/vmath.rs` checks every `f32` input of `tanh` and `exp`, in the bench profile.)

use graph_runtime::nalgebra::SMatrix;
use graph_runtime::rand::{rngs::StdRng, RngExt, SeedableRng};
use graph_runtime::vmath::{self, Element, Function, Path, Simd};
use graph_runtime::{erf, gelu, sigmoid, silu, softplus};

/// The function in `f64`, from std, libm or the runtime's scalar forms: none shares code with
/// `vmath`.
fn reference(function: Function) -> fn(f64) -> f64 {
    match function {
        Function::Tanh => f64::tanh,
        Function::Exp => f64::exp,
        Function::Ln => f64::ln,
        Function::Sigmoid => sigmoid::<f64>,
        Function::Softplus => softplus::<f64>,
        Function::Erf => erf::<f64>,
        Function::Gelu => gelu::<f64>,
        Function::Silu => silu::<f64>,
    }
}

/// The bounds in `f32`: 2 ulp for tanh, exp and sigmoid, 4 for the others.
fn f32_bound(function: Function) -> f64 {
    match function {
        Function::Tanh | Function::Exp | Function::Sigmoid => 2.0,
        _ => 4.0,
    }
}

fn apply<T: Element>(simd: Simd, function: Function, input: &[T]) -> Vec<T> {
    let mut output = vec![T::default(); input.len()];
    simd.apply(function, input, &mut output);
    output
}

fn scalar() -> Simd {
    Simd::new(Path::Scalar).expect("the scalar path is always available")
}

/// Random bit patterns (every class of float: NaNs, infinities, subnormals, huge values) and
/// random values where the functions do their work.
fn f32_inputs(n: usize) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(18);
    (0..n)
        .map(|i| match i % 2 {
            0 => f32::from_bits(rng.random()),
            _ => rng.random_range(-30.0..30.0),
        })
        .collect()
}

fn f64_inputs(n: usize) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(18);
    (0..n)
        .map(|i| match i % 2 {
            0 => f64::from_bits(rng.random()),
            _ => rng.random_range(-40.0..40.0),
        })
        .collect()
}

#[test]
fn every_available_path_gives_the_scalar_paths_bits() {
    let (f32s, f64s) = (f32_inputs(20_000), f64_inputs(20_000));
    let paths: Vec<Simd> = Path::ALL.into_iter().filter_map(Simd::new).collect();
    assert!(
        paths.len() >= 2 || !cfg!(target_arch = "x86_64"),
        "SSE2 is always there"
    );
    for function in Function::ALL {
        let (expected32, expected64) = (
            apply(scalar(), function, &f32s),
            apply(scalar(), function, &f64s),
        );
        for &simd in &paths {
            let got32 = apply(simd, function, &f32s);
            let got64 = apply(simd, function, &f64s);
            let same32 = expected32
                .iter()
                .zip(&got32)
                .all(|(e, g)| e.to_bits() == g.to_bits());
            let same64 = expected64
                .iter()
                .zip(&got64)
                .all(|(e, g)| e.to_bits() == g.to_bits());
            assert!(same32 && same64, "{function:?} on {:?}", simd.path());
            let mut in_place = f32s.clone();
            simd.apply_in_place(function, &mut in_place);
            assert!(in_place
                .iter()
                .zip(&got32)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
}

#[test]
fn unavailable_paths_give_no_token() {
    assert!(Path::Scalar.is_available());
    assert_eq!(Path::Sse2.is_available(), cfg!(target_arch = "x86_64"));
    assert_eq!(Path::Neon.is_available(), cfg!(target_arch = "aarch64"));
    assert_eq!(Simd::best().path(), Path::best());
}

/// |ours − exact| in ulp of `f32` at the exact value; ∞ if only one is NaN or infinite.
fn f32_ulp_error(ours: f32, exact: f64) -> f64 {
    let rounded = exact as f32;
    if !(rounded.is_finite() && ours.is_finite()) {
        let same = rounded == ours || (rounded.is_nan() && ours.is_nan());
        return if same { 0.0 } else { f64::INFINITY };
    }
    let exponent = ((exact.abs().to_bits() >> 52) as i32 - 1023).max(-126);
    (ours as f64 - exact).abs() / 2f64.powi(exponent - 23)
}

#[test]
fn f32_results_are_within_the_ulp_bounds_on_samples() {
    // Every 4099th bit pattern (all binades, both signs) and a dense grid over [−20, 20].
    let mut inputs: Vec<f32> = (0..(1u64 << 32))
        .step_by(4099)
        .map(|b| f32::from_bits(b as u32))
        .collect();
    inputs.extend((0..200_000).map(|i| -20.0 + 40.0 * i as f32 / 200_000.0));
    for function in Function::ALL {
        let output = apply(Simd::best(), function, &inputs);
        let exact = reference(function);
        let (worst, at) = inputs
            .iter()
            .zip(&output)
            .map(|(&x, &y)| (f32_ulp_error(y, exact(x as f64)), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        assert!(
            worst <= f32_bound(function),
            "{function:?}: {worst} ulp at {at:e}"
        );
    }
}

/// The distance in representable `f64`s between two values of one sign.
fn f64_ulp_distance(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    let ordered = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    ordered(a).abs_diff(ordered(b))
}

#[test]
fn f64_results_stay_close_to_libm_on_dense_samples() {
    // libm is within 1 ulp of the exact value, and the runtime's scalar sigmoid, softplus and
    // silu round a few times more, so the allowance is ours plus theirs.
    let allowance = |function| match function {
        Function::Tanh | Function::Exp | Function::Ln => 3,
        Function::Erf | Function::Gelu => 0, // libm's own, element by element
        _ => 6,
    };
    let mut inputs: Vec<f64> = (0..400_000)
        .map(|i| -40.0 + 80.0 * i as f64 / 400_000.0)
        .collect();
    inputs.extend(f64_inputs(100_000));
    inputs.extend((0..100_000).map(|i| (i as f64 / 100_000.0 - 0.5) * 1e-3));
    for function in Function::ALL {
        let output = apply(Simd::best(), function, &inputs);
        let exact = reference(function);
        let (worst, at) = inputs
            .iter()
            .zip(&output)
            .map(|(&x, &y)| (f64_ulp_distance(y, exact(x)), x))
            .fold((0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        println!("{function:?}: at most {worst} ulp from the reference (at {at:e})");
        assert!(
            worst <= allowance(function),
            "{function:?}: {worst} ulp at {at:e}"
        );
    }
}

/// Inputs where functions have special values or switch forms.
const SPECIAL: [f64; 16] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1.0,
    -1.0,
    1e-300,
    -1e-300,
    1e-40,
    -1e-40,
    20.0,
    -20.0,
    800.0,
    -800.0,
    0.5625,
];

/// The same value, or both NaN; zeros must agree in sign too.
fn same_special<T: PartialEq + Copy + Into<f64>>(ours: T, reference: T) -> bool {
    let (ours, reference): (f64, f64) = (ours.into(), reference.into());
    (ours.is_nan() && reference.is_nan())
        || (ours == reference && ours.is_sign_negative() == reference.is_sign_negative())
}

#[test]
fn special_values_are_those_of_std_libm_and_the_scalar_functions() {
    for function in Function::ALL {
        let exact = reference(function);
        let got64 = apply(Simd::best(), function, &SPECIAL);
        let inputs32: Vec<f32> = SPECIAL.iter().map(|&x| x as f32).collect();
        let got32 = apply(Simd::best(), function, &inputs32);
        for ((&x, &y64), &y32) in SPECIAL.iter().zip(&got64).zip(&got32) {
            let want = exact(x);
            // Only the values that are special: 0, ±1, ±∞, NaN, or the input itself.
            if want.is_nan() || want.is_infinite() || want == 0.0 || want.abs() == 1.0 || want == x
            {
                assert!(
                    same_special(y64, want),
                    "{function:?}({x:e}) in f64: {y64:e}, not {want:e}"
                );
            }
            let want32 = exact(x as f32 as f64) as f32;
            if want32.is_nan() || want32.is_infinite() || want32 == 0.0 || want32.abs() == 1.0 {
                assert!(
                    same_special(y32, want32),
                    "{function:?}({x:e}) in f32: {y32:e}, not {want32:e}"
                );
            }
        }
    }
}

#[test]
fn exp_overflows_and_underflows_exactly_where_std_does() {
    // The last input with a finite exp, and the last with a non-zero one, found with std.
    let mut overflow = 88.0_f32;
    while (f32::from_bits(overflow.to_bits() + 1)).exp().is_finite() {
        overflow = f32::from_bits(overflow.to_bits() + 1);
    }
    let mut underflow = -100.0_f32;
    while (f32::from_bits(underflow.to_bits() + 1)).exp() > 0.0 {
        underflow = f32::from_bits(underflow.to_bits() + 1);
    }
    let next_up = |x: f32| f32::from_bits(x.to_bits() + 1);
    let inputs = [overflow, next_up(overflow), underflow, next_up(underflow)];
    let got = apply(Simd::best(), Function::Exp, &inputs);
    assert!(got[0].is_finite() && got[1] == f32::INFINITY, "{got:?}");
    assert!(got[2] > 0.0 && got[3] == 0.0, "{got:?}");
    let inputs64: [f64; 4] = [
        709.782712893384,
        709.7827128933841,
        -745.1332191019411,
        -745.1332191019412,
    ];
    let got64 = apply(Simd::best(), Function::Exp, &inputs64);
    let want64: Vec<f64> = inputs64.iter().map(|x| x.exp()).collect();
    for (g, w) in got64.iter().zip(&want64) {
        assert_eq!(g.is_finite(), w.is_finite(), "{got64:?} against {want64:?}");
        assert_eq!(*g == 0.0, *w == 0.0, "{got64:?} against {want64:?}");
    }
}

#[test]
fn ln_handles_subnormals_zero_and_negatives() {
    let inputs = [
        f32::from_bits(1),
        1e-40,
        f32::MIN_POSITIVE,
        -1.0,
        -0.0,
        f32::MAX,
    ];
    let got = apply(Simd::best(), Function::Ln, &inputs);
    for (&x, &y) in inputs.iter().zip(&got) {
        let want = (x as f64).ln();
        assert!(
            same_special(y as f64, want as f32 as f64) || f32_ulp_error(y, want) <= 1.0,
            "ln({x:e}) = {y:e}, not {want:e}"
        );
    }
}

#[test]
fn nan_results_are_one_canonical_nan() {
    let nans = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001),
        f32::from_bits(0xffc0_1234),
    ];
    for function in Function::ALL {
        let got = apply(Simd::best(), function, &nans);
        assert!(
            got.iter().all(|y| y.to_bits() == f32::NAN.to_bits()),
            "{function:?}: {got:?}"
        );
    }
    let ln_of_negative = apply(Simd::best(), Function::Ln, &[-2.0_f64]);
    assert_eq!(ln_of_negative[0].to_bits(), f64::NAN.to_bits());
}

#[test]
fn map_applies_the_function_to_every_element_of_a_matrix() {
    let m = SMatrix::<f32, 3, 4>::from_fn(|i, j| i as f32 - j as f32 * 0.5);
    let mapped = vmath::map(Function::Silu, &m);
    let mut expected = [0.0_f32; 12];
    vmath::apply(Function::Silu, m.as_slice(), &mut expected);
    assert_eq!(mapped.as_slice(), &expected);
    assert!((mapped[(2, 0)] - (2.0 / (1.0 + (-2.0_f64).exp())) as f32).abs() < 1e-6);
}
