//! Every task's arguments as one compressed table, for passes and executors that walk a graph
//! many times.

use crate::graph::{Graph, TaskId};

/// Every task's arguments in argument order, in one allocation (compressed rows), and how many
/// argument slots use each task. Built in O(tasks + edges), without a per-task allocation.
#[derive(Debug)]
pub(crate) struct ArgTable {
    /// `args[offsets[i]..offsets[i + 1]]` are the arguments of task `i`.
    offsets: Vec<u32>,
    args: Vec<TaskId>,
    uses: Vec<u32>,
}

impl ArgTable {
    pub(crate) fn new(graph: &Graph) -> ArgTable {
        let n = graph.len();
        let mut offsets = vec![0u32; n + 1];
        let mut uses = vec![0u32; n];
        for (arg, consumer, _) in graph.arg_edges() {
            offsets[consumer.index() + 1] += 1;
            uses[arg.index()] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut args = vec![TaskId::from_index(0); graph.edge_count()];
        for (arg, consumer, position) in graph.arg_edges() {
            let (start, end) = (offsets[consumer.index()], offsets[consumer.index() + 1]);
            assert!(
                position < end - start,
                "argument position {position} out of range: a bug in Graph"
            );
            args[(start + position) as usize] = arg;
        }
        ArgTable { offsets, args, uses }
    }

    /// The arguments of `t`, in order (repeated where an argument is used twice).
    pub(crate) fn args(&self, t: TaskId) -> &[TaskId] {
        &self.args[self.offsets[t.index()] as usize..self.offsets[t.index() + 1] as usize]
    }

    /// How many argument slots use `t`.
    pub(crate) fn uses(&self, t: TaskId) -> u32 {
        self.uses[t.index()]
    }
}
