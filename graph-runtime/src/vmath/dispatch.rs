//! Which instruction set a call runs on: detected once per call from `pulp`'s cached CPU
//! feature checks, or forced, for tests and benchmarks.

use std::hint::black_box;

use pulp::NullaryFnOnce;

/// An instruction set the vector functions can run on. Every path computes the same bits.
///
/// ```
/// use chainrule::runtime::vmath::Path;
/// assert!(Path::Scalar.is_available());
/// assert!(Path::ALL.contains(&Path::best()));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Path {
    /// One element at a time, never vectorised: the reference the other paths reproduce, and
    /// the path on targets other than x86-64 and AArch64.
    Scalar,
    /// x86-64's baseline, 128-bit: every x86-64 CPU has it.
    Sse2,
    /// 256-bit, with AVX2 and FMA (x86-64-v3); FMA is enabled but never used.
    Avx2Fma,
    /// 512-bit AVX-512 F, BW, CD, DQ and VL (x86-64-v4).
    Avx512,
    /// AArch64's baseline, 128-bit.
    Neon,
}

impl Path {
    /// Every path, available here or not.
    pub const ALL: [Path; 5] = [
        Path::Scalar,
        Path::Sse2,
        Path::Avx2Fma,
        Path::Avx512,
        Path::Neon,
    ];

    /// The widest path this CPU has, the one [`apply`](super::apply) takes.
    ///
    /// ```
    /// use chainrule::runtime::vmath::Path;
    /// assert!(Path::best().is_available());
    /// ```
    pub fn best() -> Path {
        Simd::best().path()
    }

    /// Whether this CPU can run the path.
    ///
    /// ```
    /// use chainrule::runtime::vmath::Path;
    /// assert_eq!(Path::Neon.is_available(), cfg!(target_arch = "aarch64"));
    /// ```
    pub fn is_available(self) -> bool {
        Simd::new(self).is_some()
    }
}

/// Proof that this CPU runs a [`Path`]: the token the functions of `vmath` dispatch on.
///
/// ```
/// use chainrule::runtime::vmath::{Function, Path, Simd};
/// let scalar = Simd::new(Path::Scalar).unwrap();
/// let mut one_at_a_time = [0.0_f32; 3];
/// scalar.apply(Function::Exp, &[0.0, 1.0, -1.0], &mut one_at_a_time);
/// let mut best = [0.0_f32; 3];
/// Simd::best().apply(Function::Exp, &[0.0, 1.0, -1.0], &mut best);
/// assert_eq!(one_at_a_time, best);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Simd {
    pub(super) level: Level,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Level {
    Scalar,
    /// The target's own baseline: SSE2 on x86-64, NEON on AArch64.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma(pulp::x86::V3),
    #[cfg(target_arch = "x86_64")]
    Avx512(pulp::x86::V4),
}

impl Simd {
    /// The widest path this CPU has.
    ///
    /// ```
    /// use chainrule::runtime::vmath::{Path, Simd};
    /// assert_eq!(Simd::best().path(), Path::best());
    /// ```
    pub fn best() -> Simd {
        Path::ALL
            .into_iter()
            .rev()
            .find_map(Simd::new)
            .expect("the scalar path is always available")
    }

    /// The token for `path`, if this CPU has it.
    ///
    /// ```
    /// use chainrule::runtime::vmath::{Path, Simd};
    /// assert!(Simd::new(Path::Scalar).is_some());
    /// ```
    pub fn new(path: Path) -> Option<Simd> {
        let level = match path {
            Path::Scalar => Some(Level::Scalar),
            #[cfg(target_arch = "x86_64")]
            Path::Sse2 => Some(Level::Baseline),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2Fma => pulp::x86::V3::try_new().map(Level::Avx2Fma),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => pulp::x86::V4::try_new().map(Level::Avx512),
            #[cfg(target_arch = "aarch64")]
            Path::Neon => Some(Level::Baseline),
            #[allow(
                unreachable_patterns,
                reason = "which paths are foreign depends on the target"
            )]
            _ => None,
        };
        level.map(|level| Simd { level })
    }

    /// The path this token runs.
    ///
    /// ```
    /// use chainrule::runtime::vmath::{Path, Simd};
    /// assert_eq!(Simd::new(Path::Scalar).unwrap().path(), Path::Scalar);
    /// ```
    pub fn path(self) -> Path {
        match self.level {
            Level::Scalar => Path::Scalar,
            #[cfg(target_arch = "x86_64")]
            Level::Baseline => Path::Sse2,
            #[cfg(target_arch = "aarch64")]
            Level::Baseline => Path::Neon,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Fma(_) => Path::Avx2Fma,
            #[cfg(target_arch = "x86_64")]
            Level::Avx512(_) => Path::Avx512,
        }
    }

    /// Runs `kernel` over `slots` on this path.
    #[inline(always)]
    pub(super) fn run<T: Copy, K: Fn(T) -> T + Copy>(self, slots: Slots<'_, T>, kernel: K) {
        let job = MapJob { slots, kernel };
        match self.level {
            Level::Scalar => MapJob {
                slots: job.slots,
                kernel: |x| kernel(black_box(x)),
            }
            .call(),
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            Level::Baseline => job.call(),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Fma(simd) => simd.vectorize(job),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512(simd) => simd.vectorize(job),
        }
    }
}

/// Where a function reads and writes.
pub(super) enum Slots<'a, T> {
    Separate(&'a [T], &'a mut [T]),
    InPlace(&'a mut [T]),
}

/// A loop of `kernel` over `slots`, which `pulp` compiles with the path's target features:
/// `call` is inlined into that context and so is the kernel, and LLVM vectorises the loop.
struct MapJob<'a, T, K> {
    slots: Slots<'a, T>,
    kernel: K,
}

impl<T: Copy, K: Fn(T) -> T> NullaryFnOnce for MapJob<'_, T, K> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let kernel = self.kernel;
        match self.slots {
            Slots::Separate(input, output) => {
                for (out, &x) in output.iter_mut().zip(input) {
                    *out = kernel(x);
                }
            }
            Slots::InPlace(values) => {
                for value in values {
                    *value = kernel(*value);
                }
            }
        }
    }
}
