//! The bookkeeping every executor drives, with no threads of its own: which tasks a compute
//! needs, in what order, which are ready, and when an intermediate can be freed.
//!
//! [`Plan`] is built once per compute and never changes. [`RunState`] holds the counters; its
//! methods take `&self` and use atomics, so the threaded executor shares one `RunState` across
//! workers while the synchronous executor and the unit tests drive it from one thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, PanicError, Result, StepFailed};
use crate::graph::{ArgTable, Graph, Key, TaskId, Value};
use crate::sched::Callback;

/// A compressed list of lists (CSR): `items[offsets[i]..offsets[i + 1]]` belongs to `i`.
#[derive(Debug, Default)]
struct Lists {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Lists {
    fn get(&self, i: u32) -> &[u32] {
        &self.items[self.offsets[i as usize] as usize..self.offsets[i as usize + 1] as usize]
    }

    fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.items.capacity()) * 4
    }
}

/// The tasks one compute needs, numbered by static priority.
///
/// Only tasks the outputs depend on are kept (so even an unoptimized graph runs no more than it
/// must). They are numbered in the post-order of a depth-first walk from the outputs, visiting
/// arguments in order, as `dask.order` does in spirit: the walk finishes one argument's whole
/// subtree before it starts the next, so running ready tasks in this order completes chains and
/// small subtrees before opening new roots, and few intermediates are alive at once. Post-order
/// is also a topological order.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Plan index → graph task.
    tasks: Vec<TaskId>,
    /// Arguments of each planned task, as plan indices, in argument order.
    args: Lists,
    /// Consumers of each planned task, once per use.
    dependents: Lists,
    /// Tasks with no arguments, in priority order: where work starts.
    roots: Vec<u32>,
    /// The plan index of each requested output, in request order.
    outputs: Vec<u32>,
    /// Whether a task is an output, so its value is kept to the end.
    is_output: Vec<bool>,
}

impl Plan {
    /// Plans the tasks `outputs` need.
    ///
    /// # Errors
    /// [`Error::Internal`] if an output is not in the graph.
    pub(crate) fn new(graph: &Graph, outputs: &[Key]) -> Result<Plan> {
        let output_ids = graph.ids_of(outputs)?;
        const UNSEEN: u32 = u32::MAX;
        let mut plan_index = vec![UNSEEN; graph.len()];
        let mut tasks = Vec::new();
        let mut args = Lists {
            offsets: vec![0],
            items: Vec::new(),
        };
        let table = ArgTable::new(graph);
        // Iterative post-order: (task, how many of its arguments are visited).
        let mut stack: Vec<(TaskId, usize)> = Vec::new();
        for &out in &output_ids {
            if plan_index[out.index()] != UNSEEN {
                continue;
            }
            stack.push((out, 0));
            while let Some((task, next)) = stack.last_mut() {
                let task = *task;
                if let Some(&arg) = table.args(task).get(*next) {
                    *next += 1;
                    if plan_index[arg.index()] == UNSEEN {
                        // Mark now, so a diamond does not push the same task twice.
                        plan_index[arg.index()] = UNSEEN - 1;
                        stack.push((arg, 0));
                    }
                    continue;
                }
                stack.pop();
                plan_index[task.index()] = tasks.len() as u32;
                tasks.push(task);
                args.items
                    .extend(table.args(task).iter().map(|a| plan_index[a.index()]));
                args.offsets.push(args.items.len() as u32);
            }
        }
        let n = tasks.len();
        // Consumers, by counting then filling (no per-task allocation).
        let mut counts = vec![0u32; n + 1];
        for &a in &args.items {
            counts[a as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut items = vec![0u32; args.items.len()];
        for consumer in 0..n as u32 {
            for &a in args.get(consumer) {
                items[fill[a as usize] as usize] = consumer;
                fill[a as usize] += 1;
            }
        }
        let dependents = Lists { offsets: counts, items };
        let roots = (0..n as u32).filter(|&t| args.get(t).is_empty()).collect();
        let outputs: Vec<u32> = output_ids.iter().map(|o| plan_index[o.index()]).collect();
        let mut is_output = vec![false; n];
        for &o in &outputs {
            is_output[o as usize] = true;
        }
        Ok(Plan {
            tasks,
            args,
            dependents,
            roots,
            outputs,
            is_output,
        })
    }

    /// How many tasks will run.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The graph task behind plan index `t`.
    pub(crate) fn task(&self, t: u32) -> TaskId {
        self.tasks[t as usize]
    }

    /// Bytes this plan holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tasks.capacity() * 4
            + self.args.heap_bytes()
            + self.dependents.heap_bytes()
            + self.roots.capacity() * 4
            + self.outputs.capacity() * 4
            + self.is_output.capacity()
    }
}

/// The mutable side of one compute: counters, results and the first error.
pub(crate) struct RunState<'a> {
    graph: &'a Graph,
    plan: &'a Plan,
    callbacks: &'a [Arc<dyn Callback>],
    /// Arguments each task still waits for.
    waiting: Box<[AtomicU32]>,
    /// Consumers that have not yet read each task's value.
    unread: Box<[AtomicU32]>,
    /// Values computed and not yet freed.
    results: Box<[Mutex<Option<Value>>]>,
    next_root: AtomicUsize,
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
}

impl std::fmt::Debug for RunState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunState")
            .field("tasks", &self.plan.len())
            .finish_non_exhaustive()
    }
}

impl<'a> RunState<'a> {
    pub(crate) fn new(graph: &'a Graph, plan: &'a Plan, callbacks: &'a [Arc<dyn Callback>]) -> RunState<'a> {
        let n = plan.len() as u32;
        RunState {
            graph,
            plan,
            callbacks,
            waiting: (0..n).map(|t| AtomicU32::new(plan.args.get(t).len() as u32)).collect(),
            unread: (0..n)
                .map(|t| AtomicU32::new(plan.dependents.get(t).len() as u32))
                .collect(),
            results: (0..n).map(|_| Mutex::new(None)).collect(),
            next_root: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
        }
    }

    /// Bytes of bookkeeping per compute: the plan plus these counters and result slots.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.plan.heap_bytes()
            + self.waiting.len() * std::mem::size_of::<AtomicU32>()
            + self.unread.len() * std::mem::size_of::<AtomicU32>()
            + self.results.len() * std::mem::size_of::<Mutex<Option<Value>>>()
    }

    /// The next root in priority order, or `None` when all are handed out or a task failed.
    pub(crate) fn next_root(&self) -> Option<u32> {
        if self.is_failed() {
            return None;
        }
        let i = self.next_root.fetch_add(1, Ordering::Relaxed);
        self.plan.roots.get(i).copied()
    }

    /// Whether a task has failed, so no new task should start.
    pub(crate) fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Runs task `t` on the calling thread: gathers its arguments, tells the callbacks, calls the
    /// op and turns an error or a panic into an [`Error::Task`] naming the key.
    ///
    /// The last reader of a value moves it out of its slot instead of cloning the `Arc`, so the
    /// op owns it outright and can reuse its allocation; the value is freed when the op is done.
    pub(crate) fn run(&self, t: u32, worker: usize) -> Result<Value> {
        let task = self.graph.task(self.plan.task(t));
        let inputs: Vec<Value> = self
            .plan
            .args
            .get(t)
            .iter()
            .map(|&a| {
                // Count the read under the slot's lock: otherwise the last reader could take the
                // value between another reader's count and its clone.
                let mut slot = self.results[a as usize].lock();
                let last_reader = self.unread[a as usize].fetch_sub(1, Ordering::AcqRel) == 1;
                let value = if last_reader && !self.plan.is_output[a as usize] {
                    slot.take()
                } else {
                    slot.clone()
                };
                value.ok_or_else(|| Error::Internal(format!("{} ran before its argument", task.key)))
            })
            .collect::<Result<_>>()?;
        for cb in self.callbacks {
            cb.on_task_start(&task.key, worker);
        }
        let result = match catch_unwind(AssertUnwindSafe(|| task.op.call(inputs))) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(match source.downcast::<StepFailed>() {
                Ok(step) => Error::task(step.key, step.source),
                Err(source) => Error::task(task.key.clone(), source),
            }),
            Err(payload) => Err(Error::task(
                task.key.clone(),
                Box::new(PanicError::from_payload(payload)),
            )),
        };
        for cb in self.callbacks {
            cb.on_task_finish(&task.key, worker, result.as_ref().err());
        }
        result
    }

    /// Records that `t` finished with `value`: stores it if anyone will read it, and reports
    /// each consumer that became ready (in priority order) to `ready`.
    pub(crate) fn finish(&self, t: u32, value: Value, mut ready: impl FnMut(u32)) {
        if self.plan.dependents.get(t).is_empty() && !self.plan.is_output[t as usize] {
            return;
        }
        *self.results[t as usize].lock() = Some(value);
        for &d in self.plan.dependents.get(t) {
            if self.waiting[d as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                ready(d);
            }
        }
    }

    /// Records a failure; the first one wins and stops new work.
    pub(crate) fn fail(&self, error: Error) {
        let mut slot = self.error.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
        self.failed.store(true, Ordering::Release);
    }

    /// The outputs' values in request order, or the first error.
    pub(crate) fn into_outputs(self) -> Result<Vec<Value>> {
        if let Some(error) = self.error.into_inner() {
            return Err(error);
        }
        let results = self.results;
        self.plan
            .outputs
            .iter()
            .map(|&o| {
                results[o as usize].lock().clone().ok_or_else(|| {
                    let key = &self.graph.task(self.plan.task(o)).key;
                    Error::Internal(format!("output {key} was never computed"))
                })
            })
            .collect()
    }

    #[cfg(test)]
    fn is_held(&self, t: u32) -> bool {
        self.results[t as usize].lock().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delayed::FnOp;

    use crate::graph::testing::{add, lit};

    /// Runs the state to completion from one thread, always taking the newest ready task.
    fn drive(state: &RunState<'_>) -> Vec<u32> {
        let mut order = Vec::new();
        let mut stack = Vec::new();
        while let Some(t) = stack.pop().or_else(|| state.next_root()) {
            order.push(t);
            let v = state.run(t, 0).unwrap();
            state.finish(t, v, |r| stack.push(r));
        }
        order
    }

    #[test]
    fn plan_keeps_only_needed_tasks_in_depth_first_post_order() {
        let mut g = Graph::new();
        let a = lit(&mut g, "a", 1);
        let b = lit(&mut g, "b", 2);
        let unused = lit(&mut g, "unused", 3);
        let c = lit(&mut g, "c", 4);
        let d = lit(&mut g, "d", 5);
        let ab = add(&mut g, "ab", a, b);
        let cd = add(&mut g, "cd", c, d);
        add(&mut g, "top", ab, cd);
        let _ = unused;
        let plan = Plan::new(&g, &[Key::single("top")]).unwrap();
        let names: Vec<_> = (0..plan.len() as u32)
            .map(|t| g.task(plan.task(t)).key.name().to_string())
            .collect();
        assert_eq!(names, ["a", "b", "ab", "c", "d", "cd", "top"]);
        assert_eq!(plan.roots, [0, 1, 3, 4]);
        assert_eq!(plan.dependents.get(0), [2]);
        assert_eq!(plan.args.get(6), [2, 5]);
    }

    #[test]
    fn ready_set_and_early_release() {
        let mut g = Graph::new();
        let a = lit(&mut g, "a", 1);
        let b = lit(&mut g, "b", 2);
        let ab = add(&mut g, "ab", a, b);
        let aa = add(&mut g, "aa", a, a);
        add(&mut g, "top", ab, aa);
        let plan = Plan::new(&g, &[Key::single("top"), Key::single("ab")]).unwrap();
        // Order: a(0) b(1) ab(2) aa(3) top(4).
        let state = RunState::new(&g, &plan, &[]);
        assert_eq!(state.next_root(), Some(0));
        let v = state.run(0, 0).unwrap();
        let mut ready = vec![];
        state.finish(0, v, |r| ready.push(r));
        assert_eq!(ready, [3], "aa reads only a, twice: ready once a is done");
        assert!(state.is_held(0));
        let v = state.run(3, 0).unwrap();
        state.finish(3, v, |r| ready.push(r));
        assert!(state.is_held(0), "ab has not read a yet");
        assert_eq!(state.next_root(), Some(1));
        let v = state.run(1, 0).unwrap();
        state.finish(1, v, |r| ready.push(r));
        assert_eq!(ready, [3, 2]);
        let v = state.run(2, 0).unwrap();
        state.finish(2, v, |r| ready.push(r));
        assert!(
            !state.is_held(0) && !state.is_held(1),
            "a and b are freed after their last reader"
        );
        assert!(state.is_held(2), "ab is an output: kept");
        let v = state.run(4, 0).unwrap();
        state.finish(4, v, |_| unreachable!());
        assert!(!state.is_held(3));
        assert_eq!(state.next_root(), None);
        let out = state.into_outputs().unwrap();
        assert_eq!(*out[0].downcast_ref::<i64>().unwrap(), 5);
        assert_eq!(*out[1].downcast_ref::<i64>().unwrap(), 3);
    }

    #[test]
    fn tree_reduction_holds_few_values_at_once() {
        // 64 leaves reduced pairwise: depth-first order keeps at most ~log2(64) + 1 values alive.
        let mut g = Graph::new();
        let mut level: Vec<TaskId> = (0..64).map(|i| lit(&mut g, &format!("leaf{i}"), i)).collect();
        let mut n = 0;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    n += 1;
                    add(&mut g, &format!("sum{n}"), p[0], p[1])
                })
                .collect();
        }
        let top = g.task(level[0]).key.clone();
        let plan = Plan::new(&g, std::slice::from_ref(&top)).unwrap();
        let state = RunState::new(&g, &plan, &[]);
        let mut stack = Vec::new();
        let mut peak = 0;
        while let Some(t) = stack.pop().or_else(|| state.next_root()) {
            let v = state.run(t, 0).unwrap();
            state.finish(t, v, |r| stack.push(r));
            peak = peak.max((0..plan.len() as u32).filter(|&t| state.is_held(t)).count());
        }
        assert!(peak <= 7, "peak {peak} values alive");
        let out = state.into_outputs().unwrap();
        assert_eq!(*out[0].downcast_ref::<i64>().unwrap(), (0..64).sum::<i64>());
    }

    #[test]
    fn failure_stops_new_roots_and_is_reported_first_wins() {
        let mut g = Graph::new();
        let a = lit(&mut g, "a", 1);
        lit(&mut g, "b", 2);
        let bad = g
            .add_task(
                Key::single("bad"),
                Arc::new(FnOp::new("boom", |_: &i64| -> i64 { panic!("exploded") })),
                &[a],
            )
            .unwrap();
        let _ = bad;
        let plan = Plan::new(&g, &[Key::single("bad"), Key::single("b")]).unwrap();
        let state = RunState::new(&g, &plan, &[]);
        let r = state.next_root().unwrap();
        let v = state.run(r, 0).unwrap();
        let mut ready = vec![];
        state.finish(r, v, |t| ready.push(t));
        let err = state.run(ready[0], 0).unwrap_err();
        assert_eq!(err.key(), Some(&Key::single("bad")));
        assert!(err.to_string().contains("exploded"), "{err}");
        state.fail(err);
        state.fail(Error::Internal("second".into()));
        assert_eq!(state.next_root(), None);
        let err = state.into_outputs().unwrap_err();
        assert!(err.to_string().contains("exploded"));
    }

    /// Returns how many references its input had when it ran.
    #[derive(Debug)]
    struct RefCount;

    impl crate::graph::Op for RefCount {
        fn name(&self) -> &str {
            "refcount"
        }

        fn call(&self, inputs: Vec<Value>) -> Result<Value, crate::BoxError> {
            Ok(Arc::new(Arc::strong_count(&inputs[0]) as i64))
        }
    }

    #[test]
    fn the_last_reader_owns_its_input() {
        let mut g = Graph::new();
        let x = crate::graph::testing::load(&mut g, "x", 7);
        let first = g.add_task(Key::single("first"), Arc::new(RefCount), &[x]).unwrap();
        let second = g.add_task(Key::single("second"), Arc::new(RefCount), &[x]).unwrap();
        let _ = (first, second);
        let plan = Plan::new(&g, &[Key::single("first"), Key::single("second")]).unwrap();
        let state = RunState::new(&g, &plan, &[]);
        drive(&state);
        let out = state.into_outputs().unwrap();
        let mut counts: Vec<i64> = out.iter().map(|v| *v.downcast_ref::<i64>().unwrap()).collect();
        counts.sort_unstable();
        // Whichever runs first shares the value with its slot; the last reader owns it.
        assert_eq!(counts, [1, 2]);
    }

    #[test]
    fn drive_visits_every_task_once() {
        let mut g = Graph::new();
        let a = lit(&mut g, "a", 1);
        let b = add(&mut g, "b", a, a);
        add(&mut g, "c", b, a);
        let plan = Plan::new(&g, &[Key::single("c")]).unwrap();
        let state = RunState::new(&g, &plan, &[]);
        assert_eq!(drive(&state), [0, 1, 2]);
        assert_eq!(*state.into_outputs().unwrap()[0].downcast_ref::<i64>().unwrap(), 3);
    }
}
