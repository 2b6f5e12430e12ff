//! Comparisons (to `bool` arrays), `where`, and `any`/`all`. Both sides of a comparison are
//! elementwise expressions evaluated in the same task, so `x * 2 > y + 1` is one task per block.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn, Zip};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::elementwise::{Expr, ExprSpec, Operand, broadcast_block, broadcast_inputs, broadcast_shapes};
use crate::array::remote::{Dtype, DtypeOnly, dtype_spec, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, TreeReduce, Value, unique_token};
use crate::registry::OpFactory;

/// A comparison of two elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Comparison {
    fn name(self) -> &'static str {
        match self {
            Comparison::Lt => "lt",
            Comparison::Le => "le",
            Comparison::Gt => "gt",
            Comparison::Ge => "ge",
            Comparison::Eq => "eq",
            Comparison::Ne => "ne",
        }
    }

    fn test<A: PartialOrd>(self, a: &A, b: &A) -> bool {
        match self {
            Comparison::Lt => a < b,
            Comparison::Le => a <= b,
            Comparison::Gt => a > b,
            Comparison::Ge => a >= b,
            Comparison::Eq => a == b,
            Comparison::Ne => a != b,
        }
    }
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// Compares `self` with `other` elementwise, with broadcasting: a `bool` array (NaN compares
    /// false, except with `Ne`).
    ///
    /// # Errors
    /// [`Error::Metadata`] if the shapes do not broadcast.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, Comparison, ndarray::array};
    /// let x = Array::from_array(array![1.0, 5.0, 3.0], &[2])?;
    /// let y = Array::from_array(array![2.0, 2.0, 3.0], &[2])?;
    /// assert_eq!((&x * 2.0).compare(Comparison::Gt, &y)?.compute()?, array![false, true, true]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn compare<E: Dimension>(&self, op: Comparison, other: &Array<A, E>) -> Result<Array<bool, D>> {
        compare_operands(op, Operand::of(self), Operand::of(other))
    }

    /// Compares every element with `value`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, Comparison, ndarray::array};
    /// let x = Array::from_array(array![1, 5, 3], &[2])?;
    /// assert_eq!(x.compare_scalar(Comparison::Ge, 3).compute()?, array![false, true, true]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn compare_scalar(&self, op: Comparison, value: A) -> Array<bool, D> {
        compare_operands(op, Operand::of(self), Operand::scalar(value)).expect("a scalar broadcasts to any shape")
    }

    /// `cond ? self : other`, elementwise (NumPy's `where(cond, self, other)`). `self` and `other`
    /// have the same shape and chunks; `cond` broadcasts to them, chunked like them on the axes it
    /// spans.
    ///
    /// # Errors
    /// [`Error::Metadata`] otherwise, while building.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, Comparison, ndarray::array};
    /// let x = Array::from_array(array![-1.0, 2.0, -3.0], &[2])?;
    /// let positive = x.compare_scalar(Comparison::Gt, 0.0);
    /// assert_eq!(x.select(&positive, &(&x * -1.0))?.compute()?, array![1.0, 2.0, 3.0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn select<E: Dimension>(&self, cond: &Array<bool, E>, other: &Array<A, D>) -> Result<Array<A, D>> {
        let shape = self.shape();
        if other.shape() != shape || other.chunks != self.chunks {
            return Err(Error::Metadata(format!(
                "where: the values must have the same shape and chunks: {:?} {:?} and {:?} {:?}",
                shape,
                self.chunks(),
                other.shape(),
                other.chunks()
            )));
        }
        let (n, r) = (shape.len(), cond.ndim());
        let fits = broadcast_shapes(&cond.shape(), &shape).as_deref() == Some(shape.as_slice())
            && (0..r).all(|k| cond.shape()[k] == 1 || cond.chunks().axes()[k] == self.chunks().axes()[n - r + k]);
        if !fits {
            return Err(Error::Metadata(format!(
                "where: the condition (shape {:?}, chunks {:?}) must broadcast to the values' shape {:?} with their chunks {:?}",
                cond.shape(),
                cond.chunks(),
                shape,
                self.chunks()
            )));
        }
        let layer = Select::<A> {
            chunks: (*self.chunks).clone(),
            cond_shape: cond.shape(),
            _t: std::marker::PhantomData,
        };
        let inputs = vec![cond.node.clone(), self.node.clone(), other.node.clone()];
        let node = Node::new(unique_token("where").into(), inputs, Box::new(layer));
        Ok(Array::from_node(node, self.chunks.clone()))
    }
}

/// One task per block comparing two fused expressions over their merged inputs.
fn compare_operands<A: Element, D>(op: Comparison, a: Operand<A>, b: Operand<A>) -> Result<Array<bool, D>> {
    let (inputs, left, right) = Operand::merge(a, b);
    let (chunks, inputs) = broadcast_inputs::<A>(inputs)?;
    let layer = CompareLayer {
        op,
        left: Arc::new(left),
        right: Arc::new(right),
        chunks: chunks.clone(),
        input_shapes: inputs.iter().map(|(_, s, _)| s.clone()).collect(),
    };
    let nodes = inputs.into_iter().map(|(n, _, _)| n).collect();
    let node = Node::new(unique_token(op.name()).into(), nodes, Box::new(layer));
    Ok(Array::from_node(node, Arc::new(chunks)))
}

impl<D: Dimension> Array<bool, D> {
    /// Whether any element is true (false for an empty array).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, Comparison, ndarray::array};
    /// let x = Array::from_array(array![1, 5, 3], &[2])?;
    /// assert!(x.compare_scalar(Comparison::Eq, 5).any().compute()?);
    /// assert!(!x.compare_scalar(Comparison::Gt, 5).all().compute()?);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn any(&self) -> Delayed<bool> {
        self.fold_bool("any", false)
    }

    /// Whether every element is true (true for an empty array).
    pub fn all(&self) -> Delayed<bool> {
        self.fold_bool("all", true)
    }

    fn fold_bool(&self, name: &'static str, all: bool) -> Delayed<bool> {
        let blocks = self.chunks.block_key_indices();
        let layer = TreeReduce {
            name,
            per_block: Vec::new(),
            chunk: Arc::new(BoolFold::new(all, FoldStage::Chunk)),
            combine: Arc::new(BoolFold::new(all, FoldStage::Combine)),
            finish: Arc::new(BoolFold::new(all, FoldStage::Finish)),
            blocks,
            split_every: crate::graph::DEFAULT_SPLIT_EVERY,
        };
        Delayed::from_node(Node::new(
            unique_token(name).into(),
            vec![self.node.clone()],
            Box::new(layer),
        ))
    }
}

/// Folds bool blocks (or partial bools) with `f`.
struct BoolFold {
    name: &'static str,
    init: bool,
    f: fn(bool, bool) -> bool,
    block: bool,
    spec: BoolFoldSpec,
}

/// Which stage of a tree reduction an op is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum FoldStage {
    Chunk,
    Combine,
    Finish,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BoolFoldSpec {
    /// `all` (and, from true) or `any` (or, from false).
    all: bool,
    stage: FoldStage,
}

impl BoolFold {
    fn new(all: bool, stage: FoldStage) -> BoolFold {
        let name = match stage {
            FoldStage::Chunk if all => "all",
            FoldStage::Chunk => "any",
            FoldStage::Combine => "combine",
            FoldStage::Finish => "finish",
        };
        BoolFold {
            name,
            init: all,
            f: if all { |a, b| a && b } else { |a, b| a || b },
            block: stage == FoldStage::Chunk,
            spec: BoolFoldSpec { all, stage },
        }
    }
}

inventory::submit! {
    OpFactory {
        name: "array.bool_fold",
        build: |p| {
            let spec: BoolFoldSpec = params(p)?;
            Ok(Arc::new(BoolFold::new(spec.all, spec.stage)))
        },
    }
}

impl fmt::Debug for BoolFold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoolFold({})", self.name)
    }
}

impl Op for BoolFold {
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut acc = self.init;
        for v in &inputs {
            if self.block {
                let block = v.downcast_ref::<ArrayD<bool>>().ok_or("expected a bool block")?;
                acc = block.iter().fold(acc, |a, &b| (self.f)(a, b));
            } else {
                acc = (self.f)(acc, *v.downcast_ref::<bool>().ok_or("expected a bool")?);
            }
        }
        Ok(Arc::new(acc))
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec("array.bool_fold", &self.spec)
    }
}

struct CompareLayer<A> {
    op: Comparison,
    left: Arc<Expr<A>>,
    right: Arc<Expr<A>>,
    chunks: Chunks,
    input_shapes: Vec<Vec<usize>>,
}

impl<A> fmt::Debug for CompareLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Compare({:?})", self.op)
    }
}

impl<A: Element> Layer for CompareLayer<A> {
    fn op_name(&self) -> &str {
        self.op.name()
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op: Arc<dyn Op> = Arc::new(CompareOp {
            op: self.op,
            left: self.left.clone(),
            right: self.right.clone(),
        });
        for index in self.chunks.block_indices() {
            let args: Vec<Key> = node
                .inputs()
                .iter()
                .zip(&self.input_shapes)
                .map(|(input, shape)| block_key(input, &broadcast_block(&index, shape)))
                .collect();
            out.add(block_key(node, &index), op.clone(), &args)?;
        }
        Ok(())
    }
}

struct CompareOp<A> {
    op: Comparison,
    left: Arc<Expr<A>>,
    right: Arc<Expr<A>>,
}

impl<A> fmt::Debug for CompareOp<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompareOp({:?})", self.op)
    }
}

impl<A: Element> Op for CompareOp<A> {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let blocks = inputs
            .iter()
            .map(|v| {
                v.downcast_ref::<ArrayD<A>>()
                    .ok_or("a comparison input is not a block of this type")
            })
            .collect::<Result<Vec<_>, _>>()?;
        if blocks.len() < self.left.arity().max(self.right.arity()) {
            return Err("a comparison got fewer inputs than its expressions read".into());
        }
        let (a, b) = (self.left.eval_block(&blocks), self.right.eval_block(&blocks));
        let shape = broadcast_shapes(a.shape(), b.shape()).ok_or("comparison operands do not broadcast")?;
        let (a, b) = (
            a.broadcast(IxDyn(&shape)).ok_or("broadcast")?,
            b.broadcast(IxDyn(&shape)).ok_or("broadcast")?,
        );
        Ok(Arc::new(Zip::from(&a).and(&b).map_collect(|x, y| self.op.test(x, y))))
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = CompareSpec {
            dtype: Dtype::of::<A>()?,
            op: self.op,
            left: self.left.spec()?,
            right: self.right.spec()?,
        };
        op_spec("array.compare", &spec)
    }
}

#[derive(Serialize, Deserialize)]
struct CompareSpec {
    dtype: Dtype,
    op: Comparison,
    left: ExprSpec,
    right: ExprSpec,
}

inventory::submit! {
    OpFactory {
        name: "array.compare",
        build: |p| {
            let spec: CompareSpec = params(p)?;
            with_element!(spec.dtype, A => {
                let op = CompareOp::<A> {
                    op: spec.op,
                    left: Arc::new(spec.left.build()?),
                    right: Arc::new(spec.right.build()?),
                };
                Ok(Arc::new(op) as Arc<dyn Op>)
            })
        },
    }
}

#[derive(Debug)]
struct Select<A> {
    chunks: Chunks,
    cond_shape: Vec<usize>,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for Select<A> {
    fn op_name(&self) -> &str {
        "where"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op: Arc<dyn Op> = Arc::new(SelectOp::<A>(std::marker::PhantomData));
        let inputs = node.inputs();
        for index in self.chunks.block_indices() {
            let at = broadcast_block(&index, &self.cond_shape);
            let args = [
                block_key(&inputs[0], &at),
                block_key(&inputs[1], &index),
                block_key(&inputs[2], &index),
            ];
            out.add(block_key(node, &index), op.clone(), &args)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct SelectOp<A>(std::marker::PhantomData<fn() -> A>);

impl<A: Element> Op for SelectOp<A> {
    fn name(&self) -> &str {
        "where"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if inputs.len() != 3 {
            return Err(format!("where takes 3 inputs, got {}", inputs.len()).into());
        }
        let cond = inputs[0]
            .downcast_ref::<ArrayD<bool>>()
            .ok_or("the condition is not a bool block")?;
        let a = inputs[1]
            .downcast_ref::<ArrayD<A>>()
            .ok_or("a where input is not a block of this type")?;
        let b = inputs[2]
            .downcast_ref::<ArrayD<A>>()
            .ok_or("a where input is not a block of this type")?;
        let cond = cond
            .broadcast(a.raw_dim())
            .ok_or("the condition does not broadcast to the values")?;
        Ok(Arc::new(
            Zip::from(&cond)
                .and(a)
                .and(b)
                .map_collect(|&c, &x, &y| if c { x } else { y }),
        ))
    }

    fn spec(&self) -> Option<OpSpec> {
        dtype_spec::<A>("array.where")
    }
}

inventory::submit! {
    OpFactory {
        name: "array.where",
        build: |p| {
            let spec: DtypeOnly = params(p)?;
            with_element!(spec.dtype, A => Ok(Arc::new(SelectOp::<A>(std::marker::PhantomData)) as Arc<dyn Op>))
        },
    }
}
