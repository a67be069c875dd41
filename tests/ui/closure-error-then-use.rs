use chainrule::graph;

fn main() {
    let f = graph!(|x: f64| tahn(x));
    let (_value, [_dx]) = f.value_and_grad(0.5);
}
