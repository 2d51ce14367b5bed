//! Query by example: every place where one given span of music recurs.
//!
//! The whole query is slid along each track in all 12 keys and over the tempo grid (subsequence
//! matching: the query must match from its first frame to its last), and the peaks that stand
//! out from the track's background are kept, strongest first, without overlaps.

use rayon::prelude::*;

use crate::features::Features;
use crate::motif::{MotifConfig, Occurrence};
use crate::similarity::scan;
use crate::similarity::sequence::MatchSequence;
use crate::similarity::wrap_shift;

/// Finds every occurrence of the span `start_s..end_s` of `query` in `tracks`.
///
/// The span itself is found too when `query` is one of `tracks`; callers that list the query
/// as the first occurrence drop that one. Occurrences come sorted by track, then start.
pub fn find(query: &Features, start_s: f64, end_s: f64, tracks: &[&Features], cfg: &MotifConfig) -> Vec<Occurrence> {
    let seq_cfg = cfg.sequence_config();
    let q = MatchSequence::new(query, &seq_cfg);
    if q.is_empty() {
        return Vec::new();
    }
    let first = q.clock.frame_at(start_s).min(q.len());
    let last = q.clock.frame_at(end_s).min(q.len());
    let frames = &q.frames[first..last.max(first)];
    if frames.len() < 2 {
        return Vec::new();
    }
    let tempos = cfg.tempos_for(frames.len());
    let threshold = cfg.threshold;
    let mut found: Vec<Occurrence> = tracks
        .par_iter()
        .enumerate()
        .flat_map_iter(|(t, f)| {
            let seq = MatchSequence::new(f, &seq_cfg);
            scan::peaks(frames, &seq.frames, &tempos, threshold, usize::MAX)
                .into_iter()
                .map(move |h| Occurrence {
                    track: t,
                    start_s: seq.time_of(h.start),
                    end_s: seq.time_of(h.end(frames.len())).min(seq.covered_s),
                    transpose: wrap_shift(h.shift as i32),
                    tempo_ratio: h.tempo,
                    score: h.score,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by(|x, y| crate::units::place_order((x.track, x.start_s, x.end_s), (y.track, y.start_s, y.end_s)));
    found
}
