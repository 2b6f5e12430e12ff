//! A terminal progress bar over tasks (indicatif).

use crate::error::Error;
use crate::graph::Key;
use crate::sched::Callback;

/// Shows finished tasks out of all tasks on standard error, refreshed a few times a second (so
/// the bar costs nothing measurable per task). Hidden when standard error is not a terminal.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let y = delayed(|x: &i64| x + 1).call((1_i64,));
/// assert_eq!(y.compute_with(&ComputeOptions::new().progress())?, 2);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug)]
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar::new()
    }
}

impl ProgressBar {
    /// A bar that appears when the compute starts.
    pub fn new() -> ProgressBar {
        let bar = indicatif::ProgressBar::hidden();
        bar.set_style(
            indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:40} {pos}/{len} tasks {msg}")
                .expect("the template is valid")
                .progress_chars("##-"),
        );
        ProgressBar { bar }
    }

    /// How many tasks have finished so far.
    pub fn position(&self) -> u64 {
        self.bar.position()
    }
}

impl Callback for ProgressBar {
    fn on_compute_start(&self, tasks: usize) {
        self.bar.set_length(tasks as u64);
        self.bar.set_position(0);
        self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }

    fn on_task_finish(&self, _key: &Key, _worker: usize, _error: Option<&Error>) {
        self.bar.inc(1);
    }

    fn on_compute_end(&self, error: Option<&Error>) {
        match error {
            Some(err) => self.bar.abandon_with_message(format!("failed: {err}")),
            None => self.bar.finish(),
        }
    }
}
