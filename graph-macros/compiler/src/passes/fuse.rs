//! How each element-wise node on matrices is computed: the [`Plan`] of a graph body. IR in,
//! a plan out; never sees tokens. `emit` prints what the plan says.
//!
//! - **Vectorised**: `tanh`, `exp`, `ln`, `sigmoid`, `softplus`, `erf`, `gelu` and `silu` of
//!   a matrix of at least [`VECTORISE_ELEMENTS`] elements (or of a const-generic size) go
//!   through the runtime's `vmath`, a whole matrix per call.
//! - **Biased**: a convolution plus its bias spread over the channels (what `conv2d(x, w, b)`
//!   lowers to), each read by nothing else, is one call of the runtime's `conv2d_bias`,
//!   which adds the bias as it writes the result, instead of two batch-sized matrices added.
//! - **Fused**: a chain of other element-wise nodes of one shape becomes one [`Region`],
//!   computed in one loop over the elements (the runtime's `fused`), one per-element
//!   temporary per node, instead of one pass over memory per node.
//!
//! Regions are grown greedily in node order. A node joins the region of an operand while that
//! region is *open*: once a node outside a region reads one of its members, the region is
//! *sealed*, because the region is computed where its last member is, and that reader must
//! come after. So every region can be emitted at its last member, after every value it reads
//! and before every value that reads it.
//!
//! Greedy, and in node order: a region sealed by a reader is not reopened for later nodes even
//! where moving the reader after them would be sound (in `value_and_grad`, the `sum` of a
//! ReLU's output seals the forward loop before the mask is reached, so the mask gets a pass of
//! its own). Reordering the nodes around regions would lift that.

use crate::ir::{Dim, Func, Graph, Kind, NodeId, Op, Shape};

/// Below this many elements, a function mapped element by element is as fast as one `vmath`
/// call (measured with `cargo bench --bench vmath -- vmath_small`; see `BENCHMARKS.md`).
pub const VECTORISE_ELEMENTS: usize = 8;

/// How the element-wise nodes of one graph body are computed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Per node: the call computing it whole, if any.
    call: Vec<Option<Call>>,
    /// Per node: the region it is a member of.
    region_of: Vec<Option<usize>>,
    pub regions: Vec<Region>,
}

/// A node computed whole by one call of the runtime.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    /// By `vmath`, this `Function`.
    Vectorised(&'static str),
    /// By `conv2d_bias`: this convolution node, plus this bias spread over its channels.
    Biased(NodeId, NodeId),
}

/// Element-wise nodes of one shape computed in one loop.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// In node order; the loop is written where the last one is.
    pub members: Vec<NodeId>,
    /// The matrices the loop reads, each once per element (scalars are read as they are).
    pub inputs: Vec<NodeId>,
    /// The members read after the loop, which it writes into matrices.
    pub outputs: Vec<NodeId>,
}

impl Plan {
    /// A plan with nothing vectorised or fused: every node as it is written alone.
    fn none(graph: &Graph) -> Plan {
        Plan {
            call: vec![None; graph.len()],
            region_of: vec![None; graph.len()],
            regions: Vec::new(),
        }
    }

    /// The `vmath::Function` variant node `id` is computed by, if it is vectorised.
    pub fn vectorised(&self, id: NodeId) -> Option<&'static str> {
        match self.call.get(id.index()).copied().flatten()? {
            Call::Vectorised(function) => Some(function),
            Call::Biased(..) => None,
        }
    }

    /// For a biased node (see the module's documentation), its convolution node and the
    /// `C_out×1` bias it adds.
    pub fn biased(&self, id: NodeId) -> Option<(NodeId, NodeId)> {
        match self.call.get(id.index()).copied().flatten()? {
            Call::Biased(conv, bias) => Some((conv, bias)),
            Call::Vectorised(_) => None,
        }
    }

    /// The region node `id` belongs to.
    pub fn region(&self, id: NodeId) -> Option<&Region> {
        let index = self.region_of.get(id.index()).copied().flatten()?;
        Some(&self.regions[index])
    }
}

/// The plan of a body computing `outputs` of `graph`.
pub fn plan(graph: &Graph, outputs: &[NodeId]) -> Plan {
    let mut plan = Plan::none(graph);
    let readers = readers(graph, outputs);
    for id in graph.ids() {
        plan.call[id.index()] = vectorised(graph, id)
            .map(Call::Vectorised)
            .or_else(|| biased(graph, &readers, id).map(|(conv, bias)| Call::Biased(conv, bias)));
    }
    let groups = group(graph, &plan, &summed_only(graph, &readers));
    for members in groups.into_iter().filter(|members| members.len() > 1) {
        let index = plan.regions.len();
        for member in &members {
            plan.region_of[member.index()] = Some(index);
        }
        plan.regions.push(Region {
            members,
            inputs: Vec::new(),
            outputs: Vec::new(),
        });
    }
    connect(graph, outputs, &mut plan);
    plan
}

/// The `vmath::Function` computing node `id`, if it is one of `vmath`'s functions of a matrix
/// large enough to gain from it.
fn vectorised(graph: &Graph, id: NodeId) -> Option<&'static str> {
    let node = graph.node(id);
    let Op::Call(func, _) = node.op else {
        return None;
    };
    let large = match &node.shape {
        Shape::Scalar => false,
        Shape::Matrix {
            rows: Dim::Fixed(rows),
            cols: Dim::Fixed(cols),
        } => rows * cols >= VECTORISE_ELEMENTS,
        // A const-generic layer runs on batches: assume a size worth vectorising.
        Shape::Matrix { .. } => true,
    };
    let function = match func {
        Func::Tanh => "Tanh",
        Func::Exp => "Exp",
        Func::Ln => "Ln",
        Func::Sigmoid => "Sigmoid",
        Func::Softplus => "Softplus",
        Func::Erf => "Erf",
        Func::Gelu => "Gelu",
        Func::Silu => "Silu",
        _ => return None,
    };
    large.then_some(function)
}

/// The convolution and the bias of node `id` if it is `conv2d(x, w) + spread_channels(b)`
/// (in either order) of one geometry, and it is the only reader of both.
fn biased(graph: &Graph, readers: &[u32], id: NodeId) -> Option<(NodeId, NodeId)> {
    let Op::Add(a, b) = graph.node(id).op else {
        return None;
    };
    let sole = |operand: NodeId| readers[operand.index()] == 1;
    [(a, b), (b, a)].into_iter().find_map(|(conv, spread)| {
        match (graph.node(conv).op, graph.node(spread).op) {
            (Op::Conv2d(_, _, geometry), Op::SpreadChannels(bias, spread_geometry))
                if geometry == spread_geometry && sole(conv) && sole(spread) =>
            {
                Some((conv, bias))
            }
            _ => None,
        }
    })
}

/// Whether node `id` may be a member of a region: an element-wise node on matrices, computed
/// one element at a time, except a product only a sum reads (`sum(a∘a)`, `sum(a∘b)`), which
/// nalgebra computes without writing the product (`norm_squared`, `dot`).
fn fusable(graph: &Graph, plan: &Plan, summed_only: &[bool], id: NodeId) -> bool {
    let node = graph.node(id);
    node.op.kind() == Kind::Elementwise
        && !node.shape.is_scalar()
        && plan.vectorised(id).is_none()
        && plan.biased(id).is_none()
        && !(summed_only[id.index()] && matches!(node.op, Op::Mul(..) | Op::Powi(_, 2)))
}

/// Per node: how many nodes read it, plus one if it is an output.
fn readers(graph: &Graph, outputs: &[NodeId]) -> Vec<u32> {
    let mut readers = vec![0u32; graph.len()];
    for output in outputs {
        readers[output.index()] += 1;
    }
    for node in graph.nodes() {
        for operand in node.op.operands() {
            readers[operand.index()] += 1;
        }
    }
    readers
}

/// Per node: whether a `Sum` is its one reader.
fn summed_only(graph: &Graph, readers: &[u32]) -> Vec<bool> {
    let mut summed = vec![false; graph.len()];
    for node in graph.nodes() {
        for operand in node.op.operands() {
            summed[operand.index()] |= matches!(node.op, Op::Sum(_));
        }
    }
    summed
        .into_iter()
        .zip(readers)
        .map(|(summed, readers)| summed && *readers == 1)
        .collect()
}

/// The members of each candidate region, grown greedily in node order (see the module's
/// documentation); groups of one node are dropped by the caller.
fn group(graph: &Graph, plan: &Plan, summed_only: &[bool]) -> Vec<Vec<NodeId>> {
    let mut group_of: Vec<Option<usize>> = vec![None; graph.len()];
    let mut groups: Vec<Vec<NodeId>> = Vec::new();
    let mut sealed: Vec<bool> = Vec::new();
    for id in graph.ids() {
        let operand_groups: Vec<usize> = graph
            .node(id)
            .op
            .operands()
            .filter_map(|operand| group_of[operand.index()])
            .collect();
        if !fusable(graph, plan, summed_only, id) {
            for group in operand_groups {
                sealed[group] = true;
            }
            continue;
        }
        let open: Vec<usize> = operand_groups
            .into_iter()
            .filter(|group| !sealed[*group])
            .collect();
        let joined = match open.first() {
            Some(&first) => {
                // Two open groups that meet are one: nothing outside has read either.
                for &other in open.iter().filter(|other| **other != first) {
                    if groups[other].is_empty() {
                        continue;
                    }
                    let moved = std::mem::take(&mut groups[other]);
                    for member in &moved {
                        group_of[member.index()] = Some(first);
                    }
                    groups[first].extend(moved);
                    sealed[other] = true;
                }
                first
            }
            None => {
                groups.push(Vec::new());
                sealed.push(false);
                groups.len() - 1
            }
        };
        groups[joined].push(id);
        group_of[id.index()] = Some(joined);
    }
    for members in &mut groups {
        members.sort();
    }
    groups
}

/// Each region's inputs (matrices read from outside it) and outputs (members read outside it,
/// or outputs of the body).
fn connect(graph: &Graph, outputs: &[NodeId], plan: &mut Plan) {
    let region_of = plan.region_of.clone();
    let mut escapes = vec![false; graph.len()];
    for output in outputs {
        escapes[output.index()] = true;
    }
    for id in graph.ids() {
        let region = region_of[id.index()];
        for operand in graph.node(id).op.operands() {
            let from = region_of[operand.index()];
            if from.is_some() && from != region {
                escapes[operand.index()] = true;
            }
            let matrix = !graph.node(operand).shape.is_scalar();
            if let (Some(region), true, false) = (region, matrix, from == region) {
                let inputs = &mut plan.regions[region].inputs;
                if !inputs.contains(&operand) {
                    inputs.push(operand);
                }
            }
        }
    }
    for region in &mut plan.regions {
        region.outputs = region
            .members
            .iter()
            .copied()
            .filter(|member| escapes[member.index()])
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;
    use crate::ir::mint;
    use crate::lower_str;
    use crate::passes::diff::differentiate;
    use crate::passes::simplify::simplify;

    /// The backward graph of `src`, simplified, and its plan, each region written as its
    /// members' labels, then `→` and its outputs' labels.
    fn regions(src: &str) -> (Plan, Vec<String>) {
        let lowered = lower_str(src).unwrap();
        let mut graph = lowered.graph;
        let shape = graph.node(lowered.output).shape.clone();
        let seed = graph.add_input(mint("d_out"), shape, Span::call_site());
        let (backward, grads) = differentiate(&graph, lowered.output, seed);
        let (graph, outputs) = simplify(&backward, &grads);
        let plan = plan(&graph, &outputs);
        assert_schedulable(&graph, &plan);
        let text = plan
            .regions
            .iter()
            .map(|region| {
                let labels = |ids: &[NodeId]| {
                    let labels: Vec<String> = ids.iter().map(|id| graph.label(*id)).collect();
                    labels.join(" ")
                };
                format!("{} → {}", labels(&region.members), labels(&region.outputs))
            })
            .collect();
        (plan, text)
    }

    #[test]
    fn relu_of_a_biased_product_and_its_mask_are_one_region() {
        let (_, regions) = regions(
            "|w: SMatrix<f32, 4, 3>, x: SMatrix<f32, 3, 8>, b: SMatrix<f32, 4, 8>|
                sum(relu(w * x + b))",
        );
        // The bias added, relu's mask of it, and the mask times the adjoint, in one loop that
        // writes only the adjoint.
        assert_eq!(regions, ["v1 %7 d_v1 → d_v1"]);
    }

    /// The forward graph of `src`, simplified, and how many of its nodes are biased.
    fn biased_nodes(src: &str) -> usize {
        let lowered = lower_str(src).unwrap();
        let (graph, outputs) = simplify(&lowered.graph, &[lowered.output]);
        let plan = plan(&graph, &outputs);
        graph.ids().filter(|id| plan.biased(*id).is_some()).count()
    }

    #[test]
    fn a_convolution_and_its_bias_are_one_biased_node_unless_the_convolution_is_read_again() {
        let conv = "conv2d(x, w, b, 2, 4, 4, 3, 1, 1, 64)";
        let params = "|w: SMatrix<f32, 4, 18>, b: SVector<f32, 4>, x: SMatrix<f32, 32, 8>|";
        assert_eq!(biased_nodes(&format!("{params} sum(relu({conv}))")), 1);
        // A graph that reads the convolution without its bias too (simplified to the same
        // node) keeps the convolution and the sum apart.
        let unbiased = "conv2d(x, w, 0 * b, 2, 4, 4, 3, 1, 1, 64)";
        let both = format!("{params} sum(hadamard({conv}, {unbiased}))");
        assert_eq!(biased_nodes(&both), 0);
    }

    #[test]
    fn tanh_is_vectorised_and_its_adjoint_is_fused() {
        let (plan, regions) = regions("|x: SMatrix<f64, 4, 8>| sum(hadamard(tanh(2x), x))");
        let tanh = plan.call.iter().filter(|call| call.is_some()).count();
        assert_eq!(tanh, 1);
        // The adjoint of x: d·(1 − t²)·2 + t·… in one loop, reading t and x.
        assert_eq!(regions.len(), 1, "{regions:?}");
        let region = &plan.regions[0];
        assert_eq!(region.inputs.len(), 2, "{regions:?}");
        assert_eq!(region.outputs.len(), 1, "{regions:?}");
    }

    #[test]
    fn a_small_matrix_is_not_vectorised() {
        let (plan, _) = regions("|x: SMatrix<f64, 2, 2>| sum(tanh(x))");
        assert!(plan.call.iter().all(Option::is_none));
    }

    #[test]
    fn scalar_graphs_have_no_regions_and_nothing_vectorised() {
        let (plan, _) = regions("|x: f64, y: f64| tanh(x * y + exp(x))");
        assert!(plan.regions.is_empty());
        assert!(plan.call.iter().all(Option::is_none));
    }

    #[test]
    fn a_region_read_by_a_product_is_sealed_before_it() {
        // `h` is read by the product, whose result meets `h` again: that sum cannot join
        // `h`'s region, which must be computed before the product.
        let (plan, regions) =
            regions("|x: SMatrix<f64, 4, 4>| { let h = x * x + 1; let p = h * x; sum(h - p) }");
        assert!(!regions.is_empty());
        assert!(plan.regions.iter().all(|region| region.members.len() > 1));
    }

    /// Every region reads only values computed before its last member, and every value
    /// outside it that reads a member comes after that member.
    fn assert_schedulable(graph: &Graph, plan: &Plan) {
        for region in &plan.regions {
            let last = *region.members.last().unwrap();
            for id in graph.ids() {
                let reads_member = graph
                    .node(id)
                    .op
                    .operands()
                    .any(|operand| region.members.contains(&operand));
                if reads_member && !region.members.contains(&id) {
                    assert!(
                        id > last,
                        "{} reads the region before its end",
                        graph.label(id)
                    );
                }
            }
            assert!(region.inputs.iter().all(|input| *input < last));
        }
    }
}
