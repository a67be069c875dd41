use chainrule::graph;

fn main() {
    let _ = graph!(|| 1);
}
