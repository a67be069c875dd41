//! Parameter and return types: which Rust types a graph accepts, and their shapes.
//!
//! Scalars are `f32` or `f64`; matrices are nalgebra's fixed-size `SMatrix<T, R, C>`,
//! `SVector<T, N>` (N×1), `RowSVector<T, N>` (1×N) and the aliases `Matrix3<T>`,
//! `Matrix2x3<T>`, `Vector4<T>`, `RowVector2<T>`. A dimension is a number or the name of one
//! of the graph's `const N: usize` parameters.

use quote::ToTokens;
use syn::{Expr, GenericArgument, Generics, Lit, PathArguments, Type};

use crate::ir::{Dim, Shape};
use crate::syntax::signature::Real;

/// The scalar type and shape of `ty`, or an error naming what is wrong with it.
pub fn classify(ty: &Type, generics: &Generics) -> syn::Result<(Real, Shape)> {
    let unsupported = || {
        syn::Error::new_spanned(
            ty,
            format!(
                "unsupported type `{}`; graphs take `f32`, `f64`, or nalgebra's `SMatrix<T, R, C>`, `SVector<T, N>`, `RowSVector<T, N>`, `Matrix3<T>`, `Vector3<T>`, …",
                ty.to_token_stream()
            ),
        )
    };
    let Type::Path(path) = ty else {
        return Err(unsupported());
    };
    let segment = match (&path.qself, path.path.segments.last()) {
        (None, Some(segment)) => segment,
        _ => return Err(unsupported()),
    };
    let name = segment.ident.to_string();
    let args: Vec<&GenericArgument> = match &segment.arguments {
        PathArguments::None => Vec::new(),
        PathArguments::AngleBracketed(args) => args.args.iter().collect(),
        PathArguments::Parenthesized(_) => return Err(unsupported()),
    };
    let real_of = |arg: Option<&&GenericArgument>| match arg {
        Some(GenericArgument::Type(element)) => scalar(element).ok_or_else(|| {
            syn::Error::new_spanned(
                element,
                format!(
                    "unsupported element type `{}`; use `f32` or `f64`",
                    element.to_token_stream()
                ),
            )
        }),
        _ => Err(unsupported()),
    };
    let dim_at = |index: usize| match args.get(index) {
        Some(arg) => dim(arg, generics),
        None => Err(unsupported()),
    };
    let expect_args = |count: usize| {
        if args.len() == count {
            Ok(())
        } else {
            Err(unsupported())
        }
    };
    if let Some(real) = scalar(ty) {
        return Ok((real, Shape::Scalar));
    }
    let shape = match name.as_str() {
        "SMatrix" => {
            expect_args(3)?;
            Shape::matrix(dim_at(1)?, dim_at(2)?)
        }
        "SVector" => {
            expect_args(2)?;
            Shape::matrix(dim_at(1)?, Dim::Fixed(1))
        }
        "RowSVector" => {
            expect_args(2)?;
            Shape::matrix(Dim::Fixed(1), dim_at(1)?)
        }
        alias => {
            expect_args(1)?;
            alias_shape(alias).ok_or_else(unsupported)?
        }
    };
    Ok((real_of(args.first())?, shape))
}

fn scalar(ty: &Type) -> Option<Real> {
    match ty {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("f32") => Some(Real::F32),
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("f64") => Some(Real::F64),
        _ => None,
    }
}

/// `Matrix3` → 3×3, `Matrix2x4` → 2×4, `Vector3` → 3×1, `RowVector3` → 1×3 (sizes 1 to 6,
/// as nalgebra defines them).
fn alias_shape(alias: &str) -> Option<Shape> {
    let size = |digits: &str| match digits.parse::<usize>() {
        Ok(n) if (1..=6).contains(&n) => Some(Dim::Fixed(n)),
        _ => None,
    };
    if let Some(rest) = alias.strip_prefix("RowVector") {
        return Some(Shape::matrix(Dim::Fixed(1), size(rest)?));
    }
    if let Some(rest) = alias.strip_prefix("Vector") {
        return Some(Shape::matrix(size(rest)?, Dim::Fixed(1)));
    }
    let rest = alias.strip_prefix("Matrix")?;
    match rest.split_once('x') {
        Some((rows, cols)) => Some(Shape::matrix(size(rows)?, size(cols)?)),
        None => {
            let n = size(rest)?;
            Some(Shape::matrix(n.clone(), n))
        }
    }
}

/// A dimension: a number, or a declared `const` generic's name.
fn dim(arg: &GenericArgument, generics: &Generics) -> syn::Result<Dim> {
    let named = |ident: &syn::Ident| {
        let declared = generics.const_params().any(|param| param.ident == *ident);
        if declared {
            Ok(Dim::Named(ident.to_string()))
        } else {
            Err(syn::Error::new(
                ident.span(),
                format!("unknown dimension `{ident}`; declare it on the graph as `const {ident}: usize`"),
            ))
        }
    };
    match arg {
        GenericArgument::Const(Expr::Lit(literal)) => match &literal.lit {
            Lit::Int(int) => int.base10_parse().map(Dim::Fixed).map_err(|_| {
                syn::Error::new_spanned(
                    int,
                    format!("dimension `{int}` is not a size (a whole number that fits `usize`)"),
                )
            }),
            other => Err(syn::Error::new_spanned(
                other,
                "a dimension must be a whole number",
            )),
        },
        // `N` in `SVector<f32, N>` parses as a type.
        GenericArgument::Type(Type::Path(path)) if path.qself.is_none() => {
            match path.path.get_ident() {
                Some(ident) => named(ident),
                None => Err(syn::Error::new_spanned(
                    path,
                    "a dimension must be a number or a const generic name",
                )),
            }
        }
        GenericArgument::Const(Expr::Path(path)) if path.path.get_ident().is_some() => {
            named(path.path.get_ident().expect("checked"))
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "dimension `{}` must be a number or a const generic name",
                other.to_token_stream()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn shape_of(ty: &str, generics: &str) -> String {
        let ty: Type = syn::parse_str(ty).unwrap();
        let generics: Generics = syn::parse_str(generics).unwrap();
        match classify(&ty, &generics) {
            Ok((real, shape)) => format!("{} {shape}", real.name()),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn nalgebra_types_have_their_shapes() {
        assert_eq!(shape_of("f64", ""), "f64 scalar");
        assert_eq!(shape_of("SMatrix<f32, 16, 2>", ""), "f32 16×2");
        assert_eq!(shape_of("nalgebra::SVector<f64, 3>", ""), "f64 3×1");
        assert_eq!(shape_of("RowSVector<f32, 32>", ""), "f32 1×32");
        assert_eq!(shape_of("Matrix3<f64>", ""), "f64 3×3");
        assert_eq!(shape_of("Matrix2x4<f32>", ""), "f32 2×4");
        assert_eq!(shape_of("Vector4<f32>", ""), "f32 4×1");
        assert_eq!(shape_of("RowVector2<f64>", ""), "f64 1×2");
    }

    #[test]
    fn const_generic_dimensions_must_be_declared() {
        assert_eq!(
            shape_of("SMatrix<f32, O, I>", "<const I: usize, const O: usize>"),
            "f32 O×I"
        );
        assert_eq!(
            shape_of("SVector<f32, K>", "<const I: usize>"),
            "error: unknown dimension `K`; declare it on the graph as `const K: usize`"
        );
    }

    #[test]
    fn other_types_are_refused_by_name() {
        assert!(shape_of("Vec<f64>", "").starts_with("error: unsupported type `Vec < f64 >`"));
        assert!(
            shape_of("SMatrix<i32, 2, 2>", "").starts_with("error: unsupported element type `i32`")
        );
        assert!(shape_of("Matrix9<f64>", "").starts_with("error: unsupported type"));
        assert!(shape_of("SVector<f64, 99999999999999999999999>", "").contains("is not a size"));
    }
}
