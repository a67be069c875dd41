use chainrule::graph;

graph! {
    fn probabilities(logit: f64) -> f64 {
        sum(softmax_columns(logit))
    }
}

fn main() {}
