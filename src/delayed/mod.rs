//! Delayed: wrap ordinary functions so that for-loop code builds a task graph (Dask's
//! `dask.delayed`).
//!
//! ```
//! use drask::prelude::*;
//!
//! fn load(i: &u32) -> Vec<u32> { (0..*i).collect() }
//! fn total(parts: &Vec<Vec<u32>>) -> usize { parts.iter().map(|p| p.len()).sum() }
//!
//! let parts: Vec<Delayed<Vec<u32>>> = (0..10).map(|i| delayed(load).call((i,))).collect();
//! let n = delayed(total).call((Delayed::collect(parts),));
//! assert_eq!(n.compute()?, 45);
//! # Ok::<(), drask::Error>(())
//! ```

mod bind;
mod fn_op;

use std::any::type_name;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

pub use fn_op::{ArgFn, Fallible, FnOp, Plain, Returns};

use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::graph::{Key, Layer, Literal, Lowering, Node, Op, Tokenizer, Value, unique_token};
use bind::{Bind, Slot};

/// A value that will be computed: the result of a delayed call, a literal, or a collected list.
/// Cheap to clone (an `Arc` bump); nothing runs until [`compute`](Collection::compute).
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let x = Delayed::value(20_i64);
/// let y = delayed(|a: &i64, b: &i64| a + b).call((&x, 22_i64));
/// assert_eq!(y.compute()?, 42);
/// # Ok::<(), drask::Error>(())
/// ```
#[must_use = "lazy collections do nothing until `.compute()`"]
pub struct Delayed<T> {
    node: Arc<Node>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed {
            node: self.node.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delayed<{}>({})", type_name::<T>(), self.node.name())
    }
}

impl<T> Delayed<T> {
    /// A delayed value computed by a node whose single key is `(node.name())`.
    pub(crate) fn from_node(node: Arc<Node>) -> Delayed<T> {
        Delayed { node, _t: PhantomData }
    }
}

impl<T: Send + Sync + 'static> Delayed<T> {
    /// A literal: a task that returns `value`. Its key is derived from the value when its type
    /// has a codec (so equal literals are one task), else unique.
    pub fn value(value: T) -> Delayed<T> {
        let literal = Literal::new(value);
        let name = match crate::registry::encode_value(literal.value()) {
            Ok(encoded) => Tokenizer::new("literal")
                .str(&encoded.type_name)
                .bytes(&encoded.bytes)
                .finish(),
            Err(_) => unique_token("literal"),
        };
        Delayed::from_node(Node::new(name.into(), vec![], Box::new(SingleTask(Arc::new(literal)))))
    }

    /// The high-level node behind this value.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The key of the task that computes this value.
    pub fn key(&self) -> Key {
        Key::single(self.node.name().clone())
    }
}

impl<T: Clone + Send + Sync + 'static> Delayed<Vec<T>> {
    /// One delayed list from many delayed values (values are cloned into the list; wrap large
    /// ones in `Arc`). All items are computed in one pass over one shared graph.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let items = (1..=4_i64).map(|i| delayed(|x: &i64| x * 10).call((i,)));
    /// assert_eq!(Delayed::collect(items).compute()?, vec![10, 20, 30, 40]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn collect(items: impl IntoIterator<Item = Delayed<T>>) -> Delayed<Vec<T>> {
        let inputs: Vec<Arc<Node>> = items.into_iter().map(|d| d.node).collect();
        let name = inputs
            .iter()
            .fold(Tokenizer::new("collect"), |t, n| t.str(n.name()))
            .finish();
        let op = collect_op::<T>();
        Delayed::from_node(Node::new(name.into(), inputs, Box::new(SingleTask(op))))
    }
}

impl<T: Clone + Send + Sync + 'static> FromIterator<Delayed<T>> for Delayed<Vec<T>> {
    fn from_iter<I: IntoIterator<Item = Delayed<T>>>(iter: I) -> Self {
        Delayed::collect(iter)
    }
}

impl<T: Clone + Send + Sync + 'static> Collection for Delayed<T> {
    type Output = T;

    fn nodes(&self) -> Vec<Arc<Node>> {
        vec![self.node.clone()]
    }

    fn keys(&self) -> Vec<Key> {
        vec![self.key()]
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<T> {
        let value = values
            .next()
            .ok_or_else(|| Error::Internal(format!("no value for {}", self.key())))?;
        let value = value
            .downcast::<T>()
            .map_err(|_| Error::Internal(format!("{} is not a {}", self.key(), type_name::<T>())))?;
        Ok(Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone()))
    }
}

/// Gathers its inputs' values into a `Vec<T>`.
struct CollectOp<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for CollectOp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CollectOp<{}>", type_name::<T>())
    }
}

impl<T: Clone + Send + Sync + 'static> Op for CollectOp<T> {
    fn name(&self) -> &str {
        "collect"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, crate::BoxError> {
        let items = (0..inputs.len())
            .map(|i| fn_op::downcast::<T>(&inputs, i).cloned())
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Arc::new(items))
    }

    fn spec(&self) -> Option<crate::graph::OpSpec> {
        crate::registry::has_codec::<T>()
            .then(|| crate::graph::OpSpec::new("collect", serde_json::json!({ "type": type_name::<T>() })))
    }
}

/// The op behind [`Delayed::collect`] for items of type `T`; the registry rebuilds it by type.
#[doc(hidden)]
pub fn collect_op<T: Clone + Send + Sync + 'static>() -> Arc<dyn Op> {
    Arc::new(CollectOp::<T>(PhantomData))
}

/// A node that lowers to one task: `op` applied to its inputs' single keys.
#[derive(Debug)]
pub(crate) struct SingleTask(pub(crate) Arc<dyn Op>);

impl Layer for SingleTask {
    fn op_name(&self) -> &str {
        self.0.name()
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let args: Vec<Key> = node.inputs().iter().map(|n| Key::single(n.name().clone())).collect();
        out.add(Key::single(node.name().clone()), self.0.clone(), &args)?;
        Ok(())
    }
}

/// One argument of a delayed call: a plain value (embedded in the task) or a delayed value (an
/// edge of the graph). Implemented for `T`, `Delayed<T>` and `&Delayed<T>`.
pub trait IntoArg<T> {
    /// The argument as a graph input or a fixed value.
    fn into_arg(self) -> Arg;
}

/// An argument, as [`IntoArg`] makes it.
#[derive(Debug)]
pub enum Arg {
    /// Computed by another node.
    Node(Arc<Node>),
    /// A fixed value, with its type's name.
    Value(Value, &'static str),
}

impl<T: Send + Sync + 'static> IntoArg<T> for T {
    fn into_arg(self) -> Arg {
        Arg::Value(Arc::new(self), type_name::<T>())
    }
}

impl<T> IntoArg<T> for Delayed<T> {
    fn into_arg(self) -> Arg {
        Arg::Node(self.node)
    }
}

impl<T> IntoArg<T> for &Delayed<T> {
    fn into_arg(self) -> Arg {
        Arg::Node(self.node.clone())
    }
}

/// A tuple of arguments for a function taking `Args`: each element is a plain value or a delayed
/// one. Implemented for tuples of up to six elements.
pub trait IntoArgs<Args> {
    /// The arguments, in order.
    fn into_args(self) -> Vec<Arg>;
}

macro_rules! impl_into_args {
    ($($X:ident $A:ident $x:ident),*) => {
        impl<$($X: IntoArg<$A>, $A),*> IntoArgs<($($A,)*)> for ($($X,)*) {
            fn into_args(self) -> Vec<Arg> {
                let ($($x,)*) = self;
                vec![$($x.into_arg()),*]
            }
        }
    };
}

impl_into_args!();
impl_into_args!(X0 A0 x0);
impl_into_args!(X0 A0 x0, X1 A1 x1);
impl_into_args!(X0 A0 x0, X1 A1 x1, X2 A2 x2);
impl_into_args!(X0 A0 x0, X1 A1 x1, X2 A2 x2, X3 A3 x3);
impl_into_args!(X0 A0 x0, X1 A1 x1, X2 A2 x2, X3 A3 x3, X4 A4 x4);
impl_into_args!(X0 A0 x0, X1 A1 x1, X2 A2 x2, X3 A3 x3, X4 A4 x4, X5 A5 x5);

/// Wraps a function so that calling it builds a task instead of running it.
///
/// Functions take their arguments by reference (`Fn(&A, &B) -> R`, up to six), so one computed
/// value feeds many consumers without a copy.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// fn add(a: &i64, b: &i64) -> i64 { a + b }
/// let three = delayed(add).call((1_i64, 2_i64));
/// let ten = delayed(add).call((&three, 7_i64));
/// assert_eq!(ten.compute()?, 10);
/// # Ok::<(), drask::Error>(())
/// ```
pub fn delayed<F>(f: F) -> DelayedFn<F> {
    DelayedFn {
        f: Arc::new(f),
        name: None,
        registered: None,
    }
}

/// A function wrapped by [`delayed`]: [`call`](DelayedFn::call) and
/// [`try_call`](DelayedFn::try_call) add tasks.
pub struct DelayedFn<F> {
    f: Arc<F>,
    /// A name given by the user: calls with the same name and inputs get the same key.
    name: Option<Arc<str>>,
    /// The registry path, for functions registered with `register_fn!`.
    registered: Option<&'static str>,
}

impl<F> Clone for DelayedFn<F> {
    fn clone(&self) -> Self {
        DelayedFn {
            f: self.f.clone(),
            name: self.name.clone(),
            registered: self.registered,
        }
    }
}

impl<F> fmt::Debug for DelayedFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DelayedFn({})", self.display_name())
    }
}

impl<F> DelayedFn<F> {
    /// Names the function and declares it pure: two calls with the same name on the same inputs
    /// get the same key, so the graph computes them once (Dask's `pure=True`). Unnamed functions
    /// get a fresh key per call, since a closure may capture anything.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let sq = delayed(|x: &i64| x * x).name("square");
    /// assert_eq!(sq.call((3_i64,)).key(), sq.call((3_i64,)).key());
    /// assert_ne!(sq.call((3_i64,)).key(), sq.call((4_i64,)).key());
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    #[doc(hidden)]
    pub fn registered(mut self, name: &str, path: &'static str) -> Self {
        self.name = Some(name.into());
        self.registered = Some(path);
        self
    }

    /// The name keys and `explain()` show: the given name, else the function's own name, else
    /// `lambda` for a closure.
    fn display_name(&self) -> Cow<'static, str> {
        if let Some(name) = &self.name {
            return Cow::Owned(name.to_string());
        }
        let full = type_name::<F>();
        if full.contains('{') {
            return Cow::Borrowed("lambda");
        }
        Cow::Borrowed(full.rsplit("::").next().unwrap_or(full))
    }

    /// Adds a task that calls the function on `args` (a tuple of plain values and delayed
    /// values) and returns its delayed result.
    ///
    /// Functions must be `Send + Sync`, since any worker may run them; one that captures an `Rc`
    /// does not compile:
    /// ```compile_fail
    /// use drask::prelude::*;
    /// let shared = std::rc::Rc::new(1_i64);
    /// let y = delayed(move |x: &i64| x + *shared).call((1_i64,));
    /// ```
    pub fn call<Args, X>(&self, args: X) -> Delayed<F::Output>
    where
        F: ArgFn<Args>,
        Args: 'static,
        X: IntoArgs<Args>,
    {
        let name = self.display_name();
        let op = Arc::new(FnOp::<_, Args, Plain>::with_returns(
            name,
            self.registered,
            SharedFn(self.f.clone()),
        ));
        self.build(op, args.into_args())
    }

    /// Like [`call`](DelayedFn::call), for a function that returns `Result<T, E>`: an `Err`
    /// fails the compute with an error that names the task and carries `E`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let parse = delayed(|s: &String| s.parse::<i32>());
    /// assert_eq!(parse.try_call(("42".to_string(),)).compute()?, 42);
    /// let err = parse.try_call(("x".to_string(),)).compute().unwrap_err();
    /// assert!(err.to_string().contains("invalid digit"), "{err}");
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn try_call<Args, X, T, E>(&self, args: X) -> Delayed<T>
    where
        F: ArgFn<Args, Output = Result<T, E>>,
        Args: 'static,
        X: IntoArgs<Args>,
        T: Send + Sync + 'static,
        E: Into<crate::BoxError> + 'static,
    {
        let name = self.display_name();
        let op = Arc::new(FnOp::<_, Args, Fallible>::with_returns(
            name,
            self.registered,
            SharedFn(self.f.clone()),
        ));
        self.build(op, args.into_args())
    }

    /// The op that calls the function (with a spec if it is registered), for collections that
    /// apply it themselves, like `Array::map_blocks_registered`.
    #[cfg_attr(not(any(feature = "array", feature = "frame")), allow(dead_code))]
    pub(crate) fn op<Args>(&self) -> Arc<dyn Op>
    where
        F: ArgFn<Args>,
        Args: 'static,
    {
        Arc::new(FnOp::<_, Args, Plain>::with_returns(
            self.display_name(),
            self.registered,
            SharedFn(self.f.clone()),
        ))
    }

    fn build<T>(&self, op: Arc<dyn Op>, args: Vec<Arg>) -> Delayed<T> {
        let pure = self.name.is_some();
        let mut token = Tokenizer::new(op.name());
        let mut inputs = Vec::new();
        let mut slots = Vec::with_capacity(args.len());
        let mut all_inputs = true;
        for arg in args {
            match arg {
                Arg::Node(node) => {
                    if pure {
                        token = token.str(node.name());
                    }
                    slots.push(Slot::Input(inputs.len()));
                    inputs.push(node);
                }
                Arg::Value(value, type_name) => {
                    all_inputs = false;
                    if pure {
                        token = match crate::registry::encode_value(&value) {
                            Ok(encoded) => token.str(type_name).bytes(&encoded.bytes),
                            // A value we cannot identify makes the call unique.
                            Err(_) => token.str(&unique_token("value")),
                        };
                    }
                    slots.push(Slot::Value(value));
                }
            }
        }
        let name = if pure { token.finish() } else { unique_token(op.name()) };
        let op: Arc<dyn Op> = if all_inputs { op } else { Arc::new(Bind::new(op, slots)) };
        Delayed::from_node(Node::new(name.into(), inputs, Box::new(SingleTask(op))))
    }
}

/// The user's function behind an `Arc`, so that every call's op shares it.
struct SharedFn<F>(Arc<F>);

impl<F: ArgFn<Args>, Args> ArgFn<Args> for SharedFn<F> {
    type Output = F::Output;
    const ARITY: usize = F::ARITY;

    fn apply(&self, inputs: &[Value]) -> Result<Self::Output, crate::BoxError> {
        self.0.apply(inputs)
    }
}
