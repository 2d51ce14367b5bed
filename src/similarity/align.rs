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

use ndarray::Array2;

use super::sequence::{DIM, Frame, coarsen, dot, frame_matrix, rotate};

/// Least [`Alignment::distinct`] of a reported match. A recurring melody moves, so its
/// similarity collapses when one side is shifted by a second; harmony alone (a pad, an arpeggio
/// over the same chord) matches any such shift about as well, and is accompaniment, not a motif.
const MIN_DISTINCTNESS: f32 = 0.5;

/// Tempo factors tried around a seed's grid tempo when tracing it, in order of preference: they
/// cover the gap to the neighbouring grid tempi (steps of about 12 %).
const TEMPO_FACTORS: [f64; 13] = [1.0, 0.99, 1.01, 0.98, 1.02, 0.97, 1.03, 0.96, 1.04, 0.95, 1.05, 0.94, 1.06];

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

/// A cell where a match may start: the tempo and key whose smoothed similarity from it is
/// highest, and that similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    /// Row: start frame in the first sequence.
    pub i: usize,
    /// Column: start frame in the second sequence.
    pub j: usize,
    /// Semitones the second sequence lies above the first.
    pub shift: usize,
    /// Tempo of the smoothing line, from the grid.
    pub tempo: f32,
    /// Mean similarity along the line over the shortest match.
    pub value: f32,
    /// The background of the seed's tile (see [`Alignment::score`]).
    pub background: f32,
}

impl Seed {
    /// Whether the seed clears `threshold`: rises that far from its background towards 1.
    fn clears(&self, threshold: f32) -> bool {
        self.value >= self.background + threshold * (1.0 - self.background)
    }
}

/// The seeds of one alignment, strongest first, and the threshold they were found at.
#[derive(Debug, Clone, PartialEq)]
pub struct Seeds {
    /// The threshold of the search.
    pub threshold: f32,
    /// Whether the cap on seeds per pair of tracks (`MAX_SEEDS`, 65536) stopped the search from
    /// keeping every seed that cleared the threshold.
    pub capped: bool,
    /// The seeds, strongest first.
    pub list: Vec<Seed>,
}

impl Seeds {
    /// The seeds that a search at `threshold` finds, derived from these when they tell: at any
    /// stricter threshold a search keeps exactly the seeds here that clear it, except when the cap
    /// dropped seeds, which may have cleared it too.
    pub fn at(&self, threshold: f32) -> Option<Vec<Seed>> {
        if threshold == self.threshold {
            Some(self.list.clone())
        } else if threshold > self.threshold && !self.capped {
            Some(self.list.iter().filter(|s| s.clears(threshold)).copied().collect())
        } else {
            None
        }
    }
}

/// Aligns `a` against `b`. With `same` (a sequence against itself) only pairs whose second
/// stretch starts after the first ends are considered.
pub fn align(a: &[Frame], b: &[Frame], same: bool, cfg: &AlignConfig) -> Vec<Alignment> {
    trace_seeds(a, b, same, cfg, &seeds(a, b, same, cfg).list)
}

/// Share of the threshold at which [`align_coarse`] seeds on the coarse copies: a copy that
/// starts off the coarse grid is blended with its neighbours there and loses part of its rise.
/// At three quarters, the coarse search of the cue matcher (factor 4) kept 544 of the 545
/// untransposed matches the full search finds on two tuning sets of episodes (at the full
/// threshold, 539).
const COARSE_SEED_SHARE: f32 = 0.75;

/// [`align`] with the seeds searched on copies of both sequences `factor` times coarser
/// ([`coarsen`]), at three quarters of the threshold: each coarse seed becomes
/// full-resolution seeds at the offsets it may stand for, traced as [`align`] traces them
/// against `background` (the typical best-key similarity of unrelated frames of the two, see
/// [`pair_background`]) and at the full threshold. The search, which visits every pair of
/// frames, costs about `factor`² times less; what it finds is then measured exactly.
pub fn align_coarse(a: &[Frame], b: &[Frame], factor: usize, background: f32, cfg: &AlignConfig) -> Vec<Alignment> {
    let factor = factor.max(1);
    let coarse_cfg =
        AlignConfig { len: (cfg.len / factor).max(2), threshold: COARSE_SEED_SHARE * cfg.threshold, ..cfg.clone() };
    let found = seeds(&coarsen(a, factor), &coarsen(b, factor), false, &coarse_cfg).list;
    let reach = factor as i64;
    let mut fine: Vec<Seed> = Vec::with_capacity(found.len() * (2 * factor + 1));
    for s in found {
        let i = s.i * factor;
        for d in -reach..=reach {
            let j = (s.j * factor) as i64 + d;
            if i < a.len() && (0..b.len() as i64).contains(&j) {
                fine.push(Seed { i, j: j as usize, background, ..s });
            }
        }
    }
    fine.sort_by(seed_order);
    trace_seeds(a, b, false, cfg, &fine)
}

/// The typical best-of-`shifts` similarity of unrelated frames of `a` and `b`, measured as a
/// tile's background is, over a sample of about `samples` pairs of frames that both sound.
pub fn pair_background(a: &[Frame], b: &[Frame], shifts: &[usize], samples: usize) -> f32 {
    let voiced = |f: &&Frame| f.iter().any(|&v| v != 0.0);
    let (live_a, live_b): (Vec<&Frame>, Vec<&Frame>) =
        (a.iter().filter(voiced).collect(), b.iter().filter(voiced).collect());
    // An odd stride, so the sample does not keep to a few columns when rows have even length.
    let stride = (live_a.len() * live_b.len() / samples.max(1)).max(1) | 1;
    sampled_background(live_a.len(), live_b.len(), stride, |r, c| {
        shifts.iter().map(|&s| dot(live_a[r], &rotate(live_b[c], s))).fold(0f32, f32::max)
    })
}

/// The seeds of aligning `a` against `b` (see [`align`]).
pub fn seeds(a: &[Frame], b: &[Frame], same: bool, cfg: &AlignConfig) -> Seeds {
    let len = cfg.len.max(2);
    let mut found = Seeds { threshold: cfg.threshold, capped: false, list: Vec::new() };
    if a.len() < len || b.len() < len || cfg.tempos.is_empty() || cfg.shifts.is_empty() {
        return found;
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
            tile_seeds(a, b, rows, cols, r1, c1, same, len, cfg, Search::Either, &mut seeds);
            if seeds.len() > 2 * MAX_SEEDS {
                found.capped |= keep_strongest(&mut seeds);
            }
        }
    }
    // The strongest of all seeds are the strongest of the strongest kept on the way, so the
    // result does not depend on when seeds were dropped.
    found.capped |= keep_strongest(&mut seeds);
    seeds.sort_by(seed_order);
    found.list = seeds;
    found
}

/// Traces `seeds` (see [`align`]) at the threshold of `cfg`.
pub fn trace_seeds(a: &[Frame], b: &[Frame], same: bool, cfg: &AlignConfig, seeds: &[Seed]) -> Vec<Alignment> {
    let len = cfg.len.max(2);
    if a.len() < len || b.len() < len {
        return Vec::new();
    }
    trace_all(a, b, same, len, cfg, seeds.to_vec())
}

/// Strongest first; ties by position, so the order is total and the result deterministic.
fn seed_order(x: &Seed, y: &Seed) -> std::cmp::Ordering {
    y.value.total_cmp(&x.value).then(x.i.cmp(&y.i)).then(x.j.cmp(&y.j))
}

/// Drops all but the [`MAX_SEEDS`] strongest seeds; whether it dropped any.
fn keep_strongest(seeds: &mut Vec<Seed>) -> bool {
    if seeds.len() <= MAX_SEEDS {
        return false;
    }
    seeds.select_nth_unstable_by(MAX_SEEDS, seed_order);
    seeds.truncate(MAX_SEEDS);
    true
}

/// Share of a tile's cells at most whose key-free bound may reach the cut for the tile to be
/// searched by the bound (see [`tile_seeds`]). Below it, each surviving cell costs a few short
/// sums per key; above it (material whose every frame matches some chord in some key, as
/// sustained pads do), carrying every key's sums over the whole tile is cheaper. Either way the
/// seeds are the same: this only chooses the faster of two exact searches. Measured on the
/// whole `analyze`: 2 hours of real recordings looped and cut (3 % of cells survive) 18.3 s
/// carrying every key, 13.2 s by the bound; a generated 40-track score (14 % survive) 3.2 s
/// carrying, 3.6 s by the bound.
const BOUND_SEARCH_SHARE: usize = 8;

/// Which of the two exact searches of a tile [`tile_seeds`] runs. Matching always lets the
/// tile choose; the tests run each search to check that they agree.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq)]
enum Search {
    /// The faster for the tile (see [`BOUND_SEARCH_SHARE`]).
    Either,
    /// Every key's sums carried over the whole tile.
    Carried,
    /// Every key's sums only where the key-free bound reaches the cut.
    Bound,
}

/// Collects the seeds whose start cell lies in rows `rows.start..r_end`, columns
/// `cols.start..c_end`; `rows` and `cols` extend past them by the smoothing reach.
///
/// A line's mean similarity in its best key can be no higher than the mean, along the line, of
/// each cell's best similarity over all keys. So each tempo's lines are first summed over that
/// best-key similarity alone; where this bound reaches the cut in few cells (unrelated frames
/// keep it near the background), the sums in every key are taken at those cells only, each key
/// left as soon as its shortfall from the best key rules it out. Otherwise every key's sums are
/// carried over the whole tile. Both give the seeds of summing every key everywhere.
///
/// A tempo's smoothing lines are anchored to the tile: line `l` passes through column
/// `l + d[r]` of row `r`, with `d[r]` the row's offset at that slope. Each line's window sum is
/// carried from one row to the next by adding the row that enters the window and subtracting
/// the one that leaves it: two passes over contiguous memory per row, whatever the window's
/// length.
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
    search: Search,
    seeds: &mut Vec<Seed>,
) {
    let (nr, nc) = (rows.len(), cols.len());
    let ns = cfg.shifts.len();
    if nr < len {
        return;
    }
    let a_mat = frame_matrix(&a[rows.start..rows.start + nr]);
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
    let sim = a_mat.dot(&b_rot.t());
    // A fresh product is laid out row by row; the copy is only a safeguard.
    let sim = if sim.is_standard_layout() { sim } else { sim.as_standard_layout().into_owned() };
    let Some(sim) = sim.as_slice() else { return };
    // Row `r` of shift `si`: the similarity of frame `r` with every column, in that key.
    let row = |r: usize, si: usize| &sim[(r * ns + si) * nc..(r * ns + si + 1) * nc];
    // Row `r`: each column's best similarity over all shifts.
    let mut best_key = vec![f32::MIN; nr * nc];
    for r in 0..nr {
        let out = &mut best_key[r * nc..(r + 1) * nc];
        for si in 0..ns {
            for (m, &v) in out.iter_mut().zip(row(r, si)) {
                *m = if v > *m { v } else { *m };
            }
        }
    }
    let best_row = |r: usize| &best_key[r * nc..(r + 1) * nc];
    let background = tile_background(&best_key, nc, a, b, &rows, &cols);
    // Window sums below this cannot clear the threshold; those above are checked exactly, as
    // means, the way [`Seeds::at`] checks them.
    let cut = (background + cfg.threshold * (1.0 - background)) * len as f32 * (1.0 - 1e-5);
    let start_rows = (r_end - rows.start).min(nr + 1 - len);
    let start_cols = c_end - cols.start;
    let offsets: Vec<Vec<usize>> =
        cfg.tempos.iter().map(|&t| (0..nr).map(|r| (r as f32 * t).round() as usize).collect()).collect();
    let seed_at = |r: usize, c: usize, sum: f32, ti: usize, si: usize| {
        let seed = Seed {
            i: rows.start + r,
            j: cols.start + c,
            shift: cfg.shifts[si],
            tempo: cfg.tempos[ti],
            value: sum / len as f32,
            background,
        };
        seed.clears(cfg.threshold).then_some(seed)
    };
    // In one sequence against itself, the second stretch starts after the first ends.
    let first_col = |r: usize| if same { (rows.start + r + len).saturating_sub(cols.start) } else { 0 };

    // The bound is carried in f32 over up to a tile of rows; this margin is far above its
    // rounding, so no cell whose exact bound reaches the cut is passed over.
    let slack = 1e-3 * len as f32;
    let bound_cut = cut - slack;
    let mut bounds: Vec<Vec<f32>> = offsets.iter().map(|d| first_windows(d, len, start_cols, best_row)).collect();
    let mut line_best = vec![f32::MIN; start_cols];
    // Row `r`'s best bound over the tempi, per column.
    let best_bound = |line_best: &mut Vec<f32>, bounds: &[Vec<f32>], r: usize| {
        line_best.fill(f32::MIN);
        for (w, d) in bounds.iter().zip(&offsets) {
            let at = d[nr - 1] - d[r];
            for (m, &v) in line_best.iter_mut().zip(&w[at..at + start_cols]) {
                *m = if v > *m { v } else { *m };
            }
        }
    };
    // The bound search, unless the tile asks for the carried one. Whether more cells reach the
    // bound than it pays for is counted on the way: once they do, what it found is dropped and
    // the carried search takes the tile (both find the same seeds).
    if search != Search::Carried {
        let most = (search == Search::Either).then_some(start_rows * start_cols);
        let at = |k: usize, si: usize, c: usize| if c < nc { sim[(k * ns + si) * nc + c] } else { 0.0 };
        let mut found: Vec<Seed> = Vec::new();
        let mut survivors = 0;
        let mut too_many = false;
        for r in 0..start_rows {
            best_bound(&mut line_best, &bounds, r);
            for c in first_col(r)..start_cols {
                if line_best[c] < bound_cut {
                    continue;
                }
                survivors += 1;
                // The first tempo and shift (in grid order) with the highest sum.
                let mut top: Option<(f32, usize, usize)> = None;
                for (ti, d) in offsets.iter().enumerate() {
                    let bound = bounds[ti][d[nr - 1] - d[r] + c] + slack;
                    if bound < cut {
                        continue;
                    }
                    for si in 0..ns {
                        // Each frame's shortfall from its best key lowers what this key can reach;
                        // a key is left as soon as it can no longer reach the cut or the best so far.
                        let floor = top.map_or(cut, |(v, _, _)| v.max(cut));
                        let mut reach = bound;
                        let mut sum = 0f32;
                        for k in r..r + len {
                            let col = c + d[k] - d[r];
                            let v = at(k, si, col);
                            sum += v;
                            if col < nc {
                                reach -= best_key[k * nc + col] - v;
                            }
                            if reach < floor {
                                break;
                            }
                        }
                        if reach >= floor && top.is_none_or(|(v, _, _)| sum > v) {
                            top = Some((sum, ti, si));
                        }
                    }
                }
                if let Some((sum, ti, si)) = top
                    && sum >= cut
                    && let Some(seed) = seed_at(r, c, sum, ti, si)
                {
                    found.push(seed);
                }
            }
            if most.is_some_and(|most| survivors * BOUND_SEARCH_SHARE > most) {
                too_many = true;
                break;
            }
            if r + 1 < start_rows {
                carry(&mut bounds, &offsets, r, len, best_row);
            }
        }
        if !too_many {
            seeds.extend(found);
            return;
        }
    }
    // Otherwise every key's sums carried over the whole tile; line `l` at index `l + reach`.
    let mut windows: Vec<Vec<f32>> = Vec::with_capacity(cfg.tempos.len() * ns);
    for d in &offsets {
        for si in 0..ns {
            windows.push(first_windows(d, len, start_cols, |r| row(r, si)));
        }
    }
    for r in 0..start_rows {
        line_best.fill(f32::MIN);
        for (ti, d) in offsets.iter().enumerate() {
            let at = d[nr - 1] - d[r];
            for w in &windows[ti * ns..(ti + 1) * ns] {
                for (m, &v) in line_best.iter_mut().zip(&w[at..at + start_cols]) {
                    *m = if v > *m { v } else { *m };
                }
            }
        }
        for (c, &top) in line_best.iter().enumerate().skip(first_col(r)) {
            if top < cut {
                continue;
            }
            // The first tempo and shift (in grid order) that reaches the best value.
            let found = offsets.iter().enumerate().find_map(|(ti, d)| {
                let at = d[nr - 1] - d[r] + c;
                (0..ns).find(|&si| windows[ti * ns + si][at] >= top).map(|si| (ti, si))
            });
            if let Some(seed) = found.and_then(|(ti, si)| seed_at(r, c, top, ti, si)) {
                seeds.push(seed);
            }
        }
        if r + 1 < start_rows {
            for (ti, d) in offsets.iter().enumerate() {
                for si in 0..ns {
                    carry(std::slice::from_mut(&mut windows[ti * ns + si]), std::slice::from_ref(d), r, len, |k| {
                        row(k, si)
                    });
                }
            }
        }
    }
}

/// The window sums of a tile's first row for one tempo (row offsets `d`): line `l` at index
/// `l + reach`, where `reach` is the tempo's largest offset (lines may enter the tile from the
/// left), summed over rows `0..len` of `row`.
fn first_windows<'s>(d: &[usize], len: usize, start_cols: usize, row: impl Fn(usize) -> &'s [f32]) -> Vec<f32> {
    let reach = d[d.len() - 1];
    let mut w = vec![0f32; start_cols + reach];
    for (k, &dk) in d.iter().enumerate().take(len) {
        add_row(&mut w, row(k), dk, reach, 1.0);
    }
    w
}

/// Moves each tempo's window sums (`windows[t]`, offsets `offsets[t]`) from row `r` to row
/// `r + 1`: row `r` leaves the window, row `r + len` enters it.
fn carry<'s>(windows: &mut [Vec<f32>], offsets: &[Vec<usize>], r: usize, len: usize, row: impl Fn(usize) -> &'s [f32]) {
    for (w, d) in windows.iter_mut().zip(offsets) {
        let reach = d[d.len() - 1];
        add_row(w, row(r), d[r], reach, -1.0);
        add_row(w, row(r + len), d[r + len], reach, 1.0);
    }
}

/// Adds `sign` times a similarity row, laid out at offset `d`, to the window sums of every line
/// that crosses it: line index `x` meets column `x + d - reach`.
fn add_row(window: &mut [f32], row: &[f32], d: usize, reach: usize, sign: f32) {
    let lo = reach - d;
    let hi = window.len().min(row.len() + lo);
    if lo >= hi {
        return;
    }
    for (w, &v) in window[lo..hi].iter_mut().zip(row) {
        *w += sign * v;
    }
}

/// The typical best-shift similarity of unrelated frames in this tile: its median over a
/// regular sample of the cells where both frames sound.
fn tile_background(
    best_key: &[f32],
    nc: usize,
    a: &[Frame],
    b: &[Frame],
    rows: &std::ops::Range<usize>,
    cols: &std::ops::Range<usize>,
) -> f32 {
    let voiced = |f: &Frame| f.iter().any(|&v| v != 0.0);
    let live_rows: Vec<usize> = rows.clone().filter(|&i| voiced(&a[i])).map(|i| i - rows.start).collect();
    let live_cols: Vec<usize> = cols.clone().filter(|&j| voiced(&b[j])).map(|j| j - cols.start).collect();
    let stride = (rows.len() * cols.len() / 20_000).max(1);
    sampled_background(live_rows.len(), live_cols.len(), stride, |r, c| {
        let (r, c) = (live_rows[r], live_cols[c]);
        best_key[r * nc + c].max(0.0)
    })
}

/// The median of `value(row, col)` over every `stride`-th cell (row by row) of a `rows` x `cols`
/// grid of frame pairs that both sound, clamped below a perfect match; 0.5 for an empty grid. A
/// median ignores the few cells where music actually matches.
pub(super) fn sampled_background(rows: usize, cols: usize, stride: usize, value: impl Fn(usize, usize) -> f32) -> f32 {
    let cells = rows * cols;
    if cells == 0 {
        return 0.5;
    }
    let values: Vec<f32> = (0..cells).step_by(stride.max(1)).map(|q| value(q / cols, q % cols)).collect();
    let median = super::select_total(&values, values.len() / 2, &mut Vec::new());
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
    // Usually sorted already; a stable sort of sorted input is one pass.
    seeds.sort_by(seed_order);
    let mut found: Vec<Alignment> = Vec::new();
    // `b` in each key a seed asks for, rotated once: a trace reads thousands of its frames.
    let mut keys: Vec<Option<Vec<Frame>>> = vec![None; 12];
    for seed in seeds {
        if found.iter().any(|al| covers(al, &seed)) {
            continue;
        }
        let b_key = keys[seed.shift % 12].get_or_insert_with(|| b.iter().map(|f| rotate(f, seed.shift)).collect());
        if let Some(al) = trace(a, b_key, same, len, cfg, &seed) {
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

/// Similarity of frame `i` of `a` with the frame of `b` nearest to the fractional frame `x`
/// (`b` already in the key of the comparison, see [`rotate`]). The nearest frame rather than an
/// interpolation: a line of a tempo other than 1 falls between frames, and blending two frames
/// of different notes matches neither.
fn sim_at(a: &[Frame], b: &[Frame], i: usize, x: f64) -> Option<f32> {
    Some(dot(&a[i], &b[nearest(b, x)?]))
}

/// The frame of `b` nearest to the fractional frame `x` (halves rounded up), if `x` lies inside
/// `b`.
fn nearest(b: &[Frame], x: f64) -> Option<usize> {
    if x.is_nan() || x < -0.5 {
        return None;
    }
    // Rounded through a truncating cast (0 for -0.5..0, and the fraction left is exact):
    // `f64::round` is a library call on the baseline x86-64 target, and traces round millions
    // of times.
    let whole = x as usize;
    if whole >= b.len() {
        return None;
    }
    let j = if x - whole as f64 >= 0.5 { whole + 1 } else { whole };
    (j < b.len()).then_some(j)
}

/// Follows a seed's line outwards and keeps the maximum-sum stretch around it; `b` is already
/// in the seed's key (rotated by its shift), as in every function a trace calls.
fn trace(a: &[Frame], b: &[Frame], same: bool, len: usize, cfg: &AlignConfig, seed: &Seed) -> Option<Alignment> {
    let cut = seed.background + cfg.threshold * (1.0 - seed.background);
    let centre = seed.i + len / 2;
    let first = Line { i: seed.i, x: seed.j as f64, tempo: seed.tempo as f64, shift: seed.shift };
    let found = aligned(a, b, same, len, cut, seed.background, first, centre)?;
    // The tempo grid is coarse (about 12 % steps): among lines through the seed at tempi up to its
    // grid neighbours and offsets of up to a frame, keep the one whose traced stretch gains most.
    // A short window of a slower copy often matches equally well at several tempi that drift
    // apart beyond it; the length of the whole stretch pins the line down. Only seeds that make
    // a match at their grid tempo get this search: most seeds make none.
    let total = |s: &(usize, usize, f32)| s.2 * (s.1 - s.0) as f32;
    let mut best: Option<(Line, (usize, usize, f32))> = None;
    let mut near = NearSims::new(a, b, &first, len);
    for m in [0.0, -0.5, 0.5, -1.0, 1.0] {
        for f in TEMPO_FACTORS {
            let line = Line { tempo: first.tempo * f, x: first.x + m, ..first };
            if let Some(span) = max_sum_span(&line, a.len(), centre, len, cut, |i| near.sim(i, line.at(i)))
                && best.as_ref().is_none_or(|(_, s)| total(&span) > total(s) + 1e-6)
            {
                best = Some((line, span));
            }
        }
    }
    match best {
        Some((line, _)) if line != first => {
            aligned(a, b, same, len, cut, seed.background, line, centre).or(Some(found))
        }
        _ => Some(found),
    }
}

/// The alignment traced along `line` through row `centre`, if it is long and distinct enough.
#[allow(clippy::too_many_arguments)]
fn aligned(
    a: &[Frame],
    b: &[Frame],
    same: bool,
    len: usize,
    cut: f32,
    background: f32,
    line: Line,
    centre: usize,
) -> Option<Alignment> {
    let (mut a_start, mut a_end, gain) = max_sum_span(&line, a.len(), centre, len, cut, |i| line.sim(a, b, i))?;
    // In one sequence against itself, a stretch that runs into its own copy is a phrase
    // repeated back to back matched one repeat later: keep the one repeat around the centre,
    // so each copy is linked to the next instead of the whole run being dropped.
    let lag = line.at(a_start) - a_start as f64;
    if same && lag >= len as f64 && line.at(a_start) < a_end as f64 {
        let period = lag.floor() as usize;
        a_start += (centre.saturating_sub(a_start) / period) * period;
        a_end = a_end.min(a_start + period);
    }
    if a_end - a_start < len {
        return None;
    }
    let tempo = line.tempo;
    let b_start = line.at(a_start);
    let b_end = b_start + (a_end - a_start) as f64 * tempo;
    if same && b_start < a_end as f64 {
        return None;
    }
    let mean = gain + cut;
    let score = ((mean - background) / (1.0 - background)).clamp(0.0, 1.0);
    let rise = (mean - background).max(f32::EPSILON);
    let distinct = (mean - off_line_mean(a, b, a_start, a_end, b_start, tempo)) / rise;
    if distinct < MIN_DISTINCTNESS {
        return None;
    }
    Some(Alignment { a_start, a_end, b_start, b_end, shift: line.shift, tempo, score, distinct })
}

/// A line through the cross-similarity: row `i` of the first sequence meets the fractional frame
/// `x` of the second, and the line advances `tempo` frames of the second per frame of the first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line {
    i: usize,
    x: f64,
    tempo: f64,
    shift: usize,
}

impl Line {
    /// Where the line crosses row `i`.
    fn at(&self, i: usize) -> f64 {
        self.x + (i as f64 - self.i as f64) * self.tempo
    }

    /// Similarity at row `i` on the line, if the line is inside `b` (in the line's key) there.
    fn sim(&self, a: &[Frame], b: &[Frame], i: usize) -> Option<f32> {
        sim_at(a, b, i, self.at(i))
    }
}

/// The similarities a trace's search around one line reads, each computed once: the lines
/// through a seed at nearby tempi and offsets cross the same few frames of `b` on each row, so
/// the search reads each similarity several times over. Row `i`'s frames from `start[i - lo]`
/// on are kept (NaN until computed); others are computed as asked.
struct NearSims<'s> {
    a: &'s [Frame],
    b: &'s [Frame],
    lo: usize,
    start: Vec<i64>,
    width: usize,
    kept: Vec<f32>,
}

impl<'s> NearSims<'s> {
    /// The store for the lines through `line`'s seed row at its tempo times
    /// [`TEMPO_FACTORS`] and offsets of up to a frame, over the rows a span may cover.
    fn new(a: &'s [Frame], b: &'s [Frame], line: &Line, len: usize) -> Self {
        let lo = line.i.saturating_sub(4 * len);
        let hi = (line.i + 5 * len).min(a.len());
        let (slow, fast) = TEMPO_FACTORS.iter().fold((1f64, 1f64), |(s, f), &t| (s.min(t), f.max(t)));
        // Row `i`'s lines lie between the slowest and the fastest, a frame to either side.
        let start: Vec<i64> = (lo..hi)
            .map(|i| {
                let di = i as f64 - line.i as f64;
                let t = line.tempo * if di >= 0.0 { slow } else { fast };
                (line.x + di * t).floor() as i64 - 2
            })
            .collect();
        let spread = line.tempo * (fast - slow) * (5 * len) as f64;
        let width = spread.ceil() as usize + 6;
        Self { a, b, lo, start, width, kept: vec![f32::NAN; (hi - lo) * width] }
    }

    /// The similarity of row `i` with the frame of `b` nearest to `x` (see [`sim_at`]).
    fn sim(&mut self, i: usize, x: f64) -> Option<f32> {
        let j = nearest(self.b, x)?;
        let fb = &self.b[j];
        let slot = i.checked_sub(self.lo).and_then(|r| {
            let col = usize::try_from(j as i64 - self.start.get(r)?).ok().filter(|&c| c < self.width)?;
            Some(r * self.width + col)
        });
        let Some(slot) = slot else {
            return Some(dot(&self.a[i], fb));
        };
        if self.kept[slot].is_nan() {
            self.kept[slot] = dot(&self.a[i], fb);
        }
        Some(self.kept[slot])
    }
}

/// Seed lengths a match is traced at most either side of its seed: a repeat longer than
/// `1 + 2 * TRACE_REACH` seeds comes out as several matches, each a window of it.
const TRACE_REACH: usize = 4;

/// The longest match traced from a seed of `len` frames, in frames (see [`TRACE_REACH`]).
pub fn longest_match(len: usize) -> usize {
    len * (1 + 2 * TRACE_REACH)
}

/// The maximum-sum stretch of (similarity - `cut`) along `line`, among those containing row
/// `centre`: its start and end rows in the first sequence (`a_len` frames), and its mean gain.
/// `sim(i)` is the similarity at row `i` on the line, `None` where the line is outside the
/// second sequence.
fn max_sum_span(
    line: &Line,
    a_len: usize,
    centre: usize,
    len: usize,
    cut: f32,
    mut sim: impl FnMut(usize) -> Option<f32>,
) -> Option<(usize, usize, f32)> {
    let reach = TRACE_REACH * len;
    let lo = line.i.saturating_sub(reach);
    let hi = (line.i + len + reach).min(a_len);
    // The profile of (similarity - cut) along the line, leaving out rows where the line is
    // outside `b`: those lie at the ends, so the rows kept run on from the first, `first`.
    // One pass over its prefix sums: the lowest at or before the centre (the latest of equals)
    // starts the stretch, the highest after it (the earliest of equals) ends it.
    let mut first = None;
    let (mut sum, mut n) = (0f32, 0usize);
    let (mut start, mut low) = (0usize, 0f32);
    let mut end: Option<(usize, f32)> = None;
    let mut centre_at = None;
    // The most a row can add: frames are of unit length or zero, so a similarity is at most 1
    // (the margin covers rounding).
    let rise = 1.0 + 1e-3 - cut;
    for i in lo..hi {
        let Some(v) = sim(i) else {
            if first.is_some() {
                break;
            }
            continue;
        };
        first.get_or_insert(i);
        if centre_at.is_none() && i >= centre {
            centre_at = Some(n);
        }
        // Prefix `n` (the sum before row `i`) may start the stretch while `n` is at or before
        // the centre's position.
        if centre_at.is_none_or(|c| n <= c) && sum <= low {
            (start, low) = (n, sum);
        }
        sum += v - cut;
        n += 1;
        if let Some(c) = centre_at
            && n > c
            && end.is_none_or(|(_, high)| sum > high)
        {
            end = Some((n, sum));
        }
        // Past the centre, once the rows left cannot lift the sum above the end found, none
        // of them can end the stretch (an equal sum does not replace the earlier end).
        if let Some((_, high)) = end
            && sum + rise * (hi - 1 - i) as f32 <= high
        {
            break;
        }
    }
    // An end is only taken once the centre and so the first row are known.
    let ((end, high), first) = (end?, first?);
    Some((first + start, first + end, (high - low) / (end - start) as f32))
}

/// The best mean similarity of lines parallel to an alignment's, offset by about a second:
/// music that matches itself there too (a held chord, a repeated accompaniment figure) is not
/// a distinctive melodic match.
fn off_line_mean(a: &[Frame], b: &[Frame], a_start: usize, a_end: usize, b_start: f64, tempo: f64) -> f32 {
    let mut best = f32::MIN;
    for off in [-4.0, -3.0, 3.0, 4.0] {
        let (mut acc, mut n) = (0f32, 0usize);
        for i in a_start..a_end {
            if let Some(v) = sim_at(a, b, i, b_start + off + (i - a_start) as f64 * tempo) {
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
    use super::super::sequence::testing::random_frames;
    use super::*;

    #[test]
    fn the_nearest_frame_is_the_one_round_gives() {
        let b = random_frames(100, 3);
        let by_round = |x: f64| {
            let j = x.round();
            (x >= -0.5 && (j as usize) < b.len()).then_some(j as usize)
        };
        let mut xs = vec![-0.6, -0.5, -0.49, -0.0, 0.0, 0.49999999999999994, 0.5, 1.5, 2.5, 98.5, 99.49, 99.5, 1e300];
        xs.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        xs.extend((0..2000).map(|k| -1.0 + k as f64 * 0.0517));
        for x in xs {
            assert_eq!(nearest(&b, x), by_round(x), "{x}");
        }
    }

    #[test]
    fn the_span_is_the_best_stretch_through_the_centre_of_the_rows_inside_both() {
        let (a, b) = (random_frames(300, 5), random_frames(260, 9));
        // Cuts from below to above most similarities: the higher, the sooner the search stops.
        let lines = [(40.0, 1.0, 0), (-30.5, 1.1, 3), (200.0, 0.9, 7), (5.2, 1.25, 11)];
        for (k, (x, tempo, shift, cut)) in
            lines.iter().flat_map(|&(x, t, s)| [0.35, 0.6, 0.8, 0.95].map(|c| (x, t, s, c))).enumerate()
        {
            let line = Line { i: 60 + 20 * (k / 4), x, tempo, shift };
            let (centre, len) = (line.i + 4, 10);
            let rows = line_rows(&line, &a, &b, len, cut);
            let Some(best) = best_stretch(&rows, centre) else {
                assert_eq!(max_sum_span(&line, a.len(), centre, len, cut, |i| line.sim(&a, &b, i)), None);
                continue;
            };
            let (start, end, mean) =
                max_sum_span(&line, a.len(), centre, len, cut, |i| line.sim(&a, &b, i)).expect("a span");
            assert_eq!((start, end), (rows[best.1].0, rows[best.2 - 1].0 + 1), "line {k}");
            assert!((mean - best.0 / (best.2 - best.1) as f32).abs() < 1e-4, "line {k}");
        }
    }

    /// Each row a trace of `line` reads ([`TRACE_REACH`] shortest motifs either side of its
    /// window) where the line lies inside `b`, with its similarity less `cut`.
    fn line_rows(line: &Line, a: &[Frame], b: &[Frame], len: usize, cut: f32) -> Vec<(usize, f32)> {
        (line.i.saturating_sub(TRACE_REACH * len)..(line.i + len + TRACE_REACH * len).min(a.len()))
            .filter_map(|i| line.sim(a, b, i).map(|v| (i, v - cut)))
            .collect()
    }

    /// The stretch of `rows` of highest sum through the row `centre`, by brute force over every
    /// start at or before it and every end after it: (sum, first row index, end row index).
    fn best_stretch(rows: &[(usize, f32)], centre: usize) -> Option<(f32, usize, usize)> {
        let c = rows.iter().position(|&(i, _)| i >= centre)?;
        let mut best = (f32::MIN, 0, 0);
        for s in 0..=c {
            for e in c + 1..=rows.len() {
                let total: f32 = rows[s..e].iter().map(|r| r.1).sum();
                if total > best.0 {
                    best = (total, s, e);
                }
            }
        }
        Some(best)
    }

    #[test]
    fn the_search_for_a_stretch_stops_once_no_later_row_can_end_it_and_finds_the_same_stretch() {
        // A copy of a's rows 100..130 at b's 60..90, unrelated frames around it; a cut high
        // enough that unrelated rows pull the sum down fast.
        let a = random_frames(300, 21);
        let mut b = random_frames(200, 22);
        b[60..90].copy_from_slice(&a[100..130]);
        let (len, cut) = (10, 0.8);
        let line = Line { i: 105, x: 65.0, tempo: 1.0, shift: 0 };
        let centre = line.i + len / 2;
        let rows = line_rows(&line, &a, &b, len, cut);
        let best = best_stretch(&rows, centre).expect("the centre lies inside");
        let mut read = 0;
        let (start, end, _) = max_sum_span(&line, a.len(), centre, len, cut, |i| {
            read += 1;
            line.sim(&a, &b, i)
        })
        .expect("a span");
        assert_eq!((start, end), (rows[best.1].0, rows[best.2 - 1].0 + 1));
        assert_eq!((start, end), (100, 130), "the copy, and only the copy");
        assert!(read < rows.len(), "read {read} of {} rows", rows.len());
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
    fn the_seeds_are_the_cells_whose_direct_sums_clear_the_cut() {
        let a = random_frames(90, 21);
        let mut b = random_frames(110, 22);
        // A transposed, slower copy of part of `a`, so that some cells clear the cut.
        let copy: Vec<Frame> = (0..33).map(|k| rotate(&a[20 + (k as f64 / 1.1) as usize], 9)).collect();
        b.splice(40..40, copy);
        // A low threshold (many cells reach the key-free bound) and the default one.
        for threshold in [0.1, 0.4] {
            let cfg = AlignConfig { threshold, ..cfg() };
            let len = cfg.len;
            let (rows, cols) = (0..a.len(), 0..b.len());
            let search = |how: Search| {
                let mut seeds = Vec::new();
                tile_seeds(&a, &b, rows.clone(), cols.clone(), a.len(), b.len(), false, len, &cfg, how, &mut seeds);
                seeds
            };
            let seeds = search(Search::Carried);
            assert!(!seeds.is_empty());
            // The search by the key-free bound finds the same seeds, of the same strength (the
            // key and tempo may differ where two lines sum to the same within rounding; both are
            // checked against direct sums below).
            let bounded = search(Search::Bound);
            let cell = |s: &Seed| (s.i, s.j);
            assert!(seeds.iter().map(cell).eq(bounded.iter().map(cell)), "threshold {threshold}");
            assert!(seeds.iter().zip(&bounded).all(|(x, y)| (x.value - y.value).abs() < 1e-5));
            // The same window sums, summed directly along each anchored line.
            let direct = |i: usize, j: usize, t: f32, shift: usize| {
                let d = |r: usize| (r as f32 * t).round() as usize;
                (0..len)
                    .filter_map(|k| b.get(j + d(i + k) - d(i)).map(|fb| dot(&a[i + k], &rotate(fb, shift))))
                    .sum::<f32>()
                    / len as f32
            };
            for seed in seeds.iter().chain(&bounded) {
                let best = cfg
                    .tempos
                    .iter()
                    .flat_map(|&t| cfg.shifts.iter().map(move |&s| (t, s)))
                    .map(|(t, s)| direct(seed.i, seed.j, t, s))
                    .fold(f32::MIN, f32::max);
                assert!((seed.value - best).abs() < 1e-4, "{seed:?} vs {best}");
                assert!((seed.value - direct(seed.i, seed.j, seed.tempo, seed.shift)).abs() < 1e-4);
            }
            // Every start cell whose best direct sum clears the cut is a seed.
            let cut = seeds[0].background + cfg.threshold * (1.0 - seeds[0].background);
            let expected = (0..=a.len() - len)
                .flat_map(|i| (0..b.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| {
                    cfg.tempos.iter().any(|&t| cfg.shifts.iter().any(|&s| direct(i, j, t, s) >= cut + 1e-4))
                })
                .count();
            assert!(seeds.len() >= expected, "{} seeds, {expected} cells above the cut", seeds.len());
        }
    }

    #[test]
    fn kept_similarities_are_the_similarities_on_the_line() {
        let (a, b) = (random_frames(200, 31), random_frames(180, 32));
        for (x, tempo) in [(50.0, 1.0), (3.0, 1.25), (170.0, 0.8), (-4.0, 1.12)] {
            let first = Line { i: 70, x, tempo, shift: 0 };
            let mut near = NearSims::new(&a, &b, &first, 15);
            // Twice over, so the second reading comes from what the first kept.
            for _ in 0..2 {
                for m in [0.0, -0.5, 0.5, -1.0, 1.0, 3.0] {
                    for f in TEMPO_FACTORS.iter().chain(&[0.7, 1.4]) {
                        let line = Line { tempo: tempo * f, x: x + m, ..first };
                        for i in 0..a.len() {
                            assert_eq!(near.sim(i, line.at(i)), line.sim(&a, &b, i), "row {i} of {line:?}");
                        }
                    }
                }
            }
        }
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
    fn the_coarse_search_finds_the_copy_the_full_search_finds() {
        // Notes held three frames, as at the cue matcher's hop; the copy starts off the coarse
        // grid, so the coarse frames blend its notes with their neighbours'.
        let held = |n: usize, seed: u64| -> Vec<Frame> {
            random_frames(n.div_ceil(3), seed).into_iter().flat_map(|f| [f; 3]).take(n).collect()
        };
        let a = held(300, 11);
        let mut b = held(400, 12);
        let copy: Vec<Frame> = a[90..150].iter().map(|f| rotate(f, 12 - 5)).collect();
        b.splice(201..201, copy);
        let cfg = AlignConfig { len: 13, tempos: vec![1.0], shifts: (0..12).collect(), threshold: 0.2 };
        let best =
            |found: Vec<Alignment>| found.into_iter().max_by(|x, y| x.score.total_cmp(&y.score)).expect("a match");
        let full = best(align(&a, &b, false, &cfg));
        let coarse = best(align_coarse(&a, &b, 4, pair_background(&a, &b, &cfg.shifts, 5_000), &cfg));
        for found in [&full, &coarse] {
            assert_eq!(found.shift, 5, "{found:?}");
            assert!((found.a_start as i64 - 90).abs() <= 1 && (found.a_end as i64 - 150).abs() <= 1, "{found:?}");
            assert!((found.b_start - 201.0).abs() <= 1.0, "{found:?}");
        }
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
