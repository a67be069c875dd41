//! How a convolution lays out its operands: im2col's matrix read from a padded image, its
//! adjoint, and the batch's images regrouped by channel.

use super::Window;
use crate::Real;

/// One image with its zero padding, `C×(H+2P)×(W+2P)`: every window of it is inside, so
/// im2col's rows are plain strided reads.
impl Window {
    fn padded_height(&self) -> usize {
        self.height + 2 * self.padding
    }

    fn padded_width(&self) -> usize {
        self.width + 2 * self.padding
    }

    pub(super) fn padded_len(&self) -> usize {
        self.channels * self.padded_height() * self.padded_width()
    }

    /// Calls `f(interior row of the padded image, row of the image)` for each of the image's
    /// rows.
    #[inline(always)]
    fn for_each_interior_row(&self, mut f: impl FnMut(usize, usize)) {
        let (pw, width) = (self.padded_width(), self.width);
        for row in 0..self.channels * self.height {
            let (channel, y) = (row / self.height, row % self.height);
            let padded_row = channel * self.padded_height() + y + self.padding;
            f(padded_row * pw + self.padding, row * width);
        }
    }

    /// Calls `f(d, out_y, start)` for each row of tap `d = (c·K + i)·K + j` and output row
    /// `out_y`, `start` where that row's first element is in the padded image (the others
    /// follow every `S`).
    #[inline(always)]
    fn for_each_tap_row(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (k, pw) = (self.kernel, self.padded_width());
        for d in 0..self.channels * k * k {
            let (channel, i, j) = (d / (k * k), d / k % k, d % k);
            for out_y in 0..self.out_height() {
                let line = channel * self.padded_height() + out_y * self.stride + i;
                f(d, out_y, line * pw + j);
            }
        }
    }
}

/// `cols[(c·K + i)·K + j][b·HW + p]` (row-major, `C·K·K × n`, `n = B·HW`) = the input element
/// under tap `(i, j)` of channel `c` at output position `p` of image `b`, or 0 in the padding.
#[inline(always)]
pub(super) fn im2col<T: Real>(
    x: &[T],
    window: &Window,
    n: usize,
    padded: &mut [T],
    cols: &mut [T],
) {
    let (plane, out_width, stride) = (window.plane_len(), window.out_width(), window.stride);
    padded.fill(T::ZERO);
    for (b, image) in x.chunks_exact(window.input_len()).enumerate() {
        window.for_each_interior_row(|to, from| {
            padded[to..][..window.width].copy_from_slice(&image[from..][..window.width]);
        });
        window.for_each_tap_row(|d, out_y, start| {
            let row = &mut cols[d * n + b * plane + out_y * out_width..][..out_width];
            if stride == 1 {
                row.copy_from_slice(&padded[start..][..out_width]);
            } else {
                for (x, col) in row.iter_mut().enumerate() {
                    *col = padded[start + x * stride];
                }
            }
        });
    }
}

/// The adjoint of [`im2col`]: every column element added back into the input element it
/// was read from (padding taps dropped).
#[inline(always)]
pub(super) fn col2im<T: Real>(
    cols: &[T],
    window: &Window,
    n: usize,
    padded: &mut [T],
    x: &mut [T],
) {
    let (plane, out_width, stride) = (window.plane_len(), window.out_width(), window.stride);
    for (b, image) in x.chunks_exact_mut(window.input_len()).enumerate() {
        padded.fill(T::ZERO);
        window.for_each_tap_row(|d, out_y, start| {
            let row = &cols[d * n + b * plane + out_y * out_width..][..out_width];
            let line = &mut padded[start..];
            for (x, col) in row.iter().enumerate() {
                line[x * stride] += *col;
            }
        });
        window.for_each_interior_row(|from, to| {
            image[to..][..window.width].copy_from_slice(&padded[from..][..window.width]);
        });
    }
}

/// From the channel-major layout the products use (`[o][b·HW + p]`) to the batch's, one
/// image per column (`[b][o][p]`), adding channel `o`'s `bias[o]` if there is a bias.
#[inline(always)]
pub(super) fn ungroup<T: Real>(
    grouped: &[T],
    bias: Option<&[T]>,
    batch_major: &mut [T],
    (channels, plane, batch): (usize, usize, usize),
) {
    for b in 0..batch {
        for o in 0..channels {
            let target = &mut batch_major[(b * channels + o) * plane..][..plane];
            let source = &grouped[(o * batch + b) * plane..][..plane];
            match bias {
                Some(bias) => {
                    for (y, sum) in target.iter_mut().zip(source) {
                        *y = *sum + bias[o];
                    }
                }
                None => target.copy_from_slice(source),
            }
        }
    }
}

/// From the batch's layout to the channel-major one: the inverse of [`ungroup`].
#[inline(always)]
pub(super) fn regroup<T: Real>(
    batch_major: &[T],
    grouped: &mut [T],
    (channels, plane, batch): (usize, usize, usize),
) {
    for b in 0..batch {
        for o in 0..channels {
            grouped[(o * batch + b) * plane..][..plane]
                .copy_from_slice(&batch_major[(b * channels + o) * plane..][..plane]);
        }
    }
}
