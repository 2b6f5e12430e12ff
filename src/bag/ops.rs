//! The ops bag layers run: typed closures over whole partitions, type-erased at the task edge.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::BoxError;
use crate::graph::{Op, Value, take_value};

/// Calls `f` on one input partition (moved out of its value when this task is its last reader).
pub(crate) struct PartitionOp<T, U, F> {
    name: &'static str,
    f: F,
    _t: PhantomData<fn(T) -> U>,
}

impl<T, U, F> PartitionOp<T, U, F> {
    pub(crate) fn new(name: &'static str, f: F) -> Self {
        PartitionOp {
            name,
            f,
            _t: PhantomData,
        }
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
}

/// Calls `f` on all its inputs, each a `T` (moved where possible): combine steps and zips.
pub(crate) struct GatherOp<T, U, F> {
    name: &'static str,
    f: F,
    _t: PhantomData<fn(T) -> U>,
}

impl<T, U, F> GatherOp<T, U, F> {
    pub(crate) fn new(name: &'static str, f: F) -> Self {
        GatherOp {
            name,
            f,
            _t: PhantomData,
        }
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
}
