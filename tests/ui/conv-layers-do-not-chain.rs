// The second convolution says it takes 8×8 images, but the pooling before it gives 4×4 ones:
// the model does not compile, and the error names the layer.
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{ReLU, Sequential};
use chainrule::{conv2d, max_pool2d};

type Cnn = Sequential<(
    conv2d![f32; 1 => 8, kernel 3, stride 1, padding 1, image 8 x 8],
    ReLU,
    max_pool2d![channels 8, kernel 2, image 8 x 8],
    conv2d![f32; 8 => 16, kernel 3, stride 1, padding 1, image 8 x 8],
)>;

fn main() {
    let model = Cnn::zeros();
    let _ = model.forward(&SMatrix::<f32, 64, 4>::zeros());
}
