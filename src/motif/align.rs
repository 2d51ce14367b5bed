//! Local alignment of two matching sequences: finds the stretches where one sequence recurs in the
//! other in any of the 12 keys and at a range of tempi.
//!
//! The cross-similarity of every frame pair is computed for all 12 shifts at once as one matrix
//! product per tile (so memory is bounded by the tile, not by the tracks' lengths), smoothed along
//! lines of several slopes (one per tempo ratio), and the cells whose smoothed similarity stands
//! out from the tile's background become seeds. Each seed is then traced along its line, outwards,
//! to the phrase's boundaries: the stretch where the frame-wise similarity stays above the
//! threshold on average (a maximum-sum segment), so spans end where the phrase ends rather than
//! where the smoothing window happened to fall.

use ndarray::{Array2, ArrayView2};

use super::sequence::{DIM, Frame, dot, rotate};

/// Least [`Alignment::distinct`] of a reported match. A recurring melody moves, so its
/// similarity collapses when one side is shifted by a second; harmony alone (a pad, an arpeggio
/// over the same chord) matches any such shift about as well, and is accompaniment, not a motif.
const MIN_DISTINCTNESS: f32 = 0.5;

/// Rows and columns of one tile of the cross-similarity matrix.
const TILE: usize = 512;

/// Most seeds kept for one alignment, the strongest: memory stays bounded whatever the length of
/// the sequences. Two pieces of music seed sparsely (a few thousand seeds at most for two tracks
/// of several minutes); only long uniform material (a drone, a test tone) seeds nearly every
/// cell, and its seeds all lie on the same few lines.
const MAX_SEEDS: usize = 1 << 16;

/// Parameters of an alignment.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignConfig {
    /// Length, in matching frames, of the smoothing window; also the shortest match.
    pub len: usize,
    /// Tempo ratios tried (duration in the second sequence over duration in the first).
    pub tempos: Vec<f32>,
    /// Key shifts tried, in semitones (the second sequence relative to the first).
    pub shifts: Vec<usize>,
    /// How far, in [0, 1], a smoothed similarity must rise from the tile's background towards a
    /// perfect match to seed a match.
    pub threshold: f32,
}

/// A stretch of the first sequence that recurs in the second.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Start frame in the first sequence.
    pub a_start: usize,
    /// End frame (exclusive) in the first sequence.
    pub a_end: usize,
    /// Start frame in the second sequence (fractional: tempo lines fall between frames).
    pub b_start: f64,
    /// End frame in the second sequence.
    pub b_end: f64,
    /// Semitones the second stretch lies above the first.
    pub shift: usize,
    /// Duration in the second sequence over duration in the first.
    pub tempo: f64,
    /// Similarity in [0, 1] relative to the background.
    pub score: f32,
    /// Share of the match's rise above the background that is specific to its alignment: how
    /// much better its line matches than parallel lines a second away, over the rise (1 for a
    /// moving melody, near 0 for held chords or a looping accompaniment figure).
    pub distinct: f32,
}

#[derive(Debug, Clone, Copy)]
struct Seed {
    i: usize,
    j: usize,
    shift: usize,
    tempo: f32,
    value: f32,
    background: f32,
}

/// Aligns `a` against `b`. With `same` (a sequence against itself) only pairs whose second
/// stretch starts after the first ends are considered.
pub fn align(a: &[Frame], b: &[Frame], same: bool, cfg: &AlignConfig) -> Vec<Alignment> {
    let len = cfg.len.max(2);
    if a.len() < len || b.len() < len || cfg.tempos.is_empty() || cfg.shifts.is_empty() {
        return Vec::new();
    }
    let max_tempo = cfg.tempos.iter().cloned().fold(1.0f32, f32::max);
    let col_margin = ((len - 1) as f32 * max_tempo).ceil() as usize + 1;
    let mut seeds = Vec::new();
    for r0 in (0..a.len()).step_by(TILE) {
        let r1 = (r0 + TILE).min(a.len());
        for c0 in (0..b.len()).step_by(TILE) {
            let c1 = (c0 + TILE).min(b.len());
            if same && c1 <= r0 + len {
                continue;
            }
            let rows = r0..(r1 + len - 1).min(a.len());
            let cols = c0..(c1 + col_margin).min(b.len());
            tile_seeds(a, b, rows, cols, r1, c1, same, len, cfg, &mut seeds);
            if seeds.len() > 2 * MAX_SEEDS {
                keep_strongest(&mut seeds);
            }
        }
    }
    // The strongest of all seeds are the strongest of the strongest kept on the way, so the
    // result does not depend on when seeds were dropped.
    keep_strongest(&mut seeds);
    trace_all(a, b, same, len, cfg, seeds)
}

/// Strongest first; ties by position, so the order is total and the result deterministic.
fn seed_order(x: &Seed, y: &Seed) -> std::cmp::Ordering {
    y.value.total_cmp(&x.value).then(x.i.cmp(&y.i)).then(x.j.cmp(&y.j))
}

/// Drops all but the [`MAX_SEEDS`] strongest seeds.
fn keep_strongest(seeds: &mut Vec<Seed>) {
    if seeds.len() > MAX_SEEDS {
        seeds.select_nth_unstable_by(MAX_SEEDS, seed_order);
        seeds.truncate(MAX_SEEDS);
    }
}

/// Collects the seeds whose start cell lies in rows `rows.start..r_end`, columns
/// `cols.start..c_end`; `rows` and `cols` extend past them by the smoothing reach.
#[allow(clippy::too_many_arguments)]
fn tile_seeds(
    a: &[Frame],
    b: &[Frame],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    r_end: usize,
    c_end: usize,
    same: bool,
    len: usize,
    cfg: &AlignConfig,
    seeds: &mut Vec<Seed>,
) {
    let (nr, nc) = (rows.len(), cols.len());
    let ns = cfg.shifts.len();
    let a_mat = Array2::from_shape_fn((nr, DIM), |(r, d)| a[rows.start + r][d]);
    // Every column frame once per shift, rotated, so one product gives all shifts.
    let mut b_rot = Array2::<f32>::zeros((ns * nc, DIM));
    for (si, &shift) in cfg.shifts.iter().enumerate() {
        for c in 0..nc {
            let f = rotate(&b[cols.start + c], shift);
            for d in 0..DIM {
                b_rot[[si * nc + c, d]] = f[d];
            }
        }
    }
    let sim: Array2<f32> = a_mat.dot(&b_rot.t());
    let sim = sim.view();
    // The best shift per cell bounds every shift's smoothed value from above, which lets most
    // cells be rejected after one pass instead of one pass per shift.
    let mut best = Array2::<f32>::zeros((nr, nc));
    for r in 0..nr {
        for c in 0..nc {
            let mut m = 0f32;
            for si in 0..ns {
                m = m.max(sim[[r, si * nc + c]]);
            }
            best[[r, c]] = m;
        }
    }
    let background = tile_background(&best, a, b, &rows, &cols);
    let cut = background + cfg.threshold * (1.0 - background);
    let steps: Vec<Vec<usize>> =
        cfg.tempos.iter().map(|&t| (0..len).map(|k| (k as f32 * t).round() as usize).collect()).collect();
    for i in rows.start..r_end {
        let r = i - rows.start;
        if r + len > nr {
            break;
        }
        for j in cols.start..c_end {
            if same && j < i + len {
                continue;
            }
            let c = j - cols.start;
            let mut top: Option<Seed> = None;
            for (ti, step) in steps.iter().enumerate() {
                let Some(&last) = step.last() else { continue };
                if c + last >= nc {
                    continue;
                }
                let bound = smoothed(&best.view(), 0, r, c, step, nc);
                // No shift's value exceeds the bound (sums of smaller terms, rounded alike), so a
                // seed that reaches it cannot be beaten: uniform material, where every cell
                // passes, then costs one shift per cell instead of twelve per tempo.
                if bound < cut || top.is_some_and(|s| s.value >= bound) {
                    continue;
                }
                for (si, &shift) in cfg.shifts.iter().enumerate() {
                    let v = smoothed(&sim, si * nc, r, c, step, nc);
                    if v >= cut && top.is_none_or(|s| v > s.value) {
                        top = Some(Seed { i, j, shift, tempo: cfg.tempos[ti], value: v, background });
                        if v >= bound {
                            break;
                        }
                    }
                }
            }
            if let Some(seed) = top {
                seeds.push(seed);
            }
        }
    }
}

/// Mean similarity along one line of slope `step` from cell (`r`, `c`) in the block of columns
/// starting at `offset`.
fn smoothed(m: &ArrayView2<f32>, offset: usize, r: usize, c: usize, step: &[usize], nc: usize) -> f32 {
    let mut acc = 0f32;
    for (k, &dc) in step.iter().enumerate() {
        debug_assert!(c + dc < nc);
        acc += m[[r + k, offset + c + dc]];
    }
    acc / step.len() as f32
}

/// The typical best-shift similarity of unrelated frames in this tile: its median over the
/// cells where both frames sound. A median ignores the few cells where music actually matches.
fn tile_background(
    best: &Array2<f32>,
    a: &[Frame],
    b: &[Frame],
    rows: &std::ops::Range<usize>,
    cols: &std::ops::Range<usize>,
) -> f32 {
    let voiced = |f: &Frame| f.iter().any(|&v| v != 0.0);
    let row_ok: Vec<bool> = rows.clone().map(|i| voiced(&a[i])).collect();
    let col_ok: Vec<bool> = cols.clone().map(|j| voiced(&b[j])).collect();
    let mut values = Vec::new();
    let stride = (best.len() / 20_000).max(1);
    let mut n = 0usize;
    for ((r, c), &v) in best.indexed_iter() {
        if row_ok[r] && col_ok[c] {
            if n % stride == 0 {
                values.push(v);
            }
            n += 1;
        }
    }
    if values.is_empty() {
        return 0.5;
    }
    let mid = values.len() / 2;
    let (_, &mut median, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    median.clamp(0.0, 0.95)
}

/// Turns seeds into alignments, strongest first, each seed consumed by the first alignment
/// whose line passes through it.
fn trace_all(
    a: &[Frame],
    b: &[Frame],
    same: bool,
    len: usize,
    cfg: &AlignConfig,
    mut seeds: Vec<Seed>,
) -> Vec<Alignment> {
    seeds.sort_by(seed_order);
    let mut found: Vec<Alignment> = Vec::new();
    for seed in seeds {
        if found.iter().any(|al| covers(al, &seed)) {
            continue;
        }
        if let Some(al) = trace(a, b, same, len, cfg, &seed) {
            found.push(al);
        }
    }
    found
}

/// Whether `seed` lies on (or next to) the line of alignment `al`.
fn covers(al: &Alignment, seed: &Seed) -> bool {
    if seed.shift != al.shift || seed.i < al.a_start || seed.i >= al.a_end {
        return false;
    }
    let on_line = al.b_start + (seed.i - al.a_start) as f64 * al.tempo;
    (seed.j as f64 - on_line).abs() <= 2.0
}

/// Similarity of frame `i` of `a` with `b` at fractional frame `x`, shifted by `shift`.
fn sim_at(a: &[Frame], b: &[Frame], i: usize, x: f64, shift: usize) -> Option<f32> {
    if x < 0.0 {
        return None;
    }
    let j0 = x.floor() as usize;
    let w = (x - j0 as f64) as f32;
    let f0 = b.get(j0)?;
    let fa = &a[i];
    let v0 = dot(fa, &rotate(f0, shift));
    if w == 0.0 {
        return Some(v0);
    }
    let v1 = b.get(j0 + 1).map_or(v0, |f1| dot(fa, &rotate(f1, shift)));
    Some(v0 * (1.0 - w) + v1 * w)
}

/// Follows a seed's line outwards and keeps the maximum-sum stretch around it.
fn trace(a: &[Frame], b: &[Frame], same: bool, len: usize, cfg: &AlignConfig, seed: &Seed) -> Option<Alignment> {
    let cut = seed.background + cfg.threshold * (1.0 - seed.background);
    // Refine the tempo around the seed's grid value: the grid is coarse, the traced span is not.
    let mut tempo = seed.tempo as f64;
    let mut best_mean = f32::MIN;
    for f in [0.94, 0.97, 1.0, 1.03, 1.06] {
        let t = seed.tempo as f64 * f;
        let mut acc = 0f32;
        for k in 0..len {
            acc += sim_at(a, b, seed.i + k, seed.j as f64 + k as f64 * t, seed.shift).unwrap_or(0.0);
        }
        if acc / len as f32 > best_mean + 1e-6 {
            best_mean = acc / len as f32;
            tempo = t;
        }
    }
    let reach = 4 * len;
    let lo = seed.i.saturating_sub(reach);
    let hi = (seed.i + len + reach).min(a.len());
    // Profile of (similarity - cut) along the line, with None where the line leaves `b`.
    let mut gains: Vec<(usize, f32)> = Vec::with_capacity(hi - lo);
    for i in lo..hi {
        let x = seed.j as f64 + (i as f64 - seed.i as f64) * tempo;
        if let Some(v) = sim_at(a, b, i, x, seed.shift) {
            gains.push((i, v - cut));
        }
    }
    let centre = gains.iter().position(|&(i, _)| i >= seed.i + len / 2)?;
    // Maximum-sum segment containing the seed's centre, from prefix sums.
    let mut prefix = Vec::with_capacity(gains.len() + 1);
    prefix.push(0f32);
    for &(_, g) in &gains {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + g);
    }
    let start = (0..=centre).min_by(|&x, &y| prefix[x].total_cmp(&prefix[y]).then(y.cmp(&x)))?;
    let end = (centre + 1..prefix.len()).max_by(|&x, &y| prefix[x].total_cmp(&prefix[y]).then(y.cmp(&x)))?;
    let a_start = gains[start].0;
    let a_end = gains[end - 1].0 + 1;
    if a_end - a_start < len {
        return None;
    }
    let b_start = seed.j as f64 + (a_start as f64 - seed.i as f64) * tempo;
    let b_end = b_start + (a_end - a_start) as f64 * tempo;
    if same && b_start < a_end as f64 {
        return None;
    }
    let mean = (prefix[end] - prefix[start]) / (end - start) as f32 + cut;
    let score = ((mean - seed.background) / (1.0 - seed.background)).clamp(0.0, 1.0);
    let rise = (mean - seed.background).max(f32::EPSILON);
    let distinct = (mean - off_line_mean(a, b, a_start, a_end, b_start, tempo, seed.shift)) / rise;
    if distinct < MIN_DISTINCTNESS {
        return None;
    }
    Some(Alignment { a_start, a_end, b_start, b_end, shift: seed.shift, tempo, score, distinct })
}

/// The best mean similarity of lines parallel to an alignment's, offset by about a second:
/// music that matches itself there too (a held chord, a repeated accompaniment figure) is not
/// a distinctive melodic match.
fn off_line_mean(
    a: &[Frame],
    b: &[Frame],
    a_start: usize,
    a_end: usize,
    b_start: f64,
    tempo: f64,
    shift: usize,
) -> f32 {
    let mut best = f32::MIN;
    for off in [-4.0, -3.0, 3.0, 4.0] {
        let (mut acc, mut n) = (0f32, 0usize);
        for i in a_start..a_end {
            if let Some(v) = sim_at(a, b, i, b_start + off + (i - a_start) as f64 * tempo, shift) {
                acc += v;
                n += 1;
            }
        }
        if n > 0 {
            best = best.max(acc / n as f32);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random melody-like sequence (xorshift, fixed seed).
    fn random_frames(n: usize, seed: u64) -> Vec<Frame> {
        let mut s = seed.max(1);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        (0..n)
            .map(|_| {
                let mut f = [0f32; DIM];
                let p = (next() % 12) as usize;
                let q = (next() % 12) as usize;
                f[p] = 0.8;
                f[12 + q] = 0.5;
                f[12 + (q + 4) % 12] = 0.3;
                let n = dot(&f, &f).sqrt();
                f.map(|v| v / n)
            })
            .collect()
    }

    fn cfg() -> AlignConfig {
        AlignConfig { len: 10, tempos: vec![0.8, 0.9, 1.0, 1.12, 1.25], shifts: (0..12).collect(), threshold: 0.5 }
    }

    #[test]
    fn seed_cap_keeps_the_same_strongest_seeds_whatever_the_order() {
        let seed = |k: usize| Seed {
            i: k % 977,
            j: k / 977,
            shift: 0,
            tempo: 1.0,
            value: ((k * 7919) % 1000) as f32 / 1000.0,
            background: 0.1,
        };
        let n = 3 * MAX_SEEDS;
        let mut forward: Vec<Seed> = (0..n).map(seed).collect();
        let mut backward: Vec<Seed> = (0..n).rev().map(seed).collect();
        keep_strongest(&mut forward);
        keep_strongest(&mut backward);
        forward.sort_by(seed_order);
        backward.sort_by(seed_order);
        assert_eq!(forward.len(), MAX_SEEDS);
        let key = |s: &Seed| (s.i, s.j);
        assert!(forward.iter().map(key).eq(backward.iter().map(key)));
        let weakest_kept = forward.last().map_or(0.0, |s| s.value);
        assert!((0..n).map(seed).filter(|s| s.value > weakest_kept).count() <= MAX_SEEDS);
    }

    #[test]
    fn uniform_material_aligns_in_bounded_memory() {
        // The same frame throughout: every cell of the self-similarity seeds. Without the cap
        // this would hold some 300 000 seeds; the result must still be empty (nothing moves).
        let frame = random_frames(1, 3)[0];
        let a = vec![frame; 800];
        assert!(align(&a, &a, true, &cfg()).is_empty());
    }

    #[test]
    fn finds_a_transposed_copy() {
        let motif = random_frames(25, 7);
        let mut a = random_frames(60, 1);
        a.splice(20..20, motif.iter().cloned());
        let mut b = random_frames(80, 2);
        let up3: Vec<Frame> = motif.iter().map(|f| rotate(f, 12 - 3)).collect();
        b.splice(40..40, up3);
        let found = align(&a, &b, false, &cfg());
        let best = found.iter().max_by(|x, y| x.score.total_cmp(&y.score)).expect("a match");
        assert_eq!(best.shift, 3);
        assert!((best.a_start as i64 - 20).abs() <= 1, "{best:?}");
        assert!((best.a_end as i64 - 45).abs() <= 1, "{best:?}");
        assert!((best.b_start - 40.0).abs() <= 1.5, "{best:?}");
    }

    #[test]
    fn finds_a_slower_copy() {
        let motif = random_frames(30, 9);
        let mut a = random_frames(50, 3);
        a.splice(10..10, motif.iter().cloned());
        // 1.2x slower: every frame of the motif lasts 1.2 frames.
        let slow: Vec<Frame> = (0..36).map(|k| motif[((k as f64) / 1.2) as usize]).collect();
        let mut b = random_frames(70, 4);
        b.splice(30..30, slow);
        let found = align(&a, &b, false, &cfg());
        let best = found.iter().max_by(|x, y| x.score.total_cmp(&y.score)).expect("a match");
        assert_eq!(best.shift, 0);
        assert!((best.tempo - 1.2).abs() < 0.08, "{best:?}");
        assert!((best.a_start as i64 - 10).abs() <= 2, "{best:?}");
        assert!((best.b_start - 30.0).abs() <= 2.5, "{best:?}");
    }

    #[test]
    fn unrelated_sequences_do_not_match() {
        let a = random_frames(200, 11);
        let b = random_frames(200, 12);
        assert!(align(&a, &b, false, &cfg()).is_empty());
    }

    #[test]
    fn repeat_within_one_sequence() {
        let motif = random_frames(20, 5);
        let mut a = random_frames(100, 6);
        a.splice(70..70, motif.iter().cloned());
        a.splice(10..10, motif.iter().cloned());
        let found = align(&a, &a, true, &cfg());
        assert!(
            found.iter().any(|al| (al.a_start as i64 - 10).abs() <= 1 && (al.b_start - 90.0).abs() <= 1.5),
            "{found:?}"
        );
        assert!(found.iter().all(|al| al.b_start >= al.a_end as f64));
    }
}
