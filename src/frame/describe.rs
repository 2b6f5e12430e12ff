//! `describe`: summary statistics of every column, shaped as polars' `describe`.

use std::sync::Arc;

use polars::prelude::{
    self as pl, AnyValue, DataType, Expr, Field, IntoColumn, NamedFrom, QuantileMethod, Schema, col,
};
use serde::{Deserialize, Serialize};

use super::quantile::{QuantileColumn, exact_quantiles, quantile_name};
use super::shuffle::frame_of;
use super::steps::format_schema;
use super::{DataFrame, codec};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

const MICROSECONDS_PER_DAY: f64 = 86_400_000_000.0;

impl DataFrame {
    /// Summary statistics of every column, as polars' `describe` gives them (with its default
    /// percentiles 25%, 50% and 75%, read with the `nearest` method): see
    /// [`describe_with`](DataFrame::describe_with).
    ///
    /// # Errors
    /// As [`describe_with`](DataFrame::describe_with).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(
    ///     df!("x" => [1.0, 2.8, 3.0], "n" => [Some(40), Some(50), None], "s" => ["zz", "xx", "yy"])?,
    ///     2,
    /// )?;
    /// let summary = df.describe()?.compute()?;
    /// let stat: Vec<&str> = summary.column("statistic")?.str()?.iter().flatten().collect();
    /// assert_eq!(stat, ["count", "null_count", "mean", "std", "min", "25%", "50%", "75%", "max"]);
    /// let x: Vec<Option<f64>> = summary.column("x")?.f64()?.iter().collect();
    /// assert_eq!(x[..3], [Some(3.0), Some(0.0), Some(6.8 / 3.0)]);
    /// assert_eq!(x[5..], [Some(2.8), Some(2.8), Some(3.0), Some(3.0)]); // 25% is `nearest`: 2.8
    /// let s: Vec<Option<&str>> = summary.column("s")?.str()?.iter().collect();
    /// assert_eq!(s, [Some("3"), Some("0"), None, None, Some("xx"), None, None, None, Some("zz")]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe(&self) -> Result<DataFrame> {
        self.describe_with(&[0.25, 0.5, 0.75], QuantileMethod::Nearest)
    }

    /// Summary statistics of every column, shaped as polars' (Python) `describe(percentiles,
    /// interpolation=method)`: a `statistic` column naming the rows `count`, `null_count`,
    /// `mean`, `std`, `min`, one row per percentile (sorted, labelled like `25%`) and `max`;
    /// then one column per input column. Numeric, boolean, null and nested columns give
    /// `Float64` columns; string and temporal columns give `String` columns, their values as
    /// polars prints them. `std` has `ddof = 1` and is given for numeric columns only; `mean`
    /// for numeric, boolean (the share of `true`) and temporal columns (a date's mean is a
    /// datetime); percentiles for numeric and temporal columns (of their physical values, cast
    /// back); `min` and `max` for every orderable column.
    ///
    /// Every number is exact, computed without gathering the data in one place:
    /// counts, mean, standard deviation, minimum and maximum through [`agg`](DataFrame::agg)
    /// (mean and deviation combine partial sums and Chan's pairwise update, so they may differ
    /// from polars on the whole frame in the last bits of a float); percentiles through two
    /// passes that bracket the wanted ranks with per-partition samples and then read them, which
    /// gives exactly the value polars' `quantile` gives on the whole column, interpolation
    /// included. The result is lazy, one partition of one frame; computing it runs the input's
    /// queries three times (the aggregations, then the two percentile passes), each fused with
    /// the read and projected to the columns it needs.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a frame without columns or a percentile outside `[0, 1]`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => (1..=100).map(f64::from).collect::<Vec<_>>())?, 7)?;
    /// let summary = df.describe_with(&[0.9, 0.1], QuantileMethod::Linear)?.compute()?;
    /// let stat: Vec<&str> = summary.column("statistic")?.str()?.iter().flatten().collect();
    /// assert_eq!(stat[5..7], ["10%", "90%"]);
    /// let x = summary.column("x")?.f64()?;
    /// assert_eq!((x.get(5), x.get(6)), (Some(10.9), Some(90.10000000000001))); // as polars
    /// assert!(df.describe_with(&[1.5], QuantileMethod::Linear).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe_with(&self, percentiles: &[f64], method: QuantileMethod) -> Result<DataFrame> {
        if self.schema.is_empty() {
            return Err(Error::Metadata("describe: the frame has no columns".into()));
        }
        if let Some(p) = percentiles.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(Error::Metadata(format!(
                "describe: percentile {p} is not in [0, 1]; schema: {}",
                format_schema(&self.schema)
            )));
        }
        // Polars' order: those below one half sorted, then the rest sorted.
        let mut percentiles = percentiles.to_vec();
        percentiles.sort_by(|a, b| (*a >= 0.5).cmp(&(*b >= 0.5)).then(a.total_cmp(b)));

        let columns: Vec<Described> = self
            .schema
            .iter()
            .map(|(name, dtype)| Described::new(name.as_str(), dtype))
            .collect();
        let mut aggs: Vec<Expr> = vec![pl::len().alias(LEN)];
        let mut quantile_columns = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            let x = col(c.name.as_str());
            aggs.push(x.clone().count().alias(stat_name("count", i)));
            match c.mean {
                Mean::None => {}
                Mean::Plain => aggs.push(x.clone().mean().alias(stat_name("mean", i))),
                Mean::Temporal => aggs.push(x.clone().to_physical().mean().alias(stat_name("mean", i))),
            }
            if c.std {
                aggs.push(x.clone().std(1).alias(stat_name("std", i)));
            }
            if c.min_max {
                aggs.push(x.clone().min().alias(stat_name("min", i)));
                aggs.push(x.max().alias(stat_name("max", i)));
            }
            if c.percentiles {
                quantile_columns.push(QuantileColumn {
                    name: c.name.clone(),
                    temporal: c.dtype.is_temporal(),
                    float32: c.dtype == DataType::Float32,
                });
            }
        }
        let stats = self.agg(aggs)?;
        let mut inputs = vec![stats.node().clone()];
        if !quantile_columns.is_empty() && !percentiles.is_empty() {
            inputs.push(exact_quantiles(self, quantile_columns, &percentiles, method)?);
        }
        let op = DescribeOp { columns, percentiles };
        let schema = Arc::new(op.schema());
        let token = {
            let mut t = Tokenizer::new("describe");
            for input in &inputs {
                t = t.str(input.name());
            }
            t.str(&serde_json::to_string(&op).unwrap_or_default()).finish()
        };
        let node = Node::new(token.into(), inputs, Box::new(DescribeLayer { op }));
        Ok(DataFrame::from_node(node, 1, schema))
    }
}

const LEN: &str = "__drask_len";

fn stat_name(stat: &str, column: usize) -> String {
    format!("{stat}:{column}")
}

/// Python's `f"{p * 100:g}%"`: six significant digits, trailing zeros dropped.
fn percent_label(p: f64) -> String {
    let v = p * 100.0;
    if v == 0.0 {
        return "0%".into();
    }
    // The exponent after rounding to six significant digits decides the notation.
    let scientific = format!("{v:.5e}");
    let (mantissa, exp) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |t: &str| -> String {
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        return format!(
            "{}e{}{:02}%",
            trim(mantissa),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let decimals = (5 - exp).max(0) as usize;
    format!("{}%", trim(&format!("{v:.decimals$}")))
}

/// How a column's mean is computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Mean {
    None,
    Plain,
    /// Of the physical values, then converted back as polars does.
    Temporal,
}

/// What `describe` computes for one column (polars' rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Described {
    name: String,
    dtype: DataType,
    /// Whether the output column is `Float64` (else `String`).
    numeric_result: bool,
    mean: Mean,
    std: bool,
    min_max: bool,
    percentiles: bool,
}

impl Described {
    fn new(name: &str, dtype: &DataType) -> Described {
        let numeric = dtype.is_numeric();
        let temporal = !numeric && dtype.is_temporal();
        let boolean = dtype.is_bool();
        let skip_min_max = dtype.is_nested() || dtype.is_null() || dtype.is_object() || dtype.is_categorical();
        Described {
            name: name.to_string(),
            dtype: dtype.clone(),
            numeric_result: numeric || boolean || dtype.is_nested() || dtype.is_null(),
            mean: if numeric || boolean {
                Mean::Plain
            } else if temporal {
                Mean::Temporal
            } else {
                Mean::None
            },
            std: numeric,
            min_max: !skip_min_max,
            percentiles: numeric || temporal,
        }
    }
}

#[derive(Debug)]
struct DescribeLayer {
    op: DescribeOp,
}

impl Layer for DescribeLayer {
    fn op_name(&self) -> &str {
        "describe"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let args: Vec<_> = node.inputs().iter().map(|n| n.key([0])).collect();
        out.add(node.key([0]), Arc::new(self.op.clone()), &args)?;
        Ok(())
    }
}

/// Shapes the aggregations (and the percentiles, if any) into polars' `describe` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DescribeOp {
    columns: Vec<Described>,
    percentiles: Vec<f64>,
}

impl DescribeOp {
    fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = ["count", "null_count", "mean", "std", "min"].map(String::from).to_vec();
        labels.extend(self.percentiles.iter().map(|&p| percent_label(p)));
        labels.push("max".into());
        labels
    }

    fn schema(&self) -> Schema {
        let mut fields = vec![Field::new("statistic".into(), DataType::String)];
        fields.extend(self.columns.iter().map(|c| {
            let dtype = if c.numeric_result {
                DataType::Float64
            } else {
                DataType::String
            };
            Field::new(c.name.as_str().into(), dtype)
        }));
        Schema::from_iter(fields)
    }
}

/// The one value of a one-row column, as a float.
fn float_of(df: &pl::DataFrame, name: &str) -> Result<Option<f64>, BoxError> {
    Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.get(0))
}

/// The one value of a one-row series, as polars prints it (strings without quotes).
fn text_of(series: &pl::Series) -> Result<Option<String>, BoxError> {
    Ok(match series.get(0)? {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        other => Some(other.to_string()),
    })
}

impl Op for DescribeOp {
    fn name(&self) -> &str {
        "describe"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs = inputs.into_iter();
        let stats = frame_of(inputs.next().ok_or("describe reads the aggregations")?)?;
        let quantiles = inputs.next().map(frame_of).transpose()?;
        let labels = self.labels();
        let len = float_of(&stats, LEN)?.unwrap_or(0.0);
        let mut out = vec![pl::Series::new("statistic".into(), labels.clone()).into_column()];
        let mut q_index = 0;
        for (i, c) in self.columns.iter().enumerate() {
            let count = float_of(&stats, &stat_name("count", i))?.unwrap_or(0.0);
            let quantile_values: Vec<Option<f64>> = if c.percentiles && !self.percentiles.is_empty() {
                let q = quantiles.as_ref().ok_or("describe: the percentiles are missing")?;
                let values = (0..self.percentiles.len())
                    .map(|p| float_of(q, &quantile_name(p, q_index)))
                    .collect::<Result<_, _>>()?;
                q_index += 1;
                values
            } else {
                vec![None; self.percentiles.len()]
            };
            let stat = |name: &str, wanted: bool| -> Result<Option<&pl::Column>, BoxError> {
                Ok(if wanted {
                    Some(stats.column(&stat_name(name, i))?)
                } else {
                    None
                })
            };
            if c.numeric_result {
                let float = |column: Option<&pl::Column>| -> Result<Option<f64>, BoxError> {
                    Ok(match column {
                        Some(column) => column.cast(&DataType::Float64)?.f64()?.get(0),
                        None => None,
                    })
                };
                let mut values = vec![
                    Some(count),
                    Some(len - count),
                    float(stat("mean", c.mean != Mean::None)?)?,
                    float(stat("std", c.std)?)?,
                    float(stat("min", c.min_max)?)?,
                ];
                values.extend(quantile_values);
                values.push(float(stat("max", c.min_max)?)?);
                out.push(pl::Series::new(c.name.as_str().into(), values).into_column());
                continue;
            }
            let text = |column: Option<&pl::Column>| -> Result<Option<String>, BoxError> {
                match column {
                    Some(column) => text_of(column.as_materialized_series()),
                    None => Ok(None),
                }
            };
            let mean = match c.mean {
                Mean::Temporal => match float_of(&stats, &stat_name("mean", i))? {
                    Some(mean) => text_of(&temporal_mean(mean, &c.dtype)?)?,
                    None => None,
                },
                _ => None,
            };
            let mut values = vec![
                Some((count as u64).to_string()),
                Some(((len - count) as u64).to_string()),
                mean,
                None,
                text(stat("min", c.min_max)?)?,
            ];
            for q in quantile_values {
                values.push(match q {
                    Some(q) => text_of(&pl::Series::new(pl::PlSmallStr::EMPTY, [q]).cast(&c.dtype)?)?,
                    None => None,
                });
            }
            values.push(text(stat("max", c.min_max)?)?);
            out.push(pl::Series::new(c.name.as_str().into(), values).into_column());
        }
        Ok(Arc::new(pl::DataFrame::new(labels.len(), out)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-describe", self)
    }
}

/// The mean of a temporal column from the mean of its physical values, as polars converts it:
/// a date's mean is a datetime in microseconds, other types keep theirs (truncated to whole
/// units).
fn temporal_mean(mean: f64, dtype: &DataType) -> Result<pl::Series, BoxError> {
    let name = pl::PlSmallStr::EMPTY;
    Ok(match dtype {
        DataType::Date => pl::Series::new(name, [(mean * MICROSECONDS_PER_DAY) as i64])
            .cast(&DataType::Datetime(pl::TimeUnit::Microseconds, None))?,
        other => pl::Series::new(name, [mean as i64]).cast(other)?,
    })
}

#[cfg(test)]
mod tests {
    use super::percent_label;

    #[test]
    fn percent_labels_are_pythons_g_format() {
        for (p, want) in [
            (0.25, "25%"),
            (0.5, "50%"),
            (0.0, "0%"),
            (1.0, "100%"),
            (0.125, "12.5%"),
            (1.0 / 3.0, "33.3333%"),
            (0.999_999, "99.9999%"),
            (0.000_001, "0.0001%"),
            (0.000_000_1, "1e-05%"),
            (0.07, "7%"),
        ] {
            assert_eq!(percent_label(p), want, "{p}");
        }
    }
}
