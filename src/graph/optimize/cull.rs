//! Removes every task the outputs do not depend on (Dask's `cull`).
//!
//! A reverse walk from the output keys over argument edges marks what is needed; the rest is
//! dropped. O(tasks + edges), iterative, so a graph a million tasks deep is fine.

use crate::graph::optimize::{Pass, Rebuild, Transformed};
use crate::graph::{ArgTable, Graph, Key};

/// Drops the tasks no output needs. Keys, ops and argument order of the kept tasks are unchanged.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::graph::optimize::{Cull, Pass};
/// use drask::graph::{Graph, Key, Literal};
///
/// let mut g = Graph::new();
/// g.add_task(Key::single("used"), Arc::new(Literal::new(1_i64)), &[])?;
/// g.add_task(Key::single("unused"), Arc::new(Literal::new(2_i64)), &[])?;
/// let culled = Cull.run(g, &[Key::single("used")]);
/// assert!(culled.changed);
/// assert_eq!(culled.value.to_string(), "'used' = literal()\n");
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Cull;

impl Pass for Cull {
    fn name(&self) -> &'static str {
        "cull"
    }

    fn run(&self, graph: Graph, outputs: &[Key]) -> Transformed<Graph> {
        let table = ArgTable::new(&graph);
        let mut needed = vec![false; graph.len()];
        let mut stack = Vec::new();
        for id in outputs.iter().filter_map(|k| graph.id(k)) {
            if !needed[id.index()] {
                needed[id.index()] = true;
                stack.push(id);
            }
        }
        let (mut tasks, mut edges) = (0, 0);
        while let Some(t) = stack.pop() {
            tasks += 1;
            edges += table.args(t).len();
            for &a in table.args(t) {
                if !needed[a.index()] {
                    needed[a.index()] = true;
                    stack.push(a);
                }
            }
        }
        if tasks == graph.len() {
            return Transformed::no(graph);
        }
        let mut rebuild = Rebuild::new(graph.len(), tasks, edges);
        for id in graph.ids().filter(|id| needed[id.index()]) {
            let task = graph.task(id);
            rebuild.add(id, task.key.clone(), task.op.clone(), table.args(id));
        }
        Transformed::yes(rebuild.finish())
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::testing::{inc, lit, sub, values};
    use std::sync::Arc;

    use super::*;
    use crate::delayed::FnOp;

    #[test]
    fn drops_an_unrelated_branch() {
        let mut g = Graph::new();
        let x = lit(&mut g, "x", 10);
        let other = lit(&mut g, "other", 1);
        let y = lit(&mut g, "y", 3);
        let a = inc(&mut g, "a", x);
        inc(&mut g, "dead", other);
        sub(&mut g, "out", a, y);
        inc(&mut g, "dead-too", a);
        assert_eq!(
            g.to_string(),
            "'x' = literal()\n'other' = literal()\n'y' = literal()\n'a' = inc('x')\n'dead' = inc('other')\n\
             'out' = sub('a', 'y')\n'dead-too' = inc('a')\n"
        );
        let outputs = [Key::single("out")];
        let culled = Cull.run(g, &outputs);
        assert!(culled.changed);
        let g = culled.value;
        g.validate().unwrap();
        assert_eq!(
            g.to_string(),
            "'x' = literal()\n'y' = literal()\n'a' = inc('x')\n'out' = sub('a', 'y')\n"
        );
        assert_eq!(values(&g, &outputs), [8]);
    }

    #[test]
    fn keeps_argument_order_and_everything_needed() {
        let mut g = Graph::new();
        let x = lit(&mut g, "x", 1);
        let y = lit(&mut g, "y", 5);
        let d = sub(&mut g, "d", y, x);
        sub(&mut g, "e", d, d);
        let outputs = [Key::single("d"), Key::single("e")];
        let before = g.to_string();
        let culled = Cull.run(g, &outputs);
        assert!(!culled.changed, "every task is needed");
        assert_eq!(culled.value.to_string(), before);
        assert_eq!(values(&culled.value, &outputs), [4, 0]);
    }

    #[test]
    fn a_deep_chain_is_culled_without_recursion() {
        // Deep enough to overflow a test thread's stack if the walk recursed.
        let n = 200_000;
        let mut g = Graph::with_capacity(n + 1, n);
        let mut t = lit(&mut g, "t0", 0);
        let inc_op: Arc<dyn crate::graph::Op> = Arc::new(FnOp::new("inc", |x: &i64| x + 1));
        for i in 1..n as u32 {
            t = g.add_task(Key::new("t", vec![i]), inc_op.clone(), &[t]).unwrap();
        }
        lit(&mut g, "unused", 0);
        let culled = Cull.run(g, &[Key::new("t", vec![n as u32 - 1])]);
        assert!(culled.changed);
        assert_eq!(culled.value.len(), n);
        culled.value.validate().unwrap();
    }
}
