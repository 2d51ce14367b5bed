//! The HTML report of `fixtures/score` in a real browser (headless Chromium): the timeline
//! shows every occurrence of the JSON document, clicking a play button loads the local file and
//! starts it at the occurrence's start, and a screenshot is saved.
//!
//! The page runs its own check when opened with `#selftest=N`: it clicks the N-th play button
//! and writes what the audio element did into `<pre id="selftest">`, which `--dump-dom` prints.
//! A second, crowded report (many motifs, overlapping occurrences, a long file name) checks the
//! map's layout the same way: blocks and marks inside their lanes and apart, distinct motif
//! colours, the long name shown in full on hover.
//!
//! Chromium must be installed (`.ci/run` installs it); this test installs nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leitmotif::features::chroma::N_CHROMA;
use leitmotif::report::Report;
use leitmotif::report::html::{HtmlInputs, TrackView, render_report};

fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("chromium is not installed: run `apt-get install -y chromium` (.ci/run does)");
}

/// Runs headless Chromium with `args` and returns its standard output, killing it after a
/// minute so a stuck browser fails the test instead of hanging it.
fn run_chromium(profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    // Read while waiting: a dumped page larger than the pipe's buffer would otherwise block it.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish within a minute");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    String::from_utf8_lossy(&reader.join().expect("reader")).into_owned()
}

/// The text of `<pre id="selftest">` in a dumped DOM, unescaped, as JSON.
fn selftest_result(dom: &str) -> serde_json::Value {
    let start = dom.find("<pre id=\"selftest\"").unwrap_or_else(|| panic!("no selftest element in:\n{dom:.2000}"));
    let open = start + dom[start..].find('>').expect("tag end") + 1;
    let close = open + dom[open..].find("</pre>").expect("closing tag");
    let text = dom[open..close].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("selftest output {text:?}: {e}"))
}

#[test]
fn report_plays_occurrences_in_a_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("report.html");
    let json = dir.path().join("report.json");
    assert_cmd::Command::cargo_bin("leitmotif")
        .expect("binary")
        .arg("analyze")
        .arg(root.join("fixtures/score"))
        .arg("--html")
        .arg(&html)
        .arg("--json")
        .arg(&json)
        .args(["--quiet", "--no-cache"])
        .assert()
        .success();
    let report: Report = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("report");
    let occurrences: Vec<_> = report.motifs.iter().flat_map(|m| &m.occurrences).collect();
    assert!(occurrences.len() >= 2, "the fixture has motifs");

    let url = format!("file://{}", html.canonicalize().expect("absolute").display());
    // The play buttons follow the motif tables: one per occurrence, in document order. Try the
    // first occurrences on two different tracks (two codecs).
    let mut tried_tracks = Vec::new();
    for (n, o) in occurrences.iter().enumerate() {
        if tried_tracks.contains(&o.track) || tried_tracks.len() == 2 {
            continue;
        }
        tried_tracks.push(o.track);
        let profile = tempfile::tempdir().expect("profile");
        let dom = run_chromium(
            profile.path(),
            &["--virtual-time-budget=10000".to_owned(), "--dump-dom".to_owned(), format!("{url}#selftest={n}")],
        );
        let r = selftest_result(&dom);
        assert_eq!(r["occurrences"], occurrences.len(), "timeline blocks vs JSON occurrences: {r}");
        assert_eq!(r["motifs"], report.motifs.len(), "{r}");
        assert_eq!(r["buttons"], occurrences.len(), "{r}");
        assert_eq!(r["track"], o.track, "{r}");
        assert_eq!(r["result"], "started", "{r}");
        assert_eq!(r["error"], serde_json::Value::Null, "the file loads and decodes: {r}");
        assert_eq!(r["paused"], false, "{r}");
        let at = r["current_time"].as_f64().expect("current time");
        assert!((at - o.start_s).abs() < 0.1, "started at {at}, occurrence starts at {}: {r}", o.start_s);
        let base = report.tracks[o.track].base_name();
        assert!(r["src"].as_str().is_some_and(|s| s.ends_with(base)), "plays {base}: {r}");
        let events: Vec<&str> = r["events"].as_array().expect("events").iter().filter_map(|e| e.as_str()).collect();
        assert!(events.iter().any(|e| e.starts_with("canplay")), "{events:?}");
        assert!(events.iter().any(|e| e.starts_with("play@")), "{events:?}");
    }
    assert_eq!(tried_tracks.len(), 2);

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().expect("profile");
    run_chromium(
        profile.path(),
        &["--window-size=1280,1400".to_owned(), format!("--screenshot={}", shot.display()), url],
    );
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "the screenshot shows the page ({} bytes)", png.len());
}

/// A report with 14 motifs over three 60 s tracks, each motif sounding on every track at
/// overlapping times (one block 30 s wide), and one track with a long file name.
fn crowded_report() -> Report {
    let long = "music/Original Television Soundtrack/Part 7/07 - The Moment the Snow Melts Over the Han River (Orchestral Version, Extended).flac";
    let paths = ["music/01 - Prologue.flac", long, "music/03 - Epilogue.flac"];
    let tracks: Vec<_> = paths
        .iter()
        .enumerate()
        .map(|(id, path)| serde_json::json!({"id": id, "path": path, "duration_s": 60.0}))
        .collect();
    let motifs: Vec<_> = (0..14)
        .map(|m| {
            let occurrences: Vec<_> = (0..3)
                .map(|t| {
                    let start = 2.0 + m as f64 * 2.5 + t as f64;
                    let length = if m == 0 && t == 0 { 30.0 } else { 4.0 };
                    serde_json::json!({"track": t, "start_s": start, "end_s": start + length, "transpose": t, "tempo_ratio": 1.0 + 0.05 * t as f64, "score": 0.9})
                })
                .collect();
            serde_json::json!({"id": m, "occurrences": occurrences})
        })
        .collect();
    serde_json::from_value(serde_json::json!({"schema": "leitmotif.report/1", "tracks": tracks, "motifs": motifs}))
        .expect("a valid report")
}

#[test]
fn crowded_map_keeps_blocks_in_lanes_apart_and_motifs_distinct() {
    let report = crowded_report();
    let n_occ: usize = report.motifs.iter().map(|m| m.occurrences.len()).sum();
    // Ten frames a second with a moving peak, so every track draws a chromagram with marks.
    let chroma: Vec<[f32; N_CHROMA]> = (0..600)
        .map(|k| {
            let mut frame = [0.1; N_CHROMA];
            frame[(k / 10) % N_CHROMA] = 1.0;
            frame
        })
        .collect();
    let mut inputs = HtmlInputs::new(&report);
    inputs.tracks =
        (0..report.tracks.len()).map(|_| TrackView { chroma: Some((&chroma, 0.1)), audio_url: None }).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("crowded.html");
    std::fs::write(&html, render_report(&inputs)).expect("write html");
    let url = format!("file://{}#selftest", html.canonicalize().expect("absolute").display());
    let profile = tempfile::tempdir().expect("profile");
    let dom = run_chromium(
        profile.path(),
        &["--window-size=1280,1400".to_owned(), "--virtual-time-budget=2000".to_owned(), "--dump-dom".to_owned(), url],
    );
    let r = selftest_result(&dom);
    let layout = &r["layout"];

    assert_eq!(layout["lanes"]["count"], n_occ, "every occurrence has a block: {layout}");
    assert_eq!(layout["lanes"]["outside"], 0, "blocks stay inside their lanes: {layout}");
    assert_eq!(layout["lanes"]["overlapping"], 0, "overlapping occurrences are stacked: {layout}");
    assert_eq!(layout["marks"]["count"], n_occ, "every occurrence is marked under its chromagram: {layout}");
    assert_eq!(layout["marks"]["outside"], 0, "{layout}");
    assert_eq!(layout["marks"]["overlapping"], 0, "overlapping marks are stacked: {layout}");

    let swatches = layout["swatches"].as_array().expect("swatches");
    assert_eq!(swatches.len(), 14);
    for i in 0..12 {
        for j in 0..i {
            assert_ne!(swatches[i]["colour"], swatches[j]["colour"], "motifs {j} and {i} share a colour: {layout}");
        }
    }
    assert!(swatches[..10].iter().all(|s| s["pattern"] == "none"), "{layout}");
    assert!(swatches[10..].iter().all(|s| s["pattern"] != "none"), "motifs past ten carry a pattern: {layout}");

    let detailed = layout["detailed"].as_u64().expect("detailed");
    assert!(detailed >= 1, "the wide block shows its key shift and tempo: {layout}");
    assert!(detailed < n_occ as u64, "narrow blocks show only the motif number: {layout}");

    let name = &layout["name"];
    assert!(name["text"].as_str().is_some_and(|t| t.contains("Extended")), "the long name is the clipped one: {name}");
    assert_eq!(name["before"], false, "the long name is cut off in the lane column: {name}");
    assert_eq!(name["hover"], true, "hovering shows the long name in full: {name}");
    assert_eq!(name["after"], false, "leaving the name cuts it off again: {name}");
}
