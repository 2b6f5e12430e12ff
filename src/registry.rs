//! Names that let another process rebuild what this one built: op factories (built-in ops and
//! user functions registered with [`register_fn!`](crate::register_fn)) and value codecs.
//!
//! Both are collected at link time with `inventory`, so a worker running the same binary knows
//! every name the client knows, without a start-up registration call.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{BoxError, Error, Result};
use crate::graph::{Graph, Key, Literal, Op, OpSpec, TaskId, Value};

/// Rebuilds an op from its [`OpSpec`] parameters. Submit one with `inventory::submit!` (built-in
/// ops) or [`register_fn!`](crate::register_fn) (user functions).
#[derive(Debug)]
pub struct OpFactory {
    /// The name specs refer to.
    pub name: &'static str,
    /// Builds the op from the spec's parameters.
    pub build: fn(&serde_json::Value) -> Result<Arc<dyn Op>, BoxError>,
}

inventory::collect!(OpFactory);

/// Encodes and decodes values of one type for crossing a process boundary.
#[derive(Debug)]
pub struct ValueCodec {
    /// The type's name, as `std::any::type_name` gives it; what encoded values are tagged with.
    pub type_name: fn() -> &'static str,
    /// The type's id, to find the codec for a type-erased value.
    pub type_id: fn() -> TypeId,
    /// Encodes a value of this type.
    pub encode: fn(&Value) -> Result<Vec<u8>, BoxError>,
    /// Decodes bytes made by `encode`.
    pub decode: fn(&[u8]) -> Result<Value, BoxError>,
    /// The op that gathers values of this type into a `Vec` (what `Delayed::collect` runs), so
    /// that a worker can rebuild it from the type's name alone.
    pub collect: fn() -> Arc<dyn Op>,
}

inventory::collect!(ValueCodec);

/// A value in its wire form: the type's name and the codec's bytes.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::registry::{decode_value, encode_value};
/// let encoded = encode_value(&(Arc::new(vec![1.5_f64, -2.0]) as drask::graph::Value)).unwrap();
/// let back = decode_value(&encoded).unwrap();
/// assert_eq!(back.downcast_ref::<Vec<f64>>(), Some(&vec![1.5, -2.0]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedValue {
    /// `std::any::type_name` of the value's type.
    pub type_name: String,
    /// The codec's bytes.
    pub bytes: Vec<u8>,
}

fn factories() -> &'static HashMap<&'static str, &'static OpFactory> {
    static MAP: OnceLock<HashMap<&'static str, &'static OpFactory>> = OnceLock::new();
    MAP.get_or_init(|| inventory::iter::<OpFactory>.into_iter().map(|f| (f.name, f)).collect())
}

fn codecs_by_id() -> &'static HashMap<TypeId, &'static ValueCodec> {
    static MAP: OnceLock<HashMap<TypeId, &'static ValueCodec>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<ValueCodec>
            .into_iter()
            .map(|c| ((c.type_id)(), c))
            .collect()
    })
}

fn codecs_by_name() -> &'static HashMap<&'static str, &'static ValueCodec> {
    static MAP: OnceLock<HashMap<&'static str, &'static ValueCodec>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<ValueCodec>
            .into_iter()
            .map(|c| ((c.type_name)(), c))
            .collect()
    })
}

/// Whether an op factory is registered under `name`.
pub fn is_registered(name: &str) -> bool {
    factories().contains_key(name)
}

/// Rebuilds an op from its spec.
///
/// # Errors
/// [`Error::Remote`] if no factory has the spec's name or the factory rejects the parameters.
pub fn build_op(spec: &OpSpec) -> Result<Arc<dyn Op>> {
    let factory = factories()
        .get(spec.name.as_str())
        .ok_or_else(|| Error::Remote(format!("no op is registered under the name `{}`", spec.name)))?;
    (factory.build)(&spec.params).map_err(|e| Error::Remote(format!("cannot rebuild op `{}`: {e}", spec.name)))
}

/// Encodes a value with the codec registered for its type.
///
/// # Errors
/// [`Error::Remote`] if its type has no codec, or the codec fails.
pub fn encode_value(value: &Value) -> Result<EncodedValue> {
    let codec = codecs_by_id().get(&(**value).type_id()).ok_or_else(|| {
        Error::Remote("a value's type has no codec; register one with drask::register_codec!(Type)".to_string())
    })?;
    let bytes = (codec.encode)(value).map_err(|e| Error::Remote(format!("encoding {}: {e}", (codec.type_name)())))?;
    Ok(EncodedValue {
        type_name: (codec.type_name)().to_string(),
        bytes,
    })
}

/// Decodes a value encoded by [`encode_value`].
///
/// # Errors
/// [`Error::Remote`] if the type has no codec here, or the bytes do not decode.
pub fn decode_value(encoded: &EncodedValue) -> Result<Value> {
    let codec = codecs_by_name()
        .get(encoded.type_name.as_str())
        .ok_or_else(|| Error::Remote(format!("no codec for type {}", encoded.type_name)))?;
    (codec.decode)(&encoded.bytes).map_err(|e| Error::Remote(format!("decoding {}: {e}", encoded.type_name)))
}

/// Whether values of type `T` have a codec.
pub fn has_codec<T: Any>() -> bool {
    codecs_by_id().contains_key(&TypeId::of::<T>())
}

/// The spec of a literal holding `value`, if its type has a codec.
pub(crate) fn literal_spec(value: &Value) -> Option<OpSpec> {
    let encoded = encode_value(value).ok()?;
    Some(OpSpec::new("literal", serde_json::to_value(encoded).ok()?))
}

inventory::submit! {
    OpFactory {
        name: "collect",
        build: |params| {
            let type_name = params["type"].as_str().ok_or("collect needs a \"type\"")?;
            let codec = codecs_by_name().get(type_name).ok_or_else(|| format!("no codec for type {type_name}"))?;
            Ok((codec.collect)())
        },
    }
}

inventory::submit! {
    OpFactory {
        name: "literal",
        build: |params| {
            let encoded: EncodedValue = serde_json::from_value(params.clone())?;
            let value = decode_value(&encoded)?;
            let type_name = codecs_by_name()[encoded.type_name.as_str()].type_name;
            Ok(Arc::new(Literal::from_value(value, type_name())))
        },
    }
}

/// Serde codecs (postcard, a compact stable binary format) for the plain types every program uses.
/// Arrays and frames bring their own, faster codecs.
#[doc(hidden)]
pub fn encode_serde<T: Serialize + Any>(value: &Value) -> Result<Vec<u8>, BoxError> {
    let typed = value
        .downcast_ref::<T>()
        .ok_or("value has another type than its codec")?;
    Ok(postcard::to_allocvec(typed)?)
}

#[doc(hidden)]
pub fn decode_serde<T: for<'de> Deserialize<'de> + Any + Send + Sync>(bytes: &[u8]) -> Result<Value, BoxError> {
    Ok(Arc::new(postcard::from_bytes::<T>(bytes)?))
}

/// Registers a serde codec for a type, so its values can cross a process boundary (as literal
/// arguments, or as results moved between workers). The type must be `Serialize`,
/// `Deserialize` and `Clone` (the codec also rebuilds `Delayed::collect` of the type remotely).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Point { x: f64, y: f64 }
/// drask::register_codec!(Point);
///
/// let value: drask::graph::Value = Arc::new(Point { x: 1.0, y: 2.0 });
/// let back = drask::registry::decode_value(&drask::registry::encode_value(&value).unwrap()).unwrap();
/// assert_eq!(back.downcast_ref::<Point>(), Some(&Point { x: 1.0, y: 2.0 }));
/// ```
#[macro_export]
macro_rules! register_codec {
    ($($ty:ty),+ $(,)?) => {
        $(
            $crate::__inventory::submit! {
                $crate::registry::ValueCodec {
                    type_name: ::std::any::type_name::<$ty>,
                    type_id: ::std::any::TypeId::of::<$ty>,
                    encode: $crate::registry::encode_serde::<$ty>,
                    decode: $crate::registry::decode_serde::<$ty>,
                    collect: $crate::delayed::collect_op::<$ty>,
                }
            }
        )+
    };
}

register_codec!(
    bool,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    usize,
    isize,
    f32,
    f64,
    String,
    ()
);
register_codec!(
    Vec<bool>,
    Vec<i32>,
    Vec<i64>,
    Vec<u8>,
    Vec<u32>,
    Vec<u64>,
    Vec<usize>,
    Vec<f32>,
    Vec<f64>,
    Vec<String>
);
register_codec!(
    (i64, i64),
    (f64, f64),
    (usize, f64),
    (String, u64),
    Option<i64>,
    Option<f64>,
    Option<String>
);

/// A whole task graph in wire form: what a client sends to a remote scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphSpec {
    /// Tasks in topological order: key name, key index, op spec, argument positions.
    pub tasks: Vec<TaskSpec>,
}

/// One task in wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The key's name.
    pub name: String,
    /// The key's index.
    pub index: Vec<u32>,
    /// How to rebuild the op.
    pub op: OpSpec,
    /// Arguments, as positions in [`GraphSpec::tasks`].
    pub args: Vec<u32>,
}

impl GraphSpec {
    /// The wire form of `graph`.
    ///
    /// # Errors
    /// [`Error::Remote`] naming the first task whose op has no spec (an unregistered closure),
    /// and saying how to register it.
    pub fn from_graph(graph: &Graph) -> Result<GraphSpec> {
        let tasks = graph
            .ids()
            .map(|id| {
                let task = graph.task(id);
                let op = task.op.spec().ok_or_else(|| match task.op.spec_hint() {
                    Some(hint) => Error::Remote(format!(
                        "task {} runs `{}`, which has no op spec, so another process cannot rebuild it: {hint}",
                        task.key,
                        task.op.name()
                    )),
                    None => Error::Remote(format!(
                        "task {} runs `{}`, which has no op spec, so another process cannot rebuild it. \
                         A closure cannot be sent: write it as a `fn`, register it with \
                         `drask::register_fn!(name)` (or `register_fn!(try name)` for a function returning \
                         `Result`) and build calls with `drask::registered!(name)` (for `Array::map_blocks`, pass \
                         it to `Array::map_blocks_registered`; for `DataFrame::map_partitions`, to \
                         `DataFrame::map_partitions_registered`). Plain-value arguments, \
                         literals and collected lists need a codec for their type: `drask::register_codec!(Type)`. \
                         Bag operations need their item type registered with `drask::register_bag_type!(Type)`, \
                         and the functions passed to them with `drask::register_bag_fn!(role name)` (for example \
                         `register_bag_fn!(map parse)`)",
                        task.key,
                        task.op.name()
                    )),
                })?;
                Ok(TaskSpec {
                    name: task.key.name().to_string(),
                    index: task.key.index().to_vec(),
                    op,
                    args: graph.args(id).into_iter().map(|a| a.index() as u32).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(GraphSpec { tasks })
    }

    /// Rebuilds the graph through the registry, as a worker does.
    ///
    /// # Errors
    /// [`Error::Remote`] if an op name is unknown here or its parameters do not decode.
    pub fn to_graph(&self) -> Result<Graph> {
        let mut graph = Graph::with_capacity(self.tasks.len(), self.tasks.len());
        for task in &self.tasks {
            let op = build_op(&task.op)?;
            let args: Vec<TaskId> = task
                .args
                .iter()
                .map(|&a| {
                    let ok = (a as usize) < graph.len();
                    ok.then(|| TaskId::from_index(a as usize))
                        .ok_or_else(|| Error::Remote(format!("task {} reads a task that is not before it", task.name)))
                })
                .collect::<Result<_>>()?;
            graph.add_task(Key::new(task.name.as_str(), task.index.clone()), op, &args)?;
        }
        Ok(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Any + Send + Sync + PartialEq + std::fmt::Debug + Clone>(value: T) {
        let encoded = encode_value(&(Arc::new(value.clone()) as Value)).unwrap();
        assert_eq!(encoded.type_name, std::any::type_name::<T>());
        let back = decode_value(&encoded).unwrap();
        assert_eq!(back.downcast_ref::<T>(), Some(&value));
    }

    #[test]
    fn built_in_codecs_round_trip() {
        round_trip(-7_i64);
        round_trip(u64::MAX);
        round_trip(f64::MIN_POSITIVE);
        round_trip(-0.0_f32);
        round_trip(true);
        round_trip("naïve ✓".to_string());
        round_trip(vec![1.5_f64, f64::INFINITY, -2.0]);
        round_trip(vec!["a".to_string(), String::new()]);
        round_trip(Some(3_i64));
        round_trip((4_usize, 0.5_f64));
        round_trip(());
    }

    #[test]
    fn nan_survives_bit_for_bit() {
        let encoded = encode_value(&(Arc::new(f64::NAN) as Value)).unwrap();
        assert!(decode_value(&encoded).unwrap().downcast_ref::<f64>().unwrap().is_nan());
    }

    #[test]
    fn unknown_types_and_names_are_clear_errors() {
        struct NoCodec;
        let err = encode_value(&(Arc::new(NoCodec) as Value)).unwrap_err();
        assert!(err.to_string().contains("register_codec!"), "{err}");
        let err = decode_value(&EncodedValue {
            type_name: "no::Such".into(),
            bytes: vec![],
        })
        .unwrap_err();
        assert!(err.to_string().contains("no::Such"), "{err}");
        let err = build_op(&OpSpec::new("no-such-op", serde_json::Value::Null)).unwrap_err();
        assert!(matches!(err, Error::Remote(_)), "{err}");
        let corrupt = EncodedValue {
            type_name: std::any::type_name::<String>().into(),
            bytes: vec![200],
        };
        assert!(decode_value(&corrupt).is_err());
    }

    #[test]
    fn literal_ops_rebuild_from_their_spec() {
        let literal = Literal::new(vec![1_i64, 2, 3]);
        let spec = literal.spec().expect("Vec<i64> has a codec");
        let rebuilt = build_op(&spec).unwrap();
        let value = rebuilt.call(vec![]).unwrap();
        assert_eq!(value.downcast_ref::<Vec<i64>>(), Some(&vec![1, 2, 3]));
        struct Opaque;
        assert!(Literal::new(Opaque).spec().is_none());
    }
}
