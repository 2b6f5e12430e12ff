//! Small hand-built graphs of i64 ops, for the unit tests of passes and executors.

use std::sync::Arc;

use crate::delayed::FnOp;
use crate::graph::{Graph, Key, Literal, Op, TaskId};
use crate::sched::{Executor, Synchronous};

fn task(g: &mut Graph, name: &str, op: impl Op + 'static, args: &[TaskId]) -> TaskId {
    g.add_task(Key::single(name), Arc::new(op), args).unwrap()
}

/// A literal (a cheap op, which `inline` folds).
pub(crate) fn lit(g: &mut Graph, name: &str, v: i64) -> TaskId {
    task(g, name, Literal::new(v), &[])
}

/// A root that is not cheap, like reading a file.
pub(crate) fn load(g: &mut Graph, name: &str, v: i64) -> TaskId {
    task(g, name, FnOp::new("load", move || v), &[])
}

pub(crate) fn inc(g: &mut Graph, name: &str, x: TaskId) -> TaskId {
    task(g, name, FnOp::new("inc", |x: &i64| x + 1), &[x])
}

pub(crate) fn double(g: &mut Graph, name: &str, x: TaskId) -> TaskId {
    task(g, name, FnOp::new("double", |x: &i64| x * 2), &[x])
}

pub(crate) fn add(g: &mut Graph, name: &str, a: TaskId, b: TaskId) -> TaskId {
    task(g, name, FnOp::new("add", |a: &i64, b: &i64| a + b), &[a, b])
}

pub(crate) fn sub(g: &mut Graph, name: &str, a: TaskId, b: TaskId) -> TaskId {
    task(g, name, FnOp::new("sub", |a: &i64, b: &i64| a - b), &[a, b])
}

/// The outputs' values, computed by the reference executor.
pub(crate) fn values(g: &Graph, outputs: &[Key]) -> Vec<i64> {
    let out = Synchronous.execute(g, outputs, &[]).unwrap();
    out.iter().map(|v| *v.downcast_ref::<i64>().unwrap()).collect()
}

pub(crate) fn keys(names: &[&str]) -> Vec<Key> {
    names.iter().map(|n| Key::single(*n)).collect()
}
