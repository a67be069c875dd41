// A 3×3 kernel over 2 channels needs 2·3·3 = 18 weight columns; the error names both shapes.
use chainrule::graph;

graph! {
    fn conv(x: SMatrix<f64, 32, 4>, w: SMatrix<f64, 3, 9>, b: SVector<f64, 3>) -> SMatrix<f64, 48, 4> {
        conv2d(x, w, b, 2, 4, 4, 3, 1, 1)
    }
}

fn main() {}
