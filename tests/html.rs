//! The HTML reports: self-contained, one timeline block and one play button per occurrence,
//! chromagram images from the features, and every string from a file escaped, both for a
//! hand-built report and through the binary on a WAV whose title tag is hostile.

use std::path::Path;

use assert_cmd::Command;
use leitmotif::report::html::{CueHtmlInputs, HtmlInputs, TrackView, render_cues, render_report};
use leitmotif::report::{
    CueEntry, CueReport, EpisodeEntry, ErrorEntry, FigureEntry, MotifEntry, OccurrenceEntry, Params, Report,
    TrackEntry, build_cue_report, build_report, section_entries,
};

const HOSTILE: &str = "<script>alert(1)</script>";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

fn occ(track: usize, start_s: f64, transpose: i32) -> OccurrenceEntry {
    OccurrenceEntry { track, start_s, end_s: start_s + 4.0, transpose, tempo_ratio: 1.0, score: 0.8 }
}

fn hostile_report() -> Report {
    let tracks = vec![
        TrackEntry {
            path: format!("ost/\"quoted\" {HOSTILE}.flac"),
            duration_s: 60.0,
            title: Some(HOSTILE.to_owned()),
            artist: Some("<img src=x onerror=alert(2)>".to_owned()),
            album: Some("Tom & Jerry's".to_owned()),
            ..TrackEntry::default()
        },
        TrackEntry { path: "ost/plain.wav".to_owned(), duration_s: 45.0, ..TrackEntry::default() },
    ];
    let mut params = Params::new();
    params.insert("threshold".to_owned(), 0.5.into());
    let errors = vec![ErrorEntry { path: format!("bad {HOSTILE}.mp3"), message: format!("broken {HOSTILE}") }];
    let mut r = build_report(tracks, vec![], params, errors);
    r.motifs = vec![
        MotifEntry {
            name: None,
            id: 0,
            occurrences: vec![occ(0, 3.0, 0), occ(0, 30.0, 2), occ(1, 10.0, -1)],
            figures: vec![FigureEntry { occurrences: vec![occ(0, 4.0, 0), occ(0, 31.0, 2)] }],
        },
        MotifEntry { name: None, id: 1, occurrences: vec![occ(0, 5.0, 0), occ(1, 20.0, 0)], figures: Vec::new() },
    ];
    r
}

/// Chroma with a clear pitch per frame, enough to draw.
fn chroma(frames: usize) -> Vec<[f32; 12]> {
    (0..frames).map(|k| std::array::from_fn(|i| if i == k % 12 { 1.0 } else { 0.1 })).collect()
}

/// Fails when the page refers to anything outside itself.
fn assert_self_contained(html: &str) {
    for needle in ["src=\"http", "href=\"http", "src=\"//", "url(http", "@import", "<link", "src=\"file:"] {
        assert!(!html.contains(needle), "external reference {needle:?}");
    }
    // The page's own script is the only one, and it has no src.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<script src"));
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[test]
fn hand_built_report_escapes_every_string_from_files() {
    let report = hostile_report();
    let c0 = chroma(600);
    let c1 = chroma(450);
    let inputs = HtmlInputs {
        report: &report,
        tracks: vec![
            TrackView { chroma: Some((&c0, 0.1)), audio_url: Some("ost/%22quoted%22.flac".to_owned()) },
            TrackView { chroma: Some((&c1, 0.1)), audio_url: None },
        ],
        similarity_track: Some(0),
    };
    let html = render_report(&inputs);
    assert!(!html.contains(HOSTILE), "raw hostile tag in the page");
    assert!(!html.contains("<img src=x"), "raw hostile artist in the page");
    assert!(html.contains(ESCAPED));
    assert!(html.contains("Tom &amp; Jerry&#39;s"));
    assert!(html.contains("&quot;quoted&quot;"));
    assert_self_contained(&html);

    let n_occ: usize = report.motifs.iter().map(|m| m.occurrences.len()).sum();
    assert_eq!(count(&html, "class=\"occ\" data-motif="), n_occ);
    for m in &report.motifs {
        let blocks = count(&html, &format!("class=\"occ\" data-motif=\"{}\"", m.id));
        assert_eq!(blocks, m.occurrences.len(), "motif {}", m.id);
        assert!(html.contains(&format!("id=\"motif-{}\"", m.id)));
    }
    // One play button per occurrence; those on the track without audio are disabled.
    assert_eq!(count(&html, "class=\"play\""), n_occ);
    assert_eq!(count(&html, "class=\"play\" data-kind=\"track\" data-track=\"1\""), 2);
    assert_eq!(count(&html, "&#9654;</button>") - count(&html, "disabled>&#9654;</button>"), 3);
    assert!(html.contains("data-src=\"ost/%22quoted%22.flac\""));
    assert!(html.contains("data-start=\"30\""));
    // Two chromagrams and one self-similarity matrix, inline.
    assert_eq!(count(&html, "src=\"data:image/png;base64,"), 3);
    assert!(html.contains("class=\"ssm\""));
    // Hover text carries the details.
    assert!(html.contains("key +2"));
    assert!(html.contains("tempo \u{d7}1.00"));
}

#[test]
fn report_without_features_still_lists_everything() {
    let report = hostile_report();
    let html = leitmotif::report::html::report_page(&report);
    assert!(!html.contains(HOSTILE));
    assert!(!html.contains("data:image/png"));
    assert_eq!(count(&html, "class=\"occ\" data-motif="), 5);
    assert_eq!(count(&html, "disabled>&#9654;</button>"), 5);
    assert_self_contained(&html);
    // Tracks are numbered from 1; a missing tag is left out, not shown as a dash.
    assert!(html.contains("<h3>2. plain.wav"), "second track heading");
    assert_eq!(count(&html, "&middot; artist "), 1);
    assert_eq!(count(&html, "&middot; album "), 1);
    assert!(!html.contains("muted\">-</span>"));
}

#[test]
fn forty_tracks_and_fifteen_motifs_get_distinct_colours_and_lanes() {
    let tracks: Vec<TrackEntry> = (0..40)
        .map(|i| TrackEntry { path: format!("ost/{i:02}.flac"), duration_s: 120.0 + i as f64, ..TrackEntry::default() })
        .collect();
    let mut r = build_report(tracks, vec![], Params::new(), vec![]);
    r.motifs = (0..15)
        .map(|m| MotifEntry {
            name: None,
            id: m,
            occurrences: (0..4).map(|k| occ((m * 7 + k * 11) % 40, 5.0 + k as f64 * 20.0, 0)).collect(),
            figures: Vec::new(),
        })
        .collect();
    let html = render_report(&HtmlInputs::new(&r));
    assert_eq!(count(&html, "class=\"lane\""), 40);
    assert_eq!(count(&html, "class=\"occ\" data-motif="), 60);
    let colours: std::collections::HashSet<String> = (0..15).map(leitmotif::report::html::colour).collect();
    assert_eq!(colours.len(), 15);
    for m in 0..15 {
        let fill = leitmotif::report::html::fill(m);
        assert!(fill.ends_with(&leitmotif::report::html::colour(m)), "{fill}");
        assert!(html.contains(&fill), "{fill}");
    }
}

#[test]
fn cue_sheet_has_an_episode_timeline_and_escapes_names() {
    let tracks = vec![TrackEntry {
        path: format!("ost/{HOSTILE}.flac"),
        title: Some(HOSTILE.to_owned()),
        ..TrackEntry::default()
    }];
    let cue = |start_s: f64, themes: Vec<String>| CueEntry {
        track: 0,
        start_s,
        end_s: start_s + 30.0,
        track_start_s: 5.0,
        transpose: 0,
        score: 0.9,
        match_kind: Some("exact".to_owned()),
        evidence_nats: Some(120.0),
        themes,
    };
    let episodes = vec![EpisodeEntry {
        path: format!("ep01 {HOSTILE}.mkv"),
        duration_s: 1800.0,
        cues: vec![cue(100.0, Vec::new()), cue(900.0, vec![HOSTILE.to_owned()])],
        ..EpisodeEntry::default()
    }];
    let report: CueReport = build_cue_report(tracks, episodes, Params::new(), vec![]);
    let inputs = CueHtmlInputs {
        report: &report,
        track_urls: vec![Some("ost/t.flac".to_owned())],
        episode_urls: vec![Some("ep01.mkv".to_owned())],
    };
    let html = render_cues(&inputs);
    assert!(!html.contains(HOSTILE));
    assert!(html.contains(ESCAPED));
    assert_self_contained(&html);
    assert!(html.contains("id=\"timeline\""));
    assert_eq!(count(&html, "class=\"occ\" data-cue-track=\"0\""), 2);
    // An episode button and a track button per cue.
    assert_eq!(count(&html, "class=\"play\" data-kind=\"episode\""), 2);
    assert_eq!(count(&html, "class=\"play\" data-kind=\"track\""), 2);
    assert!(html.contains("data-start=\"900\""));
    // Each cue's length is listed.
    assert!(html.contains("<th>length</th>"));
    assert_eq!(count(&html, "<td class=\"n\">30.0 s</td>"), 2);
    // A library theme the cue plays follows the track's name, escaped like it.
    assert_eq!(count(&html, &format!("<span class=\"muted\">({ESCAPED})</span>")), 1);
}

/// A mono 16-bit WAV of `notes` (MIDI numbers), each `note_s` long, with a RIFF LIST/INFO
/// chunk holding `title` as INAM (hound writes no tags).
fn wav_with_title(path: &Path, notes: &[i32], note_s: f32, title: &str) {
    let rate = 22_050u32;
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec).expect("writer");
        let per = (note_s * rate as f32) as usize;
        for &n in notes {
            let f = 440.0 * 2f32.powf((n - 69) as f32 / 12.0);
            for i in 0..per {
                let t = i as f32 / rate as f32;
                let env = (i.min(per - 1 - i) as f32 / 200.0).min(1.0);
                let v: f32 = (1..=3).map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() / h as f32).sum();
                w.write_sample((v * 0.25 * env * f32::from(i16::MAX)) as i16).expect("sample");
            }
        }
        w.finalize().expect("finalise");
    }
    let mut bytes = cursor.into_inner();
    let mut text = title.as_bytes().to_vec();
    text.push(0);
    if text.len() % 2 == 1 {
        text.push(0);
    }
    let mut info = b"INFO".to_vec();
    info.extend_from_slice(b"INAM");
    info.extend_from_slice(&(text.len() as u32).to_le_bytes());
    info.extend_from_slice(&text);
    bytes.extend_from_slice(b"LIST");
    bytes.extend_from_slice(&(info.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&info);
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    std::fs::write(path, bytes).expect("write wav");
}

#[test]
fn binary_escapes_a_hostile_title_tag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let theme = [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60];
    let filler = |s: i32| (0..10).map(move |k| 55 + (k * 7 + s * 3) % 13);
    let a: Vec<i32> = filler(1).chain(theme).chain(filler(2)).collect();
    let b: Vec<i32> = filler(3).chain(theme.iter().map(|n| n + 2)).chain(filler(4)).collect();
    wav_with_title(&dir.path().join("a.wav"), &a, 0.35, HOSTILE);
    wav_with_title(&dir.path().join("b.wav"), &b, 0.35, "Plain title");
    let html_path = dir.path().join("out").join("report.html");
    std::fs::create_dir_all(html_path.parent().expect("parent")).expect("mkdir");
    let json_path = dir.path().join("report.json");
    Command::cargo_bin("leitmotif")
        .expect("binary")
        .arg("analyze")
        .arg(dir.path())
        .arg("--html")
        .arg(&html_path)
        .arg("--json")
        .arg(&json_path)
        .arg("--no-cache")
        .assert()
        .success();
    let report: Report = serde_json::from_slice(&std::fs::read(&json_path).expect("json")).expect("parses");
    assert_eq!(report.tracks[0].title.as_deref(), Some(HOSTILE), "the decoder reads RIFF INFO");
    let html = std::fs::read_to_string(&html_path).expect("html");
    assert!(!html.contains(HOSTILE), "raw hostile title in the page");
    assert!(html.contains(ESCAPED));
    assert_self_contained(&html);
    let n_occ: usize = report.motifs.iter().map(|m| m.occurrences.len()).sum();
    assert!(n_occ >= 2, "the shared theme is found");
    assert_eq!(count(&html, "class=\"occ\" data-motif="), n_occ);
    // The audio is addressed relative to the report's folder.
    assert!(html.contains("data-src=\"../a.wav\""), "relative audio source");
    assert_eq!(count(&html, "src=\"data:image/png;base64,"), 2);
}

#[test]
fn sections_are_drawn_above_the_lanes_and_listed() {
    let tracks = vec![TrackEntry { path: "ost/suite.flac".to_owned(), duration_s: 90.0, ..TrackEntry::default() }];
    let mut r = build_report(tracks, vec![], Params::new(), vec![]);
    // Two motifs that follow each other, both heard again 40 s later: one section of two places.
    r.motifs = vec![
        MotifEntry { name: None, id: 0, occurrences: vec![occ(0, 5.0, 0), occ(0, 45.0, 0)], figures: Vec::new() },
        MotifEntry { name: None, id: 1, occurrences: vec![occ(0, 10.0, 0), occ(0, 50.0, 0)], figures: Vec::new() },
    ];
    r.sections = section_entries(&r.motifs);
    assert_eq!(r.sections.len(), 1, "{:?}", r.sections);
    assert_eq!(r.sections[0].motifs, vec![0, 1]);
    let html = render_report(&HtmlInputs::new(&r));
    assert_eq!(count(&html, "class=\"sec\" data-section=\"0\""), 2);
    assert!(html.contains("<h2>Sections</h2>"));
    assert!(html.contains("made of motifs 1, 2"), "the hover text names the motifs from 1");
}

#[test]
fn a_motifs_figures_are_listed_under_it_with_names_escaped() {
    let html = render_report(&HtmlInputs::new(&hostile_report()));
    let at = html.find("Figure 1.1 recurs inside it: ").expect("the figure is listed");
    let line = &html[at..at + html[at..].find("</p>").expect("the line ends")];
    assert!(line.contains(&format!("{ESCAPED} 0:04.0-0:08.0")), "{line}");
    assert!(!html.contains(HOSTILE));
    // Under its own motif: after motif 1's table, before motif 2's section.
    let section = |id: &str| html.find(&format!("id=\"{id}\"")).expect("each motif has its section");
    assert!(section("motif-0") < at && at < section("motif-1"));
}
