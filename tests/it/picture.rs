//! `#[dot]`: the lecture's graph as Graphviz DOT, read back by a small DOT parser and compared
//! with the slide: its nodes and edges, then its values, adjoints and partials at a point.

use std::collections::{BTreeMap, BTreeSet};

use chainrule::graph;

graph! {
    /// The lecture's computational graph, with the slide's intermediates.
    #[dot]
    pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
        let a = 2x;
        let b = sin(y);
        let c = a / b;
        let d = z * c;
        let e = ln(1 + d);
        tanh(e)
    }
}

/// A DOT graph as statements: each node's attributes, and each edge's.
#[derive(Debug, Default)]
struct Dot {
    nodes: BTreeMap<String, BTreeMap<String, String>>,
    edges: BTreeMap<(String, String), BTreeMap<String, String>>,
}

/// The tokens of DOT that matter here: identifiers and quoted strings (unescaped), and
/// punctuation (`{ } [ ] = , ;` and `->`).
fn tokens(text: &str) -> Vec<(bool, String)> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '"' => {
                let mut string = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => string.push('\n'),
                            Some(other) => string.push(other),
                            None => panic!("a string ends in a backslash"),
                        },
                        c => string.push(c),
                    }
                }
                tokens.push((true, string));
            }
            '-' if chars.peek() == Some(&'>') => {
                chars.next();
                tokens.push((false, "->".to_string()));
            }
            '{' | '}' | '[' | ']' | '=' | ',' | ';' => tokens.push((false, c.to_string())),
            c => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '.' {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push((true, word));
            }
        }
    }
    tokens
}

fn parse(text: &str) -> Dot {
    let tokens = tokens(text);
    let word = |index: usize| match tokens.get(index) {
        Some((true, word)) => word.clone(),
        other => panic!("expected a name or string at token {index}, found {other:?}"),
    };
    assert_eq!(word(0), "digraph");
    assert_eq!(tokens[2], (false, "{".to_string()));
    let mut dot = Dot::default();
    let mut at = 3;
    while tokens[at] != (false, "}".to_string()) {
        let first = word(at);
        at += 1;
        // A graph attribute: `rankdir=LR;`.
        if tokens[at] == (false, "=".to_string()) {
            assert_eq!(tokens[at + 2], (false, ";".to_string()));
            at += 3;
            continue;
        }
        let edge_to = if tokens[at] == (false, "->".to_string()) {
            at += 2;
            Some(word(at - 1))
        } else {
            None
        };
        let mut attributes = BTreeMap::new();
        if tokens[at] == (false, "[".to_string()) {
            at += 1;
            while tokens[at] != (false, "]".to_string()) {
                let (key, value) = (word(at), word(at + 2));
                assert_eq!(tokens[at + 1], (false, "=".to_string()));
                attributes.insert(key, value);
                at += 3;
                if tokens[at] == (false, ",".to_string()) {
                    at += 1;
                }
            }
            at += 1;
        }
        assert_eq!(
            tokens[at],
            (false, ";".to_string()),
            "statements end with `;`"
        );
        at += 1;
        match edge_to {
            Some(to) => {
                dot.edges.insert((first, to), attributes);
            }
            // Defaults for all nodes or edges (`node [fontname=..];`) are not nodes.
            None if first == "node" || first == "edge" || first == "graph" => {}
            None => {
                dot.nodes.insert(first, attributes);
            }
        }
    }
    dot
}

impl Dot {
    /// The name a node's label gives it: `a` for `a = 2·x`.
    fn name(&self, id: &str) -> String {
        let label = &self.nodes[id]["label"];
        let first_line = label.lines().next().unwrap_or_default();
        first_line
            .split(" = ")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The edges, from operand to user, by the nodes' names.
    fn named_edges(&self) -> BTreeSet<(String, String)> {
        self.edges
            .keys()
            .map(|(from, to)| (self.name(from), self.name(to)))
            .collect()
    }

    fn id_of(&self, name: &str) -> &str {
        self.nodes
            .keys()
            .find(|id| self.name(id) == name)
            .unwrap_or_else(|| panic!("a node named {name}"))
    }

    /// The number after `key ` on a line of the label of the node named `name`.
    fn number(&self, name: &str, key: &str) -> f64 {
        let label = &self.nodes[self.id_of(name)]["label"];
        let line = label
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("a `{key}` line in {label:?}"));
        line.parse()
            .unwrap_or_else(|_| panic!("a number in {line:?}"))
    }

    /// The partial on the edge from the node named `from` to the node named `to`.
    fn partial(&self, from: &str, to: &str) -> f64 {
        let key = (self.id_of(from).to_string(), self.id_of(to).to_string());
        let label = &self.edges[&key]["label"];
        label
            .parse()
            .unwrap_or_else(|_| panic!("a number in {label:?}"))
    }
}

fn pairs(edges: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    edges
        .iter()
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .collect()
}

/// The slide: x, y, z; a = 2x, b = sin y, c = a/b, d = zc, e = ln(1 + d), f = tanh e.
const SLIDE_EDGES: [(&str, &str); 8] = [
    ("x", "a"),
    ("y", "b"),
    ("a", "c"),
    ("b", "c"),
    ("z", "d"),
    ("c", "d"),
    ("d", "e"),
    ("e", "lecture"),
];

#[test]
fn the_lectures_dot_has_exactly_the_slides_nodes_and_edges() {
    let dot = parse(lecture::DOT);
    let names: BTreeSet<String> = dot.nodes.keys().map(|id| dot.name(id)).collect();
    let expected: BTreeSet<String> = ["x", "y", "z", "a", "b", "c", "d", "e", "lecture"]
        .map(String::from)
        .into();
    assert_eq!(names, expected, "{}", lecture::DOT);
    assert_eq!(dot.named_edges(), pairs(&SLIDE_EDGES));
    let label = |name: &str| dot.nodes[dot.id_of(name)]["label"].clone();
    assert_eq!(label("a"), "a = 2·x");
    assert_eq!(label("e"), "e = ln(1 + d)");
    assert_eq!(label("lecture"), "lecture = tanh(e)");
    assert_eq!(dot.nodes[dot.id_of("x")]["shape"], "ellipse");
    assert_eq!(dot.nodes[dot.id_of("lecture")]["peripheries"], "2");
}

#[track_caller]
fn close(found: f64, expected: f64) {
    // `dot(..)` writes six significant digits.
    let tolerance = 1e-5 * expected.abs().max(1e-3);
    assert!(
        (found - expected).abs() <= tolerance,
        "{found} vs {expected}"
    );
}

#[test]
fn dot_at_a_point_labels_values_adjoints_and_the_slides_partials() {
    let (x, y, z) = (0.3_f64, 1.1_f64, 0.7_f64);
    let text = lecture::dot(x, y, z);
    let dot = parse(&text);
    // Same structure as `DOT`.
    assert_eq!(dot.named_edges(), pairs(&SLIDE_EDGES));
    // The forward pass by hand.
    let (a, b) = (2.0 * x, y.sin());
    let c = a / b;
    let d = z * c;
    let e = (1.0 + d).ln();
    let f = e.tanh();
    for (name, value) in [
        ("x", x),
        ("a", a),
        ("b", b),
        ("c", c),
        ("d", d),
        ("e", e),
        ("lecture", f),
    ] {
        close(dot.number(name, "value"), value);
    }
    // The slide's partials, ∂head/∂tail along each edge.
    let partials = [
        (("x", "a"), 2.0),
        (("y", "b"), y.cos()),
        (("a", "c"), 1.0 / b),
        (("b", "c"), -a / (b * b)),
        (("z", "d"), c),
        (("c", "d"), z),
        (("d", "e"), 1.0 / (1.0 + d)),
        (("e", "lecture"), 1.0 - f * f),
    ];
    for ((from, to), partial) in partials {
        close(dot.partial(from, to), partial);
    }
    // Adjoints: the products of the partials from the output down.
    let d_e = 1.0 - f * f;
    let d_d = d_e / (1.0 + d);
    let d_c = d_d * z;
    let (d_a, d_b) = (d_c / b, -d_c * a / (b * b));
    for (name, adjoint) in [
        ("lecture", 1.0),
        ("e", d_e),
        ("d", d_d),
        ("z", d_d * c),
        ("c", d_c),
        ("a", d_a),
        ("b", d_b),
        ("x", 2.0 * d_a),
        ("y", d_b * y.cos()),
    ] {
        close(dot.number(name, "grad"), adjoint);
    }
    // …which are `backward`'s gradient.
    let grad = lecture::value_and_grad(x, y, z).1;
    close(dot.number("x", "grad"), grad.x);
}

graph! {
    /// A layer over matrices: nodes show shapes and gradient norms; edges have no partials.
    #[dot]
    fn layer(w: SMatrix<f32, 2, 3>, #[no_grad] x: SVector<f32, 3>, #[no_grad] t: SVector<f32, 2>) -> f32 {
        let h = tanh(w * x);
        mse(h, t)
    }
}

#[test]
fn a_matrix_graph_is_drawn_with_shapes_and_norms() {
    let dot = parse(layer::DOT);
    assert_eq!(
        dot.named_edges(),
        pairs(&[("w", "h"), ("x", "h"), ("h", "layer"), ("t", "layer")])
    );
    assert_eq!(dot.nodes[dot.id_of("layer")]["label"], "layer = mse(h, t)");
    assert_eq!(dot.nodes[dot.id_of("t")]["style"], "dashed");
    let w = chainrule::nalgebra::Matrix2x3::new(0.5, -0.2, 0.1, 0.3, 0.8, -0.6);
    let (x, t) = (
        chainrule::nalgebra::Vector3::new(1.0, 2.0, 3.0),
        chainrule::nalgebra::Vector2::new(0.1, -0.1),
    );
    let at_point = parse(&layer::dot(w, x, t));
    let label = &at_point.nodes[at_point.id_of("w")]["label"];
    assert!(label.starts_with("w\n2×3\n‖grad‖ "), "{label}");
    let norm: f64 = label.rsplit(' ').next().unwrap().parse().unwrap();
    close(norm, f64::from(layer::value_and_grad(w, x, t).1.w.norm()));
    assert!(at_point
        .edges
        .values()
        .all(|attributes| !attributes.contains_key("label")));
    close(
        at_point.number("layer", "value"),
        f64::from(layer::forward(w, x, t)),
    );
}

graph! {
    /// Const generics and references: `dot` takes what `forward` takes.
    #[dot]
    #[by_ref]
    fn affine<const N: usize>(w: SMatrix<f64, 1, N>, x: SVector<f64, N>, b: f64) -> f64 {
        let score = sum(w * x) + b;
        sigmoid(score)
    }
}

#[test]
fn a_const_generic_graph_by_reference_is_drawn_too() {
    let (w, x) = (
        chainrule::nalgebra::RowVector3::new(0.5, -1.0, 2.0),
        chainrule::nalgebra::Vector3::new(1.0, 0.5, 0.25),
    );
    let dot = parse(&affine::dot(&w, &x, 0.1));
    assert_eq!(
        dot.named_edges(),
        pairs(&[
            ("w", "score"),
            ("x", "score"),
            ("b", "score"),
            ("score", "affine")
        ])
    );
    let score: f64 = 0.5 - 0.5 + 0.5 + 0.1;
    let s = 1.0 / (1.0 + (-score).exp());
    close(dot.number("score", "value"), score);
    close(dot.partial("b", "score"), 1.0);
    close(dot.partial("score", "affine"), s * (1.0 - s));
    close(dot.number("b", "grad"), s * (1.0 - s));
}
