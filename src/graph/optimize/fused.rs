//! [`Fused`]: one op that runs several ops in order, each reading the task's inputs or earlier
//! steps' values. What `inline` and `fuse` turn merged tasks into.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{BoxError, Error, Result, StepFailed};
use crate::graph::{Key, Op, OpSpec, Value};
use crate::registry::{self, OpFactory};

/// Where one argument of a [`Step`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepArg {
    /// The fused task's `n`-th input.
    Input(u32),
    /// The value of the `n`-th step, which must run earlier.
    Step(u32),
}

/// One op of a [`Fused`] and where its arguments come from, in argument order.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step runs.
    pub op: Arc<dyn Op>,
    /// Its arguments, in order.
    pub args: Vec<StepArg>,
    /// The key of the task this step was before fusion: an error in the step names it.
    pub key: Option<Key>,
}

impl Step {
    /// A step running `op` on `args`.
    pub fn new(op: Arc<dyn Op>, args: Vec<StepArg>) -> Step {
        Step { op, args, key: None }
    }

    /// A step that was the task `key` before fusion.
    pub fn keyed(key: Key, op: Arc<dyn Op>, args: Vec<StepArg>) -> Step {
        Step {
            op,
            args,
            key: Some(key),
        }
    }
}

/// Where a step reads an argument from when it runs: the precomputed form of a [`StepArg`].
#[derive(Debug, Clone, Copy)]
enum Source {
    /// An input another step reads later too.
    Input(u32),
    /// The last read of an input: it moves, so the step may reuse its allocation.
    TakeInput(u32),
    /// A slot another step reads later too.
    Slot(u32),
    /// The last read of a slot: the value moves out, so it is freed as early as possible.
    Take(u32),
}

/// Runs several ops as one: each step reads the task's inputs or earlier steps' values, and the
/// last step's value is the result. An inner op that is itself a `Fused` is flattened into its
/// steps, so fusing fused tasks never nests.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::delayed::FnOp;
/// use drask::graph::optimize::{Fused, Step, StepArg};
/// use drask::graph::{Op, Value};
///
/// let inc = Arc::new(FnOp::new("inc", |x: &i64| x + 1));
/// let add = Arc::new(FnOp::new("add", |a: &i64, b: &i64| a + b));
/// // add(inc(x), x)
/// let fused = Fused::new(vec![
///     Step::new(inc, vec![StepArg::Input(0)]),
///     Step::new(add, vec![StepArg::Step(0), StepArg::Input(0)]),
/// ])?;
/// assert_eq!(fused.name(), "inc+add");
/// let out = fused.call(vec![Arc::new(20_i64) as Value]).unwrap();
/// assert_eq!(out.downcast_ref::<i64>(), Some(&41));
/// # Ok::<(), drask::Error>(())
/// ```
pub struct Fused {
    steps: Vec<Step>,
    /// `sources[offsets[i]..offsets[i + 1]]` are step `i`'s arguments, resolved to slots.
    sources: Vec<Source>,
    offsets: Vec<u32>,
    /// The slot each step's value goes to; `None` for the last step (its value is returned) and
    /// for steps no later step reads.
    outputs: Vec<Option<u32>>,
    /// How many values are alive at most between steps.
    slots: usize,
    /// How many inputs the task must pass (one more than the highest `Input` read).
    inputs: usize,
    name: String,
    total_steps: usize,
}

impl Fused {
    /// A fused op running `steps` in order and returning the last step's value. Steps whose op
    /// is itself a `Fused` are replaced by its steps.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `steps` is empty, or a step reads a step that is not before it, or
    /// passes an inner `Fused` fewer arguments than it reads.
    pub fn new(steps: Vec<Step>) -> Result<Arc<Fused>> {
        let bad = |msg: String| Err(Error::Metadata(format!("fused op: {msg}")));
        if steps.is_empty() {
            return bad("no steps".to_string());
        }
        let mut flat: Vec<Step> = Vec::with_capacity(steps.len());
        // Outer step index → the flat step whose value it is.
        let mut value_of: Vec<u32> = Vec::with_capacity(steps.len());
        for (i, step) in steps.into_iter().enumerate() {
            let mut args = step.args;
            for arg in &mut args {
                if let StepArg::Step(j) = *arg {
                    match value_of.get(j as usize) {
                        Some(&at) => *arg = StepArg::Step(at),
                        None => return bad(format!("step {i} reads step {j}, which does not run before it")),
                    }
                }
            }
            match Fused::downcast(&*step.op) {
                Some(inner) => {
                    let base = flat.len() as u32;
                    for (k, s) in inner.steps.iter().enumerate() {
                        let inner_args = s
                            .args
                            .iter()
                            .map(|a| match *a {
                                StepArg::Input(n) => args.get(n as usize).copied(),
                                StepArg::Step(j) => Some(StepArg::Step(base + j)),
                            })
                            .collect::<Option<Vec<_>>>();
                        let Some(inner_args) = inner_args else {
                            return bad(format!(
                                "step {i} passes {} arguments to `{}`, which reads {}",
                                args.len(),
                                inner.name,
                                inner.inputs
                            ));
                        };
                        // The inner op's value is the outer step's: its last step takes the
                        // outer key when it has none of its own.
                        let key = match (&s.key, k + 1 == inner.steps.len()) {
                            (Some(key), _) => Some(key.clone()),
                            (None, true) => step.key.clone(),
                            (None, false) => None,
                        };
                        flat.push(Step {
                            op: s.op.clone(),
                            args: inner_args,
                            key,
                        });
                    }
                }
                None => flat.push(Step {
                    op: step.op,
                    args,
                    key: step.key,
                }),
            }
            value_of.push(flat.len() as u32 - 1);
        }
        Ok(Arc::new(Fused::compile(flat)))
    }

    /// A linear chain: the first op reads the task's `inputs` inputs in order, each later op reads
    /// the value of the one before.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `ops` is empty.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::delayed::FnOp;
    /// use drask::graph::optimize::Fused;
    /// use drask::graph::{Op, Value};
    ///
    /// let inc: Arc<dyn Op> = Arc::new(FnOp::new("inc", |x: &i64| x + 1));
    /// let double: Arc<dyn Op> = Arc::new(FnOp::new("double", |x: &i64| x * 2));
    /// let fused = Fused::chain(1, [inc, double])?;
    /// assert_eq!((fused.name(), fused.steps()), ("inc+double", 2));
    /// let out = fused.call(vec![Arc::new(4_i64) as Value]).unwrap();
    /// assert_eq!(out.downcast_ref::<i64>(), Some(&10));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn chain(inputs: u32, ops: impl IntoIterator<Item = Arc<dyn Op>>) -> Result<Arc<Fused>> {
        Fused::keyed_chain(inputs, ops.into_iter().map(|op| (None, op)))
    }

    /// A linear chain whose steps remember the keys their tasks had, so errors name them.
    pub(crate) fn keyed_chain(
        inputs: u32,
        links: impl IntoIterator<Item = (Option<Key>, Arc<dyn Op>)>,
    ) -> Result<Arc<Fused>> {
        let steps = links
            .into_iter()
            .enumerate()
            .map(|(i, (key, op))| {
                let args = match i {
                    0 => (0..inputs).map(StepArg::Input).collect(),
                    _ => vec![StepArg::Step(i as u32 - 1)],
                };
                Step { op, args, key }
            })
            .collect();
        Fused::new(steps)
    }

    /// The `Fused` behind `op`, if it is one.
    pub fn downcast(op: &dyn Op) -> Option<&Fused> {
        op.as_any()?.downcast_ref::<Fused>()
    }

    /// The steps, in run order. None of their ops is a `Fused`.
    pub fn parts(&self) -> &[Step] {
        &self.steps
    }

    /// How many inputs the task must pass: one more than the highest input a step reads.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Resolves step arguments to value slots, reusing a slot once its last reader has run, so a
    /// chain of any length keeps one value alive.
    fn compile(steps: Vec<Step>) -> Fused {
        let n = steps.len();
        // The last (step, argument position) that reads each step's value.
        let mut last_read: Vec<Option<(u32, u32)>> = vec![None; n];
        let mut last_input_read: Vec<(u32, u32)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            for (p, arg) in step.args.iter().enumerate() {
                let at = (i as u32, p as u32);
                match *arg {
                    StepArg::Input(k) => {
                        if last_input_read.len() <= k as usize {
                            last_input_read.resize(k as usize + 1, (u32::MAX, u32::MAX));
                        }
                        last_input_read[k as usize] = at;
                    }
                    StepArg::Step(j) => last_read[j as usize] = Some(at),
                }
            }
        }
        let inputs = last_input_read.len();
        let mut slot_of: Vec<u32> = vec![u32::MAX; n];
        let mut free: Vec<u32> = Vec::new();
        let mut slots = 0;
        let mut sources = Vec::with_capacity(steps.iter().map(|s| s.args.len()).sum());
        let mut offsets = Vec::with_capacity(n + 1);
        let mut outputs = Vec::with_capacity(n);
        offsets.push(0);
        for (i, step) in steps.iter().enumerate() {
            for (p, arg) in step.args.iter().enumerate() {
                sources.push(match *arg {
                    StepArg::Input(k) if last_input_read[k as usize] == (i as u32, p as u32) => Source::TakeInput(k),
                    StepArg::Input(k) => Source::Input(k),
                    StepArg::Step(j) => {
                        let slot = slot_of[j as usize];
                        if last_read[j as usize] == Some((i as u32, p as u32)) {
                            free.push(slot);
                            Source::Take(slot)
                        } else {
                            Source::Slot(slot)
                        }
                    }
                });
            }
            offsets.push(sources.len() as u32);
            let keep = i + 1 < n && last_read[i].is_some();
            outputs.push(keep.then(|| {
                let slot = free.pop().unwrap_or_else(|| {
                    slots += 1;
                    slots as u32 - 1
                });
                slot_of[i] = slot;
                slot
            }));
        }
        let name = steps.iter().map(|s| s.op.name()).collect::<Vec<_>>().join("+");
        let total_steps = steps.iter().map(|s| s.op.steps()).sum();
        Fused {
            steps,
            sources,
            offsets,
            outputs,
            slots: slots as usize,
            inputs,
            name,
            total_steps,
        }
    }
}

impl fmt::Debug for Fused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fused({})", self.name)
    }
}

#[derive(Serialize, Deserialize)]
struct StepSpec {
    op: OpSpec,
    args: Vec<StepArg>,
    /// The step's key before fusion, as (name, index).
    key: Option<(String, Vec<u32>)>,
}

#[derive(Serialize, Deserialize)]
struct FusedSpec {
    steps: Vec<StepSpec>,
}

impl Op for Fused {
    fn name(&self) -> &str {
        &self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if inputs.len() < self.inputs {
            return Err(format!("`{}` reads {} inputs, got {}", self.name, self.inputs, inputs.len()).into());
        }
        let mut inputs: Vec<Option<Value>> = inputs.into_iter().map(Some).collect();
        let mut slots: Vec<Option<Value>> = vec![None; self.slots];
        let last = self.steps.len() - 1;
        for (i, step) in self.steps.iter().enumerate() {
            let sources = &self.sources[self.offsets[i] as usize..self.offsets[i + 1] as usize];
            let mut args: Vec<Value> = Vec::with_capacity(sources.len());
            for source in sources {
                let value = match *source {
                    Source::Input(k) => inputs[k as usize].clone(),
                    Source::TakeInput(k) => inputs[k as usize].take(),
                    Source::Slot(s) => slots[s as usize].clone(),
                    Source::Take(s) => slots[s as usize].take(),
                };
                args.push(value.ok_or("a fused step ran before the step it reads (a bug in drask)")?);
            }
            let value = match step.op.call(args) {
                Ok(value) => value,
                // Name the step that failed, not the fused task (which has the last step's key).
                Err(source) => match &step.key {
                    Some(key) if i < last && source.downcast_ref::<StepFailed>().is_none() => {
                        return Err(Box::new(StepFailed::new(key.clone(), source)));
                    }
                    _ => return Err(source),
                },
            };
            if i == last {
                return Ok(value);
            }
            if let Some(s) = self.outputs[i] {
                slots[s as usize] = Some(value);
            }
        }
        unreachable!("a Fused has at least one step")
    }

    fn spec(&self) -> Option<OpSpec> {
        let steps = self
            .steps
            .iter()
            .map(|s| {
                Some(StepSpec {
                    op: s.op.spec()?,
                    args: s.args.clone(),
                    key: s.key.as_ref().map(|k| (k.name().to_string(), k.index().to_vec())),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(OpSpec::new("fused", serde_json::to_value(FusedSpec { steps }).ok()?))
    }

    fn spec_hint(&self) -> Option<String> {
        let step = self.steps.iter().find(|s| s.op.spec().is_none())?;
        step.op.spec_hint()
    }

    fn steps(&self) -> usize {
        self.total_steps
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

inventory::submit! {
    OpFactory {
        name: "fused",
        build: |params| {
            let spec: FusedSpec = serde_json::from_value(params.clone())?;
            let steps = spec
                .steps
                .into_iter()
                .map(|s| {
                    Ok(Step {
                        op: registry::build_op(&s.op)?,
                        args: s.args,
                        key: s.key.map(|(name, index)| Key::new(name, index)),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Fused::new(steps)? as Arc<dyn Op>)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delayed::FnOp;
    use crate::graph::Literal;

    fn op<F: crate::delayed::ArgFn<Args>, Args: 'static>(name: &'static str, f: F) -> Arc<dyn Op> {
        Arc::new(FnOp::new(name, f))
    }

    fn int(v: &Value) -> i64 {
        *v.downcast_ref::<i64>().unwrap()
    }

    #[test]
    fn chain_runs_in_order_and_names_steps() {
        let fused = Fused::chain(1, [op("inc", |x: &i64| x + 1), op("double", |x: &i64| x * 2)]).unwrap();
        assert_eq!(fused.name(), "inc+double");
        assert_eq!(fused.steps(), 2);
        assert!(!fused.is_cheap());
        assert_eq!(int(&fused.call(vec![Arc::new(3_i64)]).unwrap()), 8);
    }

    #[test]
    fn nested_fused_is_flattened_with_arguments_remapped() {
        // inner(a, b) = sub(inc(b), a)
        let inner = Fused::new(vec![
            Step::new(op("inc", |x: &i64| x + 1), vec![StepArg::Input(1)]),
            Step::new(
                op("sub", |a: &i64, b: &i64| a - b),
                vec![StepArg::Step(0), StepArg::Input(0)],
            ),
        ])
        .unwrap();
        // outer(x) = double(inner(lit 10, x))
        let outer = Fused::new(vec![
            Step::new(Arc::new(Literal::new(10_i64)), vec![]),
            Step::new(inner.clone(), vec![StepArg::Step(0), StepArg::Input(0)]),
            Step::new(op("double", |x: &i64| x * 2), vec![StepArg::Step(1)]),
        ])
        .unwrap();
        assert_eq!(outer.name(), "literal+inc+sub+double");
        assert_eq!(outer.steps(), 4);
        assert_eq!(outer.parts().len(), 4);
        assert!(outer.parts().iter().all(|s| Fused::downcast(&*s.op).is_none()));
        // double((x + 1) - 10) at x = 20
        assert_eq!(int(&outer.call(vec![Arc::new(20_i64)]).unwrap()), 22);
        let as_op: Arc<dyn Op> = inner;
        assert!(Fused::downcast(&*as_op).is_some());
        assert!(Fused::downcast(&*op("inc", |x: &i64| x + 1)).is_none());
    }

    #[test]
    fn values_are_freed_after_their_last_reader() {
        // a = lit; b = inc(a); c = add(a, b); d = double(c): at most two values alive at once.
        let fused = Fused::new(vec![
            Step::new(Arc::new(Literal::new(1_i64)), vec![]),
            Step::new(op("inc", |x: &i64| x + 1), vec![StepArg::Step(0)]),
            Step::new(
                op("add", |a: &i64, b: &i64| a + b),
                vec![StepArg::Step(0), StepArg::Step(1)],
            ),
            Step::new(op("double", |x: &i64| x * 2), vec![StepArg::Step(2)]),
        ])
        .unwrap();
        assert_eq!(fused.slots, 2);
        assert_eq!(int(&fused.call(vec![]).unwrap()), 6);
        let incs: Vec<Arc<dyn Op>> = (0..1000).map(|_| op("inc", |x: &i64| x + 1)).collect();
        let long = Fused::chain(1, incs).unwrap();
        assert_eq!(long.slots, 1, "a chain keeps one value alive");
        let outer = Fused::new(vec![
            Step::new(Arc::new(Literal::new(5_i64)), vec![]),
            Step::new(long, vec![StepArg::Step(0)]),
        ])
        .unwrap();
        assert_eq!((outer.steps(), outer.slots), (1001, 1));
        assert_eq!(int(&outer.call(vec![]).unwrap()), 1005);
    }

    #[test]
    fn malformed_steps_and_inputs_are_errors() {
        let inc = op("inc", |x: &i64| x + 1);
        assert!(Fused::new(vec![]).is_err());
        let forward = Fused::new(vec![Step::new(inc.clone(), vec![StepArg::Step(0)])]);
        assert!(forward.unwrap_err().to_string().contains("does not run before it"));
        let two = Fused::new(vec![Step::new(
            op("add", |a: &i64, b: &i64| a + b),
            vec![StepArg::Input(0), StepArg::Input(1)],
        )])
        .unwrap();
        assert_eq!(two.inputs(), 2);
        let short = Fused::new(vec![Step::new(two.clone(), vec![StepArg::Input(0)])]);
        assert!(short.unwrap_err().to_string().contains("reads 2"));
        let err = two.call(vec![Arc::new(1_i64)]).unwrap_err();
        assert!(err.to_string().contains("reads 2 inputs, got 1"), "{err}");
    }

    #[test]
    fn inner_errors_pass_through_unchanged() {
        let fused = Fused::chain(
            1,
            [
                op("inc", |x: &i64| x + 1),
                Arc::new(FnOp::new("f", |_: &i32| 0_i32)) as Arc<dyn Op>,
            ],
        )
        .unwrap();
        let err = fused.call(vec![Arc::new(1_i64)]).unwrap_err();
        assert!(err.to_string().contains("is not a i32"), "{err}");
    }

    #[test]
    fn spec_only_when_every_step_has_one() {
        let lit: Arc<dyn Op> = Arc::new(Literal::new(2_i64));
        assert!(
            Fused::chain(0, [lit.clone(), op("inc", |x: &i64| x + 1)])
                .unwrap()
                .spec()
                .is_none()
        );
        let fused = Fused::chain(0, [lit.clone()]).unwrap();
        let spec = fused.spec().unwrap();
        assert_eq!(spec.name, "fused");
        let rebuilt = registry::build_op(&spec).unwrap();
        assert_eq!(rebuilt.name(), "literal");
        assert_eq!(int(&rebuilt.call(vec![]).unwrap()), 2);
    }
}
