//! Shapes: a scalar, or a fixed-size matrix whose dimensions are numbers or const generics.

use std::fmt;

/// One dimension of a matrix: a number, or the name of a const generic parameter.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

impl Dim {
    /// Whether two dimensions may be equal. A name and a number other than 1 may be: only
    /// rustc can tell, once the const generic is known, so we leave that case to rustc. A
    /// literal 1 never equals a name: `O×1` is a vector and `O×B` a batch of them, and
    /// treating them as one shape would only move the error into the emitted code.
    pub fn compatible(&self, other: &Dim) -> bool {
        match (self, other) {
            (Dim::Fixed(a), Dim::Fixed(b)) => a == b,
            (Dim::Named(a), Dim::Named(b)) => a == b,
            (Dim::Fixed(n), Dim::Named(_)) | (Dim::Named(_), Dim::Fixed(n)) => *n != 1,
        }
    }

    pub fn is_one(&self) -> bool {
        *self == Dim::Fixed(1)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Named(name) => f.write_str(name),
        }
    }
}

/// The shape of a node's value: a scalar, or a fixed-size matrix (vectors are `n×1`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Shape {
    Scalar,
    Matrix { rows: Dim, cols: Dim },
}

/// A matrix of at least this many elements (16 KiB of `f32`) is large.
pub const LARGE_ELEMENTS: usize = 4096;

impl Shape {
    /// Whether a value of this shape may be too large for an unoptimised build's stack: a
    /// matrix of [`LARGE_ELEMENTS`] or more, or one whose size only rustc knows. Such a graph
    /// also gets `_into` forms, and its element-wise operations are written as the runtime's
    /// `map` and `zip_map`, which fill one result in place (nalgebra's operators keep several
    /// copies of it in an unoptimised build's stack frames).
    pub fn may_be_large(&self) -> bool {
        match self {
            Shape::Scalar => false,
            Shape::Matrix {
                rows: Dim::Fixed(rows),
                cols: Dim::Fixed(cols),
            } => rows.saturating_mul(*cols) >= LARGE_ELEMENTS,
            Shape::Matrix { .. } => true,
        }
    }

    pub fn matrix(rows: Dim, cols: Dim) -> Shape {
        Shape::Matrix { rows, cols }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self, Shape::Scalar)
    }

    pub fn compatible(&self, other: &Shape) -> bool {
        match (self, other) {
            (Shape::Scalar, Shape::Scalar) => true,
            (Shape::Matrix { rows: r1, cols: c1 }, Shape::Matrix { rows: r2, cols: c2 }) => {
                r1.compatible(r2) && c1.compatible(c2)
            }
            _ => false,
        }
    }

    /// A column vector: a matrix whose number of columns is literally 1.
    pub fn is_column(&self) -> bool {
        matches!(self, Shape::Matrix { cols, .. } if cols.is_one())
    }

    /// A row vector: a matrix whose number of rows is literally 1.
    pub fn is_row(&self) -> bool {
        matches!(self, Shape::Matrix { rows, .. } if rows.is_one())
    }

    pub fn transposed(&self) -> Shape {
        match self {
            Shape::Scalar => Shape::Scalar,
            Shape::Matrix { rows, cols } => Shape::matrix(cols.clone(), rows.clone()),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Scalar => f.write_str("scalar"),
            Shape::Matrix { rows, cols } => write!(f, "{rows}×{cols}"),
        }
    }
}
