//! Cue detection: where known tracks play inside long episode audio.
//!
//! **Verbatim cues** (the recording itself, at its own pitch and speed) are found by spectral
//! peaks ([`crate::similarity::fingerprint`]): landmark votes propose (track, offset) pairs,
//! taken in the order of how unlikely their densest burst of votes is by chance; for each whose
//! track's peaks are found more often than chance somewhere, every second where the track
//! could play at that offset is ranked against decoy offsets of the same track; pieces at one
//! offset chain across dialogue into cues, whose ends are placed at the share of hidden blocks
//! each cue itself shows, and where cues overlap the one with the most evidence takes its
//! frames and every other is judged again on the frames left to it.
//!
//! **Arranged cues** (another key or arrangement) come from the motif matcher's tiled chroma
//! alignment, at the track's own tempo but in all 12 keys, its seeds searched on sequences
//! four times coarser and traced at full resolution ([`align_coarse`]). Finding a cue and
//! finding where it ends are two questions. Candidates are gathered liberally: any stretch of the shortest
//! cue's length that rises a little above the background. Each is followed along its line (its
//! offset into the track and its key) as long as the similarity stays above a lower bar
//! (hysteresis): music ducked under dialogue matches less, but still better than unrelated
//! audio does. A candidate becomes a cue only if its whole stretch rises by the threshold above
//! the similarity of unrelated audio *in its key*: that level, not the best of 12 keys per
//! frame pair, is what a line of one key is up against, and if its rise times its length is
//! worth a perfect match of the shortest cue; or, where it does not rise so far (music under
//! dialogue), if beyond the stretch that proposed it the track outranks decoy offsets of
//! itself a second at a time, as a verbatim cue's peaks must. Exact cues come first where the
//! two overlap.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::Features;
use crate::features::peaks::{PeakBins, PeakConfig, SpectralPeaks};
use crate::similarity::align::{AlignConfig, Alignment, align_coarse, pair_background};
use crate::similarity::clock::FrameClock;
use crate::similarity::fingerprint::{
    self, BlockRank, FingerprintConfig, HitTable, IndexStore, LandmarkIndex, OffsetVotes, PeakCoverage,
};
use crate::similarity::sequence::{Frame, MatchSequence, SequenceConfig, dot, rotate};
use crate::similarity::wrap_shift;

/// Parameters of cue detection.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CueConfig {
    /// Shortest cue reported, in seconds: shorter resemblances are themes shared between
    /// tracks or chance, not a track being played.
    pub min_len_s: f64,
    /// How far, in [0, 1], a cue's mean similarity must rise from that of unrelated audio in
    /// the cue's key towards a perfect match.
    pub threshold: f32,
    /// How far, in [0, 1], a stretch must rise from the background of its tile of the
    /// similarity matrix (the best of 12 keys per frame pair) to become a candidate.
    pub candidate_threshold: f32,
    /// The share of `threshold`, in [0, 1], that keeps a cue going once found (see the module
    /// notes): where the track, at the cue's offset, still rises this much of the threshold
    /// above unrelated audio in that key, the cue goes on.
    pub continue_share: f32,
    /// Pieces of one cue separated by at most this many seconds are joined when they keep the
    /// same offset into the track: music ducked under a line of dialogue plays on underneath.
    pub max_gap_s: f64,
    /// Hop of the matching sequences, seconds.
    pub hop_s: f64,
    /// Share of the predominant melody in frame similarity. Lower than for motifs: speech
    /// over the music disturbs the melody estimate more than the harmony.
    pub melody_weight: f32,
    /// Landmark hashing and offset-locked evidence of verbatim cues.
    pub fingerprint: FingerprintConfig,
    /// Landmarks that must agree on a (track, offset) before its evidence is measured.
    pub min_votes: usize,
    /// At most this many (track, offset) candidates an episode, those whose votes are least
    /// likely by chance first: bounds the work on long episodes with many tracks.
    pub max_candidates: usize,
    /// Longest burst of landmark votes a candidate is judged by, seconds: votes come in bursts
    /// where dialogue pauses, and a burst stands out from chance more than votes spread over a
    /// whole track.
    pub vote_window_s: f64,
    /// Evidence, in nats, a verbatim cue must gather: the logarithm of how many times likelier
    /// its blocks' ranks among the decoys are with the track playing than without (see
    /// [`crate::similarity::fingerprint`]). Where the track does not sound, a block ranks like
    /// one more decoy (every block of a candidate's stretch is ranked, not only those its own
    /// evidence picked out), and the chance that one stretch reaches this evidence is then at
    /// most e^-nats.
    pub accept_nats: f32,
    /// Raw evidence (the log-likelihood ratio of found peaks, see
    /// [`fingerprint::raw_evidence`]) some stretch at a candidate's offset needs before the
    /// candidate's blocks are ranked against decoys, nats.
    pub piece_nats: f32,
    /// The share of a playing track's seconds that dialogue may hide, in [0, 1): under
    /// presence a block is heard (beats every decoy) with the remaining chance and hidden,
    /// ranking like a decoy, with this one, so a line of dialogue costs a cue
    /// `-ln(masked_share)` nats a second instead of ending it.
    pub masked_share: f32,
    /// How much less likely, in [0, 1), a heard block of a playing track is to be beaten by one
    /// more decoy: decoys that land on the same music (a bar or a loop later) can beat it.
    /// Any value keeps the chance of a false cue under e^-`accept_nats`; it decides how much a
    /// block that nearly beats every decoy counts.
    pub heard_rank_decay: f64,
    /// Shortest exact cue, seconds. Two tracks of one score often share a phrase note for note
    /// (a theme, a cadence), and over that phrase alone the episode cannot tell which of them
    /// plays; where one plays on past it, that one takes the phrase.
    pub min_exact_len_s: f64,
}

impl CueConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(self.min_len_s.is_finite() && self.min_len_s > 0.0) {
            return Err(Error::bad_param("min_len_s", self.min_len_s, "a positive number of seconds"));
        }
        for (name, value) in [
            ("threshold", self.threshold),
            ("candidate_threshold", self.candidate_threshold),
            ("continue_share", self.continue_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::bad_param(name, value, "a number in [0, 1]"));
            }
        }
        if !(self.max_gap_s.is_finite() && self.max_gap_s >= 0.0) {
            return Err(Error::bad_param("max_gap_s", self.max_gap_s, "seconds >= 0"));
        }
        if !(self.min_exact_len_s.is_finite() && self.min_exact_len_s >= 0.0) {
            return Err(Error::bad_param("min_exact_len_s", self.min_exact_len_s, "seconds >= 0"));
        }
        if !(0.0..1.0).contains(&self.masked_share) {
            return Err(Error::bad_param("masked_share", self.masked_share, "a share in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.heard_rank_decay) {
            return Err(Error::bad_param("heard_rank_decay", self.heard_rank_decay, "a share in [0, 1)"));
        }
        if self.min_votes == 0 {
            return Err(Error::bad_param("min_votes", self.min_votes, "at least 1"));
        }
        if !(self.vote_window_s.is_finite() && self.vote_window_s > 0.0) {
            return Err(Error::bad_param("vote_window_s", self.vote_window_s, "seconds > 0"));
        }
        if self.max_candidates == 0 {
            return Err(Error::bad_param("max_candidates", self.max_candidates, "at least 1"));
        }
        if !(self.piece_nats.is_finite() && self.piece_nats > 0.0) {
            return Err(Error::bad_param("piece_nats", self.piece_nats, "nats > 0"));
        }
        if !self.accept_nats.is_finite() {
            return Err(Error::bad_param("accept_nats", self.accept_nats, "a finite number of nats"));
        }
        self.sequence_config().validate()?;
        self.fingerprint.validate()
    }

    /// The matching sequences these settings ask for.
    pub fn sequence_config(&self) -> SequenceConfig {
        SequenceConfig { hop_s: self.hop_s, melody_weight: self.melody_weight, ..SequenceConfig::default() }
    }
}

impl Default for CueConfig {
    fn default() -> Self {
        Self {
            min_len_s: 5.0,
            threshold: 0.5,
            candidate_threshold: 0.2,
            continue_share: 0.5,
            max_gap_s: 20.0,
            hop_s: 0.3,
            melody_weight: 0.3,
            fingerprint: FingerprintConfig::default(),
            min_votes: 4,
            max_candidates: 20_000,
            vote_window_s: 30.0,
            // About 10^6 (chain, start) pairs an episode are tried (candidates times the blocks
            // where their tracks could play); at 15 nats each is a false cue with a chance of at
            // most 3e-7, a bound of a few tenths of a false cue an episode (about 0.1 are seen).
            accept_nats: 15.0,
            piece_nats: 8.0,
            // As short as any cue: since every block of a candidate is ranked, chance stretches
            // of 5-10 s no longer reach `accept_nats` (the tuning episodes give the same sheets
            // with 5 s as with the 10 s this once needed).
            min_exact_len_s: 5.0,
            masked_share: 0.5,
            // Between what the true cues of the tuning episodes show: heard blocks beaten by
            // one decoy 0.19 (generated tracks) to 0.37 (real recordings) times as often as by
            // none.
            heard_rank_decay: 1.0 / 3.0,
        }
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
    /// Similarity in [0, 1]: for an exact match the share of the track's peaks heard in the
    /// episode, for an arranged one the rise of chroma similarity above unrelated audio.
    pub score: f32,
    /// How the cue was found.
    pub kind: MatchKind,
    /// Weight of the cue when cues overlap: evidence in nats for exact matches, similarity
    /// times seconds for arranged ones.
    pub evidence: f64,
    /// Whether the cue outranked decoy offsets of its own track (every exact cue; an arranged
    /// one whose similarity does not rise enough, where it does so beyond the stretch that
    /// proposed it).
    pub ranked: bool,
}

/// How a cue matches its track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// The recording itself, at its own pitch and speed: found by its spectral peaks.
    Exact,
    /// The track's music in another key or arrangement: found by chroma alignment.
    Arranged,
}

impl Cue {
    fn len(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// Whether the cue carries enough evidence to be reported. An arranged cue rests on one
    /// chroma match, and across many tracks and keys short, middling matches turn up by
    /// chance: its rise times its length has to be worth a perfect match of the shortest cue
    /// (`min_len_s`), as a motif heard twice has to be worth one of the shortest motif. An exact
    /// cue has passed the rank test already.
    fn is_worth(&self, min_len_s: f64) -> bool {
        self.kind == MatchKind::Exact || self.ranked || f64::from(self.score) * self.len() >= min_len_s
    }

    /// Episode time minus track time: constant along one uninterrupted cue.
    fn offset(&self) -> f64 {
        self.start_s - self.track_start_s
    }
}

/// What cue detection keeps of one track: its strongest peaks a frame (those the evidence
/// reads) and its chroma matching sequence. A small part of its features, so that a library of
/// many hours of tracks fits in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct CueTrack {
    peaks: PeakBins,
    sequence: MatchSequence,
}

impl CueTrack {
    /// What detection with `cfg` reads of a track's `features`.
    pub fn new(features: &Features, cfg: &CueConfig) -> Self {
        Self {
            peaks: PeakBins::strongest(&features.peaks, cfg.fingerprint.evidence_peaks),
            sequence: MatchSequence::new(features, &cfg.sequence_config()),
        }
    }

    /// Frames of the track's peaks, as its landmark index counts them.
    pub fn frames(&self) -> u32 {
        self.peaks.frames() as u32
    }
}

/// What cue detection needs of the tracks, built once for any number of episodes: what it
/// reads of each track and their landmark index.
pub struct TrackSet {
    tracks: Vec<CueTrack>,
    index: LandmarkIndex,
    table: HitTable,
}

impl TrackSet {
    /// The set of `tracks` and their landmark `index` (made of the same tracks' full peaks, in
    /// the same order) for detection with `cfg`.
    pub fn new(tracks: Vec<CueTrack>, index: LandmarkIndex, cfg: &CueConfig) -> Self {
        Self { tracks, index, table: HitTable::new(&cfg.fingerprint) }
    }

    /// Indexes `tracks` for detection with `cfg`; the landmark index is taken from `store`
    /// when it holds one for these tracks and settings, and kept there otherwise.
    pub fn from_features(tracks: &[&Features], cfg: &CueConfig, store: Option<&dyn IndexStore>) -> Self {
        let peaks: Vec<&SpectralPeaks> = tracks.iter().map(|t| &t.peaks).collect();
        let index = match store {
            Some(store) => LandmarkIndex::cached(&peaks, &cfg.fingerprint, store).0,
            None => LandmarkIndex::build(&peaks, &cfg.fingerprint),
        };
        Self::new(tracks.par_iter().map(|f| CueTrack::new(f, cfg)).collect(), index, cfg)
    }
}

/// Finds where the tracks of `set` play in `episode`, sorted by episode time; `set` must have
/// been built with the same `cfg`.
///
/// Verbatim cues come from the tracks' spectral peaks when both sides have them
/// ([`crate::features::FeatureConfig::peaks`]); the chroma alignment then adds the cues in
/// another key or arrangement, where the episode is not already explained by an exact one.
pub fn detect(set: &TrackSet, episode: &Features, cfg: &CueConfig) -> Vec<Cue> {
    let exact = exact_cues(set, episode, cfg);
    let arranged = arranged_cues(&set.tracks, episode, cfg, &exact);
    let mut cues = resolve_overlaps(exact.into_iter().chain(arranged));
    // Resolving overlaps may have cut an arranged cue short.
    cues.retain(|c| c.len() >= cfg.min_len_s && c.is_worth(cfg.min_len_s));
    cues.sort_by(|x, y| x.start_s.total_cmp(&y.start_s).then(x.track.cmp(&y.track)));
    cues
}

/// The grid of peak steps cue detection reads: the default band with the octave below it
/// (50-100 Hz) added. Dialogue leaves that octave nearly empty (a voice's fundamental lies
/// above about 85 Hz, mostly above 100), so a bass line or a kick drum is found there when
/// speech masks everything above; its peaks are coarse (a 0.19-s window merges notes a
/// semitone apart down there), which costs little where only presence at a known offset is
/// asked. A whole octave, so that every step above 100 Hz stays where it was.
pub fn peak_config() -> PeakConfig {
    PeakConfig { low_hz: 50.0, ..PeakConfig::default() }
}

/// Cues where a track's own recording plays: landmark votes propose (track, offset) pairs, and
/// the offset-locked evidence of each decides where, if anywhere, the track sounds.
fn exact_cues(set: &TrackSet, episode: &Features, cfg: &CueConfig) -> Vec<Cue> {
    let (tracks, index, table) = (&set.tracks, &set.index, &set.table);
    if episode.peaks.frames() == 0 || tracks.iter().all(|t| t.peaks.frames() == 0) {
        return Vec::new();
    }
    let fp = &cfg.fingerprint;
    // Evidence runs are counted in feature frames, placed at their centres.
    let clock = FrameClock::new(episode.hop_s, episode.hop_s);
    let window = u32::try_from(clock.frames_in(cfg.vote_window_s)).unwrap_or(u32::MAX);
    let candidates = index.query(&episode.peaks, fp, cfg.min_votes, window, cfg.max_candidates);
    let coverage = PeakCoverage::new(&episode.peaks, peak_config().grid_len());
    let gap = clock.frames_in(cfg.max_gap_s);
    // Evidence is ranked a second at a time: about a note, so that a block's peaks are mostly
    // fresh ones and one passing coincidence is one block.
    let block = clock.frames_in(1.0).max(1);
    let masked = f64::from(cfg.masked_share);
    let pieces: Vec<Traced> = candidates
        .par_iter()
        .filter_map(|cand| trace_candidate(&tracks[cand.track].peaks, &coverage, cand, table, block, cfg))
        .collect();
    let min_len = clock.frames_in(cfg.min_exact_len_s);
    let traced: Vec<Traced> = chain_pieces(pieces, gap, block, masked.ln() as f32)
        .into_iter()
        .filter(|c| c.piece.frames.len() >= min_len)
        .collect();
    let rules = Rules { accept_nats: cfg.accept_nats, min_len, block, masked, decay: cfg.heard_rank_decay };
    resolve_exact(traced, &rules)
        .into_iter()
        .map(|c| {
            let track = &tracks[c.track].peaks;
            let (a, b) = (c.frames.start, c.frames.end);
            Cue {
                track: c.track,
                start_s: clock.centre_of(a as f64),
                end_s: clock.centre_of(b as f64),
                track_start_s: clock.centre_of((a as i64 - c.offset) as f64),
                transpose: 0,
                score: found_share(track, &coverage, c.offset, a, b, fp.evidence_peaks),
                kind: MatchKind::Exact,
                evidence: f64::from(c.nats),
                ranked: true,
            }
        })
        .collect()
}

/// The evidence of one candidate, block by block, over every episode frame where its track could
/// play at its offset (within [`RANK_REACH_S`] of its burst of votes); `None` where the raw
/// evidence nowhere rises to `piece_nats` (the track does not sound there) or no block beats
/// every decoy.
///
/// Which blocks are ranked depends on the candidate's offset alone, not on any evidence: blocks
/// chosen for the offset's own rising evidence beat every decoy about a quarter of the time
/// where only dialogue plays, since the decoys went through no such choice; ranked whole, a
/// stretch where the track does not sound ranks like its decoys, so that a heard block is worth
/// what [`rank_nats`] says (BENCHMARKS.md, "Every block of a candidate ranked"). Nor is the
/// stretch the one around the candidate's burst of votes: a weak cue's densest burst may be a
/// chance one elsewhere on the same offset.
fn trace_candidate(
    track: &PeakBins,
    coverage: &PeakCoverage,
    cand: &OffsetVotes,
    table: &HitTable,
    block: usize,
    cfg: &CueConfig,
) -> Option<Traced> {
    // Within reach of the burst: a bound on the work for long tracks, set by the burst, so
    // still by the offset's votes and not by any evidence.
    let reach = RANK_REACH_S as usize * block;
    let inside = fingerprint::overlap(track, coverage, cand.offset);
    let inside = inside.start.max((cand.burst.0 as usize).saturating_sub(reach))
        ..inside.end.min((cand.burst.1 as usize).saturating_add(reach + 1)).max(inside.start);
    let first = inside.start;
    let raw = fingerprint::raw_evidence(track, coverage, cand.offset, table, inside);
    // The stretches where the track's peaks are found more often than chance place a cue's
    // ends to a frame.
    let runs: Vec<Range<usize>> =
        positive_runs(&raw, cfg.piece_nats).into_iter().map(|(a, b, _)| a + first..b + first).collect();
    if runs.is_empty() {
        return None;
    }
    // Whole blocks, so that the blocks of the pieces of one track line up with each other.
    let frames = first / block * block..first + raw.len();
    let ranks = fingerprint::decoy_ranks(track, coverage, cand.offset, table, frames.clone(), block, RANKS_TOLD);
    let (masked, decay) = (f64::from(cfg.masked_share), cfg.heard_rank_decay);
    let nats: Vec<f32> = ranks.iter().map(|r| rank_nats(*r, masked, decay)).collect();
    // A candidate none of whose blocks ranks near the top is chance.
    let heard = nats.iter().filter(|&&v| v > 0.0).sum::<f32>();
    (heard > 0.0).then_some(Traced {
        piece: Piece { track: cand.track, offset: cand.offset, frames, nats: heard },
        nats,
        ranks: ranks.iter().map(|r| r.map(Told::from)).collect(),
        runs,
    })
}

/// Episode frames where a track sounds at one offset (episode frame minus track frame), with
/// the evidence they gather.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    track: usize,
    offset: i64,
    frames: Range<usize>,
    nats: f32,
}

/// Joins the pieces of one track that continue each other: offsets at most a frame apart (the
/// landmark votes pool neighbouring offsets), separated by at most `gap` frames. Each piece
/// continues the chain of closest offset that it may, so pieces at other offsets in between
/// (chance agreements, a repeated phrase of the track) do not break a cue apart. A chain keeps
/// the offset of its strongest piece; its blocks between pieces count as not heard
/// (`unheard` nats each), where pieces overlap the better block counts.
fn chain_pieces(mut pieces: Vec<Traced>, gap: usize, block: usize, unheard: f32) -> Vec<Traced> {
    let hidden = Some(Told::HIDDEN);
    pieces.sort_by(|x, y| {
        let (x, y) = (&x.piece, &y.piece);
        (x.track, x.frames.start, x.offset).cmp(&(y.track, y.frames.start, y.offset))
    });
    // Each chain with the evidence of its strongest piece.
    let mut chains: Vec<(Traced, f32)> = Vec::with_capacity(pieces.len());
    let mut group = 0;
    for p in pieces {
        if chains.get(group).is_some_and(|(c, _)| c.piece.track != p.piece.track) {
            group = chains.len();
        }
        let open = chains[group..]
            .iter_mut()
            .filter(|(c, _)| {
                p.piece.frames.start <= c.piece.frames.end.saturating_add(gap)
                    && c.piece.offset.abs_diff(p.piece.offset) <= 1
            })
            .min_by_key(|(c, _)| c.piece.offset.abs_diff(p.piece.offset));
        match open {
            Some((c, strongest)) => {
                let at = (p.piece.frames.start - c.piece.frames.start) / block;
                if c.nats.len() < at + p.nats.len() {
                    c.nats.resize(at + p.nats.len(), unheard);
                    c.ranks.resize(at + p.nats.len(), hidden);
                }
                for (k, (&v, &r)) in p.nats.iter().zip(&p.ranks).enumerate() {
                    if v > c.nats[at + k] {
                        (c.nats[at + k], c.ranks[at + k]) = (v, r);
                    }
                }
                c.piece.frames.end = c.piece.frames.end.max(p.piece.frames.end);
                c.runs.extend(p.runs);
                if p.piece.nats > *strongest {
                    (*strongest, c.piece.offset) = (p.piece.nats, p.piece.offset);
                }
            }
            None => {
                let nats = p.piece.nats;
                chains.push((p, nats));
            }
        }
    }
    chains.into_iter().map(|(c, _)| c).collect()
}

/// Seconds either side of a candidate's burst of votes within which its blocks are ranked: a
/// bound on the work a long track costs (a candidate ranks every block where its track could
/// play). Tracks of up to two minutes, as in every benchmark set of BENCHMARKS.md, are ranked
/// whole wherever their burst lies.
const RANK_REACH_S: u32 = 120;

/// Ranks among the decoys that verbatim cue detection tells apart: 0, 1 and 2 decoys at or
/// above the offset, and "more" (see [`rank_nats`]).
const RANKS_TOLD: usize = 3;

/// The evidence, in nats, of one block's rank among the decoys (see
/// [`fingerprint::decoy_ranks`]): the logarithm of the rank's chance under presence over its
/// chance under absence.
///
/// Under absence each of the `decoys + 1` ranks has the same chance. Under presence dialogue
/// hides the block with the chance `masked` (it then ranks like a decoy); a heard block is
/// beaten by `r` decoys with a chance falling as `decay^r` (decoys that land on the same music,
/// a bar or a loop later, can beat it). Ranks from [`RANKS_TOLD`] on count as hidden. Whatever
/// `masked` and `decay` are, the ratio averages at most 1 under absence, so a stretch reaches
/// `accept_nats` by chance with at most e^-accept_nats; they only decide how fast a playing track
/// gets there.
fn rank_nats(rank: Option<BlockRank>, masked: f64, decay: f64) -> f32 {
    let Some(BlockRank { above, decoys }) = rank else { return 0.0 };
    let ranks = (decoys + 1) as f64;
    let heard = if above < RANKS_TOLD {
        // A geometric law over the ranks, normalised over all of them.
        (1.0 - decay) * decay.powi(above as i32) / (1.0 - decay.powf(ranks))
    } else {
        0.0
    };
    (masked + (1.0 - masked) * ranks * heard).ln() as f32
}

/// A verbatim cue under consideration: its evidence block by block over its frames, and the
/// stretches of frames where its raw evidence rose.
struct Traced {
    piece: Piece,
    nats: Vec<f32>,
    /// The rank of each block, `None` where it could not be ranked.
    ranks: Vec<Option<Told>>,
    runs: Vec<Range<usize>>,
}

/// One block's rank among its decoys, as a candidate keeps it: decoys at or above the offset
/// (counted up to [`RANKS_TOLD`]) and decoys ranked against.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Told {
    above: u8,
    decoys: u8,
}

impl Told {
    /// A block between the pieces of a chain: not heard.
    const HIDDEN: Self = Self { above: RANKS_TOLD as u8, decoys: fingerprint::RANK_DECOYS.len() as u8 };

    fn rank(self) -> BlockRank {
        BlockRank { above: usize::from(self.above), decoys: usize::from(self.decoys) }
    }
}

impl From<BlockRank> for Told {
    fn from(r: BlockRank) -> Self {
        Self { above: r.above.min(RANKS_TOLD) as u8, decoys: r.decoys.min(255) as u8 }
    }
}

/// Blocks' worth of the configured share of hidden blocks that a cue's own share is drawn
/// towards when its ends are placed ([`Traced::trimmed`]): a short cue's few blocks say little
/// about how often dialogue hides it.
const MASKED_PRIOR_BLOCKS: f64 = 5.0;

/// Least share of hidden blocks a cue's ends are judged by: a cue heard in every block can
/// still have one hidden.
const MIN_MASKED: f64 = 0.02;

/// What makes a verbatim cue, in frames and nats (see [`CueConfig`]).
struct Rules {
    accept_nats: f32,
    min_len: usize,
    /// Frames a block of evidence.
    block: usize,
    /// See [`CueConfig::masked_share`].
    masked: f64,
    /// See [`CueConfig::heard_rank_decay`].
    decay: f64,
}

impl Traced {
    /// Blocks `a..b` of a stretch found with the configured share of hidden blocks, its ends
    /// placed again with the share this stretch itself shows.
    ///
    /// Any share keeps false cues as rare as `accept_nats` says, but where a stretch ends
    /// depends on it: at one half, a block that beats every decoy by chance (one in 21 where
    /// the track does not play) outweighs three hidden ones, so a cue heard throughout (music
    /// alone, a quiet scene) takes in a chance win a few seconds before it starts or after it
    /// ends. Its own blocks say how often this cue is hidden: hidden blocks rank like decoys,
    /// below the top `RANKS_TOLD` of `decoys + 1` ranks. Judged at that share (drawn towards the
    /// configured one by [`MASKED_PRIOR_BLOCKS`], never above it) the stretch's ends can only
    /// move in.
    fn trimmed(&self, a: usize, b: usize, rules: &Rules) -> (usize, usize) {
        let ranked: Vec<Told> = self.ranks[a..b].iter().flatten().copied().collect();
        if ranked.is_empty() {
            return (a, b);
        }
        let share_below = |t: &Told| {
            let ranks = f64::from(t.decoys) + 1.0;
            (ranks - RANKS_TOLD as f64).max(1.0) / ranks
        };
        // Hidden blocks, each scaled up by the share of a decoy's ranks that count as hidden.
        let hidden: f64 =
            ranked.iter().filter(|t| usize::from(t.above) >= RANKS_TOLD).map(|t| 1.0 / share_below(t)).sum();
        // Never above the configured share, which may itself be below the floor.
        let masked = ((hidden + MASKED_PRIOR_BLOCKS * rules.masked) / (ranked.len() as f64 + MASKED_PRIOR_BLOCKS))
            .max(MIN_MASKED)
            .min(rules.masked);
        let own: Vec<f32> =
            self.ranks[a..b].iter().map(|r| rank_nats(r.map(Told::rank), masked, rules.decay)).collect();
        match positive_runs(&own, 0.0).into_iter().max_by(|x, y| x.2.total_cmp(&y.2)) {
            Some((x, y, _)) => (a + x, a + y),
            None => (a, b),
        }
    }

    /// The cue this candidate makes on the frames no kept cue has taken: the stretch of them
    /// with the most evidence; `None` unless it reaches the evidence and length a cue needs.
    fn on_free_frames(&self, taken: &[Range<usize>], rules: &Rules) -> Option<Piece> {
        let (first, n) = (self.piece.frames.start, rules.block);
        let frames = |a: usize, b: usize| first + a * n..(first + b * n).min(self.piece.frames.end);
        let meets = |r: &Range<usize>, f: &Range<usize>| r.start < f.end && f.start < r.end;
        let free = |k: usize| !taken.iter().any(|r| meets(r, &frames(k, k + 1)));
        let mut best: Option<Piece> = None;
        let mut k = 0;
        while k < self.nats.len() {
            if !free(k) {
                k += 1;
                continue;
            }
            let start = k;
            while k < self.nats.len() && free(k) {
                k += 1;
            }
            for (a, b, _) in positive_runs(&self.nats[start..k], rules.accept_nats) {
                let (a, b) = self.trimmed(start + a, start + b, rules);
                // The evidence of the stretch kept, as every candidate's is counted.
                let nats: f32 = self.nats[a..b].iter().sum();
                if nats >= rules.accept_nats && best.as_ref().is_none_or(|p| nats > p.nats) {
                    best = Some(Piece { frames: frames(a, b), nats, ..self.piece.clone() });
                }
            }
        }
        // Blocks place a cue to a second; the raw evidence inside its first and last blocks
        // places it to a frame.
        let mut best = best?;
        let (a, b) = (best.frames.start, best.frames.end);
        let first_block = a..(a + n).min(b);
        let last_block = b.saturating_sub(n).max(a)..b;
        // The raw evidence may move a boundary by up to a block (a block's own precision), and
        // on through blocks that could not be ranked (where the track is silent, or too short
        // for its rotations), where the ranks say nothing either way.
        let (ka, kb) = ((a - first) / n, (b - first).div_ceil(n));
        let reach = |blocks: &mut dyn Iterator<Item = usize>| {
            let mut slack = 1;
            let mut moved = 0;
            for k in blocks {
                match self.nats.get(k) {
                    Some(&v) if free(k) && v == 0.0 => {}
                    Some(&v) if free(k) && v < 0.0 && slack > 0 => slack -= 1,
                    _ => break,
                }
                moved += 1;
            }
            moved.max(1)
        };
        let back = reach(&mut (0..ka).rev());
        let on = reach(&mut (kb..self.nats.len()));
        if let Some(start) = self.runs.iter().filter(|r| meets(r, &first_block)).map(|r| r.start).min() {
            best.frames.start = start.clamp(a.saturating_sub(back * n).max(first), a + n - 1);
        }
        if let Some(end) = self.runs.iter().filter(|r| meets(r, &last_block)).map(|r| r.end).max() {
            best.frames.end = end.clamp(b.saturating_sub(n) + 1, (b + on * n).min(self.piece.frames.end.max(b)));
        }
        let free_now = !taken.iter().any(|r| meets(r, &best.frames));
        (best.frames.len() >= rules.min_len && free_now).then_some(best)
    }
}

/// Verbatim cues where candidates overlap: the candidate with the most evidence keeps its
/// frames, and every other is judged again on the frames left to it, so a track that shares a
/// phrase with the one playing does not keep the evidence of that phrase once the playing
/// track has taken it.
fn resolve_exact(candidates: Vec<Traced>, rules: &Rules) -> Vec<Piece> {
    let mut pool: Vec<(Traced, Piece)> =
        candidates.into_iter().filter_map(|c| c.on_free_frames(&[], rules).map(|p| (c, p))).collect();
    let mut kept: Vec<Piece> = Vec::new();
    let mut taken: Vec<Range<usize>> = Vec::new();
    while let Some(i) = (0..pool.len()).max_by(|&x, &y| pool[x].1.nats.total_cmp(&pool[y].1.nats).then(y.cmp(&x))) {
        let (cand, was) = pool.swap_remove(i);
        // Its value only falls as frames are taken: judged again, it is kept if it has not.
        match cand.on_free_frames(&taken, rules) {
            Some(now) if now == was => {
                taken.push(now.frames.clone());
                kept.push(now);
            }
            Some(now) => pool.push((cand, now)),
            None => {}
        }
    }
    kept
}

/// The stretches `[start, end)` of `ev` whose running sum, reset at zero, climbs to at least
/// `min_nats`, each ending where its sum peaks, with that sum.
fn positive_runs(ev: &[f32], min_nats: f32) -> Vec<(usize, usize, f32)> {
    let mut found = Vec::new();
    // The open stretch: where it starts, where its sum peaks (exclusive), and that peak.
    let (mut start, mut peak_end, mut peak) = (0, 0, 0f32);
    let mut sum = 0f32;
    for (j, &e) in ev.iter().enumerate() {
        if sum <= 0.0 {
            if peak >= min_nats {
                found.push((start, peak_end, peak));
            }
            (sum, start, peak) = (0.0, j, 0.0);
        }
        sum += e;
        if sum > peak {
            (peak, peak_end) = (sum, j + 1);
        }
    }
    if peak >= min_nats {
        found.push((start, peak_end, peak));
    }
    found
}

/// Share of the track's strongest peaks found in the episode over episode frames `a..b`
/// beyond those found by chance: 0 for chance, 1 when every one is found.
fn found_share(track: &PeakBins, coverage: &PeakCoverage, offset: i64, a: usize, b: usize, peaks: usize) -> f32 {
    let (mut found, mut expected, mut all) = (0f64, 0f64, 0f64);
    for j in a..b.min(coverage.frames()) {
        let Ok(i) = usize::try_from(j as i64 - offset) else { continue };
        for &bin in track.frame(i).iter().take(peaks) {
            all += 1.0;
            expected += coverage.chance(j, bin);
            found += f64::from(u8::from(coverage.covers(j, bin)));
        }
    }
    if all <= expected { 0.0 } else { ((found - expected) / (all - expected)).clamp(0.0, 1.0) as f32 }
}

/// Cues found by chroma alignment in all keys, before overlaps with other cues are resolved.
///
/// Only the stretches that no `exact` cue explains are searched (an arranged cue would lose
/// the overlap to an exact one anyway); a match found there still grows into the whole
/// episode, so one that continues an exact cue of its own track meets it and is dropped when
/// overlaps are resolved, as it would have been had the whole episode been searched.
fn arranged_cues(tracks: &[CueTrack], episode: &Features, cfg: &CueConfig, exact: &[Cue]) -> Vec<Cue> {
    let seq_cfg = cfg.sequence_config();
    let ep = MatchSequence::new(episode, &seq_cfg);
    if ep.is_empty() {
        return Vec::new();
    }
    // Candidates shorter than the minimum can still be pieces of one longer cue, so the
    // alignment's window is shorter than the minimum cue and length is checked after joining.
    let window = ep.clock.frames_in(cfg.min_len_s.min(4.0)).max(2);
    let free = unexplained(
        ep.frames.len(),
        exact.iter().map(|c| ep.clock.frame_at(c.start_s)..ep.clock.frame_at(c.end_s)),
        window,
    );
    let align_cfg =
        AlignConfig { len: window, tempos: vec![1.0], shifts: (0..12).collect(), threshold: cfg.candidate_threshold };
    // The verbatim cues' decoy offsets, in frames of the matching sequence.
    let lags: Vec<i64> = fingerprint::RANK_DECOYS
        .iter()
        .map(|&d| (d as f64 * episode.hop_s / ep.clock.hop_s()).round() as i64)
        .filter(|&d| d != 0)
        .collect();
    let block = ep.clock.frames_in(1.0).max(1);
    let mut candidates: Vec<Cue> = tracks
        .par_iter()
        .enumerate()
        .flat_map_iter(|(t, track)| {
            let seq = &track.sequence;
            // Of all keys, as a tile's background: what the seeds of the search rise above.
            let background = pair_background(&seq.frames, &ep.frames, &align_cfg.shifts, 5_000);
            let found: Vec<Alignment> = free
                .iter()
                .flat_map(|r| {
                    let part = &ep.frames[r.clone()];
                    align_coarse(&seq.frames, part, COARSE, background, &align_cfg).into_iter().map(|mut al| {
                        al.b_start += r.start as f64;
                        al.b_end += r.start as f64;
                        al
                    })
                })
                .collect();
            let mut backgrounds = [None; 12];
            let rise = cfg.threshold * cfg.continue_share;
            let mut ranked_offsets = std::collections::HashSet::new();
            let grown: Vec<(Alignment, f32, bool)> = found
                .into_iter()
                .filter_map(|al| {
                    let bg = *backgrounds[al.shift % 12]
                        .get_or_insert_with(|| line_background(&seq.frames, &ep.frames, al.shift));
                    let lift_of = |al: &Alignment| {
                        ((line_mean(&seq.frames, &ep.frames, al) - bg) / (1.0 - bg).max(f32::EPSILON)).clamp(0.0, 1.0)
                    };
                    let grown = grow(&seq.frames, &ep.frames, al.clone(), bg + rise * (1.0 - bg));
                    let lift = lift_of(&grown);
                    if lift >= cfg.threshold {
                        return Some((grown, lift, false));
                    }
                    let offset = (al.b_start - al.a_start as f64).round() as i64;
                    if !ranked_offsets.insert((offset, al.shift)) {
                        return None;
                    }
                    let heard = heard_beyond(&seq.frames, &ep.frames, &al, &free, &lags, block, cfg)?;
                    let lift = lift_of(&heard);
                    Some((heard, lift, true))
                })
                .collect();
            let ep = &ep;
            grown
                .into_iter()
                .map(move |(al, lift, ranked)| Cue {
                    track: t,
                    start_s: ep.time_of(al.b_start),
                    end_s: ep.time_of(al.b_end).min(ep.covered_s),
                    track_start_s: seq.time_of(al.a_start as f64),
                    transpose: wrap_shift(al.shift as i32),
                    score: lift,
                    kind: MatchKind::Arranged,
                    evidence: 0.0,
                    ranked,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    candidates = join_pieces(candidates, cfg.max_gap_s);
    for c in &mut candidates {
        c.evidence = f64::from(c.score) * c.len();
    }
    candidates.retain(|c| c.is_worth(cfg.min_len_s));
    candidates
}

/// An arranged candidate whose similarity does not rise enough to be a cue, taken as one where
/// its track, at its offset and key, outranks decoy offsets of the same track a second at a
/// time, as a verbatim cue's peaks do ([`rank_nats`], the same decoy lags and the same
/// evidence needed): the stretch of the most evidence around it, within the free stretch `al`
/// was found in.
///
/// The stretch that proposed the candidate (with a second's margin) is chosen for its own rise,
/// so its blocks rank above their decoys far more often than chance: on two diagnostic sets the
/// best stretches of candidates where no cue plays gathered up to 16 nats with them and at most
/// 8 without. Only the blocks beyond it count towards acceptance; all of them place the ends.
fn heard_beyond(
    track: &[Frame],
    ep: &[Frame],
    al: &Alignment,
    free: &[Range<usize>],
    lags: &[i64],
    block: usize,
    cfg: &CueConfig,
) -> Option<Alignment> {
    let n = track.len() as i64;
    let offset = (al.b_start - al.a_start as f64).round() as i64;
    let r = free.iter().find(|r| r.contains(&(al.b_start.max(0.0) as usize)))?;
    let a = offset.clamp(r.start as i64, r.end as i64) as usize;
    let b = (offset + n).clamp(a as i64, r.end as i64) as usize;
    let block = block.max(1);
    let decoys: Vec<i64> = lags.iter().filter(|d| d.abs() < n).copied().collect();
    if n == 0 || b <= a || decoys.len() < lags.len() / 2 {
        return None;
    }
    // The episode's frames over `a..b` in the candidate's key, once for the offset and all its
    // decoys.
    let keyed: Vec<Frame> = ep[a..b].iter().map(|f| rotate(f, al.shift)).collect();
    // Mean similarity of the block's episode frames to the track taken round at `at`, over the
    // frames where the track sounds.
    let mean = |js: Range<usize>, at: i64| -> Option<f32> {
        let (mut total, mut count) = (0f32, 0usize);
        for j in js {
            let i = (j as i64 - at).rem_euclid(n) as usize;
            if track[i].iter().any(|&v| v != 0.0) {
                total += dot(&track[i], &keyed[j - a]);
                count += 1;
            }
        }
        (count > 0).then(|| total / count as f32)
    };
    let (masked, decay) = (f64::from(cfg.masked_share), cfg.heard_rank_decay);
    let chosen = (al.b_start - block as f64)..(al.b_end + block as f64);
    let (mut all, mut beyond) = (Vec::new(), Vec::new());
    for k in (a..b).step_by(block) {
        let js = k..(k + block).min(b);
        let rank = mean(js.clone(), offset)
            .map(|own| BlockRank::among(own, decoys.iter().map(|&d| mean(js.clone(), offset + d)), RANKS_TOLD));
        let nats = rank_nats(rank, masked, decay);
        all.push(nats);
        let inside = chosen.start < js.end as f64 && (js.start as f64) < chosen.end;
        beyond.push(if inside { 0.0 } else { nats });
    }
    let by_sum = |x: &(usize, usize, f32), y: &(usize, usize, f32)| x.2.total_cmp(&y.2);
    let (x, y, _) = positive_runs(&beyond, cfg.accept_nats).into_iter().max_by(by_sum)?;
    let (x, y, _) =
        positive_runs(&all, 0.0).into_iter().filter(|r| r.0 < y && x < r.1).max_by(by_sum).unwrap_or((x, y, 0.0));
    let (b_start, b_end) = (a + x * block, (a + y * block).min(b));
    let a_start = (b_start as i64 - offset) as usize;
    Some(Alignment {
        a_start,
        a_end: a_start + (b_end - b_start),
        b_start: b_start as f64,
        b_end: b_end as f64,
        ..al.clone()
    })
}

/// Frames of the matching sequences per frame of the arranged search's first pass: 1.2 s at
/// the cue hop of 0.3 s, about a note, so the shortest candidate (4 s) still spans three.
const COARSE: usize = 4;

/// The stretches of `0..frames` outside every range of `taken`, those at least `min_len` long.
fn unexplained(frames: usize, taken: impl IntoIterator<Item = Range<usize>>, min_len: usize) -> Vec<Range<usize>> {
    let mut taken: Vec<Range<usize>> = taken.into_iter().collect();
    taken.sort_by_key(|r| r.start);
    let mut free = Vec::new();
    let mut at = 0;
    for r in taken.into_iter().chain(std::iter::once(frames..frames)) {
        let end = r.start.min(frames);
        if end >= at + min_len.max(1) {
            free.push(at..end);
        }
        at = at.max(r.end);
    }
    free
}

/// The typical similarity of unrelated frames of `a` and `b` with `b` shifted by `shift`: its
/// median over a regular sample of frame pairs where both sound. This is the level a line of
/// that key sits at where the track is not playing.
fn line_background(a: &[Frame], b: &[Frame], shift: usize) -> f32 {
    pair_background(a, b, &[shift], 20_000)
}

/// Mean similarity of track `a` and episode `b` along a tempo-1 alignment, in its key.
fn line_mean(a: &[Frame], b: &[Frame], al: &Alignment) -> f32 {
    let offset = (al.b_start - al.a_start as f64).round() as i64;
    let sims: Vec<f32> = (al.a_start..al.a_end.min(a.len()))
        .filter_map(|i| {
            let j = usize::try_from(i as i64 + offset).ok()?;
            b.get(j).map(|fb| dot(&a[i], &rotate(fb, al.shift)))
        })
        .collect();
    if sims.is_empty() { 0.0 } else { sims.iter().sum::<f32>() / sims.len() as f32 }
}

/// Extends a match of track `a` in episode `b` (tempo 1) along its line to the maximum-sum
/// stretch of (similarity - `low`) that contains it: on through music ducked under dialogue,
/// and no further than the track or the episode.
fn grow(a: &[Frame], b: &[Frame], al: Alignment, low: f32) -> Alignment {
    let offset = (al.b_start - al.a_start as f64).round() as i64;
    let first = (-offset).max(0) as usize;
    let last = (b.len() as i64 - offset).clamp(0, a.len() as i64) as usize;
    if first >= last || al.a_start < first || al.a_end > last {
        return al;
    }
    let gain = |i: usize| {
        let j = (i as i64 + offset) as usize;
        dot(&a[i], &rotate(&b[j], al.shift)) - low
    };
    // Best start at or before the match's start, best end at or after its end.
    let (mut start, mut run, mut best) = (al.a_start, 0f32, 0f32);
    for i in (first..al.a_start).rev() {
        run += gain(i);
        if run > best {
            (best, start) = (run, i);
        }
    }
    let (mut end, mut run, mut best) = (al.a_end, 0f32, 0f32);
    for i in al.a_end..last {
        run += gain(i);
        if run > best {
            (best, end) = (run, i + 1);
        }
    }
    let moved = |i: usize| i as f64 - al.a_start as f64;
    Alignment { a_start: start, a_end: end, b_start: al.b_start + moved(start), b_end: al.b_start + moved(end), ..al }
}

/// How far, in seconds, the offset between episode and track time may drift between pieces of
/// one arranged cue: about three steps of the chroma sequences.
const MAX_OFFSET_DRIFT_S: f64 = 1.0;

/// Joins candidates of one track that continue each other: same key, an offset between
/// episode and track time within [`MAX_OFFSET_DRIFT_S`] of the piece before, separated by at most
/// `max_gap_s`. Each piece continues the chain of closest offset that it may, so pieces at
/// other offsets in between (chance agreements, a repeated phrase of the track) do not break
/// a cue apart.
fn join_pieces(mut cands: Vec<Cue>, max_gap_s: f64) -> Vec<Cue> {
    cands.sort_by(|x, y| (x.track, x.transpose).cmp(&(y.track, y.transpose)).then(x.start_s.total_cmp(&y.start_s)));
    let mut out: Vec<Cue> = Vec::with_capacity(cands.len());
    // Chains of the current (track, key) begin at `group`.
    let mut group = 0;
    for c in cands {
        if out.get(group).is_some_and(|p| (p.track, p.transpose) != (c.track, c.transpose)) {
            group = out.len();
        }
        let open = out[group..]
            .iter_mut()
            .filter(|p| c.start_s <= p.end_s + max_gap_s && (c.offset() - p.offset()).abs() <= MAX_OFFSET_DRIFT_S)
            .min_by(|p, q| (c.offset() - p.offset()).abs().total_cmp(&(c.offset() - q.offset()).abs()));
        match open {
            Some(p) => {
                let (lp, lc) = (p.len().max(0.0), c.len().max(0.0));
                p.score = ((p.score as f64 * lp + c.score as f64 * lc) / (lp + lc).max(1e-9)) as f32;
                p.evidence += c.evidence;
                p.ranked |= c.ranked;
                p.end_s = p.end_s.max(c.end_s);
            }
            None => out.push(c),
        }
    }
    out
}

/// Keeps, wherever candidates overlap in the episode, the exact match before the arranged one
/// and then the one with the most evidence; a candidate survives only where the episode is
/// still free, and an arranged candidate not at all where an exact cue of its own track plays.
fn resolve_overlaps(cands: impl IntoIterator<Item = Cue>) -> Vec<Cue> {
    let mut cands: Vec<Cue> = cands.into_iter().collect();
    cands.sort_by(|x, y| x.kind.cmp(&y.kind).then(y.evidence.total_cmp(&x.evidence)));
    let mut kept: Vec<Cue> = Vec::new();
    for mut c in cands {
        // Trim the candidate to the part not already explained; drop it if little is left.
        for k in &kept {
            if c.end_s <= k.start_s || k.end_s <= c.start_s {
                continue;
            }
            if c.kind == MatchKind::Arranged && k.kind == MatchKind::Exact && k.track == c.track {
                c.end_s = c.start_s;
                break;
            }
            if c.start_s >= k.start_s && c.end_s <= k.end_s {
                c.end_s = c.start_s;
                break;
            }
            if c.start_s < k.start_s {
                c.end_s = c.end_s.min(k.start_s);
            } else {
                let cut = k.end_s - c.start_s;
                c.start_s += cut;
                c.track_start_s += cut;
            }
        }
        if c.len() > 0.0 {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {

    #[test]
    fn settings_out_of_range_are_refused_naming_the_setting() {
        assert!(CueConfig::default().validate().is_ok());
        let refused = |cfg: CueConfig, name: &str| match cfg.validate() {
            Err(crate::Error::BadParam { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        };
        refused(CueConfig { min_len_s: -1.0, ..CueConfig::default() }, "min_len_s");
        refused(CueConfig { continue_share: 2.0, ..CueConfig::default() }, "continue_share");
        refused(CueConfig { max_gap_s: f64::INFINITY, ..CueConfig::default() }, "max_gap_s");
        refused(CueConfig { min_votes: 0, ..CueConfig::default() }, "min_votes");
        refused(CueConfig { max_candidates: 0, ..CueConfig::default() }, "max_candidates");
        refused(CueConfig { accept_nats: f32::NAN, ..CueConfig::default() }, "accept_nats");
    }

    use super::*;
    use crate::similarity::sequence::testing::{random_bits, random_frames};

    #[test]
    fn an_arranged_candidate_is_heard_where_it_outranks_its_decoys_beyond_its_proposal() {
        let cfg = CueConfig::default();
        let block = 3;
        let lags: Vec<i64> = fingerprint::RANK_DECOYS.iter().map(|&d| (d as f64 / 3.0).round() as i64).collect();
        // A 200-frame track, 3 semitones up and half buried in other sound over frames 300..500
        // of a 900-frame episode.
        let track = random_frames(200, 1);
        let mut ep = random_frames(900, 2);
        for (k, f) in track.iter().enumerate() {
            let up = rotate(f, 12 - 3);
            let mixed: Vec<f32> = up.iter().zip(&ep[300 + k]).map(|(a, b)| 0.4 * a + b).collect();
            let norm = mixed.iter().map(|v| v * v).sum::<f32>().sqrt();
            ep[300 + k] = std::array::from_fn(|d| mixed[d] / norm);
        }
        // The stretch that proposed it: a few seconds in the middle, in the key that undoes it.
        let al = Alignment {
            a_start: 90,
            a_end: 110,
            b_start: 390.0,
            b_end: 410.0,
            shift: 3,
            tempo: 1.0,
            score: 0.1,
            distinct: 1.0,
        };
        let free: Vec<Range<usize>> = std::iter::once(0..900).collect();
        let heard = heard_beyond(&track, &ep, &al, &free, &lags, block, &cfg).expect("heard beyond its proposal");
        assert!(heard.b_start <= 303.0 && heard.b_end >= 497.0, "{heard:?}");
        assert_eq!(heard.b_start - heard.a_start as f64, 300.0);
        // Where the track is not in the episode, nothing is heard.
        let other = random_frames(900, 3);
        assert!(heard_beyond(&track, &other, &al, &free, &lags, block, &cfg).is_none());
    }

    fn cue(track: usize, start_s: f64, end_s: f64, track_start_s: f64, score: f32) -> Cue {
        let evidence = f64::from(score) * (end_s - start_s);
        Cue {
            track,
            start_s,
            end_s,
            track_start_s,
            transpose: 0,
            score,
            kind: MatchKind::Arranged,
            evidence,
            ranked: false,
        }
    }

    #[test]
    fn an_arranged_cue_must_be_worth_a_perfect_match_of_the_shortest_cue() {
        // 7 s rising 0.6: 4.2 s of perfect match, short of the 5-s shortest cue.
        assert!(!cue(0, 10.0, 17.0, 0.0, 0.6).is_worth(5.0));
        assert!(cue(0, 10.0, 19.0, 0.0, 0.6).is_worth(5.0));
        // A verbatim cue has passed the rank test, whatever its share of peaks heard.
        let exact = Cue { kind: MatchKind::Exact, ..cue(0, 10.0, 17.0, 0.0, 0.1) };
        assert!(exact.is_worth(5.0));
    }

    /// Deterministic unit frames, one random pitch class in each half (xorshift, fixed seed).
    fn frames(n: usize, seed: u64) -> Vec<Frame> {
        random_bits(n, seed)
            .into_iter()
            .map(|s| {
                let mut f = [0f32; 24];
                f[(s % 12) as usize] = 0.8;
                f[12 + ((s >> 8) % 12) as usize] = 0.6;
                f
            })
            .collect()
    }

    fn blend(x: &Frame, y: &Frame) -> Frame {
        let mut f = *x;
        f.iter_mut().zip(y).for_each(|(v, w)| *v += w);
        let n = dot(&f, &f).sqrt();
        f.map(|v| v / n)
    }

    #[test]
    fn a_found_piece_grows_through_ducked_music_to_the_cue_s_ends() {
        let track = frames(100, 3);
        let mut episode = frames(300, 4);
        let noise = frames(300, 5);
        // Track frames 10..90 play at episode frames 100..180, half drowned in 130..160.
        for (i, t) in track.iter().enumerate().take(90).skip(10) {
            let j = i + 90;
            episode[j] = if (130..160).contains(&j) { blend(t, &noise[j]) } else { *t };
        }
        let bg = line_background(&track, &episode, 0);
        assert!(bg < 0.3, "unrelated frames in one key barely match: {bg}");
        let piece = Alignment {
            a_start: 15,
            a_end: 30,
            b_start: 105.0,
            b_end: 120.0,
            shift: 0,
            tempo: 1.0,
            score: 0.9,
            distinct: 1.0,
        };
        let grown = grow(&track, &episode, piece, bg + 0.25 * (1.0 - bg));
        assert_eq!((grown.a_start, grown.a_end), (10, 90), "{grown:?}");
        assert_eq!((grown.b_start, grown.b_end), (100.0, 180.0));
        assert!(line_mean(&track, &episode, &grown) > 0.8);
    }

    #[test]
    fn runs_end_where_their_evidence_peaks() {
        let mut ev = vec![-1.0f32; 10];
        ev.extend(vec![2.0f32; 20]);
        ev.extend(vec![-1.0f32; 3]);
        ev.extend(vec![1.0f32; 2]);
        ev.extend(vec![-1.0f32; 30]);
        ev.extend(vec![0.5f32; 4]);
        let runs = positive_runs(&ev, 5.0);
        // 10..30 sums to 40; the dip of 3 and the 2 after it do not pay for themselves; the
        // last stretch (2 nats) is too weak to be a piece.
        assert_eq!(runs, vec![(10, 30, 40.0)]);
    }

    #[test]
    fn an_exact_cue_beats_an_arranged_one_of_its_track_and_trims_others() {
        let mut exact = cue(0, 10.0, 40.0, 0.0, 0.3);
        exact.kind = MatchKind::Exact;
        exact.evidence = 50.0;
        let same_track = cue(0, 5.0, 60.0, 0.0, 0.9);
        let other = cue(1, 35.0, 70.0, 0.0, 0.9);
        let kept = resolve_overlaps(vec![same_track, other, exact]);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept[0].kind, MatchKind::Exact);
        assert_eq!((kept[1].track, kept[1].start_s), (1, 40.0));
    }

    #[test]
    fn pieces_split_by_dialogue_are_joined() {
        let joined = join_pieces(vec![cue(0, 10.0, 20.0, 0.0, 0.8), cue(0, 22.0, 30.0, 12.0, 0.6)], 4.0);
        assert_eq!(joined.len(), 1);
        assert_eq!((joined[0].start_s, joined[0].end_s), (10.0, 30.0));
    }

    #[test]
    fn pieces_at_other_offsets_stay_apart() {
        let joined = join_pieces(vec![cue(0, 10.0, 20.0, 0.0, 0.8), cue(0, 22.0, 30.0, 50.0, 0.6)], 4.0);
        assert_eq!(joined.len(), 2);
    }

    #[test]
    fn the_arranged_search_covers_only_what_no_exact_cue_explains() {
        assert_eq!(unexplained(100, [10..20, 15..30, 60..95], 5), vec![0..10, 30..60, 95..100]);
        // Too short to hold a match, and ranges past the end.
        assert_eq!(unexplained(100, [3..50, 52..120], 5), Vec::<Range<usize>>::new());
        assert_eq!(unexplained(40, [], 5), vec![0..40]);
    }

    #[test]
    fn overlap_goes_to_the_stronger_cue() {
        let kept = resolve_overlaps(vec![cue(0, 10.0, 40.0, 0.0, 0.8), cue(1, 30.0, 45.0, 5.0, 0.7)]);
        assert_eq!(kept.len(), 2);
        let weak = kept.iter().find(|c| c.track == 1).expect("trimmed cue");
        assert_eq!((weak.start_s, weak.track_start_s), (40.0, 15.0));
    }

    #[test]
    fn rank_evidence_averages_at_most_one_under_absence_and_falls_with_rank() {
        for decoys in [10, 20, 54] {
            for masked in [0.0, 0.3, 0.5, 0.9] {
                for decay in [0.0, 1.0 / 3.0, 0.8] {
                    let nats = |above| rank_nats(Some(BlockRank { above, decoys }), masked, decay);
                    // Under absence every rank 0..=decoys is equally likely.
                    let mean = (0..=decoys).map(|r| f64::from(nats(r.min(RANKS_TOLD))).exp()).sum::<f64>()
                        / (decoys + 1) as f64;
                    assert!(mean <= 1.0 + 1e-6, "decoys {decoys} masked {masked} decay {decay}: {mean}");
                    assert!((0..RANKS_TOLD).all(|r| nats(r) >= nats(r + 1)));
                }
                // Without decay only the top rank is heard, and it carries the whole odds.
                let top = rank_nats(Some(BlockRank { above: 0, decoys }), masked, 0.0);
                assert!((f64::from(top) - (masked + (1.0 - masked) * (decoys + 1) as f64).ln()).abs() < 1e-5);
            }
        }
        assert_eq!(rank_nats(None, 0.5, 0.3), 0.0);
    }

    /// A candidate for `track` at `offset` whose votes burst over query frames `burst`.
    fn candidate(offset: i64, burst: (u32, u32)) -> OffsetVotes {
        OffsetVotes { track: 0, offset, votes: 20, burst, surprise: 20.0 }
    }

    #[test]
    fn a_candidate_s_blocks_are_ranked_beyond_where_its_evidence_rose() {
        use crate::similarity::fingerprint::testing::{piece, splice};
        // Without decay a block's evidence is positive only where it beats every decoy.
        let cfg = CueConfig { heard_rank_decay: 0.0, ..CueConfig::default() };
        let track = piece(600, 7);
        // Only the track's first 300 frames play, at query frame 800; it would go on to 1400.
        let mut first_half = SpectralPeaks::default();
        (0..300).for_each(|k| first_half.push_frame(track.frame(k)));
        let query = splice(&mut piece(2000, 8), &first_half, 800);
        let coverage = PeakCoverage::new(&query, 260);
        let bins = PeakBins::strongest(&track, cfg.fingerprint.evidence_peaks);
        let table = HitTable::new(&cfg.fingerprint);
        // The candidate's burst of votes is a chance one after the copy: the copy is ranked all
        // the same.
        let traced = trace_candidate(&bins, &coverage, &candidate(800, (1300, 1350)), &table, 10, &cfg)
            .expect("the copy is heard");
        // Its frames reach past the copy to where the track would go on, and the blocks there
        // are ranked too: not heard.
        assert_eq!(traced.piece.frames, 800..1400);
        let (copy, after) = traced.nats.split_at(30);
        let heard = |v: &[f32]| v.iter().filter(|&&x| x > 0.0).count();
        assert!(heard(copy) >= 20, "{copy:?}");
        assert!(after.iter().filter(|&&x| x < 0.0).count() >= 20 && heard(after) <= 3, "{after:?}");
        // The raw evidence rose only over the copy, and places the cue's ends.
        assert!(traced.runs.iter().all(|r| r.start >= 795 && r.end <= 1105), "{:?}", traced.runs);
    }

    #[test]
    fn where_a_track_does_not_sound_its_blocks_beat_every_decoy_about_once_in_21() {
        use crate::similarity::fingerprint::testing::piece;
        // Without decay a block's evidence is positive only where it beats every decoy.
        let cfg = CueConfig { heard_rank_decay: 0.0, ..CueConfig::default() };
        let bins = PeakBins::strongest(&piece(600, 7), cfg.fingerprint.evidence_peaks);
        let table = HitTable::new(&cfg.fingerprint);
        let (mut heard, mut ranked) = (0, 0);
        for seed in 0..8 {
            let coverage = PeakCoverage::new(&piece(2400, 100 + seed), 260);
            for offset in (0..1700).step_by(97) {
                let burst = (offset as u32 + 200, offset as u32 + 260);
                if let Some(t) = trace_candidate(&bins, &coverage, &candidate(offset, burst), &table, 10, &cfg) {
                    heard += t.nats.iter().filter(|&&x| x > 0.0).count();
                    ranked += t.nats.iter().filter(|&&x| x != 0.0).count();
                }
            }
        }
        // Only candidates whose raw evidence rose somewhere are traced, but every block of
        // their stretch is ranked: the offset is one more decoy. (Ranked only where the raw
        // evidence rose, more than half of these blocks beat every decoy.)
        assert!(ranked >= 500, "{ranked} blocks ranked");
        let share = heard as f64 / ranked as f64;
        assert!(share < 0.09, "{heard} of {ranked} blocks beat every decoy");
    }

    const HEARD: f32 = 2.4;
    const UNHEARD: f32 = -0.69;

    fn traced(track: usize, offset: i64, start: usize, blocks: &[f32]) -> Traced {
        let frames = start..start + 10 * blocks.len();
        let heard = blocks.iter().filter(|&&v| v > 0.0).sum();
        Traced {
            piece: Piece { track, offset, frames: frames.clone(), nats: heard },
            nats: blocks.to_vec(),
            ranks: blocks
                .iter()
                .map(|&v| Some(if v > 0.0 { Told { above: 0, decoys: 20 } } else { Told::HIDDEN }))
                .collect(),
            runs: std::iter::once(frames).collect(),
        }
    }

    #[test]
    fn a_track_sharing_a_phrase_loses_it_to_the_track_that_plays() {
        let rules = Rules { accept_nats: 15.0, min_len: 100, block: 10, masked: 0.5, decay: 1.0 / 3.0 };
        // Track 0 plays over frames 0..200; track 1 shares its phrase over 100..200 and then
        // is not heard. Alone, track 1 would make a cue of 24 nats.
        let playing = traced(0, 0, 0, &[HEARD; 20]);
        let mut shared = vec![HEARD; 10];
        shared.extend([UNHEARD; 6]);
        let sharing = traced(1, 50, 100, &shared);
        assert!(sharing.on_free_frames(&[], &rules).is_some_and(|p| p.nats >= 15.0));
        let kept = resolve_exact(vec![sharing, playing], &rules);
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!((kept[0].track, kept[0].frames.clone()), (0, 0..200));
    }

    #[test]
    fn a_cue_heard_throughout_does_not_take_in_a_chance_win_before_it() {
        let rules = Rules { accept_nats: 15.0, min_len: 50, block: 10, masked: 0.5, decay: 1.0 / 3.0 };
        // One block beats every decoy, three do not, then the track is heard in every block:
        // at the configured share the win outweighs the three, at this cue's own it does not.
        let mut blocks = vec![HEARD, UNHEARD, UNHEARD, UNHEARD];
        blocks.extend([HEARD; 15]);
        let mut candidate = traced(0, 0, 0, &blocks);
        // The raw evidence rose where the blocks beat their decoys.
        candidate.runs = vec![0..10, 40..190];
        let cue = candidate.on_free_frames(&[], &rules).expect("a cue");
        assert_eq!(cue.frames, 40..190);
        assert!((cue.nats - 15.0 * HEARD).abs() < 1e-4, "{}", cue.nats);
        // A configured share of none, below the floor of a cue's own, is kept as it is.
        let strict = Rules { accept_nats: 15.0, min_len: 50, block: 10, masked: 0.0, decay: 1.0 / 3.0 };
        assert_eq!(candidate.on_free_frames(&[], &strict).map(|c| c.frames), Some(40..190));
    }

    #[test]
    fn a_cue_hidden_as_often_as_configured_keeps_its_ends() {
        let rules = Rules { accept_nats: 15.0, min_len: 50, block: 10, masked: 0.5, decay: 1.0 / 3.0 };
        // Dialogue hides half the blocks, at the ends as in the middle: nothing is trimmed.
        let pattern = [HEARD, UNHEARD, UNHEARD, HEARD, UNHEARD, UNHEARD, HEARD, UNHEARD, HEARD, UNHEARD, HEARD];
        let blocks: Vec<f32> = pattern.iter().chain(&pattern).chain(&pattern).copied().collect();
        let cue = traced(0, 0, 0, &blocks).on_free_frames(&[], &rules).expect("a cue");
        assert_eq!(cue.frames, 0..330);
    }

    #[test]
    fn pieces_at_one_offset_chain_across_dialogue_and_unheard_blocks_count_against() {
        let a = traced(3, 100, 0, &[HEARD; 5]);
        let b = traced(3, 101, 80, &[HEARD, HEARD, HEARD, HEARD, HEARD, HEARD]);
        let elsewhere = traced(3, 400, 60, &[HEARD; 3]);
        let chains = chain_pieces(vec![b, elsewhere, a], 50, 10, UNHEARD);
        assert_eq!(chains.len(), 2);
        let chain = chains.iter().find(|c| c.piece.offset != 400).expect("the chain");
        // Frames 0..140: five heard blocks, three unheard between, six heard; the stronger
        // piece's offset.
        assert_eq!(chain.piece.frames, 0..140);
        assert_eq!(chain.piece.offset, 101);
        assert_eq!(chain.nats.len(), 14);
        assert_eq!(chain.nats[5..8], [UNHEARD; 3]);
        assert_eq!(chain.runs.len(), 2);
    }
}
