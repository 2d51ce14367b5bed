//! What one input becomes: a [`Track`] (path, stream properties, features and timings) or an
//! [`InputError`] naming the path and the cause. Low in the stack, so every stage above (cache,
//! progress, report, pipeline) can name a track without importing the orchestration.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::decode::AudioInfo;
use crate::error::Error;
use crate::features::Features;
use crate::units::format_time;

/// An input that could not be analysed, with the error that stopped it.
#[derive(Debug)]
pub struct InputError {
    /// The file or folder.
    pub path: PathBuf,
    /// Why.
    pub error: Error,
}

impl InputError {
    /// The error's text without the leading path (the path is reported beside it).
    pub fn message(&self) -> String {
        let full = self.error.to_string();
        let prefix = format!("{}: ", self.path.display());
        full.strip_prefix(&prefix).map(str::to_owned).unwrap_or(full)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message())
    }
}

/// Wall-clock time spent on one file, per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Opening and probing the file (including its first packet).
    pub open: Duration,
    /// Decoding packets into mono blocks.
    pub decode: Duration,
    /// Feature extraction (everything in `extract` except pulling blocks).
    pub features: Duration,
    /// Within the features: decimation, FFTs and pitch mapping. The last two run on the worker
    /// threads and are summed over them, so with several cores they can exceed `features`.
    pub feature_stages: crate::features::Timings,
}

impl StageTimings {
    /// All stages together.
    pub fn total(&self) -> Duration {
        self.open + self.decode + self.features
    }
}

/// One decoded and analysed input file.
#[derive(Debug, Clone)]
pub struct Track {
    /// The path as given or found.
    pub path: PathBuf,
    /// Stream properties and tags.
    pub info: AudioInfo,
    /// Per-frame features.
    pub features: Features,
    /// Corrupt packets skipped while decoding.
    pub skipped_packets: usize,
    /// Duration of the decoded audio, seconds.
    pub duration_s: f64,
    /// Time spent per stage.
    pub timings: StageTimings,
}

impl Track {
    /// What went wrong without stopping the analysis: skipped packets, audio that ends well
    /// before the length its header declares, and audio with nothing to match in it.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.skipped_packets > 0 {
            warnings.push(format!("skipped {} corrupt packet(s)", self.skipped_packets));
        }
        // Encoder delay and padding make a few hundredths of a second of difference, an estimated
        // (VBR) duration a little more; a cut or damaged file lacks far more.
        if let Some(declared) = self.info.duration_s
            && declared.is_finite()
            && self.duration_s < declared - (declared * 0.01).max(0.1)
        {
            warnings.push(format!(
                "decoded {} of the {} the header declares: part of the file is missing or damaged, or the header is wrong",
                format_time(self.duration_s),
                format_time(declared)
            ));
        }
        if self.features.chroma.is_empty() {
            warnings.push("too short for one analysis frame: nothing to match".to_owned());
        } else if self.features.chroma.iter().all(|c| c.iter().all(|&v| v == 0.0)) {
            warnings.push("no pitched sound above the silence threshold: nothing to match".to_owned());
        }
        warnings
    }
}

/// The successes of `results`, in order; the failures are appended to `errors`.
pub fn split_outcomes<T>(results: Vec<std::result::Result<T, InputError>>, errors: &mut Vec<InputError>) -> Vec<T> {
    let mut done = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(v) => done.push(v),
            Err(e) => errors.push(e),
        }
    }
    done
}

/// The error for a batch where nothing could be analysed: the one failure itself, or all of
/// them on one line.
pub fn nothing_analysed(mut errors: Vec<InputError>) -> Error {
    if errors.len() == 1
        && let Some(e) = errors.pop()
    {
        return e.error;
    }
    Error::NothingAnalysed { failures: errors.into_iter().map(|e| e.error).collect() }
}
