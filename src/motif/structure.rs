//! The phrase structure of each track: its music cut into the phrases that return, and the
//! phrases that return together grouped into themes.
//!
//! Pairwise matching finds where two stretches resemble each other, not where a phrase begins
//! or ends: a match starts wherever the resemblance does (often inside a phrase, where two
//! verses' accompaniments begin to agree), and a verse re-arranged on its return may never seed
//! one. A song, though, is a sequence of phrases, most of which return whole. So each track is
//! cut into the stretches that best explain it as repeats of themselves elsewhere in it:
//!
//! - a stretch scores by how far its best repeat (the mean frame similarity along one diagonal
//!   of the track's self-similarity, at a lag that does not overlap it) rises above its
//!   background (the median over all lags), less a share every repeat must clear;
//! - repetition alone does not tell the level (a phrase's halves repeat wherever the phrase
//!   does, and a section repeats as a whole where its phrases do), so a stretch also pays for
//!   how far its length lies from the track's phrase length: the lag at which the track repeats
//!   most (a phrase sung twice in a row, a chorus a section later), halved or doubled into the
//!   span of eight bars at the tempi of most songs;
//! - the cut that scores best over boundaries on a grid (dynamic programming; stretches that
//!   repeat nowhere are left out) gives the phrases.
//!
//! The phrases are then compared whole with each other (the subsequence search of `find`, in
//! every key and over the tempo grid) and joined into themes by average linkage; a theme of two
//! or more phrases is a motif.

use rayon::prelude::*;

use crate::similarity::memo::{PhraseEntry, decode_phrases, encode_phrases, phrases_key};
use crate::similarity::scan;
use crate::similarity::sequence::{Frame, MatchSequence, dot, frame_matrix};
use crate::similarity::wrap_shift;
use crate::units::span_iou;

use super::{Motif, MotifConfig, Occurrence, SAME_PLACE_IOU, ScanMemo};

/// Grid of the phrase boundaries tried, seconds: about a beat at the slowest tempi.
const BOUNDARY_STEP_S: f64 = 0.4;

/// Longest phrase, seconds: sixteen bars of a quick song.
const MAX_PHRASE_S: f64 = 50.0;

/// Rise above the background (its similarity's way from the background towards a perfect copy,
/// as [`scan::peaks`] measures it) a stretch's best repeat must clear to count as a repeat; a
/// stretch earns its length times what it rises beyond this.
const LEAST_RISE: f64 = 0.3;

/// What a stretch pays, per second, for each doubling or halving between its length and the
/// phrase length.
const LEVEL_COST: f64 = 0.3;

/// The length phrases are drawn towards, seconds: eight bars of four beats lie between 17 and
/// 34 s at 56-113 beats a minute, and this is the middle of that span (on a log scale). The
/// track's own lags choose which of their halvings or doublings lies nearest to it.
const PHRASE_SPAN_MID_S: f64 = 24.0;

/// Lags that tell the phrase length, seconds: from a short phrase to a verse and chorus (as far
/// as the pairwise matcher's phrase cutting reads them, [`super::phrases::MAX_PHRASE_LAG_S`]).
const PHRASE_LAGS_S: (f64, f64) = (3.0, super::phrases::MAX_PHRASE_LAG_S);

/// Window over which a lag's diagonal is averaged when counting how much of the track repeats
/// at that lag, seconds: a bar or two.
const LAG_WINDOW_S: f64 = 4.0;

/// Share of the windows of all lags taken as repeats: the most similar tenth.
const REPEAT_SHARE: f64 = 0.1;

/// Window over which a phrase's similarity to its copy is averaged when its ends are trimmed,
/// seconds: a beat or two.
const TRIM_WINDOW_S: f64 = 1.0;

/// Rows of the self-similarity computed by one matrix product.
const ROWS_AT_ONCE: usize = 256;

/// Every how many lags the background of a stretch is read: neighbouring lags are much alike.
const BACKGROUND_EVERY: usize = 8;

/// Average similarity (see [`scan::peaks`]'s score) above which two themes of phrases join.
const JOIN_SIMILARITY: f32 = 0.35;

/// Tracks longer than this, seconds, are not cut into phrases: the self-similarity's diagonals
/// grow with the square of the length, and a file that long is a programme, not a song.
const MAX_TRACK_S: f64 = 600.0;

/// What cutting each track into phrases finds: the phrase motifs, and each track's phrase length.
#[derive(Debug, Clone, Default)]
pub struct PhraseCut {
    /// In each track, every theme of two or more of the phrases it is cut into, the earliest
    /// phrase first.
    pub motifs: Vec<Motif>,
    /// Each track's phrase length, seconds: the length its phrases are drawn towards (see the
    /// module's notes); `None` for a track not cut (too long or too short, or repeating at no lag).
    pub levels: Vec<Option<f64>>,
}

/// Revision of the phrase cut. Raise it whenever a change cuts the same sequence otherwise, so
/// that cuts stored before (see [`phrase_cut`]) are not used.
const PHRASE_CUT_REVISION: u32 = 1;

/// The phrase cut of the tracks whose matching frames are `seqs`. The shortest phrase is `cfg`'s
/// shortest motif, and a phrase's copies are searched over its tempo range. With `memo`, each
/// track's cut is read from its store when there, else stored: it depends on the sequence, the
/// shortest motif and the tempo range alone, not on the pairwise threshold.
pub(super) fn phrase_cut(seqs: &[MatchSequence], cfg: &MotifConfig, memo: Option<&ScanMemo>) -> PhraseCut {
    let mut settings: Vec<u8> = PHRASE_CUT_REVISION.to_le_bytes().to_vec();
    settings.extend_from_slice(&cfg.min_len_s.to_le_bytes());
    settings.extend_from_slice(&cfg.min_tempo_ratio.to_le_bytes());
    settings.extend_from_slice(&cfg.max_tempo_ratio.to_le_bytes());
    settings.extend(cfg.tempos().iter().flat_map(|t| t.to_le_bytes()));
    let memo = memo.filter(|m| m.digests.len() == seqs.len());
    let per_track: Vec<PhraseEntry> = seqs
        .par_iter()
        .enumerate()
        .map(|(track, seq)| {
            let Some(memo) = memo else {
                return cut_track(seq, cfg);
            };
            let key = phrases_key(&memo.digests[track], &settings);
            memo.store.load_scan(&key).and_then(|bytes| decode_phrases(&bytes, &key)).unwrap_or_else(|| {
                let entry = cut_track(seq, cfg);
                memo.store.store_scan(&key, &encode_phrases(&entry, &key));
                entry
            })
        })
        .collect();
    let levels = per_track.iter().map(|(level, _)| *level).collect();
    let motifs = per_track
        .into_iter()
        .enumerate()
        .flat_map(|(track, (_, themes))| {
            themes.into_iter().map(move |theme| Motif {
                occurrences: theme
                    .into_iter()
                    .map(|(start_s, end_s, transpose, tempo_ratio, score)| Occurrence {
                        track,
                        start_s,
                        end_s,
                        transpose,
                        tempo_ratio,
                        score,
                    })
                    .collect(),
                figures: Vec::new(),
            })
        })
        .collect();
    PhraseCut { motifs, levels }
}

/// The phrase length of one track of matching frames `seq` (`None` where it is not cut) and the
/// themes of the phrases it is cut into, each place as [`crate::similarity::memo::PhrasePlace`].
fn cut_track(seq: &MatchSequence, cfg: &MotifConfig) -> PhraseEntry {
    let Some((phrases, level_s)) = phrases(seq, cfg.min_len_s) else {
        return (None, Vec::new());
    };
    let tempo_range = (cfg.min_tempo_ratio, cfg.max_tempo_ratio);
    let themes = themes(&seq.frames, &phrases, &|_| cfg.tempos(), tempo_range)
        .into_iter()
        .map(|theme| {
            theme
                .iter()
                .map(|m| {
                    (
                        seq.time_of(m.place.start as f64),
                        seq.time_of(m.place.end as f64).min(seq.covered_s),
                        m.transpose,
                        m.place.len() as f64 / theme[0].place.len() as f64,
                        m.score,
                    )
                })
                .collect()
        })
        .collect();
    (Some(level_s), themes)
}

/// The phrases the track of matching frames `seq` is cut into (see the module's notes), none
/// shorter than `min_len_s`, with the phrase length in seconds; `None` for a track longer than
/// [`MAX_TRACK_S`], too short for two phrases, or repeating at no lag.
fn phrases(seq: &MatchSequence, min_len_s: f64) -> Option<(Vec<Place>, f64)> {
    let hop = seq.hop_s();
    let n = seq.frames.len();
    if n == 0 || seq.covered_s > MAX_TRACK_S {
        return None;
    }
    let frames_in = |s: f64| ((s / hop).round() as usize).max(1);
    let (least, most) = (frames_in(min_len_s), frames_in(MAX_PHRASE_S));
    if n < 2 * least {
        return None;
    }
    let diagonals = Diagonals::new(&seq.frames);
    let period =
        repeat_period(&diagonals, frames_in(PHRASE_LAGS_S.0), frames_in(PHRASE_LAGS_S.1), frames_in(LAG_WINDOW_S))?;
    let level_s = phrase_level(period as f64 * hop);
    let step = frames_in(BOUNDARY_STEP_S);
    let mut scratch = Vec::new();
    let places = cut(&diagonals, step, least, most, level_s / hop)
        .into_iter()
        .map(|p| trimmed(&seq.frames, &diagonals, p, step, least, frames_in(TRIM_WINDOW_S), &mut scratch))
        .filter(|p| super::melodic(&seq.frames[p.start..p.end], frames_in(1.0)))
        .collect();
    Some((places, level_s))
}

/// The lag, in frames from `shortest` to `longest`, at which most of the track (its running sums
/// `d`) repeats: the lag whose diagonal holds the most windows of `window` frames among the most
/// similar tenth of all lags' windows. `None` when the track is too short for any.
fn repeat_period(d: &Diagonals, shortest: usize, longest: usize, window: usize) -> Option<usize> {
    let n = d.n;
    let lags: Vec<usize> = (shortest..=longest).filter(|&lag| lag + window <= n).collect();
    let means: Vec<Vec<f32>> =
        lags.iter().map(|&lag| (0..=n - lag - window).map(|k| d.mean_ahead(k, window, lag)).collect()).collect();
    let mut all: Vec<f32> = means.iter().flatten().copied().collect();
    if all.is_empty() {
        return None;
    }
    let rank = ((1.0 - REPEAT_SHARE) * (all.len() - 1) as f64) as usize;
    let (_, &mut cut, _) = all.select_nth_unstable_by(rank, f32::total_cmp);
    let counts = means.iter().map(|m| m.iter().filter(|&&v| v > cut).count());
    // The first of equal counts: the shortest lag that explains as much.
    let (best, count) = counts.enumerate().fold((0, 0), |top, (i, c)| if c > top.1 { (i, c) } else { top });
    (count > 0).then(|| lags[best])
}

/// The phrase length, seconds, that a repeat period of `period_s` tells: of its halvings and
/// doublings, the one nearest to [`PHRASE_SPAN_MID_S`] on a log scale.
fn phrase_level(period_s: f64) -> f64 {
    let octaves = (PHRASE_SPAN_MID_S / period_s).log2().round();
    period_s * octaves.exp2()
}

/// Running sums along the diagonals of a track's self-similarity (frame against frame), so that
/// the mean similarity of a stretch to its copy at any lag costs two reads, and the copies at
/// every lag lie side by side in memory.
struct Diagonals {
    /// Frames in the track.
    n: usize,
    /// Row `k` (`n` entries, by lag `m`): the similarity of frame `i` to frame `i + m`, summed
    /// over `i < k` (where `i + m` lies in the track).
    ahead: Vec<f32>,
    /// Row `k`: the similarity of frame `i` to frame `i - m`, summed over `m <= i < k`.
    behind: Vec<f32>,
}

impl Diagonals {
    fn new(frames: &[Frame]) -> Self {
        let n = frames.len();
        let mut ahead = vec![0f32; (n + 1) * n];
        let mut behind = vec![0f32; (n + 1) * n];
        let all = frame_matrix(frames);
        for first in (0..n).step_by(ROWS_AT_ONCE) {
            let last = (first + ROWS_AT_ONCE).min(n);
            let block = frame_matrix(&frames[first..last]);
            let rows = block.dot(&all.t());
            for (k, row) in (first..last).zip(rows.rows()) {
                let (done, next) = ahead.split_at_mut((k + 1) * n);
                let (prev, next) = (&done[k * n..], &mut next[..n]);
                // Frame k against frame k + m, for the lags m that stay in the track.
                for ((nx, p), r) in next.iter_mut().zip(prev).zip(row.iter().skip(k)) {
                    *nx = p + r;
                }
                next[n - k..].copy_from_slice(&prev[n - k..]);
                let (done, next) = behind.split_at_mut((k + 1) * n);
                let (prev, next) = (&done[k * n..], &mut next[..n]);
                // Frame k against frame k - m, for m up to k.
                for ((nx, p), r) in next.iter_mut().zip(prev).zip(row.iter().take(k + 1).rev()) {
                    *nx = p + r;
                }
                next[k + 1..].copy_from_slice(&prev[k + 1..]);
            }
        }
        Self { n, ahead, behind }
    }

    /// Mean similarity of frames `k..k + len` to the frames `lag` after them (all in the track).
    fn mean_ahead(&self, k: usize, len: usize, lag: usize) -> f32 {
        (self.ahead[(k + len) * self.n + lag] - self.ahead[k * self.n + lag]) / len as f32
    }

    /// The best copy of frames `a..b` that does not overlap them, measured against the stretch's
    /// background (the median over every lag of at least `step` frames); `None` with fewer than
    /// three such copies to compare, and when its rise cannot exceed `above` (read against the
    /// lowest lag instead of the median, which only lowers it: the median, the costly part, is
    /// then not taken). `scratch` is reused between calls.
    fn best_copy(&self, a: usize, b: usize, step: usize, scratch: &mut Vec<f32>, above: f64) -> Option<Repeat> {
        let len = b - a;
        let step = step.max(1);
        scratch.clear();
        let mut best = f32::NEG_INFINITY;
        let mut far = 0usize;
        for (from, to) in self.lag_sums(a, b, step) {
            scratch.extend((0..from.len()).step_by(BACKGROUND_EVERY).map(|i| to[i] - from[i]));
            // Entry i holds the lag i + step: the copies that do not overlap the stretch.
            let skip = len.saturating_sub(step);
            if from.len() > skip {
                far += from.len() - skip;
                best = best.max(max_difference(&from[skip..], &to[skip..]));
            }
        }
        if far < 3 || scratch.is_empty() {
            return None;
        }
        let scale = 1.0 / len as f64;
        let mean = f64::from(best) * scale;
        let lowest = f64::from(scratch.iter().copied().fold(f32::INFINITY, f32::min)) * scale;
        // The rise falls as the background rises (for copies short of perfect).
        if mean < 1.0 && lowest < 1.0 && (mean - lowest) / (1.0 - lowest) <= above {
            return None;
        }
        let mid = scratch.len() / 2;
        let (_, &mut background, _) = scratch.select_nth_unstable_by(mid, f32::total_cmp);
        let background = f64::from(background) * scale;
        (background < 1.0).then(|| Repeat { rise: (mean - background) / (1.0 - background), sum: best, background })
    }

    /// The lag of the copy of frames `a..b` whose summed similarity is `sum` (see
    /// [`Diagonals::best_copy`]): the first such lag ahead, else behind (negative).
    fn lag_of(&self, a: usize, b: usize, step: usize, sum: f32) -> isize {
        let (len, step) = (b - a, step.max(1));
        for ((from, to), sign) in self.lag_sums(a, b, step).into_iter().zip([1isize, -1]) {
            let skip = len.saturating_sub(step);
            if from.len() > skip {
                if let Some(i) = (skip..from.len()).find(|&i| to[i] - from[i] == sum) {
                    return sign * (i + step) as isize;
                }
            }
        }
        0
    }

    /// For the lags ahead (reaching up to the end of the track) and then behind (back to its
    /// start), from `step` frames on: the running sums at `a` and at `b` of every such lag, so
    /// that the difference of the two at entry `i` is the summed similarity of frames `a..b` to
    /// their copy `i + step` frames away.
    fn lag_sums(&self, a: usize, b: usize, step: usize) -> [(&[f32], &[f32]); 2] {
        let n = self.n;
        [(&self.ahead, n - b), (&self.behind, a)].map(|(table, reach)| {
            if reach < step {
                (&table[..0], &table[..0])
            } else {
                (&table[a * n + step..a * n + reach + 1], &table[b * n + step..b * n + reach + 1])
            }
        })
    }
}

/// The largest `to[i] - from[i]`, in eight lanes so that it runs as vector code.
fn max_difference(from: &[f32], to: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let (f8, t8) = (from.chunks_exact(8), to.chunks_exact(8));
    let (f_rest, t_rest) = (f8.remainder(), t8.remainder());
    for (f, t) in f8.zip(t8) {
        for l in 0..8 {
            let d = t[l] - f[l];
            lanes[l] = if d > lanes[l] { d } else { lanes[l] };
        }
    }
    let rest = f_rest.iter().zip(t_rest).map(|(f, t)| t - f);
    lanes.into_iter().chain(rest).fold(f32::NEG_INFINITY, f32::max)
}

/// A stretch's best copy elsewhere in its track.
#[derive(Debug, Clone, Copy)]
struct Repeat {
    /// How far the copy's mean similarity rises above the stretch's background towards a
    /// perfect copy, in [0, 1] for copies above the background.
    rise: f64,
    /// The copy's similarity summed over the stretch (its mean times the stretch's length).
    sum: f32,
    /// The stretch's background: its median similarity over all lags.
    background: f64,
}

/// A stretch of frames `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    start: usize,
    end: usize,
}

impl Place {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn iou(&self, start: f64, end: f64) -> f64 {
        span_iou(self.start as f64, self.end as f64, start, end)
    }
}

/// The stretches, `least` to `most` frames long on a grid of `step` frames, that best explain the
/// track as repeats of themselves, drawn towards `level` frames long (see the module's notes).
fn cut(d: &Diagonals, step: usize, least: usize, most: usize, level: f64) -> Vec<Place> {
    let n = d.n;
    let mut grid: Vec<usize> = (0..n).step_by(step).collect();
    grid.push(n);
    // For each grid point: the best score of the track up to it, and the stretch ending there
    // (None: the last grid step is left out).
    let mut best: Vec<(f64, Option<usize>)> = vec![(0.0, None); grid.len()];
    let mut scratch = Vec::with_capacity(2 * n);
    for j in 1..grid.len() {
        let b = grid[j];
        best[j] = (best[j - 1].0, None);
        for i in (0..j).rev() {
            let a = grid[i];
            let len = b - a;
            if len < least {
                continue;
            }
            if len > most {
                break;
            }
            let len = len as f64;
            let level_cost = LEVEL_COST * len * (len / level).log2().abs();
            // The rise this stretch needs to improve on the best cut up to b.
            let needed = LEAST_RISE + (best[j].0 - best[i].0 + level_cost) / len;
            let Some(copy) = d.best_copy(a, b, step, &mut scratch, needed) else { continue };
            let score = len * (copy.rise - LEAST_RISE) - level_cost;
            if best[i].0 + score > best[j].0 {
                best[j] = (best[i].0 + score, Some(i));
            }
        }
    }
    let mut places = Vec::new();
    let mut j = grid.len() - 1;
    while j > 0 {
        match best[j].1 {
            Some(i) => {
                places.push(Place { start: grid[i], end: grid[j] });
                j = i;
            }
            None => j -= 1,
        }
    }
    places.reverse();
    places
}

/// `place` without the ends its best copy does not repeat: the level drawn towards can stretch a
/// phrase into music around it that returns nowhere (a phrase heard twice, a section apart, is
/// pulled towards the section's length), so each end is moved inwards while the similarity to
/// the copy, averaged over `window` frames, stays below the least rise a repeat must clear
/// ([`LEAST_RISE`] above the stretch's background). A place that would keep fewer than `least`
/// frames is kept whole.
fn trimmed(
    frames: &[Frame],
    d: &Diagonals,
    place: Place,
    step: usize,
    least: usize,
    window: usize,
    scratch: &mut Vec<f32>,
) -> Place {
    let Some(copy) = d.best_copy(place.start, place.end, step, scratch, f64::NEG_INFINITY) else {
        return place;
    };
    let lag = d.lag_of(place.start, place.end, step, copy.sum);
    let floor = copy.background + LEAST_RISE * (1.0 - copy.background);
    let along: Vec<f32> =
        (place.start..place.end).map(|k| dot(&frames[k], &frames[k.saturating_add_signed(lag)])).collect();
    let half = window / 2;
    let repeated = |k: usize| {
        let around = &along[k.saturating_sub(half)..(k + half + 1).min(along.len())];
        f64::from(around.iter().sum::<f32>()) / around.len() as f64 >= floor
    };
    match ((0..along.len()).find(|&k| repeated(k)), (0..along.len()).rfind(|&k| repeated(k))) {
        (Some(first), Some(last)) if last + 1 - first >= least => {
            Place { start: place.start + first, end: place.start + last + 1 }
        }
        _ => place,
    }
}

/// One phrase in a theme.
#[derive(Debug, Clone, Copy)]
struct Member {
    place: Place,
    /// Semitones above the theme's first phrase.
    transpose: i32,
    /// Mean similarity to the theme's other phrases.
    score: f32,
}

/// The themes of two or more of `phrases`, stretches of the track of matching frames `frames`:
/// each phrase searched whole along the track (at the `tempos` for its length), the similarity of two phrases the mean of each
/// one's search score at the other's place (0 where it finds no hit there, or where their lengths
/// differ more than `tempo_range` allows), and themes joined by average linkage while their mean
/// similarity reaches [`JOIN_SIMILARITY`] and their longest phrase is within the tempo range of
/// their shortest.
fn themes(
    frames: &[Frame],
    phrases: &[Place],
    tempos: &dyn Fn(usize) -> Vec<f32>,
    tempo_range: (f64, f64),
) -> Vec<Vec<Member>> {
    let n = phrases.len();
    // found[i][j]: the score and key shift at which phrase i's search finds phrase j.
    let found: Vec<Vec<(f32, usize)>> = phrases
        .iter()
        .map(|p| {
            let hits = scan::peaks(&frames[p.start..p.end], frames, &tempos(p.len()), 0.0, super::SCAN_FRAMES);
            let mut row = vec![(0f32, 0usize); n];
            for (j, q) in phrases.iter().enumerate() {
                let ratio = q.len() as f64 / p.len() as f64;
                if q == p || ratio < tempo_range.0 || ratio > tempo_range.1 {
                    continue;
                }
                for h in &hits {
                    if q.iou(h.start, h.end(p.len())) >= SAME_PLACE_IOU && h.score > row[j].0 {
                        row[j] = (h.score, h.shift);
                    }
                }
            }
            row
        })
        .collect();
    let sim = |i: usize, j: usize| (found[i][j].0 + found[j][i].0) / 2.0;
    // Every phrase of a theme lies within the tempo range of every other (and so of its first).
    let spread = tempo_range.1.min(1.0 / tempo_range.0);
    let lengths =
        |g: &[usize]| g.iter().map(|&i| phrases[i].len()).fold((usize::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let mut groups: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    loop {
        let mut top: Option<(f32, usize, usize)> = None;
        for x in 0..groups.len() {
            for y in x + 1..groups.len() {
                let ((lo_x, hi_x), (lo_y, hi_y)) = (lengths(&groups[x]), lengths(&groups[y]));
                if hi_x.max(hi_y) as f64 > spread * lo_x.min(lo_y) as f64 {
                    continue;
                }
                let total: f32 = groups[x].iter().flat_map(|&i| groups[y].iter().map(move |&j| sim(i, j))).sum();
                let mean = total / (groups[x].len() * groups[y].len()) as f32;
                if top.is_none_or(|t| mean > t.0) {
                    top = Some((mean, x, y));
                }
            }
        }
        match top {
            Some((mean, x, y)) if mean >= JOIN_SIMILARITY => {
                let joined = groups.swap_remove(y);
                groups[x].extend(joined);
            }
            _ => break,
        }
    }
    let mut out: Vec<Vec<Member>> = groups
        .into_iter()
        .filter(|g| g.len() >= 2)
        .map(|mut g| {
            g.sort_unstable();
            let first = g[0];
            g.iter()
                .map(|&j| {
                    let shift = if j == first {
                        0
                    } else if found[first][j].0 > 0.0 {
                        found[first][j].1 as i32
                    } else {
                        12 - found[j][first].1 as i32
                    };
                    let others = g.iter().filter(|&&k| k != j);
                    let score = others.clone().map(|&k| sim(j, k)).sum::<f32>() / (g.len() - 1) as f32;
                    Member { place: phrases[j], transpose: wrap_shift(shift), score }
                })
                .collect()
        })
        .collect();
    out.sort_by_key(|t| t[0].place.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::memo::MatchStore;
    use crate::similarity::sequence::testing::{HOP_S as HOP, random_frames, sequence};

    /// `phrase` with every `every`-th frame replaced by unrelated music: a varied return.
    fn varied(phrase: &[Frame], every: usize, seed: u64) -> Vec<Frame> {
        let other = random_frames(phrase.len(), seed);
        phrase.iter().enumerate().map(|(k, f)| if k % every == 0 { other[k] } else { *f }).collect()
    }

    #[test]
    fn the_repeat_period_is_the_lag_at_which_most_of_the_track_repeats() {
        let (a, b) = (random_frames(60, 1), random_frames(60, 2));
        let frames = [random_frames(40, 3), a.clone(), a, b.clone(), b].concat();
        assert_eq!(repeat_period(&Diagonals::new(&frames), 15, 300, 20), Some(60));
        assert_eq!(repeat_period(&Diagonals::new(&frames[..10]), 15, 300, 20), None, "too short for any lag");
    }

    #[test]
    fn the_phrase_level_is_the_halving_or_doubling_of_the_period_nearest_eight_bars() {
        for (period, level) in [(24.0, 24.0), (12.0, 24.0), (7.0, 28.0), (51.6, 25.8), (40.0, 20.0), (18.0, 18.0)] {
            assert!((phrase_level(period) - level).abs() < 1e-9, "{period}: {}", phrase_level(period));
        }
    }

    #[test]
    fn a_stretch_with_a_copy_rises_towards_one_and_one_without_stays_low() {
        let a = random_frames(50, 5);
        let mut frames = random_frames(300, 6);
        frames[50..100].copy_from_slice(&a);
        frames[200..250].copy_from_slice(&a);
        let d = Diagonals::new(&frames);
        let mut scratch = Vec::new();
        let copy = d.best_copy(50, 100, 2, &mut scratch, f64::NEG_INFINITY).expect("copies to compare");
        assert_eq!(d.lag_of(50, 100, 2, copy.sum), 150);
        assert!(copy.rise > 0.9, "{copy:?}");
        let back = d.best_copy(200, 250, 2, &mut scratch, f64::NEG_INFINITY).expect("copies to compare");
        assert_eq!(d.lag_of(200, 250, 2, back.sum), -150);
        let none = d.best_copy(120, 170, 2, &mut scratch, f64::NEG_INFINITY).expect("copies to compare");
        assert!(none.rise < LEAST_RISE, "{none:?}");
        // A stretch shorter than the grid step still has its copies.
        let short = d.best_copy(60, 61, 2, &mut scratch, f64::NEG_INFINITY).expect("copies to compare");
        assert!(d.lag_of(60, 61, 2, short.sum).abs() >= 2);
    }

    /// An intro, phrases A A' B A'' B' of 20 s (A' and A'' varied returns), an outro.
    fn song() -> (MatchSequence, [f64; 5]) {
        let (a, b) = (random_frames(100, 11), random_frames(100, 12));
        let frames = [
            random_frames(30, 13),
            a.clone(),
            varied(&a, 5, 14),
            b.clone(),
            varied(&a, 4, 15),
            b,
            random_frames(30, 16),
        ]
        .concat();
        let starts = [6.0, 26.0, 46.0, 66.0, 86.0];
        (sequence(frames), starts)
    }

    #[test]
    fn a_song_is_cut_at_its_phrases_and_its_phrases_grouped_by_theme() {
        let (seq, starts) = song();
        let motifs = phrase_cut(std::slice::from_ref(&seq), &MotifConfig::default(), None).motifs;
        assert_eq!(motifs.len(), 2, "{motifs:?}");
        for (motif, phrases) in motifs.iter().zip([&[0, 1, 3][..], &[2, 4][..]]) {
            assert_eq!(motif.occurrences.len(), phrases.len(), "{motif:?}");
            for (o, &p) in motif.occurrences.iter().zip(phrases) {
                let start = starts[p];
                assert!(
                    (o.start_s - start).abs() <= 0.6 && (o.end_s - start - 20.0).abs() <= 0.6,
                    "{o:?} against {start}"
                );
                assert_eq!((o.track, o.transpose), (0, 0));
                assert!((o.tempo_ratio - 1.0).abs() < 0.05, "{o:?}");
            }
        }
    }

    /// A store in memory that counts what it was asked for.
    #[derive(Default)]
    struct Kept {
        entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], Vec<u8>>>,
        loads: std::sync::atomic::AtomicUsize,
    }

    impl Kept {
        fn entries(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], Vec<u8>>> {
            self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    impl MatchStore for Kept {
        fn load(&self, _: &[u8; 32]) -> Option<Vec<u8>> {
            None
        }
        fn store(&self, _: &[u8; 32], _: &[u8]) {}
        fn record(&self, _: crate::similarity::memo::PairOutcome) {}
        fn load_scan(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
            self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.entries().get(key).cloned()
        }
        fn store_scan(&self, key: &[u8; 32], bytes: &[u8]) {
            self.entries().insert(*key, bytes.to_vec());
        }
    }

    #[test]
    fn a_stored_phrase_cut_is_read_back_as_it_was_cut() {
        let (seq, _) = song();
        let seqs = [seq];
        let digests = [crate::similarity::memo::sequence_digest(&seqs[0].frames, seqs[0].hop_s())];
        let cfg = MotifConfig::default();
        let kept = Kept::default();
        let memo = &ScanMemo { store: &kept, digests: &digests };
        let fresh = phrase_cut(&seqs, &cfg, None);
        let stored = phrase_cut(&seqs, &cfg, Some(memo));
        assert_eq!(kept.entries().len(), 1, "one track, one entry");
        let read = phrase_cut(&seqs, &cfg, Some(memo));
        // What is read back is what the store holds: another cut planted under the key is taken.
        let key = *kept.entries().keys().next().expect("the entry stored");
        let other: PhraseEntry = (Some(3.0), vec![vec![(1.0, 4.0, 0, 1.0, 1.0), (9.0, 12.0, 2, 1.0, 0.5)]]);
        kept.store_scan(&key, &encode_phrases(&other, &key));
        let planted = phrase_cut(&seqs, &cfg, Some(memo));
        for cut in [&stored, &read] {
            assert_eq!(cut.motifs.len(), fresh.motifs.len());
            for (x, y) in cut.motifs.iter().zip(&fresh.motifs) {
                assert_eq!(x.occurrences, y.occurrences);
            }
            assert_eq!(cut.levels, fresh.levels);
        }
        assert_eq!(planted.levels, vec![Some(3.0)]);
        assert_eq!(planted.motifs.len(), 1);
        assert_eq!((planted.motifs[0].occurrences[1].start_s, planted.motifs[0].occurrences[1].transpose), (9.0, 2));
        // Another shortest motif is another cut.
        let longer = MotifConfig { min_len_s: cfg.min_len_s + 1.0, ..cfg.clone() };
        let before = kept.entries().len();
        let loads = kept.loads.load(std::sync::atomic::Ordering::Relaxed);
        phrase_cut(&seqs, &longer, Some(memo));
        assert_eq!(kept.entries().len(), before + 1);
        assert_eq!(kept.loads.load(std::sync::atomic::Ordering::Relaxed), loads + 1, "looked up once, then cut");
    }

    #[test]
    fn a_phrase_is_not_stretched_into_music_around_it_that_returns_nowhere() {
        // A 16-s phrase heard twice 24 s apart: the repeat period draws phrases towards 24 s,
        // but the music after each pass is different.
        let a = random_frames(80, 21);
        let frames = [random_frames(20, 22), a.clone(), random_frames(40, 23), a, random_frames(60, 24)].concat();
        let motifs = phrase_cut(&[sequence(frames)], &MotifConfig::default(), None).motifs;
        assert_eq!(motifs.len(), 1, "{motifs:?}");
        for (o, start) in motifs[0].occurrences.iter().zip([4.0, 28.0]) {
            assert!((o.start_s - start).abs() <= 1.0 && (o.end_s - start - 16.0).abs() <= 1.0, "{o:?} against {start}");
        }
    }

    #[test]
    fn a_theme_holds_no_two_phrases_further_apart_in_length_than_the_tempo_range() {
        // A phrase of 100 frames, slowed to 112 and to 126: each neighbour within the range of
        // 0.8-1.25, the fastest and slowest not.
        // Notes of four frames each, as in music, so that a slowed copy read at its tempo
        // matches nearly frame for frame.
        let a: Vec<Frame> = random_frames(25, 51).into_iter().flat_map(|f| [f; 4]).collect();
        let slowed = |len: usize| -> Vec<Frame> { (0..len).map(|k| a[k * 100 / len]).collect() };
        let frames =
            [random_frames(20, 52), a.clone(), random_frames(20, 53), slowed(112), random_frames(20, 54), slowed(126)]
                .concat();
        let places = [Place { start: 20, end: 120 }, Place { start: 140, end: 252 }, Place { start: 272, end: 398 }];
        let tempos = [1.0 / 1.26, 1.0 / 1.12, 1.0, 1.12, 1.26];
        let themes = themes(&frames, &places, &|_| tempos.to_vec(), (0.8, 1.25));
        assert_eq!(themes.len(), 1, "two of the three make a theme: {themes:?}");
        for theme in &themes {
            let lengths: Vec<usize> = theme.iter().map(|m| m.place.len()).collect();
            let (lo, hi) = (lengths.iter().min().copied().unwrap_or(0), lengths.iter().max().copied().unwrap_or(0));
            assert!(hi as f64 <= 1.25 * lo as f64, "{lengths:?}");
        }
    }

    #[test]
    fn music_that_never_repeats_has_no_phrase_motifs() {
        let motifs = phrase_cut(&[sequence(random_frames(600, 31))], &MotifConfig::default(), None).motifs;
        assert!(motifs.is_empty(), "{motifs:?}");
    }

    #[test]
    fn a_track_longer_than_a_song_is_left_to_the_pairwise_matching() {
        let a = random_frames(100, 41);
        let long = (MAX_TRACK_S / HOP) as usize + 100;
        let mut frames = random_frames(long, 42);
        frames[100..200].copy_from_slice(&a);
        frames[300..400].copy_from_slice(&a);
        assert!(phrase_cut(&[sequence(frames.clone())], &MotifConfig::default(), None).motifs.is_empty());
        frames.truncate(600);
        assert_eq!(phrase_cut(&[sequence(frames)], &MotifConfig::default(), None).motifs.len(), 1);
    }
}
