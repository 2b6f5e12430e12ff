//! Folds cheap tasks (those whose op [`is_cheap`](crate::graph::Op::is_cheap), such as literals)
//! into each of their consumers (Dask's `inline`), so a constant costs no task of its own.
//!
//! Rules:
//! - a task is *inlinable* if its op is cheap and its inlined expression (itself plus the
//!   inlinable tasks it reads, transitively) has at most 16 steps. Literals have one step, a
//!   cheap getter of a literal two; the bound keeps a long chain of cheap tasks from being copied
//!   whole into every consumer (quadratic work), and a cheap task over it stays a task;
//! - every consumer of an inlinable task gets a [`Fused`] op that computes the cheap value(s)
//!   first and then runs its own op, with its argument order unchanged. Its new inputs are the
//!   non-inlinable tasks it and the inlined tasks read, each once, in first-use order;
//! - an inlinable task that is an output stays (consumers still inline it); one that is not an
//!   output and has consumers disappears. A cheap task nobody reads is left to [`Cull`].
//!
//! The pass is one walk over the tasks in topological order: O(tasks + edges), times the small
//! step bound for consumers of cheap tasks that have arguments.
//!
//! [`Cull`]: crate::graph::optimize::Cull

use std::sync::Arc;

use crate::graph::optimize::{Fused, Pass, Rebuild, Step, StepArg, Transformed, output_mask};
use crate::graph::{ArgTable, Graph, Key, Op, TaskId};

/// The most steps a cheap task's inlined expression may have (see the module docs).
const MAX_INLINE_STEPS: u32 = 16;

/// Folds cheap tasks (literals) into each consumer, whose op becomes a [`Fused`] that computes
/// them first; its argument order is kept. A cheap task that is an output stays, one that is not
/// disappears. A cheap task with arguments is inlined too (its arguments become the consumer's),
/// as long as its inlined expression stays within 16 steps.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::delayed::FnOp;
/// use drask::graph::optimize::{Inline, Pass};
/// use drask::graph::{Graph, Key, Literal};
///
/// let mut g = Graph::new();
/// let x = g.add_task(Key::single("x"), Arc::new(Literal::new(1_i64)), &[])?;
/// g.add_task(Key::single("y"), Arc::new(FnOp::new("inc", |x: &i64| x + 1)), &[x])?;
/// let inlined = Inline.run(g, &[Key::single("y")]).value;
/// assert_eq!(inlined.to_string(), "'y' = literal+inc()\n");
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl Pass for Inline {
    fn name(&self) -> &'static str {
        "inline"
    }

    fn run(&self, graph: Graph, outputs: &[Key]) -> Transformed<Graph> {
        let table = ArgTable::new(&graph);
        let is_output = output_mask(&graph, outputs);
        // Steps of each task's inlined expression (over-counted where a cheap task is read twice),
        // or 0 if the task is not inlinable.
        let mut size = vec![0u32; graph.len()];
        for t in graph.ids() {
            if graph.task(t).op.is_cheap() {
                let s = table
                    .args(t)
                    .iter()
                    .fold(1u32, |s, a| s.saturating_add(size[a.index()]));
                if s <= MAX_INLINE_STEPS {
                    size[t.index()] = s;
                }
            }
        }
        let inlinable = |t: TaskId| size[t.index()] > 0;
        let removed = |t: TaskId| inlinable(t) && !is_output[t.index()] && table.uses(t) > 0;
        let rewritten = |t: TaskId| table.args(t).iter().any(|&a| inlinable(a));
        if !graph.ids().any(|t| removed(t) || rewritten(t)) {
            return Transformed::no(graph);
        }
        let kept = graph.ids().filter(|&t| !removed(t)).count();
        let mut rebuild = Rebuild::new(graph.len(), kept, graph.edge_count());
        let mut builder = Builder::new(&graph, &table, &size);
        for t in graph.ids().filter(|&t| !removed(t)) {
            let task = graph.task(t);
            if rewritten(t) {
                let (op, inputs) = builder.fuse_into(t);
                rebuild.add(t, task.key.clone(), op, &inputs);
            } else {
                rebuild.add(t, task.key.clone(), task.op.clone(), table.args(t));
            }
        }
        Transformed::yes(rebuild.finish())
    }
}

const NONE: u32 = u32::MAX;

/// Builds the fused op of one consumer at a time. The per-task maps are reset after each
/// consumer, touching only the entries it set, so the pass stays linear.
struct Builder<'g> {
    graph: &'g Graph,
    table: &'g ArgTable,
    size: &'g [u32],
    /// Task → its index among the consumer's new inputs.
    input_of: Vec<u32>,
    /// Task → the step that computes it inside the consumer's fused op.
    step_of: Vec<u32>,
    inputs: Vec<TaskId>,
    steps: Vec<Step>,
    embedded: Vec<TaskId>,
}

impl<'g> Builder<'g> {
    fn new(graph: &'g Graph, table: &'g ArgTable, size: &'g [u32]) -> Builder<'g> {
        Builder {
            graph,
            table,
            size,
            input_of: vec![NONE; graph.len()],
            step_of: vec![NONE; graph.len()],
            inputs: Vec::new(),
            steps: Vec::new(),
            embedded: Vec::new(),
        }
    }

    /// The op of `consumer` with its inlinable arguments computed inside it, and the tasks it
    /// now reads.
    fn fuse_into(&mut self, consumer: TaskId) -> (Arc<dyn Op>, Vec<TaskId>) {
        let args = self.table.args(consumer).iter().map(|&a| self.arg(a)).collect();
        let task = self.graph.task(consumer);
        self.steps.push(Step::keyed(task.key.clone(), task.op.clone(), args));
        let fused = Fused::new(std::mem::take(&mut self.steps)).expect("inline builds well-formed steps");
        for t in self.inputs.iter().chain(&self.embedded) {
            self.input_of[t.index()] = NONE;
            self.step_of[t.index()] = NONE;
        }
        self.embedded.clear();
        (fused, std::mem::take(&mut self.inputs))
    }

    fn arg(&mut self, a: TaskId) -> StepArg {
        if self.size[a.index()] > 0 {
            return self.embed(a);
        }
        if self.input_of[a.index()] == NONE {
            self.input_of[a.index()] = self.inputs.len() as u32;
            self.inputs.push(a);
        }
        StepArg::Input(self.input_of[a.index()])
    }

    /// Adds the steps that compute inlinable task `t`, once per consumer. Recursion is at most
    /// `MAX_INLINE_STEPS` deep: each level's expression is smaller than the one above.
    fn embed(&mut self, t: TaskId) -> StepArg {
        if self.step_of[t.index()] == NONE {
            let args = self.table.args(t).iter().map(|&a| self.arg(a)).collect();
            let task = self.graph.task(t);
            self.steps.push(Step::keyed(task.key.clone(), task.op.clone(), args));
            self.step_of[t.index()] = self.steps.len() as u32 - 1;
            self.embedded.push(t);
        }
        StepArg::Step(self.step_of[t.index()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delayed::FnOp;
    use crate::error::BoxError;
    use crate::graph::Value;
    use crate::graph::testing::{inc, keys, lit, sub, values};

    /// A cheap op with an argument, like a getter.
    #[derive(Debug)]
    struct Neg;

    impl Op for Neg {
        fn name(&self) -> &str {
            "neg"
        }

        fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
            Ok(Arc::new(-*inputs[0].downcast_ref::<i64>().ok_or("not an i64")?))
        }

        fn is_cheap(&self) -> bool {
            true
        }
    }

    #[test]
    fn folds_a_literal_used_by_two_consumers_and_keeps_an_output_literal() {
        let mut g = Graph::new();
        let k = lit(&mut g, "k", 10);
        let shown = lit(&mut g, "shown", 3);
        let x = g
            .add_task(Key::single("x"), Arc::new(FnOp::new("load", || 7_i64)), &[])
            .unwrap();
        let a = sub(&mut g, "a", x, k);
        let b = sub(&mut g, "b", k, x);
        sub(&mut g, "c", a, shown);
        sub(&mut g, "d", b, b);
        let outputs = keys(&["c", "d", "shown"]);
        let expected = values(&g, &outputs);
        let inlined = Inline.run(g, &outputs);
        assert!(inlined.changed);
        let g = inlined.value;
        g.validate().unwrap();
        assert_eq!(
            g.to_string(),
            "'shown' = literal()\n'x' = load()\n'a' = literal+sub('x')\n'b' = literal+sub('x')\n\
             'c' = literal+sub('a')\n'd' = sub('b', 'b')\n"
        );
        assert_eq!(values(&g, &outputs), expected);
        assert_eq!(expected, [-6, 0, 3]);
        assert_eq!(values(&g, &keys(&["a", "b"])), [-3, 3], "argument order is kept");
    }

    #[test]
    fn a_literal_read_twice_by_one_consumer_is_one_step() {
        let mut g = Graph::new();
        let k = lit(&mut g, "k", 4);
        let x = lit(&mut g, "x", 1);
        let y = sub(&mut g, "y", k, k);
        let z = sub(&mut g, "z", k, x);
        sub(&mut g, "out", y, z);
        let outputs = keys(&["out", "x"]);
        let g = Inline.run(g, &outputs).value;
        assert_eq!(
            g.to_string(),
            "'x' = literal()\n'y' = literal+sub()\n'z' = literal+literal+sub()\n'out' = sub('y', 'z')\n"
        );
        assert_eq!(values(&g, &outputs), [-3, 1]);
    }

    #[test]
    fn cheap_tasks_with_arguments_inline_transitively_and_their_inputs_move_up() {
        let mut g = Graph::new();
        let x = g
            .add_task(Key::single("x"), Arc::new(FnOp::new("load", || 5_i64)), &[])
            .unwrap();
        let k = lit(&mut g, "k", 2);
        let n = g.add_task(Key::single("n"), Arc::new(Neg), &[x]).unwrap();
        let nk = g.add_task(Key::single("nk"), Arc::new(Neg), &[k]).unwrap();
        sub(&mut g, "out", n, nk);
        let outputs = keys(&["out"]);
        let g = Inline.run(g, &outputs).value;
        g.validate().unwrap();
        assert_eq!(g.to_string(), "'x' = load()\n'out' = neg+literal+neg+sub('x')\n");
        assert_eq!(values(&g, &outputs), [-3]);
    }

    #[test]
    fn long_cheap_chains_stop_at_the_step_bound() {
        let mut g = Graph::new();
        let mut t = lit(&mut g, "n0", 1);
        for i in 1..40 {
            t = g.add_task(Key::single(format!("n{i}")), Arc::new(Neg), &[t]).unwrap();
        }
        inc(&mut g, "out", t);
        let outputs = keys(&["out"]);
        let g = Inline.run(g, &outputs).value;
        g.validate().unwrap();
        let fused = g.ids().filter(|&id| g.task(id).op.steps() > 1).count();
        assert!(g.len() < 40 && fused > 0, "{g}");
        assert!(g.ids().all(|id| g.task(id).op.steps() <= MAX_INLINE_STEPS as usize + 1));
        assert_eq!(values(&g, &outputs), [0]);
    }

    #[test]
    fn no_cheap_task_means_no_change() {
        let mut g = Graph::new();
        let x = g
            .add_task(Key::single("x"), Arc::new(FnOp::new("load", || 5_i64)), &[])
            .unwrap();
        inc(&mut g, "y", x);
        lit(&mut g, "unread", 1);
        let before = g.to_string();
        let out = Inline.run(g, &keys(&["y"]));
        assert!(!out.changed);
        assert_eq!(out.value.to_string(), before);
    }
}
