//! Winograd's F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2015) for 3×3 stride-1 convolutions: each 2×2 block of outputs ("tile") is
//! `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` of the 4×4 input patch `d` under it, 16 multiplications where
//! the direct sum takes 36. Over channels, the 16 element-wise products are 16 independent
//! matrix products, `M_ξ (tiles×C_out) = V_ξ (tiles×C_in) · U_ξ (C_in×C_out)`, one `gemm` call
//! each, between transforms that only add. The input gradient of a stride-1 convolution is the
//! same correlation (of `d_y`, padded by `2 − P`, with the kernel turned 180° and its channels
//! swapped), so it takes this path too; the weight's gradient is the forward pass's adjoint in
//! the kernel, `Gᵀ [Σ_tiles (A δ Aᵀ) ⊙ (Bᵀ d B)] G` (`δ` the output's gradient over a tile),
//! the same 16 products, summed over the tiles. All three do 16/36 of im2col's multiplications.
//!
//! An image at a time, its rows are first multiplied by `B` (the padding added on the way),
//! then its tiles go through in chunks of tile rows, so that a chunk's transformed input and
//! products stay in L2 between the transforms and the products. The transforms work on runs
//! of [`LANES`] values copied to the stack, which the compiler vectorises whatever the
//! slices' aliasing. Scratch memory is `Workspace`'s.

use super::large::{product, View};
use super::{Pass, Sizes, Workspace};
use crate::Real;
use std::ops::Range;

/// A chunk's transformed input and products at most, `16·(C_in + C_out)` values a tile: the
/// whole image for the example's second convolution (169 tiles of 32 and 64 channels in its
/// input gradient), whose input gradient ran a quarter faster than in chunks of 64 tiles
/// and a tenth faster than in chunks of 128.
const CHUNK_BYTES: usize = 1 << 20;

/// The values the transforms combine at once: an AVX-512 register of `f32`.
const LANES: usize = 16;

/// A 3×3 stride-1 correlation of each image of a batch: `inputs` channels of `height×width`
/// in, zero padding `padding` around them, `outputs` channels out.
#[derive(Clone, Copy)]
struct Correlation {
    inputs: usize,
    outputs: usize,
    height: usize,
    width: usize,
    padding: usize,
}

impl Correlation {
    /// The correlation a convolution of `sizes` (3×3, stride 1) computes.
    fn of(sizes: &Sizes) -> Correlation {
        let window = &sizes.window;
        Correlation {
            inputs: window.channels,
            outputs: sizes.out_channels,
            height: window.height,
            width: window.width,
            padding: window.padding,
        }
    }

    fn out_height(&self) -> usize {
        self.height + 2 * self.padding - 2
    }

    fn out_width(&self) -> usize {
        self.width + 2 * self.padding - 2
    }

    /// Tiles down and across an output plane (a ragged edge's tiles are cut when written).
    fn tiles(&self) -> (usize, usize) {
        (self.out_height().div_ceil(2), self.out_width().div_ceil(2))
    }

    /// A padded row, `2·tiles across + 2`: the image's row with `padding` zeros before it and
    /// enough after it for every tile's patch.
    fn line_len(&self) -> usize {
        2 * self.tiles().1 + 2
    }

    /// One image's rows times `B`, `C_in × 4 × 2 × (tiles down + 1) × tiles across`: for each
    /// channel and column `l` of `d B`, the padded rows of even index, then the odd ones, so
    /// that the rows a tile row's patches start on are one run.
    fn rows_len(&self) -> usize {
        let (down, across) = self.tiles();
        self.inputs * 8 * (down + 1) * across
    }
}

/// Whether a large convolution of `sizes` goes to Winograd: 3×3, stride 1, with at least 8
/// channels in and out, so that the 16 products beat im2col's one (the example's first
/// convolution, 1 channel in, runs its input gradient 4× slower by Winograd).
pub(super) fn applies(sizes: &Sizes) -> bool {
    let window = &sizes.window;
    window.kernel == 3
        && window.stride == 1
        && window.padding <= 2
        && window.channels.min(sizes.out_channels) >= 8
}

/// `pass` on operands `a` and `b` into `out`, as `Kernel` defines them.
#[inline(always)]
pub(super) fn run<T: Real>(pass: Pass<'_, T>, (a, b): (&[T], &[T]), out: &mut [T], sizes: &Sizes) {
    let co = sizes.out_channels;
    let forward = Correlation::of(sizes);
    // The weight's tap (i, j) from channel c to channel o, in the passes that read it.
    let at = |o: usize, c: usize, i: usize, j: usize| b[o + co * ((c * 3 + i) * 3 + j)];
    match pass {
        Pass::Forward(bias) => correlate(a, at, &forward, bias, out),
        Pass::InputGrad => {
            // d_x[c][y][x] = Σ_{o,i,j} w[o][c][i][j]·d_y[o][y − i + P][x − j + P]: a
            // correlation of d_y with w[o][c][2 − i][2 − j], padded by 2 − P.
            let adjoint = sizes.adjoint().expect("stride 1 and P ≤ 2 (`applies`)");
            let turned = |c: usize, o: usize, i: usize, j: usize| at(o, c, 2 - i, 2 - j);
            correlate(a, turned, &Correlation::of(&adjoint), None, out);
        }
        Pass::WeightGrad => correlate_weight_grad(a, b, &forward, &mut out[..co * sizes.depth()]),
    }
}

/// How a correlation's tiles go through: `rows_per_chunk` tile rows of one image at a time,
/// at most `most_tiles` tiles (rounded up to whole blocks of [`LANES`]).
struct Plan {
    rows_per_chunk: usize,
    most_tiles: usize,
}

impl Correlation {
    /// The lengths of a pass's scratch slices: the 16 transformed kernels (or their
    /// gradients' sums), a padded line, an image's rows times `B`, and a chunk's `V`, `M`
    /// (or `D`) and output lines.
    fn scratch(&self, plan: &Plan) -> [usize; 6] {
        let (ci, co) = (self.inputs, self.outputs);
        [
            16 * co * ci,
            self.line_len(),
            self.rows_len() + LANES,
            16 * plane(ci, plan.most_tiles),
            16 * plane(co, plan.most_tiles),
            4 * plan.most_tiles,
        ]
    }

    /// Chunks of equal numbers of tile rows, as few as keep each under `CHUNK_BYTES`.
    fn plan<T>(&self) -> Plan {
        let (down, across) = self.tiles();
        let chunk_tiles = CHUNK_BYTES / (16 * (self.inputs + self.outputs) * size_of::<T>());
        let rows_per_chunk = down.div_ceil(down.div_ceil((chunk_tiles / across).max(1)));
        Plan {
            rows_per_chunk,
            // The last block's spare lanes are computed and dropped.
            most_tiles: (rows_per_chunk * across).next_multiple_of(LANES),
        }
    }
}

/// The values of one `ξ` of `V`, `M` or `D` for `channels` channels of `stride` tiles, and
/// [`LANES`] more: the 16 runs the transforms read or write together then start 64 bytes apart
/// modulo 4 KiB, not all in one set of the L1 cache (conv 2's `M_ξ` would be 36 KiB, 9·4 KiB,
/// apart).
fn plane(channels: usize, stride: usize) -> usize {
    channels * stride + LANES
}

/// The view of `V_ξ`, `M_ξ` or `D_ξ` (`ξ` from `offset`): a matrix of `stride` tiles, tile
/// `t` in its rows, each row a channel's run of `stride` (column-major `tiles×channels`).
fn tile_major(offset: usize, stride: usize) -> View {
    View {
        offset,
        strides: (1, stride),
    }
}

/// The tile rows of each chunk of an image.
fn chunks(correlation: &Correlation, plan: &Plan) -> impl Iterator<Item = Range<usize>> {
    let (down, rows) = (correlation.tiles().0, plan.rows_per_chunk);
    (0..down)
        .step_by(rows)
        .map(move |first| first..(first + rows).min(down))
}

/// The transformed input of the chunk of `tile_rows`, `v[ξ][c][t]` (`t` from the chunk's first
/// tile), from the image's rows times `B`; its `stride`, the columns per row of `v`.
#[inline(always)]
fn transform_chunk<T: Real>(
    rows: &[T],
    tile_rows: &Range<usize>,
    correlation: &Correlation,
    v: &mut [T],
) -> usize {
    let stride = (tile_rows.len() * correlation.tiles().1).next_multiple_of(LANES);
    for channel in 0..correlation.inputs {
        transform_columns(rows, (channel, tile_rows.start, stride), correlation, v);
    }
    stride
}

/// `out = correlation(input, tap) + bias`, `tap(o, c, i, j)` the kernel's tap `(i, j)` from
/// input channel `c` to output channel `o`.
#[inline(always)]
fn correlate<T: Real>(
    input: &[T],
    tap: impl Fn(usize, usize, usize, usize) -> T,
    correlation: &Correlation,
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let (ci, co, plan) = (
        correlation.inputs,
        correlation.outputs,
        correlation.plan::<T>(),
    );
    let across = correlation.tiles().1;
    let mut workspace = Workspace::take();
    let [u, line, rows, v, m, lines] = workspace.slices::<T, 6>(correlation.scratch(&plan));
    transform_kernel(&tap, (co, ci), u);
    // The padding stays zero from row to row and from image to image.
    line.fill(T::ZERO);
    rows.fill(T::ZERO);
    let input_len = ci * correlation.height * correlation.width;
    for (image, x) in input.chunks_exact(input_len).enumerate() {
        transform_rows(x, correlation, line, rows);
        for tile_rows in chunks(correlation, &plan) {
            let stride = transform_chunk(rows, &tile_rows, correlation, v);
            for xi in 0..16 {
                // M_ξ (tiles×C_out) = V_ξ (tiles×C_in) · U_ξ (C_in×C_out), all column-major.
                let operands = (
                    (&*v, tile_major(xi * plane(ci, stride), stride)),
                    (&*u, tile_major(xi * co * ci, ci)),
                );
                let products = (&mut *m, tile_major(xi * plane(co, stride), stride));
                product(
                    products,
                    operands,
                    (tile_rows.len() * across, co, ci),
                    false,
                );
            }
            for o in 0..co {
                let offset = bias.map_or(T::ZERO, |bias| bias[o]);
                transform_output(m, (o, co, stride), offset, lines);
                for (local, tile_row) in tile_rows.clone().enumerate() {
                    let lines = (&*lines, local * across, stride);
                    scatter(lines, (image, tile_row, o), correlation, out);
                }
            }
        }
    }
}

/// The weight's gradient of `correlation` (the forward pass's), from the output's `d_y` and
/// the input `x`, into the column-major `C_out×(C·3·3)` `d_weight`: the adjoint of
/// [`correlate`] in `g`, `Gᵀ [Σ_tiles (A d_y Aᵀ) ⊙ (Bᵀ d B)] G`, 16 products over the tiles.
#[inline(always)]
fn correlate_weight_grad<T: Real>(
    d_y: &[T],
    x: &[T],
    correlation: &Correlation,
    d_weight: &mut [T],
) {
    let (ci, co, plan) = (
        correlation.inputs,
        correlation.outputs,
        correlation.plan::<T>(),
    );
    let across = correlation.tiles().1;
    let mut workspace = Workspace::take();
    let [sums, line, rows, v, d, lines] = workspace.slices::<T, 6>(correlation.scratch(&plan));
    sums.fill(T::ZERO);
    line.fill(T::ZERO);
    rows.fill(T::ZERO);
    let input_len = ci * correlation.height * correlation.width;
    for (image, x) in x.chunks_exact(input_len).enumerate() {
        transform_rows(x, correlation, line, rows);
        for tile_rows in chunks(correlation, &plan) {
            let stride = transform_chunk(rows, &tile_rows, correlation, v);
            for o in 0..co {
                for (local, tile_row) in tile_rows.clone().enumerate() {
                    let lines = (&mut *lines, local * across, stride);
                    gather(d_y, (image, tile_row, o), correlation, lines);
                }
                transform_output_adjoint(lines, (o, co, stride), d);
            }
            for xi in 0..16 {
                // S_ξ (C_out×C_in) += D_ξ (C_out×tiles) · V_ξᵀ (tiles×C_in); S_ξ row-major.
                let operands = (
                    (&*d, transpose(tile_major(xi * plane(co, stride), stride))),
                    (&*v, tile_major(xi * plane(ci, stride), stride)),
                );
                let sum = View {
                    offset: xi * co * ci,
                    strides: (ci, 1),
                };
                let tiles = tile_rows.len() * across;
                product((&mut *sums, sum), operands, (co, ci, tiles), true);
            }
        }
    }
    untransform_kernel(sums, (co, ci), d_weight);
}

/// The transpose of `view`.
fn transpose(view: View) -> View {
    View {
        offset: view.offset,
        strides: (view.strides.1, view.strides.0),
    }
}

/// `u[ξ][o][c]` = element `ξ` of `G g Gᵀ`, `g` the 3×3 kernel from input channel `c` to
/// output channel `o`, `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`.
#[inline(always)]
fn transform_kernel<T: Real>(
    tap: &impl Fn(usize, usize, usize, usize) -> T,
    (co, ci): (usize, usize),
    u: &mut [T],
) {
    let half = T::ONE / (T::ONE + T::ONE);
    let spread = |g: [T; 3]| {
        [
            g[0],
            (g[0] + g[1] + g[2]) * half,
            (g[0] - g[1] + g[2]) * half,
            g[2],
        ]
    };
    for o in 0..co {
        for c in 0..ci {
            // G g, one column of g at a time, then each of its rows times Gᵀ.
            let columns = [0, 1, 2].map(|j| spread([0, 1, 2].map(|i| tap(o, c, i, j))));
            for k in 0..4 {
                let row = spread([columns[0][k], columns[1][k], columns[2][k]]);
                for (l, value) in row.into_iter().enumerate() {
                    u[((4 * k + l) * co + o) * ci + c] = value;
                }
            }
        }
    }
}

/// `d B`, `B = [1 0 0 0; 0 1 −1 1; −1 1 1 0; 0 0 0 −1]`, for every row of one image: padded
/// row `y` of channel `c` gives, for each tile column `t`, the 4 values of the patch row
/// starting at column `2t` times `B`, into `rows` (see [`Correlation::rows_len`]).
#[inline(always)]
fn transform_rows<T: Real>(image: &[T], correlation: &Correlation, line: &mut [T], rows: &mut [T]) {
    let (width, padding) = (correlation.width, correlation.padding);
    let (down, across) = correlation.tiles();
    let line = &mut line[..2 * across + 2];
    for (row, values) in image.chunks_exact(width).enumerate() {
        let (channel, y) = (row / correlation.height, row % correlation.height + padding);
        copy_short(&mut line[padding..][..width], values);
        let plane = (down + 1) * across;
        let run = &mut rows[((channel * 8 + y % 2) * (down + 1) + y / 2) * across..];
        let [h0, h1, h2, h3] = four_mut(run, |l| 2 * l * plane);
        let (h0, h1, h2, h3) = (
            &mut h0[..across],
            &mut h1[..across],
            &mut h2[..across],
            &mut h3[..across],
        );
        for t in 0..across {
            let patch = [
                line[2 * t],
                line[2 * t + 1],
                line[2 * t + 2],
                line[2 * t + 3],
            ];
            h0[t] = patch[0] - patch[2];
            h1[t] = patch[1] + patch[2];
            h2[t] = patch[2] - patch[1];
            h3[t] = patch[1] - patch[3];
        }
    }
}

/// `Bᵀ (d B)`, `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, for one channel's tiles from
/// tile row `first`: `v[ξ][channel][t]`, `stride` columns per row of `v`.
#[inline(always)]
fn transform_columns<T: Real>(
    rows: &[T],
    (channel, first, stride): (usize, usize, usize),
    correlation: &Correlation,
    v: &mut [T],
) {
    let (down, across) = correlation.tiles();
    let rows_plane = (down + 1) * across;
    for l in 0..4 {
        // A tile row's patches start on an even padded row 2·t: rows 2t, 2t + 1, 2t + 2 and
        // 2t + 3 are even row t, odd row t, even row t + 1 and odd row t + 1. The last
        // block's spare lanes read on (`rows` has `LANES` more values than its planes).
        let run = |odd: usize, row: usize| {
            &rows[((channel * 4 + l) * 2 + odd) * rows_plane + row * across..][..stride]
        };
        let patch_rows = [
            run(0, first),
            run(1, first),
            run(0, first + 1),
            run(1, first + 1),
        ];
        let [k0, k1, k2, k3] = four_mut(v, |k| {
            (4 * k + l) * plane(correlation.inputs, stride) + channel * stride
        });
        in_blocks(patch_rows, [k0, k1, k2, k3], stride, column_block::<T>);
    }
}

/// `Bᵀ` on [`LANES`] columns of patch rows.
#[inline(always)]
fn column_block<T: Real>(r: &[[T; LANES]; 4]) -> [[T; LANES]; 4] {
    let mut out = [[T::ZERO; LANES]; 4];
    for i in 0..LANES {
        out[0][i] = r[0][i] - r[2][i];
        out[1][i] = r[1][i] + r[2][i];
        out[2][i] = r[2][i] - r[1][i];
        out[3][i] = r[1][i] - r[3][i];
    }
    out
}

/// `Aᵀ M A + offset`, `Aᵀ = [1 1 1 0; 0 1 −1 −1]`, for output channel `o` of the chunk's
/// tiles: `lines[0]` holds each tile's top two outputs in turn, `lines[1]` its bottom two, so
/// that a tile row's output row is one run.
#[inline(always)]
fn transform_output<T: Real>(
    m: &[T],
    (o, co, stride): (usize, usize, usize),
    offset: T,
    lines: &mut [T],
) {
    let (top, bottom) = lines[..4 * stride].split_at_mut(2 * stride);
    let channel = &m[o * stride..];
    for start in (0..stride).step_by(LANES) {
        let mut products = [[T::ZERO; LANES]; 16];
        for (xi, values) in products.iter_mut().enumerate() {
            values.copy_from_slice(&channel[xi * plane(co, stride) + start..][..LANES]);
        }
        let [q0, q1, q2, q3] = output_block(&products);
        let (mut top_pairs, mut bottom_pairs) = ([T::ZERO; 2 * LANES], [T::ZERO; 2 * LANES]);
        for i in 0..LANES {
            top_pairs[2 * i] = q0[i] + offset;
            top_pairs[2 * i + 1] = q1[i] + offset;
            bottom_pairs[2 * i] = q2[i] + offset;
            bottom_pairs[2 * i + 1] = q3[i] + offset;
        }
        top[2 * start..][..2 * LANES].copy_from_slice(&top_pairs);
        bottom[2 * start..][..2 * LANES].copy_from_slice(&bottom_pairs);
    }
}

/// `Aᵀ M A` on [`LANES`] tiles' `M`.
#[inline(always)]
fn output_block<T: Real>(m: &[[T; LANES]; 16]) -> [[T; LANES]; 4] {
    let mut out = [[T::ZERO; LANES]; 4];
    for i in 0..LANES {
        // Aᵀ M, column l: top_l = M₀ₗ + M₁ₗ + M₂ₗ, bottom_l = M₁ₗ − M₂ₗ − M₃ₗ; then times A.
        let top = |l: usize| m[l][i] + m[4 + l][i] + m[8 + l][i];
        let bottom = |l: usize| m[4 + l][i] - m[8 + l][i] - m[12 + l][i];
        let (t0, t1, t2, t3) = (top(0), top(1), top(2), top(3));
        let (b0, b1, b2, b3) = (bottom(0), bottom(1), bottom(2), bottom(3));
        out[0][i] = t0 + t1 + t2;
        out[1][i] = t1 - t2 - t3;
        out[2][i] = b0 + b1 + b2;
        out[3][i] = b1 - b2 - b3;
    }
    out
}

/// `outputs[..][..len] = block(inputs[..][..len])`, `len` a multiple of [`LANES`], a block
/// at a time copied to the stack, where the compiler vectorises `block`'s loops.
#[inline(always)]
fn in_blocks<T: Real, const N: usize, const M: usize>(
    inputs: [&[T]; N],
    mut outputs: [&mut [T]; M],
    len: usize,
    block: impl Fn(&[[T; LANES]; N]) -> [[T; LANES]; M],
) {
    for start in (0..len).step_by(LANES) {
        let results = block(&load(inputs, start));
        for (output, results) in outputs.iter_mut().zip(&results) {
            output[start..][..LANES].copy_from_slice(results);
        }
    }
}

/// Elements `start..start + LANES` of each input.
#[inline(always)]
fn load<T: Real, const N: usize>(inputs: [&[T]; N], start: usize) -> [[T; LANES]; N] {
    let mut values = [[T::ZERO; LANES]; N];
    for (values, input) in values.iter_mut().zip(&inputs) {
        values.copy_from_slice(&input[start..][..LANES]);
    }
    values
}

/// Four disjoint runs of `slice`, each to its end, run `q` from `start(q)` (increasing).
#[inline(always)]
fn four_mut<T>(slice: &mut [T], start: impl Fn(usize) -> usize) -> [&mut [T]; 4] {
    let (a, rest) = slice.split_at_mut(start(1));
    let (b, rest) = rest.split_at_mut(start(2) - start(1));
    let (c, d) = rest.split_at_mut(start(3) - start(2));
    [&mut a[start(0)..], b, c, d]
}

/// Tile row `tile_row` of output channel `o` of image `image` from the chunk's output
/// `lines` (its tiles from `first`) into `out`, a ragged edge's outputs dropped.
#[inline(always)]
fn scatter<T: Real>(
    (lines, first, stride): (&[T], usize, usize),
    (image, tile_row, o): (usize, usize, usize),
    correlation: &Correlation,
    out: &mut [T],
) {
    let (out_height, out_width) = (correlation.out_height(), correlation.out_width());
    let plane = &mut out[(image * correlation.outputs + o) * out_height * out_width..]
        [..out_height * out_width];
    for half in 0..2 {
        let y = 2 * tile_row + half;
        if y < out_height {
            let line = &lines[2 * (half * stride + first)..][..out_width];
            copy_short(&mut plane[y * out_width..][..out_width], line);
        }
    }
}

/// The adjoint of [`scatter`]: tile row `tile_row` of channel `o` of image `image` of `d_y`
/// into the chunk's `lines` (its tiles from `first`), zeros for a ragged edge's missing outputs.
#[inline(always)]
fn gather<T: Real>(
    d_y: &[T],
    (image, tile_row, o): (usize, usize, usize),
    correlation: &Correlation,
    (lines, first, stride): (&mut [T], usize, usize),
) {
    let (out_height, out_width) = (correlation.out_height(), correlation.out_width());
    let across = correlation.tiles().1;
    let plane = &d_y[(image * correlation.outputs + o) * out_height * out_width..]
        [..out_height * out_width];
    for half in 0..2 {
        let y = 2 * tile_row + half;
        let line = &mut lines[2 * (half * stride + first)..][..2 * across];
        if y < out_height {
            copy_short(&mut line[..out_width], &plane[y * out_width..][..out_width]);
            line[out_width..].fill(T::ZERO);
        } else {
            line.fill(T::ZERO);
        }
    }
}

/// The adjoint of [`transform_output`]: `d[ξ][o][t]` = element `ξ` of `A δ Aᵀ`, `δ` the 2×2
/// block of the output's gradient over tile `t` (from `lines`, as `transform_output` leaves
/// them), `A = [1 0; 1 1; 1 −1; 0 −1]`.
#[inline(always)]
fn transform_output_adjoint<T: Real>(
    lines: &[T],
    (o, co, stride): (usize, usize, usize),
    d: &mut [T],
) {
    let (top, bottom) = lines[..4 * stride].split_at(2 * stride);
    let channel = &mut d[o * stride..];
    for start in (0..stride).step_by(LANES) {
        let top: &[T; 2 * LANES] = top[2 * start..][..2 * LANES].try_into().expect("2 LANES");
        let bottom: &[T; 2 * LANES] = bottom[2 * start..][..2 * LANES]
            .try_into()
            .expect("2 LANES");
        let mut out = [[T::ZERO; LANES]; 16];
        for i in 0..LANES {
            let (p, q, r, s) = (top[2 * i], top[2 * i + 1], bottom[2 * i], bottom[2 * i + 1]);
            // A δ, row by row, then each row [a b] times Aᵀ: [a, a + b, a − b, −b].
            let rows = [(p, q), (p + r, q + s), (p - r, q - s), (-r, -s)];
            for (k, (a, b)) in rows.into_iter().enumerate() {
                out[4 * k][i] = a;
                out[4 * k + 1][i] = a + b;
                out[4 * k + 2][i] = a - b;
                out[4 * k + 3][i] = -b;
            }
        }
        for (xi, values) in out.iter().enumerate() {
            channel[xi * plane(co, stride) + start..][..LANES].copy_from_slice(values);
        }
    }
}

/// The adjoint of [`transform_kernel`]: `d_weight[o + C_out·((c·3 + i)·3 + j)]` = element
/// `(i, j)` of `Gᵀ S G`, `S` the 4×4 `sums[ξ][o][c]`.
#[inline(always)]
fn untransform_kernel<T: Real>(sums: &[T], (co, ci): (usize, usize), d_weight: &mut [T]) {
    let half = T::ONE / (T::ONE + T::ONE);
    // [a b c d] times G: [a + ½b + ½c, ½b − ½c, ½b + ½c + d].
    let gather = |r: [T; 4]| {
        [
            r[0] + (r[1] + r[2]) * half,
            (r[1] - r[2]) * half,
            (r[1] + r[2]) * half + r[3],
        ]
    };
    for o in 0..co {
        for c in 0..ci {
            let s = |k: usize, l: usize| sums[((4 * k + l) * co + o) * ci + c];
            // Gᵀ S, one column l at a time, then each of its three rows times G.
            let columns = [0, 1, 2, 3].map(|l| gather([s(0, l), s(1, l), s(2, l), s(3, l)]));
            for i in 0..3 {
                let row = gather([columns[0][i], columns[1][i], columns[2][i], columns[3][i]]);
                for (j, value) in row.into_iter().enumerate() {
                    d_weight[o + co * ((c * 3 + i) * 3 + j)] = value;
                }
            }
        }
    }
}

/// `to.copy_from_slice(from)` in fixed runs of 8, the last one overlapping the one before:
/// vector moves, where a copy of a few dozen elements of unknown length calls `memcpy`.
#[inline(always)]
fn copy_short<T: Real>(to: &mut [T], from: &[T]) {
    const RUN: usize = 8;
    let len = to.len();
    if len < RUN {
        return to.copy_from_slice(from);
    }
    let from = &from[..len];
    for start in (0..len - RUN).step_by(RUN).chain([len - RUN]) {
        let run: [T; RUN] = from[start..][..RUN].try_into().expect("a run is RUN long");
        to[start..][..RUN].copy_from_slice(&run);
    }
}
