//! Features of a recording: chroma, predominant-melody profile, frame energy and spectral peaks,
//! with their settings ([`FeatureConfig`]) and the streaming extractor ([`extract()`]).
//!
//! - [`stft`]: frame geometry and power spectra (a [`stft::Spectrogram`] for whole signals).
//! - [`decimate`]: the anti-aliased rate reduction before the STFT.
//! - [`chroma`]: tuning estimation, the semitone mapping, chroma and melody profiles.
//! - [`peaks`]: per-frame spectral peaks for fingerprints.
//! - [`extract`](mod@extract): the batching scheduler that streams a source through them.

use std::time::Duration;

pub mod chroma;
pub mod decimate;
pub mod extract;
pub mod peaks;
pub mod stft;

pub use extract::{extract, extract_timed};

use crate::error::{Error, Result};
use crate::features::chroma::{MelodyConfig, OctaveWeight};
use crate::features::peaks::{PeakConfig, SpectralPeaks};

/// Frames per batch handed to a worker: 6.4 s at the default hop, large enough that scheduling
/// costs nothing next to the FFTs, small enough that a 10 s clip still splits across two cores.
pub const BATCH_FRAMES: usize = 64;

/// The lowest frame energy reported, in dBFS (digital silence).
pub const ENERGY_FLOOR_DB: f32 = -120.0;

/// How the reference pitch (A4) of a recording is chosen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Tuning {
    /// Estimated from the spectral peaks of the first non-silent audio.
    Estimate,
    /// Fixed deviation from A440 in cents, in -50..=50.
    Fixed(f32),
}

/// Parameters of feature extraction; times in seconds so every sample rate gives the same frames.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureConfig {
    /// Analysis window length in seconds.
    pub window_s: f64,
    /// Hop between frames in seconds.
    pub hop_s: f64,
    /// Estimate the tuning or fix it.
    pub tuning: Tuning,
    /// Seconds of non-silent audio whose spectra are buffered to estimate the tuning.
    pub tuning_span_s: f64,
    /// Frames quieter than this (dBFS) are silent: zero chroma and melody.
    pub silence_db: f32,
    /// Semitones folded into the chroma, inclusive MIDI numbers.
    pub chroma_midi: (u8, u8),
    /// Weighting of the chroma over octaves; `None` weighs all octaves alike.
    pub octave_weight: Option<OctaveWeight>,
    /// Predominant-melody profile parameters.
    pub melody: MelodyConfig,
    /// Spectral peaks per frame (for fingerprints and cue verification); `None` skips them.
    pub peaks: Option<PeakConfig>,
}

impl Default for FeatureConfig {
    /// - `window_s = 0.186`: the shortest window (8192 samples at 44.1 kHz) whose Hann main lobe
    ///   (4 bins, 21.5 Hz) separates semitones from about 180 Hz (F#3) up.
    /// - `hop_s = 0.1`: 10 frames/s, fine enough for notes of a melody at ordinary tempi and the
    ///   standard rate for chroma-based audio matching.
    /// - `tuning = Estimate` over `tuning_span_s = 60` s: a minute of music holds enough stable
    ///   partials for a tuning within a few cents while the buffered spectra stay under 10 MB.
    /// - `silence_db = -70`: below quiet orchestral passages (-50..-60 dBFS) and above room tone,
    ///   tape hiss and dither.
    /// - `chroma_midi = (24, 108)`: C1..C8 (33 Hz..4.2 kHz), the piano's range.
    /// - `octave_weight`: librosa's default (A5 = 880 Hz, two octaves), see [`OctaveWeight`].
    /// - `melody`: see [`MelodyConfig`].
    /// - `peaks = None`: only cue detection reads them.
    fn default() -> Self {
        Self {
            window_s: 0.186,
            hop_s: 0.1,
            tuning: Tuning::Estimate,
            tuning_span_s: 60.0,
            silence_db: -70.0,
            chroma_midi: (24, 108),
            octave_weight: Some(OctaveWeight::default()),
            melody: MelodyConfig::default(),
            peaks: None,
        }
    }
}

impl FeatureConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(self.window_s.is_finite() && (0.01..=2.0).contains(&self.window_s)) {
            return Err(Error::bad_param("window_s", self.window_s, "seconds in 0.01..=2.0"));
        }
        if !(self.hop_s.is_finite() && self.hop_s > 0.0 && self.hop_s <= 10.0) {
            return Err(Error::bad_param("hop_s", self.hop_s, "seconds in (0, 10]"));
        }
        if let Tuning::Fixed(c) = self.tuning {
            if !(c.is_finite() && (-50.0..=50.0).contains(&c)) {
                return Err(Error::bad_param("tuning", c, "cents in -50..=50"));
            }
        }
        if !(self.tuning_span_s.is_finite() && self.tuning_span_s > 0.0 && self.tuning_span_s <= 600.0) {
            return Err(Error::bad_param("tuning_span_s", self.tuning_span_s, "seconds in (0, 600]"));
        }
        if !(self.silence_db.is_finite() && (ENERGY_FLOOR_DB..=0.0).contains(&self.silence_db)) {
            return Err(Error::bad_param("silence_db", self.silence_db, "dBFS in -120..=0"));
        }
        let (lo, hi) = self.chroma_midi;
        if hi > crate::features::chroma::MAX_SPECTRUM_MIDI || lo + 11 > hi {
            return Err(Error::bad_param(
                "chroma_midi",
                format!("{lo}..={hi}"),
                "an ascending MIDI range of at least an octave within 0..=108",
            ));
        }
        if let Some(w) = self.octave_weight {
            if !(w.centre_hz.is_finite() && w.centre_hz > 0.0 && w.width_octaves.is_finite() && w.width_octaves > 0.0) {
                return Err(Error::bad_param(
                    "octave_weight",
                    format!("{} Hz, {} octaves", w.centre_hz, w.width_octaves),
                    "a positive centre and width",
                ));
            }
        }
        let m = &self.melody;
        if m.hi_midi > crate::features::chroma::MAX_SPECTRUM_MIDI || m.lo_midi + 11 > m.hi_midi {
            return Err(Error::bad_param(
                "melody range",
                format!("{}..={}", m.lo_midi, m.hi_midi),
                "an ascending MIDI range of at least an octave within 0..=108",
            ));
        }
        if !(1..=16).contains(&m.harmonics) {
            return Err(Error::bad_param("melody harmonics", m.harmonics, "1..=16"));
        }
        if !(1..=crate::features::chroma::MAX_VOICES).contains(&usize::from(m.voices)) {
            return Err(Error::bad_param("melody voices", m.voices, "1..=8"));
        }
        if !(m.top_voice.is_finite() && m.top_voice > 0.0 && m.top_voice <= 1.0) {
            return Err(Error::bad_param("melody top_voice", m.top_voice, "a fraction in (0, 1]"));
        }
        if !(m.alpha.is_finite() && m.alpha > 0.0 && m.alpha <= 1.0) {
            return Err(Error::bad_param("melody alpha", m.alpha, "a weight in (0, 1]"));
        }
        if !(m.compression.is_finite() && m.compression > 0.0 && m.compression <= 1.0) {
            return Err(Error::bad_param("melody compression", m.compression, "an exponent in (0, 1]"));
        }
        if !(m.second_weight.is_finite() && (0.0..=1.0).contains(&m.second_weight)) {
            return Err(Error::bad_param("melody second_weight", m.second_weight, "a weight in 0..=1"));
        }
        if !(m.min_clarity.is_finite() && m.min_clarity >= 1.0) {
            return Err(Error::bad_param("melody min_clarity", m.min_clarity, "a ratio >= 1"));
        }
        if let Some(p) = &self.peaks {
            p.validate()?;
        }
        Ok(())
    }
}

/// Per-frame features of one recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Seconds between frames; frame k is centred at `k * hop_s`.
    pub hop_s: f64,
    /// Deviation from A440 in cents the pitch mapping used: estimated, or as fixed by the config.
    pub tuning_cents: f32,
    /// Chroma per frame, each max-normalised (zero for silence).
    pub chroma: Vec<[f32; 12]>,
    /// Predominant-melody pitch-class profile per frame (zero when no clear pitch).
    pub melody: Vec<[f32; 12]>,
    /// Frame energy in dB (full scale) of the analysed band (up to about 4.6 kHz, where the pitch
    /// mapping stops reading).
    pub energy_db: Vec<f32>,
    /// Spectral peaks per frame; empty unless [`FeatureConfig::peaks`] asked for them.
    pub peaks: SpectralPeaks,
}

/// Time spent in each stage of one extraction. Worker stages are summed over threads, so with
/// several cores `fft + mapping` can exceed `total`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Time the calling thread waited on the source (decoding).
    pub decode: Duration,
    /// Band-limiting and decimating the stream before the STFT (on the calling thread).
    pub decimate: Duration,
    /// Windowing, FFT and power spectra.
    pub fft: Duration,
    /// Tuning estimation, semitone mapping, chroma and melody profiles.
    pub mapping: Duration,
    /// Wall-clock time of the whole extraction.
    pub total: Duration,
}

/// What one extraction processed and how long it took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExtractStats {
    /// Samples read from the source.
    pub samples: u64,
    /// The source's sample rate.
    pub sample_rate: u32,
    /// Frames produced.
    pub frames: usize,
    /// Per-stage durations.
    pub timings: Timings,
}

impl ExtractStats {
    /// Seconds of audio processed.
    pub fn audio_s(&self) -> f64 {
        self.samples as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Seconds of audio processed per second of wall-clock time (0 when nothing was timed).
    pub fn realtime_factor(&self) -> f64 {
        let wall = self.timings.total.as_secs_f64();
        if wall > 0.0 { self.audio_s() / wall } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    #[test]
    fn invalid_configs_name_the_parameter() {
        let cases = [
            FeatureConfig { hop_s: 0.0, ..FeatureConfig::default() },
            FeatureConfig { hop_s: f64::NAN, ..FeatureConfig::default() },
            FeatureConfig { window_s: 5.0, ..FeatureConfig::default() },
            FeatureConfig { tuning: Tuning::Fixed(70.0), ..FeatureConfig::default() },
            FeatureConfig { tuning_span_s: -1.0, ..FeatureConfig::default() },
            FeatureConfig { silence_db: 3.0, ..FeatureConfig::default() },
            FeatureConfig { chroma_midi: (60, 64), ..FeatureConfig::default() },
            FeatureConfig {
                melody: MelodyConfig { alpha: 0.0, ..MelodyConfig::default() },
                ..FeatureConfig::default()
            },
            FeatureConfig {
                octave_weight: Some(OctaveWeight { centre_hz: -1.0, width_octaves: 2.0 }),
                ..FeatureConfig::default()
            },
        ];
        for cfg in cases {
            let r = extract(&mut MemorySource::new(vec![0.0; 100], 8000), &cfg);
            assert!(matches!(r, Err(Error::BadParam { .. })), "{cfg:?}");
        }
        let r = extract(&mut MemorySource::new(vec![0.0; 100], 0), &FeatureConfig::default());
        assert!(matches!(r, Err(Error::BadParam { .. })));
    }
}
