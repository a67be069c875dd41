//! The functions on images: `conv2d(x, w, b, C, H, W, K, stride, padding)`,
//! `max_pool2d(x, C, H, W, K)` and `avg_pool2d(x, C, H, W, K)`, PyTorch's `F.conv2d`,
//! `F.max_pool2d` and `F.avg_pool2d` on a batch of `C×H×W` images, one per column of `x`;
//! and the per-channel reductions batch normalisation needs: `channel_sums(x, C)`, each
//! channel's sum over its positions in every image (a `C×1` column), and
//! `spread_channels(v, R)`, the `C×1` column `v` repeated over each channel's positions of an
//! image of `R` rows (an `R×1` column), each the other's adjoint.
//!
//! Sizes are integers or const generic parameters. The compiler checks every size it can
//! compute, naming both shapes; a product of const generics is only rustc's to compute (stable
//! Rust has no `generic_const_exprs`), so a call over const generic sizes names its output's
//! rows in one more argument, and the runtime's kernel checks them all when it is
//! monomorphised.

use proc_macro2::Span;

use super::Lowering;
use crate::ir::{Dim, Geometry, NodeId, Op, Shape, WindowId};
use crate::syntax::ast::Expr;

/// A function on images.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImageFn {
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    ChannelSums,
    SpreadChannels,
}

/// Every function on images, by name.
pub const IMAGE_FNS: &[(&str, ImageFn)] = &[
    ("conv2d", ImageFn::Conv2d),
    ("max_pool2d", ImageFn::MaxPool2d),
    ("avg_pool2d", ImageFn::AvgPool2d),
    ("channel_sums", ImageFn::ChannelSums),
    ("spread_channels", ImageFn::SpreadChannels),
];

pub fn lookup(name: &str) -> Option<ImageFn> {
    IMAGE_FNS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, function)| *function)
}

impl ImageFn {
    /// A reduction or spread per channel, without a window.
    fn is_per_channel(self) -> bool {
        matches!(self, ImageFn::ChannelSums | ImageFn::SpreadChannels)
    }

    /// The matrix arguments, then the names of the sizes (one more, the output's rows, may
    /// follow).
    fn arguments(self) -> (usize, &'static [&'static str]) {
        match self {
            ImageFn::Conv2d => (3, &["C", "H", "W", "K", "stride", "padding"]),
            ImageFn::MaxPool2d | ImageFn::AvgPool2d => (1, &["C", "H", "W", "K"]),
            ImageFn::ChannelSums => (1, &["C"]),
            ImageFn::SpreadChannels => (1, &["R"]),
        }
    }
}

/// The product of `dims`, if they are all numbers.
fn product(dims: &[&Dim]) -> Option<usize> {
    dims.iter().try_fold(1usize, |total, dim| match dim {
        Dim::Fixed(n) => total.checked_mul(*n),
        Dim::Named(_) => None,
    })
}

fn rows_cols(shape: &Shape) -> Option<(Dim, Dim)> {
    match shape {
        Shape::Matrix { rows, cols } => Some((rows.clone(), cols.clone())),
        Shape::Scalar => None,
    }
}

/// `computed` when known, else `declared`; an error if both are known and differ.
fn agree(computed: Option<usize>, declared: &Dim, what: &str) -> Result<Dim, String> {
    match (computed, declared) {
        (Some(n), Dim::Fixed(m)) if n != *m => Err(format!("{what}: {n}, found {m}")),
        (Some(n), _) => Ok(Dim::Fixed(n)),
        (None, declared) => Ok(declared.clone()),
    }
}

impl Lowering {
    pub(super) fn image_call(
        &mut self,
        function: ImageFn,
        func: &proc_macro2::Ident,
        args_span: Span,
        args: &[Expr],
    ) -> Option<NodeId> {
        let name = func.to_string();
        if !self.image_arity_fits(function, &name, args_span, args.len()) {
            return None;
        }
        let (matrices, _) = function.arguments();
        let lowered: Vec<Option<NodeId>> =
            args[..matrices].iter().map(|arg| self.expr(arg)).collect();
        let dims: Vec<Option<Dim>> = args[matrices..]
            .iter()
            .map(|arg| self.size(arg, &name))
            .collect();
        let operands: Vec<NodeId> = lowered.into_iter().collect::<Option<_>>()?;
        let dims: Vec<Dim> = dims.into_iter().collect::<Option<_>>()?;
        let geometry = if function.is_per_channel() {
            self.channel_geometry(function, &name, operands[0], &dims[0])
        } else {
            self.geometry(function, &name, &operands, &dims)
        };
        let geometry = match geometry {
            Ok(geometry) => geometry,
            Err(message) => {
                self.errors.push(syn::Error::new(func.span(), message));
                return None;
            }
        };
        let window = WindowId::intern(geometry);
        let first = self.graph.len();
        let result = self.push_image_op(function, &operands, window, func.span());
        self.internal
            .extend(self.graph.ids().skip(first).filter(|id| *id != result));
        self.calls.push((name, operands, first..result.index()));
        Some(result)
    }

    /// Whether `name` has as many arguments as its matrices and sizes (and, for the functions
    /// with a window, optionally its output's rows); records the error if not.
    fn image_arity_fits(
        &mut self,
        function: ImageFn,
        name: &str,
        args_span: Span,
        found: usize,
    ) -> bool {
        let (matrices, sizes) = function.arguments();
        // Only the functions with a window may name their output's rows after their sizes.
        let optional = usize::from(!function.is_per_channel());
        if found >= matrices + sizes.len() && found <= matrices + sizes.len() + optional {
            return true;
        }
        let mut all: Vec<&str> = ["x", "w", "b"][..matrices].to_vec();
        all.extend(sizes);
        let rows = match optional {
            1 => ", and the output's rows after them over const generic sizes",
            _ => "",
        };
        self.errors.push(syn::Error::new(
            args_span,
            format!(
                "`{name}` takes {} arguments, `{name}({})`{rows}; found {found}",
                matrices + sizes.len(),
                all.join(", "),
            ),
        ));
        false
    }

    /// The nodes of one call of `function` on `operands`; the last is its result.
    fn push_image_op(
        &mut self,
        function: ImageFn,
        operands: &[NodeId],
        window: WindowId,
        span: Span,
    ) -> NodeId {
        match function {
            ImageFn::Conv2d => {
                let conv = self
                    .graph
                    .push_op(Op::Conv2d(operands[0], operands[1], window), span);
                let shape = self.shape(conv).clone();
                let bias =
                    self.graph
                        .push_shaped(Op::SpreadChannels(operands[2], window), span, shape);
                self.graph.push_op(Op::Add(conv, bias), span)
            }
            ImageFn::MaxPool2d => {
                let x = operands[0];
                self.graph.push_op(Op::MaxPool2d(x, x, window), span)
            }
            ImageFn::AvgPool2d => self.graph.push_op(Op::AvgPool2d(operands[0], window), span),
            ImageFn::ChannelSums => self
                .graph
                .push_op(Op::ChannelSums(operands[0], window), span),
            ImageFn::SpreadChannels => {
                let rows = window.geometry().output_rows.clone();
                let shape = Shape::matrix(rows, Dim::Fixed(1));
                self.graph
                    .push_shaped(Op::SpreadChannels(operands[0], window), span, shape)
            }
        }
    }

    /// The geometry of `channel_sums(x, C)` or `spread_channels(v, R)`: `C` channels of `R`
    /// rows, a 1×1 window, checking that `R` is a multiple of `C` when both are numbers.
    fn channel_geometry(
        &self,
        function: ImageFn,
        name: &str,
        operand: NodeId,
        size: &Dim,
    ) -> Result<Geometry, String> {
        let shape = self.shape(operand);
        let (rows, cols) =
            rows_cols(shape).ok_or_else(|| format!("`{name}` needs a matrix, found `{shape}`"))?;
        let (channels, image_rows) = match function {
            ImageFn::ChannelSums => (size.clone(), rows),
            _ if cols != Dim::Fixed(1) => {
                return Err(format!(
                    "`{name}` needs a column of one value per channel, found `{shape}`"
                ))
            }
            _ => (rows, size.clone()),
        };
        if let (Dim::Fixed(c), Dim::Fixed(r)) = (&channels, &image_rows) {
            if *c == 0 || r % c != 0 {
                return Err(format!(
                    "`{name}`: an image of {r} rows does not split into {c} channels"
                ));
            }
        }
        let one = Dim::Fixed(1);
        Ok(Geometry {
            channels: channels.clone(),
            height: one.clone(),
            width: one.clone(),
            kernel: one.clone(),
            stride: one.clone(),
            padding: Dim::Fixed(0),
            out_channels: channels,
            weight_cols: one,
            input_rows: image_rows.clone(),
            output_rows: image_rows,
        })
    }

    /// A size: an integer, or the name of a const generic parameter.
    fn size(&mut self, arg: &Expr, function: &str) -> Option<Dim> {
        let error = |span: Span, what: String| {
            syn::Error::new(
                span,
                format!("`{function}` takes its sizes as integers or const generic parameters, found {what}"),
            )
        };
        let error = match arg {
            Expr::Number { value, .. } if value.fract() == 0.0 && *value >= 0.0 => {
                return Some(Dim::Fixed(*value as usize));
            }
            Expr::Name(name) if !self.scope.contains_key(&name.to_string()) => {
                return Some(Dim::Named(name.to_string()));
            }
            Expr::Number { value, span } => error(*span, format!("`{value}`")),
            Expr::Name(name) => error(name.span(), format!("`{name}`, a value of the graph")),
            other => error(expression_span(other), format!("`{other}`")),
        };
        self.errors.push(error);
        None
    }

    /// The geometry of a call, checking every size it can compute against the operands'.
    fn geometry(
        &self,
        function: ImageFn,
        name: &str,
        operands: &[NodeId],
        dims: &[Dim],
    ) -> Result<Geometry, String> {
        let image = format!("{}×{}×{}", dims[0], dims[1], dims[2]);
        let x_shape = self.shape(operands[0]);
        let (x_rows, _) = rows_cols(x_shape).ok_or_else(|| {
            format!("`{name}` needs a batch of images, one per column, found `{x_shape}`")
        })?;
        let input_rows = agree(
            product(&[&dims[0], &dims[1], &dims[2]]),
            &x_rows,
            &format!("`{name}` over {image} images needs an input of C·H·W rows, one image per column, found `{x_shape}`; C·H·W"),
        )?;
        let (stride, padding, out_channels, weight_cols) = match function {
            ImageFn::Conv2d => self.conv_weight(name, operands, dims)?,
            // PyTorch's default stride for pooling is the window's side.
            _ => (
                dims[3].clone(),
                Dim::Fixed(0),
                dims[0].clone(),
                Dim::Fixed(1),
            ),
        };
        let mut geometry = Geometry {
            channels: dims[0].clone(),
            height: dims[1].clone(),
            width: dims[2].clone(),
            kernel: dims[3].clone(),
            stride,
            padding,
            out_channels,
            weight_cols,
            input_rows,
            output_rows: Dim::Fixed(0),
        };
        let declared = dims.get(function.arguments().1.len());
        geometry.output_rows = output_rows(&geometry, declared, name)?;
        Ok(geometry)
    }

    /// A convolution's stride, padding, output channels and weight columns, checking the
    /// weight's and the bias's shapes.
    fn conv_weight(
        &self,
        name: &str,
        operands: &[NodeId],
        dims: &[Dim],
    ) -> Result<(Dim, Dim, Dim, Dim), String> {
        let (w_shape, b_shape) = (self.shape(operands[1]), self.shape(operands[2]));
        let (out_channels, w_cols) = rows_cols(w_shape).ok_or_else(|| {
            format!("`{name}` needs a weight matrix `C_out×C·K·K`, found `{w_shape}`")
        })?;
        let weight_cols = agree(
            product(&[&dims[0], &dims[3], &dims[3]]),
            &w_cols,
            &format!("`{name}` with {} channels and a {}×{} kernel needs a weight of C·K·K columns, found `{w_shape}`; C·K·K", dims[0], dims[3], dims[3]),
        )?;
        let bias = Shape::matrix(out_channels.clone(), Dim::Fixed(1));
        if !b_shape.compatible(&bias) {
            return Err(format!(
                "`{name}` needs a bias of one element per output channel of the weight `{w_shape}`, `{bias}`, found `{b_shape}`"
            ));
        }
        Ok((dims[4].clone(), dims[5].clone(), out_channels, weight_cols))
    }
}

/// `C_out·H_out·W_out`, computed when every size is a number, else the last argument.
fn output_rows(geometry: &Geometry, declared: Option<&Dim>, name: &str) -> Result<Dim, String> {
    let numbers = product(&[
        &geometry.height,
        &geometry.width,
        &geometry.kernel,
        &geometry.stride,
        &geometry.padding,
    ])
    .is_some();
    let computed = match geometry.out_size() {
        Some((height, width)) => product(&[&geometry.out_channels]).map(|c| c * height * width),
        None if numbers => {
            return Err(format!(
                "`{name}`'s window, {}×{} with padding {}, is larger than its {}×{} image, or its stride is 0",
                geometry.kernel, geometry.kernel, geometry.padding, geometry.height, geometry.width
            ))
        }
        None => None,
    };
    match (computed, declared) {
        (Some(n), Some(Dim::Fixed(m))) if n != *m => Err(format!(
            "`{name}`'s output has {n} rows (C_out·H_out·W_out), not {m}"
        )),
        (Some(n), _) => Ok(Dim::Fixed(n)),
        (None, Some(declared)) => Ok(declared.clone()),
        (None, None) => Err(format!(
            "`{name}` over const generic sizes needs its output's rows (C_out·H_out·W_out) as a last argument: stable Rust cannot multiply const generics"
        )),
    }
}

/// Where an expression starts, for an error about all of it.
fn expression_span(expr: &Expr) -> Span {
    match expr {
        Expr::Number { span, .. } | Expr::Neg { span, .. } | Expr::Binary { span, .. } => *span,
        Expr::Name(name) => name.span(),
        Expr::Call { func, .. } => func.span(),
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::lower_str;

    /// The shape of the first node of `src` whose operation `matches`.
    fn shape_of(src: &str, matches: fn(&Op) -> bool) -> String {
        let lowered = lower_str(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        let graph = &lowered.graph;
        let node = graph
            .ids()
            .map(|id| graph.node(id))
            .find(|node| matches(&node.op));
        node.map(|node| node.shape.to_string()).unwrap_or_default()
    }

    fn error(src: &str) -> String {
        match lower_str(src) {
            Ok(_) => panic!("{src} lowered"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn channel_sums_gives_one_sum_per_channel_and_spread_one_image_column() {
        let sums = "|x: SMatrix<f64, 12, 5>| sum(channel_sums(x, 3))";
        assert_eq!(
            shape_of(sums, |op| matches!(op, Op::ChannelSums(..))),
            "3×1"
        );
        let spread = "|v: SVector<f64, 3>| sum(spread_channels(v, 12))";
        assert_eq!(
            shape_of(spread, |op| matches!(op, Op::SpreadChannels(..))),
            "12×1"
        );
    }

    #[test]
    fn channels_that_do_not_split_the_image_are_an_error() {
        let message = error("|x: SMatrix<f64, 10, 5>| sum(channel_sums(x, 3))");
        assert!(
            message.contains("10 rows does not split into 3 channels"),
            "{message}"
        );
        let message = error("|v: SMatrix<f64, 3, 2>| sum(spread_channels(v, 12))");
        assert!(
            message.contains("a column of one value per channel"),
            "{message}"
        );
        let message = error("|x: SMatrix<f64, 12, 5>| sum(channel_sums(x, 3, 12))");
        assert!(
            message.contains("takes 2 arguments, `channel_sums(x, C)`; found 3"),
            "{message}"
        );
    }
}
