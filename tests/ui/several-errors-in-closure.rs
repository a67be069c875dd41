use chainrule::graph;

fn main() {
    let _ = graph!(|x: f64| w * x + b);
}
