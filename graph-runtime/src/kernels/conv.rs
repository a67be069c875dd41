//! 2-D convolution (PyTorch's cross-correlation, zero padding) over a batch of images, one
//! image per column, each image `C×H×W` in PyTorch's row-major `(C, H, W)` order, and its
//! gradients. Each is im2col and one product over the whole batch (`combine_rows`), in
//! workspaces kept per thread (`with_workspace`), so a step after the first allocates nothing.
//!
//! The weight is `C_out×(C·K·K)`, row `o` PyTorch's `weight[o]` flattened in `(c, i, j)`
//! order; nalgebra stores it column-major, and the products read it in place.

use nalgebra::{SMatrix, SVector};

use crate::Real;

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

    /// Where the input row under tap row `i` at output row `out_y` of `channel` starts, in
    /// one image; `None` in the padding.
    #[inline]
    fn input_row(&self, channel: usize, i: usize, out_y: usize) -> Option<usize> {
        // Above the image, the subtraction wraps to a huge number, past `height` too.
        let y = (out_y * self.stride + i).wrapping_sub(self.padding);
        (y < self.height).then(|| (channel * self.height + y) * self.width)
    }

    /// The output columns whose tap column `j` falls inside the image (not in the padding):
    /// `out_x·S + j − P` in `[0, W)`.
    #[inline]
    fn columns_inside(&self, j: usize) -> std::ops::Range<usize> {
        let first = self.padding.saturating_sub(j).div_ceil(self.stride);
        let end = (self.width + self.padding)
            .saturating_sub(j)
            .div_ceil(self.stride);
        first.min(self.out_width())..end.min(self.out_width())
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

/// Runs `f` on two scratch slices of `first` and `second` elements, from this thread's
/// workspace (grown, never shrunk, so only the first call of a size allocates).
pub(super) fn with_workspace<T: Real, R>(
    first: usize,
    second: usize,
    f: impl FnOnce(&mut [T], &mut [T]) -> R,
) -> R {
    let mut words = WORKSPACE.with(|cell| cell.take());
    let bytes = (first + second) * std::mem::size_of::<T>();
    let needed = bytes.div_ceil(8);
    if words.len() < needed {
        words.resize(needed, 0);
    }
    let all: &mut [T] = &mut bytemuck::cast_slice_mut::<u64, T>(&mut words)[..first + second];
    let (a, b) = all.split_at_mut(first);
    let result = f(a, b);
    WORKSPACE.with(|cell| cell.set(words));
    result
}

/// `cols[(c·K + i)·K + j][b·HW + p]` (row-major, `C·K·K × B·HW`) = the input element under
/// tap `(i, j)` of channel `c` at output position `p` of image `b`, or 0 in the padding.
fn im2col<T: Real>(x: &[T], window: &Window, batch: usize, cols: &mut [T]) {
    for_each_tap_row(
        window,
        batch,
        |channel, tap, inside, b, out_y, row| {
            let image = &x[b * window.input_len()..][..window.input_len()];
            let Some(start) = window.input_row(channel, tap.0, out_y) else {
                row.fill(T::ZERO);
                return;
            };
            let input = &image[start..][..window.width];
            row[..inside.start].fill(T::ZERO);
            row[inside.end..].fill(T::ZERO);
            if inside.is_empty() {
                return;
            }
            let first = inside.start * window.stride + tap.1 - window.padding;
            if window.stride == 1 {
                row[inside.clone()].copy_from_slice(&input[first..][..inside.len()]);
            } else {
                for (col, x) in row[inside]
                    .iter_mut()
                    .zip(input[first..].iter().step_by(window.stride))
                {
                    *col = *x;
                }
            }
        },
        cols,
    );
}

/// The adjoint of [`im2col`]: every column element added back into the input element it
/// was read from (padding taps dropped).
fn col2im<T: Real>(cols: &mut [T], window: &Window, batch: usize, x: &mut [T]) {
    x.fill(T::ZERO);
    for_each_tap_row(
        window,
        batch,
        |channel, tap, inside, b, out_y, row| {
            let image = &mut x[b * window.input_len()..][..window.input_len()];
            let Some(start) = window.input_row(channel, tap.0, out_y) else {
                return;
            };
            let input = &mut image[start..][..window.width];
            if inside.is_empty() {
                return;
            }
            let first = inside.start * window.stride + tap.1 - window.padding;
            for (col, x) in row[inside]
                .iter()
                .zip(input[first..].iter_mut().step_by(window.stride))
            {
                *x += *col;
            }
        },
        cols,
    );
}

/// Calls `f(channel, (i, j), inside, image, out_y, row)` for each row of output positions of
/// each image under each tap, `row` being that stretch of [`im2col`]'s matrix and `inside`
/// its positions whose tap is inside the image.
fn for_each_tap_row<T>(
    window: &Window,
    batch: usize,
    mut f: impl FnMut(usize, (usize, usize), std::ops::Range<usize>, usize, usize, &mut [T]),
    cols: &mut [T],
) {
    let (k, plane, out_width) = (window.kernel, window.plane_len(), window.out_width());
    let mut rows = cols.chunks_exact_mut(out_width.max(1));
    for channel in 0..window.channels {
        for tap in (0..k).flat_map(|i| (0..k).map(move |j| (i, j))) {
            let inside = window.columns_inside(tap.1);
            for b in 0..batch {
                for out_y in 0..plane / out_width.max(1) {
                    let row = rows
                        .next()
                        .expect("im2col's matrix has a row per tap, image and line");
                    f(channel, tap, inside.clone(), b, out_y, row);
                }
            }
        }
    }
}

/// From the channel-major layout the products use (`[o][b·HW + p]`) to the batch's, one
/// image per column (`[b][o][p]`).
fn ungroup<T: Real>(channel_major: &[T], batch_major: &mut [T], channels: usize, plane: usize) {
    let n = batch_major.len() / (plane * channels).max(1);
    for (b, image) in batch_major.chunks_exact_mut(channels * plane).enumerate() {
        for (o, target) in image.chunks_exact_mut(plane).enumerate() {
            target.copy_from_slice(&channel_major[(o * n + b) * plane..][..plane]);
        }
    }
}

/// `y = conv2d(x, weight)` on slices: `x` is `batch` images, `weight` the column-major
/// `out_channels×(C·K·K)` matrix, `y` `batch` outputs of `out_channels` planes.
pub fn conv2d_slices<T: Real>(
    x: &[T],
    weight: &[T],
    window: &Window,
    out_channels: usize,
    y: &mut [T],
) {
    let batch = x.len() / window.input_len();
    let (depth, n) = (
        window.channels * window.kernel * window.kernel,
        batch * window.plane_len(),
    );
    with_workspace::<T, _>(depth * n, out_channels * n, |cols, grouped| {
        im2col(x, window, batch, cols);
        combine_rows(grouped, cols, n, |o, d| weight[o + out_channels * d]);
        ungroup(grouped, y, out_channels, window.plane_len());
    });
}

/// The input's gradient of [`conv2d_slices`]: `d_x = col2im(weightᵀ · d_y)`.
pub fn conv2d_input_grad_slices<T: Real>(
    d_y: &[T],
    weight: &[T],
    window: &Window,
    out_channels: usize,
    d_x: &mut [T],
) {
    let batch = d_x.len() / window.input_len();
    let (depth, n) = (
        window.channels * window.kernel * window.kernel,
        batch * window.plane_len(),
    );
    with_workspace::<T, _>(depth * n, out_channels * n, |cols, grouped| {
        regroup(d_y, grouped, out_channels, window.plane_len());
        combine_rows(cols, grouped, n, |d, o| weight[o + out_channels * d]);
        col2im(cols, window, batch, d_x);
    });
}

/// The weight's gradient of [`conv2d_slices`]: `d_weight = d_y · im2col(x)ᵀ`, column-major.
pub fn conv2d_weight_grad_slices<T: Real>(
    d_y: &[T],
    x: &[T],
    window: &Window,
    out_channels: usize,
    d_weight: &mut [T],
) {
    let batch = x.len() / window.input_len();
    let (depth, n) = (
        window.channels * window.kernel * window.kernel,
        batch * window.plane_len(),
    );
    with_workspace::<T, _>(depth * n, out_channels * n, |cols, grouped| {
        im2col(x, window, batch, cols);
        regroup(d_y, grouped, out_channels, window.plane_len());
        for (at, gradient) in d_weight.iter_mut().enumerate() {
            let (o, d) = (at % out_channels, at / out_channels);
            *gradient = dot(&grouped[o * n..][..n], &cols[d * n..][..n]);
        }
    });
}

/// From the batch's layout to the channel-major one: the inverse of [`ungroup`].
fn regroup<T: Real>(batch_major: &[T], channel_major: &mut [T], channels: usize, plane: usize) {
    let n = batch_major.len() / (plane * channels).max(1);
    for (b, image) in batch_major.chunks_exact(channels * plane).enumerate() {
        for (o, source) in image.chunks_exact(plane).enumerate() {
            channel_major[(o * n + b) * plane..][..plane].copy_from_slice(source);
        }
    }
}

/// `out[r] = Σ_k coefficient(r, k) · inputs[k]` over rows of `n` elements: the products of
/// a convolution, whose matrices are a few rows deep and thousands of elements wide, as
/// row operations the compiler vectorises along the rows (`gemm` packs its operands into
/// memory it allocates on every call, and at these sizes spends longer on that).
fn combine_rows<T: Real>(
    out: &mut [T],
    inputs: &[T],
    n: usize,
    coefficient: impl Fn(usize, usize) -> T,
) {
    let n = n.max(1);
    let depth = inputs.len() / n;
    for (r, row) in out.chunks_exact_mut(n).enumerate() {
        row.fill(T::ZERO);
        // Four input rows per pass over the output row: a quarter of its loads and stores.
        let mut k = 0;
        while k + 4 <= depth {
            let c = [0, 1, 2, 3].map(|i| coefficient(r, k + i));
            let [a, b, d, e] = [0, 1, 2, 3].map(|i| &inputs[(k + i) * n..][..n]);
            for ((((value, a), b), d), e) in row.iter_mut().zip(a).zip(b).zip(d).zip(e) {
                *value += c[0] * *a + c[1] * *b + c[2] * *d + c[3] * *e;
            }
            k += 4;
        }
        for k in k..depth {
            let c = coefficient(r, k);
            for (value, x) in row.iter_mut().zip(&inputs[k * n..][..n]) {
                *value += c * *x;
            }
        }
    }
}

/// `Σ a·b`, in eight independent sums that the compiler keeps in one vector register.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a_chunks.remainder().iter().zip(b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    let tail = tail.fold(T::ZERO, |total, (x, y)| total + *x * *y);
    lanes.iter().fold(tail, |total, lane| total + *lane)
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
#[allow(clippy::too_many_arguments)] // The geometry and every matrix size, from the IR.
pub fn conv2d<
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
    x: &SMatrix<T, R, B>,
    weight: &SMatrix<T, CO, CKK>,
) -> SMatrix<T, OUT, B> {
    check_conv::<C, H, W, K, S, P, R, CO, CKK, OUT>();
    let mut y: SMatrix<T, OUT, B> = bytemuck::Zeroable::zeroed();
    conv2d_slices(
        x.as_slice(),
        weight.as_slice(),
        &window!(C, H, W, K, S, P),
        CO,
        y.as_mut_slice(),
    );
    y
}

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
#[allow(clippy::too_many_arguments)]
pub fn conv2d_input_grad<
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
    d_y: &SMatrix<T, OUT, B>,
    weight: &SMatrix<T, CO, CKK>,
) -> SMatrix<T, R, B> {
    check_conv::<C, H, W, K, S, P, R, CO, CKK, OUT>();
    let mut d_x: SMatrix<T, R, B> = bytemuck::Zeroable::zeroed();
    let window = window!(C, H, W, K, S, P);
    conv2d_input_grad_slices(
        d_y.as_slice(),
        weight.as_slice(),
        &window,
        CO,
        d_x.as_mut_slice(),
    );
    d_x
}

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
#[allow(clippy::too_many_arguments)]
pub fn conv2d_weight_grad<
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
    d_y: &SMatrix<T, OUT, B>,
    x: &SMatrix<T, R, B>,
) -> SMatrix<T, CO, CKK> {
    check_conv::<C, H, W, K, S, P, R, CO, CKK, OUT>();
    let mut d_weight: SMatrix<T, CO, CKK> = bytemuck::Zeroable::zeroed();
    let window = window!(C, H, W, K, S, P);
    conv2d_weight_grad_slices(
        d_y.as_slice(),
        x.as_slice(),
        &window,
        CO,
        d_weight.as_mut_slice(),
    );
    d_weight
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
    const {
        assert!(
            CO > 0 && OUT.is_multiple_of(CO),
            "conv2d: the output's rows are not a multiple of its channels"
        )
    };
    let mut y: SMatrix<T, OUT, B> = bytemuck::Zeroable::zeroed();
    for image in y.as_mut_slice().chunks_exact_mut(OUT) {
        for (plane, value) in image.chunks_exact_mut(OUT / CO).zip(bias.iter()) {
            plane.fill(*value);
        }
    }
    y
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
    const {
        assert!(
            CO > 0 && OUT.is_multiple_of(CO),
            "conv2d: the output's rows are not a multiple of its channels"
        )
    };
    let mut sums = SVector::<T, CO>::zeros();
    for image in d.as_slice().chunks_exact(OUT) {
        for (plane, sum) in image.chunks_exact(OUT / CO).zip(sums.iter_mut()) {
            *sum += plane.iter().fold(T::ZERO, |total, value| total + *value);
        }
    }
    sums
}
