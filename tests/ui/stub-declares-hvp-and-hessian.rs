use chainrule::graph;

graph! {
    #[hessian]
    fn loss(x: f64, y: f64) -> f64 {
        tahn(x) * y
    }
}

fn main() {
    let h = loss::hessian(0.5, 2.0);
    let hv = loss::hvp(0.5, 2.0, loss::Grad { x: 1.0, y: 0.0 });
    let _ = h[(0, 1)] + hv.x + hv.y;
}
