//! Scoring on hand-made reports and truths whose answers can be worked out by hand.

use std::path::Path;

use leitmotif::Error;
use leitmotif::eval::{Evaluation, Span, evaluate_files, greedy_match, score_cues, score_motifs};
use leitmotif::report::{CueReport, CueTruth, Report, Truth};
use serde_json::json;

const EPS: f64 = 1e-9;

/// A report over tracks `a.wav`, `b.wav`, `c.wav` (in folders, to exercise base names) whose
/// motifs are lists of (track index, start, end).
fn report(motifs: &[&[(usize, f64, f64)]]) -> Report {
    let motifs: Vec<_> = motifs
        .iter()
        .enumerate()
        .map(|(id, occ)| {
            json!({"id": id, "occurrences": occ.iter().map(|&(t, s, e)| json!({
                "track": t, "start_s": s, "end_s": e, "transpose": 0, "tempo_ratio": 1.0, "score": 0.9
            })).collect::<Vec<_>>()})
        })
        .collect();
    serde_json::from_value(json!({
        "schema": "leitmotif.report/1",
        "tool": {"name": "leitmotif", "version": "0.1.0"},
        "params": {},
        "tracks": [
            {"id": 0, "path": "ost/a.wav", "duration_s": 100.0, "sample_rate": 44100, "channels": 2, "title": null, "artist": null, "album": null},
            {"id": 1, "path": "ost/b.wav", "duration_s": 100.0, "sample_rate": 44100, "channels": 2, "title": null, "artist": null, "album": null},
            {"id": 2, "path": "other/c.wav", "duration_s": 100.0, "sample_rate": 44100, "channels": 2, "title": null, "artist": null, "album": null}
        ],
        "motifs": motifs,
        "errors": []
    }))
    .expect("a valid report")
}

/// Truth whose motifs are lists of (track name, start, end).
fn truth(motifs: &[&[(&str, f64, f64)]]) -> Truth {
    let motifs: Vec<_> = motifs
        .iter()
        .enumerate()
        .map(|(id, occ)| {
            json!({"id": format!("M{id}"), "occurrences": occ.iter().map(|&(t, s, e)| json!({
                "track": t, "start_s": s, "end_s": e
            })).collect::<Vec<_>>()})
        })
        .collect();
    serde_json::from_value(json!({"schema": "leitmotif.truth/1", "motifs": motifs})).expect("valid truth")
}

fn score(r: &Report, t: &Truth) -> leitmotif::eval::MotifScore {
    score_motifs(r, t, Path::new("report.json"), Path::new("truth.json")).expect("scores")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn perfect_prediction_scores_one() {
    let r = report(&[&[(0, 10.0, 15.0), (1, 20.0, 25.0), (2, 1.0, 6.0)], &[(0, 40.0, 44.0), (1, 50.0, 54.0)]]);
    let t = truth(&[
        &[("a.wav", 10.0, 15.0), ("b.wav", 20.0, 25.0), ("c.wav", 1.0, 6.0)],
        &[("a.wav", 40.0, 44.0), ("b.wav", 50.0, 54.0)],
    ]);
    let s = score(&r, &t);
    assert_eq!((s.predicted, s.truth, s.matched), (5, 5, 5));
    assert_eq!((s.predicted_pairs, s.true_pairs, s.together_pairs), (4, 4, 4));
    assert!(close(s.headline, 1.0) && close(s.occurrence.f1, 1.0) && close(s.grouping.f1, 1.0));
}

#[test]
fn empty_prediction_scores_zero() {
    let s = score(&report(&[]), &truth(&[&[("a.wav", 0.0, 5.0), ("b.wav", 0.0, 5.0)]]));
    assert_eq!(s.matched, 0);
    assert!(close(s.occurrence.precision, 0.0) && close(s.occurrence.recall, 0.0));
    assert!(close(s.grouping.f1, 0.0) && close(s.headline, 0.0));
}

#[test]
fn empty_truth_scores_zero_and_both_empty_scores_one() {
    let s = score(&report(&[&[(0, 0.0, 5.0), (1, 0.0, 5.0)]]), &truth(&[]));
    assert!(close(s.occurrence.f1, 0.0) && close(s.grouping.f1, 0.0) && close(s.headline, 0.0));
    let both = score(&report(&[]), &truth(&[]));
    assert!(close(both.occurrence.f1, 1.0) && close(both.grouping.f1, 1.0) && close(both.headline, 1.0));
}

#[test]
fn motif_split_in_two_costs_grouping_only() {
    let t = truth(&[&[("a.wav", 0.0, 4.0), ("a.wav", 10.0, 14.0), ("b.wav", 0.0, 4.0), ("b.wav", 10.0, 14.0)]]);
    let r = report(&[&[(0, 0.0, 4.0), (0, 10.0, 14.0)], &[(1, 0.0, 4.0), (1, 10.0, 14.0)]]);
    let s = score(&r, &t);
    assert!(close(s.occurrence.f1, 1.0));
    // 2 predicted pairs, 6 true pairs, 2 together: P 1, R 1/3, F 1/2; headline H(1, 1/2) = 2/3.
    assert_eq!((s.predicted_pairs, s.true_pairs, s.together_pairs), (2, 6, 2));
    assert!(close(s.grouping.precision, 1.0) && close(s.grouping.recall, 1.0 / 3.0));
    assert!(close(s.grouping.f1, 0.5));
    assert!(close(s.headline, 2.0 / 3.0));
}

#[test]
fn two_motifs_merged_into_one_costs_pair_precision() {
    let t = truth(&[&[("a.wav", 0.0, 4.0), ("b.wav", 0.0, 4.0)], &[("a.wav", 20.0, 24.0), ("b.wav", 20.0, 24.0)]]);
    let r = report(&[&[(0, 0.0, 4.0), (0, 20.0, 24.0), (1, 0.0, 4.0), (1, 20.0, 24.0)]]);
    let s = score(&r, &t);
    assert_eq!((s.predicted_pairs, s.true_pairs, s.together_pairs), (6, 2, 2));
    assert!(close(s.grouping.f1, 0.5));
}

#[test]
fn wrong_track_never_matches() {
    let r = report(&[&[(0, 0.0, 5.0), (2, 0.0, 5.0)]]);
    let t = truth(&[&[("a.wav", 0.0, 5.0), ("b.wav", 0.0, 5.0)]]);
    let s = score(&r, &t);
    assert_eq!(s.matched, 1);
    // The one matched occurrence is together with nothing.
    assert_eq!(s.together_pairs, 0);
    assert!(close(s.occurrence.precision, 0.5) && close(s.occurrence.recall, 0.5));
}

#[test]
fn truth_names_tracks_by_base_name_even_with_folders() {
    let r = report(&[&[(0, 0.0, 5.0), (2, 0.0, 5.0)]]);
    let t = truth(&[&[("somewhere/a.wav", 0.0, 5.0), ("c.wav", 0.0, 5.0)]]);
    let s = score(&r, &t);
    assert_eq!(s.matched, 2);
    assert!(s.unknown_tracks.is_empty());
    let unknown = score(&r, &truth(&[&[("zzz.wav", 0.0, 5.0), ("c.wav", 0.0, 5.0)]]));
    assert_eq!(unknown.unknown_tracks, vec!["zzz.wav".to_owned()]);
}

#[test]
fn overlapping_spans_match_only_from_half_overlap() {
    let span = |s, e| Span { label: "a.wav".to_owned(), start_s: s, end_s: e };
    let t = [span(0.0, 10.0)];
    // IoU 5/15: no match. IoU 8/10: match.
    assert_eq!(greedy_match(&[span(5.0, 15.0)], &t).matched(), 0);
    assert_eq!(greedy_match(&[span(2.0, 10.0)], &t).matched(), 1);
    // Contained span: IoU 4/10.
    assert_eq!(greedy_match(&[span(3.0, 7.0)], &t).matched(), 0);
}

#[test]
fn iou_of_exactly_one_half_matches() {
    let span = |s, e| Span { label: "a.wav".to_owned(), start_s: s, end_s: e };
    assert!((span(0.0, 5.0).iou(&span(0.0, 10.0)) - 0.5).abs() < EPS);
    assert_eq!(greedy_match(&[span(0.0, 5.0)], &[span(0.0, 10.0)]).matched(), 1);
    assert_eq!(greedy_match(&[span(5.0, 10.0)], &[span(0.0, 10.0)]).matched(), 1);
    // Decimal times whose binary sums round just below one half still match.
    assert_eq!(greedy_match(&[span(0.1, 0.2)], &[span(0.1, 0.3)]).matched(), 1);
    assert_eq!(greedy_match(&[span(0.0, 4.99)], &[span(0.0, 10.0)]).matched(), 0);
}

#[test]
fn matching_is_greedy_by_largest_iou_not_maximal() {
    let span = |s, e| Span { label: "a.wav".to_owned(), start_s: s, end_s: e };
    let t1 = span(0.0, 10.0);
    let t2 = span(0.0, 4.95);
    let p1 = span(4.0, 10.0); // IoU 0.6 with t1, below 0.5 with t2
    let p2 = span(0.0, 9.0); // IoU 0.9 with t1, 0.55 with t2
    assert!(close(p1.iou(&t1), 0.6) && close(p2.iou(&t1), 0.9) && close(p2.iou(&t2), 0.55));
    let m = greedy_match(&[p1, p2], &[t1, t2]);
    // Largest first: p2-t1 is taken; p1 and t2 are then left without partners, although
    // p1-t1 + p2-t2 would have matched both.
    assert_eq!(m.pred_to_truth, vec![None, Some(0)]);
    assert_eq!(m.truth_to_pred, vec![Some(1), None]);
}

#[test]
fn ties_go_to_the_earlier_span() {
    let span = |s, e| Span { label: "a.wav".to_owned(), start_s: s, end_s: e };
    let m = greedy_match(&[span(0.0, 8.0), span(0.0, 8.0)], &[span(0.0, 10.0)]);
    assert_eq!(m.pred_to_truth, vec![Some(0), None]);
    let m = greedy_match(&[span(0.0, 10.0)], &[span(0.0, 8.0), span(0.0, 8.0)]);
    assert_eq!(m.truth_to_pred, vec![Some(0), None]);
}

#[test]
fn duplicate_predictions_count_against_precision() {
    let r = report(&[&[(0, 0.0, 5.0), (0, 0.0, 5.0), (1, 0.0, 5.0)]]);
    let t = truth(&[&[("a.wav", 0.0, 5.0), ("b.wav", 0.0, 5.0)]]);
    let s = score(&r, &t);
    assert_eq!(s.matched, 2);
    assert!(close(s.occurrence.precision, 2.0 / 3.0) && close(s.occurrence.recall, 1.0));
    // 3 predicted pairs, 1 true, 1 together.
    assert!(close(s.grouping.precision, 1.0 / 3.0) && close(s.grouping.recall, 1.0));
}

#[test]
fn tiers_get_their_own_recall() {
    let r = report(&[&[(0, 0.0, 5.0), (1, 0.0, 5.0)]]);
    let t: Truth =
        serde_json::from_value(json!({"schema": "leitmotif.truth/1", "motifs": [{"id": "A", "occurrences": [
            {"track": "a.wav", "start_s": 0.0, "end_s": 5.0, "tier": "easy"},
            {"track": "b.wav", "start_s": 0.0, "end_s": 5.0, "tier": "hard"},
            {"track": "c.wav", "start_s": 0.0, "end_s": 5.0, "tier": "hard"},
            {"track": "c.wav", "start_s": 50.0, "end_s": 55.0, "tier": 3}
        ]}]}))
        .expect("valid truth");
    let s = score(&r, &t);
    let tiers: Vec<(String, usize, usize)> = s.tiers.iter().map(|t| (t.tier.clone(), t.truth, t.matched)).collect();
    assert_eq!(tiers, vec![("3".into(), 1, 0), ("easy".into(), 1, 1), ("hard".into(), 2, 1)]);
}

#[test]
fn out_of_range_track_index_is_a_bad_document() {
    let r = report(&[&[(0, 0.0, 5.0), (9, 0.0, 5.0)]]);
    let res = score_motifs(&r, &truth(&[]), Path::new("r.json"), Path::new("t.json"));
    assert!(matches!(res, Err(Error::BadDocument { .. })));
}

fn cue_report() -> CueReport {
    serde_json::from_value(json!({
        "schema": "leitmotif.cues/1",
        "tracks": [{"id": 0, "path": "ost/03.flac", "duration_s": 200.0}, {"id": 1, "path": "ost/04.flac", "duration_s": 100.0}],
        "episodes": [
            {"path": "eps/ep01.wav", "duration_s": 3000.0, "cues": [
                {"track": 0, "start_s": 120.0, "end_s": 160.0, "track_start_s": 30.0, "transpose": 0, "score": 0.9},
                {"track": 1, "start_s": 400.0, "end_s": 430.0, "track_start_s": 0.0, "transpose": 0, "score": 0.7}
            ]},
            {"path": "eps/ep02.wav", "duration_s": 3000.0, "cues": [
                {"track": 1, "start_s": 10.0, "end_s": 40.0, "track_start_s": 0.0, "transpose": 0, "score": 0.8}
            ]}
        ],
        "errors": []
    }))
    .expect("valid cue report")
}

#[test]
fn cues_are_scored_per_episode_by_track_name() {
    let t: CueTruth = serde_json::from_value(json!({"schema": "leitmotif.cuetruth/1", "episodes": [
        {"path": "ep01.wav", "cues": [
            {"track": "03.flac", "start_s": 120.0, "end_s": 165.0},
            {"track": "03.flac", "start_s": 400.0, "end_s": 430.0}
        ]},
        {"path": "ep02.wav", "cues": [{"track": "04.flac", "start_s": 12.0, "end_s": 40.0}]}
    ]}))
    .expect("valid cue truth");
    let s = score_cues(&cue_report(), &t, Path::new("r"), Path::new("t")).expect("scores");
    assert_eq!((s.predicted, s.truth, s.matched), (3, 3, 2));
    let per: Vec<(String, usize)> = s.episodes.iter().map(|e| (e.episode.clone(), e.matched)).collect();
    // ep01: the second cue names the wrong track.
    assert_eq!(per, vec![("ep01.wav".into(), 1), ("ep02.wav".into(), 1)]);
    assert!(close(s.overall.f1, 2.0 / 3.0));
}

#[test]
fn files_are_told_apart_by_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, v: serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, v.to_string()).expect("write");
        p
    };
    let r = write("r.json", serde_json::to_value(report(&[&[(0, 0.0, 5.0), (1, 0.0, 5.0)]])).expect("json"));
    let t = write(
        "t.json",
        json!({"schema": "leitmotif.truth/1", "motifs": [{"id": "A", "occurrences": [
        {"track": "a.wav", "start_s": 0.0, "end_s": 5.0}, {"track": "b.wav", "start_s": 0.0, "end_s": 5.0}]}]}),
    );
    let e = evaluate_files(&t, &r).expect("scores");
    assert!(matches!(e, Evaluation::Motifs(_)));
    assert!(close(e.headline(), 1.0));
    let last = e.render().lines().last().map(str::to_owned).unwrap_or_default();
    assert_eq!(last, "F1 1.0000 (occurrence P 1.0000 R 1.0000 F1 1.0000; grouping F1 1.0000)");

    let ct = write("ct.json", json!({"schema": "leitmotif.cuetruth/1", "episodes": []}));
    assert!(matches!(evaluate_files(&ct, &r), Err(Error::BadDocument { .. })));
    let cr = write("cr.json", serde_json::to_value(cue_report()).expect("json"));
    let e = evaluate_files(&ct, &cr).expect("scores cues");
    assert!(matches!(e, Evaluation::Cues(_)));
    assert!(e.render().contains("no grouping term"));
    let junk = write("junk.json", json!({"schema": "something/9"}));
    assert!(matches!(evaluate_files(&junk, &r), Err(Error::BadDocument { .. })));
}
