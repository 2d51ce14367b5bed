//! Motif discovery over per-track features.
//!
//! Tracks become matching sequences ([`crate::similarity::sequence`]): melody and harmony
//! pitch-class profiles at a coarse frame rate. Every pair of tracks (and every track against
//! itself) is aligned in all 12 keys over a grid of tempo ratios ([`crate::similarity::align`]);
//! the pairwise matches are grouped into families ([`family`]). Matching works tile by tile on the cross-similarity matrix at the coarse rate,
//! so memory stays bounded whatever the tracks' length, and the cost is that of one small matrix
//! product per tile plus a pruned scan of it.

pub mod family;
pub mod phrases;
pub mod sections;
pub mod structure;
pub mod versions;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::Features;
use crate::similarity::align::{AlignConfig, Alignment, seeds, trace_seeds};
use crate::similarity::clock::FrameClock;
use crate::similarity::memo::{
    MatchStore, PairEntry, PairOutcome, ScanPlace, decode_scan, encode_scan, pair_key, scan_key, sequence_digest,
};
use crate::similarity::scan;
use crate::similarity::sequence::{MatchSequence, SequenceConfig, coarsen};
use crate::similarity::versions::{VersionConfig, VersionLink};
use crate::units::{place_order, span_iou};
use family::{Link, Span, group};

/// Least overlap (intersection over union) at which two spans of one track are the same place:
/// a span and the same span shifted by a third of its length, or one twice as long around it.
const SAME_PLACE_IOU: f64 = 0.5;

/// Slowest tempo ratio a recurrence may have (and the inverse, the fastest): a theme played at
/// a quarter or four times its speed is no longer heard as the same one.
const MIN_TEMPO_RATIO: f64 = 0.25;

/// Parameters of motif matching.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MotifConfig {
    /// Shortest motif reported, in seconds. Three seconds is about one sung phrase or two bars:
    /// shorter spans recur by chance (a scale run, a cadence).
    pub min_len_s: f64,
    /// How far, in [0, 1], a match's similarity must rise from the background of unrelated
    /// music towards a perfect match. Lower finds more, and more false motifs.
    pub threshold: f32,
    /// At most this many motifs are reported (the most frequent first).
    pub max_motifs: usize,
    /// Slowest recurrence searched, as a tempo ratio (duration over the first's duration).
    pub max_tempo_ratio: f64,
    /// Fastest recurrence searched.
    pub min_tempo_ratio: f64,
    /// Hop of the matching sequences, seconds (see [`SequenceConfig::hop_s`]).
    pub hop_s: f64,
    /// Share of the predominant melody in frame similarity (see [`SequenceConfig::melody_weight`]).
    pub melody_weight: f32,
}

impl Default for MotifConfig {
    fn default() -> Self {
        let seq = SequenceConfig::default();
        Self {
            min_len_s: 3.0,
            threshold: 0.4,
            max_motifs: 50,
            min_tempo_ratio: 0.8,
            max_tempo_ratio: 1.25,
            hop_s: seq.hop_s,
            melody_weight: seq.melody_weight,
        }
    }
}

impl MotifConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(self.min_len_s.is_finite() && self.min_len_s > 0.0) {
            return Err(Error::bad_param("min_len_s", self.min_len_s, "a positive number of seconds"));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(Error::bad_param("threshold", self.threshold, "a number in [0, 1]"));
        }
        if self.max_motifs == 0 {
            return Err(Error::bad_param("max_motifs", self.max_motifs, "at least 1"));
        }
        if !(MIN_TEMPO_RATIO..=1.0).contains(&self.min_tempo_ratio) {
            return Err(Error::bad_param("min_tempo_ratio", self.min_tempo_ratio, "a ratio in [0.25, 1]"));
        }
        if !(1.0..=1.0 / MIN_TEMPO_RATIO).contains(&self.max_tempo_ratio) {
            return Err(Error::bad_param("max_tempo_ratio", self.max_tempo_ratio, "a ratio in [1, 4]"));
        }
        self.sequence_config().validate()
    }

    /// The matching sequences these settings ask for.
    pub fn sequence_config(&self) -> SequenceConfig {
        SequenceConfig { hop_s: self.hop_s, melody_weight: self.melody_weight, ..SequenceConfig::default() }
    }

    /// The widest spread of lengths (longest over shortest) that keeps every place of a motif
    /// within the tempo range of every other.
    pub(crate) fn tempo_spread(&self) -> f64 {
        self.max_tempo_ratio.min(1.0 / self.min_tempo_ratio)
    }

    /// The tempo grid: geometric steps small enough that the tempo refinement of a trace
    /// (about ±6 %) covers the gap between two of them.
    pub(crate) fn tempos(&self) -> Vec<f32> {
        self.tempo_grid(TEMPO_STEP)
    }

    /// The tempo grid for holding a query of `len` matching frames whole against a sequence
    /// (`find`; [`scan::peaks`] does not refine the tempo): a line at the nearest tempo of the
    /// grid must end within about a frame of where the copy ends, so the longer the query, the
    /// finer the grid. At [`TEMPO_STEP`] a 20-s phrase played 5 % slower than the nearest grid
    /// tempo would be read a second out of step by its end, its second half against other notes.
    /// A motif's whole search for its further places keeps the matcher's grid: there the finer
    /// grid raised the chance level as much as the true places (BENCHMARKS.md, "Query by example").
    pub(crate) fn tempos_for(&self, len: usize) -> Vec<f32> {
        self.tempo_grid((1.0 + 2.0 / len.max(1) as f64).clamp(FINEST_TEMPO_STEP, TEMPO_STEP))
    }

    /// Tempo ratios from the slowest to the fastest in geometric steps of at most `step`, with 1.
    fn tempo_grid(&self, step: f64) -> Vec<f32> {
        let (lo, hi) = (self.min_tempo_ratio, self.max_tempo_ratio);
        let steps = ((hi / lo).ln() / step.ln()).ceil().max(0.0) as usize;
        let mut grid: Vec<f32> = (0..=steps)
            .map(|k| (lo * (hi / lo).powf(if steps == 0 { 0.0 } else { k as f64 / steps as f64 })) as f32)
            .collect();
        if !grid.iter().any(|&t| (t - 1.0).abs() < 1e-3) && lo <= 1.0 && hi >= 1.0 {
            grid.push(1.0);
        }
        grid
    }

    fn align_config(&self, clock: &FrameClock) -> AlignConfig {
        AlignConfig {
            len: clock.frames_in(self.min_len_s).max(2),
            tempos: self.tempos(),
            shifts: (0..12).collect(),
            threshold: self.threshold,
        }
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
    /// Shorter ideas that recur only inside this one's occurrences, a level below it (see
    /// [`with_figures`]); each has no figures of its own.
    pub figures: Vec<Motif>,
}

/// Two tracks that play the same stretch of music, in another key or tempo or arrangement (see
/// [`crate::similarity::versions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Index of the first track in the input slice (the lower index).
    pub a: usize,
    /// Index of the second track.
    pub b: usize,
    /// Seconds of the first track the stretch covers.
    pub a_span: (f64, f64),
    /// Seconds of the second track the stretch covers.
    pub b_span: (f64, f64),
    /// Semitones the second track plays the stretch above the first, in -5..=6.
    pub transpose: i32,
    /// The stretch's duration in the second track over its duration in the first.
    pub tempo_ratio: f64,
    /// Seconds of music the alignment of the two holds.
    pub aligned_s: f64,
}

/// What discovery finds in a set of tracks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Discovery {
    /// The motifs, sorted as [`discover`] sorts them.
    pub motifs: Vec<Motif>,
    /// The pairs of tracks that are versions of one another over a stretch, by first track, then
    /// second.
    pub versions: Vec<Version>,
}

/// Finds the motifs that recur across and within `tracks`.
///
/// The result is deterministic and depends neither on the order of the pairs' evaluation nor
/// on the order of `tracks`; motifs come sorted by number of occurrences (most first), then by
/// their first occurrence.
pub fn discover(tracks: &[&Features], cfg: &MotifConfig) -> Vec<Motif> {
    discover_with(tracks, cfg, None, &|| {}).motifs
}

/// The number of pairs [`discover`] matches for `n` tracks: each pair once, and each track
/// against itself.
pub fn pair_count(n: usize) -> usize {
    n * (n + 1) / 2
}

/// [`discover`], with the tracks that are versions of one another, keeping each pair's matching
/// in `store` and reusing what it holds from earlier runs (see [`crate::similarity::memo`]); the
/// motifs are the same with or without it. `on_pair` is called from the worker threads as each
/// of the [`pair_count`] pairs is done.
pub fn discover_with(
    tracks: &[&Features],
    cfg: &MotifConfig,
    store: Option<&dyn MatchStore>,
    on_pair: &(dyn Fn() + Sync),
) -> Discovery {
    // Aligning `a` against `b` is not symmetric (tempo grid, movement filter, tiling), so the
    // tracks are matched in an order fixed by their content and the indices mapped back.
    let mut order: Vec<usize> = (0..tracks.len()).collect();
    order.sort_by(|&x, &y| content_order(tracks[x], tracks[y]));
    let sorted: Vec<&Features> = order.iter().map(|&i| tracks[i]).collect();
    let (mut motifs, links) = discover_in_order(&sorted, cfg, store, on_pair);
    for m in motifs
        .iter_mut()
        .flat_map(|m| std::iter::once(&mut m.occurrences).chain(m.figures.iter_mut().map(|f| &mut f.occurrences)))
    {
        for o in m.iter_mut() {
            o.track = order[o.track];
        }
        rebase_on_first(m);
        // The first place in the tracks' own order may not be the first the search knew.
        hold_to_tempo_range(m, cfg);
    }
    for m in &mut motifs {
        m.figures.retain(|f| f.occurrences.len() >= 2);
    }
    motifs.retain(|m| m.occurrences.len() >= 2);
    sort_motifs(&mut motifs);
    for m in &mut motifs {
        sort_motifs(&mut m.figures);
    }
    let mut versions: Vec<Version> = links.iter().map(|(a, b, link)| to_version(order[*a], order[*b], link)).collect();
    versions.sort_by_key(|v| (v.a, v.b));
    Discovery { motifs, versions }
}

/// `link` between tracks `a` and `b` as a [`Version`], the lower index first.
fn to_version(a: usize, b: usize, link: &VersionLink) -> Version {
    let ratio = |x: (f64, f64), y: (f64, f64)| if x.1 > x.0 { (y.1 - y.0) / (x.1 - x.0) } else { 1.0 };
    let shift = crate::similarity::wrap_shift(link.shift as i32);
    let aligned_s = link.aligned_s;
    if a < b {
        Version {
            a,
            b,
            a_span: link.a_span,
            b_span: link.b_span,
            transpose: shift,
            tempo_ratio: ratio(link.a_span, link.b_span),
            aligned_s,
        }
    } else {
        let transpose = crate::similarity::wrap_shift(-shift);
        Version {
            a: b,
            b: a,
            a_span: link.b_span,
            b_span: link.a_span,
            transpose,
            tempo_ratio: ratio(link.b_span, link.a_span),
            aligned_s,
        }
    }
}

/// A total order of feature sequences by content alone.
fn content_order(x: &Features, y: &Features) -> std::cmp::Ordering {
    let lens = |f: &Features| (f.chroma.len(), f.melody.len(), f.energy_db.len());
    fn values(f: &Features) -> impl Iterator<Item = f32> + '_ {
        let frames = f.chroma.iter().chain(&f.melody).flatten().copied();
        frames.chain(f.energy_db.iter().copied()).chain([f.tuning_cents])
    }
    lens(x).cmp(&lens(y)).then_with(|| x.hop_s.total_cmp(&y.hop_s)).then_with(|| {
        values(x).zip(values(y)).map(|(p, q)| p.total_cmp(&q)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// Sorts occurrences by track, then start, and makes `transpose` and `tempo_ratio` relative to
/// the (possibly new) first one.
fn rebase_on_first(occurrences: &mut [Occurrence]) {
    occurrences.sort_by(|p, q| place_order((p.track, p.start_s, p.end_s), (q.track, q.start_s, q.end_s)));
    let Some(first) = occurrences.first().cloned() else {
        return;
    };
    let ratio = if first.tempo_ratio.is_finite() && first.tempo_ratio > 0.0 { first.tempo_ratio } else { 1.0 };
    for o in occurrences {
        o.transpose = crate::similarity::wrap_shift(o.transpose - first.transpose);
        o.tempo_ratio /= ratio;
    }
}

/// Keeps the most of `occurrences` (sorted and relative to the first, see [`rebase_on_first`])
/// whose tempo ratios lie within the tempo range of each other, as a motif's places must be.
///
/// Within the range of the first is what a report needs, but which place comes first depends
/// on the order the tracks were given in, and the places kept must not: held within the range
/// of each other, every place is within range of whichever comes first. Of the windows of the
/// range that hold the most places, the one of the highest summed score, then the one of the
/// shortest places.
fn hold_to_tempo_range(occurrences: &mut Vec<Occurrence>, cfg: &MotifConfig) {
    // Ratios equal to the bound stay in, whatever their rounding.
    let spread = cfg.tempo_spread() * (1.0 + 1e-9);
    let mut ratios: Vec<(f64, f32)> = occurrences.iter().map(|o| (o.tempo_ratio, o.score)).collect();
    ratios.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (Some(&(lowest, _)), Some(&(highest, _))) = (ratios.first(), ratios.last()) else {
        return;
    };
    if lowest.is_nan() || lowest <= 0.0 || highest <= lowest * spread {
        return;
    }
    // For each lowest place of a window, the places within the spread above it.
    let mut best: Option<(usize, f32, usize)> = None;
    let mut end = 0;
    for (i, &(low, _)) in ratios.iter().enumerate() {
        end = end.max(i);
        while end + 1 < ratios.len() && ratios[end + 1].0 <= low * spread {
            end += 1;
        }
        let count = end + 1 - i;
        let score: f32 = ratios[i..=end].iter().map(|r| r.1).sum();
        if best.is_none_or(|(c, s, _)| count > c || (count == c && score > s)) {
            best = Some((count, score, i));
        }
    }
    let Some((_, _, from)) = best else { return };
    let low = ratios[from].0;
    occurrences.retain(|o| o.tempo_ratio >= low && o.tempo_ratio <= low * spread);
    rebase_on_first(occurrences);
}

/// Motifs by number of occurrences (most first), then by their first occurrence.
fn sort_motifs(motifs: &mut [Motif]) {
    motifs.sort_by(|x, y| {
        y.occurrences.len().cmp(&x.occurrences.len()).then_with(|| {
            let (p, q) = (&x.occurrences[0], &y.occurrences[0]);
            place_order((p.track, p.start_s, p.end_s), (q.track, q.start_s, q.end_s))
        })
    });
}

/// [`discover`] with the tracks aligned in the order given.
fn discover_in_order(
    tracks: &[&Features],
    cfg: &MotifConfig,
    store: Option<&dyn MatchStore>,
    on_pair: &(dyn Fn() + Sync),
) -> (Vec<Motif>, Vec<(usize, usize, VersionLink)>) {
    let seq_cfg = cfg.sequence_config();
    let seqs: Vec<MatchSequence> = tracks.par_iter().map(|f| MatchSequence::new(f, &seq_cfg)).collect();
    // Every sequence has the same clock: one configuration, and features made at one hop.
    let Some(clock) = seqs.first().map(|s| s.clock) else {
        return (Vec::new(), Vec::new());
    };
    let align_cfg = cfg.align_config(&clock);
    let pairs: Vec<(usize, usize)> = (0..seqs.len()).flat_map(|a| (a..seqs.len()).map(move |b| (a, b))).collect();
    let digests: Vec<[u8; 32]> = match store {
        Some(_) => seqs.par_iter().map(|s| sequence_digest(&s.frames, s.hop_s())).collect(),
        None => Vec::new(),
    };
    let seqs = &seqs;
    let found: Vec<(usize, usize, Alignment)> = pairs
        .par_iter()
        .flat_map_iter(|&(a, b)| {
            let (fa, fb) = (&seqs[a].frames, &seqs[b].frames);
            let matches = match store {
                Some(store) => pair_matches(
                    fa,
                    fb,
                    a == b,
                    &align_cfg,
                    store,
                    &pair_key(&digests[a], &digests[b], a == b, &align_cfg),
                ),
                None => trace_seeds(fa, fb, a == b, &align_cfg, &seeds(fa, fb, a == b, &align_cfg).list),
            };
            on_pair();
            let second = seqs[a].clock.frames_in(1.0).max(1);
            matches.into_iter().filter(move |al| melodic(&fa[al.a_start..al.a_end], second)).map(move |al| (a, b, al))
        })
        .collect();
    let links: Vec<Link> = found.iter().map(|(a, b, al)| to_link(seqs, *a, *b, al)).collect();
    let track_end: Vec<f64> = seqs.iter().map(|s| s.covered_s).collect();
    let links = phrases::by_phrase(
        links,
        &track_end,
        cfg.min_len_s,
        crate::similarity::align::longest_match(align_cfg.len) as f64 * clock.hop_s(),
    );
    let mut motifs: Vec<Motif> = group(&links, cfg.tempo_spread(), &track_end)
        .into_iter()
        .map(|members| {
            let first_len = (members[0].span.end_s - members[0].span.start_s).max(1e-9);
            Motif {
                occurrences: members
                    .iter()
                    .map(|m| Occurrence {
                        track: m.span.track,
                        start_s: m.span.start_s,
                        end_s: m.span.end_s,
                        transpose: m.transpose,
                        tempo_ratio: (m.span.end_s - m.span.start_s) / first_len,
                        score: m.score,
                    })
                    .collect(),
                figures: Vec::new(),
            }
        })
        .collect();
    let memo = store.map(|store| ScanMemo { store, digests: &digests });
    let cut = structure::phrase_cut(seqs, cfg, memo.as_ref());
    motifs.extend(cut.motifs);
    let searched_s: f64 = seqs.iter().map(|s| s.covered_s).sum();
    let bar_s = |n: usize| least_evidence_s(n, cfg.min_len_s) + search_penalty_s(searched_s);
    let (motifs, weak): (Vec<Motif>, Vec<Motif>) =
        motifs.into_iter().partition(|m| evidence_s(&m.occurrences) >= bar_s(m.occurrences.len()));
    let motifs = without_restatements(motifs, cfg.tempo_spread());
    let motifs = with_figures(motifs, &cut.levels);
    let motifs = with_further_places(motifs, 0, seqs, cfg, memo.as_ref());
    let motifs = with_corroborated(motifs, weak, seqs, cfg, memo.as_ref(), &bar_s);
    let links = versions::links(seqs, &VersionConfig::default(), memo.as_ref());
    let mut motifs = each_place_once(versions::across_versions(motifs, &links, &track_end, cfg));
    sort_motifs(&mut motifs);
    motifs.truncate(cfg.max_motifs);
    (motifs, links)
}

/// Strongest first: by the seconds of music explained ([`explained_s`]), then by the first place.
fn strongest_first(x: &Motif, y: &Motif) -> std::cmp::Ordering {
    explained_s(&y.occurrences).total_cmp(&explained_s(&x.occurrences)).then_with(|| {
        let (p, q) = (&x.occurrences[0], &y.occurrences[0]);
        place_order((p.track, p.start_s, p.end_s), (q.track, q.start_s, q.end_s))
    })
}

/// Each place at one level in one motif: taken strongest first ([`strongest_first`]), a motif
/// loses every place that is the same place (IoU [`SAME_PLACE_IOU`], the level at which a
/// place counts as found) as one of a stronger motif, and is dropped with fewer than two left.
///
/// The phrase cut, the pairwise matcher, the whole searches and the places carried across
/// versions each find places of their own, and two motifs of one theme found at other phases
/// (a chorus, and the intro that plays its second half and runs on into it) can end up holding
/// the same stretches: one place told twice as two themes. A place inside a longer one (a theme
/// inside a section, a figure inside its phrase) is not the same place, and stays.
fn each_place_once(mut motifs: Vec<Motif>) -> Vec<Motif> {
    motifs.sort_by(strongest_first);
    let mut kept: Vec<Motif> = Vec::with_capacity(motifs.len());
    for mut motif in motifs {
        motif.occurrences.retain(|o| {
            !kept
                .iter()
                .flat_map(|m| &m.occurrences)
                .any(|p| p.track == o.track && span_iou(o.start_s, o.end_s, p.start_s, p.end_s) >= SAME_PLACE_IOU)
        });
        if motif.occurrences.len() >= 2 {
            kept.push(motif);
        }
    }
    kept
}

/// The motifs that describe music of their own: each stretch of a track is described once.
///
/// The matcher links every pair of stretches that resemble each other, so a repeat of a long
/// passage is found several times over: as the whole phrase, as its halves, and as windows of it
/// at other phases that reach into its neighbours, each window grouped into a motif of its own.
/// Taken strongest first (the seconds of music a motif explains, [`explained_s`]), a motif that
/// [`restates`] one already kept is not reported. A theme that recurs inside a longer repeat at
/// other places than the repeat itself does is not a restatement, and stays beside it.
///
/// A restatement's other occurrences are further places of the kept motif's theme (the two were
/// matched at the same place in it), and join it when their length keeps the kept motif within
/// `max_spread` (longest over shortest) and they overlap none of its occurrences.
fn without_restatements(mut motifs: Vec<Motif>, max_spread: f64) -> Vec<Motif> {
    motifs.sort_by(strongest_first);
    let mut kept: Vec<Motif> = Vec::with_capacity(motifs.len());
    for motif in motifs {
        let Some((k, inside)) =
            kept.iter().enumerate().find_map(|(k, m)| restates(&motif, m).map(|inside| (k, inside)))
        else {
            kept.push(motif);
            continue;
        };
        let host = &mut kept[k];
        // The key of the restatement's occurrences in the host's terms, through the first
        // occurrence they share.
        let shared = inside[0];
        let key_offset = host.occurrences[shared.host].transpose - motif.occurrences[shared.own].transpose;
        let first_len = host.occurrences[0].end_s - host.occurrences[0].start_s;
        for (i, o) in motif.occurrences.iter().enumerate() {
            if inside.iter().any(|p| p.own == i) {
                continue;
            }
            let len = o.end_s - o.start_s;
            let (short, long) = host
                .occurrences
                .iter()
                .map(|p| p.end_s - p.start_s)
                .fold((len, len), |(lo, hi), l| (lo.min(l), hi.max(l)));
            let apart =
                host.occurrences.iter().all(|p| p.track != o.track || p.end_s <= o.start_s || o.end_s <= p.start_s);
            if long <= max_spread * short && apart {
                host.occurrences.push(Occurrence {
                    transpose: crate::similarity::wrap_shift(o.transpose + key_offset),
                    tempo_ratio: len / first_len.max(1e-9),
                    ..o.clone()
                });
            }
        }
    }
    kept
}

/// The share of the places a motif's whole search takes that may be chance (see
/// [`standing_out`]): the chance level its own search sets, not a similarity. The first place
/// besides the searched one may stand where chance expects this many peaks as high.
const FALSE_PLACE_RATE: f64 = 0.2;

/// Frames of a motif's occurrence its whole search reads at most (see [`scan::peaks`]): every
/// frame of a phrase of up to about ten seconds, every few of a longer one, which keeps the
/// search of a long repeat as cheap as a phrase's.
const SCAN_FRAMES: usize = 48;

/// Fewest places of unrelated music a motif's search must meet to measure its chance level.
const MIN_CHANCE_PLACES: usize = 10;

/// Each motif from index `from` on with the further places where it recurs whole, strongest
/// motif first (a place goes to the motif that explains most music; see [`standing_out`]); the
/// motifs before `from` are not searched, and keep every place they hold. A searched motif
/// whose own search does not find it again ([`Search::confirmed`]) is dropped.
fn with_further_places(
    mut motifs: Vec<Motif>,
    from: usize,
    seqs: &[MatchSequence],
    cfg: &MotifConfig,
    memo: Option<&ScanMemo>,
) -> Vec<Motif> {
    let tempos = cfg.tempos();
    let from = from.min(motifs.len());
    // The searches do not depend on one another (only what each may take does): all at once,
    // so that a single long track keeps every core busy too.
    let mut found: Vec<Search> =
        motifs[from..].par_iter().map(|m| standing_out(m, &motifs, seqs, &tempos, memo)).collect();
    let mut order: Vec<usize> = (from..motifs.len()).collect();
    order.sort_by(|&x, &y| {
        explained_s(&motifs[y].occurrences).total_cmp(&explained_s(&motifs[x].occurrences)).then(x.cmp(&y))
    });
    for i in order {
        let added = free_places(std::mem::take(&mut found[i - from].places), &motifs[i], &motifs, cfg);
        motifs[i].occurrences.extend(added);
    }
    motifs.into_iter().enumerate().filter(|(i, _)| *i < from || found[i - from].confirmed).map(|(_, m)| m).collect()
}

/// What a motif's whole search says ([`standing_out`]).
#[derive(Debug)]
struct Search {
    /// The places standing out from the search's chance level, the motif's own among them.
    places: Vec<Occurrence>,
    /// Whether the motif stands: false only when the chance level of the places no motif
    /// holds could be measured and no place of the motif but the one searched stands out from
    /// it by the step-up rule ([`ChanceLevel::step_up`]).
    confirmed: bool,
}

/// The motifs above the evidence bar (`strong`, searched whole already) and those of `weak`
/// (below it) that their whole search corroborates: the places standing out there join a weak
/// motif, which is then held to the bar `bar_s` sets for a motif heard that many times.
///
/// A variant copy (under dialogue, an octave away, re-orchestrated) often matches the phrase
/// only in part in a pairwise search, so a motif whose first statement is the only plain one may
/// rest on fragments of two places, short of the bar for a single match; the same phrase held
/// whole against every track can still find its other places. The weak motifs search after the
/// strong ones have taken theirs, so they never take a place from a motif above the bar.
fn with_corroborated(
    strong: Vec<Motif>,
    weak: Vec<Motif>,
    seqs: &[MatchSequence],
    cfg: &MotifConfig,
    memo: Option<&ScanMemo>,
    bar_s: &dyn Fn(usize) -> f64,
) -> Vec<Motif> {
    let kept = strong.len();
    let mut motifs = strong;
    motifs.extend(weak);
    with_further_places(motifs, kept, seqs, cfg, memo)
        .into_iter()
        .enumerate()
        .filter(|(i, m)| *i < kept || evidence_s(&m.occurrences) >= bar_s(m.occurrences.len()))
        .map(|(_, m)| m)
        .collect()
}

/// The places where `motif`'s clearest occurrence, held against every start frame of every track
/// ([`scan::peaks`]), stands out from the chance level of this very search, its own places among
/// them; [`free_places`] keeps those that pairwise matching left out.
///
/// Pairwise matching seeds on windows of the shortest motif's length, held to a bar that unrelated
/// frames in their best key nearly reach; a copy under dialogue, an octave away or in another
/// arrangement resembles the phrase only moderately frame by frame and often seeds nowhere,
/// while over the whole phrase in one key and tempo it stands out clearly. How clearly is
/// chance here is measured on the search itself: its peaks away from the motif's own places
/// are places of unrelated music, whose upper tail falls off about exponentially (the best of
/// many lines), fitted above their median. The places are taken by a step-up rule (Benjamini
/// and Hochberg's): the `k` strongest besides the searched one stand when the `k`-th reaches
/// the height where that tail expects [`FALSE_PLACE_RATE`] `* k` chance peaks among as many.
/// A theme heard in many places is held to the same share of chance places as one heard twice,
/// so its copies under dialogue or in another arrangement, which stand out only moderately,
/// join it once its plain copies have shown the search finds it; a pair of chance lines, with
/// nothing else standing out, still meets the bar of a single place.
///
/// The same test confirms the motif itself. Pairwise matching tries millions of lines between
/// two tracks, and in music of one style (cadence formulas, a score's shared accompaniments) the
/// best of them reach its cut by chance; such a pair is no exception in the whole search, where
/// the phrase meets every other stretch like it. A motif whose searched place finds none of its
/// other places standing out (by the same step-up rule, over its own places) from the places no
/// motif of `all` holds is not confirmed, and is dropped: three places of a short phrase, each
/// only nearly as high as one chance place might reach, confirm it together.
fn standing_out(
    motif: &Motif,
    all: &[Motif],
    seqs: &[MatchSequence],
    tempos: &[f32],
    memo: Option<&ScanMemo>,
) -> Search {
    // What cannot be searched is neither extended nor refuted.
    let untested = || Search { places: Vec::new(), confirmed: true };
    let Some(q) = motif.occurrences.iter().reduce(|a, b| if b.score > a.score { b } else { a }) else {
        return untested();
    };
    let Some(seq) = seqs.get(q.track) else { return untested() };
    let (first, last) = (seq.clock.frame_at(q.start_s).min(seq.len()), seq.clock.frame_at(q.end_s).min(seq.len()));
    let span = &seq.frames[first..last.max(first)];
    if span.len() < 2 {
        return untested();
    }
    let to_occurrence = |&(t, start, end, shift, tempo, score): &ScanPlace| {
        let s = &seqs[t];
        Occurrence {
            track: t,
            start_s: s.time_of(start),
            end_s: s.time_of(end).min(s.covered_s),
            transpose: crate::similarity::wrap_shift(q.transpose + shift as i32),
            tempo_ratio: q.tempo_ratio * tempo,
            score,
        }
    };
    // The search depends on the span alone, not on the motif around it: a run at another
    // threshold that finds the motif at the same clearest place reads it back.
    let key = memo.map(|m| m.key(q.track, first, last, tempos));
    let stored = match (memo, &key) {
        (Some(m), Some(key)) => m.store.load_scan(key).and_then(|bytes| decode_scan(&bytes, key, seqs.len())),
        _ => None,
    };
    let places: Vec<ScanPlace> = stored.unwrap_or_else(|| {
        let places: Vec<ScanPlace> = seqs
            .par_iter()
            .enumerate()
            .flat_map_iter(|(t, s)| {
                scan::peaks(span, &s.frames, tempos, 0.0, SCAN_FRAMES)
                    .into_iter()
                    .map(move |h| (t, h.start, h.end(span.len()), h.shift, h.tempo, h.score))
            })
            .collect();
        if let (Some(m), Some(key)) = (memo, &key) {
            m.store.store_scan(key, &encode_scan(&places, key));
        }
        places
    });
    let found: Vec<Occurrence> = places.iter().map(to_occurrence).collect();
    let own: Vec<bool> = found.iter().map(|o| held(o, &motif.occurrences)).collect();
    let Some(level) = chance_level(found.iter().zip(&own).filter(|(_, own)| !**own).map(|(o, _)| o.score)) else {
        return untested();
    };
    let bar = level.step_up(found.iter().map(|o| f64::from(o.score)));
    // Chance for the motif itself is what no motif holds: in music that recurs a lot, the
    // places other motifs hold are largely the same music again, and would put its level above
    // the motif's own places.
    let unclaimed = found.iter().filter(|o| !all.iter().any(|m| held(o, &m.occurrences))).map(|o| o.score);
    let confirmed = chance_level(unclaimed).is_none_or(|level| {
        // The searched place finds itself; one more of the motif's places, by the same step-up
        // rule over the motif's own places, confirms it.
        let mine = || found.iter().zip(&own).filter(|(_, own)| **own).map(|(o, _)| f64::from(o.score));
        let bar = level.step_up(mine());
        mine().filter(|&v| v >= bar).count() >= 2
    });
    Search { confirmed, places: found.into_iter().filter(|o| f64::from(o.score) >= bar).collect() }
}

/// The chance level of a whole search, from `chance`, the scores of its places of unrelated
/// music (see [`standing_out`]); `None` when too few measure it.
fn chance_level(chance: impl Iterator<Item = f32>) -> Option<ChanceLevel> {
    let mut chance: Vec<f64> = chance.map(f64::from).collect();
    if chance.len() < MIN_CHANCE_PLACES {
        return None;
    }
    chance.sort_by(f64::total_cmp);
    let median = chance[chance.len() / 2];
    let excess: Vec<f64> = chance.iter().filter(|&&v| v > median).map(|v| v - median).collect();
    if excess.is_empty() {
        return None;
    }
    let mean_excess = excess.iter().sum::<f64>() / excess.len() as f64;
    Some(ChanceLevel { median, mean_excess, peaks: chance.len() })
}

/// The upper tail of a search's chance peaks: `P(peak > x) = 0.5 exp(-(x - median) / mean
/// excess)`, fitted to `peaks` of them.
#[derive(Debug, Clone, Copy)]
struct ChanceLevel {
    /// The median chance score.
    median: f64,
    /// The mean rise of the chance scores above the median that exceed it.
    mean_excess: f64,
    /// How many chance peaks the search met.
    peaks: usize,
}

impl ChanceLevel {
    /// The score above which as many peaks of chance expect `expected` of them.
    fn bar(&self, expected: f64) -> f64 {
        self.median + self.mean_excess * (0.5 * self.peaks as f64 / expected).ln()
    }

    /// The lowest score a search takes, given the `scores` of all its places (the searched one,
    /// its strongest, among them): the `k`-th strongest of the others is taken, with all above
    /// it, when it reaches the bar of [`FALSE_PLACE_RATE`] `* k` chance places, for the largest
    /// such `k`; the bar of one chance place's share when none does.
    fn step_up(&self, scores: impl Iterator<Item = f64>) -> f64 {
        let mut scores: Vec<f64> = scores.collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        let first = self.bar(FALSE_PLACE_RATE);
        scores
            .iter()
            .skip(1)
            .enumerate()
            .rfind(|&(k, &v)| v >= self.bar(FALSE_PLACE_RATE * (k + 1) as f64))
            .map_or(first, |(_, &v)| v.min(first))
    }
}

/// Where whole searches and phrase cuts are kept between runs (the pair matching's store) and
/// the digests of the sequences, which key them: every peak of a search is kept, and its chance
/// level taken again from them for the motif at hand.
struct ScanMemo<'a> {
    store: &'a dyn MatchStore,
    digests: &'a [[u8; 32]],
}

impl ScanMemo<'_> {
    /// The key of the whole search of frames `first..last` of sequence `track`: the searched
    /// sequences, the span and the search's settings.
    fn key(&self, track: usize, first: usize, last: usize, tempos: &[f32]) -> [u8; 32] {
        let mut settings: Vec<u8> = tempos.iter().flat_map(|t| t.to_le_bytes()).collect();
        settings.extend_from_slice(&(SCAN_FRAMES as u64).to_le_bytes());
        scan_key(&self.digests[track], first, last, self.digests, &settings)
    }
}

/// Of `places`, those clear of `motif`'s own (members of one motif never overlap), not mostly
/// inside a place of any motif of `all`, and within the tempo range.
fn free_places(places: Vec<Occurrence>, motif: &Motif, all: &[Motif], cfg: &MotifConfig) -> Vec<Occurrence> {
    let apart = |o: &Occurrence| motif.occurrences.iter().all(|p| p.track != o.track || shared_s(o, p) <= 0.0);
    let in_range = |o: &Occurrence| (cfg.min_tempo_ratio..=cfg.max_tempo_ratio).contains(&o.tempo_ratio);
    places.into_iter().filter(|o| apart(o) && in_range(o) && !all.iter().any(|m| held(o, &m.occurrences))).collect()
}

/// Whether `o` lies mostly (over half the shorter) inside one of `by`.
fn held(o: &Occurrence, by: &[Occurrence]) -> bool {
    by.iter().any(|p| p.track == o.track && shared_s(o, p) > 0.5 * (o.end_s - o.start_s).min(p.end_s - p.start_s))
}

/// How much longer than a motif a phrase that holds it lasts, at least, for the motif to be one
/// of its figures: beyond the tempo range (a slower rendition of the same idea is up to 1.25
/// times as long), so that what a figure leaves of its phrase is at least a third of it.
const FIGURE_RATIO: f64 = 1.5;

/// The motifs at the phrase level, each with its figures.
///
/// A motif may recur only inside the occurrences of a clearly longer one ([`FIGURE_RATIO`]): a
/// two-bar hook heard twice in every pass of an eight-bar phrase and nowhere else. Beside the
/// phrase in the list it would describe the same music again at a level below, as fragments,
/// and add no place of its own. When the longer motif holds no other motif, it is a phrase made
/// of that figure, and the figure is reported with it ([`Motif::figures`]), not beside it. A
/// longer motif that holds two or more motifs is a larger repeat made of themes (as [`sections`]
/// finds them), and they stay themes, unless it is itself at the phrase level of its tracks
/// (`levels`, each track's phrase length in seconds, [`structure::PhraseCut::levels`]: shorter
/// than [`FIGURE_RATIO`] times it): a phrase is the level of a theme, so what recurs only inside
/// one is a figure of it, however many figures it holds (a phrase sung as two bars, their answer
/// and a cadence).
fn with_figures(motifs: Vec<Motif>, levels: &[Option<f64>]) -> Vec<Motif> {
    let typical: Vec<f64> = motifs.iter().map(|m| median_len(&m.occurrences)).collect();
    // The phrase length of a motif's tracks, the longest where they differ.
    let level = |m: &Motif| {
        m.occurrences
            .iter()
            .filter_map(|o| levels.get(o.track).copied().flatten())
            .fold(None, |top: Option<f64>, l| Some(top.map_or(l, |t| t.max(l))))
    };
    let at_phrase_level: Vec<bool> =
        motifs.iter().zip(&typical).map(|(m, &t)| level(m).is_some_and(|l| t < FIGURE_RATIO * l)).collect();
    // For each motif, the clearly longer motifs that hold it.
    let hosts: Vec<Vec<usize>> = (0..motifs.len())
        .map(|i| {
            (0..motifs.len())
                // Strictly longer, so that following phrases upwards ends (empty spans too).
                .filter(|&j| j != i && typical[j] > typical[i] && typical[j] >= FIGURE_RATIO * typical[i])
                .filter(|&j| lies_within(&motifs[i], &motifs[j]))
                .collect()
        })
        .collect();
    let mut guests: Vec<Vec<usize>> = vec![Vec::new(); motifs.len()];
    for (i, h) in hosts.iter().enumerate() {
        for &j in h {
            guests[j].push(i);
        }
    }
    // How many motifs each holds side by side: those it holds that no other of them holds (a
    // figure's own figure is not a second idea of the phrase).
    let holds = |j: usize, i: usize| hosts[i].contains(&j);
    let side_by_side: Vec<usize> =
        guests.iter().map(|g| g.iter().filter(|&&i| !g.iter().any(|&k| k != i && holds(k, i))).count()).collect();
    // Each figure's phrase: of the motifs that hold it alone or are at the phrase level, the one
    // explaining most music.
    let phrase: Vec<Option<usize>> = hosts
        .iter()
        .map(|h| {
            h.iter()
                .copied()
                .filter(|&j| side_by_side[j] == 1 || at_phrase_level[j])
                .max_by(|&x, &y| explained_s(&motifs[x].occurrences).total_cmp(&explained_s(&motifs[y].occurrences)))
        })
        .collect();
    // A phrase that is itself a figure passes its figures on to its own phrase (the chain is
    // finite: each step is to a strictly longer motif).
    let root = |mut i: usize| {
        while let Some(j) = phrase[i] {
            i = j;
        }
        i
    };
    let roots: Vec<usize> = (0..motifs.len()).map(root).collect();
    let mut slots: Vec<Option<Motif>> = motifs.into_iter().map(Some).collect();
    let mut figures: Vec<Vec<Motif>> = vec![Vec::new(); slots.len()];
    for (i, &r) in roots.iter().enumerate() {
        if r != i
            && let Some(f) = slots[i].take()
        {
            figures[r].push(f);
        }
    }
    slots.into_iter().zip(figures).filter_map(|(m, f)| m.map(|m| Motif { figures: f, ..m })).collect()
}

/// Whether every occurrence of `motif` lies mostly (at least half its length) inside an
/// occurrence of `longer`: a figure adds no place of its own to its phrase.
fn lies_within(motif: &Motif, longer: &Motif) -> bool {
    motif.occurrences.iter().all(|o| {
        let half = 0.5 * (o.end_s - o.start_s);
        longer.occurrences.iter().any(|p| p.track == o.track && shared_s(o, p) >= half)
    })
}

/// Seconds two occurrences share (negative when apart; callers compare it with a length).
fn shared_s(a: &Occurrence, b: &Occurrence) -> f64 {
    a.end_s.min(b.end_s) - a.start_s.max(b.start_s)
}

/// The median length of a motif's occurrences, seconds.
fn median_len(occurrences: &[Occurrence]) -> f64 {
    let mut lens: Vec<f64> = occurrences.iter().map(|o| o.end_s - o.start_s).collect();
    lens.sort_by(f64::total_cmp);
    lens.get(lens.len() / 2).copied().unwrap_or(0.0)
}

/// An occurrence of one motif inside an occurrence of another (see [`restates`]).
#[derive(Debug, Clone, Copy)]
struct Inside {
    /// Index of the occurrence in its own motif.
    own: usize,
    /// Index of the occurrence of the other motif that holds it.
    host: usize,
    /// Its start, seconds after the host's.
    offset: f64,
    /// The host's length, seconds.
    host_len: f64,
}

/// Whether `motif` says nothing that `stronger` does not, and if so, which of its occurrences lie
/// inside `stronger`'s: at least half of them lie mostly (at least half their length) inside
/// occurrences of `stronger`, each inside a different one, and at least half sit at the same
/// place within them (the start as a share of the host's length, to a tenth of it or
/// [`SAME_PLACE_S`]). Then wherever `stronger` is heard, so is `motif`, at that place: it is a
/// part or a shifted window of the same repeat. Two occurrences inside one occurrence of
/// `stronger`, or at other places in them, make it a theme of its own.
fn restates(motif: &Motif, stronger: &Motif) -> Option<Vec<Inside>> {
    let n = motif.occurrences.len();
    let inside: Vec<Inside> = motif
        .occurrences
        .iter()
        .enumerate()
        .filter_map(|(own, o)| {
            let half = 0.5 * (o.end_s - o.start_s);
            stronger
                .occurrences
                .iter()
                .enumerate()
                .filter(|(_, p)| p.track == o.track)
                .map(|(host, p)| (host, shared_s(o, p), p))
                .filter(|&(_, overlap, _)| overlap >= half)
                .max_by(|x, y| x.1.total_cmp(&y.1))
                .map(|(host, _, p)| Inside { own, host, offset: o.start_s - p.start_s, host_len: p.end_s - p.start_s })
        })
        .collect();
    if 2 * inside.len() < n {
        return None;
    }
    let mut hosts: Vec<usize> = inside.iter().map(|p| p.host).collect();
    hosts.sort_unstable();
    hosts.dedup();
    if hosts.len() < inside.len() {
        return None;
    }
    // The typical place, as a share of the host's length: a tempo change scales both.
    let mut shares: Vec<f64> = inside.iter().map(|p| p.offset / p.host_len.max(1e-9)).collect();
    shares.sort_by(f64::total_cmp);
    let share = shares[shares.len() / 2];
    let same_place: Vec<Inside> = inside
        .into_iter()
        .filter(|p| (p.offset - share * p.host_len).abs() <= (0.1 * p.host_len).max(SAME_PLACE_S))
        .collect();
    (2 * same_place.len() >= n).then_some(same_place)
}

/// Seconds by which two places within a repeat may differ and still be the same place: the
/// error of a traced span's start, a few matching frames either way.
const SAME_PLACE_S: f64 = 2.0;

/// The seconds of music a motif explains: its occurrences' lengths weighted by how well they
/// match.
fn explained_s(occurrences: &[Occurrence]) -> f64 {
    occurrences.iter().map(|o| (o.end_s - o.start_s) * f64::from(o.score)).sum()
}

/// The evidence of a motif: the seconds its occurrences last, weighted by how well they match
/// (the score), on average.
fn evidence_s(occurrences: &[Occurrence]) -> f64 {
    explained_s(occurrences) / occurrences.len().max(1) as f64
}

/// The least [`evidence_s`] of a motif with `occurrences` occurrences. Across many tracks, short
/// and middling matches between unrelated melodies turn up by chance in some key and at some
/// tempo. A motif heard twice rests on a single match, which must then be worth a perfect match
/// of the shortest motif (`min_len_s`); one heard three times or more is corroborated by its
/// other occurrences and needs three quarters of that, which still turns away families of
/// brief, weak resemblances. A motif short of it may still be corroborated by its whole search
/// ([`with_corroborated`]).
fn least_evidence_s(occurrences: usize, min_len_s: f64) -> f64 {
    if occurrences <= 2 { min_len_s } else { 0.75 * min_len_s }
}

/// Audio the evidence rule was set for: scores of a dozen tracks, about 16 minutes in all.
const REFERENCE_SEARCH_S: f64 = 960.0;

/// Seconds of evidence added to the rule per doubling of the audio searched beyond
/// [`REFERENCE_SEARCH_S`]. Set on three 40-track scores (seeds 21, 23, 24: 1.0 s per doubling
/// lost up to half the true occurrences, 0.5 s none) and checked on four unseen ones.
const EVIDENCE_PER_DOUBLING_S: f64 = 0.5;

/// How much more evidence [`least_evidence_s`] asks when `searched_s` seconds of audio are
/// searched. Every stretch is matched against every other, so chance resemblances grow with the
/// square of the audio, while their number falls off about exponentially with their evidence
/// (on the 12-track scores, by half for every half second): a bar that rises with the logarithm
/// of the audio keeps them in check. Holding their number constant would take about a second per
/// doubling; true motifs grow in number with the tracks too, and half of that keeps them. A
/// 40-track score (54 minutes) asks 0.9 s more.
fn search_penalty_s(searched_s: f64) -> f64 {
    if searched_s > REFERENCE_SEARCH_S {
        EVIDENCE_PER_DOUBLING_S * (searched_s / REFERENCE_SEARCH_S).log2()
    } else {
        0.0
    }
}

/// Ratio between neighbouring tempi of the matcher's grid (see [`MotifConfig::tempos`]).
const TEMPO_STEP: f64 = 1.12;

/// The finest ratio between neighbouring tempi of a whole search's grid (see
/// [`MotifConfig::tempos_for`]): 45 tempi between 0.8 and 1.25.
const FINEST_TEMPO_STEP: f64 = 1.01;

/// Least movement ([`moves`]) of a match. A motif is a melodic idea: it has to go somewhere.
/// Two full changes of pitch content means at least three notes or chords; stretches that move
/// less (a held note, one chord change under a pad) resemble countless others in some key and
/// at some tempo, so matching them says nothing.
const MIN_MOVES: f32 = 2.0;

/// The alignments of `a` against `b`, from `store` when its entry for `key` tells them, else
/// computed and stored.
fn pair_matches(
    a: &[crate::similarity::sequence::Frame],
    b: &[crate::similarity::sequence::Frame],
    same: bool,
    cfg: &AlignConfig,
    store: &dyn MatchStore,
    key: &[u8; 32],
) -> Vec<Alignment> {
    let loaded = store.load(key);
    let entry = loaded.as_deref().and_then(|bytes| PairEntry::decode(bytes, key, a.len(), b.len()));
    let outcome = match (&loaded, &entry) {
        (Some(_), None) => PairOutcome::Damaged,
        (_, Some(e)) if e.traced_at == cfg.threshold => {
            store.record(PairOutcome::Reused);
            return e.alignments.clone();
        }
        (_, Some(e)) if e.seeds.at(cfg.threshold).is_some() => PairOutcome::Retraced,
        _ => PairOutcome::Computed,
    };
    store.record(outcome);
    let seeds = match entry {
        Some(e) if outcome == PairOutcome::Retraced => e.seeds,
        _ => seeds(a, b, same, cfg),
    };
    let list = seeds.at(cfg.threshold).unwrap_or_default();
    let alignments = trace_seeds(a, b, same, cfg, &list);
    let entry = PairEntry { seeds, traced_at: cfg.threshold, alignments };
    store.store(key, &entry.encode(key));
    entry.alignments
}

/// Least movement ([`moves`]) of a match from one second to the next (its frames summed over
/// each second, [`coarsen`]). An arpeggio or a figure over one chord (a tonic-chord intro or
/// outro) changes its notes every frame but plays the same pitches second after second:
/// 0.03-0.13 on the tuning scores with their real-melody fillers, where every true occurrence
/// moves 0.63 or more (median 2.35). Half a change of a second's pitch content over the whole
/// match tells the two apart.
const MIN_SECOND_MOVES: f32 = 0.5;

/// Whether a stretch of matching frames moves enough to be a motif, from frame to frame
/// ([`MIN_MOVES`]) and from one second (`second` frames) to the next ([`MIN_SECOND_MOVES`]).
fn melodic(frames: &[crate::similarity::sequence::Frame], second: usize) -> bool {
    moves(frames) >= MIN_MOVES && moves(&coarsen(frames, second)) >= MIN_SECOND_MOVES
}

/// How much a stretch of matching frames moves: the summed dissimilarity of consecutive frames,
/// about one per change of note or chord.
fn moves(frames: &[crate::similarity::sequence::Frame]) -> f32 {
    frames.windows(2).map(|w| 1.0 - crate::similarity::sequence::dot(&w[0], &w[1])).sum()
}

fn to_link(seqs: &[MatchSequence], a: usize, b: usize, al: &Alignment) -> Link {
    let (sa, sb) = (&seqs[a], &seqs[b]);
    let clamp_end = |s: &MatchSequence, t: f64| t.min(s.covered_s);
    Link {
        a: Span { track: a, start_s: sa.time_of(al.a_start as f64), end_s: clamp_end(sa, sa.time_of(al.a_end as f64)) },
        b: Span { track: b, start_s: sb.time_of(al.b_start), end_s: clamp_end(sb, sb.time_of(al.b_end)) },
        shift: al.shift,
        score: al.score,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn settings_out_of_range_are_refused_naming_the_setting() {
        assert!(MotifConfig::default().validate().is_ok());
        let refused = |cfg: MotifConfig, name: &str| match cfg.validate() {
            Err(Error::BadParam { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        };
        refused(MotifConfig { min_len_s: 0.0, ..MotifConfig::default() }, "min_len_s");
        refused(MotifConfig { threshold: 1.5, ..MotifConfig::default() }, "threshold");
        refused(MotifConfig { max_motifs: 0, ..MotifConfig::default() }, "max_motifs");
        refused(MotifConfig { min_tempo_ratio: 0.1, ..MotifConfig::default() }, "min_tempo_ratio");
        refused(MotifConfig { max_tempo_ratio: 0.9, ..MotifConfig::default() }, "max_tempo_ratio");
        refused(MotifConfig { hop_s: f64::NAN, ..MotifConfig::default() }, "hop_s");
        refused(MotifConfig { melody_weight: -0.1, ..MotifConfig::default() }, "melody_weight");
    }

    use super::*;

    #[test]
    fn a_version_reads_from_the_lower_track_index_whichever_way_it_was_found() {
        use crate::similarity::versions::PathPoint;
        let point = |a_s, b_s| PathPoint { a_s, b_s, similarity: 0.8 };
        // Found from track 4 to track 1: track 1 plays 10-50 s of track 4 two semitones up,
        // taking 44 s.
        let link = VersionLink {
            shift: 2,
            path: vec![point(10.0, 0.0), point(50.0, 44.0)],
            aligned_s: 30.0,
            chance_s: 5.0,
            a_span: (10.0, 50.0),
            b_span: (0.0, 44.0),
        };
        let forward = to_version(4, 1, &link);
        assert_eq!((forward.a, forward.b), (1, 4));
        assert_eq!((forward.a_span, forward.b_span), ((0.0, 44.0), (10.0, 50.0)));
        assert_eq!(forward.transpose, -2);
        assert!((forward.tempo_ratio - 40.0 / 44.0).abs() < 1e-12);
        let kept = to_version(1, 4, &link);
        assert_eq!((kept.a, kept.b, kept.transpose), (1, 4, 2));
        assert!((kept.tempo_ratio - 1.1).abs() < 1e-12);
    }

    #[test]
    fn a_longer_span_is_searched_on_a_finer_tempo_grid_over_the_same_range() {
        let cfg = MotifConfig::default();
        assert_eq!(cfg.tempos_for(10), cfg.tempos(), "a short span keeps the matcher's grid");
        let (short, long) = (cfg.tempos_for(25), cfg.tempos_for(100));
        assert!(long.len() > short.len() && short.len() >= cfg.tempos().len(), "{short:?} {long:?}");
        for grid in [&short, &long] {
            let (lo, hi) = grid.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
            assert!(
                (f64::from(lo) - cfg.min_tempo_ratio).abs() < 1e-6
                    && (f64::from(hi) - cfg.max_tempo_ratio).abs() < 1e-6
            );
            assert!(grid.iter().any(|&t| (t - 1.0).abs() < 1e-3), "{grid:?}");
        }
        // Neighbouring tempi of the long span's grid are close enough that its last frame lands
        // within a frame of any tempo in the range.
        let mut sorted = long.clone();
        sorted.sort_by(f32::total_cmp);
        for w in sorted.windows(2) {
            assert!(f64::from(w[1] / w[0]) <= 1.0 + 2.0 / 100.0 + 1e-6, "{w:?}");
        }
    }

    #[test]
    fn a_motif_keeps_its_places_within_the_tempo_range_of_each_other() {
        let cfg = MotifConfig::default();
        let at = |track: usize, start_s: f64, tempo_ratio: f64| Occurrence {
            track,
            start_s,
            end_s: start_s + 10.0,
            transpose: track as i32,
            tempo_ratio,
            score: 0.9,
        };
        let tempos =
            |m: &[Occurrence]| m.iter().map(|o| (o.track, (o.tempo_ratio * 100.0).round() / 100.0)).collect::<Vec<_>>();
        // The place out of range goes; the first stays first.
        let mut m = vec![at(0, 0.0, 1.0), at(1, 0.0, 0.78), at(2, 0.0, 1.2)];
        hold_to_tempo_range(&mut m, &cfg);
        assert_eq!(tempos(&m), vec![(0, 1.0), (2, 1.2)]);
        // The first is the odd one out: the places after it are kept, relative to the next.
        let mut m = vec![at(0, 0.0, 0.7), at(1, 0.0, 1.0), at(2, 0.0, 1.1), at(3, 0.0, 0.95)];
        rebase_on_first(&mut m);
        hold_to_tempo_range(&mut m, &cfg);
        assert_eq!(tempos(&m), vec![(1, 1.0), (2, 1.1), (3, 0.95)]);
        assert_eq!(m.iter().map(|o| o.transpose).collect::<Vec<_>>(), vec![0, 1, 2]);
        // Within range of the first but not of each other: whichever track came first, the
        // same places are kept (of two pairs of equal count and score, the shorter).
        let mut m = vec![at(0, 0.0, 1.0), at(1, 0.0, 0.8), at(2, 0.0, 1.25)];
        hold_to_tempo_range(&mut m, &cfg);
        assert_eq!(tempos(&m), vec![(0, 1.0), (1, 0.8)]);
        let mut m = vec![at(2, 0.0, 1.0), at(0, 0.0, 0.8), at(1, 0.0, 0.64)];
        rebase_on_first(&mut m);
        hold_to_tempo_range(&mut m, &cfg);
        assert_eq!(tempos(&m), vec![(0, 1.0), (1, 0.8)]);
        // Within range of each other: untouched.
        let mut m = vec![at(0, 0.0, 1.0), at(1, 0.0, 0.9), at(2, 0.0, 1.1)];
        hold_to_tempo_range(&mut m, &cfg);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn the_evidence_bar_rises_with_the_log_of_the_audio_searched() {
        assert_eq!(search_penalty_s(0.0), 0.0);
        assert_eq!(search_penalty_s(REFERENCE_SEARCH_S), 0.0);
        assert!((search_penalty_s(2.0 * REFERENCE_SEARCH_S) - EVIDENCE_PER_DOUBLING_S).abs() < 1e-12);
        assert!((search_penalty_s(8.0 * REFERENCE_SEARCH_S) - 3.0 * EVIDENCE_PER_DOUBLING_S).abs() < 1e-12);
        // A 40-track score of 54 minutes.
        assert!((search_penalty_s(54.0 * 60.0) - 0.877).abs() < 0.001);
    }

    fn motif(places: &[(usize, f64, f64)], score: f32) -> Motif {
        let occurrences = places
            .iter()
            .map(|&(track, start_s, end_s)| Occurrence { track, start_s, end_s, transpose: 0, tempo_ratio: 1.0, score })
            .collect();
        Motif { occurrences, figures: Vec::new() }
    }

    /// The tempo range of the default settings, as a spread of lengths.
    const SPREAD: f64 = 1.25;

    use crate::similarity::sequence::testing::random_frames;

    /// A matching sequence of `frames`, 5 frames a second.
    fn sequence(frames: Vec<crate::similarity::sequence::Frame>) -> MatchSequence {
        let covered_s = frames.len() as f64 * 0.2;
        MatchSequence { frames, clock: FrameClock::new(0.2, 0.2), covered_s }
    }

    /// Three tracks of 80 s; a 6-s phrase in track 0 at 20 s and track 1 at 40 s, and in track
    /// 2 at 60 s three semitones up (rotated down by 9) with every other frame replaced: a copy
    /// that resembles it only half the time, as one under dialogue does.
    fn planted() -> (Vec<MatchSequence>, Motif) {
        use crate::similarity::sequence::rotate;
        let phrase = random_frames(30, 99);
        let mut tracks: Vec<Vec<_>> = (0..3).map(|t| random_frames(400, 7 + t)).collect();
        for (k, f) in phrase.iter().enumerate() {
            tracks[0][100 + k] = *f;
            tracks[1][200 + k] = *f;
            if k % 2 == 0 {
                tracks[2][300 + k] = rotate(f, 9);
            }
        }
        let seqs = tracks.into_iter().map(sequence).collect();
        (seqs, motif(&[(0, 20.0, 26.0), (1, 40.0, 46.0)], 0.9))
    }

    /// Unit matching frames of a chord (harmony half) with one of its notes on top (melody half).
    fn chord_frame(chord: [usize; 3], top: usize) -> crate::similarity::sequence::Frame {
        let mut f = [0f32; crate::similarity::sequence::DIM];
        for p in chord {
            f[p % 12] = 0.5;
        }
        f[12 + top % 12] = 1.0;
        let norm = crate::similarity::sequence::dot(&f, &f).sqrt();
        f.map(|v| v / norm)
    }

    #[test]
    fn a_figure_over_one_chord_moves_note_to_note_but_not_second_to_second() {
        // Five seconds at 5 frames a second: an arpeggio C-E-G over C major, a note a frame.
        let tonic: Vec<_> = (0..25).map(|k| chord_frame([0, 4, 7], [0, 4, 7][k % 3])).collect();
        assert!(moves(&tonic) >= MIN_MOVES, "{}", moves(&tonic));
        assert!(moves(&coarsen(&tonic, 5)) < MIN_SECOND_MOVES, "{}", moves(&coarsen(&tonic, 5)));
        // A melody stepping up the scale over I-IV-V-I, a chord every 1.2 s.
        let chords = [[0, 4, 7], [5, 9, 0], [7, 11, 2], [0, 4, 7]];
        let scale = [0, 2, 4, 5, 7, 9, 11];
        let phrase: Vec<_> = (0..25).map(|k| chord_frame(chords[(k / 6).min(3)], scale[(k / 2) % 7])).collect();
        assert!(moves(&phrase) >= MIN_MOVES);
        assert!(moves(&coarsen(&phrase, 5)) >= MIN_SECOND_MOVES, "{}", moves(&coarsen(&phrase, 5)));
    }

    /// The places a motif's whole search adds, with the default settings.
    fn further(motif: &Motif, all: &[Motif], seqs: &[MatchSequence]) -> Vec<Occurrence> {
        let cfg = MotifConfig::default();
        free_places(standing_out(motif, all, seqs, &cfg.tempos(), None).places, motif, all, &cfg)
    }

    #[test]
    fn a_copy_that_resembles_the_phrase_half_the_time_is_a_further_place() {
        let (seqs, theme) = planted();
        let added = further(&theme, std::slice::from_ref(&theme), &seqs);
        assert_eq!(added.len(), 1, "{added:?}");
        let o = &added[0];
        assert_eq!((o.track, o.transpose), (2, 3));
        assert!((o.start_s - 60.0).abs() < 0.5 && (o.end_s - 66.0).abs() < 0.5, "{o:?}");
        assert!((o.tempo_ratio - 1.0).abs() < 0.05, "{o:?}");
    }

    #[test]
    fn a_moderate_place_joins_a_theme_heard_clearly_but_not_a_lone_searched_place() {
        // Chance bars at 0.2, 0.4 and 0.6 expected peaks: 0.552, 0.483, 0.442.
        let level = ChanceLevel { median: 0.0, mean_excess: 0.1, peaks: 100 };
        let first = level.bar(FALSE_PLACE_RATE);
        assert!((first - 0.1 * 250f64.ln()).abs() < 1e-12);
        // Beside the searched place only a moderate one: it must reach the first bar alone.
        assert_eq!(level.step_up([1.0, 0.5].into_iter()), first);
        // After a clear copy, the second place answers to the bar of two chance places.
        assert_eq!(level.step_up([0.5, 1.0, 0.9].into_iter()), 0.5);
        // Step up: the third place reaches its bar though the second misses its own.
        assert_eq!(level.step_up([1.0, 0.9, 0.46, 0.45].into_iter()), 0.45);
        // The bar is never higher than that of one chance place.
        assert_eq!(level.step_up([1.0, 0.99, 0.98].into_iter()), first);
    }

    #[test]
    fn a_motif_below_the_bar_is_kept_when_its_whole_search_finds_it_again() {
        let (seqs, _) = planted();
        let bar = |n: usize| least_evidence_s(n, 3.0);
        // Two places matched weakly: 6 s at score 0.45 is 2.7 s of evidence, short of 3 s.
        let weak = motif(&[(0, 20.0, 26.0), (1, 40.0, 46.0)], 0.45);
        assert!(evidence_s(&weak.occurrences) < bar(2));
        let kept = with_corroborated(Vec::new(), vec![weak], &seqs, &MotifConfig::default(), None, &bar);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let places: Vec<usize> = kept[0].occurrences.iter().map(|o| o.track).collect();
        assert_eq!(places, [0, 1, 2]);
        // The same weak motif cannot take the copy from a motif above the bar that holds it.
        let weak = motif(&[(0, 20.0, 26.0), (1, 40.0, 46.0)], 0.45);
        let holder = motif(&[(2, 59.0, 67.0), (0, 70.0, 78.0)], 0.9);
        let kept = with_corroborated(vec![holder.clone()], vec![weak], &seqs, &MotifConfig::default(), None, &bar);
        assert_eq!(kept, [holder]);
    }

    #[test]
    fn a_motif_its_own_search_does_not_find_again_is_dropped() {
        let (seqs, theme) = planted();
        // Two stretches of unrelated music, as a chance pair of lines would link them.
        let chance = motif(&[(0, 2.0, 8.0), (1, 2.0, 8.0)], 0.95);
        let kept = with_further_places(vec![chance, theme.clone()], 0, &seqs, &MotifConfig::default(), None);
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].occurrences[..2], theme.occurrences[..]);
        // The motifs before `from` are not searched, so not put to the test either.
        let chance = motif(&[(0, 2.0, 8.0), (1, 2.0, 8.0)], 0.95);
        let kept = with_further_places(vec![chance.clone()], 1, &seqs, &MotifConfig::default(), None);
        assert_eq!(kept, [chance]);
    }

    #[test]
    fn a_motif_below_the_bar_over_unrelated_music_is_dropped() {
        let (seqs, _) = planted();
        let bar = |n: usize| least_evidence_s(n, 3.0);
        let weak = motif(&[(0, 2.0, 8.0), (1, 2.0, 8.0)], 0.45);
        let kept = with_corroborated(Vec::new(), vec![weak], &seqs, &MotifConfig::default(), None, &bar);
        assert!(kept.is_empty(), "{kept:?}");
    }

    #[test]
    fn a_place_another_motif_holds_is_not_taken_and_unrelated_music_adds_none() {
        let (seqs, theme) = planted();
        let holder = motif(&[(2, 59.0, 67.0), (0, 70.0, 78.0)], 0.5);
        let all = [theme.clone(), holder];
        assert!(further(&theme, &all, &seqs).is_empty());
        // Without the copy in track 2 (the motif's own two places kept), nothing stands out.
        let mut without: Vec<MatchSequence> = (0..3).map(|t| sequence(random_frames(400, 7 + t))).collect();
        for (k, f) in random_frames(30, 99).iter().enumerate() {
            without[0].frames[100 + k] = *f;
            without[1].frames[200 + k] = *f;
        }
        let added = further(&theme, std::slice::from_ref(&theme), &without);
        assert!(added.is_empty(), "{added:?}");
    }

    #[test]
    fn a_place_two_motifs_hold_stays_with_the_stronger_and_places_inside_longer_ones_stay() {
        // A chorus of 20 s heard three times.
        let chorus = motif(&[(0, 60.0, 80.0), (0, 120.0, 140.0), (1, 30.0, 50.0)], 0.9);
        // The intro's material found at another phase: two of its places are the chorus's (IoU
        // 0.74 and 0.90), two are its own.
        let intro = motif(&[(0, 2.0, 22.0), (0, 63.0, 83.0), (0, 121.0, 141.0), (0, 180.0, 199.0)], 0.6);
        // Left with one place of its own, a motif is gone.
        let echo = motif(&[(0, 61.0, 81.0), (1, 100.0, 110.0)], 0.5);
        // A hook of 6 s inside the chorus (IoU 0.3) is not the same place, and stays whole.
        let hook = motif(&[(0, 64.0, 70.0), (0, 124.0, 130.0), (1, 34.0, 40.0)], 0.95);
        let kept = each_place_once(vec![hook.clone(), echo, intro, chorus.clone()]);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(kept.contains(&chorus) && kept.contains(&hook), "{kept:?}");
        let own = motif(&[(0, 2.0, 22.0), (0, 180.0, 199.0)], 0.6);
        assert!(kept.contains(&own), "{kept:?}");
    }

    #[test]
    fn a_motif_that_restates_a_stronger_one_is_dropped_and_others_are_kept() {
        // A phrase of 20 s heard in three places.
        let phrase = motif(&[(0, 10.0, 30.0), (0, 60.0, 80.0), (1, 5.0, 25.0)], 0.8);
        // Its first halves: every occurrence at the start of one of the phrase's.
        let halves = motif(&[(0, 10.0, 20.0), (0, 60.0, 70.0), (1, 5.0, 15.0)], 0.9);
        // A window at another phase, reaching into what follows: two of three places are mostly
        // inside the phrase's (14 of 20 s), 6 s in each, so it restates it.
        let window = motif(&[(0, 16.0, 36.0), (0, 66.0, 86.0), (0, 120.0, 140.0)], 0.7);
        // A weak motif elsewhere, and one that only touches the phrase (5 of 12 s inside it).
        let elsewhere = motif(&[(0, 100.0, 106.0), (1, 80.0, 86.0)], 0.3);
        let touching = motif(&[(0, 25.0, 37.0), (0, 75.0, 87.0), (1, 90.0, 102.0)], 0.7);
        let kept = without_restatements(
            vec![halves, window.clone(), elsewhere.clone(), touching.clone(), phrase.clone()],
            SPREAD,
        );
        assert_eq!(kept.len(), 3, "{kept:?}");
        for m in [&elsewhere, &touching] {
            assert!(kept.contains(m), "{m:?} kept");
        }
        // The window's third place is a further place of the phrase: it joins it.
        let mut grown = phrase;
        grown.occurrences.push(window.occurrences[2].clone());
        assert!(kept.contains(&grown), "{kept:?}");
    }

    #[test]
    fn a_restatements_other_places_join_the_stronger_motif_in_its_terms() {
        // A phrase heard in track 0 at +0 and in track 1 at +3; a weaker motif matched 1 s into
        // the same two places (there at +2 and +5: its keys are 2 above the phrase's), and at
        // two more places, one of them far too long for the phrase.
        let mut phrase = motif(&[(0, 10.0, 20.0), (1, 10.0, 20.0)], 1.0);
        phrase.occurrences[1].transpose = 3;
        let mut other = motif(&[(0, 11.0, 21.0), (1, 11.0, 21.0), (2, 50.0, 60.0), (3, 0.0, 30.0)], 0.3);
        for (o, key) in other.occurrences.iter_mut().zip([2, 5, 4, 0]) {
            o.transpose = key;
        }
        let kept = without_restatements(vec![other, phrase], SPREAD);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let joined = &kept[0].occurrences;
        // The place at +4 in the weaker motif's keys is +2 in the phrase's.
        assert_eq!(joined.len(), 3, "{joined:?}");
        assert_eq!((joined[2].track, joined[2].transpose), (2, 2));
        assert!((joined[2].tempo_ratio - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_theme_recurring_inside_a_longer_repeat_is_kept_beside_it() {
        // A passage of 60 s heard twice; inside it a theme of 5 s heard twice, at 5 s and 25 s.
        let passage = motif(&[(0, 0.0, 60.0), (0, 100.0, 160.0)], 1.0);
        let theme = motif(&[(0, 5.0, 10.0), (0, 25.0, 30.0), (0, 105.0, 110.0), (0, 125.0, 130.0)], 0.8);
        let kept = without_restatements(vec![theme.clone(), passage.clone()], SPREAD);
        assert_eq!(kept.len(), 2, "{kept:?}");
        // The same theme heard only where the passage puts it at 5 s says nothing new.
        let part = motif(&[(0, 5.0, 10.0), (0, 105.0, 110.0)], 0.8);
        assert_eq!(without_restatements(vec![part, passage.clone()], SPREAD), vec![passage]);
    }

    #[test]
    fn the_motif_explaining_more_music_is_the_one_kept() {
        // Two descriptions of the same two places: the longer, better match stands.
        let long = motif(&[(0, 0.0, 20.0), (0, 40.0, 60.0)], 0.8);
        let short = motif(&[(0, 2.0, 14.0), (0, 42.0, 54.0)], 0.9);
        assert_eq!(without_restatements(vec![short.clone(), long.clone()], SPREAD), vec![long.clone()]);
        assert_eq!(without_restatements(vec![long.clone(), short], SPREAD), vec![long]);
    }

    #[test]
    fn a_figure_recurring_inside_a_phrase_is_listed_with_the_phrase() {
        // A 20-s phrase heard twice; a 4-s figure heard twice in each pass (the last running a
        // second past the phrase's end).
        let phrase = motif(&[(0, 10.0, 30.0), (0, 60.0, 80.0)], 0.9);
        let figure = motif(&[(0, 11.0, 15.0), (0, 21.0, 25.0), (0, 61.0, 65.0), (0, 77.0, 81.0)], 0.8);
        let levels = with_figures(vec![figure.clone(), phrase.clone()], &[]);
        assert_eq!(levels, vec![Motif { figures: vec![figure.clone()], ..phrase.clone() }]);
        // Heard once more outside the phrase: a place of its own, so a theme beside it.
        let mut wider = figure.clone();
        wider.occurrences.push(Occurrence { start_s: 40.0, end_s: 44.0, ..figure.occurrences[0].clone() });
        assert_eq!(with_figures(vec![wider, phrase.clone()], &[]).len(), 2);
        // Only 1.2 times as long: within the tempo range, the same idea played slower, not a part.
        let slower = motif(&[(0, 10.0, 14.8), (0, 60.0, 64.8)], 0.9);
        let short = motif(&[(0, 10.0, 14.0), (0, 60.0, 64.0)], 0.8);
        assert_eq!(with_figures(vec![short.clone(), slower.clone()], &[]).len(), 2);
    }

    #[test]
    fn themes_inside_a_larger_repeat_of_several_stay_in_the_list() {
        // A 60-s passage heard twice, made of two themes: it is a section, and they are themes.
        let passage = motif(&[(0, 0.0, 60.0), (0, 100.0, 160.0)], 1.0);
        let first = motif(&[(0, 5.0, 15.0), (0, 105.0, 115.0)], 0.8);
        let second = motif(&[(0, 30.0, 40.0), (0, 130.0, 140.0)], 0.8);
        let levels = with_figures(vec![passage.clone(), first.clone(), second.clone()], &[]);
        assert_eq!(levels.len(), 3);
        assert!(levels.iter().all(|m| m.figures.is_empty()));
        // Where the track's phrases run about 24 s, the 60-s passage is still above the phrase
        // level (over 1.5 times it), and its themes stay.
        let levels = with_figures(vec![passage, first, second], &[Some(24.0)]);
        assert_eq!(levels.len(), 3);
    }

    #[test]
    fn the_figures_inside_a_phrase_at_its_track_s_phrase_level_are_listed_with_it() {
        // A 28-s phrase heard twice, in a track whose phrases run 28 s; two 7-s figures recur
        // only inside it (its first bars, and its answer).
        let phrase = motif(&[(0, 15.0, 43.0), (0, 104.0, 132.0)], 0.9);
        let opening = motif(&[(0, 16.0, 23.0), (0, 105.0, 112.0)], 0.8);
        let answer = motif(&[(0, 30.0, 37.0), (0, 37.0, 43.0), (0, 118.0, 125.0), (0, 125.0, 132.0)], 0.8);
        let levels = with_figures(vec![phrase.clone(), opening.clone(), answer.clone()], &[Some(28.0)]);
        assert_eq!(levels.len(), 1, "{levels:?}");
        let mut figures = levels[0].figures.clone();
        figures.sort_by(|x, y| x.occurrences[0].start_s.total_cmp(&y.occurrences[0].start_s));
        assert_eq!(figures, vec![opening.clone(), answer.clone()]);
        // Without a phrase length for the track, a motif holding two is a larger repeat.
        assert_eq!(with_figures(vec![phrase, opening, answer], &[None]).len(), 3);
    }

    #[test]
    fn motifs_of_empty_spans_are_no_figures_of_each_other() {
        let a = motif(&[(0, 5.0, 5.0), (0, 9.0, 9.0)], 0.8);
        let b = motif(&[(0, 5.0, 5.0), (0, 9.0, 9.0)], 0.7);
        assert_eq!(with_figures(vec![a, b], &[]).len(), 2);
    }

    #[test]
    fn a_figure_of_a_figure_goes_to_the_phrase() {
        // A 40-s phrase holding only a 10-s idea, which holds only a 4-s cell: both are listed
        // with the phrase, one level below it.
        let phrase = motif(&[(0, 0.0, 40.0), (0, 50.0, 90.0)], 0.9);
        let idea = motif(&[(0, 2.0, 12.0), (0, 52.0, 62.0)], 0.8);
        let cell = motif(&[(0, 3.0, 7.0), (0, 53.0, 57.0)], 0.8);
        let levels = with_figures(vec![phrase.clone(), idea.clone(), cell.clone()], &[]);
        assert_eq!(levels.len(), 1, "{levels:?}");
        let mut figures = levels[0].figures.clone();
        figures.sort_by(|x, y| x.occurrences[0].start_s.total_cmp(&y.occurrences[0].start_s));
        assert_eq!(figures, vec![idea, cell]);
    }
}
