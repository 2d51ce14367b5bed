//! Progress of a run: the [`Progress`] interface the pipeline reports to, the [`Hooks`] a run is
//! given (a progress display and a feature cache; neither changes any result), and a terminal
//! progress bar on standard error.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::{Entry, FeatureCache};
use crate::error::Result;
use crate::features::FeatureConfig;
use crate::track::{StageTimings, Track};

/// Receives the stages of a run as they happen. Called from worker threads.
pub trait Progress: Send + Sync {
    /// A stage begins: `total` items (files) when known, `None` for one long step.
    fn begin(&self, stage: &str, total: Option<u64>);
    /// One item of the current stage is done.
    fn advance(&self, item: &Path);
    /// `n` more units of the current stage are done, none of them an item to name (pairs of
    /// tracks matched, bytes of input decoded). Displays without a count may ignore it.
    fn tick(&self, n: u64) {
        let _ = n;
    }
    /// A stage measured in bytes of input begins: [`Progress::tick`] counts bytes, and
    /// [`Progress::advance`] names the item done without counting it.
    fn begin_bytes(&self, stage: &str, total: u64) {
        self.begin(stage, Some(total));
    }
    /// An item of the current stage held `seconds` of audio (a file decoded or read from the
    /// cache). Displays without a running total may ignore it.
    fn audio(&self, seconds: f64) {
        let _ = seconds;
    }
    /// The current stage is over.
    fn end(&self);
}

/// What a run is given besides its parameters. Hooks never change results, so any two compare
/// equal.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Where decoded features are kept between runs; `None` decodes every file.
    pub cache: Option<Arc<FeatureCache>>,
    /// Where progress goes; `None` reports nothing.
    pub progress: Option<Arc<dyn Progress>>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("cache", &self.cache.as_ref().map(|c| c.dir().to_path_buf()))
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl PartialEq for Hooks {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Hooks {
    /// Reports the start of a stage, if anyone listens.
    pub fn begin(&self, stage: &str, total: Option<usize>) {
        if let Some(p) = &self.progress {
            p.begin(stage, total.map(|t| t as u64));
        }
    }

    /// Reports one finished item.
    pub fn advance(&self, item: &Path) {
        if let Some(p) = &self.progress {
            p.advance(item);
        }
    }

    /// Reports the start of a stage measured in bytes of input.
    pub fn begin_bytes(&self, stage: &str, total: u64) {
        if let Some(p) = &self.progress {
            p.begin_bytes(stage, total);
        }
    }

    /// Reports `n` more units of the current stage done.
    pub fn tick(&self, n: u64) {
        if let Some(p) = &self.progress {
            p.tick(n);
        }
    }

    /// Reports the seconds of audio one item of the current stage held.
    pub fn audio(&self, seconds: f64) {
        if let Some(p) = &self.progress {
            p.audio(seconds);
        }
    }

    /// Reports the end of the current stage.
    pub fn end(&self) {
        if let Some(p) = &self.progress {
            p.end();
        }
    }

    /// Decodes and analyses `path` with `load`, through the cache when there is one. A track
    /// from the cache takes the path it was asked for, and its timings count only the lookup.
    ///
    /// # Errors
    /// Whatever `load` returns for the file.
    pub fn load(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        load: impl FnOnce(&Path, &FeatureConfig) -> Result<Track>,
    ) -> Result<Track> {
        let Some(cache) = &self.cache else {
            return load(path, cfg);
        };
        let t0 = Instant::now();
        let mut timings = StageTimings::default();
        let (entry, hit) = cache.get_or_insert_with(path, cfg, || {
            let track = load(path, cfg)?;
            timings = track.timings;
            Ok(Entry {
                info: track.info,
                features: track.features,
                skipped_packets: track.skipped_packets,
                duration_s: track.duration_s,
            })
        })?;
        if hit {
            timings = StageTimings { open: t0.elapsed(), ..StageTimings::default() };
        }
        Ok(Track {
            path: path.to_path_buf(),
            info: entry.info,
            features: entry.features,
            skipped_packets: entry.skipped_packets,
            duration_s: entry.duration_s,
            timings,
        })
    }
}

/// A progress bar on standard error: a bar with a count and an estimate of the time left for
/// stages over files or pairs of tracks, a spinner with the elapsed time for single long steps. It draws only when standard error is a terminal.
pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
    /// The current stage counts bytes, so finished items are named but not counted.
    bytes: std::sync::atomic::AtomicBool,
    /// Milliseconds of audio the current stage's items have held so far.
    audio_ms: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TerminalProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalProgress").finish_non_exhaustive()
    }
}

impl TerminalProgress {
    /// A progress display when standard error is a terminal, `None` otherwise (logs and pipes
    /// stay free of control codes).
    pub fn for_stderr() -> Option<Self> {
        std::io::stderr().is_terminal().then(|| Self {
            bar: Mutex::new(None),
            bytes: Default::default(),
            audio_ms: Default::default(),
        })
    }
}

/// Audio done so far, for people: minutes under an hour, hours to a tenth above.
fn audio_done(ms: u64) -> String {
    let minutes = ms as f64 / 60_000.0;
    if minutes < 60.0 { format!("{minutes:.0} min") } else { format!("{:.1} h", minutes / 60.0) }
}

/// A stage over items (files, pairs of tracks): a bar, the count and the time left.
const BAR_TEMPLATE: &str = "{prefix:>10.bold} [{bar:30.cyan/blue}] {pos}/{len} {elapsed:>4} (eta {eta}) {wide_msg}";
/// A stage over bytes of input.
const BYTES_TEMPLATE: &str =
    "{prefix:>10.bold} [{bar:20.cyan/blue}] {bytes}/{total_bytes} {elapsed:>4} (eta {eta}) {wide_msg}";
/// One long step.
const SPINNER_TEMPLATE: &str = "{prefix:>10.bold} {spinner} {elapsed}";

/// Styles are fixed strings (a test parses each); should one fail, indicatif's default is used.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(BYTES_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl TerminalProgress {
    /// Replaces the bar with a new one for `stage`: a count of items or of bytes out of `total`,
    /// or a spinner without one.
    fn start(&self, stage: &str, total: Option<u64>, bytes: bool) {
        self.bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
        self.audio_ms.store(0, std::sync::atomic::Ordering::Relaxed);
        let mut slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = slot.take() {
            old.finish_and_clear();
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(if bytes {
                bytes_style()
            } else {
                bar_style()
            }),
            None => {
                let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(spinner_style());
                b.enable_steady_tick(Duration::from_millis(120));
                b
            }
        };
        bar.set_prefix(stage.to_owned());
        *slot = Some(bar);
    }
}

impl Progress for TerminalProgress {
    fn begin_bytes(&self, stage: &str, total: u64) {
        self.start(stage, Some(total), true);
    }

    fn begin(&self, stage: &str, total: Option<u64>) {
        self.start(stage, total, false);
    }

    fn advance(&self, item: &Path) {
        let slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = slot.as_ref() {
            let name =
                item.file_name().map_or_else(|| item.display().to_string(), |n| n.to_string_lossy().into_owned());
            let ms = self.audio_ms.load(std::sync::atomic::Ordering::Relaxed);
            bar.set_message(if ms > 0 { format!("{} audio, {name}", audio_done(ms)) } else { name });
            if !self.bytes.load(std::sync::atomic::Ordering::Relaxed) {
                bar.inc(1);
            }
        }
    }

    fn tick(&self, n: u64) {
        let slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = slot.as_ref() {
            bar.inc(n);
        }
    }

    fn audio(&self, seconds: f64) {
        let ms = (seconds.max(0.0) * 1000.0) as u64;
        self.audio_ms.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn end(&self) {
        let mut slot = self.bar.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bar) = slot.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.end();
    }
}

/// Records how long each stage took, passing every report on to another display.
pub struct StageClock {
    inner: Option<Arc<dyn Progress>>,
    state: Mutex<ClockState>,
}

#[derive(Default)]
struct ClockState {
    current: Option<(String, std::time::Instant)>,
    done: Vec<(String, Duration)>,
}

impl fmt::Debug for StageClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StageClock").field("stages", &self.stages()).finish_non_exhaustive()
    }
}

impl StageClock {
    /// A clock forwarding to `inner` (if any).
    pub fn new(inner: Option<Arc<dyn Progress>>) -> Self {
        Self { inner, state: Mutex::new(ClockState::default()) }
    }

    /// Closes the running stage and starts timing `stage`.
    fn start(&self, stage: &str) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((name, t0)) = s.current.take() {
            s.done.push((name, t0.elapsed()));
        }
        s.current = Some((stage.to_owned(), std::time::Instant::now()));
    }

    /// The stages finished so far with their wall-clock durations, in order (a stage that
    /// runs twice, such as decoding tracks then episodes, is listed twice).
    pub fn stages(&self) -> Vec<(String, Duration)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).done.clone()
    }
}

impl Progress for StageClock {
    fn audio(&self, seconds: f64) {
        if let Some(p) = &self.inner {
            p.audio(seconds);
        }
    }

    fn begin_bytes(&self, stage: &str, total: u64) {
        self.start(stage);
        if let Some(p) = &self.inner {
            p.begin_bytes(stage, total);
        }
    }

    fn begin(&self, stage: &str, total: Option<u64>) {
        self.start(stage);
        if let Some(p) = &self.inner {
            p.begin(stage, total);
        }
    }

    fn advance(&self, item: &Path) {
        if let Some(p) = &self.inner {
            p.advance(item);
        }
    }

    fn tick(&self, n: u64) {
        if let Some(p) = &self.inner {
            p.tick(n);
        }
    }

    fn end(&self) {
        {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((name, t0)) = s.current.take() {
                s.done.push((name, t0.elapsed()));
            }
        }
        if let Some(p) = &self.inner {
            p.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_done_reads_in_minutes_then_hours() {
        assert_eq!(audio_done(0), "0 min");
        assert_eq!(audio_done(42 * 60_000 + 20_000), "42 min");
        assert_eq!(audio_done(3 * 3_600_000 + 1_080_000), "3.3 h");
    }

    #[test]
    fn seconds_of_audio_reach_the_display_through_the_stage_clock() {
        #[derive(Default)]
        struct Heard(Mutex<f64>);
        impl Progress for Heard {
            fn begin(&self, _: &str, _: Option<u64>) {}
            fn advance(&self, _: &Path) {}
            fn end(&self) {}
            fn audio(&self, seconds: f64) {
                *self.0.lock().unwrap_or_else(PoisonError::into_inner) += seconds;
            }
        }
        let heard = Arc::new(Heard::default());
        let hooks = Hooks { cache: None, progress: Some(Arc::new(StageClock::new(Some(heard.clone())))) };
        hooks.begin_bytes("decoding", 10);
        hooks.audio(90.0);
        hooks.audio(1.5);
        hooks.end();
        assert_eq!(*heard.0.lock().unwrap_or_else(PoisonError::into_inner), 91.5);
    }

    #[test]
    fn every_bar_template_parses() {
        for template in [BAR_TEMPLATE, BYTES_TEMPLATE, SPINNER_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
