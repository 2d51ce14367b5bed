//! The documents leitmotif writes and reads: `leitmotif.report/1`, `leitmotif.cues/1` and the two
//! ground-truth formats, plus the conversion of matcher output into a report that keeps the
//! contract's ordering rules.
//!
//! # `leitmotif.report/1` ([`Report`])
//! ```json
//! {
//!   "schema": "leitmotif.report/1",
//!   "tool": {"name": "leitmotif", "version": "0.1.0"},
//!   "params": {"min_len_s": 3.0, "threshold": 0.5},
//!   "tracks": [{"id": 0, "path": "ost/01 Stay With Me.flac", "duration_s": 233.5,
//!               "sample_rate": 44100, "channels": 2,
//!               "title": "Stay With Me", "artist": null, "album": null}],
//!   "motifs": [{"id": 0, "occurrences": [
//!     {"track": 0, "start_s": 12.35, "end_s": 19.8, "transpose": 0, "tempo_ratio": 1.0, "score": 0.93}]}],
//!   "errors": [{"path": "ost/broken.mp3", "message": "truncated MPEG frame at byte 18211"}]
//! }
//! ```
//! - Times are seconds from the start of the track; `track` indexes `tracks`.
//! - `transpose` (semitones, -5..=6) and `tempo_ratio` (duration over duration) are relative to the
//!   motif's first occurrence; `score` is a similarity in [0, 1].
//! - Every motif has at least two occurrences, so a `find` that hears nothing beyond the query
//!   writes no motif. Motifs are sorted by occurrence count, most first, ties by earliest first
//!   occurrence; occurrences by track, then start. A `find` report keeps the query as the first
//!   occurrence of its one motif (its track is listed first).
//! - Tags are `null` when the file has none.
//! - Extra fields written here: per track `codec`, `skipped_packets`, `tuning_cents`, `warnings`.
//!
//! # `leitmotif.cues/1` ([`CueReport`])
//! `tracks` as above; `episodes` hold `path`, `duration_s` and `cues`, each with episode times
//! `start_s`/`end_s`, `track_start_s` (where in the track the cue begins), `transpose`, `score`.
//!
//! # Ground truth ([`Truth`], [`CueTruth`])
//! Occurrences name their track by base name; an optional `tier` labels how hard each one is.
//!
//! Reading is lenient: unknown fields are ignored and fields that scoring does not need may be
//! missing. Writing always includes every field the contract requires.

pub mod html;
pub mod images;
pub mod json;
pub mod output;
pub mod text;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::cues::{Cue, MatchKind};
use crate::motif::family::Span;
use crate::motif::sections::find_sections;
use crate::motif::{Motif, Occurrence};
use crate::similarity::wrap_shift;
use crate::track::{InputError, Track};
use crate::units::place_order;
pub use crate::units::{format_time, round_to, span_iou};

/// Schema tag of a motif report.
pub const REPORT_SCHEMA: &str = "leitmotif.report/1";
/// Schema tag of a cue sheet.
pub const CUES_SCHEMA: &str = "leitmotif.cues/1";
/// Schema tag of motif ground truth.
pub const TRUTH_SCHEMA: &str = "leitmotif.truth/1";
/// Schema tag of cue ground truth.
pub const CUETRUTH_SCHEMA: &str = "leitmotif.cuetruth/1";

/// Free-form parameters recorded in a document (the settings that produced it).
pub type Params = serde_json::Map<String, serde_json::Value>;

/// `params` with every number rounded to the precision its setting has (seven significant
/// digits, that of an `f32`), so a threshold of 0.4 reads `0.4`, not `0.4000000059604645`;
/// nested objects and lists are rounded alike.
pub fn for_people(params: Params) -> Params {
    params.into_iter().map(|(k, v)| (k, round_value(v))).collect()
}

fn round_value(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            n.as_f64().map_or(Value::Number(n), |x| crate::units::round_significant(x, 7).into())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(round_value).collect()),
        Value::Object(map) => Value::Object(for_people(map)),
        other => other,
    }
}

/// The program that wrote a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Program name.
    pub name: String,
    /// Program version.
    pub version: String,
}

impl Tool {
    /// This build of leitmotif.
    pub fn current() -> Self {
        Self { name: env!("CARGO_PKG_NAME").to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
    }
}

/// One input file as listed in a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackEntry {
    /// Index of this entry in `tracks`.
    pub id: usize,
    /// The file's path as it was given or found.
    pub path: String,
    /// Decoded duration, seconds.
    #[serde(default)]
    pub duration_s: f64,
    /// Samples per second.
    #[serde(default)]
    pub sample_rate: u32,
    /// Channels in the file.
    #[serde(default)]
    pub channels: u16,
    /// Title tag, or null.
    #[serde(default)]
    pub title: Option<String>,
    /// Artist tag, or null.
    #[serde(default)]
    pub artist: Option<String>,
    /// Album tag, or null.
    #[serde(default)]
    pub album: Option<String>,
    /// Codec name (extra field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// Corrupt packets skipped while decoding (extra field).
    #[serde(default)]
    pub skipped_packets: usize,
    /// Estimated deviation from A440 in cents (extra field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning_cents: Option<f64>,
    /// Things that went wrong without stopping the analysis (extra field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TrackEntry {
    /// The last component of `path`, the name ground truth uses for the track.
    pub fn base_name(&self) -> &str {
        base_name(&self.path)
    }

    /// The title tag, or the base name when there is none.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| self.base_name())
    }
}

/// The fewest trailing path components of each track that no other track shares (`01.mp3`, or
/// `disc2`, `01.mp3` beside `disc1/01.mp3`); a path that is another's whole tail keeps all of
/// its components. Paths may use `/` or `\`.
pub fn unique_tails(tracks: &[TrackEntry]) -> Vec<Vec<String>> {
    let parts: Vec<Vec<&str>> =
        tracks.iter().map(|t| t.path.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect()).collect();
    let tail = |p: &[&str], n: usize| p[p.len().saturating_sub(n)..].join("/");
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = (1..=p.len().max(1))
                .find(|&n| {
                    let mine = tail(p, n);
                    parts.iter().enumerate().all(|(k, q)| k == i || tail(q, n) != mine)
                })
                .unwrap_or(p.len());
            p[p.len().saturating_sub(n)..].iter().map(|c| (*c).to_owned()).collect()
        })
        .collect()
}

/// The last component of a path written with `/` or `\` separators.
pub fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches(['/', '\\']);
    trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed)
}

/// An input that could not be analysed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// The file or folder.
    pub path: String,
    /// What went wrong (without repeating the path).
    pub message: String,
}

/// One place where a motif sounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OccurrenceEntry {
    /// Index into `tracks`.
    pub track: usize,
    /// Start, seconds from the start of the track.
    pub start_s: f64,
    /// End, seconds from the start of the track.
    pub end_s: f64,
    /// Semitones relative to the motif's first occurrence, -5..=6.
    #[serde(default)]
    pub transpose: i32,
    /// Duration over the first occurrence's duration.
    #[serde(default = "one")]
    pub tempo_ratio: f64,
    /// Similarity in [0, 1].
    #[serde(default)]
    pub score: f64,
}

fn one() -> f64 {
    1.0
}

/// A motif: a melodic idea heard at two or more places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotifEntry {
    /// Index of this motif in `motifs`.
    pub id: usize,
    /// Where it sounds; the first is the reference for `transpose` and `tempo_ratio`.
    pub occurrences: Vec<OccurrenceEntry>,
    /// The name of the library theme it plays (extra field; see [`crate::library`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Shorter ideas that recur only inside this motif's occurrences, a level below it (extra
    /// field; `analyze` only, absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<FigureEntry>,
}

/// A figure (extra field): a shorter idea heard only inside the occurrences of the motif that
/// lists it, with `transpose` and `tempo_ratio` relative to its own first occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureEntry {
    /// Where it sounds, sorted by track and start.
    pub occurrences: Vec<OccurrenceEntry>,
}

/// One place where a section sounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionOccurrence {
    /// Index into `tracks`.
    pub track: usize,
    /// Start, seconds from the start of the track.
    pub start_s: f64,
    /// End, seconds from the start of the track.
    pub end_s: f64,
}

/// A larger repeat (extra field): a stretch heard at two or more places, made of two or more
/// of the report's motifs in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionEntry {
    /// Index of this section in `sections`.
    pub id: usize,
    /// Where it sounds, sorted by track and start.
    pub occurrences: Vec<SectionOccurrence>,
    /// Ids of the motifs it is made of.
    pub motifs: Vec<usize>,
}

/// Two tracks that are versions of one another over a stretch (extra field): the same music in
/// another key, tempo or arrangement, such as the piano version of a song.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// Index into `tracks` of the first track (the lower index).
    pub track_a: usize,
    /// Index into `tracks` of the second track.
    pub track_b: usize,
    /// Where the stretch starts in the first track, seconds.
    pub a_start_s: f64,
    /// Where it ends in the first track, seconds.
    pub a_end_s: f64,
    /// Where it starts in the second track, seconds.
    pub b_start_s: f64,
    /// Where it ends in the second track, seconds.
    pub b_end_s: f64,
    /// Semitones the second track plays it above the first, in -5..=6.
    pub transpose: i32,
    /// Its duration in the second track over its duration in the first.
    pub tempo_ratio: f64,
    /// Seconds of music the alignment of the two holds.
    pub aligned_s: f64,
}

/// The report entry of `v`.
pub fn version_entry(v: &crate::motif::Version) -> VersionEntry {
    VersionEntry {
        track_a: v.a,
        track_b: v.b,
        a_start_s: round_time(v.a_span.0),
        a_end_s: round_time(v.a_span.1),
        b_start_s: round_time(v.b_span.0),
        b_end_s: round_time(v.b_span.1),
        transpose: wrap_shift(v.transpose),
        tempo_ratio: round_to(v.tempo_ratio, 4),
        aligned_s: round_time(v.aligned_s),
    }
}

/// A `leitmotif.report/1` document: the result of `analyze` and `find`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// The program that wrote it.
    #[serde(default)]
    pub tool: Tool,
    /// The settings used.
    #[serde(default)]
    pub params: Params,
    /// The inputs that were analysed.
    pub tracks: Vec<TrackEntry>,
    /// The motifs found.
    pub motifs: Vec<MotifEntry>,
    /// The inputs that could not be analysed.
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
    /// Larger repeats made of several motifs (extra field; `analyze` only, absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionEntry>,
    /// Pairs of tracks that are versions of one another (extra field; `analyze` only, absent
    /// when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<VersionEntry>,
}

/// One span of an episode where a track plays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CueEntry {
    /// Index into the cue sheet's `tracks`.
    pub track: usize,
    /// Episode time where the cue starts, seconds.
    pub start_s: f64,
    /// Episode time where the cue ends, seconds.
    pub end_s: f64,
    /// Where in the track the cue begins, seconds.
    #[serde(default)]
    pub track_start_s: f64,
    /// Semitones the episode's music is shifted from the track, -5..=6.
    #[serde(default)]
    pub transpose: i32,
    /// Similarity in [0, 1].
    #[serde(default)]
    pub score: f64,
    /// `"exact"` when the track's own recording plays (found by its spectral peaks),
    /// `"arranged"` when its music plays in another key or arrangement (found by chroma).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<String>,
    /// For an exact match, the evidence gathered, in nats (the log of how many times likelier
    /// the episode is with the track playing there than without).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_nats: Option<f64>,
    /// The library themes the cue plays (extra field, with `cues --lib`; see
    /// [`crate::library`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<String>,
}

/// One episode of a cue sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeEntry {
    /// The episode file's path.
    pub path: String,
    /// Decoded duration, seconds.
    #[serde(default)]
    pub duration_s: f64,
    /// Where tracks play, sorted by start.
    pub cues: Vec<CueEntry>,
    /// Corrupt packets skipped while decoding (extra field).
    #[serde(default)]
    pub skipped_packets: usize,
    /// Things that went wrong without stopping the analysis (extra field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A `leitmotif.cues/1` document: where known tracks play inside episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CueReport {
    /// Always [`CUES_SCHEMA`].
    pub schema: String,
    /// The program that wrote it (extra field).
    #[serde(default)]
    pub tool: Tool,
    /// The settings used (extra field).
    #[serde(default)]
    pub params: Params,
    /// The tracks searched for.
    pub tracks: Vec<TrackEntry>,
    /// The episodes searched.
    pub episodes: Vec<EpisodeEntry>,
    /// The inputs that could not be analysed.
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

/// One true occurrence (or true cue) in ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthOccurrence {
    /// The track's base name.
    pub track: String,
    /// Start, seconds (track time for motifs, episode time for cues).
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Optional difficulty label (a string or a number) for per-tier recall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<serde_json::Value>,
}

impl TruthOccurrence {
    /// The tier as text, if there is one.
    pub fn tier_label(&self) -> Option<String> {
        match self.tier.as_ref()? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// One true motif.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthMotif {
    /// Any label (the contract uses strings such as "A").
    #[serde(default)]
    pub id: serde_json::Value,
    /// Where it sounds.
    pub occurrences: Vec<TruthOccurrence>,
}

/// A `leitmotif.truth/1` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Always [`TRUTH_SCHEMA`].
    pub schema: String,
    /// The true motifs.
    pub motifs: Vec<TruthMotif>,
}

/// One episode of cue ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthEpisode {
    /// The episode's path (matched by base name).
    pub path: String,
    /// The true cues, with episode times.
    pub cues: Vec<TruthOccurrence>,
}

/// A `leitmotif.cuetruth/1` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CueTruth {
    /// Always [`CUETRUTH_SCHEMA`].
    pub schema: String,
    /// The episodes.
    pub episodes: Vec<TruthEpisode>,
}

/// Millisecond precision for times: finer than any frame hop used.
fn round_time(x: f64) -> f64 {
    round_to(x, 3)
}

fn clean_score(score: f32) -> f64 {
    let s = f64::from(score);
    if s.is_finite() { round_to(s.clamp(0.0, 1.0), 4) } else { 0.0 }
}

/// Orders occurrences by track, then start, then end.
fn occurrence_order(a: &Occurrence, b: &Occurrence) -> Ordering {
    place_order((a.track, a.start_s, a.end_s), (b.track, b.start_s, b.end_s))
}

fn usable(o: &Occurrence, n_tracks: usize) -> bool {
    o.track < n_tracks && o.start_s.is_finite() && o.end_s.is_finite() && o.end_s > o.start_s
}

/// Re-expresses `transpose` and `tempo_ratio` relative to `reference`, an occurrence whose values
/// are relative to the same old reference as everyone else's.
fn rebase(occ: &mut [Occurrence], reference: &Occurrence) {
    let ref_len = reference.end_s - reference.start_s;
    let ratio_ok = reference.tempo_ratio.is_finite() && reference.tempo_ratio > 0.0;
    for o in occ.iter_mut() {
        o.transpose -= reference.transpose;
        o.tempo_ratio = if ratio_ok && o.tempo_ratio.is_finite() {
            o.tempo_ratio / reference.tempo_ratio
        } else {
            // The ratios are unusable: fall back to the definition (duration over duration).
            (o.end_s - o.start_s) / ref_len
        };
    }
}

fn to_entry(o: &Occurrence) -> OccurrenceEntry {
    let ratio = if o.tempo_ratio.is_finite() && o.tempo_ratio > 0.0 { o.tempo_ratio } else { 1.0 };
    OccurrenceEntry {
        track: o.track,
        start_s: round_time(o.start_s),
        end_s: round_time(o.end_s),
        transpose: wrap_shift(o.transpose),
        tempo_ratio: round_to(ratio, 4),
        score: clean_score(o.score),
    }
}

/// Sorts a motif's occurrences by track then start, drops unusable and duplicate ones, and makes
/// `transpose`/`tempo_ratio` relative to the new first occurrence when sorting moved it.
fn normalise_motif(mut occ: Vec<Occurrence>, n_tracks: usize) -> Vec<Occurrence> {
    let old_first = occ.first().cloned();
    occ.retain(|o| usable(o, n_tracks));
    occ.sort_by(|a, b| occurrence_order(a, b).then(b.score.total_cmp(&a.score)));
    // The same span listed twice would count twice; keep the best-scored copy (sorted first).
    occ.dedup_by(|b, a| a.track == b.track && a.start_s == b.start_s && a.end_s == b.end_s);
    if let (Some(old), Some(new)) = (old_first, occ.first().cloned())
        && old != new
    {
        rebase(&mut occ, &new);
    }
    occ
}

/// Orders motifs: most occurrences first, then by their occurrences' positions, then by score.
fn motif_order(a: &[OccurrenceEntry], b: &[OccurrenceEntry]) -> Ordering {
    b.len().cmp(&a.len()).then_with(|| {
        for (x, y) in a.iter().zip(b) {
            let o = place_order((x.track, x.start_s, x.end_s), (y.track, y.start_s, y.end_s));
            if o != Ordering::Equal {
                return o;
            }
        }
        let sa: f64 = a.iter().map(|o| o.score).sum();
        let sb: f64 = b.iter().map(|o| o.score).sum();
        sb.total_cmp(&sa)
    })
}

/// Builds a `leitmotif.report/1` document from matcher output, enforcing the contract's rules:
/// occurrences on unknown tracks or with empty spans are dropped, occurrences are sorted by track
/// then start (with `transpose` wrapped into -5..=6 and both relative values rebased when the
/// first occurrence changed), motifs with fewer than two occurrences are dropped, and motifs are
/// sorted by occurrence count (ties by earliest occurrence) and numbered in that order.
/// Track ids are set to their index.
pub fn build_report(
    mut tracks: Vec<TrackEntry>,
    motifs: Vec<Motif>,
    params: Params,
    errors: Vec<ErrorEntry>,
) -> Report {
    let params = for_people(params);
    for (i, t) in tracks.iter_mut().enumerate() {
        t.id = i;
    }
    let n = tracks.len();
    let entry = |m: Motif| -> Option<Vec<OccurrenceEntry>> {
        let occ = normalise_motif(m.occurrences, n);
        (occ.len() >= 2).then(|| occ.iter().map(to_entry).collect())
    };
    let mut entries: Vec<(Vec<OccurrenceEntry>, Vec<FigureEntry>)> = motifs
        .into_iter()
        .filter_map(|mut m| {
            let mut figures: Vec<Vec<OccurrenceEntry>> =
                std::mem::take(&mut m.figures).into_iter().filter_map(entry).collect();
            figures.sort_by(|a, b| motif_order(a, b));
            let figures = figures.into_iter().map(|occurrences| FigureEntry { occurrences }).collect();
            entry(m).map(|occ| (occ, figures))
        })
        .collect();
    entries.sort_by(|a, b| motif_order(&a.0, &b.0));
    let motifs = entries
        .into_iter()
        .enumerate()
        .map(|(id, (occurrences, figures))| MotifEntry { name: None, id, occurrences, figures })
        .collect();
    let mut report = Report {
        schema: REPORT_SCHEMA.to_owned(),
        tool: Tool::current(),
        params,
        tracks,
        motifs,
        errors,
        sections: Vec::new(),
        versions: Vec::new(),
    };
    clamp_to_durations(&mut report);
    report
}

/// The sections (larger repeats) of the report's motifs, in the document's terms.
pub fn section_entries(motifs: &[MotifEntry]) -> Vec<SectionEntry> {
    let spans: Vec<Vec<Span>> = motifs
        .iter()
        .map(|m| m.occurrences.iter().map(|o| Span { track: o.track, start_s: o.start_s, end_s: o.end_s }).collect())
        .collect();
    find_sections(&spans)
        .into_iter()
        .enumerate()
        .map(|(id, s)| SectionEntry {
            id,
            occurrences: s
                .occurrences
                .iter()
                .map(|o| SectionOccurrence {
                    track: o.track,
                    start_s: round_to(o.start_s, 3),
                    end_s: round_to(o.end_s, 3),
                })
                .collect(),
            motifs: s.motifs.iter().map(|&m| motifs[m].id).collect(),
        })
        .collect()
}

/// Ends every occurrence no later than its track. Feature frames are centred on their times, so
/// the last one reaches up to half a hop past the last sample, and a match on it would too.
pub fn clamp_to_durations(report: &mut Report) {
    let places = report
        .motifs
        .iter_mut()
        .flat_map(|m| m.occurrences.iter_mut().chain(m.figures.iter_mut().flat_map(|f| f.occurrences.iter_mut())));
    for o in places {
        if let Some(t) = report.tracks.get(o.track)
            && t.duration_s > o.start_s
        {
            o.end_s = o.end_s.min(t.duration_s);
        }
    }
}

/// Builds the one motif of a `find` report: the query span first (transpose 0, tempo ratio 1,
/// score 1), then every other usable occurrence sorted by track then start. Occurrences with
/// `track == usize::MAX` stand for the query itself and are replaced by it; an occurrence on the
/// query's track that covers the query span (IoU >= 0.5) is the query found again and is dropped.
/// Returns `None` when nothing but the query remains, since a motif needs two occurrences.
pub fn query_motif(
    query_track: usize,
    start_s: f64,
    end_s: f64,
    found: Vec<Occurrence>,
    n_tracks: usize,
) -> Option<MotifEntry> {
    let query = Occurrence { track: query_track, start_s, end_s, transpose: 0, tempo_ratio: 1.0, score: 1.0 };
    let mut rest: Vec<Occurrence> = found
        .into_iter()
        .filter(|o| o.track != usize::MAX && usable(o, n_tracks))
        .filter(|o| !(o.track == query_track && span_iou(o.start_s, o.end_s, start_s, end_s) >= 0.5))
        .collect();
    if rest.is_empty() {
        return None;
    }
    rest.sort_by(|a, b| occurrence_order(a, b).then(b.score.total_cmp(&a.score)));
    rest.dedup_by(|b, a| a.track == b.track && a.start_s == b.start_s && a.end_s == b.end_s);
    let occurrences = std::iter::once(&query).chain(&rest).map(to_entry).collect();
    Some(MotifEntry { name: None, id: 0, occurrences, figures: Vec::new() })
}

/// Converts detected cues of one episode into document entries: unusable cues dropped,
/// transposes wrapped, sorted by start then track.
pub fn cue_entries(cues: Vec<Cue>, n_tracks: usize) -> Vec<CueEntry> {
    let mut cues: Vec<Cue> = cues
        .into_iter()
        .filter(|c| c.track < n_tracks && c.start_s.is_finite() && c.end_s.is_finite() && c.end_s > c.start_s)
        .collect();
    cues.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.track.cmp(&b.track)).then(a.end_s.total_cmp(&b.end_s)));
    cues.iter()
        .map(|c| CueEntry {
            track: c.track,
            start_s: round_time(c.start_s),
            end_s: round_time(c.end_s),
            track_start_s: round_time(if c.track_start_s.is_finite() { c.track_start_s.max(0.0) } else { 0.0 }),
            transpose: wrap_shift(c.transpose),
            score: clean_score(c.score),
            match_kind: Some(match c.kind {
                MatchKind::Exact => "exact".to_owned(),
                MatchKind::Arranged => "arranged".to_owned(),
            }),
            evidence_nats: (c.kind == MatchKind::Exact && c.evidence.is_finite()).then(|| round_to(c.evidence, 1)),
            themes: Vec::new(),
        })
        .collect()
}

/// Builds a `leitmotif.cues/1` document; track ids are set to their index.
pub fn build_cue_report(
    mut tracks: Vec<TrackEntry>,
    mut episodes: Vec<EpisodeEntry>,
    params: Params,
    errors: Vec<ErrorEntry>,
) -> CueReport {
    let params = for_people(params);
    for (i, t) in tracks.iter_mut().enumerate() {
        t.id = i;
    }
    // As in `clamp_to_durations`: no cue ends after its episode.
    for ep in &mut episodes {
        for c in ep.cues.iter_mut().filter(|c| ep.duration_s > c.start_s) {
            c.end_s = c.end_s.min(ep.duration_s);
        }
    }
    CueReport { schema: CUES_SCHEMA.to_owned(), tool: Tool::current(), params, tracks, episodes, errors }
}

/// The entry of `track` in a document, with index `id`.
pub fn track_entry(track: &Track, id: usize) -> TrackEntry {
    TrackEntry {
        id,
        path: track.path.display().to_string(),
        duration_s: round_to(track.duration_s, 3),
        sample_rate: track.info.sample_rate,
        channels: track.info.channels,
        title: track.info.tags.title.clone(),
        artist: track.info.tags.artist.clone(),
        album: track.info.tags.album.clone(),
        codec: Some(track.info.codec.clone()).filter(|c| !c.is_empty()),
        skipped_packets: track.skipped_packets,
        tuning_cents: Some(round_to(f64::from(track.features.tuning_cents), 1)).filter(|c| c.is_finite()),
        warnings: track.warnings(),
    }
}

/// The `errors` entry of a document for an input that could not be analysed.
pub fn error_entry(error: &InputError) -> ErrorEntry {
    ErrorEntry { path: error.path.display().to_string(), message: error.message() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(track: usize, start_s: f64, end_s: f64, transpose: i32, tempo_ratio: f64) -> Occurrence {
        Occurrence { track, start_s, end_s, transpose, tempo_ratio, score: 0.9 }
    }

    fn track(path: &str) -> TrackEntry {
        TrackEntry { path: path.to_owned(), ..TrackEntry::default() }
    }

    #[test]
    fn sorting_rebases_transpose_and_tempo() {
        // The matcher's reference is on track 1; after sorting, the track-0 occurrence is first.
        let m =
            Motif { occurrences: vec![occ(1, 10.0, 14.0, 0, 1.0), occ(0, 5.0, 10.0, 2, 1.25)], figures: Vec::new() };
        let r = build_report(vec![track("a.wav"), track("b.wav")], vec![m], Params::new(), vec![]);
        let o = &r.motifs[0].occurrences;
        assert_eq!((o[0].track, o[0].transpose, o[0].tempo_ratio), (0, 0, 1.0));
        assert_eq!((o[1].track, o[1].transpose, o[1].tempo_ratio), (1, -2, 0.8));
    }

    #[test]
    fn figures_are_kept_with_their_motif_rebased_and_written_only_when_there_are_some() {
        let figure = Motif {
            occurrences: vec![occ(1, 3.0, 5.0, 2, 1.1), occ(0, 2.0, 4.0, 0, 1.0), occ(9, 0.0, 1.0, 0, 1.0)],
            figures: Vec::new(),
        };
        let phrase =
            Motif { occurrences: vec![occ(0, 1.0, 9.0, 0, 1.0), occ(1, 2.0, 10.0, 0, 1.0)], figures: vec![figure] };
        let plain =
            Motif { occurrences: vec![occ(0, 20.0, 24.0, 0, 1.0), occ(1, 20.0, 24.0, 0, 1.0)], figures: vec![] };
        let r = build_report(vec![track("a"), track("b")], vec![plain, phrase], Params::new(), vec![]);
        let with = r.motifs.iter().find(|m| !m.figures.is_empty()).expect("the phrase keeps its figure");
        let f = &with.figures[0].occurrences;
        // The occurrence on an unknown track is dropped, the rest sorted and rebased on the first.
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].track, f[0].transpose, f[0].tempo_ratio), (0, 0, 1.0));
        assert_eq!((f[1].track, f[1].transpose, f[1].tempo_ratio), (1, 2, 1.1));
        let json = serde_json::to_value(&r).expect("a report serialises");
        let written: Vec<bool> =
            json["motifs"].as_array().expect("motifs is a list").iter().map(|m| m.get("figures").is_some()).collect();
        assert_eq!(written.iter().filter(|&&w| w).count(), 1);
    }

    #[test]
    fn motifs_sorted_by_count_then_position_and_singletons_dropped() {
        let m1 = Motif { occurrences: vec![occ(0, 30.0, 34.0, 0, 1.0), occ(1, 3.0, 7.0, 0, 1.0)], figures: Vec::new() };
        let m2 = Motif { occurrences: vec![occ(0, 1.0, 5.0, 0, 1.0), occ(1, 9.0, 13.0, 0, 1.0)], figures: Vec::new() };
        let m3 = Motif {
            occurrences: vec![occ(0, 50.0, 54.0, 0, 1.0), occ(1, 20.0, 24.0, 0, 1.0), occ(1, 40.0, 44.0, 0, 1.0)],
            figures: Vec::new(),
        };
        let single =
            Motif { occurrences: vec![occ(0, 0.0, 4.0, 0, 1.0), occ(7, 0.0, 4.0, 0, 1.0)], figures: Vec::new() };
        let r = build_report(vec![track("a"), track("b")], vec![m1, m2, m3, single], Params::new(), vec![]);
        let firsts: Vec<(usize, f64)> =
            r.motifs.iter().map(|m| (m.occurrences.len(), m.occurrences[0].start_s)).collect();
        assert_eq!(firsts, vec![(3, 50.0), (2, 1.0), (2, 30.0)]);
        assert!(r.motifs.iter().enumerate().all(|(i, m)| m.id == i));
    }

    #[test]
    fn query_motif_keeps_query_first_and_drops_self_match() {
        let found = vec![
            occ(usize::MAX, 10.0, 14.0, 0, 1.0),
            occ(0, 10.1, 14.0, 0, 1.0),
            occ(0, 2.0, 6.0, 3, 1.0),
            occ(1, 1.0, 5.0, -2, 1.0),
        ];
        let m = query_motif(0, 10.0, 14.0, found, 2).expect("a motif");
        let spans: Vec<(usize, f64)> = m.occurrences.iter().map(|o| (o.track, o.start_s)).collect();
        assert_eq!(spans, vec![(0, 10.0), (0, 2.0), (1, 1.0)]);
        assert!(query_motif(0, 10.0, 14.0, vec![occ(0, 10.0, 14.0, 0, 1.0)], 1).is_none());
    }

    #[test]
    fn null_tags_serialise_as_null_and_unknown_fields_are_ignored() {
        let r = build_report(vec![track("x/a.flac")], vec![], Params::new(), vec![]);
        let v = serde_json::to_value(&r).expect("serialises");
        assert_eq!(v["tracks"][0]["title"], serde_json::Value::Null);
        assert!(v["tracks"][0].as_object().is_some_and(|o| o.contains_key("artist")));
        let text = r#"{"schema":"leitmotif.report/1","tracks":[{"id":0,"path":"a","x":1}],
            "motifs":[{"id":0,"occurrences":[{"track":0,"start_s":1,"end_s":2,"extra":true}]}],"more":[]}"#;
        let back: Report = serde_json::from_str(text).expect("parses");
        assert_eq!(back.motifs[0].occurrences[0].tempo_ratio, 1.0);
    }

    #[test]
    fn base_names_and_times() {
        assert_eq!(base_name("ost/01 a.flac"), "01 a.flac");
        assert_eq!(base_name("C:\\ost\\b.mp3"), "b.mp3");
        assert_eq!(base_name("plain.wav"), "plain.wav");
        assert_eq!(format_time(72.34), "1:12.3");
        assert_eq!(format_time(3725.0), "1:02:05.0");
    }
}
