//! PyTorch's MNIST example network (`pytorch/examples: mnist/main.py`'s `Net`), shared by
//! `tests/large.rs` and `benches/mnist_cnn.rs`:
//!
//! ```text
//! conv1 = nn.Conv2d(1, 32, 3, 1); conv2 = nn.Conv2d(32, 64, 3, 1)
//! dropout1 = nn.Dropout(0.25); dropout2 = nn.Dropout(0.5)
//! fc1 = nn.Linear(9216, 128); fc2 = nn.Linear(128, 10)
//! x → conv1 → relu → conv2 → relu → max_pool2d(2) → dropout1 → flatten → fc1 → relu
//!   → dropout2 → fc2 → log_softmax (with nll_loss: our `CrossEntropy`)
//! ```

use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Dropout, Flatten, Init, Linear, ReLU, Sequential};
use chainrule::rand::Rng;
use chainrule::runtime::heap;
use chainrule::{conv2d, max_pool2d};

/// The network on a batch of 28×28 images, one per column, in `f32` (or `f64`, for exact
/// central differences).
pub type MnistCnn<T = f32> = Sequential<(
    conv2d![T; 1 => 32, kernel 3, stride 1, padding 0, image 28 x 28],
    ReLU,
    conv2d![T; 32 => 64, kernel 3, stride 1, padding 0, image 26 x 26],
    ReLU,
    max_pool2d![channels 64, kernel 2, image 24 x 24],
    Dropout,
    Flatten,
    Linear<T, 9216, 128>,
    ReLU,
    Dropout,
    Linear<T, 128, 10>,
)>;

/// The example's batch size.
pub const BATCH: usize = 32;

/// PyTorch's default initialisation, with the example's dropout probabilities (0.25 after
/// the pooling, 0.5 after `fc1`).
pub fn init<T: chainrule::Real, R: Rng>(rng: &mut R) -> MnistCnn<T> {
    let mut model = <MnistCnn<T> as Init>::init(rng);
    model.layers.5.p = 0.25;
    model.layers.9.p = 0.5;
    model
}

/// A fixed batch on the heap: a smooth pattern per image, in [0, 1], and labels 0–9.
pub fn batch() -> (Box<SMatrix<f32, 784, BATCH>>, [usize; BATCH]) {
    let mut x = heap::zeros::<SMatrix<f32, 784, BATCH>>();
    for (i, pixel) in x.iter_mut().enumerate() {
        let (row, image) = (i % 784, i / 784);
        *pixel = (0.5 + 0.5 * ((row * (image + 3)) as f32 * 0.01).sin()).powi(2);
    }
    (x, std::array::from_fn(|image| image * 7 % 10))
}
