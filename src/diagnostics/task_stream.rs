//! A recorder of when and where each task ran, exported as Chrome trace JSON (what Dask's
//! `TaskStream` and its dashboard plot show).
//!
//! Recording costs two clock reads and two uncontended lock round-trips per task: each worker
//! thread has its own log (padded to its own cache line), and a task's text key is only built
//! when [`TaskStream::records`] is called, after the compute.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use crossbeam::utils::CachePadded;
use parking_lot::Mutex;
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::graph::Key;
use crate::sched::Callback;

/// How many per-worker logs a recorder has. Worker `w` writes to log `w % LOGS`; workers that
/// share a log (only in pools of more than `LOGS` threads) stay correct, just contend.
const LOGS: usize = 256;

/// One task as [`TaskStream`] recorded it. Times are microseconds since the first compute the
/// recorder observed started, from a monotonic clock.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::prelude::*;
/// use drask::diagnostics::TaskStream;
///
/// let stream = Arc::new(TaskStream::new());
/// let y = delayed(|x: &i64| x + 1).name("inc").call((1_i64,));
/// y.compute_with(&ComputeOptions::new().callback(stream.clone()))?;
/// let record = &stream.records()[0];
/// assert_eq!(record.prefix, "inc");
/// assert!(record.key.contains("inc-"));
/// assert!(record.end_us >= record.start_us && !record.failed);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's key, as its `Display` shows it: `'inc-3f2a…'` or `('sum-00ff…', 0, 1)`.
    pub key: String,
    /// The key's prefix, the operation's name without its token: `inc`.
    pub prefix: String,
    /// The index of the worker thread the task ran on (0 for the synchronous executor).
    pub worker: usize,
    /// When the task started.
    pub start_us: f64,
    /// When the task finished.
    pub end_us: f64,
    /// Whether the task returned an error or panicked.
    pub failed: bool,
}

impl TaskRecord {
    /// How long the task ran, in microseconds.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// let nap = delayed(|| std::thread::sleep(std::time::Duration::from_millis(5))).call(());
    /// nap.compute_with(&ComputeOptions::new().callback(stream.clone()))?;
    /// assert!(stream.records()[0].duration_us() >= 5_000.0);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn duration_us(&self) -> f64 {
        self.end_us - self.start_us
    }
}

/// A finished task, as the hot path stores it: no formatting, no clock conversion.
#[derive(Debug)]
struct Raw {
    key: Key,
    worker: usize,
    start: Instant,
    end: Instant,
    failed: bool,
}

/// What one worker (or a few, in very large pools) recorded.
#[derive(Debug, Default)]
struct Log {
    /// Tasks started and not yet finished on this log's workers. Usually at most one per worker;
    /// more when a task waits inside rayon (a nested compute) and its thread runs other tasks
    /// meanwhile, which then finish first.
    open: Vec<(Key, usize, Instant)>,
    done: Vec<Raw>,
}

/// Records each task's key, worker thread, start and end time and whether it failed, for a
/// timeline of a compute. Attach it with [`ComputeOptions::callback`](crate::ComputeOptions),
/// then read [`records`](TaskStream::records), a [`summary`](TaskStream::summary), or a Chrome
/// trace that [Perfetto](https://ui.perfetto.dev) and `chrome://tracing` open.
///
/// Times count from the first compute the recorder observes. A recorder attached to several
/// computes accumulates their tasks on one timeline, as Dask's `TaskStream` does; use a new
/// recorder per compute to see them apart.
///
/// Recording is cheap: each worker thread appends to its own log, so no lock is shared between
/// workers and none is held while a task runs.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::prelude::*;
/// use drask::diagnostics::TaskStream;
///
/// let stream = Arc::new(TaskStream::new());
/// let parts = (0..8_i64).map(|i| delayed(|x: &i64| x * x).name("square").call((i,)));
/// let total = delayed(|v: &Vec<i64>| v.iter().sum::<i64>()).name("sum").call((Delayed::collect(parts),));
/// assert_eq!(total.compute_with(&ComputeOptions::new().callback(stream.clone()))?, 140);
///
/// let records = stream.records();
/// assert_eq!(records.iter().filter(|r| r.prefix == "square").count(), 8);
/// let trace: serde_json::Value = serde_json::from_str(&stream.to_chrome_trace()).unwrap();
/// assert!(trace["traceEvents"].is_array());
/// # Ok::<(), drask::Error>(())
/// ```
pub struct TaskStream {
    /// Time zero: set by the first compute start (or the first task, when an executor is driven
    /// directly without a compute).
    origin: OnceLock<Instant>,
    /// When the last observed compute ended.
    last_end: Mutex<Option<Instant>>,
    logs: Box<[LogSlot]>,
}

/// One worker's log, allocated on the worker's first task, on a cache line of its own.
type LogSlot = OnceLock<Box<CachePadded<Mutex<Log>>>>;

impl std::fmt::Debug for TaskStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let workers = self.logs.iter().filter(|l| l.get().is_some()).count();
        f.debug_struct("TaskStream")
            .field("workers", &workers)
            .finish_non_exhaustive()
    }
}

impl Default for TaskStream {
    fn default() -> Self {
        TaskStream::new()
    }
}

impl TaskStream {
    /// An empty recorder.
    ///
    /// # Examples
    /// ```
    /// let stream = drask::diagnostics::TaskStream::new();
    /// assert!(stream.records().is_empty());
    /// ```
    pub fn new() -> TaskStream {
        TaskStream {
            origin: OnceLock::new(),
            last_end: Mutex::new(None),
            logs: (0..LOGS).map(|_| OnceLock::new()).collect(),
        }
    }

    fn log(&self, worker: usize) -> &Mutex<Log> {
        self.logs[worker % LOGS].get_or_init(Default::default)
    }

    fn origin(&self) -> Instant {
        *self.origin.get_or_init(Instant::now)
    }

    fn micros(&self, origin: Instant, t: Instant) -> f64 {
        t.saturating_duration_since(origin).as_secs_f64() * 1e6
    }

    /// Every finished task, ordered by start time (then by worker).
    ///
    /// Tasks still running are not included; read the records after `compute` returns.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// let x = Delayed::value(20_i64);
    /// let y = delayed(|x: &i64| x + 22).call((&x,));
    /// let options = ComputeOptions::new().executor(drask::sched::Synchronous).optimize(false);
    /// assert_eq!(y.compute_with(&options.callback(stream.clone()))?, 42);
    /// let records = stream.records();
    /// assert_eq!(records.len(), 2);
    /// assert_eq!(records[0].prefix, "literal");
    /// assert!(records[0].end_us <= records[1].start_us);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn records(&self) -> Vec<TaskRecord> {
        let origin = self.origin();
        let mut records: Vec<TaskRecord> = Vec::new();
        for log in self.logs.iter().filter_map(OnceLock::get) {
            let log = log.lock();
            records.extend(log.done.iter().map(|raw| TaskRecord {
                key: raw.key.to_string(),
                prefix: raw.key.prefix().to_string(),
                worker: raw.worker,
                start_us: self.micros(origin, raw.start),
                end_us: self.micros(origin, raw.end),
                failed: raw.failed,
            }));
        }
        records.sort_by(|a, b| a.start_us.total_cmp(&b.start_us).then(a.worker.cmp(&b.worker)));
        records
    }

    /// How busy the workers were: per-worker busy time and the utilization, the fraction of the
    /// available thread time spent running tasks, `busy / (threads × wall)`.
    ///
    /// `threads` is the number of workers seen (the highest worker index plus one), and `wall`
    /// runs from the first compute's start to the last compute's end (or the last task's end).
    /// A worker that ran no task at all is not seen, so for a pool with idle threads use
    /// [`summary_for`](TaskStream::summary_for) with the pool's size.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// let parts = (0..4_u64).map(|i| delayed(|ms: &u64| {
    ///     std::thread::sleep(std::time::Duration::from_millis(*ms));
    ///     *ms
    /// }).call((i,)));
    /// let options = ComputeOptions::new().executor(drask::sched::Synchronous);
    /// Delayed::collect(parts).compute_with(&options.callback(stream.clone()))?;
    /// let summary = stream.summary();
    /// assert_eq!(summary.threads, 1);
    /// assert!(summary.busy_us[0] >= 6_000.0);
    /// assert!(summary.utilization > 0.0 && summary.utilization <= 1.0);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn summary(&self) -> TaskStreamSummary {
        self.summary_of(&self.records(), None)
    }

    /// Like [`summary`](TaskStream::summary), for a pool of `threads` threads: utilization counts
    /// the threads that ran no task as idle.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// let options = ComputeOptions::new().executor(drask::sched::Synchronous);
    /// delayed(|| 1_i32).call(()).compute_with(&options.callback(stream.clone()))?;
    /// // One task on one thread of four: at most a quarter of the thread time was busy.
    /// let summary = stream.summary_for(4);
    /// assert_eq!(summary.threads, 4);
    /// assert!(summary.utilization <= 0.25);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn summary_for(&self, threads: usize) -> TaskStreamSummary {
        self.summary_of(&self.records(), Some(threads))
    }

    fn summary_of(&self, records: &[TaskRecord], threads: Option<usize>) -> TaskStreamSummary {
        let seen = records.iter().map(|r| r.worker + 1).max().unwrap_or(0);
        let threads = threads.unwrap_or(seen).max(seen);
        let mut busy_us = vec![0.0; threads];
        for r in records {
            busy_us[r.worker] += r.duration_us();
        }
        let last_task = records.iter().map(|r| r.end_us).fold(0.0, f64::max);
        let last_compute = self.last_end.lock().map_or(0.0, |end| self.micros(self.origin(), end));
        let wall_us = last_task.max(last_compute);
        let available = threads as f64 * wall_us;
        let utilization = if available > 0.0 {
            (busy_us.iter().sum::<f64>() / available).min(1.0)
        } else {
            0.0
        };
        TaskStreamSummary {
            tasks: records.len(),
            failed: records.iter().filter(|r| r.failed).count(),
            threads,
            wall_us,
            busy_us,
            utilization,
        }
    }

    /// The records as [Chrome Trace Event Format] JSON, which [Perfetto](https://ui.perfetto.dev)
    /// and `chrome://tracing` open: one complete (`"ph": "X"`) event per task, named by its key's
    /// prefix, on a track per worker thread (`"tid"`), with the full key and whether it failed in
    /// `"args"`; plus a `thread_name` metadata event per worker.
    ///
    /// [Chrome Trace Event Format]: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// let y = delayed(|x: &i64| x + 1).name("inc").call((1_i64,));
    /// y.compute_with(&ComputeOptions::new().callback(stream.clone()))?;
    ///
    /// let trace: serde_json::Value = serde_json::from_str(&stream.to_chrome_trace()).unwrap();
    /// let events = trace["traceEvents"].as_array().unwrap();
    /// let task = events.iter().find(|e| e["ph"] == "X").unwrap();
    /// assert_eq!(task["name"], "inc");
    /// assert_eq!(task["args"]["failed"], false);
    /// assert!(events.iter().any(|e| e["ph"] == "M" && e["name"] == "thread_name"));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        self.chrome_trace().to_string()
    }

    fn chrome_trace(&self) -> Json {
        let records = self.records();
        let mut workers: Vec<usize> = records.iter().map(|r| r.worker).collect();
        workers.sort_unstable();
        workers.dedup();
        let mut events: Vec<Json> = Vec::with_capacity(records.len() + workers.len() + 1);
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": 1, "tid": 0,
            "args": {"name": "drask"},
        }));
        events.extend(workers.iter().map(|w| {
            json!({
                "name": "thread_name", "ph": "M", "pid": 1, "tid": w,
                "args": {"name": format!("worker {w}")},
            })
        }));
        events.extend(records.into_iter().map(|r| {
            json!({
                "name": r.prefix,
                "cat": "task",
                "ph": "X",
                "ts": r.start_us,
                "dur": r.duration_us(),
                "pid": 1,
                "tid": r.worker,
                "args": {"key": r.key, "failed": r.failed},
            })
        }));
        json!({"traceEvents": events, "displayTimeUnit": "ms"})
    }

    /// Writes [`to_chrome_trace`](TaskStream::to_chrome_trace) to `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::diagnostics::TaskStream;
    ///
    /// let stream = Arc::new(TaskStream::new());
    /// delayed(|| 1_i32).call(()).compute_with(&ComputeOptions::new().callback(stream.clone()))?;
    /// let path = std::env::temp_dir().join(format!("drask-doc-trace-{}.json", std::process::id()));
    /// stream.write_chrome_trace(&path)?;
    /// assert!(std::fs::read_to_string(&path)?.contains("traceEvents"));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn write_chrome_trace(&self, path: impl AsRef<Path>) -> Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer(file, &self.chrome_trace()).map_err(|e| Error::from(std::io::Error::from(e)))
    }
}

impl Callback for TaskStream {
    fn on_compute_start(&self, _tasks: usize) {
        self.origin();
    }

    fn on_task_start(&self, key: &Key, worker: usize) {
        let start = Instant::now();
        self.origin.get_or_init(|| start);
        self.log(worker).lock().open.push((key.clone(), worker, start));
    }

    fn on_task_finish(&self, key: &Key, worker: usize, error: Option<&Error>) {
        let end = Instant::now();
        let mut log = self.log(worker).lock();
        let open = log.open.iter().rposition(|(k, w, _)| *w == worker && k == key);
        // A finish without a start (a callback attached mid-run) counts as instantaneous.
        let (key, start) = match open {
            Some(i) => {
                let (key, _, start) = log.open.remove(i);
                (key, start)
            }
            None => (key.clone(), end),
        };
        log.done.push(Raw {
            key,
            worker,
            start,
            end,
            failed: error.is_some(),
        });
    }

    fn on_compute_end(&self, _error: Option<&Error>) {
        *self.last_end.lock() = Some(Instant::now());
    }
}

/// How busy the workers were, from [`TaskStream::summary`].
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::prelude::*;
/// use drask::diagnostics::TaskStream;
///
/// let stream = Arc::new(TaskStream::new());
/// let options = ComputeOptions::new().executor(drask::sched::Synchronous);
/// Delayed::collect((0..3_i64).map(Delayed::value)).compute_with(&options.callback(stream.clone()))?;
/// let summary = stream.summary();
/// assert_eq!(summary.failed, 0);
/// assert_eq!(summary.busy_us.len(), summary.threads);
/// assert!(summary.wall_us >= summary.busy_us[0]);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskStreamSummary {
    /// Tasks recorded.
    pub tasks: usize,
    /// Tasks that failed.
    pub failed: usize,
    /// Worker threads counted: those seen, or the pool size given to
    /// [`TaskStream::summary_for`].
    pub threads: usize,
    /// Microseconds from the first compute's start to the last compute's (or task's) end.
    pub wall_us: f64,
    /// Microseconds each worker spent running tasks, indexed by worker.
    pub busy_us: Vec<f64>,
    /// `sum(busy_us) / (threads × wall_us)`, from 0 (idle) to 1 (every thread always busy).
    pub utilization: f64,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::prelude::*;
    use crate::sched::{Synchronous, Threaded};

    fn sleepy(n: u64, ms: u64) -> Delayed<Vec<u64>> {
        Delayed::collect((0..n).map(|i| {
            delayed(move |x: &u64| {
                std::thread::sleep(Duration::from_millis(ms));
                *x
            })
            .name("nap")
            .call((i,))
        }))
    }

    #[test]
    fn threaded_records_one_interval_per_task_without_overlap_per_worker() {
        let stream = Arc::new(TaskStream::new());
        let executor = Threaded::with_threads(2).unwrap();
        let options = ComputeOptions::new().executor(executor).callback(stream.clone());
        let out = sleepy(8, 20).compute_with(&options).unwrap();
        assert_eq!(out, (0..8).collect::<Vec<_>>());

        let records = stream.records();
        let naps: Vec<&TaskRecord> = records.iter().filter(|r| r.prefix == "nap").collect();
        assert_eq!(naps.len(), 8, "{records:#?}");
        // Every task of the graph, the collect too, once.
        assert_eq!(records.len(), 9);
        let mut keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 9, "one record per task");
        for r in &records {
            assert!(r.worker < 2, "{r:?}");
            assert!(r.end_us >= r.start_us, "{r:?}");
            assert!(!r.failed);
        }
        for r in &naps {
            // Sleeps last at least as long as asked; allow a loaded CI machine 150 ms extra.
            let d = r.duration_us();
            assert!((20_000.0..170_000.0).contains(&d), "{r:?}");
        }
        for w in 0..2 {
            let mine: Vec<&TaskRecord> = records.iter().filter(|r| r.worker == w).collect();
            for pair in mine.windows(2) {
                assert!(pair[0].end_us <= pair[1].start_us, "overlap: {pair:#?}");
            }
        }
        // Both threads worked: 8 naps of 20 ms on 2 threads take about 80 ms, not 160.
        let summary = stream.summary();
        assert_eq!(summary.threads, 2);
        assert_eq!(summary.tasks, 9);
        assert!(summary.busy_us.iter().all(|&b| b >= 20_000.0), "{summary:?}");
        assert!(summary.utilization > 0.3 && summary.utilization <= 1.0);

        let trace: Json = serde_json::from_str(&stream.to_chrome_trace()).unwrap();
        assert_eq!(trace["displayTimeUnit"], "ms");
        let events = trace["traceEvents"].as_array().unwrap();
        let complete: Vec<&Json> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(complete.len(), 9);
        assert_eq!(complete.iter().filter(|e| e["name"] == "nap").count(), 8);
        for e in &complete {
            assert_eq!(e["cat"], "task");
            assert_eq!(e["pid"], 1);
            assert!(e["ts"].as_f64().unwrap() >= 0.0);
            assert!(e["dur"].as_f64().unwrap() >= 0.0);
            assert!(e["tid"].as_u64().unwrap() < 2);
            assert!(e["args"]["key"].as_str().unwrap().starts_with('\''));
            assert_eq!(e["args"]["failed"], false);
        }
        let names: Vec<&str> = events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["worker 0", "worker 1"]);
    }

    #[test]
    fn failed_task_is_marked_and_trace_round_trips_to_a_file() {
        let stream = Arc::new(TaskStream::new());
        let bad = delayed(|x: &i32| -> Result<i32, String> { Err(format!("no {x}")) })
            .name("bad")
            .try_call((1,));
        let options = ComputeOptions::new().executor(Synchronous).callback(stream.clone());
        assert!(bad.compute_with(&options).is_err());
        let records = stream.records();
        assert_eq!(records.len(), 1);
        assert!(records[0].failed);
        assert_eq!(records[0].prefix, "bad");
        assert_eq!(records[0].key, bad.key().to_string());
        assert_eq!(stream.summary().failed, 1);

        let path = std::env::temp_dir().join(format!("drask-task-stream-test-{}.json", std::process::id()));
        stream.write_chrome_trace(&path).unwrap();
        let trace: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        let task = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["ph"] == "X")
            .unwrap()
            .clone();
        assert_eq!(task["args"]["failed"], true);
        assert_eq!(task["args"]["key"], bad.key().to_string());
    }

    #[test]
    fn nested_starts_on_one_worker_pair_up_by_key() {
        let stream = TaskStream::new();
        let (outer, inner) = (Key::single("outer-01"), Key::single("inner-02"));
        stream.on_compute_start(2);
        stream.on_task_start(&outer, 0);
        stream.on_task_start(&inner, 0);
        std::thread::sleep(Duration::from_millis(2));
        stream.on_task_finish(&inner, 0, None);
        stream.on_task_finish(&outer, 0, None);
        stream.on_compute_end(None);
        let records = stream.records();
        assert_eq!(records.len(), 2);
        let (o, i) = (&records[0], &records[1]);
        assert_eq!((o.prefix.as_str(), i.prefix.as_str()), ("outer", "inner"));
        assert!(o.start_us <= i.start_us && i.end_us <= o.end_us);
        assert!(i.duration_us() >= 2_000.0);
    }

    #[test]
    fn workers_beyond_the_log_table_share_logs_safely() {
        let stream = TaskStream::new();
        let (a, b) = (Key::single("a-01"), Key::single("b-02"));
        stream.on_task_start(&a, 3);
        stream.on_task_start(&b, 3 + LOGS);
        stream.on_task_finish(&a, 3, None);
        stream.on_task_finish(&b, 3 + LOGS, Some(&Error::Internal("x".into())));
        let records = stream.records();
        assert_eq!(records.len(), 2);
        let rb = records.iter().find(|r| r.prefix == "b").unwrap();
        assert_eq!(rb.worker, 3 + LOGS);
        assert!(rb.failed);
        assert_eq!(stream.summary().threads, 4 + LOGS);
    }
}
