//! Scoring a report against ground truth exactly as the contract defines it: one-to-one greedy
//! IoU matching on the same track, occurrence precision/recall/F1, pairwise grouping F1 and their
//! harmonic mean; cue sheets are scored the same way on episode time without the grouping term.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::report::json::{from_value, read_value};
use crate::report::{
    CUES_SCHEMA, CUETRUTH_SCHEMA, CueReport, CueTruth, REPORT_SCHEMA, Report, TRUTH_SCHEMA, Truth, TruthOccurrence,
    base_name,
};

/// Smallest intersection over union at which two spans match.
pub const MIN_IOU: f64 = 0.5;

/// Slack on [`MIN_IOU`]: times are decimal seconds in JSON, and binary rounding of e.g.
/// 0.1 + 0.2 must not decide whether a span at exactly half overlap matches.
const IOU_SLACK: f64 = 1e-9;

/// A labelled time span: a track's base name (plus the episode for cues) and start/end seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// What the span belongs to; spans match only when labels are equal.
    pub label: String,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

impl Span {
    /// Intersection over union with `other`, ignoring labels (0 when either span is empty).
    pub fn iou(&self, other: &Span) -> f64 {
        crate::report::span_iou(self.start_s, self.end_s, other.start_s, other.end_s)
    }
}

/// A one-to-one pairing of predicted and true spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matching {
    /// For each prediction, the index of its true partner.
    pub pred_to_truth: Vec<Option<usize>>,
    /// For each true span, the index of its predicted partner.
    pub truth_to_pred: Vec<Option<usize>>,
}

impl Matching {
    /// Number of matched pairs.
    pub fn matched(&self) -> usize {
        self.pred_to_truth.iter().flatten().count()
    }
}

/// Matches predictions to truths one-to-one: among all pairs with equal labels and
/// IoU >= 0.5, the pair with the largest IoU is taken first; ties go to the earlier true span,
/// then the earlier prediction, so the result does not depend on hash order.
pub fn greedy_match(pred: &[Span], truth: &[Span]) -> Matching {
    let mut by_label: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, t) in truth.iter().enumerate() {
        by_label.entry(t.label.as_str()).or_default().push(j);
    }
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for (i, p) in pred.iter().enumerate() {
        for &j in by_label.get(p.label.as_str()).map_or(&[][..], Vec::as_slice) {
            let iou = p.iou(&truth[j]);
            if iou >= MIN_IOU - IOU_SLACK {
                candidates.push((iou, j, i));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut m = Matching { pred_to_truth: vec![None; pred.len()], truth_to_pred: vec![None; truth.len()] };
    for (_, j, i) in candidates {
        if m.pred_to_truth[i].is_none() && m.truth_to_pred[j].is_none() {
            m.pred_to_truth[i] = Some(j);
            m.truth_to_pred[j] = Some(i);
        }
    }
    m
}

/// Precision, recall and their harmonic mean.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Prf {
    /// Matched predictions over predictions.
    pub precision: f64,
    /// Matched truths over truths.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

impl Prf {
    /// From counts. A ratio with nothing to divide by is 1 when the other side is empty too
    /// (nothing to find, nothing claimed) and 0 otherwise.
    pub fn from_counts(matched: usize, predicted: usize, truth: usize) -> Self {
        let ratio = |num: usize, den: usize, other: usize| {
            if den > 0 {
                num as f64 / den as f64
            } else if other == 0 {
                1.0
            } else {
                0.0
            }
        };
        let precision = ratio(matched, predicted, truth);
        let recall = ratio(matched, truth, predicted);
        Self { precision, recall, f1: harmonic(precision, recall) }
    }
}

/// Harmonic mean of two scores (0 when both are 0).
pub fn harmonic(a: f64, b: f64) -> f64 {
    if a + b > 0.0 { 2.0 * a * b / (a + b) } else { 0.0 }
}

/// Recall of the true occurrences carrying one `tier` label.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TierRecall {
    /// The tier label.
    pub tier: String,
    /// True occurrences with this tier.
    pub truth: usize,
    /// Of those, how many were matched.
    pub matched: usize,
    /// `matched / truth`.
    pub recall: f64,
}

/// The score of a motif report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MotifScore {
    /// Predicted occurrences.
    pub predicted: usize,
    /// True occurrences.
    pub truth: usize,
    /// Matched occurrences.
    pub matched: usize,
    /// Occurrence precision, recall, F1.
    pub occurrence: Prf,
    /// Pairs of occurrences within one predicted motif.
    pub predicted_pairs: u64,
    /// Pairs of occurrences within one true motif.
    pub true_pairs: u64,
    /// Pairs together in both.
    pub together_pairs: u64,
    /// Pair precision, recall, F1 (1.0 when no pairs on either side).
    pub grouping: Prf,
    /// Harmonic mean of occurrence F1 and grouping F1.
    pub headline: f64,
    /// Recall per `tier`, sorted by tier label (empty when truth has no tiers).
    pub tiers: Vec<TierRecall>,
    /// Track names in the truth that no report track has.
    pub unknown_tracks: Vec<String>,
    /// Base names shared by several report tracks (their occurrences cannot be told apart).
    pub ambiguous_tracks: Vec<String>,
}

/// The score of one episode of a cue sheet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpisodeScore {
    /// The episode's base name.
    pub episode: String,
    /// Predicted cues.
    pub predicted: usize,
    /// True cues.
    pub truth: usize,
    /// Matched cues.
    pub matched: usize,
    /// Precision, recall, F1 on this episode.
    pub prf: Prf,
}

/// The score of a cue sheet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CueScore {
    /// Per episode, sorted by name (episodes in either document).
    pub episodes: Vec<EpisodeScore>,
    /// Predicted cues overall.
    pub predicted: usize,
    /// True cues overall.
    pub truth: usize,
    /// Matched cues overall.
    pub matched: usize,
    /// Overall precision, recall, F1.
    pub overall: Prf,
    /// Recall per `tier`.
    pub tiers: Vec<TierRecall>,
}

/// The score of either kind of document; serialised with `kind` (`motifs` or `cues`) beside
/// the score's fields.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Evaluation {
    /// A `leitmotif.report/1` against `leitmotif.truth/1`.
    Motifs(MotifScore),
    /// A `leitmotif.cues/1` against `leitmotif.cuetruth/1`.
    Cues(CueScore),
}

fn span_of(label: String, o: &TruthOccurrence) -> Span {
    Span { label, start_s: o.start_s, end_s: o.end_s }
}

fn check_span(path: &Path, what: &str, start_s: f64, end_s: f64) -> Result<()> {
    if start_s.is_finite() && end_s.is_finite() && start_s <= end_s {
        Ok(())
    } else {
        Err(Error::BadDocument {
            path: path.to_path_buf(),
            detail: format!("{what} has an invalid span {start_s}-{end_s}"),
        })
    }
}

fn tier_recalls(truth: &[&TruthOccurrence], matching: &Matching) -> Vec<TierRecall> {
    let mut tiers: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (j, t) in truth.iter().enumerate() {
        if let Some(tier) = t.tier_label() {
            let e = tiers.entry(tier).or_default();
            e.0 += 1;
            e.1 += usize::from(matching.truth_to_pred[j].is_some());
        }
    }
    tiers
        .into_iter()
        .map(|(tier, (truth, matched))| TierRecall { tier, truth, matched, recall: matched as f64 / truth as f64 })
        .collect()
}

fn pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// Scores a motif report against motif ground truth.
///
/// `report_path` and `truth_path` only name the documents in errors.
///
/// # Errors
/// [`Error::BadDocument`] when an occurrence names a track index outside `tracks` or a span
/// is not finite or ends before it starts.
pub fn score_motifs(report: &Report, truth: &Truth, report_path: &Path, truth_path: &Path) -> Result<MotifScore> {
    let mut pred = Vec::new();
    let mut pred_motif = Vec::new();
    for (mi, m) in report.motifs.iter().enumerate() {
        for o in &m.occurrences {
            let track = report.tracks.get(o.track).ok_or_else(|| Error::BadDocument {
                path: report_path.to_path_buf(),
                detail: format!("motif {} names track {}, but there are {} tracks", m.id, o.track, report.tracks.len()),
            })?;
            check_span(report_path, &format!("an occurrence of motif {}", m.id), o.start_s, o.end_s)?;
            pred.push(Span { label: track.base_name().to_owned(), start_s: o.start_s, end_s: o.end_s });
            pred_motif.push(mi);
        }
    }
    let mut true_spans = Vec::new();
    let mut true_motif = Vec::new();
    let mut true_occ = Vec::new();
    for (mi, m) in truth.motifs.iter().enumerate() {
        for o in &m.occurrences {
            check_span(truth_path, &format!("an occurrence of true motif {}", m.id), o.start_s, o.end_s)?;
            true_spans.push(span_of(base_name(&o.track).to_owned(), o));
            true_motif.push(mi);
            true_occ.push(o);
        }
    }
    let matching = greedy_match(&pred, &true_spans);
    let matched = matching.matched();
    let occurrence = Prf::from_counts(matched, pred.len(), true_spans.len());

    // A matched pair inside predicted motif P and true motif T is together in both; there are
    // C(n, 2) such pairs for the n matches linking P and T.
    let mut links: HashMap<(usize, usize), usize> = HashMap::new();
    for (i, j) in matching.pred_to_truth.iter().enumerate() {
        if let Some(j) = j {
            *links.entry((pred_motif[i], true_motif[*j])).or_default() += 1;
        }
    }
    let together_pairs: u64 = links.values().map(|&n| pairs(n)).sum();
    let predicted_pairs: u64 = report.motifs.iter().map(|m| pairs(m.occurrences.len())).sum();
    let true_pairs: u64 = truth.motifs.iter().map(|m| pairs(m.occurrences.len())).sum();
    let grouping = pair_prf(together_pairs, predicted_pairs, true_pairs);

    let mut names: HashMap<&str, usize> = HashMap::new();
    for t in &report.tracks {
        *names.entry(t.base_name()).or_default() += 1;
    }
    let mut unknown_tracks: Vec<String> =
        true_spans.iter().filter(|s| !names.contains_key(s.label.as_str())).map(|s| s.label.clone()).collect();
    unknown_tracks.sort();
    unknown_tracks.dedup();
    let mut ambiguous_tracks: Vec<String> =
        names.iter().filter(|&(_, &n)| n > 1).map(|(name, _)| (*name).to_owned()).collect();
    ambiguous_tracks.sort();

    Ok(MotifScore {
        predicted: pred.len(),
        truth: true_spans.len(),
        matched,
        occurrence,
        predicted_pairs,
        true_pairs,
        together_pairs,
        grouping,
        headline: harmonic(occurrence.f1, grouping.f1),
        tiers: tier_recalls(&true_occ, &matching),
        unknown_tracks,
        ambiguous_tracks,
    })
}

fn pair_prf(together: u64, predicted: u64, truth: u64) -> Prf {
    if predicted == 0 && truth == 0 {
        return Prf { precision: 1.0, recall: 1.0, f1: 1.0 };
    }
    let precision = if predicted > 0 { together as f64 / predicted as f64 } else { 0.0 };
    let recall = if truth > 0 { together as f64 / truth as f64 } else { 0.0 };
    Prf { precision, recall, f1: harmonic(precision, recall) }
}

/// Scores a cue sheet against cue ground truth: episodes are paired by base name, cues match
/// within an episode by track base name and IoU on episode time.
///
/// # Errors
/// [`Error::BadDocument`] when a cue names a track index outside `tracks` or a span is invalid.
pub fn score_cues(report: &CueReport, truth: &CueTruth, report_path: &Path, truth_path: &Path) -> Result<CueScore> {
    // Episode name -> (predicted spans, true spans, true occurrences).
    type Side<'a> = (Vec<Span>, Vec<Span>, Vec<&'a TruthOccurrence>);
    let mut episodes: BTreeMap<String, Side<'_>> = BTreeMap::new();
    for ep in &report.episodes {
        let slot = episodes.entry(base_name(&ep.path).to_owned()).or_default();
        for c in &ep.cues {
            let track = report.tracks.get(c.track).ok_or_else(|| Error::BadDocument {
                path: report_path.to_path_buf(),
                detail: format!(
                    "a cue in {} names track {}, but there are {} tracks",
                    ep.path,
                    c.track,
                    report.tracks.len()
                ),
            })?;
            check_span(report_path, &format!("a cue in {}", ep.path), c.start_s, c.end_s)?;
            slot.0.push(Span { label: track.base_name().to_owned(), start_s: c.start_s, end_s: c.end_s });
        }
    }
    for ep in &truth.episodes {
        let slot = episodes.entry(base_name(&ep.path).to_owned()).or_default();
        for c in &ep.cues {
            check_span(truth_path, &format!("a true cue in {}", ep.path), c.start_s, c.end_s)?;
            slot.1.push(span_of(base_name(&c.track).to_owned(), c));
            slot.2.push(c);
        }
    }
    let mut scores = Vec::new();
    let mut tier_counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut predicted, mut truth_n, mut matched) = (0, 0, 0);
    for (episode, (pred, true_spans, true_occ)) in &episodes {
        let m = greedy_match(pred, true_spans);
        let k = m.matched();
        for t in tier_recalls(true_occ, &m) {
            let e = tier_counts.entry(t.tier).or_default();
            e.0 += t.truth;
            e.1 += t.matched;
        }
        scores.push(EpisodeScore {
            episode: episode.clone(),
            predicted: pred.len(),
            truth: true_spans.len(),
            matched: k,
            prf: Prf::from_counts(k, pred.len(), true_spans.len()),
        });
        predicted += pred.len();
        truth_n += true_spans.len();
        matched += k;
    }
    let tiers = tier_counts
        .into_iter()
        .map(|(tier, (truth, matched))| TierRecall { tier, truth, matched, recall: matched as f64 / truth as f64 })
        .collect();
    Ok(CueScore {
        episodes: scores,
        predicted,
        truth: truth_n,
        matched,
        overall: Prf::from_counts(matched, predicted, truth_n),
        tiers,
    })
}

/// What a document is, from its `schema` field (or, when absent, from its fields).
fn kind(value: &serde_json::Value, path: &Path, known: [&str; 2]) -> Result<usize> {
    let bad = |detail: String| Error::BadDocument { path: path.to_path_buf(), detail };
    match value.get("schema") {
        Some(serde_json::Value::String(s)) => known
            .iter()
            .position(|k| k == s)
            .ok_or_else(|| bad(format!("schema {s:?} is not one of {}", known.join(", ")))),
        Some(other) => Err(bad(format!("schema must be a string, found {other}"))),
        None if value.get("motifs").is_some() => Ok(0),
        None if value.get("episodes").is_some() => Ok(1),
        None => Err(bad(format!("no schema field; expected one of {}", known.join(", ")))),
    }
}

/// Reads both documents, detects whether they are motif or cue documents, and scores them.
///
/// # Errors
/// [`Error::Io`] or [`Error::BadDocument`] when a document cannot be read, does not follow its
/// schema, or the two are of different kinds.
pub fn evaluate_files(truth_path: &Path, report_path: &Path) -> Result<Evaluation> {
    evaluate_values((read_value(truth_path)?, truth_path), (read_value(report_path)?, report_path))
}

/// Detects whether two parsed documents are motif or cue documents and scores them; the paths
/// only name the documents in errors.
///
/// # Errors
/// [`Error::BadDocument`] when a document does not follow its schema or the two are of
/// different kinds.
pub fn evaluate_values(
    (truth_value, truth_path): (serde_json::Value, &Path),
    (report_value, report_path): (serde_json::Value, &Path),
) -> Result<Evaluation> {
    let truth_kind = kind(&truth_value, truth_path, [TRUTH_SCHEMA, CUETRUTH_SCHEMA])?;
    let report_kind = kind(&report_value, report_path, [REPORT_SCHEMA, CUES_SCHEMA])?;
    if truth_kind != report_kind {
        let (t, r) = ([TRUTH_SCHEMA, CUETRUTH_SCHEMA][truth_kind], [REPORT_SCHEMA, CUES_SCHEMA][report_kind]);
        return Err(Error::BadDocument {
            path: report_path.to_path_buf(),
            detail: format!("a {r} document cannot be scored against {t} truth"),
        });
    }
    if truth_kind == 0 {
        let truth: Truth = from_value(truth_path, truth_value)?;
        let report: Report = from_value(report_path, report_value)?;
        score_motifs(&report, &truth, report_path, truth_path).map(Evaluation::Motifs)
    } else {
        let truth: CueTruth = from_value(truth_path, truth_value)?;
        let report: CueReport = from_value(report_path, report_value)?;
        score_cues(&report, &truth, report_path, truth_path).map(Evaluation::Cues)
    }
}

/// The contract's last line: `F1 <x> (occurrence P <p> R <r> F1 <f>; grouping F1 <g>)`.
pub fn headline_line(headline: f64, occurrence: Prf, grouping_f1: f64) -> String {
    format!(
        "F1 {headline:.4} (occurrence P {:.4} R {:.4} F1 {:.4}; grouping F1 {grouping_f1:.4})",
        occurrence.precision, occurrence.recall, occurrence.f1
    )
}

fn write_tiers(out: &mut String, tiers: &[TierRecall]) {
    for t in tiers {
        let _ = writeln!(out, "tier {}: recall {:.4} ({} of {})", t.tier, t.recall, t.matched, t.truth);
    }
}

impl Evaluation {
    /// The headline F1 (for cues, the cue F1).
    pub fn headline(&self) -> f64 {
        match self {
            Self::Motifs(s) => s.headline,
            Self::Cues(s) => s.overall.f1,
        }
    }

    /// A readable account of the score whose last line is [`headline_line`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Motifs(s) => {
                for name in &s.unknown_tracks {
                    let _ = writeln!(out, "note: truth names {name}, which is not among the report's tracks");
                }
                for name in &s.ambiguous_tracks {
                    let _ = writeln!(out, "note: several report tracks are named {name}");
                }
                let _ = writeln!(
                    out,
                    "occurrences: {} predicted, {} true, {} matched (same track, IoU >= {MIN_IOU})",
                    s.predicted, s.truth, s.matched
                );
                let _ = writeln!(
                    out,
                    "pairs: {} predicted, {} true, {} together in both (P {:.4} R {:.4})",
                    s.predicted_pairs, s.true_pairs, s.together_pairs, s.grouping.precision, s.grouping.recall
                );
                write_tiers(&mut out, &s.tiers);
                out.push_str(&headline_line(s.headline, s.occurrence, s.grouping.f1));
            }
            Self::Cues(s) => {
                for e in &s.episodes {
                    let _ = writeln!(
                        out,
                        "episode {}: {} predicted, {} true, {} matched; P {:.4} R {:.4} F1 {:.4}",
                        e.episode, e.predicted, e.truth, e.matched, e.prf.precision, e.prf.recall, e.prf.f1
                    );
                }
                let _ = writeln!(
                    out,
                    "cues: {} predicted, {} true, {} matched (same track, IoU >= {MIN_IOU} on episode time)",
                    s.predicted, s.truth, s.matched
                );
                write_tiers(&mut out, &s.tiers);
                let _ = writeln!(out, "cues have no grouping term: grouping F1 is reported as 1 and F1 is the cue F1");
                out.push_str(&headline_line(s.overall.f1, s.overall, 1.0));
            }
        }
        out.push('\n');
        out
    }
}
