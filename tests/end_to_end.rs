//! End-to-end checks of the real binary on the shipped fixture score: motif discovery scored
//! against the fixture's ground truth, cue detection in episodes built from a fixture track (in
//! quiet noise, and 20 dB under espeak-ng dialogue), and the errors of `find` for malformed
//! query spans and of inputs without audio.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

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

/// Writes mono samples as a 16-bit WAV.
fn write_wav(path: &Path, samples: &[f32], sr: u32) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: sr, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("writer");
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).expect("write");
    }
    w.finalize().expect("finalize");
}

/// `cues --json -` of `episode` (a 16-bit WAV written to `path`) against the fixture score.
fn cues_of(path: &Path, episode: &[f32], sr: u32) -> serde_json::Value {
    write_wav(path, episode, sr);
    let out = leitmotif_cmd("cues")
        .args(["--json", "-", "--tracks"])
        .arg(fixture("score"))
        .arg("--")
        .arg(path)
        .output()
        .expect("cues runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Reads a 16-bit WAV into floats, mixed down to mono.
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
    let doc = cues_of(&ep_path, &episode, sr);
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

/// One spoken line from espeak-ng at `sr` (linear resampling is enough for speech here).
fn speak(dir: &Path, voice: &str, text: &str, sr: u32) -> Vec<f32> {
    let path = dir.join("line.wav");
    let status =
        Process::new("espeak-ng").args(["-v", voice, "-s", "165", "-w"]).arg(&path).arg(text).status().unwrap_or_else(
            |e| panic!("espeak-ng is not installed ({e}): run `apt-get install -y espeak-ng` (.ci/run does)"),
        );
    assert!(status.success(), "espeak-ng failed on {text:?}");
    let (x, from) = read_wav(&path);
    let step = f64::from(from) / f64::from(sr);
    let n = (x.len() as f64 / step) as usize;
    (0..n)
        .map(|k| {
            let t = k as f64 * step;
            let (i, f) = (t as usize, (t - t.floor()) as f32);
            x[i] * (1.0 - f) + x.get(i + 1).copied().unwrap_or(0.0) * f
        })
        .collect()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

const LINES: [(&str, &str); 8] = [
    ("en", "I told you not to come back here, not after what happened at the station."),
    ("ko", "그때 왜 아무 말도 하지 않았어요? 나는 계속 기다렸는데."),
    ("en", "You think I wanted to leave? I had no choice, and you know that."),
    ("ko", "이제 와서 그런 말을 하면 무슨 소용이 있어요."),
    ("en", "Listen to me, just this once. The letter was never meant for you."),
    ("ko", "그 편지를 아직도 가지고 있어요. 한 번도 버리지 못했어요."),
    ("en", "Then why are you still standing here in the rain with me?"),
    ("ko", "모르겠어요. 정말 모르겠어요."),
];

/// A cue at broadcast levels: a fixture track 20 dB under real text-to-speech (espeak-ng,
/// English and Korean) for most of its length, in an episode where the same dialogue also runs
/// without music, is found with its boundaries within 2 s, and the dialogue alone makes no cue.
#[test]
fn a_track_twenty_db_under_dialogue_is_found_with_its_boundaries() {
    let (track, sr) = read_wav(&fixture("score/01-cold-winter.wav"));
    let dir = tempfile::tempdir().expect("tempdir");
    let total = 80 * sr as usize;
    // Dialogue from 3 s to the end, lines 0.4-1.2 s apart: about four fifths of any stretch
    // is speech. Each line at -26 dBFS RMS, a broadcast dialogue level.
    let mut speech = vec![0f32; total];
    let mut talking = vec![false; total];
    let (mut at, mut k) = (3 * sr as usize, 0);
    let pauses = [0.4, 1.2, 0.6, 0.9, 0.5];
    while at < total {
        let (voice, text) = LINES[k % LINES.len()];
        let line = speak(dir.path(), voice, text, sr);
        let gain = 0.05 / rms(&line).max(1e-6);
        for (i, v) in line.iter().enumerate().take(total - at) {
            speech[at + i] += v * gain;
            talking[at + i] = v.abs() > 1e-3;
        }
        at += line.len() + (pauses[k % pauses.len()] * f64::from(sr)) as usize;
        k += 1;
    }
    // 24 s of the track, from 0:04, at 0:25 with 0.5 s fades, 20 dB under the speech's RMS.
    let (from, start, len) = (4 * sr as usize, 25 * sr as usize, 24 * sr as usize);
    let excerpt = &track[from..from + len];
    let gain = 0.05 * 0.1 / rms(excerpt).max(1e-6);
    let fade = sr as f32 * 0.5;
    let mut episode = speech;
    for (i, v) in excerpt.iter().enumerate() {
        let env = (i as f32 / fade).min((len - i) as f32 / fade).min(1.0);
        episode[start + i] += v * gain * env;
    }
    // Room noise at about -50 dBFS; a fixed LCG, so the test is the same every run.
    let mut state = 2024u32;
    for v in &mut episode {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v += ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.011;
    }
    let under = talking[start..start + len].iter().filter(|&&t| t).count() as f64 / len as f64;
    assert!(under > 0.6, "speech covers {under:.2} of the cue");
    let ep_path = dir.path().join("ep01.wav");
    let doc = cues_of(&ep_path, &episode, sr);
    let tracks = doc["tracks"].as_array().expect("tracks");
    let cues = doc["episodes"][0]["cues"].as_array().expect("cues");
    let name = |c: &serde_json::Value| {
        tracks[c["track"].as_u64().unwrap_or(0) as usize]["path"].as_str().unwrap_or("").to_owned()
    };
    let (s, e) = (25.0, 49.0);
    let hit = cues
        .iter()
        .find(|c| name(c).ends_with("01-cold-winter.wav"))
        .unwrap_or_else(|| panic!("the track under dialogue is found: {cues:?}"));
    let (start_s, end_s) = (hit["start_s"].as_f64().expect("start"), hit["end_s"].as_f64().expect("end"));
    assert!((start_s - s).abs() <= 2.0 && (end_s - e).abs() <= 2.0, "cue {start_s}-{end_s}, played {s}-{e}");
    assert_eq!(hit["match"], "exact");
    // Dialogue alone, before and after the music, makes no cue.
    for c in cues {
        let (a, b) = (c["start_s"].as_f64().unwrap_or(0.0), c["end_s"].as_f64().unwrap_or(0.0));
        assert!(a < e && b > s, "a cue where only dialogue plays: {} {a}-{b}", name(c));
    }
}
