// A BatchNorm2d of 3 channels after a convolution giving 8 channels of 8×8 (512 rows, not a
// multiple of 3): the model does not compile, and the error names the layer.
use chainrule::conv2d;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{BatchNorm2d, Sequential};

type Cnn = Sequential<(
    conv2d![f32; 1 => 8, kernel 3, stride 1, padding 1, image 8 x 8],
    BatchNorm2d<f32, 3>,
)>;

fn main() {
    let model = Cnn::zeros();
    let _ = model.forward(&SMatrix::<f32, 64, 4>::zeros());
}
