//! Expansion snapshots: what `cargo expand` shows users is part of the product, so every change
//! to it is reviewed here (`cargo insta review`).

fn pretty(src: &str) -> String {
    let tokens: proc_macro2::TokenStream = src.parse().expect("test source lexes");
    let expanded = graph_compiler::expand(tokens).expect("graph compiles");
    let file: syn::File = syn::parse2(expanded).expect("expansion is a Rust file");
    prettyplease::unparse(&file)
}

#[test]
fn lecture_graph() {
    insta::assert_snapshot!(pretty(
        "/// The lecture's computational graph.
        pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
            tanh(ln(1 + z*2x/sin(y)))
        }"
    ));
}

#[test]
fn lecture_graph_with_the_slides_names() {
    insta::assert_snapshot!(pretty(
        "pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
            let a = 2x;
            let b = sin(y);
            let c = a / b;
            let d = z * c;
            let e = ln(1 + d);
            tanh(e)
        }"
    ));
}

#[test]
fn neuron_loss_with_data_inputs() {
    insta::assert_snapshot!(pretty(
        "/// The lecture's neuron: squared error of `tanh(w*x + b)` against `y`.
        pub fn neuron_loss(w: f64, b: f64, #[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
            (y - tanh(w*x + b))^2
        }"
    ));
}

#[test]
fn mlp_loss_over_matrices() {
    insta::assert_snapshot!(pretty(
        "/// A 2-16-1 tanh network's squared error on one sample.
        pub fn mlp_loss(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                        w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                        #[no_grad] x: SVector<f32, 2>, #[no_grad] y: SVector<f32, 1>) -> f32 {
            let h = tanh(w1 * x + b1);
            let out = w2 * h + b2;
            mse(out, y)
        }"
    ));
}

#[test]
fn relu_layer_fuses_the_bias_relu_and_its_mask() {
    insta::assert_snapshot!(pretty(
        "/// A batched ReLU layer's summed output: the bias added, the ReLU and, backwards, its
        /// mask times the adjoint are each one loop over the batch.
        pub fn relu_layer(w: SMatrix<f32, 16, 2>, b: SVector<f32, 16>,
                          #[no_grad] x: SMatrix<f32, 2, 32>) -> f32 {
            sum(relu(w * x + b))
        }"
    ));
}

#[test]
fn const_generic_linear_layer() {
    insta::assert_snapshot!(pretty(
        "pub fn linear<const I: usize, const O: usize>(w: SMatrix<f32, O, I>, b: SVector<f32, O>,
                                                     #[no_grad] x: SVector<f32, I>) -> SVector<f32, O> {
            w * x + b
        }"
    ));
}

#[test]
fn tanh_layer_with_a_tape() {
    insta::assert_snapshot!(pretty(
        "#[tape]
        pub fn tanh_layer<const R: usize, const C: usize>(x: SMatrix<f32, R, C>) -> SMatrix<f32, R, C> {
            tanh(x)
        }"
    ));
}

#[test]
fn linear_layer_by_reference() {
    insta::assert_snapshot!(pretty(
        "#[by_ref]
        pub fn linear<const I: usize, const O: usize, const B: usize>(w: SMatrix<f32, O, I>, b: SVector<f32, O>,
                                                                    x: SMatrix<f32, I, B>) -> SMatrix<f32, O, B> {
            w * x + b
        }"
    ));
}

#[test]
fn conv_layer_adds_its_bias_in_the_kernel() {
    insta::assert_snapshot!(pretty(
        "/// A convolution with a bias: one `conv2d_bias` call, not a convolution plus a spread bias.
        #[by_ref]
        pub fn conv<const B: usize>(w: SMatrix<f32, 4, 18>, b: SVector<f32, 4>,
                                    x: SMatrix<f32, 32, B>) -> SMatrix<f32, 64, B> {
            conv2d(x, w, b, 2, 4, 4, 3, 1, 1, 64)
        }"
    ));
}

#[test]
fn lecture_graph_drawn_with_dot() {
    insta::assert_snapshot!(pretty(
        "#[dot]
        pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
            let a = 2x;
            let b = sin(y);
            let c = a / b;
            let d = z * c;
            let e = ln(1 + d);
            tanh(e)
        }"
    ));
}

#[test]
fn rosenbrock_with_a_hessian() {
    insta::assert_snapshot!(pretty(
        "/// The issue's example: `hvp` and `hessian`, the backward pass differentiated again.
        #[hessian]
        pub fn rosenbrock(x: f64, y: f64) -> f64 { (1 - x)^2 + 100*(y - x^2)^2 }"
    ));
}

#[test]
fn a_user_primitive_in_a_hessian_graph() {
    insta::assert_snapshot!(pretty(
        "#[hessian]
        #[primitive(swish = activations::Swish)]
        pub fn neuron(w: f64, b: f64, #[no_grad] x: f64) -> f64 { swish(w*x + b) }"
    ));
}
