use chainrule::graph;

fn main() {
    let _ = graph!(|v: Vector3<f64>| softmax(v));
}
