// Two 4×4 channels are 32 rows, not 30: the error names the image and the input's shape.
use chainrule::graph;

graph! {
    fn pool(x: SMatrix<f64, 30, 4>) -> SMatrix<f64, 8, 4> {
        max_pool2d(x, 2, 4, 4, 2)
    }
}

fn main() {}
