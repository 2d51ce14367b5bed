//! Query by example: every place where one given span of music recurs.
//!
//! The whole query is slid along each track in all 12 keys and over the tempo grid (subsequence
//! matching: the query must match from its first frame to its last), and the peaks that stand
//! out from the track's background are kept, strongest first, without overlaps.

use rayon::prelude::*;

use crate::features::Features;
use crate::motif::{MotifConfig, Occurrence};
use crate::similarity::sequence::{Frame, MatchSequence, dot, rotate};
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
    let tempos = cfg.tempos();
    let threshold = cfg.threshold;
    let mut found: Vec<Occurrence> = tracks
        .par_iter()
        .enumerate()
        .flat_map_iter(|(t, f)| {
            let seq = MatchSequence::new(f, &seq_cfg);
            scan(frames, &seq, &tempos, threshold)
                .into_iter()
                .map(move |h| Occurrence {
                    track: t,
                    start_s: seq.time_of(h.start),
                    end_s: seq.time_of(h.start + h.tempo * frames.len() as f64).min(seq.covered_s),
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

#[derive(Debug, Clone, Copy)]
struct Hit {
    start: f64,
    tempo: f64,
    shift: usize,
    value: f32,
    score: f32,
}

/// Best match of `query` starting at every frame of `seq`, then non-overlapping peaks.
fn scan(query: &[Frame], seq: &MatchSequence, tempos: &[f32], threshold: f32) -> Vec<Hit> {
    let n = seq.len();
    let lq = query.len();
    let rotated: Vec<[Frame; 12]> = seq.frames.iter().map(|f| std::array::from_fn(|s| rotate(f, s))).collect();
    let mut best_any: Vec<f32> = Vec::new();
    let mut hits: Vec<Hit> = Vec::new();
    for j in 0..n {
        let mut top: Option<Hit> = None;
        for &t in tempos {
            let t = t as f64;
            let last = j as f64 + (lq - 1) as f64 * t;
            if last.round() as usize >= n {
                continue;
            }
            let mut acc = [0f32; 12];
            for (k, qf) in query.iter().enumerate() {
                let x = (j as f64 + k as f64 * t).round() as usize;
                for (a, rf) in acc.iter_mut().zip(&rotated[x]) {
                    *a += dot(qf, rf);
                }
            }
            for (shift, a) in acc.iter().enumerate() {
                let v = a / lq as f32;
                if top.is_none_or(|h| v > h.value) {
                    top = Some(Hit { start: j as f64, tempo: t, shift, value: v, score: 0.0 });
                }
            }
        }
        if let Some(h) = top {
            best_any.push(h.value);
            hits.push(h);
        }
    }
    if hits.is_empty() {
        return hits;
    }
    // The background is the typical best score of a start frame: most start frames are not
    // occurrences, so the median describes unrelated music.
    let mut sorted = best_any.clone();
    let mid = sorted.len() / 2;
    let (_, &mut background, _) = sorted.select_nth_unstable_by(mid, f32::total_cmp);
    let background = background.clamp(0.0, 0.95);
    let cut = background + threshold * (1.0 - background);
    hits.retain(|h| h.value >= cut);
    hits.sort_by(|x, y| y.value.total_cmp(&x.value).then(x.start.total_cmp(&y.start)));
    let mut kept: Vec<Hit> = Vec::new();
    for mut h in hits {
        let end = h.start + h.tempo * lq as f64;
        if kept.iter().any(|k| h.start < k.start + k.tempo * lq as f64 && k.start < end) {
            continue;
        }
        h.score = ((h.value - background) / (1.0 - background)).clamp(0.0, 1.0);
        kept.push(h);
    }
    kept
}
