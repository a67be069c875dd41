use chainrule::graph;

fn square(x: f64) -> f64 {
    x * x
}

graph! {
    fn loss(x: f64) -> f64 {
        square(x) + 1
    }
}

fn main() {
    let _ = square(2.0);
}
