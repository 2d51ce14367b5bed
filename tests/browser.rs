//! The HTML report of `fixtures/score` in a real browser (headless Chromium): the timeline
//! shows every occurrence of the JSON document, clicking a play button loads the local file and
//! starts it at the occurrence's start, and a screenshot is saved.
//!
//! The page runs its own check when opened with `#selftest=N`: it clicks the N-th play button
//! and writes what the audio element did into `<pre id="selftest">`, which `--dump-dom` prints.
//! Chromium must be installed (`.ci/run` installs it); this test installs nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leitmotif::report::Report;

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
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stdout).into_owned()
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
