//! Motif discovery and query by example over per-track features.
// PLACEHOLDER: replaced by the matcher.

use crate::features::Features;

/// Parameters of motif matching.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MotifConfig {
    /// Shortest motif reported, in seconds.
    pub min_len_s: f64,
    /// Similarity in [0, 1] a candidate must reach to count as a recurrence.
    pub threshold: f32,
    /// At most this many motifs are reported (the most frequent first).
    pub max_motifs: usize,
}

impl Default for MotifConfig {
    fn default() -> Self {
        Self { min_len_s: 3.0, threshold: 0.5, max_motifs: 50 }
    }
}

/// One place where a motif sounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// Index of the track in the input slice.
    pub track: usize,
    /// Start, seconds from the start of the track.
    pub start_s: f64,
    /// End, seconds from the start of the track.
    pub end_s: f64,
    /// Semitones relative to the motif's first occurrence, in -5..=6.
    pub transpose: i32,
    /// This occurrence's duration over the first occurrence's.
    pub tempo_ratio: f64,
    /// Similarity in [0, 1].
    pub score: f32,
}

/// A melodic idea heard at two or more places.
#[derive(Debug, Clone, PartialEq)]
pub struct Motif {
    /// Occurrences sorted by track, then start; the first is the reference.
    pub occurrences: Vec<Occurrence>,
}

/// Finds the motifs that recur across and within `tracks`.
pub fn discover(_tracks: &[&Features], _cfg: &MotifConfig) -> Vec<Motif> {
    todo!()
}

/// Finds every occurrence of the span `start_s..end_s` of `query` in `tracks`.
/// The returned motif's first occurrence is the query itself, with `track == usize::MAX`
/// replaced by the caller with the query's index in the report.
pub fn find(_query: &Features, _start_s: f64, _end_s: f64, _tracks: &[&Features], _cfg: &MotifConfig) -> Vec<Occurrence> {
    todo!()
}
