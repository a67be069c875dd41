//! The signature of a graph: its scalar type, each parameter's shape and the output's,
//! checked before anything else so that an erroneous body still gets a stub with the right
//! signatures.

use std::collections::HashMap;

use proc_macro2::Ident;
use quote::ToTokens;
use syn::{Generics, Type};

use crate::ir::Shape;
use crate::syntax::ast::{Form, GraphDef};
use crate::syntax::types::classify;

/// The scalar type a graph computes in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Real {
    F32,
    F64,
}

impl Real {
    pub fn name(self) -> &'static str {
        match self {
            Real::F32 => "f32",
            Real::F64 => "f64",
        }
    }
}

/// Accumulates errors, as serde's `Ctxt` does: report everything, then stop.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// A checked signature: the scalar type, each parameter's shape, and the declared output's.
pub struct Signature {
    pub real: Real,
    pub params: Vec<Shape>,
    /// `None` for closure graphs, whose output must be a scalar.
    pub output: Option<Shape>,
}

/// The graph's const generics (none for closure graphs).
pub fn generics(def: &GraphDef) -> Generics {
    match &def.form {
        Form::Item { generics, .. } => generics.clone(),
        Form::Closure { .. } => Generics::default(),
    }
}

/// Checks the parameters and the return type.
pub fn check_signature(def: &GraphDef) -> syn::Result<Signature> {
    let mut errors = Errors::default();
    let generics = generics(def);
    for param in generics.params.iter() {
        let ok = matches!(param, syn::GenericParam::Const(c) if c.ty.to_token_stream().to_string() == "usize");
        if !ok {
            errors.push(syn::Error::new_spanned(
                param,
                "only `const N: usize` generic parameters (matrix dimensions) are supported",
            ));
        }
    }
    let mut real: Option<(Real, &Type)> = None;
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    let mut params = Vec::new();
    for param in &def.params {
        if seen.insert(param.name.to_string(), &param.name).is_some() {
            errors.push(syn::Error::new(
                param.name.span(),
                format!("duplicate parameter `{}`", param.name),
            ));
        }
        match classify(&param.ty, &generics) {
            Err(error) => {
                errors.push(error);
                params.push(Shape::Scalar);
            }
            Ok((this, shape)) => {
                params.push(shape);
                match real {
                    Some((first, first_ty)) if this != first => errors.push(syn::Error::new_spanned(
                        &param.ty,
                        format!(
                            "parameter `{}` is `{}` but an earlier one is `{}`; a graph computes in one scalar type",
                            param.name,
                            this.name(),
                            first_ty.to_token_stream()
                        ),
                    )),
                    Some(_) => {}
                    None => real = Some((this, &param.ty)),
                }
            }
        }
    }
    let real = real.map_or(Real::F64, |(real, _)| real);
    let mut output = None;
    if let Form::Item {
        output: ty, name, ..
    } = &def.form
    {
        match classify(ty, &generics) {
            Ok((out, shape)) if out == real => output = Some(shape),
            Ok((out, _)) => errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "graph `{name}` returns `{}` but computes in `{}`",
                    out.name(),
                    real.name()
                ),
            )),
            Err(error) => errors.push(error),
        }
    }
    errors.finish(Signature {
        real,
        params,
        output,
    })
}
