//! Tasks: a key, an op and its arguments; the type-erased values ops pass between them.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::graph::Key;

/// A task's result, type-erased. Collections downcast it back at their edge.
pub type Value = Arc<dyn Any + Send + Sync>;

/// One unit of work: computes a value from the values of its arguments.
///
/// Built-in ops have a stable [`name`](Op::name) and return an [`OpSpec`] from
/// [`spec`](Op::spec), so that another process running the same binary can rebuild them through
/// the [registry](crate::registry). Ops made from unregistered closures return `None` and run only
/// on local executors.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::graph::{Op, Value};
///
/// #[derive(Debug)]
/// struct Double;
/// impl Op for Double {
///     fn name(&self) -> &str { "double" }
///     fn call(&self, inputs: Vec<Value>) -> Result<Value, drask::BoxError> {
///         let x = inputs[0].downcast_ref::<i64>().ok_or("expected i64")?;
///         Ok(Arc::new(x * 2))
///     }
/// }
/// let out = Double.call(vec![Arc::new(21_i64) as Value]).unwrap();
/// assert_eq!(out.downcast_ref::<i64>(), Some(&42));
/// ```
pub trait Op: fmt::Debug + Send + Sync {
    /// A stable, short name (`"inc"`, `"sum-chunk"`): shown by `explain()`, used for keys.
    fn name(&self) -> &str;

    /// Computes the value from the arguments' values, in argument order.
    ///
    /// The inputs are owned: when this task is the last reader of a value, the executor moves
    /// the value out of its result slot, so `Arc::try_unwrap` on it succeeds and an op can reuse
    /// the allocation (a bag partition filtered in place, an array chunk updated in place)
    /// instead of copying it. [`take_value`](crate::graph::take_value) does that, with a copy as
    /// the fallback.
    ///
    /// # Errors
    /// Whatever the op reports; the executor wraps it with the task's key.
    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError>;

    /// The serializable description a remote worker rebuilds this op from, if it has one.
    fn spec(&self) -> Option<OpSpec> {
        None
    }

    /// When [`spec`](Op::spec) is `None`: what to register so that the op has one (for a zip of
    /// two item types, `drask::register_bag_zip!(i64, String)`).
    /// [`GraphSpec::from_graph`](crate::registry::GraphSpec::from_graph) refuses the task with it
    /// instead of its general advice. `None` by default.
    fn spec_hint(&self) -> Option<String> {
        None
    }

    /// Cheap ops (constants, getters) are inlined into their consumers by the optimizer, instead
    /// of paying for a task of their own.
    fn is_cheap(&self) -> bool {
        false
    }

    /// For an op made of other ops (a fused chain), the number of steps it runs.
    fn steps(&self) -> usize {
        1
    }

    /// The op as `Any`, for code that needs its concrete type (the optimizer recognises fused
    /// ops this way). `None` by default.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

/// A serializable description of an op: its registered name and parameters. A worker running the
/// same binary rebuilds the op with [`registry::build_op`](crate::registry::build_op).
///
/// # Examples
/// ```
/// use drask::graph::OpSpec;
/// let spec = OpSpec::new("add", serde_json::json!({"n": 1}));
/// let text = serde_json::to_string(&spec).unwrap();
/// assert_eq!(serde_json::from_str::<OpSpec>(&text).unwrap(), spec);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSpec {
    /// The name the op's factory is registered under.
    pub name: String,
    /// The parameters the factory needs, as JSON.
    pub params: serde_json::Value,
}

impl OpSpec {
    /// A spec from a registered name and its parameters.
    pub fn new(name: impl Into<String>, params: serde_json::Value) -> OpSpec {
        OpSpec {
            name: name.into(),
            params,
        }
    }
}

/// A node of the task graph: the output-stable key and the op that computes it. Its arguments are
/// edges of the [`Graph`](crate::graph::Graph).
#[derive(Debug, Clone)]
pub struct Task {
    /// The task's output-stable name.
    pub key: Key,
    /// What the task runs.
    pub op: Arc<dyn Op>,
}

/// An op that returns a value it holds: a literal argument, or a persisted result.
#[derive(Clone)]
pub struct Literal {
    value: Value,
    type_name: &'static str,
}

impl Literal {
    /// A literal holding `value`.
    pub fn new<T: Any + Send + Sync>(value: T) -> Literal {
        Literal::from_value(Arc::new(value), std::any::type_name::<T>())
    }

    /// A literal from an already type-erased value and its type's name.
    pub fn from_value(value: Value, type_name: &'static str) -> Literal {
        Literal { value, type_name }
    }

    /// The value this literal returns.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Literal<{}>", self.type_name)
    }
}

impl Op for Literal {
    fn name(&self) -> &str {
        "literal"
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(self.value.clone())
    }

    fn spec(&self) -> Option<OpSpec> {
        crate::registry::literal_spec(&self.value)
    }

    fn is_cheap(&self) -> bool {
        true
    }
}

/// The `T` inside `value`: moved out when this is the last reference to it, cloned otherwise.
///
/// # Errors
/// If the value is not a `T` (a bug, or a registry mismatch).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::graph::{take_value, Value};
/// let unique: Value = Arc::new(vec![1, 2, 3]);
/// assert_eq!(take_value::<Vec<i32>>(unique).unwrap(), vec![1, 2, 3]); // moved, no copy
/// let shared: Value = Arc::new(5_u8);
/// let other = shared.clone();
/// assert_eq!(take_value::<u8>(shared).unwrap(), 5); // cloned: `other` still holds it
/// # drop(other);
/// ```
pub fn take_value<T: Any + Clone + Send + Sync>(value: Value) -> Result<T, BoxError> {
    let typed = value
        .downcast::<T>()
        .map_err(|_| format!("value is not a {}", std::any::type_name::<T>()))?;
    Ok(Arc::try_unwrap(typed).unwrap_or_else(|shared| (*shared).clone()))
}
