//! The geometry of a convolution or a pooling, interned so that an [`Op`](super::Op) holding
//! one stays `Copy`: the input image, the window, and the sizes of the matrices involved
//! (which may be const generics, so only rustc can multiply them).

use std::fmt;

use super::shape::Dim;

/// A batch of `channels×height×width` images (one per column, PyTorch's `(C, H, W)` order),
/// windows of side `kernel` every `stride` positions, `padding` zeros on each side.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Geometry {
    pub channels: Dim,
    pub height: Dim,
    pub width: Dim,
    pub kernel: Dim,
    pub stride: Dim,
    pub padding: Dim,
    /// A convolution's output channels (the weight's rows); a pooling's channels.
    pub out_channels: Dim,
    /// A convolution's weight columns, `C·K·K`; a pooling's are unused (1).
    pub weight_cols: Dim,
    /// The rows of an input batch, `C·H·W`.
    pub input_rows: Dim,
    /// The rows of an output batch, `C_out·H_out·W_out`.
    pub output_rows: Dim,
}

impl Geometry {
    /// `(H + 2P − K) / S + 1` and the same for the width, when every size is a number.
    pub fn out_size(&self) -> Option<(usize, usize)> {
        let [h, w, k, s, p] = [
            &self.height,
            &self.width,
            &self.kernel,
            &self.stride,
            &self.padding,
        ]
        .map(|dim| match dim {
            Dim::Fixed(n) => Some(*n),
            Dim::Named(_) => None,
        });
        let (h, w, k, s, p) = (h?, w?, k?, s?, p?);
        if s == 0 || k == 0 || h + 2 * p < k || w + 2 * p < k {
            return None;
        }
        Some(((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1))
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}×{}×{} k{} s{} p{}",
            self.channels, self.height, self.width, self.kernel, self.stride, self.padding
        )
    }
}

/// A [`Geometry`], interned for the life of the process (a proc macro's: one crate's
/// compilation), each distinct one once.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct WindowId(u32);

static GEOMETRIES: std::sync::Mutex<Vec<&'static Geometry>> = std::sync::Mutex::new(Vec::new());

impl WindowId {
    pub fn intern(geometry: Geometry) -> WindowId {
        let mut known = GEOMETRIES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = match known.iter().position(|g| **g == geometry) {
            Some(index) => index,
            None => {
                known.push(Box::leak(Box::new(geometry)));
                known.len() - 1
            }
        };
        WindowId(u32::try_from(index).expect("under 2^32 geometries"))
    }

    pub fn geometry(self) -> &'static Geometry {
        let known = GEOMETRIES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known[self.0 as usize]
    }
}
