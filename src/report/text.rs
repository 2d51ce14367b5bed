//! Plain-text summaries of documents for people: motifs with their occurrences, and cue sheets.

use std::fmt::Write;

use super::{CueReport, ErrorEntry, Report, format_time};

fn signed(semitones: i32) -> String {
    if semitones > 0 { format!("+{semitones}") } else { semitones.to_string() }
}

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
    let width = report
        .motifs
        .iter()
        .flat_map(|m| &m.occurrences)
        .filter_map(|o| report.tracks.get(o.track))
        .map(|t| t.base_name().chars().count())
        .max()
        .unwrap_or(0);
    for m in &report.motifs {
        let _ = writeln!(out, "\nmotif {} ({} occurrences)", m.id, m.occurrences.len());
        for o in &m.occurrences {
            let name = report.tracks.get(o.track).map_or("?", |t| t.base_name());
            let span = format!("{}-{}", format_time(o.start_s), format_time(o.end_s));
            let _ = writeln!(
                out,
                "  {name:<width$}  {span:<17}  key {:>3}  tempo x{:.2}  score {:.2}",
                signed(o.transpose),
                o.tempo_ratio,
                o.score
            );
        }
    }
    if report.motifs.is_empty() {
        let _ = writeln!(out, "no recurring motif found");
    }
    write_warnings(&mut out, report.tracks.iter().map(|t| (t.path.as_str(), t.warnings.as_slice())));
    write_errors(&mut out, &report.errors, list_errors);
    out
}

/// A cue sheet: per episode, each cue's episode time, the track's title (or file name) and
/// where in the track it starts.
///
/// `list_errors` false replaces the list of failed inputs by their count.
pub fn cue_sheet(report: &CueReport, list_errors: bool) -> String {
    let mut out = String::new();
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
        for c in &ep.cues {
            let name = report.tracks.get(c.track).map_or("?", |t| t.display_name());
            let span = format!("{}-{}", format_time(c.start_s), format_time(c.end_s));
            let shift = if c.transpose == 0 { String::new() } else { format!(", key {}", signed(c.transpose)) };
            let _ = writeln!(
                out,
                "  {span:<21}  {name}  (from {}{shift}, score {:.2})",
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
