//! 2-D convolution (PyTorch's cross-correlation, zero padding) over a batch of images, one
//! image per column, each image `C×H×W` in PyTorch's row-major `(C, H, W)` order, and its
//! gradients. Each is im2col (`layout`) and one product over the whole batch as row
//! operations (`product`), or, from 2 M multiply-adds on, one `gemm` call per image (`large`)
//! or, for a 3×3 stride-1 kernel, Winograd's F(2×2, 3×3) (`winograd`, which agrees to rounding),
//! in a workspace kept per thread (`Workspace`), so a step after the first allocates nothing
//! of ours (`gemm` allocates its packing buffers), compiled for the widest instruction set the
//! processor has
//! (`Kernel::run`) and, from generated code, for the convolution's own sizes (`Fixed`).
//!
//! The weight is `C_out×(C·K·K)`, row `o` PyTorch's `weight[o]` flattened in `(c, i, j)`
//! order; nalgebra stores it column-major, and the products read it in place.

use nalgebra::{SMatrix, SVector};

use crate::Real;

mod large;
mod layout;
mod product;
mod winograd;

use layout::{col2im, im2col, regroup, ungroup};
use product::{combine_rows, dot_rows};

/// The geometry of a convolution or a pooling: the input image (`channels×height×width`),
/// the square window's side, the step between windows and the zeros added on each side.
///
/// ```
/// use chainrule::runtime::kernels::Window;
/// let window = Window { channels: 1, height: 8, width: 8, kernel: 3, stride: 1, padding: 1 };
/// assert_eq!((window.out_height(), window.out_width()), (8, 8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// PyTorch's `(H + 2P − K) / S + 1`, rounded down.
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// PyTorch's `(W + 2P − K) / S + 1`, rounded down.
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// The elements of one input image, `C·H·W`.
    pub fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The elements of one output plane, `H_out·W_out`.
    pub fn plane_len(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// The input element under window position `(out_y, out_x)`, tap `(i, j)` of channel
    /// `channel`, as an offset into one image; `None` in the padding.
    #[inline]
    pub(super) fn tap(
        &self,
        channel: usize,
        (out_y, out_x): (usize, usize),
        (i, j): (usize, usize),
    ) -> Option<usize> {
        let y = (out_y * self.stride + i).checked_sub(self.padding)?;
        let x = (out_x * self.stride + j).checked_sub(self.padding)?;
        (y < self.height && x < self.width).then(|| (channel * self.height + y) * self.width + x)
    }
}

thread_local! {
    /// Scratch memory for the kernels, kept at its largest size: `u64`s, aligned for `f32`
    /// and `f64` alike.
    static WORKSPACE: std::cell::Cell<Vec<u64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// This thread's workspace, taken for one kernel call and given back when dropped.
struct Workspace(Vec<u64>);

impl Workspace {
    #[inline(always)]
    fn take() -> Self {
        Workspace(WORKSPACE.with(|cell| cell.take()))
    }

    /// Scratch slices of the given lengths (the workspace grown, never shrunk, so only the
    /// first call of a size allocates).
    #[inline(always)]
    fn slices<T: Real, const N: usize>(&mut self, lengths: [usize; N]) -> [&mut [T]; N] {
        let total: usize = lengths.iter().sum();
        let needed = (total * std::mem::size_of::<T>()).div_ceil(8);
        if self.0.len() < needed {
            self.0.resize(needed, 0);
        }
        let mut rest: &mut [T] = &mut bytemuck::cast_slice_mut::<u64, T>(&mut self.0)[..total];
        lengths.map(|length| {
            let (slice, tail) = std::mem::take(&mut rest).split_at_mut(length);
            rest = tail;
            slice
        })
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let words = std::mem::take(&mut self.0);
        WORKSPACE.with(|cell| cell.set(words));
    }
}

/// What a kernel call computes.
#[derive(Clone, Copy)]
enum Pass<'a, T> {
    /// The convolution, plus a bias per output channel if there is one.
    Forward(Option<&'a [T]>),
    InputGrad,
    WeightGrad,
}

/// The sizes of a kernel call: [`Sizes`] known at run time, or [`Fixed`] ones known to the
/// compiler, whose loops it then compiles for them.
trait SizesOf: Copy {
    fn get(self) -> Sizes;
}

impl SizesOf for Sizes {
    #[inline(always)]
    fn get(self) -> Sizes {
        self
    }
}

/// The [`Sizes`] of a convolution as const generics.
#[derive(Clone, Copy)]
struct Fixed<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const CO: usize,
    const B: usize,
>;

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const CO: usize,
        const B: usize,
    > SizesOf for Fixed<C, H, W, K, S, P, CO, B>
{
    #[inline(always)]
    fn get(self) -> Sizes {
        Sizes {
            window: window!(C, H, W, K, S, P),
            out_channels: CO,
            batch: B,
        }
    }
}

/// One kernel call: `pass` from two operands into `out`.
struct Kernel<'a, T, Z> {
    pass: Pass<'a, T>,
    operands: (&'a [T], &'a [T]),
    out: &'a mut [T],
    sizes: Z,
}

impl<T: Real, Z: SizesOf> Kernel<'_, T, Z> {
    /// Runs the call compiled for the widest instruction set this processor has (AVX-512,
    /// AVX2, or else the baseline), chosen at run time by `pulp`: the kernels' loops are
    /// written for the compiler to vectorise, and every width does the same operations in
    /// the same order.
    #[inline(always)]
    fn run(self) {
        pulp::Arch::new().dispatch(self)
    }
}

impl<T: Real, Z: SizesOf> pulp::WithSimd for Kernel<'_, T, Z> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let (sizes, (a, b)) = (self.sizes.get(), self.operands);
        if sizes.multiply_adds() >= large::GEMM_MULTIPLY_ADDS {
            return large::run(self.pass, (a, b), self.out, &sizes);
        }
        let (window, co, n) = (&sizes.window, sizes.out_channels, sizes.n());
        // Every operand cut to the length its sizes give: with sizes the compiler knows, it
        // then drops most bounds checks from the loops.
        let (images, weight, outputs) =
            (sizes.batch * window.input_len(), co * sizes.depth(), co * n);
        let mut workspace = Workspace::take();
        match self.pass {
            Pass::Forward(bias) => {
                let (x, weight, y) = (&a[..images], &b[..weight], &mut self.out[..outputs]);
                let scratch = workspace.slices::<T, 3>(sizes.lengths());
                convolve((x, |o, d| weight[o + co * d], bias), &sizes, y, scratch);
            }
            Pass::InputGrad => {
                let (d_y, weight, d_x) = (&a[..outputs], &b[..weight], &mut self.out[..images]);
                // As a convolution where its product is no larger than col2im's: padding of
                // at least (K − 1)/2.
                match sizes.adjoint().filter(|adjoint| adjoint.n() <= n) {
                    Some(adjoint) => {
                        let operands = (d_y, weight);
                        input_grad_as_convolution(&sizes, &adjoint, operands, d_x, &mut workspace)
                    }
                    None => {
                        let [cols, grouped, padded] = workspace.slices::<T, 3>(sizes.lengths());
                        regroup(d_y, grouped, (co, window.plane_len(), sizes.batch));
                        combine_rows(cols, grouped, (n, co), |d, o| weight[o + co * d]);
                        col2im(cols, window, n, padded, d_x);
                    }
                }
            }
            Pass::WeightGrad => {
                let (d_y, x, d_weight) = (&a[..outputs], &b[..images], &mut self.out[..weight]);
                let [cols, grouped, padded] = workspace.slices::<T, 3>(sizes.lengths());
                // d_weight(o, d) = Σ_j d_y(o, j) · cols(d, j): dot products of rows, with
                // d_y's rows grouped by channel.
                im2col(x, window, n, padded, cols);
                regroup(d_y, grouped, (co, window.plane_len(), sizes.batch));
                dot_rows(simd, d_weight, (grouped, cols), n, |o, d| o + co * d);
            }
        }
    }
}

/// The convolution of `sizes` of the images `x` into `y`: the weight's tap `d` into output
/// channel `o` is `coefficient(o, d)`, plus `bias[o]` if there is a bias. `scratch` is
/// [`Sizes::lengths`] long.
#[inline(always)]
fn convolve<T: Real>(
    (x, coefficient, bias): (&[T], impl Fn(usize, usize) -> T, Option<&[T]>),
    sizes: &Sizes,
    y: &mut [T],
    [cols, grouped, padded]: [&mut [T]; 3],
) {
    let (window, n) = (&sizes.window, sizes.n());
    im2col(x, window, n, padded, cols);
    combine_rows(grouped, cols, (n, sizes.depth()), coefficient);
    let layout = (sizes.out_channels, window.plane_len(), sizes.batch);
    ungroup(grouped, bias, y, layout);
}

/// The input gradient of a convolution of `sizes`, as the convolution `adjoint` of `d_y`
/// (see [`Sizes::adjoint`]): im2col reads, where col2im would add into, a few elements at a
/// time. Its weight is `weight` rotated by 180° with the channels swapped:
/// `rotated[c][o][i][j] = weight[o][c][K−1−i][K−1−j]`.
#[inline(always)]
fn input_grad_as_convolution<T: Real>(
    sizes: &Sizes,
    adjoint: &Sizes,
    (d_y, weight): (&[T], &[T]),
    d_x: &mut [T],
    workspace: &mut Workspace,
) {
    let (channels, k, co) = (
        sizes.window.channels,
        sizes.window.kernel,
        sizes.out_channels,
    );
    let [cols, grouped, padded] = adjoint.lengths();
    let lengths = [channels * adjoint.depth(), cols, grouped, padded];
    let [rotated, cols, grouped, padded] = workspace.slices::<T, 4>(lengths);
    for (d, column) in rotated.chunks_exact_mut(channels).enumerate() {
        let (o, i, j) = (d / (k * k), d / k % k, d % k);
        for (c, value) in column.iter_mut().enumerate() {
            *value = weight[o + co * ((c * k + k - 1 - i) * k + k - 1 - j)];
        }
    }
    let coefficient = |c: usize, d: usize| rotated[c + channels * d];
    convolve(
        (d_y, coefficient, None),
        adjoint,
        d_x,
        [cols, grouped, padded],
    );
}

/// The sizes of one convolution over a batch: its geometry, the output's channels and the
/// batch.
#[derive(Clone, Copy)]
struct Sizes {
    window: Window,
    out_channels: usize,
    batch: usize,
}

impl Sizes {
    /// The sizes of a convolution of `x_len` elements of input.
    fn new(window: &Window, out_channels: usize, x_len: usize) -> Sizes {
        Sizes {
            window: *window,
            out_channels,
            batch: x_len / window.input_len().max(1),
        }
    }

    /// The rows of im2col's matrix, `C·K·K`.
    fn depth(&self) -> usize {
        self.window.channels * self.window.kernel * self.window.kernel
    }

    /// The columns of im2col's matrix, `B·H_out·W_out`.
    fn n(&self) -> usize {
        self.batch * self.window.plane_len()
    }

    /// The lengths of the kernels' scratch matrices: im2col's (`C·K·K×n`), the product's
    /// grouped by channel (`C_out×n`) and a padded image.
    fn lengths(&self) -> [usize; 3] {
        let n = self.n();
        [
            self.depth() * n,
            self.out_channels * n,
            self.window.padded_len(),
        ]
    }

    /// For a stride-1 convolution with `P < K`, the convolution whose output is its input
    /// gradient: of `d_y`'s `C_out` channels of `H_out×W_out`, padded by `K − 1 − P`, into `C`
    /// channels of `H×W`, with the kernel rotated by 180° and its channels swapped.
    pub(super) fn adjoint(&self) -> Option<Sizes> {
        let window = &self.window;
        let padding = (window.kernel - 1).checked_sub(window.padding)?;
        (window.stride == 1).then(|| Sizes {
            window: Window {
                channels: self.out_channels,
                height: window.out_height(),
                width: window.out_width(),
                kernel: window.kernel,
                stride: 1,
                padding,
            },
            out_channels: window.channels,
            batch: self.batch,
        })
    }

    /// The multiply-adds of the convolution's product, `C_out·C·K·K·B·H_out·W_out`.
    fn multiply_adds(&self) -> usize {
        self.out_channels * self.depth() * self.n()
    }
}

/// `y = conv2d(x, weight)` on slices: `x` is a batch of images, `weight` the column-major
/// `out_channels×(C·K·K)` matrix, `y` the batch's outputs of `out_channels` planes.
pub fn conv2d_slices<T: Real>(
    x: &[T],
    weight: &[T],
    window: &Window,
    out_channels: usize,
    y: &mut [T],
) {
    let sizes = Sizes::new(window, out_channels, x.len());
    Kernel {
        pass: Pass::Forward(None),
        operands: (x, weight),
        out: y,
        sizes,
    }
    .run();
}

/// The input's gradient of [`conv2d_slices`]: `d_x = col2im(weightᵀ · d_y)`.
pub fn conv2d_input_grad_slices<T: Real>(
    d_y: &[T],
    weight: &[T],
    window: &Window,
    out_channels: usize,
    d_x: &mut [T],
) {
    let sizes = Sizes::new(window, out_channels, d_x.len());
    Kernel {
        pass: Pass::InputGrad,
        operands: (d_y, weight),
        out: d_x,
        sizes,
    }
    .run();
}

/// The weight's gradient of [`conv2d_slices`]: `d_weight = d_y · im2col(x)ᵀ`, column-major.
pub fn conv2d_weight_grad_slices<T: Real>(
    d_y: &[T],
    x: &[T],
    window: &Window,
    out_channels: usize,
    d_weight: &mut [T],
) {
    let sizes = Sizes::new(window, out_channels, x.len());
    Kernel {
        pass: Pass::WeightGrad,
        operands: (d_y, x),
        out: d_weight,
        sizes,
    }
    .run();
}

/// A `C×H×W` geometry from const generics, after checking at compile time (when the
/// generated code is monomorphised) that the matrices' sizes fit it.
macro_rules! window {
    ($c:ident, $h:ident, $w:ident, $k:ident, $s:ident, $p:ident) => {
        Window {
            channels: $c,
            height: $h,
            width: $w,
            kernel: $k,
            stride: $s,
            padding: $p,
        }
    };
}
pub(super) use window;

/// A convolution kernel twice: `$into`, which writes its result into memory the caller owns
/// (generated code's places, on the heap), and `$name`, which returns it. Both take the
/// geometry and every matrix size as const generics, checked when monomorphised.
macro_rules! conv_kernel {
    (
        $(#[$doc:meta])* $name:ident, $into:ident, $pass:expr,
        ($a:ident: $a_rows:tt x $a_cols:tt, $b:ident: $b_rows:tt x $b_cols:tt
            $(, $c:ident: $c_rows:tt x $c_cols:tt)?)
        -> $out_rows:ident x $out_cols:ident
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)] // The geometry and every matrix size, from the IR.
        pub fn $name<
            T: Real,
            const C: usize,
            const H: usize,
            const W: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const R: usize,
            const B: usize,
            const CO: usize,
            const CKK: usize,
            const OUT: usize,
        >(
            $a: &SMatrix<T, $a_rows, $a_cols>,
            $b: &SMatrix<T, $b_rows, $b_cols>,
            $($c: &SMatrix<T, $c_rows, $c_cols>,)?
        ) -> SMatrix<T, $out_rows, $out_cols> {
            let mut result: SMatrix<T, $out_rows, $out_cols> = bytemuck::Zeroable::zeroed();
            $into::<T, C, H, W, K, S, P, R, B, CO, CKK, OUT>($a, $b, $($c,)? &mut result);
            result
        }

        #[doc = concat!("As [`", stringify!($name), "`], writing the result into `out`.")]
        #[allow(clippy::too_many_arguments)]
        pub fn $into<
            T: Real,
            const C: usize,
            const H: usize,
            const W: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const R: usize,
            const B: usize,
            const CO: usize,
            const CKK: usize,
            const OUT: usize,
        >(
            $a: &SMatrix<T, $a_rows, $a_cols>,
            $b: &SMatrix<T, $b_rows, $b_cols>,
            $($c: &SMatrix<T, $c_rows, $c_cols>,)?
            out: &mut SMatrix<T, $out_rows, $out_cols>,
        ) {
            check_conv::<C, H, W, K, S, P, R, CO, CKK, OUT>();
            Kernel {
                pass: $pass,
                operands: ($a.as_slice(), $b.as_slice()),
                out: out.as_mut_slice(),
                sizes: Fixed::<C, H, W, K, S, P, CO, B>,
            }
            .run();
        }
    };
}

conv_kernel! {
    /// `conv2d(x, weight)` for generated code: `x` is `R×B` (`R = C·H·W`), `weight` is
    /// `CO×CKK` (`CKK = C·K·K`), the result `OUT×B` (`OUT = CO·H_out·W_out`). A size that does
    /// not fit fails to compile, naming `conv2d` and what does not fit.
    ///
    /// ```
    /// use chainrule::runtime::kernels::conv2d;
    /// use chainrule::nalgebra::SMatrix;
    /// // One 1×3×3 image, one 2×2 kernel of ones: each output is the sum of a 2×2 window.
    /// let x = SMatrix::<f64, 9, 1>::from_column_slice(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    /// let w = SMatrix::<f64, 1, 4>::repeat(1.0);
    /// let y = conv2d::<f64, 1, 3, 3, 2, 1, 0, 9, 1, 1, 4, 4>(&x, &w);
    /// assert_eq!(y.as_slice(), &[12., 16., 24., 28.]);
    /// ```
    conv2d, conv2d_into, Pass::Forward(None), (x: R x B, weight: CO x CKK) -> OUT x B
}

conv_kernel! {
    /// The input's gradient of [`conv2d`], given the output's, `d_y`.
    ///
    /// ```
    /// use chainrule::runtime::kernels::conv2d_input_grad;
    /// use chainrule::nalgebra::SMatrix;
    /// // Each input element is in as many 2×2 windows of a 3×3 image as the count below.
    /// let d_x = conv2d_input_grad::<f64, 1, 3, 3, 2, 1, 0, 9, 1, 1, 4, 4>(
    ///     &SMatrix::<f64, 4, 1>::repeat(1.0), &SMatrix::<f64, 1, 4>::repeat(1.0));
    /// assert_eq!(d_x.as_slice(), &[1., 2., 1., 2., 4., 2., 1., 2., 1.]);
    /// ```
    conv2d_input_grad, conv2d_input_grad_into, Pass::InputGrad,
    (d_y: OUT x B, weight: CO x CKK) -> R x B
}

conv_kernel! {
    /// The weight's gradient of [`conv2d`], given the output's, `d_y`, and the input `x`.
    ///
    /// ```
    /// use chainrule::runtime::kernels::conv2d_weight_grad;
    /// use chainrule::nalgebra::SMatrix;
    /// let x = SMatrix::<f64, 9, 1>::from_column_slice(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    /// let d_w = conv2d_weight_grad::<f64, 1, 3, 3, 2, 1, 0, 9, 1, 1, 4, 4>(
    ///     &SMatrix::<f64, 4, 1>::repeat(1.0), &x);
    /// // Tap (0, 0) reads 1, 2, 4, 5; tap (1, 1) reads 5, 6, 8, 9.
    /// assert_eq!(d_w.as_slice(), &[12., 16., 24., 28.]);
    /// ```
    conv2d_weight_grad, conv2d_weight_grad_into, Pass::WeightGrad,
    (d_y: OUT x B, x: R x B) -> CO x CKK
}

conv_kernel! {
    /// `conv2d(x, weight)` plus `bias` spread over each output channel's positions: the sum
    /// then the bias, as `conv2d` then `spread_channels` add them, in one pass over the
    /// result. What `conv2d(x, w, b)` in a graph computes.
    ///
    /// ```
    /// use chainrule::runtime::kernels::conv2d_bias;
    /// use chainrule::nalgebra::{SMatrix, SVector};
    /// let x = SMatrix::<f64, 9, 1>::from_column_slice(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    /// let (w, bias) = (SMatrix::<f64, 1, 4>::repeat(1.0), SVector::<f64, 1>::new(0.5));
    /// let y = conv2d_bias::<f64, 1, 3, 3, 2, 1, 0, 9, 1, 1, 4, 4>(&x, &w, &bias);
    /// assert_eq!(y.as_slice(), &[12.5, 16.5, 24.5, 28.5]);
    /// ```
    conv2d_bias, conv2d_bias_into, Pass::Forward(Some(bias.as_slice())),
    (x: R x B, weight: CO x CKK, bias: CO x 1) -> OUT x B
}

/// The sizes of [`conv2d`], checked when it is monomorphised: a mismatch is a compile error
/// naming `conv2d` and the sizes that do not fit.
#[inline(always)]
fn check_conv<
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const R: usize,
    const CO: usize,
    const CKK: usize,
    const OUT: usize,
>() {
    const {
        assert!(
            C > 0 && S > 0 && K > 0,
            "conv2d: the channels, the kernel and the stride must be at least 1"
        );
        assert!(
            H + 2 * P >= K && W + 2 * P >= K,
            "conv2d: the kernel is larger than the padded image"
        );
        assert!(
            R == C * H * W,
            "conv2d: the input's rows are not channels·height·width"
        );
        assert!(
            CKK == C * K * K,
            "conv2d: the weight's columns are not channels·kernel·kernel"
        );
        assert!(
            OUT == CO * ((H + 2 * P - K) / S + 1) * ((W + 2 * P - K) / S + 1),
            "conv2d: the output's rows are not out_channels·out_height·out_width"
        );
    }
}

/// The `CO×1` bias repeated over each channel's `OUT/CO` positions of every image: a
/// convolution's bias, for generated code.
///
/// ```
/// use chainrule::runtime::kernels::spread_channels;
/// use chainrule::nalgebra::{SMatrix, Vector2};
/// let y: SMatrix<f64, 4, 1> = spread_channels::<f64, 2, 4, 1>(&Vector2::new(1.0, 2.0));
/// assert_eq!(y.as_slice(), &[1.0, 1.0, 2.0, 2.0]);
/// ```
pub fn spread_channels<T: Real, const CO: usize, const OUT: usize, const B: usize>(
    bias: &SVector<T, CO>,
) -> SMatrix<T, OUT, B> {
    let mut y: SMatrix<T, OUT, B> = bytemuck::Zeroable::zeroed();
    spread_channels_into::<T, CO, OUT, B>(bias, &mut y);
    y
}

/// As [`spread_channels`], writing the result into `y`.
pub fn spread_channels_into<T: Real, const CO: usize, const OUT: usize, const B: usize>(
    bias: &SVector<T, CO>,
    y: &mut SMatrix<T, OUT, B>,
) {
    const {
        assert!(
            CO > 0 && OUT.is_multiple_of(CO),
            "conv2d: the output's rows are not a multiple of its channels"
        )
    };
    for image in y.as_mut_slice().chunks_exact_mut(OUT) {
        for (plane, value) in image.chunks_exact_mut(OUT / CO).zip(bias.iter()) {
            plane.fill(*value);
        }
    }
}

/// The sum of each channel's positions over every image, `OUT×B` → `CO×1`: the adjoint of
/// [`spread_channels`].
///
/// ```
/// use chainrule::runtime::kernels::channel_sums;
/// use chainrule::nalgebra::SMatrix;
/// let d = SMatrix::<f64, 4, 2>::from_column_slice(&[1., 2., 3., 4., 5., 6., 7., 8.]);
/// assert_eq!(channel_sums::<f64, 2, 4, 2>(&d).as_slice(), &[14.0, 22.0]);
/// ```
pub fn channel_sums<T: Real, const CO: usize, const OUT: usize, const B: usize>(
    d: &SMatrix<T, OUT, B>,
) -> SVector<T, CO> {
    let mut sums = SVector::<T, CO>::zeros();
    channel_sums_into::<T, CO, OUT, B>(d, &mut sums);
    sums
}

/// As [`channel_sums`], writing the sums into `sums`.
pub fn channel_sums_into<T: Real, const CO: usize, const OUT: usize, const B: usize>(
    d: &SMatrix<T, OUT, B>,
    sums: &mut SVector<T, CO>,
) {
    const {
        assert!(
            CO > 0 && OUT.is_multiple_of(CO),
            "conv2d: the output's rows are not a multiple of its channels"
        )
    };
    // Over the batch first, a whole image at a time (independent sums, which vectorise),
    // then along each plane: one chain of dependent additions per plane, not per image.
    let mut workspace = Workspace::take();
    let [over_batch] = workspace.slices::<T, 1>([OUT]);
    over_batch.fill(T::ZERO);
    for image in d.as_slice().chunks_exact(OUT) {
        for (total, value) in over_batch.iter_mut().zip(image) {
            *total += *value;
        }
    }
    for (plane, sum) in over_batch.chunks_exact(OUT / CO).zip(sums.iter_mut()) {
        *sum = plane.iter().fold(T::ZERO, |total, value| total + *value);
    }
}
