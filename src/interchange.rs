//! Motifs in other tools' formats: Audacity label tracks (one `<stem>.labels.txt` per audio
//! file) and JAMS (the `pattern_jku` namespace, readable by `jams` and `mir_eval`).
//!
//! JAMS describes patterns as notes; an audio motif has no notes, so each occurrence is written
//! as one observation spanning it. Its `midi_pitch` is a nominal 60 (C4) for the motif's first
//! occurrence plus the occurrence's key shift, and `morph_pitch` the matching diatonic step
//! (60 plus the shift's nearest whole number of scale steps), so the pitch relation between
//! occurrences survives. One annotation is written per track, its `sandbox` naming the track.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::report::output::{unique_file_names, write_atomic};
use crate::report::{OccurrenceEntry, Report};

/// Nominal MIDI pitch given to a motif's first occurrence in JAMS (C4).
pub const NOMINAL_MIDI: i32 = 60;

/// The JAMS schema version the documents follow.
pub const JAMS_VERSION: &str = "0.3.4";

/// The label of one occurrence, e.g. `motif 0 (+2, x1.10)`: motif, key shift in semitones and
/// tempo ratio relative to the motif's first occurrence.
pub fn occurrence_label(motif: usize, o: &OccurrenceEntry) -> String {
    format!("motif {motif} ({:+}, x{:.2})", o.transpose, o.tempo_ratio)
}

/// The Audacity label track of track `track`: one line per occurrence on it, sorted by start,
/// `start<TAB>end<TAB>label` with times in seconds.
pub fn label_text(report: &Report, track: usize) -> String {
    let mut rows: Vec<(f64, f64, String)> = report
        .motifs
        .iter()
        .flat_map(|m| {
            m.occurrences.iter().filter(|o| o.track == track).map(|o| (o.start_s, o.end_s, occurrence_label(m.id, o)))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = String::new();
    for (start, end, label) in rows {
        let _ = writeln!(out, "{start:.6}\t{end:.6}\t{label}");
    }
    out
}

/// File names of the label tracks, one per report track: `<stem>.labels.txt`, numbered
/// (`<stem>-2.labels.txt`) when two tracks share a stem.
pub fn label_file_names(report: &Report) -> Vec<String> {
    let stems = report.tracks.iter().map(|t| {
        Path::new(t.base_name()).file_stem().map_or_else(|| "track".to_owned(), |s| s.to_string_lossy().into_owned())
    });
    unique_file_names(stems, ".labels.txt")
}

/// Writes one label track per report track into `dir` (created when missing); tracks without
/// occurrences get an empty file, so every audio file has its label track.
///
/// # Errors
/// [`Error::Write`] naming the folder or file that could not be written.
pub fn write_labels(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;
    let mut written = Vec::new();
    for (t, name) in label_file_names(report).into_iter().enumerate() {
        let path = dir.join(name);
        write_atomic(&path, label_text(report, t).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The diatonic (morphetic) step nearest to a shift of `semitones`.
fn morph_steps(semitones: i32) -> i32 {
    (f64::from(semitones) * 7.0 / 12.0).round() as i32
}

/// The report's motifs as a JAMS document: one `pattern_jku` annotation per track whose
/// observations are the occurrences on that track (`pattern_id` = motif id + 1, `occurrence_id`
/// = position in the motif + 1, `confidence` = score).
pub fn jams_document(report: &Report) -> Value {
    let tool = format!("{} {}", report.tool.name, report.tool.version);
    let annotations: Vec<Value> = report
        .tracks
        .iter()
        .enumerate()
        .map(|(t, track)| {
            let mut data: Vec<(f64, Value)> = Vec::new();
            for m in &report.motifs {
                for (k, o) in m.occurrences.iter().enumerate().filter(|(_, o)| o.track == t) {
                    let obs = json!({
                        "time": o.start_s,
                        "duration": (o.end_s - o.start_s).max(0.0),
                        "value": {
                            "pattern_id": m.id + 1,
                            "occurrence_id": k + 1,
                            "midi_pitch": NOMINAL_MIDI + o.transpose,
                            "morph_pitch": NOMINAL_MIDI + morph_steps(o.transpose),
                            "staff": 0,
                        },
                        "confidence": o.score,
                    });
                    data.push((o.start_s, obs));
                }
            }
            data.sort_by(|a, b| a.0.total_cmp(&b.0));
            json!({
                "namespace": "pattern_jku",
                "time": 0.0,
                "duration": track.duration_s.max(0.0),
                "data": data.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
                "annotation_metadata": {
                    "annotation_tools": tool,
                    "data_source": "program",
                    "version": report.tool.version,
                    "corpus": "",
                    "annotator": {},
                    "curator": {"name": "", "email": ""},
                    "annotation_rules": "one observation per motif occurrence; midi_pitch = 60 + key shift of the occurrence",
                    "validation": "",
                },
                "sandbox": {"track": t, "path": track.path, "title": track.title},
            })
        })
        .collect();
    let duration = report.tracks.iter().map(|t| t.duration_s).fold(0.0, f64::max);
    let mut file_metadata = json!({
        "title": "",
        "artist": "",
        "release": "",
        "duration": duration,
        "identifiers": {},
        "jams_version": JAMS_VERSION,
    });
    // A single track describes the file itself; several are described per annotation.
    if let [only] = report.tracks.as_slice() {
        file_metadata["title"] = json!(only.title.clone().unwrap_or_default());
        file_metadata["artist"] = json!(only.artist.clone().unwrap_or_default());
        file_metadata["release"] = json!(only.album.clone().unwrap_or_default());
    }
    json!({
        "file_metadata": file_metadata,
        "annotations": annotations,
        "sandbox": {
            "leitmotif": {
                "schema": report.schema,
                "tracks": report.tracks.iter().map(|t| t.path.clone()).collect::<Vec<_>>(),
            }
        },
    })
}

/// [`jams_document`] as pretty JSON with a trailing newline.
pub fn to_jams(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&jams_document(report)).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{MotifEntry, Params, TrackEntry, build_report};

    fn report() -> Report {
        let mut r = build_report(
            vec![
                TrackEntry { path: "ost/a.wav".to_owned(), duration_s: 30.0, ..TrackEntry::default() },
                TrackEntry { path: "other/a.flac".to_owned(), duration_s: 20.0, ..TrackEntry::default() },
                TrackEntry { path: "c.mp3".to_owned(), duration_s: 10.0, ..TrackEntry::default() },
            ],
            vec![],
            Params::new(),
            vec![],
        );
        let occ = |track, start_s, transpose, tempo_ratio| OccurrenceEntry {
            track,
            start_s,
            end_s: start_s + 4.0,
            transpose,
            tempo_ratio,
            score: 0.8,
        };
        r.motifs = vec![
            MotifEntry { id: 0, occurrences: vec![occ(0, 12.0, 0, 1.0), occ(0, 2.0, -3, 0.9), occ(1, 5.0, 2, 1.1)] },
            MotifEntry { id: 1, occurrences: vec![occ(0, 7.0, 0, 1.0), occ(1, 1.0, 0, 1.0)] },
        ];
        r
    }

    #[test]
    fn labels_are_sorted_tab_separated_lines() {
        let r = report();
        assert_eq!(
            label_text(&r, 0),
            "2.000000\t6.000000\tmotif 0 (-3, x0.90)\n7.000000\t11.000000\tmotif 1 (+0, x1.00)\n\
             12.000000\t16.000000\tmotif 0 (+0, x1.00)\n"
        );
        assert_eq!(label_text(&r, 2), "");
        assert_eq!(label_file_names(&r), vec!["a.labels.txt", "a-2.labels.txt", "c.labels.txt"]);
    }

    #[test]
    fn jams_has_one_pattern_annotation_per_track() {
        let doc = jams_document(&report());
        let anns = doc["annotations"].as_array().expect("annotations");
        assert_eq!(anns.len(), 3);
        assert!(anns.iter().all(|a| a["namespace"] == "pattern_jku"));
        let first = &anns[0]["data"][0];
        assert_eq!(first["time"], 2.0);
        assert_eq!(first["value"]["pattern_id"], 1);
        assert_eq!(first["value"]["occurrence_id"], 2);
        assert_eq!(first["value"]["midi_pitch"], 57);
        assert_eq!(first["value"]["morph_pitch"], 58);
        assert_eq!(anns[1]["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc["file_metadata"]["duration"], 30.0);
    }
}
