//! Plain-text summaries of documents for people: motifs with their occurrences, and cue sheets.
//!
//! Both name a track the same way ([`display_names`]): the shortest end of its path that no other
//! track shares, cut in the middle when it is too long, laid out in columns by display width
//! (a Hangul or CJK character takes two). People count from 1: motif 1 is the JSON's motif 0.

use std::fmt::Write;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{CueReport, ErrorEntry, Report, TrackEntry, format_time};

/// Widest track name shown, in terminal columns: with the other columns a line stays within
/// 120.
const MAX_NAME_COLS: usize = 48;

/// One name per track: the fewest trailing path components that tell it from every other track
/// (`01.mp3`, or `disc2/01.mp3` beside `disc1/01.mp3`), cut in the middle with `…` to at most
/// 48 columns (`MAX_NAME_COLS`).
pub fn display_names(tracks: &[TrackEntry]) -> Vec<String> {
    super::unique_tails(tracks).iter().map(|tail| truncate_middle(&tail.join("/"), MAX_NAME_COLS)).collect()
}

/// `text` cut to at most `cols` terminal columns by dropping its middle for `…`.
fn truncate_middle(text: &str, cols: usize) -> String {
    if text.width() <= cols {
        return text.to_owned();
    }
    let budget = cols.saturating_sub(1);
    let chars: Vec<char> = text.chars().collect();
    // Keep `chars[..front]` and `chars[back..]`, taking from each end in turn, so the start (the
    // folder) and the end (the file and its extension) both show.
    let (mut front, mut back, mut used) = (0, chars.len(), 0);
    while front < back {
        let at = if (chars.len() - back) < front { back - 1 } else { front };
        let w = chars[at].width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        if at == front {
            front += 1;
        } else {
            back -= 1;
        }
    }
    let mut out: String = chars[..front].iter().collect();
    out.push('…');
    out.extend(&chars[back..]);
    out
}

/// `text` followed by spaces up to `cols` display columns.
fn pad(text: &str, cols: usize) -> String {
    format!("{text}{}", " ".repeat(cols.saturating_sub(text.width())))
}

fn signed(semitones: i32) -> String {
    if semitones > 0 { format!("+{semitones}") } else { semitones.to_string() }
}

/// Pairs of versions the terminal summary lists: a folder of cuts of one recording makes every
/// pair a version, hundreds of lines that belong in the JSON report.
const SUMMARY_VERSIONS: usize = 20;

/// A readable summary of a motif report: each motif and its occurrences as track name,
/// `m:ss-m:ss`, key shift in semitones, tempo ratio and score; then the inputs that failed.
///
/// `list_errors` false replaces the list of failed inputs by their count.
pub fn summary(report: &Report, list_errors: bool) -> String {
    let mut out = String::new();
    let n_occ: usize = report.motifs.iter().map(|m| m.occurrences.len()).sum();
    let _ = writeln!(
        out,
        "{} track{}, {} motif{}, {} occurrence{}",
        report.tracks.len(),
        plural(report.tracks.len()),
        report.motifs.len(),
        plural(report.motifs.len()),
        n_occ,
        plural(n_occ)
    );
    let names = display_names(&report.tracks);
    let name = |t: usize| names.get(t).map_or("?", String::as_str);
    let width = report.motifs.iter().flat_map(|m| &m.occurrences).map(|o| name(o.track).width()).max().unwrap_or(0);
    for m in &report.motifs {
        let named = m.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let _ = writeln!(out, "\nmotif {}{named} ({} occurrences)", m.id + 1, m.occurrences.len());
        for o in &m.occurrences {
            let span = format!("{}-{}", format_time(o.start_s), format_time(o.end_s));
            let _ = writeln!(
                out,
                "  {}  {span:<17}  key {:>3}  tempo x{:.2}  score {:.2}",
                pad(name(o.track), width),
                signed(o.transpose),
                o.tempo_ratio,
                o.score
            );
        }
        for (k, f) in m.figures.iter().enumerate() {
            let places: Vec<String> = f
                .occurrences
                .iter()
                .map(|o| format!("{} {}-{}", name(o.track), format_time(o.start_s), format_time(o.end_s)))
                .collect();
            let _ = writeln!(out, "  figure {}.{} inside it: {}", m.id + 1, k + 1, places.join(", "));
        }
    }
    if report.motifs.is_empty() {
        let _ = writeln!(out, "no recurring motif found");
    }
    if !report.versions.is_empty() {
        let _ = writeln!(out, "\nversions of one another");
    }
    for v in report.versions.iter().take(SUMMARY_VERSIONS) {
        let _ = writeln!(
            out,
            "  {} {}-{}  ~  {} {}-{}  key {:>3}  tempo x{:.2}",
            name(v.track_a),
            format_time(v.a_start_s),
            format_time(v.a_end_s),
            name(v.track_b),
            format_time(v.b_start_s),
            format_time(v.b_end_s),
            signed(v.transpose),
            v.tempo_ratio
        );
    }
    if report.versions.len() > SUMMARY_VERSIONS {
        let _ = writeln!(out, "  and {} more (the JSON report lists all)", report.versions.len() - SUMMARY_VERSIONS);
    }
    write_warnings(&mut out, report.tracks.iter().map(|t| (t.path.as_str(), t.warnings.as_slice())));
    write_errors(&mut out, &report.errors, list_errors);
    out
}

/// A cue sheet: per episode, each cue numbered from 1 with its episode time, the track's name
/// ([`display_names`]) and where in the track it starts.
///
/// `list_errors` false replaces the list of failed inputs by their count.
pub fn cue_sheet(report: &CueReport, list_errors: bool) -> String {
    let mut out = String::new();
    let names = display_names(&report.tracks);
    for (i, ep) in report.episodes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{} ({}, {} cue{})",
            ep.path,
            format_time(ep.duration_s),
            ep.cues.len(),
            plural(ep.cues.len())
        );
        let number_cols = ep.cues.len().to_string().len();
        for (k, c) in ep.cues.iter().enumerate() {
            let name = names.get(c.track).map_or("?", String::as_str);
            let span = format!("{}-{}", format_time(c.start_s), format_time(c.end_s));
            let shift = if c.transpose == 0 { String::new() } else { format!(", key {}", signed(c.transpose)) };
            let _ = writeln!(
                out,
                "  {:>number_cols$}  {span:<21}  {name}  (from {}{shift}, score {:.2})",
                k + 1,
                format_time(c.track_start_s),
                c.score
            );
        }
    }
    if report.episodes.is_empty() {
        let _ = writeln!(out, "no episode analysed");
    }
    let tracks = report.tracks.iter().map(|t| (t.path.as_str(), t.warnings.as_slice()));
    write_warnings(&mut out, tracks.chain(report.episodes.iter().map(|e| (e.path.as_str(), e.warnings.as_slice()))));
    write_errors(&mut out, &report.errors, list_errors);
    out
}

/// Lists the inputs that were analysed with warnings (skipped packets, a truncated file ...),
/// one line per warning.
fn write_warnings<'a>(out: &mut String, inputs: impl Iterator<Item = (&'a str, &'a [String])>) {
    let mut header = false;
    for (path, warnings) in inputs {
        for w in warnings {
            if !header {
                let _ = writeln!(out, "\nanalysed with warnings:");
                header = true;
            }
            let _ = writeln!(out, "  {path}: {w}");
        }
    }
}

/// Lists the inputs that failed; `with_messages` false gives only their count, for when each
/// one is already reported on standard error.
fn write_errors(out: &mut String, errors: &[ErrorEntry], with_messages: bool) {
    if errors.is_empty() {
        return;
    }
    if !with_messages {
        let _ =
            writeln!(out, "\n{} input{} not analysed (listed on standard error)", errors.len(), plural(errors.len()));
        return;
    }
    let _ = writeln!(out, "\nnot analysed:");
    for e in errors {
        let _ = writeln!(out, "  {}: {}", e.path, e.message);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CueEntry, EpisodeEntry, MotifEntry, OccurrenceEntry};

    fn track(path: &str) -> TrackEntry {
        TrackEntry { path: path.to_owned(), duration_s: 200.0, ..TrackEntry::default() }
    }

    fn occurrence(track: usize, start_s: f64, transpose: i32) -> OccurrenceEntry {
        OccurrenceEntry { track, start_s, end_s: start_s + 12.5, transpose, tempo_ratio: 1.0, score: 0.875 }
    }

    fn tracks() -> Vec<TrackEntry> {
        vec![
            track("ost/disc1/01.mp3"),
            track("ost/disc2/01.mp3"),
            track("ost/score/겨울 소나타.flac"),
            track(&format!("ost/score/{}.wav", "a very long file name that goes on ".repeat(3))),
        ]
    }

    #[test]
    fn names_are_the_shortest_unique_path_cut_in_the_middle() {
        let names = display_names(&tracks());
        assert_eq!(names[..3], ["disc1/01.mp3", "disc2/01.mp3", "겨울 소나타.flac"]);
        assert_eq!(names[3].width(), MAX_NAME_COLS);
        assert!(names[3].starts_with("a very long") && names[3].ends_with("goes on .wav"), "{}", names[3]);
        assert_eq!(truncate_middle("겨울 소나타.flac", 9), "겨울 …lac");
        assert_eq!(truncate_middle("short", 9), "short");
    }

    #[test]
    fn the_summary_lists_the_first_versions_and_counts_the_rest() {
        let version = |b| crate::report::VersionEntry {
            track_a: 0,
            track_b: b,
            a_start_s: 10.0,
            a_end_s: 70.0,
            b_start_s: 0.0,
            b_end_s: 66.0,
            transpose: 3,
            tempo_ratio: 1.1,
            aligned_s: 50.0,
        };
        let mut report = Report {
            schema: crate::report::REPORT_SCHEMA.to_owned(),
            tool: crate::report::Tool::default(),
            params: crate::report::Params::new(),
            tracks: tracks(),
            motifs: Vec::new(),
            errors: Vec::new(),
            sections: Vec::new(),
            versions: vec![version(1)],
        };
        let text = summary(&report, true);
        assert!(text.contains("versions of one another\n  disc1/01.mp3 0:10.0-1:10.0  ~  disc2/01.mp3 0:00.0-1:06.0  key  +3  tempo x1.10\n"), "{text}");
        report.versions = (0..SUMMARY_VERSIONS + 5).map(|_| version(2)).collect();
        let text = summary(&report, true);
        assert_eq!(text.matches("  ~  ").count(), SUMMARY_VERSIONS);
        assert!(text.contains("and 5 more (the JSON report lists all)"), "{text}");
    }

    /// The whole summary, as a snapshot: numbering from 1, columns aligned by display width.
    #[test]
    fn motif_summary_snapshot() {
        let report = Report {
            schema: crate::report::REPORT_SCHEMA.to_owned(),
            tool: crate::report::Tool::default(),
            params: crate::report::Params::new(),
            tracks: tracks(),
            motifs: vec![MotifEntry {
                name: None,
                id: 0,
                occurrences: vec![occurrence(0, 5.0, 0), occurrence(2, 61.2, 2)],
                figures: Vec::new(),
            }],
            errors: vec![ErrorEntry { path: "ost/broken.mp3".to_owned(), message: "empty file".to_owned() }],
            sections: Vec::new(),
            versions: Vec::new(),
        };
        let expected = "\
4 tracks, 1 motif, 2 occurrences

motif 1 (2 occurrences)
  disc1/01.mp3      0:05.0-0:17.5      key   0  tempo x1.00  score 0.88
  겨울 소나타.flac  1:01.2-1:13.7      key  +2  tempo x1.00  score 0.88

not analysed:
  ost/broken.mp3: empty file
";
        assert_eq!(summary(&report, true), expected);
    }

    /// The cue sheet names tracks by the same rule and numbers cues from 1.
    #[test]
    fn cue_sheet_snapshot() {
        let cue = |track, start_s, transpose| CueEntry {
            track,
            start_s,
            end_s: start_s + 30.0,
            track_start_s: 4.0,
            transpose,
            score: 0.9,
            match_kind: None,
            evidence_nats: None,
            themes: Vec::new(),
        };
        let report = CueReport {
            schema: crate::report::CUES_SCHEMA.to_owned(),
            tool: crate::report::Tool::default(),
            params: crate::report::Params::new(),
            tracks: tracks(),
            episodes: vec![EpisodeEntry {
                path: "ep01.mp4".to_owned(),
                duration_s: 3600.0,
                cues: vec![cue(1, 20.0, 0), cue(2, 600.0, -1)],
                ..EpisodeEntry::default()
            }],
            errors: Vec::new(),
        };
        let expected = "\
ep01.mp4 (1:00:00.0, 2 cues)
  1  0:20.0-0:50.0          disc2/01.mp3  (from 0:04.0, score 0.90)
  2  10:00.0-10:30.0        겨울 소나타.flac  (from 0:04.0, key -1, score 0.90)
";
        assert_eq!(cue_sheet(&report, true), expected);
    }
}
