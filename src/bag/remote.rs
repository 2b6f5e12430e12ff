//! How bag ops get op specs, so that a remote worker running the same binary can rebuild them.
//!
//! Bag ops are generic: `count` over a `Bag<String>` and over a `Bag<i64>` are different Rust
//! types, and a worker can only build the ones some code names. Two registrations do that:
//!
//! - [`register_bag_type!(T)`](crate::register_bag_type) registers an item type: codecs for its
//!   partitions and results, and one builder that makes every built-in op at `T` (`count`,
//!   `to_vec`, `repartition`, `zip` with itself, and those `T`'s traits allow: `sum`, `min`/`max`,
//!   `mean`, `frequencies`/`distinct`, `to_text`). Common types are registered here.
//! - [`register_bag_zip!(T, U)`](crate::register_bag_zip) registers `zip` of a `Bag<T>` with a
//!   `Bag<U>` of another type, and `(T, U)` as an item type.
//! - [`register_bag_fn!(role f)`](crate::register_bag_fn) registers a user function for one
//!   bag method (`map`, `filter`, `topk`, …): the factory it submits names `f`, so the op's
//!   types are inferred from `f`'s signature. The bag method recognises `f` by its type (every
//!   `fn` item has its own), so code calls `bag.map(parse)` as usual; a closure is never
//!   registered and its op has no spec.
//!
//! Spec names: `bag.<op>` with `{"type": <item type>, "stage": …}` for built-ins (a zip of two
//! types adds `"with": <other item type>`),
//! `<role>(<path of f>)` with `{"stage": …}` for user functions. Multi-task operations (tree
//! reductions, shuffles) give each stage its own spec; the worker-side builder makes every
//! stage with the same constructor the client used and picks one.

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::iter::Sum;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::aggregate::{SplitStages, Stages};
use super::{Item, ToF64};
use crate::error::BoxError;
use crate::graph::{Op, OpSpec, Value};
use crate::registry::OpFactory;

/// An item type registered with [`register_bag_type!`](crate::register_bag_type): builds the
/// built-in bag ops at that type.
#[derive(Debug)]
pub struct BagType {
    /// `std::any::type_name` of the item type; what specs name it by.
    pub type_name: fn() -> &'static str,
    /// The type's id, to find the entry from generic code.
    pub type_id: fn() -> TypeId,
    /// Builds the op a `bag.*` spec names, at this type.
    pub build: BuildOp,
}

/// Builds the op a spec names (`bag.count`, …) from its parameters.
pub type BuildOp = fn(&str, &Json) -> Result<Arc<dyn Op>, BoxError>;

inventory::collect!(BagType);

/// A pair of item types registered with [`register_bag_zip!`](crate::register_bag_zip): builds
/// the zip of a bag of the first with a bag of the second.
#[derive(Debug)]
pub struct BagZip {
    /// `std::any::type_name` of the left and the right item type; what specs name them by.
    pub type_names: fn() -> (&'static str, &'static str),
    /// The types' ids, to find the entry from generic code.
    pub type_ids: fn() -> (TypeId, TypeId),
    /// Builds the zip op at the pair.
    pub build: fn() -> Arc<dyn Op>,
}

inventory::collect!(BagZip);

/// A user function registered for a bag method with
/// [`register_bag_fn!`](crate::register_bag_fn). Its op factory is registered under `name`.
#[derive(Debug)]
pub struct BagFn {
    /// The bag method: `"map"`, `"filter"`, `"topk"`, ….
    pub role: &'static str,
    /// The op factory's name: `role(path::of::f, …)`.
    pub name: &'static str,
    /// The type ids of the functions, in the order the method takes them.
    pub fns: fn() -> Vec<TypeId>,
}

inventory::collect!(BagFn);

fn types_by_id() -> &'static HashMap<TypeId, &'static BagType> {
    static MAP: OnceLock<HashMap<TypeId, &'static BagType>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<BagType>
            .into_iter()
            .map(|t| ((t.type_id)(), t))
            .collect()
    })
}

fn types_by_name() -> &'static HashMap<&'static str, &'static BagType> {
    static MAP: OnceLock<HashMap<&'static str, &'static BagType>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<BagType>
            .into_iter()
            .map(|t| ((t.type_name)(), t))
            .collect()
    })
}

fn zips_by_id() -> &'static HashMap<(TypeId, TypeId), &'static BagZip> {
    static MAP: OnceLock<HashMap<(TypeId, TypeId), &'static BagZip>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<BagZip>
            .into_iter()
            .map(|z| ((z.type_ids)(), z))
            .collect()
    })
}

fn zips_by_name() -> &'static HashMap<(&'static str, &'static str), &'static BagZip> {
    static MAP: OnceLock<HashMap<(&'static str, &'static str), &'static BagZip>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<BagZip>
            .into_iter()
            .map(|z| ((z.type_names)(), z))
            .collect()
    })
}

type FnKey = (&'static str, Vec<TypeId>);

fn fns() -> &'static HashMap<FnKey, &'static str> {
    static MAP: OnceLock<HashMap<FnKey, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        inventory::iter::<BagFn>
            .into_iter()
            .map(|f| ((f.role, (f.fns)()), f.name))
            .collect()
    })
}

/// Whether `T` is registered as a bag item type.
///
/// # Examples
/// ```
/// assert!(drask::bag::is_bag_type::<String>());
/// struct Unregistered;
/// assert!(!drask::bag::is_bag_type::<Unregistered>());
/// ```
pub fn is_bag_type<T: 'static>() -> bool {
    types_by_id().contains_key(&TypeId::of::<T>())
}

/// Whether a zip of a `Bag<T>` with a `Bag<U>` can be sent to a remote worker: `T` and `U` are
/// the same registered item type ([`register_bag_type!`](crate::register_bag_type)), or the pair
/// is registered with [`register_bag_zip!`](crate::register_bag_zip).
///
/// # Examples
/// ```
/// use drask::bag::is_bag_zip;
/// drask::register_bag_zip!(u32, char);
/// assert!(is_bag_zip::<u32, char>());
/// assert!(is_bag_zip::<String, String>());
/// assert!(!is_bag_zip::<char, u32>(), "a pair is registered in its order");
/// ```
pub fn is_bag_zip<T: 'static, U: 'static>() -> bool {
    if TypeId::of::<T>() == TypeId::of::<U>() {
        is_bag_type::<T>()
    } else {
        zips_by_id().contains_key(&(TypeId::of::<T>(), TypeId::of::<U>()))
    }
}

/// The type id of a value's type: of a `fn` item, which is unique to that function.
#[doc(hidden)]
pub fn type_id_of<F: 'static>(_: &F) -> TypeId {
    TypeId::of::<F>()
}

/// The spec of an op being built: a name and a JSON object of parameters, or `None` for an op
/// that cannot be sent (an unregistered type or closure).
#[derive(Debug, Clone, Default)]
pub(crate) struct Spec(Option<(String, Map<String, Json>)>);

impl Spec {
    /// No spec: the op runs only locally.
    pub(crate) fn none() -> Spec {
        Spec(None)
    }

    /// `bag.<op>` at item type `T`, if `T` is registered.
    pub(crate) fn of_type<T: 'static>(name: &str) -> Spec {
        let Some(t) = types_by_id().get(&TypeId::of::<T>()) else {
            return Spec::none();
        };
        let mut params = Map::new();
        params.insert("type".into(), (t.type_name)().into());
        Spec(Some((name.to_string(), params)))
    }

    /// `bag.zip` of a bag of `T` with a bag of another type `U`, if the pair is registered.
    pub(crate) fn of_zip<T: 'static, U: 'static>() -> Spec {
        let Some(z) = zips_by_id().get(&(TypeId::of::<T>(), TypeId::of::<U>())) else {
            return Spec::none();
        };
        let (left, right) = (z.type_names)();
        let mut params = Map::new();
        params.insert("type".into(), left.into());
        params.insert("with".into(), right.into());
        Spec(Some(("bag.zip".to_string(), params)))
    }

    /// The op of the user functions `fns` (by their type ids) in `role`, if registered.
    pub(crate) fn of_fns(role: &'static str, fns: &[TypeId]) -> Spec {
        match self::fns().get(&(role, fns.to_vec())) {
            Some(name) => Spec(Some((name.to_string(), Map::new()))),
            None => Spec::none(),
        }
    }

    /// The spec a worker received, without the per-task `stage` and `bucket`: the base every
    /// stage of the operation is built from.
    pub(crate) fn received(name: &str, params: &Json) -> Spec {
        let mut params = params.as_object().cloned().unwrap_or_default();
        params.remove("stage");
        params.remove("bucket");
        Spec(Some((name.to_string(), params)))
    }

    /// Adds a parameter (dropping the spec if it does not serialize).
    pub(crate) fn param(self, key: &str, value: impl Serialize) -> Spec {
        Spec(self.0.and_then(|(name, mut params)| {
            params.insert(key.into(), serde_json::to_value(value).ok()?);
            Some((name, params))
        }))
    }

    /// The op's spec.
    pub(crate) fn get(&self) -> Option<OpSpec> {
        let (name, params) = self.0.as_ref()?;
        Some(OpSpec::new(name.clone(), Json::Object(params.clone())))
    }

    /// The spec of one stage of a multi-task operation.
    pub(crate) fn stage(&self, stage: &str) -> Option<OpSpec> {
        self.clone().param("stage", stage).get()
    }

    /// The spec of the task that takes bucket `bucket` in `stage`.
    pub(crate) fn bucket(&self, stage: &str, bucket: usize) -> Option<OpSpec> {
        self.clone().param("stage", stage).param("bucket", bucket).get()
    }
}

/// Parameter `key` of a received spec.
pub(crate) fn param<T: for<'de> Deserialize<'de>>(params: &Json, key: &str) -> Result<T, BoxError> {
    let value = params
        .get(key)
        .ok_or_else(|| format!("the spec has no parameter {key:?}"))?;
    Ok(T::deserialize(value).map_err(|e| format!("parameter {key:?}: {e}"))?)
}

/// The `init` parameter of a received fold, decoded with its type's codec.
fn init_of<A: Item>(params: &Json) -> Result<A, BoxError> {
    let encoded: crate::registry::EncodedValue = param(params, "init")?;
    let value: Value = crate::registry::decode_value(&encoded)?;
    Ok(value
        .downcast_ref::<A>()
        .ok_or_else(|| format!("init is not a {}", type_name::<A>()))?
        .clone())
}

/// The `init` value as a spec parameter; `None` (no spec) if its type has no codec.
pub(crate) fn encode_init<A: Item>(spec: Spec, init: &A) -> Spec {
    match crate::registry::encode_value(&(Arc::new(init.clone()) as Value)) {
        Ok(encoded) => spec.param("init", encoded),
        Err(_) => Spec::none(),
    }
}

/// Builds the op a `bag.*` spec names at item type `T`: the ops every type has, else those of
/// the capabilities `T` has (found by [`probe`] in [`register_bag_type!`](crate::register_bag_type)).
#[doc(hidden)]
pub fn build_typed<T: Item>(name: &str, params: &Json, caps: &[Option<Builder>]) -> Result<Arc<dyn Op>, BoxError> {
    for builder in std::iter::once(Some(base::<T> as Builder)).chain(caps.iter().copied()) {
        if let Some(op) = builder.and_then(|b| b(name, params)) {
            return op;
        }
    }
    Err(format!(
        "the bag op {name} is not available for items of type {}",
        type_name::<T>()
    )
    .into())
}

/// Builds op `name` at one type from its spec, or `None` if it is not this builder's.
#[doc(hidden)]
pub type Builder = fn(&str, &Json) -> Option<Result<Arc<dyn Op>, BoxError>>;

fn stage(params: &Json) -> Result<String, BoxError> {
    param(params, "stage")
}

fn base<T: Item>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    let spec = &Spec::received(name, params);
    Some(match name {
        "bag.count" => stage(params).and_then(|s| super::aggregate::count_stages::<T>(spec).pick(&s)),
        "bag.to_vec" => stage(params).and_then(|s| super::aggregate::to_vec_stages::<T>(spec).pick(&s)),
        "bag.repartition" => super::reshape::repartition_op::<T>(spec, params),
        "bag.zip" => Ok(zip_op::<T, T>()),
        _ => return None,
    })
}

fn sum_ops<T: Item + Sum<T>>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    let spec = &Spec::received(name, params);
    (name == "bag.sum").then(|| stage(params).and_then(|s| super::aggregate::sum_stages::<T>(spec).pick(&s)))
}

fn order_ops<T: Item + PartialOrd + Debug>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    let spec = &Spec::received(name, params);
    let wanted = match name {
        "bag.min" => std::cmp::Ordering::Less,
        "bag.max" => std::cmp::Ordering::Greater,
        _ => return None,
    };
    Some(stage(params).and_then(|s| super::aggregate::extreme_stages::<T>(wanted, spec).pick(&s)))
}

fn mean_ops<T: Item + ToF64>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    let spec = &Spec::received(name, params);
    (name == "bag.mean").then(|| stage(params).and_then(|s| super::aggregate::mean_stages::<T>(spec).pick(&s)))
}

fn hash_ops<T: Item + Hash + Eq>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    let spec = &Spec::received(name, params);
    let stages = |nout| match name {
        "bag.frequencies" => super::aggregate::frequencies_stages::<T>(nout, spec).into_ops(),
        _ => super::aggregate::distinct_stages::<T>(nout, spec).into_ops(),
    };
    matches!(name, "bag.frequencies" | "bag.distinct")
        .then(|| param(params, "split_out").and_then(|nout| stages(nout).pick(params)))
}

fn text_ops<T: Item + Display>(name: &str, params: &Json) -> Option<Result<Arc<dyn Op>, BoxError>> {
    (name == "bag.to_text").then(|| super::io::write_op::<T>(params))
}

/// Autoref specialization for [`register_bag_type!`](crate::register_bag_type): at a concrete
/// item type, `(&&Probe::<T>::NEW).sum_ops()` is `Some` if `T: Sum`, `None` otherwise (the
/// `Via*` impl on `&Probe<T>` wins method resolution when its bounds hold; the `No*` impl on
/// `Probe<T>` is found one dereference later).
#[doc(hidden)]
pub mod probe {
    use super::*;

    /// Stands for the item type being registered.
    #[derive(Debug)]
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// The probe.
        pub const NEW: Probe<T> = Probe(PhantomData);
    }

    macro_rules! capability {
        ($via:ident, $no:ident, $method:ident, $builder:ident, $($bound:tt)+) => {
            /// The capability, when `T` has it.
            pub trait $via {
                /// The builder of the capability's ops.
                fn $method(&self) -> Option<Builder>;
            }
            impl<T: $($bound)+> $via for &Probe<T> {
                fn $method(&self) -> Option<Builder> {
                    Some($builder::<T>)
                }
            }
            /// The capability, when `T` lacks it.
            pub trait $no {
                /// `None`.
                fn $method(&self) -> Option<Builder>;
            }
            impl<T> $no for Probe<T> {
                fn $method(&self) -> Option<Builder> {
                    None
                }
            }
        };
    }

    capability!(ViaSum, NoSum, sum_ops, sum_ops, Item + Sum<T>);
    capability!(ViaOrder, NoOrder, order_ops, order_ops, Item + PartialOrd + Debug);
    capability!(ViaMean, NoMean, mean_ops, mean_ops, Item + ToF64);
    capability!(ViaHash, NoHash, hash_ops, hash_ops, Item + Hash + Eq);
    capability!(ViaText, NoText, text_ops, text_ops, Item + Display);
}

/// The worker-side builders of ops made from registered user functions, one per role; the
/// factories [`register_bag_fn!`](crate::register_bag_fn) submits call them with the function, so
/// every type is inferred from its signature.
#[doc(hidden)]
pub mod roles {
    use super::*;
    use crate::bag::{aggregate, ops, shuffle};

    /// `Bag::map`.
    pub fn map<T: Item, U: Item>(
        name: &str,
        _params: &Json,
        f: impl Fn(T) -> U + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        Ok(ops::map_op(f, Spec::received(name, &Json::Null).get()))
    }

    /// `Bag::try_map`.
    pub fn try_map<T: Item, U: Item, E: Into<BoxError>>(
        name: &str,
        _params: &Json,
        f: impl Fn(T) -> Result<U, E> + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        Ok(ops::try_map_op(f, Spec::received(name, &Json::Null).get()))
    }

    /// `Bag::filter`.
    pub fn filter<T: Item>(
        name: &str,
        _params: &Json,
        keep: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        Ok(ops::filter_op(keep, Spec::received(name, &Json::Null).get()))
    }

    /// `Bag::flat_map`.
    pub fn flat_map<T: Item, U: Item, I: IntoIterator<Item = U>>(
        name: &str,
        _params: &Json,
        f: impl Fn(T) -> I + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        Ok(ops::flat_map_op(f, Spec::received(name, &Json::Null).get()))
    }

    /// `Bag::map_partitions`.
    pub fn map_partitions<T: Item, U: Item>(
        name: &str,
        _params: &Json,
        f: impl Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        Ok(ops::map_partitions_op(
            move |p| Ok::<_, BoxError>(f(p)),
            Spec::received(name, &Json::Null).get(),
        ))
    }

    /// `Bag::topk` with a registered key.
    pub fn topk<T: Item, K: Item + Ord>(
        name: &str,
        params: &Json,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        let spec = Spec::received(name, params);
        aggregate::topk_stages(param(params, "k")?, key, &spec)
            .into_ops()
            .pick(params)
    }

    /// `Bag::groupby` with a registered key.
    pub fn groupby<T: Item, K: Item + Hash + Eq>(
        name: &str,
        params: &Json,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        let spec = Spec::received(name, params);
        let (split, gather) = shuffle::groupby_ops(param(params, "split_out")?, key, &spec);
        match stage(params)?.as_str() {
            "split" => Ok(split),
            "gather" => Ok(gather(param(params, "bucket")?)),
            other => Err(format!("groupby has no stage {other:?}").into()),
        }
    }

    /// `Bag::foldby` with a registered key, fold and combine.
    pub fn foldby<T: Item, K: Item + Hash + Eq, A: Item>(
        name: &str,
        params: &Json,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        binop: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        let spec = Spec::received(name, params);
        let init = init_of::<A>(params)?;
        aggregate::foldby_stages(key, init, binop, combine, param(params, "split_out")?, &spec)
            .into_ops()
            .pick(params)
    }

    /// `Bag::fold` with a registered fold and combine.
    pub fn fold<T: Item, A: Item>(
        name: &str,
        params: &Json,
        fold: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        let spec = Spec::received(name, params);
        let init = init_of::<A>(params)?;
        aggregate::fold_stages(init, fold, combine, &spec).pick(&stage(params)?)
    }

    /// `Bag::reduce` with a registered function.
    pub fn reduce<T: Item>(
        name: &str,
        params: &Json,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
    ) -> Result<Arc<dyn Op>, BoxError> {
        let spec = Spec::received(name, params);
        aggregate::reduce_stages(f, &spec).pick(&stage(params)?)
    }
}

impl<R> Stages<R> {
    /// The op of stage `stage` (`chunk`, `combine` or `finish`).
    pub(crate) fn pick(self, stage: &str) -> Result<Arc<dyn Op>, BoxError> {
        match stage {
            "chunk" => Ok(self.chunk),
            "combine" => Ok(self.combine),
            "finish" => Ok(self.finish),
            other => Err(format!("a tree reduction has no stage {other:?}").into()),
        }
    }
}

/// The ops of a [`SplitStages`], by stage name; `combine` is per bucket.
pub(crate) struct SplitOps {
    pub(crate) chunk: Arc<dyn Op>,
    pub(crate) take: Box<dyn Fn(usize) -> Arc<dyn Op>>,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
}

impl SplitOps {
    /// The op of the stage a received spec names.
    pub(crate) fn pick(self, params: &Json) -> Result<Arc<dyn Op>, BoxError> {
        match stage(params)?.as_str() {
            "chunk" => Ok(self.chunk),
            "take" => Ok((self.take)(param(params, "bucket")?)),
            "combine" => Ok(self.combine),
            "finish" => Ok(self.finish),
            other => Err(format!("a split reduction has no stage {other:?}").into()),
        }
    }
}

impl<A: Item, R: 'static> SplitStages<A, R> {
    pub(crate) fn into_ops(self) -> SplitOps {
        let (chunk, combine, finish) = (self.chunk.clone(), self.combine_op.clone(), self.finish.clone());
        SplitOps {
            chunk,
            take: Box::new(move |j| self.take(j)),
            combine,
            finish,
        }
    }
}

/// Submits a factory for each built-in generic op name, dispatching on the spec's `type`.
macro_rules! typed_factories {
    ($($name:literal),+) => {
        $(
            inventory::submit! {
                OpFactory {
                    name: $name,
                    build: |params| {
                        let type_name: String = param(params, "type")?;
                        let t = types_by_name().get(type_name.as_str()).ok_or_else(|| {
                            format!("{type_name} is not a registered bag item type; register it with \
                                     drask::register_bag_type!({type_name})")
                        })?;
                        (t.build)($name, params)
                    },
                }
            }
        )+
    };
}

typed_factories!(
    "bag.count",
    "bag.to_vec",
    "bag.repartition",
    "bag.sum",
    "bag.min",
    "bag.max",
    "bag.mean",
    "bag.frequencies",
    "bag.distinct",
    "bag.to_text"
);

/// The zip of a bag of `T` with a bag of `U`; what [`register_bag_zip!`](crate::register_bag_zip)
/// registers.
#[doc(hidden)]
pub fn zip_op<T: Item, U: Item>() -> Arc<dyn Op> {
    super::reshape::zip_op::<T, U>()
}

// A zip of one type with itself is built by its item type; of two types, by the pair.
inventory::submit! {
    OpFactory {
        name: "bag.zip",
        build: |params| {
            if params.get("with").is_none() {
                let type_name: String = param(params, "type")?;
                let t = types_by_name().get(type_name.as_str()).ok_or_else(|| {
                    format!("{type_name} is not a registered bag item type; register it with \
                             drask::register_bag_type!({type_name})")
                })?;
                return (t.build)("bag.zip", params);
            }
            let (left, right): (String, String) = (param(params, "type")?, param(params, "with")?);
            let z = zips_by_name().get(&(left.as_str(), right.as_str())).ok_or_else(|| {
                format!("zip of bags of {left} and {right} is not registered; register it with \
                         drask::register_bag_zip!({left}, {right})")
            })?;
            Ok((z.build)())
        },
    }
}

/// What to register so that a zip of a `Bag<T>` with a `Bag<U>` has a spec; `None` if it has one.
pub(crate) fn zip_hint<T: 'static, U: 'static>() -> Option<String> {
    let (left, right) = (short_type_name(type_name::<T>()), short_type_name(type_name::<U>()));
    if TypeId::of::<T>() == TypeId::of::<U>() {
        (!is_bag_type::<T>()).then(|| {
            format!("a zip of bags of {left} needs the item type registered: `drask::register_bag_type!({left})`")
        })
    } else {
        (!is_bag_zip::<T, U>()).then(|| {
            format!(
                "a zip of a bag of {left} with a bag of {right} needs the pair registered: \
                 `drask::register_bag_zip!({left}, {right})` (which also registers ({left}, {right}) as an item type)"
            )
        })
    }
}

/// A type's name as code writes it: `Vec<String>`, not `alloc::vec::Vec<alloc::string::String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(&segment));
    out
}

/// Registers an item type for bags, so that the built-in bag ops over it have op specs and a
/// remote worker can rebuild them: `count`, `to_delayed`, `repartition`, `zip` with a bag of
/// the same type (of another type: [`register_bag_zip!`](crate::register_bag_zip)), and, where the type allows, `sum` (`Sum`), `min`/`max` (`PartialOrd +
/// Debug`), `mean` (`ToF64`), `frequencies`/`distinct` (`Hash + Eq`) and `to_text` (`Display`).
/// Also registers codecs ([`register_codec!`](crate::register_codec)) for the type, its
/// partitions `Vec<T>`, `Option<T>` (`min`/`max`), and `(T, u64)` and `Vec<(T, u64)>`
/// (`frequencies`), so the type must be `Serialize + Deserialize + Clone`.
///
/// `String`, `serde_json::Value`, `bool`, `char`, `i32`, `i64`, `u32`, `u64`, `usize`, `f32`,
/// `f64`, `(String, u64)` and `PathBuf` are registered already. Ops over an unregistered type still run
/// locally; [`GraphSpec::from_graph`](crate::registry::GraphSpec::from_graph) refuses them with
/// an error naming the task. Functions passed to bag methods are registered with
/// [`register_bag_fn!`](crate::register_bag_fn).
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::registry::GraphSpec;
///
/// #[derive(Debug, Clone, PartialEq, PartialOrd, serde::Serialize, serde::Deserialize)]
/// struct Reading { celsius: f64 }
/// drask::register_bag_type!(Reading);
///
/// let readings = Bag::from_vec(vec![Reading { celsius: 3.5 }, Reading { celsius: -1.0 }], 2);
/// let coldest = readings.min();
/// let spec = GraphSpec::from_graph(&coldest.graph(true)?)?; // every task has a spec
/// let rebuilt = spec.to_graph()?;
/// assert_eq!(rebuilt.len(), spec.tasks.len());
/// assert_eq!(coldest.compute()?, Some(Reading { celsius: -1.0 }));
/// # Ok::<(), drask::Error>(())
/// ```
#[macro_export]
macro_rules! register_bag_type {
    ($($ty:ty),+ $(,)?) => {
        $(
            $crate::register_bag_type!(@type $ty);
            $crate::register_codec!($ty, ::std::vec::Vec<$ty>, ::std::option::Option<$ty>, ($ty, u64),
                ::std::vec::Vec<($ty, u64)>);
        )+
    };
    (@type $ty:ty) => {
        $crate::__inventory::submit! {
            $crate::bag::BagType {
                type_name: ::std::any::type_name::<$ty>,
                type_id: ::std::any::TypeId::of::<$ty>,
                build: |name, params| {
                    #[allow(unused_imports)]
                    use $crate::bag::remote::probe::{
                        NoHash, NoMean, NoOrder, NoSum, NoText, Probe, ViaHash, ViaMean, ViaOrder, ViaSum, ViaText,
                    };
                    let probe = &&Probe::<$ty>::NEW;
                    $crate::bag::remote::build_typed::<$ty>(
                        name,
                        params,
                        &[probe.sum_ops(), probe.order_ops(), probe.mean_ops(), probe.hash_ops(), probe.text_ops()],
                    )
                },
            }
        }
    };
}

/// Registers `zip` of a bag of `T` with a bag of another type `U` (`Bag<T>::zip(&Bag<U>)`), so
/// that the zip has an op spec and a remote worker can rebuild it; and registers `(T, U)` as an
/// item type with [`register_bag_type!`](crate::register_bag_type), so that the zipped bag's
/// partitions have codecs and the built-in ops over it (`count`, `distinct`, …) have specs too.
/// `T` and `U` must therefore be `Serialize + Deserialize + Clone`.
///
/// Each pair is registered in its order: `register_bag_zip!(i64, String)` is for
/// `Bag<i64>::zip(&Bag<String>)`, not the other way round. A zip of a type with itself needs
/// only `register_bag_type!(T)` (and `register_bag_type!((T, T))` for ops over the pairs).
/// One pair per call. Registering `(T, U)` with `register_bag_type!` as well is harmless.
///
/// A zip of an unregistered pair still runs locally;
/// [`GraphSpec::from_graph`](crate::registry::GraphSpec::from_graph) refuses it with an error
/// naming the task and the `register_bag_zip!` line to add.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::registry::GraphSpec;
///
/// drask::register_bag_zip!(i64, String);
///
/// let ids = Bag::from_vec(vec![1_i64, 2, 3], 2);
/// let names = Bag::from_vec(vec!["ada".to_string(), "bob".into(), "cy".into()], 2);
/// let pairs = ids.zip(&names)?;
/// let spec = GraphSpec::from_graph(&pairs.count().graph(true)?)?; // every task has a spec
/// let wire = serde_json::to_string(&spec).unwrap();
/// assert!(wire.contains(r#""with":"alloc::string::String""#), "{wire}");
/// assert_eq!(spec.to_graph()?.len(), spec.tasks.len());
/// assert_eq!(pairs.compute()?, [(1, "ada".to_string()), (2, "bob".into()), (3, "cy".into())]);
///
/// // Another pair is refused, with what to register.
/// let flags = Bag::from_vec(vec![true, false, true], 2);
/// let err = GraphSpec::from_graph(&ids.zip(&flags)?.graph(false)?).unwrap_err();
/// assert!(err.to_string().contains("drask::register_bag_zip!(i64, bool)"), "{err}");
/// # Ok::<(), drask::Error>(())
/// ```
#[macro_export]
macro_rules! register_bag_zip {
    ($left:ty, $right:ty $(,)?) => {
        $crate::__inventory::submit! {
            $crate::bag::BagZip {
                type_names: || (::std::any::type_name::<$left>(), ::std::any::type_name::<$right>()),
                type_ids: || (::std::any::TypeId::of::<$left>(), ::std::any::TypeId::of::<$right>()),
                build: $crate::bag::remote::zip_op::<$left, $right>,
            }
        }
        $crate::register_bag_type!(($left, $right));
    };
}

/// Registers a function for one bag method, so that the ops the method builds with it have op
/// specs and a remote worker can rebuild them. Call the method with the function itself
/// (`bag.map(parse)`): it is recognised by its type, which is unique to each `fn` item. A
/// closure, or a function not registered for that method, still runs locally, but
/// [`GraphSpec::from_graph`](crate::registry::GraphSpec::from_graph) refuses it with an error
/// naming the task.
///
/// Roles and the signatures they take (as the methods do):
///
/// | registration | method call |
/// |---|---|
/// | `register_bag_fn!(map f)` | `bag.map(f)`, `f: fn(T) -> U` |
/// | `register_bag_fn!(try_map f)` | `bag.try_map(f)`, `f: fn(T) -> Result<U, E>` |
/// | `register_bag_fn!(filter f)` | `bag.filter(f)`, `f: fn(&T) -> bool` |
/// | `register_bag_fn!(flat_map f)` | `bag.flat_map(f)`, `f: fn(T) -> I` |
/// | `register_bag_fn!(map_partitions f)` | `bag.map_partitions(f)`, `f: fn(Vec<T>) -> Vec<U>` |
/// | `register_bag_fn!(topk key)` | `bag.topk(k, key)` and `topk_with` |
/// | `register_bag_fn!(groupby key)` | `bag.groupby(key, n)` |
/// | `register_bag_fn!(foldby key, binop, combine)` | `bag.foldby(key, init, binop, combine)` and `foldby_with` |
/// | `register_bag_fn!(fold fold, combine)` | `bag.fold(init, fold, combine)` and `fold_with` |
/// | `register_bag_fn!(reduce f)` | `bag.reduce(f)` and `reduce_with` |
///
/// Item types need [`register_bag_type!`](crate::register_bag_type) only for the built-in ops
/// (`count`, `sum`, …) and literal partitions; `init` values of folds need a codec.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::registry::GraphSpec;
///
/// fn parse(line: String) -> i64 { line.trim().parse().unwrap_or(0) }
/// fn is_even(x: &i64) -> bool { x % 2 == 0 }
/// fn last_digit(x: &i64) -> i64 { x % 10 }
/// drask::register_bag_fn!(map parse);
/// drask::register_bag_fn!(filter is_even);
/// drask::register_bag_fn!(topk last_digit);
///
/// let lines = Bag::from_vec(vec!["12".to_string(), " 7".into(), "38".into(), "4".into()], 2);
/// let top = lines.map(parse).filter(is_even).topk(2, last_digit);
/// let spec = GraphSpec::from_graph(&top.graph(true)?)?;
/// let wire = serde_json::to_string(&spec).unwrap();
/// assert!(wire.contains("::parse)"), "the spec names the function: {wire}");
/// assert_eq!(top.compute()?, [38, 4]);
///
/// // A closure has no spec: it runs locally, but cannot be sent.
/// let local = lines.map(|s: String| s.len());
/// assert!(GraphSpec::from_graph(&local.graph(true)?).is_err());
/// # Ok::<(), drask::Error>(())
/// ```
#[macro_export]
macro_rules! register_bag_fn {
    ($role:ident $($f:ident),+ $(,)?) => {
        $crate::__inventory::submit! {
            $crate::registry::OpFactory {
                name: $crate::register_bag_fn!(@name $role $($f),+),
                build: |params| $crate::bag::remote::roles::$role(
                    $crate::register_bag_fn!(@name $role $($f),+), params, $($f),+),
            }
        }
        $crate::__inventory::submit! {
            $crate::bag::BagFn {
                role: stringify!($role),
                name: $crate::register_bag_fn!(@name $role $($f),+),
                fns: || ::std::vec![$($crate::bag::remote::type_id_of(&$f)),+],
            }
        }
    };
    (@name $role:ident $f:ident) => {
        concat!(stringify!($role), "(", module_path!(), "::", stringify!($f), ")")
    };
    (@name $role:ident $f:ident, $g:ident) => {
        concat!(stringify!($role), "(", module_path!(), "::", stringify!($f), ", ", module_path!(), "::",
            stringify!($g), ")")
    };
    (@name $role:ident $f:ident, $g:ident, $h:ident) => {
        concat!(stringify!($role), "(", module_path!(), "::", stringify!($f), ", ", module_path!(), "::",
            stringify!($g), ", ", module_path!(), "::", stringify!($h), ")")
    };
}

// Common item types. Their codecs (except those below) are registered with the plain values.
register_bag_type!(@type String);
register_bag_type!(@type bool);
register_bag_type!(@type char);
register_bag_type!(@type i32);
register_bag_type!(@type i64);
register_bag_type!(@type u32);
register_bag_type!(@type u64);
register_bag_type!(@type usize);
register_bag_type!(@type f32);
register_bag_type!(@type f64);
register_bag_type!(@type (String, u64));
register_bag_type!(@type Json);
register_bag_type!(std::path::PathBuf);
crate::register_codec!(
    char,
    Vec<char>,
    Option<bool>,
    Option<char>,
    Option<i32>,
    Option<u32>,
    Option<u64>,
    Option<usize>,
    Option<f32>,
    (bool, u64),
    (char, u64),
    (i32, u64),
    (i64, u64),
    (u32, u64),
    (u64, u64),
    (usize, u64),
    Vec<(String, u64)>,
    Vec<(bool, u64)>,
    Vec<(char, u64)>,
    Vec<(i32, u64)>,
    Vec<(i64, u64)>,
    Vec<(u32, u64)>,
    Vec<(u64, u64)>,
    Vec<(usize, u64)>,
    ((String, u64), u64),
    Option<(String, u64)>,
    Vec<((String, u64), u64)>
);

/// JSON values go through their own text form: postcard, a format without type tags, cannot
/// decode a `serde_json::Value`.
#[doc(hidden)]
pub fn encode_json<T: Serialize + 'static>(value: &Value) -> Result<Vec<u8>, BoxError> {
    let typed = value
        .downcast_ref::<T>()
        .ok_or("value has another type than its codec")?;
    Ok(serde_json::to_vec(typed)?)
}

#[doc(hidden)]
pub fn decode_json<T: for<'de> Deserialize<'de> + Send + Sync + 'static>(bytes: &[u8]) -> Result<Value, BoxError> {
    Ok(Arc::new(serde_json::from_slice::<T>(bytes)?))
}

macro_rules! json_codecs {
    ($($ty:ty),+) => {
        $(
            inventory::submit! {
                crate::registry::ValueCodec {
                    type_name: type_name::<$ty>,
                    type_id: TypeId::of::<$ty>,
                    encode: encode_json::<$ty>,
                    decode: decode_json::<$ty>,
                    collect: crate::delayed::collect_op::<$ty>,
                }
            }
        )+
    };
}

// Not `Option<Json>`: its JSON text cannot tell `Some(null)` from `None`.
json_codecs!(Json, Vec<Json>, (Json, u64), Vec<(Json, u64)>);
