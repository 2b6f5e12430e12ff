//! The graph shapes the overhead benches and the `overhead` example time: no-op-sized `inc` and
//! `add` tasks as a wide fan-in, a chain and a pairwise tree. Included with `#[path]`.

use drask::prelude::*;

pub(crate) fn inc(x: &u64) -> u64 {
    x + 1
}

pub(crate) fn add(a: &u64, b: &u64) -> u64 {
    a + b
}

/// `n` independent incs gathered by one collect: `n + 1` tasks.
#[allow(dead_code)]
pub(crate) fn wide(n: u64) -> Delayed<Vec<u64>> {
    Delayed::collect((0..n).map(|i| delayed(inc).call((i,))))
}

/// `n` incs in a row, starting from 0: `n` tasks, whose result is `n`.
#[allow(dead_code)]
pub(crate) fn chain(n: u64) -> Delayed<u64> {
    let mut x = delayed(inc).call((0_u64,));
    for _ in 1..n {
        x = delayed(inc).call((&x,));
    }
    x
}

/// `n` incs reduced pairwise: `2n - 1` tasks, whose result is the sum of `1..=n`.
pub(crate) fn tree(n: u64) -> Delayed<u64> {
    let mut level: Vec<Delayed<u64>> = (0..n).map(|i| delayed(inc).call((i,))).collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut pairs = level.chunks_exact(2);
        for pair in &mut pairs {
            next.push(delayed(add).call((&pair[0], &pair[1])));
        }
        next.extend(pairs.remainder().iter().cloned());
        level = next;
    }
    level.pop().expect("at least one task")
}
