//! Column work inside one partition: the steps a frame applies to each partition, as a polars
//! lazy query. Consecutive steps over the same partitions run as one query per partition, so
//! polars' own optimizer pushes projections and filters into the reader underneath.

use std::fmt::Write as _;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One column operation on a partition. Every variant is plain data (polars expressions
/// serialise), so a chain of them is an op spec a remote worker can rebuild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Step {
    Select(Vec<Expr>),
    WithColumns(Vec<Expr>),
    Filter(Expr),
    Rename {
        existing: Vec<String>,
        new: Vec<String>,
    },
    Drop(Vec<String>),
    FillNull(Expr),
    DropNulls(Option<Vec<String>>),
    /// The first `len` rows (head).
    Limit(u32),
    /// A partial aggregation: `group_by(keys).agg(aggs)`, or `select(aggs)` without keys.
    Aggregate {
        keys: Vec<Expr>,
        aggs: Vec<Expr>,
    },
    /// Rows unique over `subset` (all columns when `None`), keeping the first, last, any or
    /// none of each set of duplicates, in their original order.
    Unique {
        subset: Option<Vec<String>>,
        keep: Keep,
    },
    /// Sorted by `by`, stably.
    Sort {
        by: Vec<String>,
        descending: Vec<bool>,
        nulls_last: bool,
    },
}

/// Which row of a set of duplicates [`DataFrame::drop_duplicates`](super::DataFrame::drop_duplicates)
/// keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Keep {
    /// The first, in partition and row order (pandas' and Dask's default).
    #[default]
    First,
    /// The last.
    Last,
    /// None of them: rows that have a duplicate are all dropped.
    None,
}

impl Step {
    /// Adds this step to a lazy query.
    pub(crate) fn apply(&self, lf: LazyFrame) -> LazyFrame {
        match self {
            Step::Select(exprs) => lf.select(exprs.clone()),
            Step::WithColumns(exprs) => lf.with_columns(exprs.clone()),
            Step::Filter(predicate) => lf.filter(predicate.clone()),
            Step::Rename { existing, new } => lf.rename(existing, new, true),
            Step::Drop(columns) => lf.drop(Selector::ByName {
                names: columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect(),
                strict: true,
            }),
            Step::FillNull(value) => lf.fill_null(value.clone()),
            Step::DropNulls(subset) => lf.drop_nulls(subset.as_ref().map(|cols| Selector::ByName {
                names: cols.iter().map(|c| PlSmallStr::from(c.as_str())).collect(),
                strict: true,
            })),
            Step::Limit(len) => lf.limit(*len as IdxSize),
            Step::Aggregate { keys, aggs } => {
                if keys.is_empty() {
                    lf.select(aggs.clone())
                } else {
                    lf.group_by(keys.clone()).agg(aggs.clone())
                }
            }
            Step::Unique { subset, keep } => {
                let strategy = match keep {
                    Keep::First => UniqueKeepStrategy::First,
                    Keep::Last => UniqueKeepStrategy::Last,
                    Keep::None => UniqueKeepStrategy::None,
                };
                let subset = subset.as_ref().map(|cols| Selector::ByName {
                    names: cols.iter().map(|c| PlSmallStr::from(c.as_str())).collect(),
                    strict: true,
                });
                lf.unique_stable(subset, strategy)
            }
            Step::Sort {
                by,
                descending,
                nulls_last,
            } => lf.sort(
                by.iter().map(String::as_str).collect::<Vec<_>>(),
                SortMultipleOptions::default()
                    .with_order_descending_multi(descending.clone())
                    .with_nulls_last(*nulls_last)
                    .with_maintain_order(true),
            ),
        }
    }

    /// A short description for `explain()`.
    pub(crate) fn describe(&self) -> String {
        let exprs = |exprs: &[Expr]| exprs.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(", ");
        match self {
            Step::Select(e) => format!("select({})", exprs(e)),
            Step::WithColumns(e) => format!("with_columns({})", exprs(e)),
            Step::Filter(e) => format!("filter({e:?})"),
            Step::Rename { existing, new } => format!("rename({existing:?} -> {new:?})"),
            Step::Drop(c) => format!("drop({c:?})"),
            Step::FillNull(e) => format!("fill_null({e:?})"),
            Step::DropNulls(c) => format!("drop_nulls({c:?})"),
            Step::Limit(n) => format!("limit({n})"),
            Step::Aggregate { keys, aggs } => format!("aggregate(by=[{}], [{}])", exprs(keys), exprs(aggs)),
            Step::Unique { subset, keep } => format!("unique({subset:?}, keep={keep:?})"),
            Step::Sort { by, descending, .. } => format!("sort({by:?}, descending={descending:?})"),
        }
    }
}

/// Runs `steps` over a partition's lazy query.
pub(crate) fn apply_all(steps: &[Step], mut lf: LazyFrame) -> LazyFrame {
    for step in steps {
        lf = step.apply(lf);
    }
    lf
}

/// The schema `steps` produce from `input`, checked without data: a column that does not exist,
/// or an expression of the wrong type, fails here with both schemas in the message.
pub(crate) fn output_schema(input: &SchemaRef, steps: &[Step]) -> Result<SchemaRef> {
    let empty = DataFrame::empty_with_schema(input);
    apply_all(steps, empty.lazy())
        .collect_schema()
        .map_err(|err| schema_error(input, steps, &err))
}

/// The error for a step that does not fit its input's schema.
pub(crate) fn schema_error(input: &Schema, steps: &[Step], err: &PolarsError) -> Error {
    let mut msg = String::new();
    let last = steps.last().map_or_else(String::new, Step::describe);
    let _ = write!(
        msg,
        "{last} does not fit the frame's schema: {err}; schema: {}",
        format_schema(input)
    );
    Error::Metadata(msg)
}

/// `{name: dtype, ...}`, for error messages.
pub(crate) fn format_schema(schema: &Schema) -> String {
    let fields: Vec<String> = schema.iter().map(|(name, dtype)| format!("{name}: {dtype}")).collect();
    format!("{{{}}}", fields.join(", "))
}
