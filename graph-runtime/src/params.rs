//! [`Parameters`]: the one trait optimizers, initialisers and file formats walk.
//!
//! A model, a layer, a single matrix or scalar, and the `Grad` struct of every `graph!` are
//! all `Parameters`: a fixed sequence of tensors. An optimizer steps any of them; a
//! safetensors file stores any of them under PyTorch's `state_dict` names.
//!
//! **Order.** Tensors are visited in declaration order: a struct's fields as written (a
//! `Linear` visits `weight`, then `bias`), a `Sequential`'s layers by position. Inside a
//! tensor, elements come in nalgebra's storage order, column-major. Every visit of a given
//! type sees the same tensors in the same order, so optimizer state kept as flat buffers lines
//! up with the parameters it belongs to.

use nalgebra::SMatrix;

use crate::Real;

/// A read-only view of one parameter tensor, for file formats.
#[derive(Clone, Copy, Debug)]
pub struct TensorRef<'a, T> {
    /// The tensor's shape as PyTorch sees it: `[]` for a scalar, `[n]` for a column vector
    /// (a bias), `[rows, cols]` for a matrix (a weight, `out × in`).
    pub shape: &'a [usize],
    /// The elements in nalgebra's column-major order.
    pub data: &'a [T],
    /// Whether the tensor holds whole numbers that files store as `I64`, as PyTorch stores
    /// `num_batches_tracked`; `false` for every parameter.
    pub integer: bool,
}

/// A mutable view of one parameter tensor, for file formats and initialisers.
#[derive(Debug)]
pub struct TensorMut<'a, T> {
    /// As in [`TensorRef::shape`].
    pub shape: &'a [usize],
    /// The elements in nalgebra's column-major order.
    pub data: &'a mut [T],
    /// As in [`TensorRef::integer`].
    pub integer: bool,
}

/// The full name of `field` inside `prefix`: `"weight"` at the top, `"0.weight"` inside layer 0.
///
/// ```
/// use chainrule::params::key;
/// assert_eq!(key("", "weight"), "weight");
/// assert_eq!(key("2", "bias"), "2.bias");
/// assert_eq!(key("2", ""), "2");
/// ```
pub fn key(prefix: &str, field: &str) -> String {
    // A raw identifier's name, as `stringify!` spells it in `impl_parameters!`.
    let field = field.strip_prefix("r#").unwrap_or(field);
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// A fixed sequence of tensors of scalars `T`: what an optimizer steps.
///
/// Implemented for `f32`, `f64`, every `SMatrix`, every layer and `Sequential`, and every
/// `graph!`'s `Grad` struct. Implement it for a struct of your own by visiting each field in
/// order (see the module docs for the order):
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::params::{key, Parameters, TensorMut, TensorRef};
///
/// struct Affine { scale: f64, shift: SVector<f64, 3> }
///
/// impl Parameters<f64> for Affine {
///     fn visit(&self, f: &mut dyn FnMut(&[f64])) {
///         self.scale.visit(f);
///         self.shift.visit(f);
///     }
///     fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [f64])) {
///         self.scale.visit_mut(f);
///         self.shift.visit_mut(f);
///     }
///     fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [f64], &[f64])) {
///         self.scale.zip_mut(&other.scale, f);
///         self.shift.zip_mut(&other.shift, f);
///     }
///     fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, f64>)) {
///         self.scale.visit_named(&key(prefix, "scale"), f);
///         self.shift.visit_named(&key(prefix, "shift"), f);
///     }
///     fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, f64>)) {
///         self.scale.visit_named_mut(&key(prefix, "scale"), f);
///         self.shift.visit_named_mut(&key(prefix, "shift"), f);
///     }
/// }
///
/// let mut a = Affine { scale: 2.0, shift: SVector::repeat(1.0) };
/// assert_eq!(a.len(), 4);
/// a.scale_by(0.5);
/// assert_eq!((a.scale, a.shift[0]), (1.0, 0.5));
/// ```
pub trait Parameters<T: Real> {
    /// Calls `f` with each tensor's elements, in order.
    fn visit(&self, f: &mut dyn FnMut(&[T]));

    /// Calls `f` with each tensor's elements, mutably, in order.
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T]));

    /// Walks `self` and `other` (of the same type, so with the same tensors) together.
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T]));

    /// Calls `f` with each tensor's full name (`prefix` joined to the field's, as in [`key`])
    /// and a view of it. File formats use this; it allocates the names.
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>));

    /// As [`visit_named`](Parameters::visit_named), mutably.
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>));

    /// The number of scalars in all tensors.
    fn len(&self) -> usize {
        let mut total = 0;
        self.visit(&mut |tensor| total += tensor.len());
        total
    }

    /// Whether there are no scalars at all (a parameterless layer).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets every element to zero.
    fn zero(&mut self) {
        self.visit_mut(&mut |tensor| tensor.fill(T::ZERO));
    }

    /// Multiplies every element by `factor`.
    fn scale_by(&mut self, factor: T) {
        self.visit_mut(&mut |tensor| tensor.iter_mut().for_each(|x| *x *= factor));
    }

    /// `self += other`, element by element.
    fn add(&mut self, other: &Self) {
        self.add_scaled(T::ONE, other);
    }

    /// `self += factor · other`, element by element.
    fn add_scaled(&mut self, factor: T, other: &Self) {
        self.zip_mut(other, &mut |mine, theirs| {
            for (x, y) in mine.iter_mut().zip(theirs) {
                *x += factor * *y;
            }
        });
    }

    /// Copies every element of `other` into `self`.
    fn copy_from(&mut self, other: &Self) {
        self.zip_mut(other, &mut |mine, theirs| mine.copy_from_slice(theirs));
    }

    /// Whether every element is finite (no NaN, no infinity).
    fn all_finite(&self) -> bool {
        let mut finite = true;
        self.visit(&mut |tensor| finite &= tensor.iter().all(|x| x.is_finite()));
        finite
    }
}

/// Implements [`Parameters`] for a struct by visiting the listed fields in order, each named
/// after its field. Generated `Grad` structs and the runtime's layers use it.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::{impl_parameters, Parameters, Real};
///
/// struct Bilinear<T: Real, const N: usize> { left: SMatrix<T, N, N>, right: SMatrix<T, N, N> }
/// impl_parameters!([T: Real, const N: usize] Bilinear<T, N>, T, [left, right]);
///
/// let b = Bilinear::<f32, 3> { left: SMatrix::zeros(), right: SMatrix::zeros() };
/// let mut names = Vec::new();
/// b.visit_named("bilinear", &mut |name, _| names.push(name.to_string()));
/// assert_eq!(names, ["bilinear.left", "bilinear.right"]);
/// ```
#[macro_export]
macro_rules! impl_parameters {
    ([$($generics:tt)*] $ty:ty, $scalar:ty, [$($field:ident),* $(,)?]) => {
        #[allow(unused_variables)]
        impl<$($generics)*> $crate::Parameters<$scalar> for $ty {
            fn visit(&self, f: &mut dyn ::core::ops::FnMut(&[$scalar])) {
                $( $crate::Parameters::<$scalar>::visit(&self.$field, f); )*
            }
            fn visit_mut(&mut self, f: &mut dyn ::core::ops::FnMut(&mut [$scalar])) {
                $( $crate::Parameters::<$scalar>::visit_mut(&mut self.$field, f); )*
            }
            fn zip_mut(
                &mut self,
                other: &Self,
                f: &mut dyn ::core::ops::FnMut(&mut [$scalar], &[$scalar]),
            ) {
                $( $crate::Parameters::<$scalar>::zip_mut(&mut self.$field, &other.$field, f); )*
            }
            fn visit_named(
                &self,
                prefix: &str,
                f: &mut dyn ::core::ops::FnMut(&str, $crate::params::TensorRef<'_, $scalar>),
            ) {
                $(
                    let name = $crate::params::key(prefix, ::core::stringify!($field));
                    $crate::Parameters::<$scalar>::visit_named(&self.$field, &name, f);
                )*
            }
            fn visit_named_mut(
                &mut self,
                prefix: &str,
                f: &mut dyn ::core::ops::FnMut(&str, $crate::params::TensorMut<'_, $scalar>),
            ) {
                $(
                    let name = $crate::params::key(prefix, ::core::stringify!($field));
                    $crate::Parameters::<$scalar>::visit_named_mut(&mut self.$field, &name, f);
                )*
            }
        }
    };
}

macro_rules! impl_scalar_parameters {
    ($($t:ty),*) => {$(
        /// A scalar is one tensor of shape `[]`.
        impl Parameters<$t> for $t {
            fn visit(&self, f: &mut dyn FnMut(&[$t])) {
                f(std::slice::from_ref(self));
            }
            fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [$t])) {
                f(std::slice::from_mut(self));
            }
            fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [$t], &[$t])) {
                f(std::slice::from_mut(self), std::slice::from_ref(other));
            }
            fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, $t>)) {
                f(prefix, TensorRef { shape: &[], data: std::slice::from_ref(self), integer: false });
            }
            fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, $t>)) {
                f(prefix, TensorMut { shape: &[], data: std::slice::from_mut(self), integer: false });
            }
        }
    )*};
}
impl_scalar_parameters!(f32, f64);

/// A box holds the same tensors, under the same names, as what it holds: a model kept on the
/// heap saves, loads and steps as the model itself.
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::Parameters;
///
/// let boxed = Box::new(SVector::<f64, 3>::new(1.0, 2.0, 3.0));
/// let mut names = Vec::new();
/// boxed.visit_named("bias", &mut |name, tensor| names.push((name.to_string(), tensor.shape.to_vec())));
/// assert_eq!(names, [("bias".to_string(), vec![3])]);
/// assert_eq!(boxed.len(), 3);
/// ```
impl<T: Real, P: Parameters<T> + ?Sized> Parameters<T> for Box<P> {
    fn visit(&self, f: &mut dyn FnMut(&[T])) {
        (**self).visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
        (**self).visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
        (**self).zip_mut(other, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
        (**self).visit_named(prefix, f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        (**self).visit_named_mut(prefix, f);
    }
}

/// A matrix is one tensor, `[R, C]`; a column vector (`C == 1`) is `[R]`, as a bias is in
/// PyTorch.
impl<T: Real, const R: usize, const C: usize> Parameters<T> for SMatrix<T, R, C> {
    fn visit(&self, f: &mut dyn FnMut(&[T])) {
        f(self.as_slice());
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
        f(self.as_mut_slice());
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
        f(self.as_mut_slice(), other.as_slice());
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
        f(
            prefix,
            TensorRef {
                shape: torch_shape::<R, C>(),
                data: self.as_slice(),
                integer: false,
            },
        );
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        f(
            prefix,
            TensorMut {
                shape: torch_shape::<R, C>(),
                data: self.as_mut_slice(),
                integer: false,
            },
        );
    }
}

/// PyTorch's shape of an `R×C` nalgebra matrix: `[R]` for a column vector, else `[R, C]`.
fn torch_shape<const R: usize, const C: usize>() -> &'static [usize] {
    if C == 1 {
        &Dims::<R, C>::VECTOR
    } else {
        &Dims::<R, C>::MATRIX
    }
}

/// The dimensions of an `R×C` matrix, as `'static` slices.
struct Dims<const R: usize, const C: usize>;

impl<const R: usize, const C: usize> Dims<R, C> {
    const VECTOR: [usize; 1] = [R];
    const MATRIX: [usize; 2] = [R, C];
}

/// Visits `matrix` as a two-dimensional tensor `[R, C]` even when `C` is 1: a layer's weight
/// (`nn.Linear(1, O)` has an `[O, 1]` weight), where [`SMatrix`]'s own impl would say `[R]`.
pub fn visit_matrix<T: Real, const R: usize, const C: usize>(
    matrix: &SMatrix<T, R, C>,
    name: &str,
    f: &mut dyn FnMut(&str, TensorRef<'_, T>),
) {
    let shape = &Dims::<R, C>::MATRIX;
    f(
        name,
        TensorRef {
            shape,
            data: matrix.as_slice(),
            integer: false,
        },
    );
}

/// As [`visit_matrix`], mutably.
pub fn visit_matrix_mut<T: Real, const R: usize, const C: usize>(
    matrix: &mut SMatrix<T, R, C>,
    name: &str,
    f: &mut dyn FnMut(&str, TensorMut<'_, T>),
) {
    let shape = &Dims::<R, C>::MATRIX;
    f(
        name,
        TensorMut {
            shape,
            data: matrix.as_mut_slice(),
            integer: false,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{SMatrix, SVector};

    #[test]
    fn a_matrix_is_one_tensor_in_column_major_order() {
        let m = SMatrix::<f64, 2, 3>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut seen = Vec::new();
        m.visit_named("w", &mut |name, tensor| {
            seen.push((
                name.to_string(),
                tensor.shape.to_vec(),
                tensor.data.to_vec(),
            ))
        });
        assert_eq!(
            seen,
            vec![(
                "w".to_string(),
                vec![2, 3],
                vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
            )]
        );
    }

    #[test]
    fn a_column_vector_is_one_dimensional_and_a_scalar_has_no_dimensions() {
        let mut shapes = Vec::new();
        SVector::<f32, 4>::zeros().visit_named("", &mut |_, t| shapes.push(t.shape.to_vec()));
        2.0_f32.visit_named("", &mut |_, t| shapes.push(t.shape.to_vec()));
        assert_eq!(shapes, vec![vec![4], vec![]]);
    }

    #[test]
    fn provided_methods_act_on_every_element() {
        let mut a = SVector::<f64, 3>::new(1.0, 2.0, 3.0);
        let b = SVector::<f64, 3>::new(10.0, 20.0, 30.0);
        a.add_scaled(0.5, &b);
        assert_eq!(a, SVector::<f64, 3>::new(6.0, 12.0, 18.0));
        a.scale_by(2.0);
        assert_eq!(a, SVector::<f64, 3>::new(12.0, 24.0, 36.0));
        assert!(a.all_finite());
        a[1] = f64::NAN;
        assert!(!a.all_finite());
        a.zero();
        assert_eq!(a, SVector::<f64, 3>::zeros());
        assert_eq!(a.len(), 3);
    }
}
