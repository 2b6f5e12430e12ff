//! The collection protocol (Dask's `__dask_graph__`, `__dask_keys__`, `__dask_postcompute__`)
//! and the one place where graphs are lowered, optimized and run.

use std::fmt::Write;
use std::sync::Arc;

use crate::error::Result;
use crate::graph::optimize::Optimizer;
use crate::graph::{Graph, Key, Node, Value, lower, nodes_in_order};
use crate::sched::{Callback, Executor, default_executor};

/// How to run a compute: which executor, whether to optimize, who observes.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let y = delayed(|x: &i64| x + 1).call((1_i64,));
/// let options = ComputeOptions::new().executor(drask::sched::Synchronous).optimize(false);
/// assert_eq!(y.compute_with(&options)?, 2);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ComputeOptions {
    executor: Arc<dyn Executor>,
    optimize: bool,
    callbacks: Vec<Arc<dyn Callback>>,
}

impl Default for ComputeOptions {
    fn default() -> Self {
        ComputeOptions::new()
    }
}

impl ComputeOptions {
    /// The default executor ([`Threaded`](crate::sched::Threaded) on rayon's global pool),
    /// optimization on, no callbacks.
    pub fn new() -> ComputeOptions {
        ComputeOptions {
            executor: default_executor(),
            optimize: true,
            callbacks: Vec::new(),
        }
    }

    /// Runs on `executor`.
    pub fn executor(self, executor: impl Executor + 'static) -> ComputeOptions {
        self.executor_arc(Arc::new(executor))
    }

    /// Runs on a shared executor.
    pub fn executor_arc(mut self, executor: Arc<dyn Executor>) -> ComputeOptions {
        self.executor = executor;
        self
    }

    /// Whether to run the optimizer passes (on by default). Off is for debugging and for
    /// checking that optimization does not change results.
    pub fn optimize(mut self, optimize: bool) -> ComputeOptions {
        self.optimize = optimize;
        self
    }

    /// Adds an observer of task starts and finishes.
    pub fn callback(mut self, callback: Arc<dyn Callback>) -> ComputeOptions {
        self.callbacks.push(callback);
        self
    }

    /// Shows a progress bar on standard error while the compute runs.
    #[cfg(feature = "progress")]
    pub fn progress(self) -> ComputeOptions {
        self.callback(Arc::new(crate::diagnostics::ProgressBar::new()))
    }

    /// The executor this compute will use.
    pub fn executor_ref(&self) -> &dyn Executor {
        &*self.executor
    }
}

/// A lazy collection: a set of output keys over a graph of nodes, and how to turn the keys'
/// values into the user's result. Implemented by [`Delayed`](crate::Delayed), the other
/// collections, and tuples and `Vec`s of collections (which compute together over one shared
/// graph).
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let x = delayed(|| 2_i64).call(());
/// let double = delayed(|x: &i64| x * 2).call((&x,));
/// let square = delayed(|x: &i64| x * x).call((&x,));
/// // `x` runs once for both results.
/// assert_eq!((double, square).compute()?, (4, 4));
/// # Ok::<(), drask::Error>(())
/// ```
pub trait Collection {
    /// What [`compute`](Collection::compute) returns.
    type Output;

    /// The high-level nodes this collection's keys are in.
    fn nodes(&self) -> Vec<Arc<Node>>;

    /// The keys whose values make up the result, in the order `finalize` reads them.
    fn keys(&self) -> Vec<Key>;

    /// Builds the result from the keys' values, taking as many as [`keys`](Collection::keys)
    /// returned.
    ///
    /// # Errors
    /// If a value has an unexpected type (a bug) or the collection's final step fails.
    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<Self::Output>;

    /// Computes the result with the default options: the threaded executor, optimized.
    ///
    /// # Errors
    /// The first failing task's error, naming its key; see [`Executor`].
    fn compute(&self) -> Result<Self::Output> {
        self.compute_with(&ComputeOptions::new())
    }

    /// Computes the result with `options`.
    ///
    /// # Errors
    /// The first failing task's error, naming its key; see [`Executor`].
    fn compute_with(&self, options: &ComputeOptions) -> Result<Self::Output> {
        let keys = self.keys();
        let graph = self.graph(options.optimize)?;
        for cb in &options.callbacks {
            cb.on_compute_start(graph.len());
        }
        let result = options.executor.execute(&graph, &keys, &options.callbacks);
        for cb in &options.callbacks {
            cb.on_compute_end(result.as_ref().err());
        }
        drop(graph);
        self.finalize(&mut result?.into_iter())
    }

    /// The task graph, optimized or as lowered.
    ///
    /// # Errors
    /// Only on a broken invariant (a bug).
    fn graph(&self, optimized: bool) -> Result<Graph> {
        let graph = lower(&self.nodes())?;
        Ok(if optimized {
            Optimizer::new().run(graph, &self.keys())
        } else {
            graph
        })
    }

    /// The graph at every stage, as text: the high-level operations, the task graph as lowered,
    /// what each optimizer pass did, and the optimized task graph.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let y = delayed(|x: &i64| x + 1).name("inc").call((1_i64,));
    /// let text = y.explain();
    /// assert!(text.contains("high-level graph: 1 operation"));
    /// assert!(text.contains("= inc()"));
    /// ```
    fn explain(&self) -> String {
        let mut out = String::new();
        let nodes = nodes_in_order(&self.nodes());
        let plural = if nodes.len() == 1 { "" } else { "s" };
        let _ = writeln!(out, "high-level graph: {} operation{plural}", nodes.len());
        for node in &nodes {
            let inputs: Vec<&str> = node.inputs().iter().map(|n| &**n.name()).collect();
            let _ = writeln!(
                out,
                "  {} = {}({})",
                node.name(),
                node.layer().op_name(),
                inputs.join(", ")
            );
        }
        let graph = match lower(&self.nodes()) {
            Ok(graph) => graph,
            Err(err) => {
                let _ = writeln!(out, "lowering failed: {err}");
                return out;
            }
        };
        let _ = writeln!(out, "task graph: {} tasks", graph.len());
        out.push_str(&indent(&graph.to_string()));
        let (optimized, reports) = Optimizer::new().run_with_report(graph, &self.keys());
        let passes: Vec<String> = reports
            .iter()
            .map(|r| format!("{} {} -> {}", r.pass, r.tasks_before, r.tasks_after))
            .collect();
        let _ = writeln!(out, "optimized ({}): {} tasks", passes.join(", "), optimized.len());
        out.push_str(&indent(&optimized.to_string()));
        out
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Computes several collections together over one shared graph: shared inputs run once.
///
/// # Examples
/// ```
/// let a = drask::delayed(|| 1_i32).call(());
/// let b = drask::delayed(|x: &i32| x + 1).call((&a,));
/// assert_eq!(drask::compute((a, b))?, (1, 2));
/// # Ok::<(), drask::Error>(())
/// ```
///
/// # Errors
/// The first failing task's error, naming its key.
pub fn compute<C: Collection>(collections: C) -> Result<C::Output> {
    collections.compute()
}

macro_rules! impl_collection_for_tuple {
    ($($C:ident $c:tt),+) => {
        impl<$($C: Collection),+> Collection for ($($C,)+) {
            type Output = ($($C::Output,)+);

            fn nodes(&self) -> Vec<Arc<Node>> {
                let mut nodes = Vec::new();
                $(nodes.extend(self.$c.nodes());)+
                nodes
            }

            fn keys(&self) -> Vec<Key> {
                let mut keys = Vec::new();
                $(keys.extend(self.$c.keys());)+
                keys
            }

            fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<Self::Output> {
                Ok(($(self.$c.finalize(values)?,)+))
            }
        }
    };
}

impl_collection_for_tuple!(A 0);
impl_collection_for_tuple!(A 0, B 1);
impl_collection_for_tuple!(A 0, B 1, C 2);
impl_collection_for_tuple!(A 0, B 1, C 2, D 3);
impl_collection_for_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_collection_for_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

impl<C: Collection> Collection for Vec<C> {
    type Output = Vec<C::Output>;

    fn nodes(&self) -> Vec<Arc<Node>> {
        self.iter().flat_map(|c| c.nodes()).collect()
    }

    fn keys(&self) -> Vec<Key> {
        self.iter().flat_map(|c| c.keys()).collect()
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<Self::Output> {
        self.iter().map(|c| c.finalize(values)).collect()
    }
}
