//! Ops that call ordinary Rust functions of 0 to 6 arguments, taken by reference.

use std::any::{Any, type_name};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::BoxError;
use crate::graph::{Op, OpSpec, Value};

/// A function of several arguments, each taken by reference, whose argument types name it:
/// `Fn(&A, &B) -> R` implements `ArgFn<(A, B)>`. Implemented for closures and `fn` items of up
/// to six arguments; you never implement it yourself.
pub trait ArgFn<Args>: Send + Sync + 'static {
    /// What the function returns.
    type Output: Send + Sync + 'static;
    /// How many arguments it takes.
    const ARITY: usize;
    /// Downcasts `inputs` to the argument types and calls the function.
    ///
    /// # Errors
    /// If an input is not of its argument's type (a bug, or a registry mismatch).
    fn apply(&self, inputs: &[Value]) -> Result<Self::Output, BoxError>;
}

pub(crate) fn downcast<T: Any>(inputs: &[Value], i: usize) -> Result<&T, BoxError> {
    let value = inputs.get(i).ok_or_else(|| format!("argument {i} is missing"))?;
    value
        .downcast_ref::<T>()
        .ok_or_else(|| format!("argument {i} is not a {}", type_name::<T>()).into())
}

macro_rules! impl_arg_fn {
    ($n:expr; $($A:ident $i:tt),*) => {
        impl<F, R, $($A),*> ArgFn<($($A,)*)> for F
        where
            F: Fn($(&$A),*) -> R + Send + Sync + 'static,
            R: Send + Sync + 'static,
            $($A: Any + Send + Sync,)*
        {
            type Output = R;
            const ARITY: usize = $n;
            #[allow(unused_variables)]
            fn apply(&self, inputs: &[Value]) -> Result<R, BoxError> {
                if inputs.len() != $n {
                    return Err(format!("expected {} arguments, got {}", $n, inputs.len()).into());
                }
                Ok(self($(downcast::<$A>(inputs, $i)?),*))
            }
        }
    };
}

impl_arg_fn!(0;);
impl_arg_fn!(1; A0 0);
impl_arg_fn!(2; A0 0, A1 1);
impl_arg_fn!(3; A0 0, A1 1, A2 2);
impl_arg_fn!(4; A0 0, A1 1, A2 2, A3 3);
impl_arg_fn!(5; A0 0, A1 1, A2 2, A3 3, A4 4);
impl_arg_fn!(6; A0 0, A1 1, A2 2, A3 3, A4 4, A5 5);

/// How a function's return value becomes a task's result: as it is, or unwrapped from a
/// `Result` whose error fails the task.
pub trait Returns<R>: Send + Sync + 'static {
    /// Turns the output into the task's value or error.
    fn into_value(output: R) -> Result<Value, BoxError>;
}

/// The function's return value is the task's value.
#[derive(Debug)]
pub struct Plain;

/// The function returns `Result<T, E>`; `Err` fails the task with `E` as the cause.
#[derive(Debug)]
pub struct Fallible;

impl<R: Send + Sync + 'static> Returns<R> for Plain {
    fn into_value(output: R) -> Result<Value, BoxError> {
        Ok(Arc::new(output))
    }
}

impl<T: Send + Sync + 'static, E: Into<BoxError> + 'static> Returns<Result<T, E>> for Fallible {
    fn into_value(output: Result<T, E>) -> Result<Value, BoxError> {
        output.map(|v| Arc::new(v) as Value).map_err(Into::into)
    }
}

/// An op that calls a Rust function on its inputs.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::delayed::FnOp;
/// use drask::graph::{Op, Value};
///
/// let add = FnOp::new("add", |a: &i64, b: &i64| a + b);
/// let out = add.call(vec![Arc::new(1_i64) as Value, Arc::new(2_i64) as Value]).unwrap();
/// assert_eq!(out.downcast_ref::<i64>(), Some(&3));
/// ```
pub struct FnOp<F, Args, Ret = Plain> {
    name: Cow<'static, str>,
    /// The registry name, for functions registered with `register_fn!`.
    registered: Option<&'static str>,
    f: F,
    _sig: PhantomData<fn(Args) -> Ret>,
}

impl<F: ArgFn<Args>, Args: 'static> FnOp<F, Args, Plain> {
    /// An op named `name` that calls `f`.
    pub fn new(name: impl Into<Cow<'static, str>>, f: F) -> Self {
        FnOp::with_returns(name.into(), None, f)
    }

    /// An op for a function registered under `path` with [`register_fn!`](crate::register_fn).
    #[doc(hidden)]
    pub fn registered(name: &'static str, path: &'static str, f: F) -> Self {
        FnOp::with_returns(name.into(), Some(path), f)
    }
}

impl<F: ArgFn<Args>, Args: 'static, Ret: Returns<F::Output>> FnOp<F, Args, Ret> {
    pub(crate) fn with_returns(name: Cow<'static, str>, registered: Option<&'static str>, f: F) -> Self {
        FnOp {
            name,
            registered,
            f,
            _sig: PhantomData,
        }
    }
}

impl<F, Args, Ret> fmt::Debug for FnOp<F, Args, Ret> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnOp({})", self.name)
    }
}

impl<F: ArgFn<Args>, Args: 'static, Ret: Returns<F::Output>> Op for FnOp<F, Args, Ret> {
    fn name(&self) -> &str {
        &self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ret::into_value(self.f.apply(&inputs)?)
    }

    fn spec(&self) -> Option<OpSpec> {
        let path = self.registered?;
        crate::registry::is_registered(path).then(|| OpSpec::new(path, serde_json::Value::Null))
    }
}

/// Registers a function by name, so that a remote worker running the same binary can call it.
/// Build delayed calls of it with [`registered!`](crate::registered). Pass `try` before the name
/// for a function returning `Result`.
///
/// # Examples
/// ```
/// use drask::prelude::*;
///
/// fn inc(x: &i64) -> i64 { x + 1 }
/// drask::register_fn!(inc);
///
/// let y = drask::registered!(inc).call((1_i64,));
/// let spec = drask::registry::GraphSpec::from_graph(&y.graph(true)?)?;
/// assert!(spec.tasks[0].op.params.to_string().contains("inc"));
/// assert_eq!(y.compute()?, 2);
/// # Ok::<(), drask::Error>(())
/// ```
#[macro_export]
macro_rules! register_fn {
    (try $f:ident) => {
        $crate::__inventory::submit! {
            $crate::registry::OpFactory {
                name: concat!(module_path!(), "::", stringify!($f)),
                build: |_params| Ok(::std::sync::Arc::new($crate::delayed::FnOp::registered_try(
                    stringify!($f), concat!(module_path!(), "::", stringify!($f)), $f))),
            }
        }
    };
    ($f:ident) => {
        $crate::__inventory::submit! {
            $crate::registry::OpFactory {
                name: concat!(module_path!(), "::", stringify!($f)),
                build: |_params| Ok(::std::sync::Arc::new($crate::delayed::FnOp::registered(
                    stringify!($f), concat!(module_path!(), "::", stringify!($f)), $f))),
            }
        }
    };
}

/// A [`DelayedFn`](crate::delayed::DelayedFn) for a function registered with
/// [`register_fn!`](crate::register_fn) in the same module: its calls have op specs, so they can
/// run on a remote executor. See `register_fn!` for an example.
#[macro_export]
macro_rules! registered {
    ($f:ident) => {
        $crate::delayed::delayed($f).registered(stringify!($f), concat!(module_path!(), "::", stringify!($f)))
    };
}

impl<F: ArgFn<Args>, Args: 'static, T, E> FnOp<F, Args, Fallible>
where
    F: ArgFn<Args, Output = Result<T, E>>,
    T: Send + Sync + 'static,
    E: Into<BoxError> + 'static,
{
    /// An op for a fallible function registered under `path`.
    #[doc(hidden)]
    pub fn registered_try(name: &'static str, path: &'static str, f: F) -> Self {
        FnOp::with_returns(name.into(), Some(path), f)
    }
}
