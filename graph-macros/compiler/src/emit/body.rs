//! Scheduling: a graph as straight-line statements. One `let` per named node (forward
//! intermediates keep the user's names; adjoints are `d_<name>`, with their chain-rule step as
//! a comment); an unnamed temporary is written inline where it is used once and gets a
//! `let t<k>` otherwise, so the emitted code grows linearly with the graph.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::expr::{expression, write_into, Context, Fragment, Prec};
use super::fused::{read_by_a_loop, region as fused_region, Surroundings};
use super::target::Target;
use crate::compile::api::{Plan, Region};
use crate::ir::{mint, Graph, Node, NodeId, Op};

/// The statements computing a graph, and an expression for each requested output (empty for
/// an output written into its place).
pub struct Body {
    pub statements: Vec<TokenStream>,
    pub outputs: Vec<TokenStream>,
}

/// Emits one `let` per named node (and per temporary used more than once), in forward order.
/// An output with a place (a `&mut` the caller owns, as `grad.w`) is written there instead:
/// computed into it where the node is, or copied into it at the end if it is an input, a
/// constant, or another output's node too. A fused region's members are computed in one loop,
/// written where its last member is.
pub fn body(
    graph: &Graph,
    outputs: &[NodeId],
    places: &[Option<TokenStream>],
    target: &Target,
    plan: &Plan,
) -> Body {
    let (place_of, written) = places_of(graph, outputs, places);
    let mut schedule = Schedule::new(graph, outputs, target, plan, place_of);
    for id in graph.ids() {
        match plan.region(id) {
            Some(region) => schedule.member(id, region),
            None => schedule.node(id),
        }
    }
    let Schedule {
        fragments,
        statements,
        names,
        statement_of,
        ..
    } = schedule;
    let last_reads = last_reads(graph, outputs, &statement_of, statements.len());
    let mut statements = scoped(statements, names, last_reads);
    let mut expressions = Vec::with_capacity(outputs.len());
    for (k, (id, place)) in outputs.iter().zip(places).enumerate() {
        let value = fragments[id.index()].at_least(Prec::Conditional);
        match (place, written[k]) {
            (None, _) => expressions.push(value),
            (Some(place), false) => {
                statements.push(quote!(*#place = #value;));
                expressions.push(TokenStream::new());
            }
            (Some(_), true) => expressions.push(TokenStream::new()),
        }
    }
    Body {
        statements,
        outputs: expressions,
    }
}

/// The statements of a body so far, and what the nodes before the next one left.
struct Schedule<'a> {
    graph: &'a Graph,
    target: &'a Target,
    plan: &'a Plan,
    place_of: Vec<Option<&'a TokenStream>>,
    uses: Vec<u32>,
    fragments: Vec<Fragment>,
    bound: Vec<bool>,
    statements: Vec<TokenStream>,
    /// The names each statement binds, for `scoped`.
    names: Vec<Vec<Ident>>,
    /// The name bound to each node, if any (an input's is its parameter's).
    name_of: Vec<Option<Ident>>,
    /// The statement computing each node that has one, for `scoped`.
    statement_of: Vec<Option<usize>>,
    temporaries: usize,
    /// Names already bound in this function. A minted name may spell the same as another
    /// (`d_out` the adjoint of a `let out`, and `d_out` the seed): it gets a suffix.
    taken: HashSet<String>,
}

impl<'a> Schedule<'a> {
    fn new(
        graph: &'a Graph,
        outputs: &[NodeId],
        target: &'a Target,
        plan: &'a Plan,
        place_of: Vec<Option<&'a TokenStream>>,
    ) -> Self {
        let mut uses = uses(graph, outputs);
        // A value a fused loop reads is computed once, before it.
        for (uses, read) in uses.iter_mut().zip(read_by_a_loop(graph, plan)) {
            *uses += if read { 2 } else { 0 };
        }
        let name_of = graph
            .nodes()
            .iter()
            .map(|node| match node.op {
                Op::Input(n) => Some(graph.inputs[usize::from(n)].name.clone()),
                _ => None,
            })
            .collect();
        Schedule {
            graph,
            target,
            plan,
            place_of,
            uses,
            fragments: Vec::with_capacity(graph.len()),
            bound: Vec::with_capacity(graph.len()),
            statements: Vec::new(),
            names: Vec::new(),
            name_of,
            statement_of: vec![None; graph.len()],
            temporaries: 0,
            taken: graph.inputs.iter().map(|i| i.name.to_string()).collect(),
        }
    }

    fn context(&self) -> Context<'_> {
        Context {
            graph: self.graph,
            target: self.target,
            fragments: &self.fragments,
            bound: &self.bound,
            plan: self.plan,
        }
    }

    /// Records node `id`'s statement, its name and how its users write it.
    fn bind(&mut self, id: NodeId, statement: TokenStream, name: Ident, fragment: Fragment) {
        self.statement_of[id.index()] = Some(self.statements.len());
        self.statements.push(statement);
        self.fragments.push(fragment);
        self.bound.push(true);
        self.name_of[id.index()] = Some(name.clone());
        self.names.push(vec![name]);
    }

    /// A node outside every region: a `let`, a write into its place, or an inline fragment.
    fn node(&mut self, id: NodeId) {
        let node = self.graph.node(id);
        let note = note(node);
        let place = self.place_of[id.index()];
        let bind = self.uses[id.index()] > 1 || place.is_some();
        let binding = binding(node, bind, &mut self.temporaries);
        let Some(name) = binding.map(|name| unique(name, &mut self.taken)) else {
            let fragment = expression(&self.context(), id).sealed();
            self.fragments.push(fragment);
            self.bound.push(false);
            return;
        };
        if let Some(place) = place {
            // The name is the place, borrowed: `let d_w = &mut *grad.w;`, then written.
            let write = write_into(&self.context(), id, &quote!(#name));
            let statement = quote!(#note let #name = &mut *#place; #write;);
            self.bind(
                id,
                statement,
                name.clone(),
                Fragment::atom(quote!((*#name))),
            );
            return;
        }
        let value = expression(&self.context(), id).at_least(Prec::Conditional);
        let statement = quote!(#note let #name = #value;);
        self.bind(id, statement, name.clone(), Fragment::atom(quote!(#name)));
    }

    /// A member of `region`: only a member read after the loop gets a name (and a matrix)
    /// outside it. At the last member, the loop.
    fn member(&mut self, id: NodeId, region: &Region) {
        let escapes = region.outputs.contains(&id);
        let binding = binding(self.graph.node(id), escapes, &mut self.temporaries);
        let fragment = match binding.map(|name| unique(name, &mut self.taken)) {
            Some(name) => {
                self.name_of[id.index()] = Some(name.clone());
                match self.place_of[id.index()] {
                    Some(_) => Fragment::atom(quote!((*#name))),
                    None => Fragment::atom(quote!(#name)),
                }
            }
            None => Fragment::atom(TokenStream::new()),
        };
        self.fragments.push(fragment);
        self.bound.push(escapes);
        if region.members.last() != Some(&id) {
            return;
        }
        let around = Surroundings {
            names: &self.name_of,
            places: &self.place_of,
            uses: &self.uses,
        };
        let (mut temporaries, mut taken) = (self.temporaries, std::mem::take(&mut self.taken));
        let statement = fused_region(
            &self.context(),
            region,
            &around,
            &mut temporaries,
            &mut taken,
        );
        (self.temporaries, self.taken) = (temporaries, taken);
        for member in &region.members {
            self.statement_of[member.index()] = Some(self.statements.len());
        }
        self.statements.push(statement);
        let names = region.outputs.iter();
        let names = names.filter_map(|output| self.name_of[output.index()].clone());
        self.names.push(names.collect());
    }
}

/// A node's chain-rule note, as a doc comment on its `let`.
pub(super) fn note(node: &Node) -> Option<TokenStream> {
    node.note.as_ref().map(|note| {
        let text = format!(" {note}");
        quote!(#[doc = #text])
    })
}

/// The place each node is computed into (the first output with a place that is neither an
/// input nor a constant), and, per output, whether its node is computed into its place.
fn places_of<'a>(
    graph: &Graph,
    outputs: &[NodeId],
    places: &'a [Option<TokenStream>],
) -> (Vec<Option<&'a TokenStream>>, Vec<bool>) {
    let mut place_of: Vec<Option<&TokenStream>> = vec![None; graph.len()];
    let mut written = vec![false; outputs.len()];
    for (k, (output, place)) in outputs.iter().zip(places).enumerate() {
        let leaf = matches!(graph.node(*output).op, Op::Input(_) | Op::Const(_));
        if let (Some(place), false, None) = (place, leaf, place_of[output.index()]) {
            place_of[output.index()] = Some(place);
            written[k] = true;
        }
    }
    (place_of, written)
}

/// The name a node's `let` binds: the node's own, a new `t<k>` for an unnamed node that must
/// be bound (`bind`), or none (an input, a constant, or a temporary written inline).
fn binding(node: &Node, bind: bool, temporaries: &mut usize) -> Option<Ident> {
    match (&node.name, node.op) {
        (_, Op::Input(_) | Op::Const(_)) => None,
        (Some(name), _) => Some(name.clone()),
        (None, _) if bind => {
            *temporaries += 1;
            Some(mint(&format!("t{temporaries}")))
        }
        (None, _) => None,
    }
}

/// How many times each node's expression is written out: a squared or cubed operand is
/// written two or three times (`a * a`), and must then be `let`-bound, not recomputed.
fn uses(graph: &Graph, outputs: &[NodeId]) -> Vec<u32> {
    let mut uses = vec![0u32; graph.len()];
    for node in graph.nodes() {
        for operand in node.op.operands() {
            uses[operand.index()] += 1;
        }
        if let Op::Powi(a, n @ (2 | 3)) = node.op {
            uses[a.index()] += n.unsigned_abs() - 1;
        }
    }
    for output in outputs {
        uses[output.index()] += 1;
    }
    uses
}

/// For each statement (each bound node or fused loop, in order), the last statement that reads its name:
/// `usize::MAX` for the outputs, read after every statement. An inlined node is read where
/// its user is written.
fn last_reads(
    graph: &Graph,
    outputs: &[NodeId],
    statement_of: &[Option<usize>],
    n_statements: usize,
) -> Vec<usize> {
    let mut written_in = vec![usize::MAX; graph.len()];
    let mut user = vec![None; graph.len()];
    for id in graph.ids() {
        for operand in graph.node(id).op.operands() {
            user[operand.index()] = Some(id);
        }
    }
    for id in graph.ids().rev() {
        written_in[id.index()] = match (statement_of[id.index()], user[id.index()]) {
            (Some(statement), _) => statement,
            (None, Some(user)) if !outputs.contains(&id) => written_in[user.index()],
            (None, _) => usize::MAX,
        };
    }
    let mut last_read = vec![0; graph.len()];
    for id in graph.ids() {
        for operand in graph.node(id).op.operands() {
            last_read[operand.index()] = last_read[operand.index()].max(written_in[id.index()]);
        }
    }
    for output in outputs {
        last_read[output.index()] = usize::MAX;
    }
    // A fused loop's statement binds several names: it is read last where any of them is.
    let mut per_statement = vec![0; n_statements];
    for id in graph.ids() {
        if let Some(statement) = statement_of[id.index()] {
            per_statement[statement] = per_statement[statement].max(last_read[id.index()]);
        }
    }
    per_statement
}

/// Up to this many `let`s, a function's body is one flat list, as `cargo expand` shows it.
const FLAT_STATEMENTS: usize = 256;

/// `statements`, each binding the name beside it, grouped so that lexical scopes stay shallow.
///
/// Every `let` opens a scope that holds the rest of its block, so straight-line code nests
/// one scope per `let`, and LLVM writes debug info by recursing through scopes: past about
/// 2,500 `let`s in one function, rustc's own stack overflows (in the default dev profile).
/// Past [`FLAT_STATEMENTS`], the `let`s go in blocks of about √n that each bind their names
/// at once, `let (a, b, …) = { let a = …; let b = …; …; (a, b, …) };`: about 2√n scopes deep.
/// A block binds only the names read after it (`last_reads`, by statement).
fn scoped(
    statements: Vec<TokenStream>,
    names: Vec<Vec<Ident>>,
    last_reads: Vec<usize>,
) -> Vec<TokenStream> {
    if statements.len() <= FLAT_STATEMENTS {
        return statements;
    }
    let size = (statements.len() as f64).sqrt().ceil() as usize;
    statements
        .chunks(size)
        .enumerate()
        .map(|(chunk, statements)| {
            let end = (chunk + 1) * size;
            let names: Vec<&Ident> = (chunk * size..end.min(names.len()))
                .filter(|statement| last_reads[*statement] >= end)
                .flat_map(|statement| &names[statement])
                .collect();
            quote! {
                let (#(#names,)*) = {
                    #(#statements)*
                    (#(#names,)*)
                };
            }
        })
        .collect()
}

/// `name`, or `name_2`, `name_3`, … if the spelling is taken; records the result as taken.
pub(super) fn unique(name: Ident, taken: &mut HashSet<String>) -> Ident {
    let spelling = name.to_string();
    if taken.insert(spelling.clone()) {
        return name;
    }
    let fresh = (2..)
        .map(|n| format!("{spelling}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .expect("some suffix is free");
    taken.insert(fresh.clone());
    mint(&fresh)
}
