//! Remote readiness for frames: every frame op is plain data with a serde form (polars
//! expressions serialise), so its spec is that data as JSON and its factory parses it back;
//! partitions cross process boundaries as Arrow IPC written and read by polars.

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{self as pl, IpcReader, IpcWriter, SerReader, SerWriter};
use serde::Serialize;

use crate::error::BoxError;
use crate::graph::{OpSpec, Value};

/// The spec of a frame op: its registered `name` and the op itself as JSON.
pub(crate) fn spec_of<T: Serialize>(name: &str, op: &T) -> Option<OpSpec> {
    serde_json::to_value(op).ok().map(|params| OpSpec::new(name, params))
}

/// Registers a factory that rebuilds a frame op from the JSON [`spec_of`] made.
macro_rules! frame_op_factory {
    ($($name:literal => $ty:ty),+ $(,)?) => {
        $(
            inventory::submit! {
                crate::registry::OpFactory {
                    name: $name,
                    build: |params| {
                        let op: $ty = serde_json::from_value(params.clone())?;
                        Ok(std::sync::Arc::new(op))
                    },
                }
            }
        )+
    };
}

frame_op_factory!(
    "frame-partition" => super::partition::PartitionTask,
    "frame-read-csv-skipping" => super::csv::ReadSkipping,
    "frame-count-skipped" => super::csv::SumSkippedOp,
    "frame-combine" => super::aggregate::CombineOp,
    "frame-concat" => super::shuffle::ConcatOp,
    "frame-split" => super::shuffle::SplitOp,
    "frame-pick" => super::shuffle::PickOp,
    "frame-join" => super::join::JoinOp,
    "frame-write" => super::write::WriteOp,
    "frame-height" => super::aggregate::HeightOp,
    "frame-sample" => super::sort::SampleOp,
    "frame-check-schema" => super::map::CheckSchema,
    "frame-size" => super::resize::SizeOp,
    "frame-concat-runs" => super::resize::ConcatRuns,
    "frame-quantile-sketch" => super::quantile::SketchOp,
    "frame-quantile-plan" => super::quantile::PlanQuantiles,
    "frame-quantile-window" => super::quantile::WindowOp,
    "frame-quantiles" => super::quantile::FinishQuantiles,
    "frame-name-quantiles" => super::quantile::NameQuantiles,
    "frame-describe" => super::describe::DescribeOp,
);

/// A partition as Arrow IPC bytes (polars' own writer).
fn encode_frame(value: &Value) -> Result<Vec<u8>, BoxError> {
    let df = value.downcast_ref::<pl::DataFrame>().ok_or("not a polars DataFrame")?;
    let mut bytes = Vec::new();
    IpcWriter::new(&mut bytes).finish(&mut df.clone())?;
    Ok(bytes)
}

fn decode_frame(bytes: &[u8]) -> Result<Value, BoxError> {
    let df = IpcReader::new(Cursor::new(bytes.to_vec())).finish()?;
    Ok(Arc::new(df))
}

inventory::submit! {
    crate::registry::ValueCodec {
        type_name: std::any::type_name::<pl::DataFrame>,
        type_id: std::any::TypeId::of::<pl::DataFrame>,
        encode: encode_frame,
        decode: decode_frame,
        collect: crate::delayed::collect_op::<pl::DataFrame>,
    }
}
