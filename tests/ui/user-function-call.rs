use chainrule::graph;

fn halve(x: f64) -> f64 {
    x / 2.0
}

graph! {
    fn loss(x: f64) -> f64 {
        halve(x) + 1
    }
}

fn main() {
    let _ = halve(2.0);
}
