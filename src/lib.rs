//! # chainrule
//!
//! Compile-time reverse-mode differentiation. Math written inside [`graph!`] becomes plain
//! Rust: a forward pass with one named intermediate per node, and a backward pass built by the
//! chain rule, node by node. No tape, no allocation, no run-time graph.
//!
//! ```
//! use chainrule::graph;
//!
//! graph! {
//!     /// The lecture's computational graph.
//!     pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
//!         tanh(ln(1 + z*2x/sin(y)))
//!     }
//! }
//!
//! let (value, grad) = lecture::value_and_grad(0.3, 1.1, 0.7);
//! assert!((value - 0.3680161336434).abs() < 1e-12);
//! assert!((grad.x - 0.9231108766).abs() < 1e-9);
//! ```
//!
//! See the README for the language, and `cargo expand` for the code a graph becomes.

/// Compiles math into plain Rust for its value and its reverse-mode gradient.
///
/// Two forms:
///
/// - A function, which becomes a module with `forward`, `backward` (the vector-Jacobian
///   product), `value_and_grad` and a `Grad` struct with one field per parameter that is not
///   `#[no_grad]`:
///
/// ```
/// chainrule::graph! {
///     /// A neuron's squared error; `x` and `y` are data, not parameters.
///     fn neuron_loss(w: f64, b: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
///         let prediction = tanh(w*x + b);
///         (y - prediction)^2
///     }
/// }
/// let (loss, grad) = neuron_loss::value_and_grad(0.4, -0.1, 1.5, 0.5);
/// assert!(loss > 0.0);
/// assert_eq!(neuron_loss::backward(0.4, -0.1, 1.5, 0.5, 2.0).w, 2.0 * grad.w);
/// ```
///
///   The module also checks its gradient against central differences (a test helper), counts
///   its operations, and with `#[dot]` draws itself in Graphviz's DOT language:
///
/// ```
/// chainrule::graph! {
///     #[dot]
///     fn cube(x: f64) -> f64 { let y = x^3; y }
/// }
/// cube::check_gradient(1.5).unwrap();
/// assert!(cube::BACKWARD_OPS <= 4 * cube::FORWARD_OPS);
/// assert!(cube::DOT.contains(r#""x" -> "y";"#));
/// assert!(cube::dot(2.0).contains("value 8\\ngrad 1")); // y = 8, ∂y/∂y = 1
/// ```
///
/// - A closure, which becomes a value with `.forward(..)` and `.value_and_grad(..)`, the
///   gradient an array in parameter order:
///
/// ```
/// let f = chainrule::graph!(|x: f64, y: f64| x * sin(y));
/// let (value, [dx, dy]) = f.value_and_grad(2.0, 0.0);
/// assert_eq!((value, dx, dy), (0.0, 0.0, 2.0));
/// ```
///
/// Grammar: numbers (`2`, `2.5`, `1e-3`; `2x` is 2·x and `2x^2` is 2·x²), `+ - * /`, `^`
/// (right-associative, tighter than unary minus), parentheses, names of parameters and earlier
/// `let`s, and the functions `sin cos tan exp ln log sqrt tanh sigmoid relu abs softplus atan
/// asin acos sinh cosh asinh erf gelu silu log1p expm1 log2 log10 exp2 cbrt square cube
/// stop_gradient`, `pow(a, b)`, `max(a, b)`, `min(a, b)`, `atan2(y, x)`, `hypot(a, b)`,
/// `clamp(x, lo, hi)`, `leaky_relu(x, slope)`, `elu(x)` and `elu(x, alpha)` (α = 1 unless
/// given). `stop_gradient(e)` is `e`'s value with no gradient through it.
///
/// `#[hessian]` before a `fn` graph adds `hvp(.., v: Grad) -> Grad`, the Hessian-vector
/// product (for a matrix output it takes `d_out` before `v`), and, when the output and every
/// parameter that is not `#[no_grad]` are scalars, `hessian(..) -> SMatrix<T, N, N>`, exactly
/// symmetric:
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// chainrule::graph! {
///     #[hessian]
///     pub fn rosenbrock(x: f64, y: f64) -> f64 { (1 - x)^2 + 100*(y - x^2)^2 }
/// }
/// let h: SMatrix<f64, 2, 2> = rosenbrock::hessian(-1.2, 1.0);
/// assert_eq!(h, SMatrix::<f64, 2, 2>::new(1330.0, 480.0, 480.0, 200.0));
/// let hv: rosenbrock::Grad = rosenbrock::hvp(-1.2, 1.0, rosenbrock::Grad { x: 1.0, y: 0.0 });
/// assert_eq!((hv.x, hv.y), (h[(0, 0)], h[(1, 0)]));
/// ```
///
/// `#[primitive(name = Type)]` lets a graph call a function of yours, `Type` implementing
/// [`Primitive`] (and [`SecondDerivative`] for `#[hessian]`). A `fn` graph finds `Type` from
/// the module the `graph!` is in (so not inside a function body); a closure graph, anywhere:
///
/// ```
/// use chainrule::{graph, Primitive};
///
/// /// A custom activation: x·tanh(softplus(x)) ("mish"), its derivative from the value.
/// pub struct Mish;
///
/// impl Primitive<f64> for Mish {
///     fn value(x: f64) -> f64 {
///         x * chainrule::runtime::softplus(x).tanh()
///     }
///     fn derivative(x: f64, y: f64) -> f64 {
///         let t = chainrule::runtime::softplus(x).tanh();
///         t + x * (1.0 - t * t) * chainrule::runtime::sigmoid(x)
///     }
/// }
///
/// graph! {
///     #[primitive(mish = Mish)]
///     fn neuron(w: f64, b: f64, #[no_grad] x: f64) -> f64 {
///         mish(w * x + b)
///     }
/// }
///
/// fn main() {
///     let (value, grad) = neuron::value_and_grad(0.5, 0.1, 2.0);
///     assert_eq!(value, Mish::value(1.1));
///     assert_eq!(grad.b, Mish::derivative(1.1, value));
/// }
/// ```
///
/// On nalgebra matrices: `*` is the matrix product (or a scalar times anything), `+ - /` are
/// element-wise with a scalar on either side applying to every element, and `+ -` repeat a
/// column vector over the columns of a matrix with as many rows (`w * x + b` on a batch
/// `x: SMatrix<T, I, B>`, one sample per column). Over all elements: `hadamard transpose sum
/// mean dot norm_squared softmax log_softmax logsumexp mse cross_entropy
/// binary_cross_entropy`. Per column of a batch: `softmax_columns log_softmax_columns
/// logsumexp_columns column_sums column_means`, per row `row_sums row_means`, and
/// `batch_cross_entropy(logits, target)`, the mean over the columns of each column's
/// `cross_entropy`. On a batch of `C×H×W` images, one per column in PyTorch's `(C, H, W)`
/// order: `conv2d(x, w, b, C, H, W, K, stride, padding)` (`w` is `C_out×C·K·K`, PyTorch's
/// `[C_out, C, K, K]` flattened row by row, and `b` is `C_out×1`), `max_pool2d(x, C, H, W, K)`
/// and `avg_pool2d(x, C, H, W, K)` (stride `K`). Sizes are integers or const generic
/// parameters; over const generics, a last argument names the output's rows.
pub use graph_macros::graph;

pub use graph_runtime as runtime;
pub use graph_runtime::{avg_pool2d, conv2d, max_pool2d};
pub use graph_runtime::{
    check, data, impl_parameters, init, io, loss, nalgebra, nn, optim, params, rand, train, Error,
    GradientMismatch, Parameters, Real, Result,
};
pub use graph_runtime::{Primitive, SecondDerivative};

#[doc(hidden)]
pub use graph_runtime::__private;
