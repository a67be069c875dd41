use chainrule::graph;

graph! {
    fn square<T>(x: T) -> T {
        x * x
    }
}

fn main() {}
