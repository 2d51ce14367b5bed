//! A self-contained HTML page (no scripts, no external files) summarising a document.

use std::fmt::Write;

use super::{CueReport, Report, format_time};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}\
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\
h2{margin-top:1.5em}.muted{color:#777}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn opt(tag: Option<&String>) -> String {
    tag.map_or_else(|| "<span class=\"muted\">-</span>".to_owned(), |t| escape(t))
}

fn errors_table(out: &mut String, errors: &[super::ErrorEntry]) {
    if errors.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Not analysed</h2>\n<table>\n<tr><th>path</th><th>error</th></tr>");
    for e in errors {
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(&e.path), escape(&e.message));
    }
    out.push_str("</table>\n");
}

/// Renders a motif report: the tracks, then one table per motif.
pub fn report_page(report: &Report) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>leitmotif report</h1>\n<p class=\"muted\">{} {} &middot; {} tracks &middot; {} motifs</p>",
        escape(&report.tool.name),
        escape(&report.tool.version),
        report.tracks.len(),
        report.motifs.len()
    );
    b.push_str("<h2>Tracks</h2>\n<table>\n<tr><th>#</th><th>file</th><th>title</th><th>artist</th><th>album</th><th>duration</th></tr>\n");
    for t in &report.tracks {
        let _ = writeln!(
            b,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            t.id,
            escape(&t.path),
            opt(t.title.as_ref()),
            opt(t.artist.as_ref()),
            opt(t.album.as_ref()),
            format_time(t.duration_s)
        );
    }
    b.push_str("</table>\n");
    for m in &report.motifs {
        let _ = writeln!(
            b,
            "<h2 id=\"motif-{0}\">Motif {0} <span class=\"muted\">({1} occurrences)</span></h2>",
            m.id,
            m.occurrences.len()
        );
        b.push_str("<table>\n<tr><th>track</th><th>start</th><th>end</th><th>key shift</th><th>tempo</th><th>score</th></tr>\n");
        for o in &m.occurrences {
            let name = report.tracks.get(o.track).map_or("?", |t| t.display_name());
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:+}</td>\
                 <td class=\"n\">&times;{:.2}</td><td class=\"n\">{:.2}</td></tr>",
                escape(name),
                format_time(o.start_s),
                format_time(o.end_s),
                o.transpose,
                o.tempo_ratio,
                o.score
            );
        }
        b.push_str("</table>\n");
    }
    if report.motifs.is_empty() {
        b.push_str("<p>No recurring motif found.</p>\n");
    }
    errors_table(&mut b, &report.errors);
    page("leitmotif report", &b)
}

/// Renders a cue sheet: one table per episode.
pub fn cues_page(report: &CueReport) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>leitmotif cue sheet</h1>\n<p class=\"muted\">{} {} &middot; {} tracks &middot; {} episodes</p>",
        escape(&report.tool.name),
        escape(&report.tool.version),
        report.tracks.len(),
        report.episodes.len()
    );
    for ep in &report.episodes {
        let _ =
            writeln!(b, "<h2>{} <span class=\"muted\">({})</span></h2>", escape(&ep.path), format_time(ep.duration_s));
        b.push_str("<table>\n<tr><th>start</th><th>end</th><th>track</th><th>track time</th><th>key shift</th><th>score</th></tr>\n");
        for c in &ep.cues {
            let name = report.tracks.get(c.track).map_or("?", |t| t.display_name());
            let _ = writeln!(
                b,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{:+}</td><td class=\"n\">{:.2}</td></tr>",
                format_time(c.start_s),
                format_time(c.end_s),
                escape(name),
                format_time(c.track_start_s),
                c.transpose,
                c.score
            );
        }
        b.push_str("</table>\n");
    }
    errors_table(&mut b, &report.errors);
    page("leitmotif cue sheet", &b)
}
