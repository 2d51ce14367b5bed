//! The command line as a user meets it: help, usage errors, exit statuses, documents written
//! by `analyze`, `find`, `chroma` and `eval`, on WAV files synthesised into a temporary folder.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use leitmotif::export::{ChromaDoc, ChromaLayout, read_npy};
use leitmotif::report::{Report, span_iou};
use predicates::prelude::*;
use serde_json::json;

const RATE: u32 = 22_050;

/// The binary, with its feature cache in a folder of its own so tests never touch the user's.
fn leitmotif() -> Command {
    let mut cmd = Command::cargo_bin("leitmotif").expect("the binary is built");
    cmd.env("XDG_CACHE_HOME", std::env::temp_dir().join("leitmotif-cli-test-cache"));
    cmd
}

/// MIDI note number to Hz.
fn hz(midi: i32) -> f32 {
    440.0 * 2f32.powf((midi - 69) as f32 / 12.0)
}

/// Writes a mono 16-bit WAV playing `notes` (MIDI numbers, `None` for a rest), each `note_s`
/// long, as a tone with three harmonics and short fades so note changes do not click.
fn write_melody(path: &Path, notes: &[Option<i32>], note_s: f32) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let per_note = (note_s * RATE as f32) as usize;
    let fade = RATE as usize / 100;
    for note in notes {
        for i in 0..per_note {
            let env = (i.min(per_note - 1 - i) as f32 / fade as f32).min(1.0);
            let v = note.map_or(0.0, |m| {
                let t = i as f32 / RATE as f32;
                let f = hz(m);
                (1..=3).map(|h| (2.0 * std::f32::consts::PI * f * h as f32 * t).sin() / h as f32).sum::<f32>() * 0.25
            });
            w.write_sample((v * env * i16::MAX as f32) as i16).expect("write sample");
        }
    }
    w.finalize().expect("finalise wav");
}

/// A theme and some filler, so a track holds the theme once among other notes.
fn theme(shift: i32) -> Vec<Option<i32>> {
    [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60].iter().map(|n| Some(n + shift)).collect()
}

fn filler(seed: i32) -> Vec<Option<i32>> {
    (0..10).map(|k| Some(55 + (k * 7 + seed * 3) % 13)).collect()
}

/// Two tracks holding the same theme (the second a whole tone up) among different filler.
fn write_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let a = dir.join("a.wav");
    let b = dir.join("b.wav");
    write_melody(&a, &[filler(1), theme(0), filler(2)].concat(), 0.35);
    write_melody(&b, &[filler(3), vec![None; 3], theme(2), filler(4)].concat(), 0.35);
    (a, b)
}

#[test]
fn help_lists_every_command_and_documents_defaults() {
    let out = leitmotif().arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for cmd in ["analyze", "find", "cues", "chroma", "eval", "index", "themes"] {
        assert!(text.contains(cmd), "{cmd} missing from help:\n{text}");
    }
    leitmotif()
        .args(["analyze", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--min-len").and(predicate::str::contains("[default: 3]")))
        .stdout(predicate::str::contains("--json").and(predicate::str::contains("--html")));
    leitmotif()
        .args(["chroma", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("npy").and(predicate::str::contains("--timings")));
}

#[test]
fn usage_errors_exit_2() {
    leitmotif().assert().code(2);
    leitmotif().arg("analyse-this").assert().code(2);
    leitmotif().arg("analyze").assert().code(2).stderr(predicate::str::contains("PATH"));
    leitmotif().args(["analyze", "x.wav", "--threshold", "1.5"]).assert().code(2);
    leitmotif().args(["analyze", "x.wav", "--min-len", "0"]).assert().code(2);
    leitmotif().args(["eval", "report.json"]).assert().code(2).stderr(predicate::str::contains("--truth"));
    leitmotif().args(["find", "--query", "a.wav@1:00-0:30", "b.wav"]).assert().code(2);
    leitmotif().args(["chroma", "a.wav", "--format", "mp3"]).assert().code(2);
    leitmotif().args(["cues", "--tracks", "a.wav"]).assert().code(2).stderr(predicate::str::contains("episode"));
}

#[test]
fn negative_numbers_after_a_space_reach_the_range_check() {
    // The spaced form must be read as the option's value, not as an unknown flag, and meet the
    // same range check as `--min-len=-3`.
    let cases: [&[&str]; 5] = [
        &["analyze", "x.wav", "--min-len", "-3"],
        &["analyze", "x.wav", "--threshold", "-0.1"],
        &["analyze", "x.wav", "--max-motifs", "-2"],
        &["find", "--query", "a.wav", "b.wav", "--threshold", "-0.5"],
        &["cues", "--tracks", "a.wav", "--min-len", "-1", "--", "ep.wav"],
    ];
    for args in cases {
        let value = args.iter().find(|a| a.starts_with('-') && a[1..].starts_with(|c: char| c.is_ascii_digit()));
        let value = value.expect("a negative value");
        leitmotif()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("invalid value '{value}'")))
            .stderr(predicate::str::contains("unexpected argument").not());
    }
    leitmotif()
        .args(["analyze", "x.wav", "--min-len=-3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("positive number of seconds"));
}

#[test]
fn an_option_after_the_double_dash_in_cues_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = write_pair(dir.path());
    let out = dir.path().join("cues.json");
    leitmotif()
        .arg("cues")
        .arg("--tracks")
        .arg(&a)
        .arg("--")
        .arg(&b)
        .arg("--json")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--json").and(predicate::str::contains("before `--`")));
    assert!(!out.exists());
}

#[test]
fn report_params_read_as_the_settings_were_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_pair(dir.path());
    let out = leitmotif()
        .args(["analyze", "--no-cache", "--quiet", "--json", "-", "--threshold", "0.3"])
        .arg(dir.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    // The whole of `params`, as a snapshot: every setting the report was made with, rounded as
    // it was written, the matching hop actually used, and the feature settings the cache keys.
    let expected = json!({
        "min_len_s": 3.0, "threshold": 0.3, "max_motifs": 50, "min_tempo_ratio": 0.8,
        "max_tempo_ratio": 1.25, "hop_s": 0.2, "melody_weight": 0.3, "matching_hop_s": 0.2,
        "features": {
            "window_s": 0.186, "hop_s": 0.1, "tuning": "Estimate", "tuning_span_s": 60.0,
            "silence_db": -70.0, "chroma_midi": [24, 108],
            "octave_weight": {"centre_hz": 880.0, "width_octaves": 2.0},
            "melody": {
                "lo_midi": 48, "hi_midi": 96, "harmonics": 8, "voices": 3, "top_voice": 0.5,
                "alpha": 0.8, "compression": 0.5, "second_weight": 0.5, "min_clarity": 2.5
            },
            "peaks": null
        }
    });
    assert_eq!(doc["params"], expected);
    assert!(!text.contains("0000000"), "binary noise in {}", doc["params"]);
}

#[test]
fn a_file_whose_rate_no_window_fits_exits_1_naming_it() {
    // A valid WAV at 100 Hz: the 0.186 s window would hold 18 samples, too few for any pitch.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rumble.wav");
    let spec =
        hound::WavSpec { channels: 1, sample_rate: 100, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for i in 0..3000 {
        w.write_sample(((i as f32 * 0.3).sin() * 8000.0) as i16).expect("write sample");
    }
    w.finalize().expect("finalise wav");
    let out = leitmotif().args(["analyze", "--no-cache"]).arg(&path).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&path.display().to_string()) && stderr.contains("100 Hz"), "{stderr}");
}

#[test]
fn unwritable_outputs_are_refused_before_any_work_naming_the_users_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_pair(dir.path());
    let missing = dir.path().join("no-such-folder/r.json");
    let plain = dir.path().join("a.wav");
    let blocked = plain.join("out");
    for args in [
        vec!["analyze".to_owned(), "--json".to_owned(), missing.display().to_string()],
        vec!["analyze".to_owned(), "--labels".to_owned(), blocked.display().to_string()],
        vec!["chroma".to_owned(), "--out".to_owned(), blocked.display().to_string()],
    ] {
        let out = leitmotif().args(&args).arg("--no-cache").arg(dir.path()).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(&args[2]) && !stderr.contains("at path"), "{args:?}: {stderr}");
        // Refused before decoding: no progress, no summary, nothing written.
        assert!(out.get_output().stdout.is_empty(), "{args:?}");
    }
    assert!(!missing.exists() && !blocked.exists());
}

#[test]
fn a_playlist_is_read_as_its_list_of_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let music = dir.path().join("music");
    std::fs::create_dir(&music).expect("folder");
    write_pair(&music);
    let list = dir.path().join("ost.m3u8");
    std::fs::write(&list, "#EXTM3U\n#EXTINF:20,a\nmusic/a.wav\nmusic/b.wav\nmusic/gone.wav\n").expect("playlist");
    let out = leitmotif().args(["analyze", "--no-cache", "--quiet", "--json", "-"]).arg(&list).assert().code(0);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    let paths: Vec<&str> =
        doc["tracks"].as_array().expect("tracks").iter().filter_map(|t| t["path"].as_str()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("music/a.wav") && paths[1].ends_with("music/b.wav"), "{paths:?}");
    // The missing entry is listed by its own path, resolved from the playlist's folder.
    assert!(doc["errors"][0]["path"].as_str().is_some_and(|p| p.ends_with("music/gone.wav")), "{}", doc["errors"]);
}

#[test]
fn completions_and_the_manual_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = leitmotif().args(["completions", shell]).assert().code(0);
        let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(script.contains("analyze") && script.contains("min-len") && script.contains("tracks"), "{shell}");
    }
    leitmotif().args(["completions", "tcsh"]).assert().code(2);
    let out = leitmotif().arg("man").assert().code(0);
    let page = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(page.starts_with(".ie") && page.contains(".TH leitmotif 1") && page.contains("cues"), "{page}");
}

#[test]
fn label_files_of_same_named_tracks_mirror_their_folders_and_none_is_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    for disc in ["disc1", "disc2"] {
        std::fs::create_dir(dir.path().join(disc)).expect("folder");
        write_pair(&dir.path().join(disc));
    }
    let labels = dir.path().join("labels");
    leitmotif().args(["analyze", "--no-cache", "--quiet", "--labels"]).arg(&labels).arg(dir.path()).assert().code(0);
    let mut written: Vec<String> = walkdir(&labels);
    written.sort();
    assert!(!written.is_empty());
    for name in &written {
        assert!(name.starts_with("disc1/") || name.starts_with("disc2/"), "{written:?}");
        let text = std::fs::read_to_string(labels.join(name)).expect("label file");
        assert!(text.lines().all(|l| l.contains("\tmotif ")) && !text.is_empty(), "{name}: {text:?}");
    }
}

/// Files under `root`, as paths relative to it with `/`.
fn walkdir(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn missing_folder_exits_1_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-folder");
    let out = leitmotif().arg("analyze").arg(&missing).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert!(out.get_output().stdout.is_empty());
}

fn write_json(dir: &Path, name: &str, v: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).expect("json")).expect("write");
    p
}

#[test]
fn eval_prints_the_contract_line_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let track = |id: usize, path: &str| {
        json!({"id": id, "path": path, "duration_s": 60.0, "sample_rate": 44100, "channels": 2,
               "title": null, "artist": null, "album": null})
    };
    let occ = |t: usize, s: f64, e: f64| json!({"track": t, "start_s": s, "end_s": e, "transpose": 0, "tempo_ratio": 1.0, "score": 0.8});
    // The true motif is split into two predicted motifs; one prediction is invented.
    let report = write_json(
        dir.path(),
        "report.json",
        &json!({
            "schema": "leitmotif.report/1", "tool": {"name": "leitmotif", "version": "0.1.0"}, "params": {},
            "tracks": [track(0, "ost/01.flac"), track(1, "ost/02.flac")],
            "motifs": [
                {"id": 0, "occurrences": [occ(0, 0.0, 4.0), occ(0, 10.0, 14.0), occ(1, 30.0, 34.0)]},
                {"id": 1, "occurrences": [occ(1, 0.0, 4.0), occ(1, 10.0, 14.0)]}
            ],
            "errors": []
        }),
    );
    let truth = write_json(
        dir.path(),
        "truth.json",
        &json!({"schema": "leitmotif.truth/1", "motifs": [{"id": "A", "occurrences": [
            {"track": "01.flac", "start_s": 0.0, "end_s": 4.0}, {"track": "01.flac", "start_s": 10.0, "end_s": 14.0},
            {"track": "02.flac", "start_s": 0.0, "end_s": 4.0}, {"track": "02.flac", "start_s": 10.0, "end_s": 14.0}
        ]}]}),
    );
    let out = leitmotif().arg("eval").arg("--truth").arg(&truth).arg(&report).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let last = stdout.lines().last().unwrap_or_default();
    // Occurrences: P 4/5, R 1, F1 8/9. Pairs: 4 predicted, 6 true, 2 together: P 1/2, R 1/3, F1 2/5.
    // Headline: H(8/9, 2/5) = 0.5517.
    assert_eq!(last, "F1 0.5517 (occurrence P 0.8000 R 1.0000 F1 0.8889; grouping F1 0.4000)");

    let bad = write_json(dir.path(), "bad.json", &json!({"schema": "leitmotif.truth/1"}));
    leitmotif()
        .arg("eval")
        .arg("--truth")
        .arg(&bad)
        .arg(&report)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.json"));
}

#[test]
fn chroma_writes_json_csv_and_npy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("a440.wav");
    write_melody(&wav, &[Some(69); 8], 0.5);
    let out_dir = dir.path().join("out");

    leitmotif().arg("chroma").arg(&wav).arg("--out").arg(&out_dir).assert().success();
    let doc: ChromaDoc =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("a440.chroma.json")).expect("json written"))
            .expect("a chroma document");
    let chroma = doc.chroma.expect("frames inline");
    assert_eq!(chroma.len(), doc.frames);
    assert!(doc.frames > 10 && doc.hop_s > 0.0);
    assert!((doc.frame_rate * doc.hop_s - 1.0).abs() < 1e-9);
    let mid = &chroma[chroma.len() / 2];
    let peak = (0..12).max_by(|&i, &j| mid[i].total_cmp(&mid[j])).unwrap_or(0);
    assert_eq!(doc.pitch_classes[peak], "A", "{mid:?}");

    leitmotif().arg("chroma").arg(&wav).arg("--out").arg(&out_dir).args(["--format", "csv"]).assert().success();
    let csv = std::fs::read_to_string(out_dir.join("a440.chroma.csv")).expect("csv written");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_s,C,C#,D,D#,E,F,F#,G,G#,A,A#,B");
    assert_eq!(lines.len(), doc.frames + 1);
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 13 && l.split(',').all(|v| v.parse::<f64>().is_ok())));
    let meta: ChromaDoc =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("a440.chroma.meta.json")).expect("sidecar"))
            .expect("sidecar parses");
    assert_eq!(meta.data.as_deref(), Some("a440.chroma.csv"));

    leitmotif()
        .arg("chroma")
        .arg(&wav)
        .arg("--out")
        .arg(&out_dir)
        .args(["--format", "npy", "--timings"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("real time")
                .and(predicate::str::contains("decode"))
                .and(predicate::str::contains("FFT"))
                .and(predicate::str::contains("pitch mapping")),
        );
    let npy_path = out_dir.join("a440.chroma.npy");
    let bytes = std::fs::read(&npy_path).expect("npy written");
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).expect("ascii header");
    assert_eq!((10 + header_len) % 64, 0);
    assert!(
        header.starts_with(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 12), }}", doc.frames)),
        "{header}"
    );
    assert!(header.ends_with('\n'));
    let frames = read_npy(&npy_path, &bytes, ChromaLayout::FrameMajor).expect("npy parses");
    assert_eq!(frames.iter().map(|f| f.to_vec()).collect::<Vec<_>>(), chroma);
    // No temporary files are left behind by the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("out dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn chroma_writes_each_kind_in_either_layout_at_the_hop_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("a440.wav");
    write_melody(&wav, &[Some(69); 8], 0.5);
    let out_dir = dir.path().join("out");
    let run = |args: &[&str]| {
        leitmotif().arg("chroma").arg(&wav).arg("--no-cache").arg("--out").arg(&out_dir).args(args).assert().success();
        let meta: ChromaDoc = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join("a440.chroma.meta.json")).expect("sidecar written"),
        )
        .expect("sidecar parses");
        let bytes = std::fs::read(out_dir.join("a440.chroma.npy")).expect("npy written");
        (meta, bytes)
    };
    // Pitch-major at a finer hop: a (12, frames) array, the rate in the metadata.
    let (meta, bytes) = run(&["--format", "npy", "--layout", "pitch-major", "--hop", "0.05"]);
    assert_eq!((meta.kind.as_str(), meta.layout.as_str()), ("chroma", "pitch-major"));
    assert!((meta.hop_s - 0.05).abs() < 1e-9 && (meta.frame_rate - 20.0).abs() < 1e-6, "{meta:?}");
    let header = String::from_utf8_lossy(&bytes[10..74]).into_owned();
    assert!(header.contains(&format!("'shape': (12, {})", meta.frames)), "{header}");
    let frames = read_npy(Path::new("a440.chroma.npy"), &bytes, ChromaLayout::PitchMajor).expect("parses");
    let mid = frames[frames.len() / 2];
    assert_eq!((0..12).max_by(|&i, &j| mid[i].total_cmp(&mid[j])), Some(9), "A at {mid:?}");
    // CENS: one frame a second whatever the hop; the melody profile at the feature rate.
    let (meta, _) = run(&["--format", "npy", "--kind", "cens", "--hop", "0.05"]);
    assert_eq!(meta.kind, "cens");
    // 4 s at 0.05 s: 81 frames, of which every 20th from the first is kept.
    assert!((meta.hop_s - 1.0).abs() < 1e-9 && meta.frames == 5, "{meta:?}");
    let (meta, _) = run(&["--format", "npy", "--kind", "melody"]);
    assert!(meta.kind == "melody" && (meta.hop_s - 0.1).abs() < 1e-9, "{meta:?}");
    // Bad values are usage errors.
    leitmotif().arg("chroma").arg(&wav).args(["--hop", "0"]).assert().code(2);
    leitmotif().arg("chroma").arg(&wav).args(["--kind", "mfcc"]).assert().code(2);
}

#[test]
fn one_bad_file_among_good_ones_is_listed_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ost = dir.path().join("ost");
    std::fs::create_dir(&ost).expect("mkdir");
    write_pair(&ost);
    std::fs::write(ost.join("broken.wav"), b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").expect("write junk");
    std::fs::write(ost.join("notes.txt"), b"not audio, and skipped by extension").expect("write txt");

    let out = leitmotif().arg("analyze").arg(&ost).args(["--json", "-"]).assert().success();
    let report: Report = serde_json::from_slice(&out.get_output().stdout).expect("a report on stdout");
    assert_eq!(report.schema, "leitmotif.report/1");
    let names: Vec<&str> = report.tracks.iter().map(|t| t.base_name()).collect();
    assert_eq!(names, vec!["a.wav", "b.wav"]);
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].path.ends_with("broken.wav"));
    assert!(!report.errors[0].message.is_empty() && !report.errors[0].message.contains("broken.wav"));
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("broken.wav"), "{stderr}");
    for m in &report.motifs {
        assert!(m.occurrences.len() >= 2);
        assert!(m.occurrences.iter().all(|o| o.track < 2 && o.start_s < o.end_s && (-5..=6).contains(&o.transpose)));
    }

    // The same run written to files: JSON atomically, HTML alongside, summary on stdout.
    let json_path = dir.path().join("report.json");
    let html_path = dir.path().join("report.html");
    leitmotif()
        .arg("analyze")
        .arg(&ost)
        .arg("--json")
        .arg(&json_path)
        .arg("--html")
        .arg(&html_path)
        .assert()
        .success()
        .stdout(predicate::str::contains("2 tracks"));
    let again: Report = serde_json::from_str(&std::fs::read_to_string(&json_path).expect("written")).expect("parses");
    assert_eq!(again.tracks.len(), 2);
    let html = std::fs::read_to_string(&html_path).expect("html written");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("a.wav") && html.contains("broken.wav"));
}

#[test]
fn chroma_decode_only_reports_lengths_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ost = dir.path().join("ost");
    std::fs::create_dir(&ost).expect("mkdir");
    write_pair(&ost);
    std::fs::write(ost.join("broken.wav"), b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").expect("write junk");
    let out = leitmotif()
        .current_dir(dir.path())
        .args(["chroma", "--decode-only", "--timings"])
        .arg(&ost)
        .assert()
        .success()
        .stderr(predicate::str::contains("broken.wav"));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // write_pair's tracks: 32 and 35 notes of 7717 samples (0.35 s at 22.05 kHz).
    let seconds = |notes: usize| notes as f64 * (0.35 * RATE as f32) as usize as f64 / f64::from(RATE);
    for (name, notes) in [("a.wav", 32), ("b.wav", 35)] {
        let line = stdout.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} in {stdout}"));
        assert!(line.ends_with(&format!("{:.1} s of audio decoded", seconds(notes))), "{line}");
    }
    let total = format!("total: 2 file(s), {:.1} s of audio decoded", seconds(32) + seconds(35));
    assert!(stdout.contains(&total), "{stdout}");
    let written: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
    assert_eq!(written, vec![std::ffi::OsString::from("ost")], "nothing written beside the input");
    leitmotif().args(["chroma", "--decode-only", "--out", "x"]).arg(&ost).assert().code(2);
    leitmotif().args(["chroma", "--decode-only"]).arg(ost.join("broken.wav")).assert().code(1);
}

#[test]
fn find_puts_the_query_first_and_checks_the_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = write_pair(dir.path());
    // The theme in a.wav runs from 3.5 s to 7.7 s.
    let query = format!("{}@3.5-7.7", a.display());
    let out = leitmotif().args(["find", "--query", &query]).arg(&b).args(["--json", "-"]).assert().success();
    let report: Report = serde_json::from_slice(&out.get_output().stdout).expect("a report");
    assert_eq!(report.tracks[0].path, a.display().to_string());
    // b.wav holds the theme a whole tone up from 4.55 s to 8.75 s.
    assert_eq!(report.motifs.len(), 1, "the transposed theme is found");
    let m = &report.motifs[0];
    let q = &m.occurrences[0];
    assert_eq!((q.track, q.start_s, q.end_s, q.transpose), (0, 3.5, 7.7, 0));
    let hit = m.occurrences[1..].iter().find(|o| o.track == 1 && span_iou(o.start_s, o.end_s, 4.55, 8.75) >= 0.5);
    assert!(hit.is_some_and(|o| o.transpose == 2), "{:?}", m.occurrences);
    let too_long = format!("{}@0:05-9:00", a.display());
    leitmotif()
        .args(["find", "--query", &too_long])
        .arg(&b)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("query span"));
}

/// The report of `leitmotif analyze FILE` (no cache).
fn analyze_json(file: &Path) -> serde_json::Value {
    let json = file.with_extension("json");
    leitmotif().arg("analyze").arg(file).arg("--json").arg(&json).args(["--no-cache", "--quiet"]).assert().success();
    serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("json")
}

/// Asserts that `spans` (objects with `start_s` and `end_s`) are, in order, the copies of a
/// passage `copy_s` long played back to back from `first_s`, each within IoU 0.8.
fn assert_consecutive_copies(spans: &[serde_json::Value], first_s: f64, copy_s: f64) {
    for (k, o) in spans.iter().enumerate() {
        let (start, end) = (o["start_s"].as_f64().expect("start"), o["end_s"].as_f64().expect("end"));
        let (t0, t1) = (first_s + k as f64 * copy_s, first_s + (k + 1) as f64 * copy_s);
        let iou = (end.min(t1) - start.max(t0)).max(0.0) / (end.max(t1) - start.min(t0));
        assert!(iou >= 0.8, "copy {k}: {start}-{end} against {t0}-{t1} (IoU {iou:.2})");
    }
}

/// A block of four different phrases (rests between them) played four times back to back in one
/// track, after a few other notes: the repeat is longer than one match can be traced, and
/// nothing inside the block recurs on its own, so the block is the unit that repeats: one motif
/// of its four passes, each where it begins and ends (not windows of the repeat at other phases).
#[test]
fn a_block_repeated_four_times_is_one_motif_of_its_four_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("repeats.wav");
    let phrases: [[i32; 12]; 4] = [
        [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60],
        [57, 60, 64, 62, 65, 64, 69, 67, 71, 72, 74, 76],
        [67, 65, 64, 62, 60, 59, 57, 59, 60, 62, 64, 60],
        [72, 71, 69, 67, 69, 71, 72, 74, 72, 71, 67, 69],
    ];
    let block: Vec<Option<i32>> = phrases.iter().flat_map(|p| p.iter().map(|&n| Some(n)).chain([None; 3])).collect();
    let note_s = 0.35;
    let intro = filler(5);
    let notes: Vec<Option<i32>> = [intro.clone(), block.repeat(4), filler(6)].concat();
    write_melody(&wav, &notes, note_s);
    let doc = analyze_json(&wav);

    let block_s = block.len() as f64 * f64::from(note_s);
    let first_s = intro.len() as f64 * f64::from(note_s);
    let motifs = doc["motifs"].as_array().expect("motifs");
    assert_eq!(motifs.len(), 1, "{motifs:?}");
    let passes = motifs[0]["occurrences"].as_array().expect("occurrences");
    assert_eq!(passes.len(), 4, "{passes:?}");
    assert_consecutive_copies(passes, first_s, block_s);
    for o in passes {
        let ratio = o["tempo_ratio"].as_f64().expect("tempo ratio");
        assert!((0.8..=1.25).contains(&ratio), "tempo_ratio {ratio} outside the searched range: {o}");
    }
}

#[test]
fn cues_write_a_csv_cue_sheet_and_label_tracks_per_episode() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, csv, labels) = (dir.path().join("cues.json"), dir.path().join("sheet.csv"), dir.path().join("labels"));
    let episode = root.join("fixtures/score/03-hidden-letter.mp3");
    leitmotif()
        .arg("cues")
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--labels")
        .arg(&labels)
        .args(["--no-cache", "--quiet", "--tracks"])
        .arg(root.join("fixtures/score"))
        .arg("--")
        .arg(&episode)
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("cue sheet");
    let cues = doc["episodes"][0]["cues"].as_array().expect("cues");
    assert!(!cues.is_empty(), "the episode's own track is found in it");

    let text = std::fs::read_to_string(&csv).expect("csv");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "cue,episode,in,out,duration,title,artist,album,file,match,score,themes");
    assert_eq!(rows.len(), cues.len() + 1, "{text}");
    let first = cues
        .iter()
        .min_by(|a, b| a["start_s"].as_f64().partial_cmp(&b["start_s"].as_f64()).expect("order"))
        .expect("a cue");
    let fields: Vec<&str> = rows[1].split(',').collect();
    assert_eq!(fields[0], "1");
    assert_eq!(fields[1], "03-hidden-letter.mp3");
    let secs = |tc: &str| -> f64 {
        let parts: Vec<f64> = tc.split(':').map(|p| p.parse().expect("number")).collect();
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    assert!((secs(fields[2]) - first["start_s"].as_f64().expect("start")).abs() < 0.001, "{}", rows[1]);
    assert!((secs(fields[3]) - first["end_s"].as_f64().expect("end")).abs() < 0.001, "{}", rows[1]);
    assert!((secs(fields[4]) - (secs(fields[3]) - secs(fields[2]))).abs() < 0.002, "{}", rows[1]);
    let track = &doc["tracks"][first["track"].as_u64().expect("track") as usize];
    assert_eq!(fields[5], track["title"].as_str().expect("tagged title"));
    assert_eq!(fields[8], track["path"].as_str().expect("path"));

    let label = std::fs::read_to_string(labels.join("03-hidden-letter.labels.txt")).expect("label track");
    assert_eq!(label.lines().count(), cues.len());
    assert!(
        label.lines().next().is_some_and(|l| l.split('\t').nth(2).is_some_and(|t| t.starts_with("cue 1: "))),
        "{label}"
    );
}

/// A phrase played three times back to back, between other notes: three occurrences, one per
/// copy, not one span over two copies and not the middle one lost.
#[test]
fn back_to_back_copies_of_a_phrase_are_separate_occurrences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("back-to-back.wav");
    let note_s = 0.35;
    let (intro, phrase) = (filler(1), theme(0));
    write_melody(&wav, &[intro.clone(), phrase.repeat(3), filler(2)].concat(), note_s);
    let doc = analyze_json(&wav);
    let motifs = doc["motifs"].as_array().expect("motifs");
    assert_eq!(motifs.len(), 1, "{motifs:?}");
    let occurrences = motifs[0]["occurrences"].as_array().expect("occurrences");
    assert_eq!(occurrences.len(), 3, "{occurrences:?}");
    let (first_s, copy_s) = (intro.len() as f64 * f64::from(note_s), phrase.len() as f64 * f64::from(note_s));
    assert_consecutive_copies(occurrences, first_s, copy_s);
}

#[test]
fn a_library_names_its_themes_and_matches_only_what_is_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, later) = (dir.path().join("first"), dir.path().join("later"));
    std::fs::create_dir_all(&first).expect("mkdir");
    std::fs::create_dir_all(&later).expect("mkdir");
    write_pair(&first);
    write_melody(&later.join("c.wav"), &[filler(5), theme(-1), filler(6)].concat(), 0.35);
    let lib = dir.path().join("lib");

    leitmotif()
        .args(["index", "build"])
        .arg(&first)
        .arg("--out")
        .arg(&lib)
        .assert()
        .success()
        .stdout(predicate::str::contains("2 files (2 new, 0 before)"));
    leitmotif()
        .args(["themes", "name"])
        .arg(&lib)
        .args(["1", "Love theme"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Love theme"));
    leitmotif().args(["themes", "name"]).arg(&lib).args(["9", "No such"]).assert().code(2);

    // The third track costs its own pairs only: with the two before, and with itself.
    leitmotif()
        .args(["index", "build", "-v"])
        .arg(&later)
        .arg("--out")
        .arg(&lib)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 files (1 new, 2 before)"))
        .stderr(predicate::str::contains("3 of 6 pairs reused, 0 traced again from stored seeds, 3 computed"));

    let out = leitmotif().args(["analyze", "--json", "-", "-q", "--lib"]).arg(&lib).assert().success();
    let report: Report = serde_json::from_slice(&out.get_output().stdout).expect("a report");
    assert_eq!(report.tracks.len(), 3);
    let named: Vec<&leitmotif::report::MotifEntry> =
        report.motifs.iter().filter(|m| m.name.as_deref() == Some("Love theme")).collect();
    assert_eq!(named.len(), 1, "{:?}", report.motifs);
    assert_eq!(named[0].occurrences.len(), 3, "the theme in all three tracks: {:?}", named[0]);

    // A named theme searched for by name, in the library and in a file from outside it.
    let outside = dir.path().join("d.wav");
    write_melody(&outside, &[filler(7), theme(2), filler(8)].concat(), 0.35);
    let out = leitmotif()
        .args(["find", "--json", "-", "-q", "--lib"])
        .arg(&lib)
        .args(["--theme", "Love theme"])
        .arg(&outside)
        .assert()
        .success();
    let found: Report = serde_json::from_slice(&out.get_output().stdout).expect("a report");
    assert_eq!(found.tracks.len(), 4);
    assert_eq!(found.motifs.len(), 1, "{:?}", found.motifs);
    assert_eq!(found.motifs[0].name.as_deref(), Some("Love theme"));
    let tracks: std::collections::BTreeSet<usize> = found.motifs[0].occurrences.iter().map(|o| o.track).collect();
    assert_eq!(tracks.len(), 4, "the theme in all four tracks: {:?}", found.motifs[0]);
    leitmotif()
        .args(["find", "-q", "--lib"])
        .arg(&lib)
        .args(["--theme", "Hate theme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Hate theme").and(predicate::str::contains("\"Love theme\"")));

    // A library document changed behind its back is refused, naming it.
    let doc = lib.join("library.json");
    let text = std::fs::read_to_string(&doc).expect("read").replace("Love theme", "Lost theme");
    std::fs::write(&doc, text).expect("write");
    leitmotif()
        .args(["analyze", "--lib"])
        .arg(&lib)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("library.json").and(predicate::str::contains("checksum")));
}

#[test]
fn cues_with_a_library_name_the_themes_each_cue_plays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (lib, csv, labels) = (dir.path().join("lib"), dir.path().join("sheet.csv"), dir.path().join("labels"));
    leitmotif()
        .args(["index", "build", "-q"])
        .arg(root.join("fixtures/score"))
        .arg("--out")
        .arg(&lib)
        .assert()
        .success();
    let out = leitmotif().args(["themes", "name"]).arg(&lib).args(["1", "Main theme"]).assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // The theme's file: the episode is that track itself, so a cue covers the theme's place.
    let file = Path::new(said.split(": ").nth(1).and_then(|rest| rest.split(' ').next()).expect("the theme's file"));
    leitmotif()
        .args(["cues", "--quiet", "--lib"])
        .arg(&lib)
        .arg("--csv")
        .arg(&csv)
        .arg("--labels")
        .arg(&labels)
        .arg("--")
        .arg(file)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).expect("csv");
    let named: Vec<&str> = text.lines().skip(1).filter(|row| row.ends_with(",Main theme")).collect();
    assert!(!named.is_empty(), "no cue names the theme:\n{text}");
    assert!(named.iter().all(|row| row.contains(&*file.to_string_lossy())), "{text}");
    let stem = file.file_stem().expect("stem").to_string_lossy().into_owned();
    let label = std::fs::read_to_string(labels.join(format!("{stem}.labels.txt"))).expect("label track");
    assert!(label.contains("[Main theme]"), "{label}");
}

/// A phrase built on one figure (the figure, a continuation, the figure again, a cadence) played
/// twice among other notes: the phrase is a motif, and the figure, heard four times and only
/// inside it, is listed with it as a figure rather than beside it.
#[test]
fn a_figure_heard_only_inside_its_phrase_is_listed_with_the_phrase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("figure.wav");
    let figure = [60, 62, 64, 67, 65, 64, 62, 59];
    let continuation = [69, 71, 72, 74, 72, 69, 65, 67];
    let cadence = [57, 60, 64, 62, 59, 55, 57, 60];
    let phrase: Vec<Option<i32>> =
        [&figure[..], &continuation[..], &figure[..], &cadence[..]].concat().into_iter().map(Some).collect();
    let rest = vec![None; 2];
    let (intro, between) = (filler(5), [filler(8), filler(11)].concat());
    let notes: Vec<Option<i32>> = [&intro, &rest, &phrase, &rest, &between, &rest, &phrase, &rest, &filler(6)]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    let note_s = 0.45;
    write_melody(&wav, &notes, note_s);
    let doc = analyze_json(&wav);

    let at = |notes: usize| notes as f64 * f64::from(note_s);
    let passes = [at(intro.len() + 2), at(intro.len() + 2 + phrase.len() + 2 + between.len() + 2)];
    let (phrase_s, figure_s, second_figure_s) = (at(phrase.len()), at(figure.len()), at(2 * figure.len()));
    let iou = |o: &serde_json::Value, t0: f64, t1: f64| {
        let (start, end) = (o["start_s"].as_f64().expect("start"), o["end_s"].as_f64().expect("end"));
        (end.min(t1) - start.max(t0)).max(0.0) / (end.max(t1) - start.min(t0))
    };
    let motifs = doc["motifs"].as_array().expect("motifs");
    let host = motifs
        .iter()
        .find(|m| {
            let occ = m["occurrences"].as_array().expect("occurrences");
            occ.len() == 2 && occ.iter().zip(passes).all(|(o, p)| iou(o, p, p + phrase_s) >= 0.8)
        })
        .unwrap_or_else(|| panic!("the phrase is a motif of its two passes: {motifs:?}"));
    let figures = host["figures"].as_array().expect("the phrase lists its figure");
    assert_eq!(figures.len(), 1, "{figures:?}");
    let places: Vec<f64> = passes.iter().flat_map(|&p| [p, p + second_figure_s]).collect();
    let found = figures[0]["occurrences"].as_array().expect("the figure's places");
    assert_eq!(found.len(), 4, "{found:?}");
    for (o, &t0) in found.iter().zip(&places) {
        assert!(iou(o, t0, t0 + figure_s) >= 0.7, "figure at {t0}: {o}");
    }
    // Not beside the phrase as a motif of its own.
    for o in motifs.iter().flat_map(|m| m["occurrences"].as_array().expect("occurrences")) {
        assert!(places.iter().all(|&t0| iou(o, t0, t0 + figure_s) < 0.5), "the figure is listed as a motif: {o}");
    }
}

#[test]
fn a_slower_transposed_version_of_a_stretch_is_reported_with_its_key_and_tempo() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A melody that does not repeat itself: 170 notes, 59.5 s.
    let mut state = 12345u32;
    let melody: Vec<Option<i32>> = (0..170)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            Some(55 + ((state >> 16) % 24) as i32)
        })
        .collect();
    // Notes 40..140 (14-49 s) three semitones up and 10 % slower, every fifth note changed
    // (another arrangement), after 5 s of other music.
    let version: Vec<Option<i32>> = melody[40..140]
        .iter()
        .enumerate()
        .map(|(k, n)| if k % 5 == 0 { Some(50 + (k % 7) as i32) } else { n.map(|m| m + 3) })
        .collect();
    let (song, cover) = (dir.path().join("a-song.wav"), dir.path().join("b-version.wav"));
    write_melody(&song, &melody, 0.35);
    write_melody(&cover, &[filler(9), version, filler(10)].concat(), 0.385);
    let out = dir.path().join("r.json");
    leitmotif().args(["analyze", "--no-cache", "-q", "--json"]).arg(&out).arg(dir.path()).assert().success();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    let versions = doc["versions"].as_array().unwrap_or_else(|| panic!("a version: {doc}"));
    assert_eq!(versions.len(), 1, "{versions:?}");
    let v = &versions[0];
    assert_eq!((v["track_a"].as_u64(), v["track_b"].as_u64()), (Some(0), Some(1)));
    assert_eq!(v["transpose"].as_i64(), Some(3));
    let ratio = v["tempo_ratio"].as_f64().expect("tempo");
    assert!((ratio - 1.1).abs() < 0.05, "tempo {ratio}");
    // The stretch lies within the 14-49 s that were played again, and covers most of it.
    let (from, to) = (v["a_start_s"].as_f64().expect("start"), v["a_end_s"].as_f64().expect("end"));
    assert!(from >= 11.0 && to <= 52.0 && to - from >= 25.0, "{from}-{to}");
}
