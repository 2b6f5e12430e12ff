//! An op with some arguments fixed to literal values, as Dask embeds `1` in `(inc, 1)`: a plain
//! value passed to a delayed call becomes part of its task, not a task of its own.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::graph::{Op, OpSpec, Value};
use crate::registry::{self, EncodedValue, OpFactory};

/// Where one argument of the inner op comes from.
#[derive(Clone)]
pub(crate) enum Slot {
    /// The task's `n`-th input.
    Input(usize),
    /// A fixed value.
    Value(Value),
}

/// Calls `inner` with fixed values in some argument positions and the task's inputs in the rest.
pub(crate) struct Bind {
    inner: Arc<dyn Op>,
    slots: Vec<Slot>,
}

impl Bind {
    pub(crate) fn new(inner: Arc<dyn Op>, slots: Vec<Slot>) -> Bind {
        Bind { inner, slots }
    }
}

impl fmt::Debug for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bind({:?}, {} slots)", self.inner, self.slots.len())
    }
}

#[derive(Serialize, Deserialize)]
enum SlotSpec {
    Input(usize),
    Value(EncodedValue),
}

#[derive(Serialize, Deserialize)]
struct BindSpec {
    op: OpSpec,
    slots: Vec<SlotSpec>,
}

impl Op for Bind {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs: Vec<Option<Value>> = inputs.into_iter().map(Some).collect();
        let args = self
            .slots
            .iter()
            .map(|slot| match slot {
                // Each input fills one slot, so it can move.
                Slot::Input(i) => inputs
                    .get_mut(*i)
                    .and_then(Option::take)
                    .ok_or_else(|| format!("input {i} is missing or used twice").into()),
                Slot::Value(v) => Ok(v.clone()),
            })
            .collect::<Result<Vec<Value>, BoxError>>()?;
        self.inner.call(args)
    }

    fn spec(&self) -> Option<OpSpec> {
        let slots = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Input(i) => Some(SlotSpec::Input(*i)),
                Slot::Value(v) => registry::encode_value(v).ok().map(SlotSpec::Value),
            })
            .collect::<Option<Vec<_>>>()?;
        let spec = BindSpec {
            op: self.inner.spec()?,
            slots,
        };
        Some(OpSpec::new("bind", serde_json::to_value(spec).ok()?))
    }
}

inventory::submit! {
    OpFactory {
        name: "bind",
        build: |params| {
            let spec: BindSpec = serde_json::from_value(params.clone())?;
            let slots = spec
                .slots
                .into_iter()
                .map(|s| match s {
                    SlotSpec::Input(i) => Ok(Slot::Input(i)),
                    SlotSpec::Value(v) => registry::decode_value(&v).map(Slot::Value),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(Bind::new(registry::build_op(&spec.op)?, slots)))
        },
    }
}
