//! Versions of one piece in two tracks: a long stretch of one track played again in the other,
//! in another key, at another tempo that may drift, on other instruments (the piano version of a
//! ballad, a string cue of its chorus).
//!
//! The motif matcher holds a stretch at one tempo on a grid and asks each frame to be like its
//! counterpart; a version 9 % slower than the nearest tempo of the grid drifts out of step within
//! a phrase, and a new arrangement lowers every frame's similarity below that of two unrelated
//! phrases in one style. Cover-song identification answers both (Serra, Serra and Andrzejak 2009):
//! frames are compared as short sequences (a time-delay embedding), each is kept only where the
//! two are among each other's nearest neighbours (a binary cross-recurrence plot, which ranks a
//! frame against its own track and so forgets how alike the two arrangements sound), and the
//! longest run of such neighbours is found by a local alignment whose steps let the tempo wander
//! (Qmax). Chance runs grow with how alike the two tracks' keys and chords are; the same
//! alignment with one track played backwards keeps those and breaks the order of the music, so
//! its score is the pair's own chance level, and a link must exceed it by
//! [`VersionConfig::least_excess_s`].

use crate::error::{Error, Result};
use crate::similarity::select_total;
use crate::similarity::sequence::{DIM, Frame, MatchSequence, coarsen, dot, frame_matrix, rotate};

/// How versions are searched.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionConfig {
    /// Matching frames averaged into one frame of the search: 2 reads 0.4-s frames from the
    /// matcher's 0.2-s ones, fine enough for a melody's notes and half the cost of the cells.
    pub factor: usize,
    /// Frames of the search compared as one sequence (the time-delay embedding): 5 frames of
    /// 0.4 s, two seconds, are about a bar, long enough that one chord held in both tracks does
    /// not count as a neighbour everywhere.
    pub embed: usize,
    /// Share of the other track's frames counted as a frame's nearest neighbours (Serra et al.'s
    /// 10 %).
    pub neighbours: f32,
    /// Keys tried: the ones whose pitch-class profiles over the whole tracks agree best (the
    /// best alone is wrong for about one version in twelve: a fifth away).
    pub keys: usize,
    /// Seconds of aligned music a link must hold, and hold beyond the same alignment with one
    /// track reversed. Set on the tuning sets: the 162 pairs of tracks of different songs of the
    /// three tuning albums (`scripts/make_albums.py`, seed 1) reach 7.2 s, the 594 pairs of
    /// tracks of nine generated tuning scores 11.2 s (tracks of one style, sharing at most a
    /// motif); 12 s and 16 s give the same links there, 24 s loses versions.
    pub least_excess_s: f64,
    /// Tracks longer than this are not searched: the alignment holds every cell of the pair.
    pub max_track_s: f64,
}

impl Default for VersionConfig {
    fn default() -> Self {
        Self { factor: 2, embed: 5, neighbours: 0.1, keys: 2, least_excess_s: 16.0, max_track_s: 600.0 }
    }
}

impl VersionConfig {
    /// Every parameter as bytes, for the key of a stored search.
    pub fn settings(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        for v in [self.factor as u64, self.embed as u64, self.keys as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.neighbours.to_le_bytes());
        out.extend_from_slice(&self.least_excess_s.to_le_bytes());
        out.extend_from_slice(&self.max_track_s.to_le_bytes());
        out
    }

    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(1..=50).contains(&self.factor) {
            return Err(Error::bad_param("factor", self.factor, "frames in 1..=50"));
        }
        if !(1..=100).contains(&self.embed) {
            return Err(Error::bad_param("embed", self.embed, "frames in 1..=100"));
        }
        if !(self.neighbours > 0.0 && self.neighbours <= 1.0) {
            return Err(Error::bad_param("neighbours", self.neighbours, "a share in (0, 1]"));
        }
        if !(1..=12).contains(&self.keys) {
            return Err(Error::bad_param("keys", self.keys, "keys in 1..=12"));
        }
        if !(self.least_excess_s.is_finite() && self.least_excess_s >= 0.0) {
            return Err(Error::bad_param("least_excess_s", self.least_excess_s, "seconds >= 0"));
        }
        if !(self.max_track_s.is_finite() && self.max_track_s > 0.0) {
            return Err(Error::bad_param("max_track_s", self.max_track_s, "seconds > 0"));
        }
        Ok(())
    }
}

/// One point of a version link's path: these two times play the same music.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    /// Seconds into the first track.
    pub a_s: f64,
    /// Seconds into the second track.
    pub b_s: f64,
    /// Similarity of the two embedded frames there, in [-1, 1].
    pub similarity: f32,
}

/// A long stretch of one track played again in another.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionLink {
    /// Semitones the second track lies above the first (0..12).
    pub shift: usize,
    /// Where the two play the same music, increasing in both times.
    pub path: Vec<PathPoint>,
    /// Seconds of aligned music: the alignment's score (Qmax) in seconds of the search's frames.
    pub aligned_s: f64,
    /// The pair's chance level: the same score with the second track played backwards.
    pub chance_s: f64,
    /// Seconds of the first track the path covers (its first and last embedded frame).
    pub a_span: (f64, f64),
    /// Seconds of the second track the path covers.
    pub b_span: (f64, f64),
}

impl VersionLink {
    /// The time of the second track that plays what the first plays at `a_s` (linear between
    /// path points, extended along the path's ends by its overall slope).
    pub fn to_b(&self, a_s: f64) -> f64 {
        interpolate(&self.path, a_s, |p| (p.a_s, p.b_s))
    }

    /// The time of the first track that plays what the second plays at `b_s`.
    pub fn to_a(&self, b_s: f64) -> f64 {
        interpolate(&self.path, b_s, |p| (p.b_s, p.a_s))
    }

    /// The path's points whose first-track time lies in `from..to` (or, with `on_b`, whose
    /// second-track time does).
    pub fn points_over(&self, from: f64, to: f64, on_b: bool) -> impl Iterator<Item = &PathPoint> {
        self.path.iter().filter(move |p| (from..=to).contains(if on_b { &p.b_s } else { &p.a_s }))
    }
}

fn interpolate(path: &[PathPoint], x: f64, axes: impl Fn(&PathPoint) -> (f64, f64)) -> f64 {
    let (Some(first), Some(last)) = (path.first(), path.last()) else {
        return x;
    };
    let ((x0, y0), (x1, y1)) = (axes(first), axes(last));
    let slope = if x1 > x0 { (y1 - y0) / (x1 - x0) } else { 1.0 };
    if x <= x0 {
        return y0 - (x0 - x) * slope;
    }
    if x >= x1 {
        return y1 + (x - x1) * slope;
    }
    let k = path.partition_point(|p| axes(p).0 <= x);
    let ((xa, ya), (xb, yb)) = (axes(&path[k - 1]), axes(&path[k]));
    if xb > xa { ya + (x - xa) / (xb - xa) * (yb - ya) } else { ya }
}

/// The version link between `a` and `b`, if a long stretch of one is played again in the other
/// beyond chance (see the module's notes); `None` for tracks longer than
/// [`VersionConfig::max_track_s`] or too short to embed.
pub fn version_link(a: &MatchSequence, b: &MatchSequence, cfg: &VersionConfig) -> Option<VersionLink> {
    if a.covered_s > cfg.max_track_s || b.covered_s > cfg.max_track_s {
        return None;
    }
    let (ca, cb) = (coarsen(&a.frames, cfg.factor), coarsen(&b.frames, cfg.factor));
    let (n, m) = (ca.len().checked_sub(cfg.embed)? + 1, cb.len().checked_sub(cfg.embed)? + 1);
    if n < 3 || m < 3 {
        return None;
    }
    let hop = a.hop_s() * cfg.factor as f64;
    let (filled_a, filled_b) = (filled(&ca, cfg.embed), filled(&cb, cfg.embed));
    // The key whose alignment holds the most; its chance level is measured only when that
    // alignment could clear the bar at all.
    let mut best: Option<(f32, usize, Grid, Grid, Recurrence, Scores)> = None;
    for shift in likely_keys(&ca, &cb, cfg.keys) {
        let rb: Vec<Frame> = cb.iter().map(|f| rotate(f, shift)).collect();
        let dots = Grid::dots(&ca, &rb);
        let ahead = dots.embedded(cfg.embed, &filled_a, &filled_b, false);
        let plot = recurrence(&ahead, cfg.neighbours);
        let scores = Scores::new(&plot);
        if best.as_ref().is_none_or(|b| scores.best.0 > b.0) {
            best = Some((scores.best.0, shift, dots, ahead, plot, scores));
        }
    }
    let (q, shift, dots, ahead, plot, scores) = best?;
    let aligned_s = q as f64 * hop;
    if aligned_s < cfg.least_excess_s {
        return None;
    }
    let mut filled_b_rev = filled_b;
    filled_b_rev.reverse();
    let chance_s = Scores::new(&recurrence(&dots.embedded(cfg.embed, &filled_a, &filled_b_rev, true), cfg.neighbours))
        .best
        .0 as f64
        * hop;
    let cells = scores.path(&plot);
    if aligned_s - chance_s < cfg.least_excess_s || cells.len() < 2 {
        return None;
    }
    // A cell stands for two windows of `embed` frames; its times are their centres.
    let centre = cfg.embed as f64 * hop / 2.0;
    let path: Vec<PathPoint> = cells
        .iter()
        .map(|&(i, j)| PathPoint {
            a_s: i as f64 * hop + centre,
            b_s: j as f64 * hop + centre,
            similarity: ahead.at(i, j),
        })
        .collect();
    let (first, last) = (cells[0], cells[cells.len() - 1]);
    let span = |from: usize, to: usize| (from as f64 * hop, (to + cfg.embed) as f64 * hop);
    Some(VersionLink { shift, path, aligned_s, chance_s, a_span: span(first.0, last.0), b_span: span(first.1, last.1) })
}

/// The `count` shifts (semitones `b` lies above `a`) at which the two tracks' harmony profiles,
/// summed over all frames, agree best, best first.
fn likely_keys(a: &[Frame], b: &[Frame], count: usize) -> Vec<usize> {
    let profile = |frames: &[Frame]| {
        let mut p = [0f32; 12];
        for f in frames {
            for (s, v) in p.iter_mut().zip(&f[12..DIM]) {
                *s += v;
            }
        }
        p
    };
    let (pa, pb) = (profile(a), profile(b));
    let mut keys: Vec<(f32, usize)> =
        (0..12).map(|s| ((0..12).map(|c| pa[c] * pb[(c + s) % 12]).sum::<f32>(), s)).collect();
    keys.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    keys.into_iter().take(count).map(|(_, s)| s).collect()
}

/// For each window of `embed` frames from each start, how many of its frames sound (frames are
/// of unit length or zero, so the window's length is the square root of this).
fn filled(frames: &[Frame], embed: usize) -> Vec<f32> {
    let sounding: Vec<f32> = frames.iter().map(|f| if dot(f, f) > 0.5 { 1.0 } else { 0.0 }).collect();
    sounding.windows(embed).map(|w| w.iter().sum()).collect()
}

/// A row-major matrix of cells.
struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<f32>,
}

impl Grid {
    fn at(&self, i: usize, j: usize) -> f32 {
        self.cells[i * self.cols + j]
    }

    /// Every frame of `a` against every frame of `b`, by one matrix product.
    fn dots(a: &[Frame], b: &[Frame]) -> Self {
        let product = frame_matrix(a).dot(&frame_matrix(b).t());
        let cells = if product.is_standard_layout() {
            product.into_raw_vec_and_offset().0
        } else {
            product.iter().copied().collect()
        };
        Self { rows: a.len(), cols: b.len(), cells }
    }

    /// Cosine similarity of windows of `embed` frames: cell (i, j) compares the window of the
    /// rows from `i` with that of the columns from `j`, or with `reversed`, the columns read
    /// backwards from the last (the second track played in reverse).
    fn embedded(&self, embed: usize, filled_rows: &[f32], filled_cols: &[f32], reversed: bool) -> Self {
        let (rows, cols) = (self.rows + 1 - embed, self.cols + 1 - embed);
        let mut cells = vec![0f32; rows * cols];
        for i in 0..rows {
            let row = &mut cells[i * cols..(i + 1) * cols];
            for t in 0..embed {
                let src = &self.cells[(i + t) * self.cols..(i + t + 1) * self.cols];
                if reversed {
                    // Frame j + t of the reversed track is frame `self.cols - 1 - j - t` of the track.
                    let top = self.cols - 1 - t;
                    for (v, s) in row.iter_mut().zip(src[top + 1 - cols..=top].iter().rev()) {
                        *v += s;
                    }
                } else {
                    for (v, s) in row.iter_mut().zip(&src[t..t + cols]) {
                        *v += s;
                    }
                }
            }
            // Both quotients are taken and one kept, without a branch, so that this runs as
            // vector code.
            let filled_row = filled_rows[i];
            for (v, &fc) in row.iter_mut().zip(filled_cols) {
                let norm = (filled_row * fc).sqrt();
                let cosine = *v / norm;
                *v = if norm > 0.0 { cosine } else { 0.0 };
            }
        }
        Self { rows, cols, cells }
    }
}

/// Least similarity of a recurrence: windows that share nothing are no one's neighbours, however
/// few windows a track has.
const LEAST_RECURRENCE: f32 = 0.05;

/// Columns of a grid moved side by side at a time (see [`recurrence`]): sixteen floats, one
/// cache line of a row.
const TRANSPOSE_COLUMNS: usize = 16;

/// The binary cross-recurrence of `sims`: a cell is set where each window is among the other's
/// `share` most similar windows of the other track.
fn recurrence(sims: &Grid, share: f32) -> Recurrence {
    let (rows, cols) = (sims.rows, sims.cols);
    let mut keys = Vec::with_capacity(rows.max(cols));
    let mut kth = |values: &[f32], k: usize| {
        let k = k.clamp(1, values.len());
        select_total(values, values.len() - k, &mut keys)
    };
    let row_bar: Vec<f32> =
        sims.cells.chunks_exact(cols.max(1)).map(|row| kth(row, (share * cols as f32) as usize)).collect();
    // The columns side by side, so that each is read from contiguous memory (a few columns
    // at a time, so that each row's cache line serves them all).
    let mut by_column = vec![0f32; rows * cols];
    for first in (0..cols).step_by(TRANSPOSE_COLUMNS) {
        let last = (first + TRANSPOSE_COLUMNS).min(cols);
        for (i, row) in sims.cells.chunks_exact(cols.max(1)).enumerate() {
            for (j, &v) in row[first..last].iter().enumerate() {
                by_column[(first + j) * rows + i] = v;
            }
        }
    }
    let col_bar: Vec<f32> =
        by_column.chunks_exact(rows.max(1)).map(|column| kth(column, (share * rows as f32) as usize)).collect();
    let mut set = vec![false; rows * cols];
    for ((out, row), &row_bar) in
        set.chunks_exact_mut(cols.max(1)).zip(sims.cells.chunks_exact(cols.max(1))).zip(&row_bar)
    {
        for ((o, &v), &col_bar) in out.iter_mut().zip(row).zip(&col_bar) {
            *o = (v > LEAST_RECURRENCE) & (v >= row_bar) & (v >= col_bar);
        }
    }
    Recurrence { rows, cols, set }
}

/// The larger of two scores, which are never NaN (sums of whole and half units): a plain
/// comparison, which runs as one vector instruction where [`f32::max`] must also handle NaN.
#[inline]
fn larger(x: f32, y: f32) -> f32 {
    if x > y { x } else { y }
}

/// A binary cross-recurrence plot, row-major.
struct Recurrence {
    rows: usize,
    cols: usize,
    set: Vec<bool>,
}

/// Penalty of the first cell off a run of recurrences (Serra et al.'s gap onset).
const GAP_ONSET: f32 = 5.0;

/// Penalty of every further cell off a run (their gap extension).
const GAP_EXTENSION: f32 = 0.5;

/// The local alignment scores through `plot` (Qmax: a set cell adds 1 to the best of the three
/// cells it can follow, one step back in both tracks or two in one of them, so the tempo may
/// wander between half and twice; a cell not set takes the best of them less a gap penalty,
/// never below 0), with two rows and two columns of zeros before the plot.
struct Scores {
    q: Vec<f32>,
    width: usize,
    /// The highest score and its cell (padded coordinates).
    best: (f32, usize, usize),
}

impl Scores {
    fn new(plot: &Recurrence) -> Self {
        let (rows, cols) = (plot.rows, plot.cols);
        let w = cols + 2;
        let mut q = vec![0f32; (rows + 2) * w];
        let mut best = (0f32, 0usize, 0usize);
        // The penalty of leaving each padded column of the two rows above ([`Scores::gap`]),
        // read from arrays so that a row's cells, which depend on the rows above alone, are
        // taken without a branch (as vector code).
        let penalties = |i: usize, out: &mut Vec<f32>| {
            let set = Self::set_row(plot, i);
            out.clear();
            out.extend((0..w).map(|x| Self::gap(set, x)));
        };
        // Three rows' penalties in turn: the two above, and the one being filled for the next.
        let (mut p2, mut p1, mut next) = (Vec::with_capacity(w), Vec::with_capacity(w), Vec::with_capacity(w));
        penalties(0, &mut p2);
        penalties(1, &mut p1);
        for i in 2..rows + 2 {
            let (done, rest) = q.split_at_mut(i * w);
            let (r1, r2) = (&done[(i - 1) * w..], &done[(i - 2) * w..(i - 1) * w]);
            let set = &Self::set_row(plot, i)[..cols];
            let row = &mut rest[..w];
            // Cell j (padded) follows cells j - 1 and j - 2 of the rows above: all slices of
            // one length, so that the loop runs without bounds checks.
            let (a, b, c) = (&r1[1..=cols], &r2[1..=cols], &r1[..cols]);
            let (pa, pb, pc) = (&p1[1..=cols], &p2[1..=cols], &p1[..cols]);
            for (k, cell) in row[2..].iter_mut().enumerate() {
                let on = larger(larger(a[k], b[k]), c[k]) + 1.0;
                let off = larger(larger(larger(a[k] - pa[k], b[k] - pb[k]), c[k] - pc[k]), 0.0);
                // Either, chosen by bits rather than by a branch.
                let keep_on = 0u32.wrapping_sub(u32::from(set[k]));
                *cell = f32::from_bits((on.to_bits() & keep_on) | (off.to_bits() & !keep_on));
            }
            // The first of the row's highest cells, as a scan in row order would keep it.
            let top = row.iter().copied().fold(0f32, f32::max);
            if top > best.0 {
                let j = row.iter().position(|&v| v == top).unwrap_or(0);
                best = (top, i, j);
            }
            penalties(i, &mut next);
            std::mem::swap(&mut p2, &mut p1);
            std::mem::swap(&mut p1, &mut next);
        }
        Self { q, width: w, best }
    }

    /// The set cells of padded row `i` (empty for the padding).
    fn set_row(plot: &Recurrence, i: usize) -> &[bool] {
        if i < 2 { &[] } else { &plot.set[(i - 2) * plot.cols..(i - 1) * plot.cols] }
    }

    /// The penalty of leaving padded column `j` of a row whose set cells are `set`.
    fn gap(set: &[bool], j: usize) -> f32 {
        if j >= 2 && set.get(j - 2).copied().unwrap_or(false) { GAP_ONSET } else { GAP_EXTENSION }
    }

    /// The cells of the best alignment, from its start, in plot coordinates. Scores are sums of
    /// 1, 5 and 0.5, exact in `f32`, so each step back is found by equality (the first of equals,
    /// in the order the scores were taken).
    fn path(&self, plot: &Recurrence) -> Vec<(usize, usize)> {
        let w = self.width;
        let (mut i, mut j) = (self.best.1, self.best.2);
        let mut path = Vec::new();
        while i >= 2 && j >= 2 && self.q[i * w + j] > 0.0 {
            path.push((i - 2, j - 2));
            let v = self.q[i * w + j];
            let steps = [(i - 1, j - 1), (i - 2, j - 1), (i - 1, j - 2)];
            let set = Self::set_row(plot, i)[j - 2];
            let step = steps.iter().copied().find(|&(y, x)| {
                let u = self.q[y * w + x];
                if set { u + 1.0 == v } else { u - Self::gap(Self::set_row(plot, y), x) == v }
            });
            match step {
                Some(next) => (i, j) = next,
                None => break,
            }
        }
        path.reverse();
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::sequence::testing::{random_frames, sequence};

    /// Frames `from..to` of `piece` played `ratio` times as long, `up` semitones higher, every
    /// fourth frame replaced by other music (another arrangement).
    fn version_of(piece: &[Frame], from: usize, to: usize, ratio: f64, up: usize, seed: u64) -> Vec<Frame> {
        let other = random_frames(((to - from) as f64 * ratio) as usize, seed);
        (0..other.len())
            .map(|k| {
                let source = piece[(from + (k as f64 / ratio) as usize).min(to - 1)];
                if k % 4 == 0 { other[k] } else { rotate(&source, (12 - up) % 12) }
            })
            .collect()
    }

    #[test]
    fn a_slower_transposed_rearranged_stretch_is_found_with_its_key_and_time_map() {
        let piece = random_frames(600, 3);
        // Ten seconds of other music, then frames 100..500 (20-100 s) 10 % slower and 3 up.
        let mut other = random_frames(50, 4);
        other.extend(version_of(&piece, 100, 500, 1.1, 3, 5));
        other.extend(random_frames(50, 6));
        let link = version_link(&sequence(piece), &sequence(other), &VersionConfig::default()).expect("a link");
        assert_eq!(link.shift, 3);
        assert!(link.a_span.0 < 30.0 && link.a_span.1 > 90.0, "{:?}", link.a_span);
        for t in [30.0, 50.0, 70.0, 90.0] {
            let expected = 10.0 + (t - 20.0) * 1.1;
            assert!((link.to_b(t) - expected).abs() < 1.0, "{t} s -> {} s, not {expected} s", link.to_b(t));
            assert!((link.to_a(expected) - t).abs() < 1.0);
        }
        assert!(link.aligned_s - link.chance_s >= VersionConfig::default().least_excess_s);
    }

    #[test]
    fn unrelated_tracks_are_not_versions() {
        let cfg = VersionConfig::default();
        for seed in 1..6 {
            let (a, b) = (random_frames(700, seed), random_frames(800, seed + 100));
            assert!(version_link(&sequence(a), &sequence(b), &cfg).is_none(), "seed {seed}");
        }
    }

    #[test]
    fn tracks_longer_than_the_limit_are_not_searched() {
        let piece = random_frames(400, 8);
        let cfg = VersionConfig { max_track_s: 60.0, ..VersionConfig::default() };
        assert!(version_link(&sequence(piece.clone()), &sequence(piece.clone()), &VersionConfig::default()).is_some());
        assert!(version_link(&sequence(piece.clone()), &sequence(piece), &cfg).is_none());
    }

    #[test]
    fn the_best_alignment_runs_through_the_longest_run_of_recurrences() {
        // A 6 x 8 plot: a run of four along a diagonal, then a tempo step, then two more; a stray
        // cell elsewhere.
        let (rows, cols) = (6, 8);
        let mut set = vec![false; rows * cols];
        for (i, j) in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (5, 7), (5, 0)] {
            set[i * cols + j] = true;
        }
        let plot = Recurrence { rows, cols, set };
        let scores = Scores::new(&plot);
        assert_eq!(scores.best.0, 6.0);
        assert_eq!(scores.path(&plot), vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (5, 7)]);
    }

    #[test]
    fn a_gap_costs_its_onset_then_its_extension() {
        // Ten recurrences, three frames of both tracks without any, ten more. The gap is crossed
        // in two cells, (10, 10) and, two rows on and one column, (12, 11), whence (13, 13) is a
        // step: 10 - 5 (onset) - 0.5 (extension) + 10.
        let n = 23;
        let mut set = vec![false; n * n];
        for k in (0..10).chain(13..23) {
            set[k * n + k] = true;
        }
        let scores = Scores::new(&Recurrence { rows: n, cols: n, set });
        assert_eq!(scores.best.0, 14.5);
    }

    #[test]
    fn the_time_map_is_linear_between_points_and_extends_along_the_path() {
        let point = |a_s, b_s| PathPoint { a_s, b_s, similarity: 1.0 };
        let link = VersionLink {
            shift: 0,
            path: vec![point(10.0, 20.0), point(20.0, 40.0), point(30.0, 50.0)],
            aligned_s: 20.0,
            chance_s: 0.0,
            a_span: (9.0, 31.0),
            b_span: (19.0, 51.0),
        };
        assert_eq!(link.to_b(15.0), 30.0);
        assert_eq!(link.to_b(25.0), 45.0);
        // Beyond the ends, the overall slope (30 s over 20 s).
        assert_eq!(link.to_b(8.0), 17.0);
        assert_eq!(link.to_b(32.0), 53.0);
        assert_eq!(link.to_a(45.0), 25.0);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(VersionConfig::default().validate().is_ok());
        for cfg in [
            VersionConfig { factor: 0, ..VersionConfig::default() },
            VersionConfig { embed: 0, ..VersionConfig::default() },
            VersionConfig { neighbours: 0.0, ..VersionConfig::default() },
            VersionConfig { keys: 13, ..VersionConfig::default() },
            VersionConfig { least_excess_s: f64::NAN, ..VersionConfig::default() },
            VersionConfig { max_track_s: 0.0, ..VersionConfig::default() },
        ] {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }
}
