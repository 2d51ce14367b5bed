//! Motifs and cues in other tools' formats.
//!
//! Motifs: one file per audio file that holds an occurrence, Audacity label tracks
//! (`<stem>.labels.txt`) and JAMS documents (`<stem>.jams`, the `pattern_jku` namespace, readable
//! by `jams` and `mir_eval`). Files are named after the audio file; where two audio files share a
//! name, the folders that tell them apart are mirrored (`disc1/01.labels.txt`,
//! `disc2/01.labels.txt`). Cues: a CSV cue sheet, and a label track per episode.
//!
//! Motifs are numbered as people count them, from 1: label `motif 1` and JAMS `pattern_id` 1 are
//! the report's motif 0 (the terminal summary and HTML say "motif 1" too); `occurrence_id` is
//! the occurrence's position in its motif, from 1.
//!
//! JAMS describes patterns as notes, and its schema requires a pitch; an audio motif has no
//! notes, so each occurrence is one observation spanning it whose `midi_pitch` is a nominal 60
//! (C4) plus the occurrence's key shift from the motif's first occurrence, and `morph_pitch` the
//! matching diatonic step. These encode the key relation between occurrences and nothing else;
//! the annotation's metadata says so.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::report::output::{unique_file_names, write_atomic};
use crate::report::{CueEntry, CueReport, OccurrenceEntry, Report, base_name, unique_tails};
use crate::units::{format_timecode, round_to};

/// Nominal MIDI pitch given to a motif's first occurrence in JAMS (C4).
pub const NOMINAL_MIDI: i32 = 60;

/// The JAMS schema version the documents follow.
pub const JAMS_VERSION: &str = "0.3.4";

/// The label of one occurrence, e.g. `motif 1 (+2, x1.10)`: motif number (the report's id plus
/// one), key shift in semitones and tempo ratio relative to the motif's first occurrence.
pub fn occurrence_label(motif: usize, o: &OccurrenceEntry) -> String {
    format!("motif {} ({:+}, x{:.2})", motif + 1, o.transpose, o.tempo_ratio)
}

/// The Audacity label track of track `track`: one line per occurrence on it, sorted by start,
/// `start<TAB>end<TAB>label` with times in seconds; a named motif's label ends with its name.
pub fn label_text(report: &Report, track: usize) -> String {
    let mut rows: Vec<(f64, f64, String)> = report
        .motifs
        .iter()
        .flat_map(|m| {
            m.occurrences.iter().filter(|o| o.track == track).map(|o| {
                let label = match &m.name {
                    Some(name) => format!("{} {name}", occurrence_label(m.id, o)),
                    None => occurrence_label(m.id, o),
                };
                (o.start_s, o.end_s, label)
            })
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = String::new();
    for (start, end, label) in rows {
        let _ = writeln!(out, "{start:.6}\t{end:.6}\t{label}");
    }
    out
}

/// Paths, relative to an output folder, of one file per report track: the audio file's stem
/// and `suffix`, under the folders that tell it from other tracks of the same name
/// ([`unique_tails`]). Where two stems still meet (`a.wav` and `a.flac` side by side) the whole
/// file name is kept (`a.wav.labels.txt`).
pub fn per_track_paths(report: &Report, suffix: &str) -> Vec<PathBuf> {
    let tails = unique_tails(&report.tracks);
    let with = |tail: &[String], whole_name: bool| {
        let mut path: PathBuf = tail[..tail.len().saturating_sub(1)].iter().collect();
        let name = tail.last().map_or("track", String::as_str);
        let stem = if whole_name { name } else { Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name) };
        path.push(format!("{stem}{suffix}"));
        path
    };
    let by_stem: Vec<PathBuf> = tails.iter().map(|t| with(t, false)).collect();
    tails
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let clash = by_stem.iter().enumerate().any(|(k, p)| k != i && *p == by_stem[i]);
            if clash { with(t, true) } else { by_stem[i].clone() }
        })
        .collect()
}

/// Writes the label track of every report track that holds an occurrence into `dir` (created,
/// with the folders of [`per_track_paths`], when missing). Returns the files written.
///
/// # Errors
/// [`Error::Write`] naming the folder or file that could not be written.
pub fn write_labels(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    write_per_track(report, dir, ".labels.txt", |t| label_text(report, t))
}

/// Writes a JAMS document ([`jams_document`]) for every report track that holds an occurrence
/// into `dir`, named like the label tracks. Returns the files written.
///
/// # Errors
/// [`Error::Write`] naming the folder or file that could not be written.
pub fn write_jams(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    write_per_track(report, dir, ".jams", |t| {
        let mut text = serde_json::to_string_pretty(&jams_document(report, t)).unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    })
}

fn write_per_track(report: &Report, dir: &Path, suffix: &str, text: impl Fn(usize) -> String) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (t, relative) in per_track_paths(report, suffix).into_iter().enumerate() {
        if !report.motifs.iter().any(|m| m.occurrences.iter().any(|o| o.track == t)) {
            continue;
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write { path: parent.to_path_buf(), source })?;
        }
        write_atomic(&path, text(t).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The diatonic (morphetic) step nearest to a shift of `semitones`.
fn morph_steps(semitones: i32) -> i32 {
    (f64::from(semitones) * 7.0 / 12.0).round() as i32
}

/// The occurrences on report track `track` as a JAMS document: one `pattern_jku` annotation
/// whose observations are those occurrences (`pattern_id` = motif number from 1,
/// `occurrence_id` = position in the motif from 1, `confidence` = score), with the track's
/// duration and tags as the file's metadata. Times are rounded to the millisecond.
pub fn jams_document(report: &Report, track: usize) -> Value {
    let tool = format!("{} {}", report.tool.name, report.tool.version);
    let entry = report.tracks.get(track).cloned().unwrap_or_default();
    let mut data: Vec<(f64, Value)> = Vec::new();
    for m in &report.motifs {
        for (k, o) in m.occurrences.iter().enumerate().filter(|(_, o)| o.track == track) {
            let obs = json!({
                "time": round_to(o.start_s, 3),
                "duration": round_to((o.end_s - o.start_s).max(0.0), 3),
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
    let duration = round_to(entry.duration_s.max(0.0), 3);
    json!({
        "file_metadata": {
            "title": entry.title.clone().unwrap_or_default(),
            "artist": entry.artist.clone().unwrap_or_default(),
            "release": entry.album.clone().unwrap_or_default(),
            "duration": duration,
            "identifiers": {},
            "jams_version": JAMS_VERSION,
        },
        "annotations": [{
            "namespace": "pattern_jku",
            "time": 0.0,
            "duration": duration,
            "data": data.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            "annotation_metadata": {
                "annotation_tools": tool,
                "data_source": "program",
                "version": report.tool.version,
                "corpus": "",
                "annotator": {},
                "curator": {"name": "", "email": ""},
                "annotation_rules": "one observation per motif occurrence on this file; pattern_id is the \
                    motif number (the leitmotif report's motif id + 1), occurrence_id the occurrence's \
                    position in its motif (from 1); midi_pitch is a nominal 60 plus the occurrence's key \
                    shift from the motif's first occurrence and morph_pitch the nearest diatonic step: \
                    they encode that key relation, not notes of the audio",
                "validation": "",
            },
            "sandbox": {},
        }],
        "sandbox": {
            "leitmotif": {
                "schema": report.schema,
                "path": entry.path,
                "track": track,
                "tracks": report.tracks.iter().map(|t| t.path.clone()).collect::<Vec<_>>(),
            }
        },
    })
}

/// An episode's cues by start (then end): the order they are numbered in.
fn in_order(cues: &[CueEntry]) -> Vec<&CueEntry> {
    let mut sorted: Vec<&CueEntry> = cues.iter().collect();
    sorted.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.end_s.total_cmp(&b.end_s)));
    sorted
}

/// The columns of [`cue_csv`].
pub const CUE_CSV_HEADER: &str = "cue,episode,in,out,duration,title,artist,album,file,match,score,themes";

/// A field of a CSV row, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// The cue sheet as CSV, one row per cue in episode order: cue number within its episode (from
/// 1), episode file name, in and out timecodes and duration (`hh:mm:ss.mmm`), the track's title
/// (its file name when untagged), artist and album (empty when untagged), file, match kind
/// (`exact` or `arranged`), score, and the library themes the cue plays (`; ` between them;
/// empty without `cues --lib`).
pub fn cue_csv(report: &CueReport) -> String {
    let mut out = String::from(CUE_CSV_HEADER);
    out.push('\n');
    for episode in &report.episodes {
        for (n, c) in in_order(&episode.cues).into_iter().enumerate() {
            let track = report.tracks.get(c.track);
            let fields = [
                (n + 1).to_string(),
                base_name(&episode.path).to_owned(),
                format_timecode(c.start_s),
                format_timecode(c.end_s),
                format_timecode(c.end_s - c.start_s),
                track.map_or("?", |t| t.display_name()).to_owned(),
                track.and_then(|t| t.artist.clone()).unwrap_or_default(),
                track.and_then(|t| t.album.clone()).unwrap_or_default(),
                track.map_or(String::new(), |t| t.path.clone()),
                c.match_kind.clone().unwrap_or_default(),
                format!("{:.3}", c.score),
                c.themes.join("; "),
            ];
            let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

/// The Audacity label track of episode `episode`: one line per cue, sorted by start,
/// `start<TAB>end<TAB>cue N: title` (with the key shift when there is one, and the library
/// themes it plays in brackets).
pub fn cue_label_text(report: &CueReport, episode: usize) -> String {
    let Some(ep) = report.episodes.get(episode) else {
        return String::new();
    };
    let mut out = String::new();
    for (n, c) in in_order(&ep.cues).into_iter().enumerate() {
        let title = report.tracks.get(c.track).map_or("?", |t| t.display_name());
        let shift = if c.transpose == 0 { String::new() } else { format!(" ({:+})", c.transpose) };
        let themes = if c.themes.is_empty() { String::new() } else { format!(" [{}]", c.themes.join("; ")) };
        let _ = writeln!(out, "{:.6}\t{:.6}\tcue {}: {title}{shift}{themes}", c.start_s, c.end_s, n + 1);
    }
    out
}

/// Writes the label track of every episode with a cue into `dir` (created when missing), as
/// `<episode stem>.labels.txt` (numbered, `-2`, when two episodes share a stem). Returns the
/// files written.
///
/// # Errors
/// [`Error::Write`] naming the folder or file that could not be written.
pub fn write_cue_labels(report: &CueReport, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;
    let stems = report.episodes.iter().map(|e| {
        let name = base_name(&e.path);
        Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_owned()
    });
    let names = unique_file_names(stems, ".labels.txt");
    let mut written = Vec::new();
    for (e, name) in names.iter().enumerate() {
        if report.episodes[e].cues.is_empty() {
            continue;
        }
        let path = dir.join(name);
        write_atomic(&path, cue_label_text(report, e).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{MotifEntry, Params, TrackEntry, build_report};

    #[test]
    fn csv_fields_with_commas_quotes_or_breaks_are_quoted() {
        assert_eq!(csv_field("Main Theme"), "Main Theme");
        assert_eq!(csv_field("Love, Again"), "\"Love, Again\"");
        assert_eq!(csv_field("The \"Last\" Letter"), "\"The \"\"Last\"\" Letter\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

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
            MotifEntry {
                name: None,
                id: 0,
                occurrences: vec![occ(0, 12.0, 0, 1.0), occ(0, 2.0, -3, 0.9), occ(1, 5.0, 2, 1.1)],
                figures: Vec::new(),
            },
            MotifEntry {
                name: None,
                id: 1,
                occurrences: vec![occ(0, 7.0, 0, 1.0), occ(1, 1.0, 0, 1.0)],
                figures: Vec::new(),
            },
        ];
        r
    }

    #[test]
    fn labels_are_sorted_tab_separated_lines_numbered_from_1() {
        let r = report();
        assert_eq!(
            label_text(&r, 0),
            "2.000000\t6.000000\tmotif 1 (-3, x0.90)\n7.000000\t11.000000\tmotif 2 (+0, x1.00)\n\
             12.000000\t16.000000\tmotif 1 (+0, x1.00)\n"
        );
        assert_eq!(label_text(&r, 2), "");
    }

    #[test]
    fn files_of_tracks_with_one_name_mirror_the_folders_that_tell_them_apart() {
        // `ost/a.wav` and `other/a.flac`: the names differ, the stems do not.
        let r = report();
        let names = per_track_paths(&r, ".labels.txt");
        assert_eq!(names, ["a.wav.labels.txt", "a.flac.labels.txt", "c.labels.txt"].map(PathBuf::from));
        let mut same_name = r.clone();
        same_name.tracks[1].path = "other/a.wav".to_owned();
        assert_eq!(per_track_paths(&same_name, ".jams")[..2], ["ost/a.jams", "other/a.jams"].map(PathBuf::from));
    }

    #[test]
    fn only_tracks_with_occurrences_get_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut r = report();
        r.tracks[1].path = "other/a.wav".to_owned();
        let written = write_labels(&r, dir.path()).expect("written");
        assert_eq!(written, [dir.path().join("ost/a.labels.txt"), dir.path().join("other/a.labels.txt")]);
        assert!(!dir.path().join("c.labels.txt").exists());
    }

    #[test]
    fn jams_has_one_pattern_annotation_for_its_track() {
        let r = report();
        let doc = jams_document(&r, 0);
        let anns = doc["annotations"].as_array().expect("annotations");
        assert_eq!(anns.len(), 1);
        assert_eq!(anns[0]["namespace"], "pattern_jku");
        let data = anns[0]["data"].as_array().expect("data");
        assert_eq!(data.len(), 3);
        assert_eq!(data[0]["time"], 2.0);
        assert_eq!(data[0]["value"]["pattern_id"], 1);
        assert_eq!(data[0]["value"]["occurrence_id"], 2);
        assert_eq!(data[0]["value"]["midi_pitch"], 57);
        assert_eq!(data[0]["value"]["morph_pitch"], 58);
        assert_eq!(doc["file_metadata"]["duration"], 30.0);
        assert_eq!(jams_document(&r, 1)["file_metadata"]["duration"], 20.0);
        assert_eq!(doc["sandbox"]["leitmotif"]["path"], "ost/a.wav");
    }

    #[test]
    fn jams_times_are_rounded_to_the_millisecond() {
        let mut r = report();
        r.motifs[0].occurrences[0].start_s = 4.2749999999999995;
        r.tracks[0].duration_s = 29.999999999999996;
        let doc = jams_document(&r, 0);
        let text = doc.to_string();
        assert!(!text.contains("4.274999") && !text.contains("29.99999"), "{text}");
        assert_eq!(doc["file_metadata"]["duration"], 30.0);
    }
}
