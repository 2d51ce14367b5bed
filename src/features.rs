//! Streaming feature extraction: mono blocks -> STFT -> tuned semitone spectrum -> chroma and melody profiles.
// PLACEHOLDER: replaced by the chroma extractor.

use crate::error::Result;
use crate::source::SampleSource;

/// Parameters of feature extraction; times in seconds so every sample rate gives the same frames.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureConfig {
    /// Analysis window length in seconds.
    pub window_s: f64,
    /// Hop between frames in seconds.
    pub hop_s: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self { window_s: 0.186, hop_s: 0.1 }
    }
}

/// Per-frame features of one recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Seconds between frames; frame k is centred at `k * hop_s`.
    pub hop_s: f64,
    /// Estimated deviation from A440, in cents.
    pub tuning_cents: f32,
    /// Chroma per frame, each max-normalised (zero for silence).
    pub chroma: Vec<[f32; 12]>,
    /// Predominant-melody pitch-class profile per frame (zero when no clear pitch).
    pub melody: Vec<[f32; 12]>,
    /// Frame energy in dB (full scale).
    pub energy_db: Vec<f32>,
}

/// Extracts features from a stream of mono blocks.
///
/// # Errors
/// When the source fails, or the configuration is invalid.
pub fn extract(_source: &mut dyn SampleSource, _cfg: &FeatureConfig) -> Result<Features> {
    todo!()
}
