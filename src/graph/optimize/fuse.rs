//! Merges linear chains of tasks into one task each (Dask's `fuse_linear`).
//!
//! Rule: task `b` is merged into task `c` when `c` is `b`'s only consumer with exactly one use
//! edge, `c` has exactly one argument edge (which is `b`), and `b` is not an output. Links
//! compose, so a chain `a -> b -> c -> d` becomes one task with `d`'s key (outputs and later
//! tasks name it), whose op is the [`Fused`] `a+b+c+d`, and whose arguments are `a`'s. The head of
//! a chain may have any number of arguments; every later link has exactly one.
//!
//! Requiring a single argument edge of the consumer is what keeps parallelism: the branches of a
//! tree reduction (`add(inc(x), inc(y))`) are never merged into their join, so a reduction over
//! 100k leaves keeps its 100k parallel tasks instead of becoming one. A shared task (two use
//! edges, as in a diamond) is never merged either, so no work is duplicated, and since a merged
//! task's inputs are its head's arguments, which all come before it, the result stays a DAG.
//!
//! One walk over the tasks in topological order: O(tasks + edges), iterative, fine on a chain a
//! million tasks long (one `Fused` of a million steps).

use std::sync::Arc;

use crate::graph::optimize::{Fused, Pass, Rebuild, Transformed, output_mask};
use crate::graph::{ArgTable, Graph, Key, Op, TaskId};

/// Merges linear chains (Dask's `fuse_linear`): a task that is not an output and whose only use
/// is the only argument of its consumer is merged into that consumer, which keeps its key and
/// runs a [`Fused`] op. Chains of any length become one task; joins with several argument edges
/// (tree reductions) and tasks with several uses (diamonds) are left alone, so parallelism stays.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::delayed::FnOp;
/// use drask::graph::optimize::{Fuse, Pass};
/// use drask::graph::{Graph, Key};
///
/// let mut g = Graph::new();
/// let x = g.add_task(Key::single("x"), Arc::new(FnOp::new("load", || 1_i64)), &[])?;
/// let y = g.add_task(Key::single("y"), Arc::new(FnOp::new("inc", |x: &i64| x + 1)), &[x])?;
/// g.add_task(Key::single("z"), Arc::new(FnOp::new("double", |x: &i64| x * 2)), &[y])?;
/// let fused = Fuse.run(g, &[Key::single("z")]).value;
/// assert_eq!(fused.to_string(), "'z' = load+inc+double()\n");
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Fuse;

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&self, graph: Graph, outputs: &[Key]) -> Transformed<Graph> {
        let table = ArgTable::new(&graph);
        let is_output = output_mask(&graph, outputs);
        // `merged[b]`: `b` is merged into its only consumer, which has `b` as its only argument.
        let mut merged = vec![false; graph.len()];
        let mut any = false;
        for c in graph.ids() {
            if let &[b] = table.args(c)
                && table.uses(b) == 1
                && !is_output[b.index()]
            {
                merged[b.index()] = true;
                any = true;
            }
        }
        if !any {
            return Transformed::no(graph);
        }
        let kept = merged.iter().filter(|m| !**m).count();
        let mut rebuild = Rebuild::new(graph.len(), kept, graph.edge_count());
        let mut chain: Vec<TaskId> = Vec::new();
        for tail in graph.ids().filter(|t| !merged[t.index()]) {
            let task = graph.task(tail);
            // Walk back from the tail while the single argument is merged into its consumer.
            chain.clear();
            chain.push(tail);
            let mut head = tail;
            while let &[b] = table.args(head) {
                if !merged[b.index()] {
                    break;
                }
                head = b;
                chain.push(head);
            }
            if chain.len() == 1 {
                rebuild.add(tail, task.key.clone(), task.op.clone(), table.args(tail));
                continue;
            }
            let inputs = table.args(head);
            let links = chain
                .iter()
                .rev()
                .map(|&t| (Some(graph.task(t).key.clone()), graph.task(t).op.clone()));
            let fused: Arc<dyn Op> = Fused::keyed_chain(inputs.len() as u32, links).expect("a chain is well-formed");
            rebuild.add(tail, task.key.clone(), fused, inputs);
        }
        Transformed::yes(rebuild.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delayed::FnOp;

    use crate::graph::optimize::{Inline, Optimizer};
    use crate::graph::testing::{double, inc, keys, lit, load, sub, values};
    use crate::registry::GraphSpec;

    /// Runs `Fuse`, checks the graph's invariants and that the outputs' values did not change.
    fn fuse(g: Graph, outputs: &[Key]) -> Transformed<Graph> {
        let before = values(&g, outputs);
        let out = Fuse.run(g, outputs);
        out.value.validate().unwrap();
        assert_eq!(values(&out.value, outputs), before);
        out
    }

    #[test]
    fn collapses_a_four_chain_into_the_last_key() {
        let mut g = Graph::new();
        let a = load(&mut g, "a", 3);
        let b = inc(&mut g, "b", a);
        let c = inc(&mut g, "c", b);
        double(&mut g, "d", c);
        let outputs = keys(&["d"]);
        let out = fuse(g, &outputs);
        assert!(out.changed);
        assert_eq!(out.value.to_string(), "'d' = load+inc+inc+double()\n");
        assert_eq!(out.value.task(TaskId::from_index(0)).op.steps(), 4);
        assert_eq!(values(&out.value, &outputs), [10]);
    }

    #[test]
    fn the_head_of_a_chain_keeps_its_arguments_in_order() {
        let mut g = Graph::new();
        let x = load(&mut g, "x", 10);
        let y = load(&mut g, "y", 3);
        let d = sub(&mut g, "d", x, y);
        let e = inc(&mut g, "e", d);
        double(&mut g, "f", e);
        let outputs = keys(&["f"]);
        let out = fuse(g, &outputs);
        assert_eq!(
            out.value.to_string(),
            "'x' = load()\n'y' = load()\n'f' = sub+inc+double('x', 'y')\n"
        );
        assert_eq!(values(&out.value, &outputs), [16]);
    }

    #[test]
    fn leaves_a_diamonds_shared_node_alone() {
        let mut g = Graph::new();
        let x = load(&mut g, "x", 1);
        let s = inc(&mut g, "shared", x);
        let l = inc(&mut g, "left", s);
        let l2 = double(&mut g, "left2", l);
        let r = double(&mut g, "right", s);
        sub(&mut g, "join", l2, r);
        let outputs = keys(&["join"]);
        let out = fuse(g, &outputs);
        assert_eq!(
            out.value.to_string(),
            "'shared' = load+inc()\n'left2' = inc+double('shared')\n'right' = double('shared')\n\
             'join' = sub('left2', 'right')\n"
        );
        assert_eq!(values(&out.value, &outputs), [2]);
    }

    #[test]
    fn keeps_an_output_in_the_middle_of_a_chain() {
        let mut g = Graph::new();
        let a = load(&mut g, "a", 1);
        let b = inc(&mut g, "b", a);
        let c = inc(&mut g, "c", b);
        let d = double(&mut g, "d", c);
        inc(&mut g, "e", d);
        let outputs = keys(&["e", "b"]);
        let out = fuse(g, &outputs);
        assert_eq!(out.value.to_string(), "'b' = load+inc()\n'e' = inc+double+inc('b')\n");
        assert_eq!(values(&out.value, &outputs), [7, 2]);
    }

    #[test]
    fn a_tree_reduction_keeps_its_tasks() {
        let mut g = Graph::new();
        let mut level: Vec<TaskId> = (0..8).map(|i| load(&mut g, &format!("leaf{i}"), i)).collect();
        let mut n = 0;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    n += 1;
                    sub(&mut g, &format!("sum{n}"), p[0], p[1])
                })
                .collect();
        }
        let outputs = vec![g.task(level[0]).key.clone()];
        let before = g.to_string();
        let out = fuse(g, &outputs);
        assert!(!out.changed);
        assert_eq!(out.value.to_string(), before);
        assert_eq!(out.value.len(), 15);
    }

    #[test]
    fn an_argument_used_twice_is_not_a_chain() {
        let mut g = Graph::new();
        let x = load(&mut g, "x", 4);
        sub(&mut g, "y", x, x);
        let outputs = keys(&["y"]);
        let out = fuse(g, &outputs);
        assert!(!out.changed);
        assert_eq!(out.value.to_string(), "'x' = load()\n'y' = sub('x', 'x')\n");
    }

    #[test]
    fn fusing_after_inline_flattens_the_fused_ops() {
        let mut g = Graph::new();
        let k = lit(&mut g, "k", 5);
        let x = load(&mut g, "x", 1);
        let y = sub(&mut g, "y", x, k);
        let z = inc(&mut g, "z", y);
        sub(&mut g, "w", k, z);
        let outputs = keys(&["w"]);
        let expected = values(&g, &outputs);
        let g = Inline.run(g, &outputs).value;
        assert_eq!(
            g.to_string(),
            "'x' = load()\n'y' = literal+sub('x')\n'z' = inc('y')\n'w' = literal+sub('z')\n"
        );
        let out = fuse(g, &outputs);
        assert_eq!(out.value.to_string(), "'w' = load+literal+sub+inc+literal+sub()\n");
        let op = &out.value.task(TaskId::from_index(0)).op;
        let fused = Fused::downcast(&**op).expect("a Fused");
        assert!(fused.parts().iter().all(|s| s.op.steps() == 1), "flat, not nested");
        assert_eq!(values(&out.value, &outputs), expected);
        assert_eq!(expected, [8]);
    }

    #[test]
    fn a_million_long_chain_becomes_one_task() {
        let n = 1_000_000;
        let mut g = Graph::with_capacity(n, n);
        let mut t = lit(&mut g, "t0", 0);
        let inc_op: Arc<dyn Op> = Arc::new(FnOp::new("inc", |x: &i64| x + 1));
        for i in 1..n as u32 {
            t = g.add_task(Key::new("t", vec![i]), inc_op.clone(), &[t]).unwrap();
        }
        let outputs = vec![g.task(t).key.clone()];
        let out = Fuse.run(g, &outputs);
        assert!(out.changed);
        assert_eq!(out.value.len(), 1);
        assert_eq!(out.value.task(TaskId::from_index(0)).op.steps(), n);
        assert_eq!(values(&out.value, &outputs), [n as i64 - 1]);
    }

    mod registered {
        //! Functions registered by name, so fused graphs of them have specs.
        pub(super) fn inc(x: &i64) -> i64 {
            x + 1
        }

        pub(super) fn sub(a: &i64, b: &i64) -> i64 {
            a - b
        }

        crate::register_fn!(inc);
        crate::register_fn!(sub);
    }

    #[test]
    fn a_fused_graph_round_trips_through_its_spec() {
        let inc_path = concat!(module_path!(), "::registered::inc");
        let sub_path = concat!(module_path!(), "::registered::sub");
        let inc_op: Arc<dyn Op> = Arc::new(FnOp::registered("inc", inc_path, registered::inc));
        let sub_op: Arc<dyn Op> = Arc::new(FnOp::registered("sub", sub_path, registered::sub));
        let mut g = Graph::new();
        let x = lit(&mut g, "x", 40);
        let k = lit(&mut g, "k", 2);
        let a = g.add_task(Key::single("a"), inc_op.clone(), &[x]).unwrap();
        let b = g.add_task(Key::single("b"), inc_op.clone(), &[a]).unwrap();
        let c = g.add_task(Key::single("c"), sub_op.clone(), &[b, k]).unwrap();
        g.add_task(Key::new("out", vec![0, 1]), inc_op, &[c]).unwrap();
        let outputs = vec![Key::new("out", vec![0, 1]), Key::single("x")];
        let expected = values(&g, &outputs);
        let optimized = Optimizer::new().run(g, &outputs);
        let text = "'x' = literal()\n('out', 0, 1) = literal+inc+inc+literal+sub+inc()\n";
        assert_eq!(optimized.to_string(), text);
        let spec = GraphSpec::from_graph(&optimized).unwrap();
        assert_eq!(spec.tasks[1].op.name, "fused");
        let wire = serde_json::to_string(&spec).unwrap();
        let back: GraphSpec = serde_json::from_str(&wire).unwrap();
        let rebuilt = back.to_graph().unwrap();
        rebuilt.validate().unwrap();
        assert_eq!(rebuilt.to_string(), text);
        assert_eq!(rebuilt.task(TaskId::from_index(1)).op.steps(), 6);
        assert_eq!(values(&rebuilt, &outputs), expected);
        assert_eq!(expected, [41, 40]);
    }
}
