//! The small-product kernel: on every instruction set `pulp` offers on this machine, in `f32`
//! and `f64`, each of `a·b`, `aᵀ·b` and `a·bᵀ` equals, bit for bit, a scalar loop written here
//! that multiplies and adds in order of `k`; and `matmul` gives those bits where it takes the
//! kernel (the products of the `deep` and `mlp` benchmarks).

use chainrule::nalgebra::SMatrix;
use chainrule::runtime::kernels::{
    matmul, matmul_into, matmul_nt, matmul_nt_into, matmul_tn, matmul_tn_into, small_matmul,
    small_matmul_nt, small_matmul_tn,
};
use chainrule::Real;
use pulp::Simd;

/// `a·b` with `a[i, k]` and `b[k, j]` given by functions: each element is
/// `a[i,0]·b[0,j] + a[i,1]·b[1,j] + …`, every product and sum rounded, in order of `k`.
fn in_order<T: Real, const R: usize, const K: usize, const C: usize>(
    a: impl Fn(usize, usize) -> T,
    b: impl Fn(usize, usize) -> T,
) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|i, j| {
        (0..K)
            .map(|k| a(i, k) * b(k, j))
            .reduce(|sum, term| sum + term)
            .unwrap_or(T::ZERO)
    })
}

/// Elements over seven binades of both signs, so that summing in another order, or fusing a
/// multiplication with its addition, changes the last bits.
fn spread<T: Real, const R: usize, const C: usize>(seed: f64) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|i, j| {
        let binade = ((i * 3 + j * 5) % 7) as i32 - 3;
        T::from_f64((seed + 0.7 * i as f64 + 1.3 * j as f64).sin() * 2f64.powi(binade))
    })
}

/// The three forms of an `R×K` by `K×C` product on `simd` against the scalar loop.
fn check_shape<S: Simd, T: Real, const R: usize, const K: usize, const C: usize>(simd: S) {
    let (a, b) = (spread::<T, R, K>(0.1), spread::<T, K, C>(0.2));
    let (a_t, b_t) = (spread::<T, K, R>(0.3), spread::<T, C, K>(0.4));
    let shape = format!(
        "{R}×{K}·{K}×{C} in {} on {simd:?}",
        std::any::type_name::<T>()
    );
    let plain = in_order::<T, R, K, C>(|i, k| a[(i, k)], |k, j| b[(k, j)]);
    assert!(small_matmul(simd, &a, &b) == plain, "a·b, {shape}");
    let left = in_order::<T, R, K, C>(|i, k| a_t[(k, i)], |k, j| b[(k, j)]);
    assert!(small_matmul_tn(simd, &a_t, &b) == left, "aᵀ·b, {shape}");
    let right = in_order::<T, R, K, C>(|i, k| a[(i, k)], |k, j| b_t[(j, k)]);
    assert!(small_matmul_nt(simd, &a, &b_t) == right, "a·bᵀ, {shape}");
}

/// Shapes around every lane count (2, 4, 8 and 16): narrower, wider and not a multiple.
fn check_shapes<S: Simd, T: Real>(simd: S) {
    check_shape::<S, T, 3, 5, 7>(simd);
    check_shape::<S, T, 8, 8, 32>(simd);
    check_shape::<S, T, 8, 32, 8>(simd);
    check_shape::<S, T, 16, 3, 9>(simd);
    check_shape::<S, T, 17, 9, 5>(simd);
    check_shape::<S, T, 12, 12, 12>(simd);
    check_shape::<S, T, 1, 6, 4>(simd);
    check_shape::<S, T, 6, 1, 2>(simd);
    check_shape::<S, T, 33, 2, 3>(simd);
}

/// What runs on each instruction set.
trait OnEachSet {
    fn run<S: Simd>(simd: S);
}

/// Runs `Check` on every instruction set this CPU has, and returns how many there were.
fn on_every_instruction_set<Check: OnEachSet>() -> usize {
    let mut sets = 1;
    Check::run(pulp::Scalar::new());
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V2::try_new() {
            Check::run(simd);
            sets += 1;
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            Check::run(simd);
            sets += 1;
        }
        if let Some(simd) = pulp::x86::V4::try_new() {
            Check::run(simd);
            sets += 1;
        }
    }
    #[cfg(target_arch = "aarch64")]
    if let Some(simd) = pulp::aarch64::Neon::try_new() {
        Check::run(simd);
        sets += 1;
    }
    sets
}

struct Shapes;

impl OnEachSet for Shapes {
    fn run<S: Simd>(simd: S) {
        check_shapes::<S, f32>(simd);
        check_shapes::<S, f64>(simd);
    }
}

#[test]
fn every_instruction_set_gives_the_bits_of_products_summed_in_order() {
    let sets = on_every_instruction_set::<Shapes>();
    // The scalar path, and the baseline vectors of x86-64 and AArch64 at least.
    let vector_baseline = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
    assert!(sets > usize::from(vector_baseline));
}

struct Depthless;

impl OnEachSet for Depthless {
    fn run<S: Simd>(simd: S) {
        let (a, b) = (SMatrix::<f64, 8, 0>::zeros(), SMatrix::<f64, 0, 5>::zeros());
        assert_eq!(small_matmul(simd, &a, &b), SMatrix::<f64, 8, 5>::zeros());
        let empty = SMatrix::<f32, 0, 3>::zeros();
        assert_eq!(
            small_matmul(simd, &empty, &spread::<f32, 3, 4>(0.5)),
            SMatrix::<f32, 0, 4>::zeros()
        );
    }
}

#[test]
fn a_product_of_depth_zero_is_zeros_and_an_empty_one_is_empty() {
    on_every_instruction_set::<Depthless>();
}

/// `matmul` and `matmul_into` on an `R×K` by `K×C` product they give the kernel: the scalar
/// loop's bits.
fn check_matmul<T: Real, const R: usize, const K: usize, const C: usize>() {
    let (a, b) = (spread::<T, R, K>(0.5), spread::<T, K, C>(0.6));
    let expected = in_order::<T, R, K, C>(|i, k| a[(i, k)], |k, j| b[(k, j)]);
    assert!(matmul(&a, &b) == expected);
    let mut into = SMatrix::zeros();
    matmul_into(&mut into, &a, &b);
    assert!(into == expected);
}

/// As [`check_matmul`], for `matmul_tn` and `matmul_tn_into`.
fn check_matmul_tn<T: Real, const R: usize, const K: usize, const C: usize>() {
    let (a_t, b) = (spread::<T, K, R>(0.7), spread::<T, K, C>(0.6));
    let expected = in_order::<T, R, K, C>(|i, k| a_t[(k, i)], |k, j| b[(k, j)]);
    assert!(matmul_tn(&a_t, &b) == expected);
    let mut into = SMatrix::zeros();
    matmul_tn_into(&mut into, &a_t, &b);
    assert!(into == expected);
}

/// As [`check_matmul`], for `matmul_nt` and `matmul_nt_into`.
fn check_matmul_nt<T: Real, const R: usize, const K: usize, const C: usize>() {
    let (a, b_t) = (spread::<T, R, K>(0.5), spread::<T, C, K>(0.8));
    let expected = in_order::<T, R, K, C>(|i, k| a[(i, k)], |k, j| b_t[(j, k)]);
    assert!(matmul_nt(&a, &b_t) == expected);
    let mut into = SMatrix::zeros();
    matmul_nt_into(&mut into, &a, &b_t);
    assert!(into == expected);
}

#[test]
fn matmul_gives_the_kernels_bits_on_the_benchmarks_products() {
    // `deep`: five 8×8 layers over 32 samples, forward and backward.
    check_matmul::<f64, 8, 8, 8>();
    check_matmul::<f64, 8, 8, 32>();
    check_matmul_nt::<f64, 8, 32, 8>();
    check_matmul_nt::<f64, 8, 8, 8>();
    check_matmul_tn::<f64, 8, 8, 8>();
    // `mlp`: the first layer of a 2-16-1 network over 32 samples, and its weight's gradient.
    check_matmul::<f32, 16, 2, 32>();
    check_matmul_nt::<f32, 16, 32, 2>();
}
