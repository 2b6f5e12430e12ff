//! `pluck`: one field or element out of every JSON value of a bag (Dask's `bag.pluck`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::Bag;
use super::ops::PartitionOp;
use crate::error::BoxError;
use crate::graph::{Op, OpSpec};
use crate::registry::OpFactory;

/// What a JSON value is, for error messages.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Field `field` of `item` (item `pos` of its partition), or `default`, or an error.
fn field_of(item: Json, field: &str, pos: usize, default: Option<&Json>) -> Result<Json, BoxError> {
    match (item, default) {
        (Json::Object(mut map), default) => match (map.remove(field), default) {
            (Some(v), _) => Ok(v),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => Err(format!("item {pos} of the partition has no field {field:?}").into()),
        },
        (_, Some(d)) => Ok(d.clone()),
        (other, None) => Err(format!(
            "item {pos} of the partition is {}, not an object with field {field:?}",
            kind(&other)
        )
        .into()),
    }
}

/// Element `index` of `item` (item `pos` of its partition), or `default`, or an error.
fn element_of(item: Json, index: usize, pos: usize, default: Option<&Json>) -> Result<Json, BoxError> {
    match (item, default) {
        (Json::Array(mut items), _) if index < items.len() => Ok(items.swap_remove(index)),
        (_, Some(d)) => Ok(d.clone()),
        (Json::Array(items), None) => Err(format!(
            "item {pos} of the partition has no element {index} (it has {})",
            items.len()
        )
        .into()),
        (other, None) => Err(format!(
            "item {pos} of the partition is {}, not an array with element {index}",
            kind(&other)
        )
        .into()),
    }
}

impl Bag<Json> {
    /// Field `field` of every item (each a JSON object).
    ///
    /// # Errors
    /// An item that is not an object, or has no such field, fails the compute; the error names
    /// the partition's task, the item's position in it and the field. Use
    /// [`pluck_or`](Bag::pluck_or) for optional fields.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use serde_json::json;
    /// let people = Bag::from_vec(vec![json!({"name": "Ada", "age": 36}), json!({"name": "Alan"})], 2);
    /// assert_eq!(people.pluck("name").compute()?, [json!("Ada"), json!("Alan")]);
    /// let err = people.pluck("age").compute().unwrap_err();
    /// assert!(err.to_string().contains(r#"no field "age""#), "{err}");
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn pluck(&self, field: &str) -> Bag<Json> {
        self.pluck_field(field, None)
    }

    /// Field `field` of every item, or `default` where the item has no such field (or is not an
    /// object).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use serde_json::json;
    /// let people = Bag::from_vec(vec![json!({"name": "Ada", "age": 36}), json!({"name": "Alan"})], 2);
    /// assert_eq!(people.pluck_or("age", json!(null)).compute()?, [json!(36), json!(null)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn pluck_or(&self, field: &str, default: Json) -> Bag<Json> {
        self.pluck_field(field, Some(default))
    }

    fn pluck_field(&self, field: &str, default: Option<Json>) -> Bag<Json> {
        self.blockwise("pluck", pluck_op(Pluck::Field(field.to_string()), default))
    }

    /// Element `index` of every item (each a JSON array).
    ///
    /// # Errors
    /// An item that is not an array, or is too short, fails the compute; the error names the
    /// partition's task, the item's position in it and the index.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use serde_json::json;
    /// let rows = Bag::from_vec(vec![json!([1, "a"]), json!([2, "b"])], 1);
    /// assert_eq!(rows.pluck_index(1).compute()?, [json!("a"), json!("b")]);
    /// assert!(rows.pluck_index(2).compute().is_err());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn pluck_index(&self, index: usize) -> Bag<Json> {
        self.pluck_element(index, None)
    }

    /// Element `index` of every item, or `default` where the item is too short (or is not an
    /// array).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use serde_json::json;
    /// let rows = Bag::from_vec(vec![json!([1, 2]), json!([3])], 2);
    /// assert_eq!(rows.pluck_index_or(1, json!(0)).compute()?, [json!(2), json!(0)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn pluck_index_or(&self, index: usize, default: Json) -> Bag<Json> {
        self.pluck_element(index, Some(default))
    }

    fn pluck_element(&self, index: usize, default: Option<Json>) -> Bag<Json> {
        self.blockwise("pluck", pluck_op(Pluck::Index(index), default))
    }
}

/// What `pluck` takes out of each item.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Pluck {
    Field(String),
    Index(usize),
}

/// The spec of a pluck op: what it takes, and the default. (Not an `Option<Json>`: a default of
/// `null` would come back as no default.)
#[derive(Serialize, Deserialize)]
struct PluckSpec {
    pluck: Pluck,
    default: Fallback,
}

#[derive(Serialize, Deserialize)]
enum Fallback {
    None,
    Value(Json),
}

/// The op of `pluck`, `pluck_or`, `pluck_index` and `pluck_index_or`.
fn pluck_op(pluck: Pluck, default: Option<Json>) -> Arc<dyn Op> {
    let spec = PluckSpec {
        pluck: pluck.clone(),
        default: default.clone().map_or(Fallback::None, Fallback::Value),
    };
    let spec = serde_json::to_value(spec)
        .ok()
        .map(|params| OpSpec::new("bag.pluck", params));
    let op = PartitionOp::new("pluck", move |p: Vec<Json>| {
        p.into_iter()
            .enumerate()
            .map(|(pos, item)| match &pluck {
                Pluck::Field(field) => field_of(item, field, pos, default.as_ref()),
                Pluck::Index(index) => element_of(item, *index, pos, default.as_ref()),
            })
            .collect::<Result<Vec<Json>, BoxError>>()
    });
    Arc::new(op.with_spec(spec))
}

inventory::submit! {
    OpFactory {
        name: "bag.pluck",
        build: |params| {
            let spec = PluckSpec::deserialize(params)?;
            let default = match spec.default {
                Fallback::None => None,
                Fallback::Value(v) => Some(v),
            };
            Ok(pluck_op(spec.pluck, default))
        },
    }
}
