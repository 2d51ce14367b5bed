//! End-to-end checks of the real binary on the shipped fixture score: motif discovery scored
//! against the fixture's ground truth, cue detection in an episode built from a fixture track,
//! and the errors of `find` for malformed query spans and of inputs without audio.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn leitmotif_cmd(sub: &str) -> Command {
    let mut cmd = Command::cargo_bin("leitmotif").expect("the binary is built");
    cmd.arg(sub).arg("--no-cache");
    cmd
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

/// The `F1 <x> ...` line's headline value.
fn headline(eval_output: &str) -> f64 {
    let last = eval_output.lines().last().expect("eval prints a last line");
    last.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number after F1")
}

#[test]
fn analyze_finds_the_fixture_motifs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    leitmotif_cmd("analyze").arg(fixture("score")).arg("--json").arg(&report).arg("--quiet").assert().success();
    let out = Command::cargo_bin("leitmotif")
        .expect("binary")
        .args(["eval", "--truth"])
        .arg(fixture("score/truth.json"))
        .arg(&report)
        .output()
        .expect("eval runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // The fixture is small and clean; a working matcher recovers nearly all of it.
    assert!(headline(&text) >= 0.8, "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(doc["schema"], "leitmotif.report/1");
    assert_eq!(doc["params"]["min_len_s"], 3.0);
    for motif in doc["motifs"].as_array().expect("motifs") {
        let occ = motif["occurrences"].as_array().expect("occurrences");
        assert!(occ.len() >= 2);
        assert_eq!(occ[0]["transpose"], 0);
    }
}

/// Reads a mono 16-bit WAV into floats.
fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).expect("fixture wav");
    let spec = r.spec();
    let samples: Vec<f32> = r.samples::<i16>().map(|s| s.expect("sample") as f32 / 32768.0).collect();
    let ch = spec.channels as usize;
    (samples.chunks(ch).map(|c| c.iter().sum::<f32>() / ch as f32).collect(), spec.sample_rate)
}

#[test]
fn cues_find_a_track_placed_in_an_episode() {
    let (track, sr) = read_wav(&fixture("score/01-cold-winter.wav"));
    // 60 s of quiet noise with 15 s of the track (from 0:05) at 0:20; a deterministic LCG noise.
    let mut state = 12345u32;
    let mut episode: Vec<f32> = (0..60 * sr as usize)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.02
        })
        .collect();
    let from = 5 * sr as usize;
    let at = 20 * sr as usize;
    for k in 0..15 * sr as usize {
        episode[at + k] += track[from + k];
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ep_path = dir.path().join("ep01.wav");
    let spec =
        hound::WavSpec { channels: 1, sample_rate: sr, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&ep_path, spec).expect("writer");
    for s in &episode {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");
    let out = leitmotif_cmd("cues")
        .args(["--json", "-", "--tracks"])
        .arg(fixture("score"))
        .arg("--")
        .arg(&ep_path)
        .output()
        .expect("cues runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "leitmotif.cues/1");
    let tracks = doc["tracks"].as_array().expect("tracks");
    // The episode is read at the tracks' tuning (their median), not at one estimated on it.
    let mut tunings: Vec<f64> = tracks.iter().filter_map(|t| t["tuning_cents"].as_f64()).collect();
    tunings.sort_by(f64::total_cmp);
    let median = if tunings.len() % 2 == 1 {
        tunings[tunings.len() / 2]
    } else {
        (tunings[tunings.len() / 2 - 1] + tunings[tunings.len() / 2]) / 2.0
    };
    let used = doc["params"]["episode_tuning_cents"].as_f64().expect("episode tuning in params");
    assert!((used - median).abs() <= 0.1, "episode tuning {used}, tracks' median {median}");
    let cues = doc["episodes"][0]["cues"].as_array().expect("cues");
    let hit = cues.iter().find(|c| {
        let path = tracks[c["track"].as_u64().unwrap_or(0) as usize]["path"].as_str().unwrap_or("");
        path.ends_with("01-cold-winter.wav")
    });
    let hit = hit.unwrap_or_else(|| panic!("the placed track is found: {cues:?}"));
    let start = hit["start_s"].as_f64().expect("start");
    let end = hit["end_s"].as_f64().expect("end");
    let track_start = hit["track_start_s"].as_f64().expect("track start");
    assert!((start - 20.0).abs() < 1.5, "start {start}");
    assert!((end - 35.0).abs() < 1.5, "end {end}");
    assert!((track_start - 5.0).abs() < 1.5, "track start {track_start}");
}

#[test]
fn malformed_query_spans_are_usage_errors() {
    let query = fixture("score/01-cold-winter.wav");
    // Each is refused before any work, naming the span as it was written (or as it was read,
    // for one that reaches past the end of the file), and no file of that name is looked for.
    for (span, named) in
        [("@1:20-0:40", "1:20-0:40"), ("@0:10-9:00", "9:00.0"), ("@soon-later", "soon-later"), ("@0:01-0:02", "1 s")]
    {
        let q = format!("{}{span}", query.display());
        leitmotif_cmd("find")
            .args(["--query", &q])
            .arg(fixture("score"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(named).and(predicate::str::contains("cannot read").not()));
    }
}

#[test]
fn a_video_without_audio_is_named_in_the_error() {
    leitmotif_cmd("chroma")
        .arg(fixture("codecs/video_only.mp4"))
        .arg("--out")
        .arg(tempfile::tempdir().expect("tempdir").path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("video_only.mp4").and(predicate::str::contains("no audio track")));
}
