//! The ops bag layers run: typed closures over whole partitions, type-erased at the task edge.
//! Each carries the spec a worker rebuilds it from, when it has one (see [`remote`](super::remote)).

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Item;
use crate::error::BoxError;
use crate::graph::{Op, OpSpec, Value, take_value};

/// Calls `f` on one input partition (moved out of its value when this task is its last reader).
pub(crate) struct PartitionOp<T, U, F> {
    name: &'static str,
    f: F,
    spec: Option<OpSpec>,
    _t: PhantomData<fn(T) -> U>,
}

impl<T, U, F> PartitionOp<T, U, F> {
    pub(crate) fn new(name: &'static str, f: F) -> Self {
        PartitionOp {
            name,
            f,
            spec: None,
            _t: PhantomData,
        }
    }

    /// The op with the spec a worker rebuilds it from (`None`: it runs only locally).
    pub(crate) fn with_spec(mut self, spec: Option<OpSpec>) -> Self {
        self.spec = spec;
        self
    }
}

impl<T, U, F> fmt::Debug for PartitionOp<T, U, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<{}>", self.name, type_name::<T>())
    }
}

impl<T, U, F> Op for PartitionOp<T, U, F>
where
    T: Clone + Send + Sync + 'static,
    U: Send + Sync + 'static,
    F: Fn(T) -> Result<U, BoxError> + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let input = inputs.into_iter().next().ok_or("a partition op needs one input")?;
        Ok(Arc::new((self.f)(take_value::<T>(input)?)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        self.spec.clone()
    }
}

/// Calls `f` on all its inputs, each a `T` (moved where possible): combine steps and zips.
pub(crate) struct GatherOp<T, U, F> {
    name: &'static str,
    f: F,
    spec: Option<OpSpec>,
    _t: PhantomData<fn(T) -> U>,
}

impl<T, U, F> GatherOp<T, U, F> {
    pub(crate) fn new(name: &'static str, f: F) -> Self {
        GatherOp {
            name,
            f,
            spec: None,
            _t: PhantomData,
        }
    }

    /// The op with the spec a worker rebuilds it from (`None`: it runs only locally).
    pub(crate) fn with_spec(mut self, spec: Option<OpSpec>) -> Self {
        self.spec = spec;
        self
    }
}

impl<T, U, F> fmt::Debug for GatherOp<T, U, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<{}>", self.name, type_name::<T>())
    }
}

impl<T, U, F> Op for GatherOp<T, U, F>
where
    T: Clone + Send + Sync + 'static,
    U: Send + Sync + 'static,
    F: Fn(Vec<T>) -> Result<U, BoxError> + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let parts = inputs.into_iter().map(take_value::<T>).collect::<Result<Vec<T>, _>>()?;
        Ok(Arc::new((self.f)(parts)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        self.spec.clone()
    }
}

/// The op of [`Bag::map`](super::Bag::map).
pub(crate) fn map_op<T: Item, U: Item>(
    f: impl Fn(T) -> U + Send + Sync + 'static,
    spec: Option<OpSpec>,
) -> Arc<dyn Op> {
    let op = PartitionOp::new("map", move |p: Vec<T>| Ok(p.into_iter().map(&f).collect::<Vec<U>>()));
    Arc::new(op.with_spec(spec))
}

/// The op of [`Bag::try_map`](super::Bag::try_map).
pub(crate) fn try_map_op<T: Item, U: Item, E: Into<BoxError>>(
    f: impl Fn(T) -> Result<U, E> + Send + Sync + 'static,
    spec: Option<OpSpec>,
) -> Arc<dyn Op> {
    let op = PartitionOp::new("map", move |p: Vec<T>| {
        p.into_iter()
            .map(|x| f(x).map_err(Into::into))
            .collect::<Result<Vec<U>, BoxError>>()
    });
    Arc::new(op.with_spec(spec))
}

/// The op of [`Bag::filter`](super::Bag::filter).
pub(crate) fn filter_op<T: Item>(
    keep: impl Fn(&T) -> bool + Send + Sync + 'static,
    spec: Option<OpSpec>,
) -> Arc<dyn Op> {
    let op = PartitionOp::new("filter", move |mut p: Vec<T>| {
        p.retain(|x| keep(x));
        Ok(p)
    });
    Arc::new(op.with_spec(spec))
}

/// The op of [`Bag::flat_map`](super::Bag::flat_map).
pub(crate) fn flat_map_op<T: Item, U: Item, I: IntoIterator<Item = U>>(
    f: impl Fn(T) -> I + Send + Sync + 'static,
    spec: Option<OpSpec>,
) -> Arc<dyn Op> {
    let op = PartitionOp::new("flat_map", move |p: Vec<T>| {
        Ok(p.into_iter().flat_map(&f).collect::<Vec<U>>())
    });
    Arc::new(op.with_spec(spec))
}

/// The op of [`Bag::try_map_partitions`](super::Bag::try_map_partitions).
pub(crate) fn map_partitions_op<T: Item, U: Item, E: Into<BoxError>>(
    f: impl Fn(Vec<T>) -> Result<Vec<U>, E> + Send + Sync + 'static,
    spec: Option<OpSpec>,
) -> Arc<dyn Op> {
    let op = PartitionOp::new("map_partitions", move |p: Vec<T>| f(p).map_err(Into::into));
    Arc::new(op.with_spec(spec))
}
