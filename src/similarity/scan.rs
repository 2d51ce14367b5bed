//! Subsequence search: one whole span of music slid along a sequence in all 12 keys and over a
//! grid of tempi, matched from its first frame to its last.
//!
//! Pairwise alignment ([`super::align`]) seeds on short windows and traces them; a span that is
//! already known (a query, or a motif's clearest occurrence) can instead be held against every
//! start frame whole. The whole line keeps one key and one tempo from end to end, so a copy under
//! dialogue or in another arrangement, whose frames each resemble the span only moderately,
//! still stands out from unrelated music over the span's length.

use ndarray::{Array2, ArrayView1};

use super::align::sampled_background;
use super::sequence::{DIM, Frame, rotate};

/// One place where the span matches, a peak of the best line over start frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Start frame in the searched sequence.
    pub start: f64,
    /// Duration in the searched sequence over the span's.
    pub tempo: f64,
    /// Semitones the place lies above the span.
    pub shift: usize,
    /// Mean frame similarity along the line.
    pub value: f32,
    /// Rise of `value` above the sequence's background towards a perfect match, in [0, 1].
    pub score: f32,
}

impl Hit {
    /// The frame where the line ends (exclusive), for a span of `len` frames.
    pub fn end(&self, len: usize) -> f64 {
        self.start + self.tempo * len as f64
    }
}

/// The places of `seq` where `span` matches whole, strongest first and without overlaps, whose
/// rise above the background (the median over start frames of the best line, since most start
/// frames are not occurrences) reaches `threshold`; at 0, every peak above the median.
///
/// A line's mean is taken over at most `at_most` frames of the span, evenly spread (all of them
/// for `usize::MAX`): neighbouring frames of a long phrase are much alike, and a search that only
/// ranks places against each other loses little by reading every few.
pub fn peaks(span: &[Frame], seq: &[Frame], tempos: &[f32], threshold: f32, at_most: usize) -> Vec<Hit> {
    let n = seq.len();
    let len = span.len();
    if len == 0 || n == 0 || at_most == 0 {
        return Vec::new();
    }
    // The span frames read, as offsets into the span.
    let ks: Vec<usize> = if len <= at_most {
        (0..len).collect()
    } else {
        (0..at_most).map(|i| i * (len - 1) / (at_most - 1).max(1)).collect()
    };
    // Every frame of `seq` in every key as one row (frame x in key s is row 12x + s), so that
    // one matrix product gives the similarity of each span frame to each of them.
    let mut rotated = Array2::<f32>::zeros((n * 12, DIM));
    for (x, f) in seq.iter().enumerate() {
        for s in 0..12 {
            rotated.row_mut(x * 12 + s).assign(&ArrayView1::from(&rotate(f, s)));
        }
    }
    let span_mat = Array2::from_shape_fn((ks.len(), DIM), |(i, d)| span[ks[i]][d]);
    let sim = span_mat.dot(&rotated.t());
    let sim = if sim.is_standard_layout() { sim } else { sim.as_standard_layout().into_owned() };
    let Some(sim) = sim.as_slice() else { return Vec::new() };
    let row = n * 12;
    // The best line starting at each frame, over tempi and keys. Per tempo, span frame k is read
    // at start + round(k * tempo), so each span frame adds one contiguous run of the similarity
    // row to the sums of all start frames at once.
    let mut tops: Vec<Option<Hit>> = vec![None; n];
    let mut acc: Vec<f32> = Vec::with_capacity(row);
    for &t in tempos {
        let t = f64::from(t);
        let reach = ((len - 1) as f64 * t).round() as usize;
        let starts = n.saturating_sub(reach);
        if starts == 0 {
            continue;
        }
        acc.clear();
        acc.resize(starts * 12, 0.0);
        for (i, &k) in ks.iter().enumerate() {
            let from = i * row + (k as f64 * t).round() as usize * 12;
            for (a, v) in acc.iter_mut().zip(&sim[from..from + starts * 12]) {
                *a += v;
            }
        }
        for (j, (top, keys)) in tops.iter_mut().zip(acc.chunks_exact(12)).enumerate() {
            for (shift, a) in keys.iter().enumerate() {
                let v = a / ks.len() as f32;
                if top.is_none_or(|h| v > h.value) {
                    *top = Some(Hit { start: j as f64, tempo: t, shift, value: v, score: 0.0 });
                }
            }
        }
    }
    let mut hits: Vec<Hit> = tops.into_iter().flatten().collect();
    if hits.is_empty() {
        return hits;
    }
    let background = sampled_background(1, hits.len(), 1, |_, j| hits[j].value);
    let cut = background + threshold * (1.0 - background);
    hits.retain(|h| h.value >= cut);
    hits.sort_by(|x, y| y.value.total_cmp(&x.value).then(x.start.total_cmp(&y.start)));
    // Frames already under a kept line: a later, weaker line may not cross them.
    let mut taken = vec![false; n + 1];
    let mut kept: Vec<Hit> = Vec::new();
    for mut h in hits {
        let (a, b) = (h.start as usize, (h.end(len).ceil() as usize).min(n));
        if taken[a..b.max(a)].iter().any(|&t| t) {
            continue;
        }
        taken[a..b.max(a)].fill(true);
        h.score = ((h.value - background) / (1.0 - background)).clamp(0.0, 1.0);
        kept.push(h);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::sequence::testing::random_frames;

    #[test]
    fn a_transposed_copy_is_the_strongest_place_in_its_key() {
        let span = random_frames(20, 3);
        let mut seq = random_frames(300, 9);
        // Five semitones up: rotated down by seven.
        for (k, f) in span.iter().enumerate() {
            seq[120 + k] = rotate(f, 7);
        }
        let hits = peaks(&span, &seq, &[0.9, 1.0, 1.1], 0.0, usize::MAX);
        let best = hits[0];
        assert_eq!((best.start, best.tempo, best.shift), (120.0, 1.0, 5));
        assert!(best.score > 0.9, "{best:?}");
        // Peaks do not overlap, and come strongest first.
        for w in hits.windows(2) {
            assert!(w[0].value >= w[1].value);
        }
        for (i, x) in hits.iter().enumerate() {
            for y in &hits[i + 1..] {
                assert!(x.end(20) <= y.start || y.end(20) <= x.start, "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn unrelated_music_rises_little_above_its_background() {
        let hits = peaks(&random_frames(20, 3), &random_frames(400, 77), &[1.0], 0.0, usize::MAX);
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|h| h.score < 0.6), "{:?}", hits.first());
    }
}
