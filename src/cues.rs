//! Cue detection: where known tracks play inside long episode audio.
// PLACEHOLDER: replaced by the cue detector.

use crate::features::Features;

/// Parameters of cue detection.
#[derive(Debug, Clone, PartialEq)]
pub struct CueConfig {
    /// Shortest cue reported, in seconds.
    pub min_len_s: f64,
    /// Similarity in [0, 1] a cue must reach.
    pub threshold: f32,
}

impl Default for CueConfig {
    fn default() -> Self {
        Self { min_len_s: 5.0, threshold: 0.5 }
    }
}

/// One span of an episode where a track plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Index of the track in the input slice.
    pub track: usize,
    /// Episode time where the cue starts, seconds.
    pub start_s: f64,
    /// Episode time where the cue ends, seconds.
    pub end_s: f64,
    /// Where in the track the cue begins, seconds.
    pub track_start_s: f64,
    /// Semitones the episode's music is shifted from the track.
    pub transpose: i32,
    /// Similarity in [0, 1].
    pub score: f32,
}

/// Finds where `tracks` play in `episode`.
pub fn detect(_tracks: &[&Features], _episode: &Features, _cfg: &CueConfig) -> Vec<Cue> {
    todo!()
}
