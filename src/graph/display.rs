//! Text and Graphviz views of a task graph, for `explain()` and golden tests.

use std::fmt::{self, Write};

use crate::graph::Graph;

/// One line a task, arguments first: `key = op(arg, arg)`.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for id in self.ids() {
            let task = self.task(id);
            write!(f, "{} = {}(", task.key, task.op.name())?;
            for (i, arg) in self.args(id).into_iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", self.task(arg).key)?;
            }
            f.write_str(")\n")?;
        }
        Ok(())
    }
}

impl Graph {
    /// The graph in Graphviz DOT: a box per task labelled with its key and op, an arrow from each
    /// argument to its consumer, labelled with the argument position when there are several.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let total = delayed(|a: &i32, b: &i32| a + b).name("add").call((1, 2));
    /// let dot = total.graph(false).unwrap().to_dot();
    /// assert!(dot.starts_with("digraph drask {"));
    /// assert!(dot.contains("add"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph drask {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n");
        for id in self.ids() {
            let task = self.task(id);
            let label = format!("{}\\n{}", escape(&task.key.to_string()), escape(task.op.name()));
            let _ = writeln!(dot, "  t{} [label=\"{label}\"];", id.index());
            let args = self.args(id);
            for (position, arg) in args.iter().enumerate() {
                if args.len() > 1 {
                    let _ = writeln!(dot, "  t{} -> t{} [label=\"{position}\"];", arg.index(), id.index());
                } else {
                    let _ = writeln!(dot, "  t{} -> t{};", arg.index(), id.index());
                }
            }
        }
        dot.push_str("}\n");
        dot
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
