//! Elementwise arithmetic with NumPy broadcasting, fused at the high-level graph: a chain like
//! `(x + y) * 2 - z` is one node whose layer holds the whole expression, so it lowers to one
//! task per block, not one per operation.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, ScalarSpec, cast, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use crate::registry::OpFactory;

/// A binary elementwise operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn name(self) -> &'static str {
        match self {
            BinOp::Add => "add",
            BinOp::Sub => "sub",
            BinOp::Mul => "mul",
            BinOp::Div => "div",
        }
    }

    fn apply<A: Element>(self, a: A, b: A) -> A {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
        }
    }
}

type UnaryFn<A> = Arc<dyn Fn(A) -> A + Send + Sync>;

/// A function applied to every element: its name, the function, and for the built-in ones the
/// kind a spec rebuilds it from (`None` for a user closure given to [`Array::map`]).
#[derive(Clone)]
pub(crate) struct Unary<A> {
    name: &'static str,
    f: UnaryFn<A>,
    kind: Option<UnaryKind>,
}

/// The built-in elementwise functions, as specs name them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum UnaryKind {
    Abs,
    Powi(u32),
    Sqrt,
    Exp,
    Ln,
    Powf(ScalarSpec),
}

impl UnaryKind {
    /// The function; the one place both the builder and a worker get it from.
    ///
    /// # Errors
    /// For a float function on integer elements, or a parameter of another type (a corrupt
    /// spec).
    fn build<A: Element>(self) -> Result<Unary<A>, BoxError> {
        let (name, f): (&'static str, UnaryFn<A>) = match self {
            UnaryKind::Abs => ("abs", Arc::new(A::abs)),
            UnaryKind::Powi(n) => ("pow", Arc::new(move |v| (0..n).fold(A::one(), |acc, _| acc * v))),
            UnaryKind::Sqrt => ("sqrt", float_fn::<A>(f32::sqrt, f64::sqrt)?),
            UnaryKind::Exp => ("exp", float_fn::<A>(f32::exp, f64::exp)?),
            UnaryKind::Ln => ("log", float_fn::<A>(f32::ln, f64::ln)?),
            UnaryKind::Powf(n) => match Dtype::of::<A>() {
                Some(Dtype::F32) => {
                    let n: f32 = n.get()?;
                    ("pow", cast::<UnaryFn<f32>, _>(Arc::new(move |v: f32| v.powf(n)))?)
                }
                Some(Dtype::F64) => {
                    let n: f64 = n.get()?;
                    ("pow", cast::<UnaryFn<f64>, _>(Arc::new(move |v: f64| v.powf(n)))?)
                }
                _ => return Err("powf needs float elements".into()),
            },
        };
        Ok(Unary {
            name,
            f,
            kind: Some(self),
        })
    }
}

/// The `f32` or `f64` function, as a function of `A` (which must be one of them).
fn float_fn<A: Element>(f32_fn: fn(f32) -> f32, f64_fn: fn(f64) -> f64) -> Result<UnaryFn<A>, BoxError> {
    match Dtype::of::<A>() {
        Some(Dtype::F32) => cast::<UnaryFn<f32>, _>(Arc::new(f32_fn)),
        Some(Dtype::F64) => cast::<UnaryFn<f64>, _>(Arc::new(f64_fn)),
        _ => Err("this function needs float elements".into()),
    }
}

/// An elementwise expression over the layer's inputs.
#[derive(Clone)]
pub(crate) enum Expr<A> {
    /// The layer's `i`-th input block.
    Input(usize),
    Scalar(A),
    Unary(Unary<A>, Box<Expr<A>>),
    Binary(BinOp, Box<Expr<A>>, Box<Expr<A>>),
}

/// An [`Expr`] in wire form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum ExprSpec {
    Input(usize),
    Scalar(ScalarSpec),
    Unary(UnaryKind, Box<ExprSpec>),
    Binary(BinOp, Box<ExprSpec>, Box<ExprSpec>),
}

impl<A: Element> Expr<A> {
    /// The wire form; `None` if the expression applies a user closure.
    pub(crate) fn spec(&self) -> Option<ExprSpec> {
        Some(match self {
            Expr::Input(i) => ExprSpec::Input(*i),
            Expr::Scalar(s) => ExprSpec::Scalar(ScalarSpec::of(*s)?),
            Expr::Unary(u, x) => ExprSpec::Unary(u.kind?, Box::new(x.spec()?)),
            Expr::Binary(op, a, b) => ExprSpec::Binary(*op, Box::new(a.spec()?), Box::new(b.spec()?)),
        })
    }

    /// One more than the highest input the expression reads (0 for a constant).
    pub(crate) fn arity(&self) -> usize {
        match self {
            Expr::Input(i) => i + 1,
            Expr::Scalar(_) => 0,
            Expr::Unary(_, x) => x.arity(),
            Expr::Binary(_, a, b) => a.arity().max(b.arity()),
        }
    }
}

impl ExprSpec {
    /// The expression this spec describes.
    ///
    /// # Errors
    /// If a scalar or function does not fit the element type.
    pub(crate) fn build<A: Element>(&self) -> Result<Expr<A>, BoxError> {
        Ok(match self {
            ExprSpec::Input(i) => Expr::Input(*i),
            ExprSpec::Scalar(s) => Expr::Scalar(s.get()?),
            ExprSpec::Unary(kind, x) => Expr::Unary(kind.build()?, Box::new(x.build()?)),
            ExprSpec::Binary(op, a, b) => Expr::Binary(*op, Box::new(a.build()?), Box::new(b.build()?)),
        })
    }
}

impl<A: Element> Expr<A> {
    /// The operations in evaluation order, for `explain()`: `add+mul`.
    fn op_names(&self, out: &mut Vec<&'static str>) {
        match self {
            Expr::Input(_) | Expr::Scalar(_) => {}
            Expr::Unary(u, x) => {
                x.op_names(out);
                out.push(u.name);
            }
            Expr::Binary(op, a, b) => {
                a.op_names(out);
                b.op_names(out);
                out.push(op.name());
            }
        }
    }

    fn remap(self, to: &[usize]) -> Expr<A> {
        match self {
            Expr::Input(i) => Expr::Input(to[i]),
            Expr::Scalar(s) => Expr::Scalar(s),
            Expr::Unary(u, x) => Expr::Unary(u, Box::new(x.remap(to))),
            Expr::Binary(op, a, b) => Expr::Binary(op, Box::new(a.remap(to)), Box::new(b.remap(to))),
        }
    }

    /// Evaluates on one block's inputs into a block (broadcast to the inputs' common shape; a
    /// constant expression gives a 0-d block, which broadcasts to any shape).
    pub(crate) fn eval_block(&self, inputs: &[&ArrayD<A>]) -> ArrayD<A> {
        match self.eval(inputs) {
            Evaluated::Block(b) => b,
            Evaluated::Scalar(s) => ArrayD::from_elem(IxDyn(&[]), s),
        }
    }

    /// Evaluates on one block's inputs, whole blocks at a time: the path for inputs that
    /// broadcast. Each input read is copied once, then updated in place.
    fn eval(&self, inputs: &[&ArrayD<A>]) -> Evaluated<A> {
        match self {
            Expr::Input(i) => Evaluated::Block(inputs[*i].clone()),
            Expr::Scalar(s) => Evaluated::Scalar(*s),
            Expr::Unary(Unary { f, .. }, x) => match x.eval(inputs) {
                Evaluated::Scalar(s) => Evaluated::Scalar(f(s)),
                Evaluated::Block(mut b) => {
                    b.mapv_inplace(|v| f(v));
                    Evaluated::Block(b)
                }
            },
            Expr::Binary(op, a, b) => {
                let op = *op;
                match (a.eval(inputs), b.eval(inputs)) {
                    (Evaluated::Scalar(x), Evaluated::Scalar(y)) => Evaluated::Scalar(op.apply(x, y)),
                    (Evaluated::Block(mut x), Evaluated::Scalar(y)) => {
                        x.mapv_inplace(|v| op.apply(v, y));
                        Evaluated::Block(x)
                    }
                    (Evaluated::Scalar(x), Evaluated::Block(mut y)) => {
                        y.mapv_inplace(|v| op.apply(x, v));
                        Evaluated::Block(y)
                    }
                    (Evaluated::Block(x), Evaluated::Block(y)) => Evaluated::Block(zip_broadcast(op, x, y)),
                }
            }
        }
    }
}

/// Elements per tile of tiled evaluation: a few tiles of scratch stay in L1.
pub(crate) const TILE: usize = 1024;

impl<A: Element> Expr<A> {
    /// Evaluates one tile: `inputs[i]` holds this tile of input `i` (all the same length as
    /// `out`). Intermediates live in `scratch` tiles, so a whole chain reads its inputs and
    /// writes its output once: one pass over memory.
    pub(crate) fn eval_tile(&self, inputs: &[&[A]], out: &mut [A], scratch: &mut Vec<Vec<A>>) {
        match self {
            Expr::Input(i) => out.copy_from_slice(inputs[*i]),
            Expr::Scalar(s) => out.fill(*s),
            Expr::Unary(Unary { f, .. }, x) => {
                x.eval_tile(inputs, out, scratch);
                out.iter_mut().for_each(|v| *v = f(*v));
            }
            Expr::Binary(op, a, b) => {
                let op = *op;
                match (&**a, &**b) {
                    (_, Expr::Scalar(y)) => {
                        a.eval_tile(inputs, out, scratch);
                        out.iter_mut().for_each(|v| *v = op.apply(*v, *y));
                    }
                    (Expr::Scalar(x), _) => {
                        b.eval_tile(inputs, out, scratch);
                        out.iter_mut().for_each(|v| *v = op.apply(*x, *v));
                    }
                    (_, Expr::Input(j)) => {
                        a.eval_tile(inputs, out, scratch);
                        out.iter_mut().zip(inputs[*j]).for_each(|(v, &y)| *v = op.apply(*v, y));
                    }
                    _ => {
                        a.eval_tile(inputs, out, scratch);
                        let mut tmp = scratch.pop().unwrap_or_default();
                        tmp.resize(out.len(), A::zero());
                        b.eval_tile(inputs, &mut tmp, scratch);
                        out.iter_mut().zip(&tmp).for_each(|(v, &y)| *v = op.apply(*v, y));
                        scratch.push(tmp);
                    }
                }
            }
        }
    }

    /// Evaluates over whole blocks of one shape, tile by tile, handing each finished tile to
    /// `sink`. Contiguous blocks are read in place; others (views cut out of a memory map) are
    /// gathered a tile at a time. `None` if the shapes differ (broadcasting), for the caller to
    /// fall back to [`eval`](Expr::eval).
    pub(crate) fn for_each_tile(&self, blocks: &[ArrayViewD<'_, A>], mut sink: impl FnMut(&[A])) -> Option<()> {
        let first = blocks.first()?;
        if blocks.iter().any(|b| b.shape() != first.shape()) {
            return None;
        }
        let len = first.len();
        let mut sources: Vec<TileSource<'_, A>> = blocks
            .iter()
            .map(|b| match b.as_slice() {
                Some(all) => TileSource::Slice(all),
                None => TileSource::Gather(b.iter(), Vec::with_capacity(TILE.min(len))),
            })
            .collect();
        let mut out = vec![A::zero(); TILE.min(len)];
        let mut scratch = Vec::new();
        let mut start = 0;
        while start < len {
            let n = TILE.min(len - start);
            for source in &mut sources {
                if let TileSource::Gather(iter, buf) = source {
                    buf.clear();
                    buf.extend(iter.by_ref().take(n));
                }
            }
            let tile: Vec<&[A]> = sources
                .iter()
                .map(|source| match source {
                    TileSource::Slice(all) => &all[start..start + n],
                    TileSource::Gather(_, buf) => &buf[..],
                })
                .collect();
            self.eval_tile(&tile, &mut out[..n], &mut scratch);
            sink(&out[..n]);
            start += n;
        }
        Some(())
    }
}

/// Where [`Expr::for_each_tile`] reads an input's tiles from.
enum TileSource<'a, A> {
    /// A contiguous block, read in place.
    Slice(&'a [A]),
    /// Any other view, copied a tile at a time into the buffer.
    Gather(ndarray::iter::Iter<'a, A, IxDyn>, Vec<A>),
}

/// Combines two blocks whose shapes broadcast, reusing the first when it has the result's shape.
fn zip_broadcast<A: Element>(op: BinOp, mut x: ArrayD<A>, y: ArrayD<A>) -> ArrayD<A> {
    if let Some(y) = y.broadcast(x.raw_dim()) {
        ndarray::Zip::from(&mut x)
            .and(&y)
            .for_each(|a, &b| *a = op.apply(*a, b));
        return x;
    }
    let shape = broadcast_shapes(x.shape(), y.shape()).expect("shapes were checked when the graph was built");
    let x = x.broadcast(IxDyn(&shape)).expect("checked").to_owned();
    zip_broadcast(op, x, y)
}

/// A value while an expression evaluates: a block it owns, or a scalar not yet broadcast.
enum Evaluated<A> {
    Block(ArrayD<A>),
    Scalar(A),
}

/// The NumPy broadcast of two shapes, or `None` if they do not broadcast.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|k| {
            let x = if k + a.len() >= n { a[k + a.len() - n] } else { 1 };
            let y = if k + b.len() >= n { b[k + b.len() - n] } else { 1 };
            match (x, y) {
                _ if x == y => Some(x),
                (1, _) => Some(y),
                (_, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// The block of an input of `shape` that output block `index` reads: the same block, except
/// block 0 along the axes the input broadcasts (length 1) and none along the axes it lacks.
pub(crate) fn broadcast_block(index: &[usize], shape: &[usize]) -> Vec<usize> {
    let skip = index.len() - shape.len();
    shape
        .iter()
        .zip(&index[skip..])
        .map(|(&len, &i)| if len == 1 { 0 } else { i })
        .collect()
}

/// One node's worth of fused elementwise work.
pub(crate) struct Elementwise<A> {
    expr: Arc<Expr<A>>,
    name: String,
    chunks: Chunks,
    /// Each input's shape and chunks, to map output blocks to input blocks.
    inputs: Vec<(Vec<usize>, Chunks)>,
}

impl<A> fmt::Debug for Elementwise<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Elementwise({}, {:?})", self.name, self.chunks)
    }
}

impl<A: Element> Layer for Elementwise<A> {
    fn op_name(&self) -> &str {
        &self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op: Arc<dyn Op> = Arc::new(ElementwiseOp {
            expr: self.expr.clone(),
            name: self.name.clone(),
        });
        for index in self.chunks.block_indices() {
            let args: Vec<Key> = node
                .inputs()
                .iter()
                .zip(&self.inputs)
                .map(|(input, (shape, _))| block_key(input, &broadcast_block(&index, shape)))
                .collect();
            out.add(block_key(node, &index), op.clone(), &args)?;
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

struct ElementwiseOp<A> {
    expr: Arc<Expr<A>>,
    name: String,
}

impl<A> fmt::Debug for ElementwiseOp<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElementwiseOp({})", self.name)
    }
}

impl<A: Element> Op for ElementwiseOp<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let blocks = inputs
            .iter()
            .map(|v| {
                v.downcast_ref::<ArrayD<A>>()
                    .ok_or("an elementwise input is not a block of this type")
            })
            .collect::<Result<Vec<_>, _>>()?;
        if blocks.len() < self.expr.arity() {
            return Err(format!(
                "`{}` reads {} inputs, got {}",
                self.name,
                self.expr.arity(),
                blocks.len()
            )
            .into());
        }
        // One pass over memory when no input broadcasts; otherwise whole-block evaluation.
        let mut flat = Vec::with_capacity(blocks.first().map_or(0, |b| b.len()));
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        if self
            .expr
            .for_each_tile(&views, |tile| flat.extend_from_slice(tile))
            .is_some()
        {
            return Ok(Arc::new(ArrayD::from_shape_vec(blocks[0].raw_dim(), flat)?));
        }
        match self.expr.eval(&blocks) {
            Evaluated::Block(b) => Ok(Arc::new(b)),
            Evaluated::Scalar(_) => Err("an elementwise expression with no array input".into()),
        }
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = ElementwiseSpec {
            dtype: Dtype::of::<A>()?,
            name: self.name.clone(),
            expr: self.expr.spec()?,
        };
        op_spec("array.elementwise", &spec)
    }
}

#[derive(Serialize, Deserialize)]
struct ElementwiseSpec {
    dtype: Dtype,
    name: String,
    expr: ExprSpec,
}

inventory::submit! {
    OpFactory {
        name: "array.elementwise",
        build: |p| {
            let spec: ElementwiseSpec = params(p)?;
            with_element!(spec.dtype, A => {
                let op = ElementwiseOp::<A> { expr: Arc::new(spec.expr.build()?), name: spec.name };
                Ok(Arc::new(op) as Arc<dyn Op>)
            })
        },
    }
}

/// An input of an elementwise node: the node, its shape and its chunks.
pub(crate) type Input = (Arc<Node>, Vec<usize>, Chunks);

/// An operand: the expression it contributes and the nodes (with shapes and chunks) it reads.
pub(crate) struct Operand<A> {
    expr: Expr<A>,
    inputs: Vec<Input>,
}

impl<A: Element> Operand<A> {
    /// An array operand; an elementwise node is opened up, so its expression fuses into ours.
    pub(crate) fn of<D>(array: &Array<A, D>) -> Operand<A> {
        let node = &array.node;
        if let Some(layer) = node.layer().as_any().and_then(|l| l.downcast_ref::<Elementwise<A>>()) {
            let inputs = node
                .inputs()
                .iter()
                .zip(&layer.inputs)
                .map(|(n, (shape, chunks))| (n.clone(), shape.clone(), chunks.clone()))
                .collect();
            return Operand {
                expr: (*layer.expr).clone(),
                inputs,
            };
        }
        Operand {
            expr: Expr::Input(0),
            inputs: vec![(node.clone(), array.shape(), (*array.chunks).clone())],
        }
    }
}

/// The output chunks of inputs broadcast to `shape`: along each axis, the common refinement of
/// the chunks of the inputs that span it (every block boundary of any of them), as Dask's
/// `unify_chunks` does.
pub(crate) fn output_chunks(shape: &[usize], inputs: &[Input]) -> Result<Chunks> {
    let n = shape.len();
    let axes = (0..n)
        .map(|axis| {
            let mut bounds: Vec<usize> = Vec::new();
            for (_, s, c) in inputs {
                let r = s.len();
                if axis + r < n || s[axis + r - n] != shape[axis] {
                    continue;
                }
                let mut at = 0;
                for &len in &c.axes()[axis + r - n] {
                    at += len;
                    bounds.push(at);
                }
            }
            bounds.sort_unstable();
            bounds.dedup();
            let lengths: Vec<usize> = bounds
                .iter()
                .zip(std::iter::once(&0).chain(bounds.iter()))
                .map(|(&b, &a)| b - a)
                .filter(|&l| l > 0)
                .collect();
            if lengths.is_empty() { vec![shape[axis]] } else { lengths }
        })
        .collect::<Vec<_>>();
    Chunks::explicit(shape, axes)
}

/// Rechunks the inputs whose chunks differ from `chunks` on the axes they span.
pub(crate) fn unify<A: Element>(chunks: &Chunks, inputs: Vec<Input>) -> Result<Vec<Input>> {
    let n = chunks.ndim();
    inputs
        .into_iter()
        .map(|(node, shape, own)| {
            let r = shape.len();
            let wanted: Vec<Vec<usize>> = (0..r)
                .map(|k| {
                    if shape[k] == 1 && chunks.shape()[n - r + k] != 1 {
                        own.axes()[k].clone()
                    } else {
                        chunks.axes()[n - r + k].clone()
                    }
                })
                .collect();
            if wanted == own.axes() {
                return Ok((node, shape, own));
            }
            let target = Chunks::explicit(&shape, wanted)?;
            let array: Array<A, IxDyn> = Array::from_node(node, Arc::new(own));
            let re = array.rechunk_to(target.clone())?;
            Ok((re.node.clone(), shape, target))
        })
        .collect()
}

/// The chunks of the broadcast result of `inputs`, and the inputs rechunked to fit them.
///
/// # Errors
/// [`Error::Metadata`] if the shapes do not broadcast.
pub(crate) fn broadcast_inputs<A: Element>(inputs: Vec<Input>) -> Result<(Chunks, Vec<Input>)> {
    let shape = inputs
        .iter()
        .try_fold(Vec::new(), |acc: Vec<usize>, (_, s, _)| broadcast_shapes(&acc, s))
        .ok_or_else(|| {
            let shapes: Vec<&Vec<usize>> = inputs.iter().map(|(_, s, _)| s).collect();
            Error::Metadata(format!("shapes {shapes:?} do not broadcast"))
        })?;
    let chunks = output_chunks(&shape, &inputs)?;
    let inputs = unify::<A>(&chunks, inputs)?;
    Ok((chunks, inputs))
}

fn build<A: Element, D>(expr: Expr<A>, inputs: Vec<Input>) -> Result<Array<A, D>> {
    let (chunks, inputs) = broadcast_inputs::<A>(inputs)?;
    let mut names = Vec::new();
    expr.op_names(&mut names);
    let name = names.join("+");
    let prefix = names.last().copied().unwrap_or("elementwise");
    let layer = Elementwise {
        expr: Arc::new(expr),
        name,
        chunks: chunks.clone(),
        inputs: inputs.iter().map(|(_, s, c)| (s.clone(), c.clone())).collect(),
    };
    let nodes = inputs.into_iter().map(|(n, _, _)| n).collect();
    let node = Node::new(unique_token(prefix).into(), nodes, Box::new(layer));
    Ok(Array::from_node(node, Arc::new(chunks)))
}

impl<A: Element> Operand<A> {
    /// A constant operand: reads no input.
    pub(crate) fn scalar(value: A) -> Operand<A> {
        Operand {
            expr: Expr::Scalar(value),
            inputs: Vec::new(),
        }
    }

    /// Both operands over one list of inputs (a node read by both is read once): the inputs and
    /// the two expressions, renumbered into it.
    pub(crate) fn merge(a: Operand<A>, b: Operand<A>) -> (Vec<Input>, Expr<A>, Expr<A>) {
        let mut inputs = a.inputs;
        let mut position: HashMap<Arc<str>, usize> = inputs
            .iter()
            .enumerate()
            .map(|(i, (n, _, _))| (n.name().clone(), i))
            .collect();
        let remap: Vec<usize> = b
            .inputs
            .into_iter()
            .map(|input| {
                *position.entry(input.0.name().clone()).or_insert_with(|| {
                    inputs.push(input);
                    inputs.len() - 1
                })
            })
            .collect();
        (inputs, a.expr, b.expr.remap(&remap))
    }
}

/// One expression applying `op` to two operands.
fn binary<A: Element, D>(op: BinOp, a: Operand<A>, b: Operand<A>) -> Result<Array<A, D>> {
    let (inputs, left, right) = Operand::merge(a, b);
    build(Expr::Binary(op, Box::new(left), Box::new(right)), inputs)
}

impl<A: Element, D: Dimension> Array<A, D> {
    fn with_scalar(&self, op: BinOp, scalar: A, scalar_first: bool) -> Array<A, D> {
        let a = Operand::of(self);
        let s = Box::new(Expr::Scalar(scalar));
        let expr = if scalar_first {
            Expr::Binary(op, s, Box::new(a.expr))
        } else {
            Expr::Binary(op, Box::new(a.expr), s)
        };
        build(expr, a.inputs).expect("a scalar operation keeps the shape and chunks")
    }

    fn try_binary<E: Dimension>(&self, op: BinOp, other: &Array<A, E>) -> Result<Array<A, D>> {
        binary(op, Operand::of(self), Operand::of(other))
    }

    /// `self + other` with NumPy broadcasting. Operands chunked differently along an axis are
    /// rechunked to the common refinement of their chunks (every boundary of either), as Dask's
    /// `unify_chunks` does.
    ///
    /// # Errors
    /// [`Error::Metadata`] if the shapes do not broadcast (checked here, while building).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{self, array}};
    /// let col = Array::from_array(array![[1.0], [2.0]], &[1, 1])?;      // 2 x 1
    /// let row = Array::from_array(array![[10.0, 20.0, 30.0]], &[1, 3])?; // 1 x 3
    /// assert_eq!(col.try_add(&row)?.compute()?, array![[11.0, 21.0, 31.0], [12.0, 22.0, 32.0]]);
    /// let bad = Array::from_array(array![[1.0, 2.0]], &[1, 2])?;
    /// assert!(row.try_add(&bad).is_err());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn try_add<E: Dimension>(&self, other: &Array<A, E>) -> Result<Array<A, D>> {
        self.try_binary(BinOp::Add, other)
    }

    /// `self - other` with broadcasting; errors as [`try_add`](Array::try_add).
    ///
    /// # Errors
    /// As [`try_add`](Array::try_add).
    pub fn try_sub<E: Dimension>(&self, other: &Array<A, E>) -> Result<Array<A, D>> {
        self.try_binary(BinOp::Sub, other)
    }

    /// `self * other` with broadcasting; errors as [`try_add`](Array::try_add).
    ///
    /// # Errors
    /// As [`try_add`](Array::try_add).
    pub fn try_mul<E: Dimension>(&self, other: &Array<A, E>) -> Result<Array<A, D>> {
        self.try_binary(BinOp::Mul, other)
    }

    /// `self / other` with broadcasting; errors as [`try_add`](Array::try_add).
    ///
    /// # Errors
    /// As [`try_add`](Array::try_add).
    pub fn try_div<E: Dimension>(&self, other: &Array<A, E>) -> Result<Array<A, D>> {
        self.try_binary(BinOp::Div, other)
    }

    /// Applies `f` to every element, fused with the elementwise operations around it.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![1.0_f64, 4.0, 9.0], &[2])?;
    /// assert_eq!(x.map("sqrt", f64::sqrt).compute()?, array![1.0, 2.0, 3.0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    ///
    /// A closure cannot be sent to another process: an array mapped with one runs on local
    /// executors only (its graph has no [`GraphSpec`](crate::registry::GraphSpec)).
    pub fn map(&self, name: &'static str, f: impl Fn(A) -> A + Send + Sync + 'static) -> Array<A, D> {
        self.unary(Unary {
            name,
            f: Arc::new(f),
            kind: None,
        })
    }

    fn unary(&self, unary: Unary<A>) -> Array<A, D> {
        let a = Operand::of(self);
        build(Expr::Unary(unary, Box::new(a.expr)), a.inputs).expect("a map keeps the shape and chunks")
    }

    /// A built-in function, which has a spec.
    fn built_in(&self, kind: UnaryKind) -> Array<A, D> {
        self.unary(kind.build().expect("the element type fits the built-in function"))
    }

    /// The absolute value of every element.
    pub fn abs(&self) -> Array<A, D> {
        self.built_in(UnaryKind::Abs)
    }

    /// Every element to the power `n` (integer exponent, exact for integers while it does not
    /// overflow).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![1_i64, 2, 3], &[2])?;
    /// assert_eq!(x.powi(3).compute()?, array![1, 8, 27]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn powi(&self, n: u32) -> Array<A, D> {
        self.built_in(UnaryKind::Powi(n))
    }
}

impl<A: crate::array::FloatElement, D: Dimension> Array<A, D> {
    /// The square root of every element.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![4.0_f64, 9.0], &[1])?;
    /// assert_eq!(x.sqrt().exp().ln().powf(2.0).compute()?, array![4.0, 9.0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn sqrt(&self) -> Array<A, D> {
        self.built_in(UnaryKind::Sqrt)
    }

    /// `e` to the power of every element.
    pub fn exp(&self) -> Array<A, D> {
        self.built_in(UnaryKind::Exp)
    }

    /// The natural logarithm of every element.
    pub fn ln(&self) -> Array<A, D> {
        self.built_in(UnaryKind::Ln)
    }

    /// Every element to the power `n`.
    pub fn powf(&self, n: A) -> Array<A, D> {
        let n = ScalarSpec::of(n).expect("floats are element types");
        self.built_in(UnaryKind::Powf(n))
    }
}

/// An elementwise expression and the nodes it reads, for a consumer to evaluate it itself.
pub(crate) type FusedParts<A> = (Arc<Expr<A>>, Vec<Arc<Node>>);

impl<A: Element, D> Array<A, D> {
    /// If this array is an elementwise expression whose inputs all have its shape and chunks
    /// (no broadcasting), the expression and the input nodes: a reduction can then evaluate the
    /// expression tile by tile instead of reading a materialised result.
    pub(crate) fn elementwise_parts(&self) -> Option<FusedParts<A>> {
        let layer = self.node.layer().as_any()?.downcast_ref::<Elementwise<A>>()?;
        let same = layer
            .inputs
            .iter()
            .all(|(shape, chunks)| *shape == self.shape() && *chunks == *self.chunks);
        same.then(|| (layer.expr.clone(), self.node.inputs().to_vec()))
    }
}

macro_rules! impl_binary_operator {
    ($Trait:ident, $method:ident, $op:expr, $try:ident) => {
        /// Elementwise with broadcasting.
        ///
        /// # Panics
        /// If the shapes do not broadcast; use the `try_` method for an error instead.
        impl<A: Element, D: Dimension> $Trait<&Array<A, D>> for &Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, other: &Array<A, D>) -> Array<A, D> {
                self.$try(other).unwrap_or_else(|e| panic!("{e}"))
            }
        }

        impl<A: Element, D: Dimension> $Trait<Array<A, D>> for Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, other: Array<A, D>) -> Array<A, D> {
                (&self).$method(&other)
            }
        }

        impl<A: Element, D: Dimension> $Trait<&Array<A, D>> for Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, other: &Array<A, D>) -> Array<A, D> {
                (&self).$method(other)
            }
        }

        impl<A: Element, D: Dimension> $Trait<Array<A, D>> for &Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, other: Array<A, D>) -> Array<A, D> {
                self.$method(&other)
            }
        }

        impl<A: Element, D: Dimension> $Trait<A> for &Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, scalar: A) -> Array<A, D> {
                self.with_scalar($op, scalar, false)
            }
        }

        impl<A: Element, D: Dimension> $Trait<A> for Array<A, D> {
            type Output = Array<A, D>;
            fn $method(self, scalar: A) -> Array<A, D> {
                self.with_scalar($op, scalar, false)
            }
        }
    };
}

impl_binary_operator!(Add, add, BinOp::Add, try_add);
impl_binary_operator!(Sub, sub, BinOp::Sub, try_sub);
impl_binary_operator!(Mul, mul, BinOp::Mul, try_mul);
impl_binary_operator!(Div, div, BinOp::Div, try_div);

impl<A: Element, D: Dimension> Neg for &Array<A, D> {
    type Output = Array<A, D>;
    fn neg(self) -> Array<A, D> {
        self.with_scalar(BinOp::Sub, A::zero(), true)
    }
}

impl<A: Element, D: Dimension> Neg for Array<A, D> {
    type Output = Array<A, D>;
    fn neg(self) -> Array<A, D> {
        -&self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules_match_numpy() {
        assert_eq!(broadcast_shapes(&[3, 1], &[1, 4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shapes(&[4], &[2, 3, 4]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[], &[2]), Some(vec![2]));
        assert_eq!(broadcast_shapes(&[0], &[1]), Some(vec![0]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
    }
}
