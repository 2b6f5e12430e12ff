//! Property tests over random task graphs: optimizing never changes a value, every executor agrees
//! with the synchronous reference, and the Delayed API computes what a plain evaluation does.

use std::sync::{Arc, OnceLock};

use drask::delayed::FnOp;
use drask::graph::optimize::{Cull, Fuse, Inline, Optimizer, Pass};
use drask::graph::{Graph, Key, Literal, Op, TaskId};
use drask::prelude::*;
use drask::sched::{Executor, Synchronous, Threaded};
use proptest::prelude::*;
use proptest::sample::Index;

/// One task of a random program; arguments are positions of earlier tasks.
#[derive(Debug, Clone)]
enum Node {
    Lit(i64),
    /// Wrapping sum of 1 to 4 arguments (possibly the same one twice).
    Add(Vec<usize>),
    Neg(usize),
    MulBy(usize, i64),
}

#[derive(Debug, Clone)]
struct Program {
    nodes: Vec<Node>,
    /// 1 to 4 output positions, possibly repeated.
    outputs: Vec<usize>,
}

impl Program {
    /// Every node's value, by plain evaluation: the reference for all properties.
    fn eval(&self) -> Vec<i64> {
        let mut v: Vec<i64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let x = match node {
                Node::Lit(x) => *x,
                Node::Add(args) => args.iter().fold(0_i64, |s, &a| s.wrapping_add(v[a])),
                Node::Neg(a) => v[*a].wrapping_neg(),
                Node::MulBy(a, c) => v[*a].wrapping_mul(*c),
            };
            v.push(x);
        }
        v
    }

    fn expected(&self) -> Vec<i64> {
        let v = self.eval();
        self.outputs.iter().map(|&o| v[o]).collect()
    }

    fn output_keys(&self) -> Vec<Key> {
        self.outputs.iter().map(|&o| key(o)).collect()
    }

    /// The program as a task graph, one task per node.
    fn graph(&self) -> Graph {
        let mut g = Graph::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let (op, args): (Arc<dyn Op>, Vec<usize>) = match node {
                Node::Lit(x) => (Arc::new(Literal::new(*x)), vec![]),
                Node::Add(args) => (add_op(args.len()), args.clone()),
                Node::Neg(a) => (Arc::new(FnOp::new("neg", |x: &i64| x.wrapping_neg())), vec![*a]),
                Node::MulBy(a, c) => {
                    let c = *c;
                    (Arc::new(FnOp::new("mul", move |x: &i64| x.wrapping_mul(c))), vec![*a])
                }
            };
            let args: Vec<TaskId> = args.iter().map(|&a| g.id(&key(a)).unwrap()).collect();
            g.add_task(key(i), op, &args).unwrap();
        }
        g
    }

    /// The program through the Delayed API: plain constants become part of their task (`MulBy`),
    /// named functions dedupe equal calls (`Neg`), equal literals are one task.
    fn delayed(&self) -> Vec<Delayed<i64>> {
        let neg = delayed(|x: &i64| x.wrapping_neg()).name("neg");
        let mul = delayed(|x: &i64, c: &i64| x.wrapping_mul(*c));
        let mut d: Vec<Delayed<i64>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let x = match node {
                Node::Lit(x) => Delayed::value(*x),
                Node::Add(args) => match args[..] {
                    [a] => delayed(|a: &i64| *a).call((&d[a],)),
                    [a, b] => delayed(|a: &i64, b: &i64| a.wrapping_add(*b)).call((&d[a], &d[b])),
                    [a, b, c] => delayed(|a: &i64, b: &i64, c: &i64| a.wrapping_add(*b).wrapping_add(*c))
                        .call((&d[a], &d[b], &d[c])),
                    [a, b, c, e] => delayed(|a: &i64, b: &i64, c: &i64, e: &i64| {
                        a.wrapping_add(*b).wrapping_add(*c).wrapping_add(*e)
                    })
                    .call((&d[a], &d[b], &d[c], &d[e])),
                    _ => unreachable!("1 to 4 arguments"),
                },
                Node::Neg(a) => neg.call((&d[*a],)),
                Node::MulBy(a, c) => mul.call((&d[*a], *c)),
            };
            d.push(x);
        }
        self.outputs.iter().map(|&o| d[o].clone()).collect()
    }
}

fn key(i: usize) -> Key {
    Key::new("t", vec![i as u32])
}

fn add_op(arity: usize) -> Arc<dyn Op> {
    match arity {
        1 => Arc::new(FnOp::new("add", |a: &i64| *a)),
        2 => Arc::new(FnOp::new("add", |a: &i64, b: &i64| a.wrapping_add(*b))),
        3 => Arc::new(FnOp::new("add", |a: &i64, b: &i64, c: &i64| {
            a.wrapping_add(*b).wrapping_add(*c)
        })),
        4 => Arc::new(FnOp::new("add", |a: &i64, b: &i64, c: &i64, d: &i64| {
            a.wrapping_add(*b).wrapping_add(*c).wrapping_add(*d)
        })),
        _ => unreachable!("1 to 4 arguments"),
    }
}

/// An argument choice: often one of the last three tasks (which makes chains), else any earlier.
#[derive(Debug, Clone)]
struct Pick {
    recent: bool,
    index: Index,
}

impl Pick {
    fn resolve(&self, i: usize) -> usize {
        if self.recent {
            i - 1 - self.index.index(i.min(3))
        } else {
            self.index.index(i)
        }
    }
}

#[derive(Debug, Clone)]
enum Raw {
    Lit(i64),
    Add(Vec<Pick>),
    Neg(Pick),
    MulBy(Pick, i64),
}

fn pick() -> impl Strategy<Value = Pick> {
    (any::<bool>(), any::<Index>()).prop_map(|(recent, index)| Pick { recent, index })
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![4 => -100_i64..100, 1 => any::<i64>()]
}

fn raw() -> impl Strategy<Value = Raw> {
    prop_oneof![
        3 => number().prop_map(Raw::Lit),
        4 => prop::collection::vec(pick(), 1..=4).prop_map(Raw::Add),
        2 => pick().prop_map(Raw::Neg),
        2 => (pick(), number()).prop_map(|(p, c)| Raw::MulBy(p, c)),
    ]
}

/// Random DAGs of 1 to 59 tasks with 1 to 4 outputs.
fn program() -> impl Strategy<Value = Program> {
    (
        prop::collection::vec(raw(), 1..60),
        prop::collection::vec(any::<Index>(), 1..=4),
    )
        .prop_map(|(raw, outs)| {
            let nodes: Vec<Node> = raw
                .iter()
                .enumerate()
                .map(|(i, r)| match r {
                    Raw::Lit(x) => Node::Lit(*x),
                    _ if i == 0 => Node::Lit(1),
                    Raw::Add(args) => Node::Add(args.iter().map(|p| p.resolve(i)).collect()),
                    Raw::Neg(p) => Node::Neg(p.resolve(i)),
                    Raw::MulBy(p, c) => Node::MulBy(p.resolve(i), *c),
                })
                .collect();
            let outputs = outs.iter().map(|o| o.index(nodes.len())).collect();
            Program { nodes, outputs }
        })
}

fn ints(values: Vec<drask::graph::Value>) -> Vec<i64> {
    values
        .iter()
        .map(|v| *v.downcast_ref::<i64>().expect("an i64"))
        .collect()
}

fn run(executor: &dyn Executor, graph: &Graph, outputs: &[Key]) -> Vec<i64> {
    ints(executor.execute(graph, outputs, &[]).expect("the compute succeeds"))
}

fn three_threads() -> &'static Threaded {
    static POOL: OnceLock<Threaded> = OnceLock::new();
    POOL.get_or_init(|| Threaded::with_threads(3).expect("three threads"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn optimizing_never_changes_values(p in program()) {
        let (graph, outputs) = (p.graph(), p.output_keys());
        let expected = p.expected();
        prop_assert_eq!(run(&Synchronous, &graph, &outputs), expected.clone());
        let optimized = Optimizer::new().run(graph.clone(), &outputs);
        optimized.validate().unwrap();
        prop_assert!(optimized.len() <= graph.len());
        prop_assert_eq!(run(&Synchronous, &optimized, &outputs), expected);
    }

    #[test]
    fn threaded_agrees_with_synchronous(p in program()) {
        let (graph, outputs) = (p.graph(), p.output_keys());
        let optimized = Optimizer::new().run(graph.clone(), &outputs);
        let expected = p.expected();
        for g in [&graph, &optimized] {
            prop_assert_eq!(run(&Synchronous, g, &outputs), expected.clone());
            prop_assert_eq!(run(&Threaded::new(), g, &outputs), expected.clone());
            prop_assert_eq!(run(three_threads(), g, &outputs), expected.clone());
        }
    }

    #[test]
    fn every_pass_keeps_outputs_values_and_invariants(p in program()) {
        let (graph, outputs) = (p.graph(), p.output_keys());
        let expected = p.expected();
        let passes: [&dyn Pass; 3] = [&Cull, &Inline, &Fuse];
        // Each pass alone, and the default order step by step.
        let mut sequence = graph.clone();
        for pass in passes {
            for input in [graph.clone(), sequence.clone()] {
                let (before_len, before_text) = (input.len(), input.to_string());
                let out = pass.run(input, &outputs);
                let g = out.value;
                g.validate().unwrap();
                prop_assert!(outputs.iter().all(|k| g.id(k).is_some()), "{} dropped an output", pass.name());
                prop_assert!(g.len() <= before_len, "{} added tasks", pass.name());
                if !out.changed {
                    prop_assert_eq!(g.to_string(), before_text, "{} changed the graph but said not", pass.name());
                }
                prop_assert_eq!(run(&Synchronous, &g, &outputs), expected.clone(), "after {}", pass.name());
            }
            sequence = pass.run(sequence, &outputs).value;
        }
        // The default passes reach a fixed point in one round: a second finds nothing to do.
        for pass in passes {
            let again = pass.run(sequence.clone(), &outputs);
            prop_assert!(!again.changed, "{} changed an optimized graph:\n{}", pass.name(), sequence);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn delayed_programs_compute_what_plain_evaluation_does(p in program()) {
        let outputs = p.delayed();
        let expected = p.expected();
        let reference = ComputeOptions::new().executor(Synchronous).optimize(false);
        prop_assert_eq!(outputs.compute_with(&reference).unwrap(), expected.clone());
        prop_assert_eq!(outputs.compute().unwrap(), expected.clone());
        let optimized = outputs.graph(true).unwrap();
        prop_assert!(optimized.len() <= outputs.graph(false).unwrap().len());
        let threaded = ComputeOptions::new().executor(three_threads().clone()).optimize(false);
        prop_assert_eq!(outputs.compute_with(&threaded).unwrap(), expected);
    }
}

/// Many consumers of one value read it concurrently while the last of them moves it out: every
/// reader must see the value (a race here once made a reader find its input gone).
#[test]
fn many_concurrent_readers_of_one_value_all_see_it() {
    use drask::prelude::*;
    let executor = drask::sched::Threaded::with_threads(4).unwrap();
    let options = ComputeOptions::new().executor(executor).optimize(false);
    for round in 0..1000_u64 {
        let shared = delayed(move || vec![round; 64]).call(());
        let readers: Vec<Delayed<u64>> = (0..64)
            .map(|i| delayed(move |v: &Vec<u64>| v[i] + i as u64).call((&shared,)))
            .collect();
        let sums = Delayed::collect(readers).compute_with(&options).unwrap();
        assert_eq!(sums, (0..64).map(|i| round + i).collect::<Vec<_>>());
    }
}
