//! The feature cache: a second run reads features instead of decoding, a damaged entry is
//! detected and rebuilt, another extraction parameter misses, entries carry the stream facts,
//! and two runs at once both succeed. Every run uses a temporary cache folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use leitmotif::cache::FeatureCache;
use leitmotif::features::FeatureConfig;
use leitmotif::pipeline::load_track;
use leitmotif::progress::Hooks;

const RATE: u32 = 22_050;

/// Writes a mono 16-bit WAV of `notes` (MIDI numbers), each `note_s` long.
fn write_melody(path: &Path, notes: &[i32], note_s: f32) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let per = (note_s * RATE as f32) as usize;
    for &n in notes {
        let f = 440.0 * 2f32.powf((n - 69) as f32 / 12.0);
        for i in 0..per {
            let t = i as f32 / RATE as f32;
            let env = (i.min(per - 1 - i) as f32 / 200.0).min(1.0);
            let v: f32 = (1..=3).map(|h| (std::f32::consts::TAU * f * h as f32 * t).sin() / h as f32).sum();
            w.write_sample((v * 0.25 * env * f32::from(i16::MAX)) as i16).expect("sample");
        }
    }
    w.finalize().expect("finalise");
}

/// Three tracks sharing a theme among different filler.
fn write_tracks(dir: &Path) -> Vec<PathBuf> {
    let theme = [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60];
    (0..3)
        .map(|k| {
            let filler = |s: i32| (0..8).map(move |j| 55 + (j * 7 + s * 3) % 13);
            let notes: Vec<i32> = filler(k).chain(theme.iter().map(|n| n + k)).chain(filler(k + 5)).collect();
            let path = dir.join(format!("t{k}.wav"));
            write_melody(&path, &notes, 0.3);
            path
        })
        .collect()
}

/// A temporary folder holding the three tracks of [`write_tracks`] in `music/`, and the path of
/// a cache beside them (not made yet); the folder lasts as long as the first value.
fn music_and_cache() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("music");
    std::fs::create_dir(&music).expect("mkdir");
    write_tracks(&music);
    let cache = dir.path().join("cache");
    (dir, music, cache)
}

/// The binary with `args` and its cache in `cache`, reporting what the cache did.
fn leitmotif(args: &[&str], cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("leitmotif").expect("binary");
    cmd.args(args).args(["--json", "-", "--verbose", "--cache"]).arg(cache);
    cmd
}

/// Runs `cmd`, which must succeed, and returns (stdout JSON, stderr).
fn json_of(cmd: &mut Command) -> (serde_json::Value, String) {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = serde_json::from_slice(&out.stdout).expect("a JSON document");
    (json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs `analyze` on `music` with the cache in `cache` and returns (stdout JSON, stderr).
fn analyze(music: &Path, cache: &Path, threshold: &str) -> (serde_json::Value, String) {
    json_of(leitmotif(&["analyze", "--threshold", threshold], cache).arg(music))
}

/// The cache's files with extension `ext` (`lmf` features, `lmm` pair matching).
fn files_with(cache: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(cache).into_iter().flatten() {
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == ext) {
            found.push(entry.into_path());
        }
    }
    found.sort();
    found
}

/// The cache's feature entries.
fn entries(cache: &Path) -> Vec<PathBuf> {
    files_with(cache, "lmf")
}

/// `analyze` of `music` without a cache, at `threshold`: the reference for cached runs.
fn analyze_uncached(music: &Path, threshold: &str) -> serde_json::Value {
    let out = Command::cargo_bin("leitmotif")
        .expect("binary")
        .arg("analyze")
        .arg(music)
        .args(["--json", "-", "--no-cache", "--threshold", threshold])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON document")
}

#[test]
fn second_run_with_another_threshold_decodes_nothing() {
    let (_dir, music, cache) = music_and_cache();
    let (first, err1) = analyze(&music, &cache, "0.5");
    assert!(err1.contains("0 hits, 3 misses"), "{err1}");
    assert!(err1.contains("3 stored"), "{err1}");
    assert_eq!(entries(&cache).len(), 3);
    let (second, err2) = analyze(&music, &cache, "0.6");
    assert!(err2.contains("3 hits, 0 misses"), "{err2}");
    // Same features, so the tracks (with their tags and durations) are listed identically.
    assert_eq!(first["tracks"], second["tracks"]);
    let (again, _) = analyze(&music, &cache, "0.5");
    assert_eq!(first["motifs"], again["motifs"], "a cached run finds exactly what a decoding run found");
}

#[test]
fn pair_matching_is_reused_across_thresholds_with_the_same_motifs() {
    let (_dir, music, cache) = music_and_cache();
    // Three tracks: three pairs and three tracks against themselves.
    let (first, err) = analyze(&music, &cache, "0.4");
    assert!(err.contains("0 of 6 pairs reused, 0 traced again from stored seeds, 6 computed"), "{err}");
    assert_eq!(files_with(&cache, "lmm").len(), 6);
    assert!(!first["motifs"].as_array().expect("motifs").is_empty());
    let (same, err) = analyze(&music, &cache, "0.4");
    assert!(err.contains("6 of 6 pairs reused"), "{err}");
    assert_eq!(same["motifs"], first["motifs"]);
    // A stricter threshold traces the stored seeds; what it finds is what a fresh run finds.
    let (stricter, err) = analyze(&music, &cache, "0.55");
    assert!(err.contains("6 traced again from stored seeds"), "{err}");
    assert_eq!(stricter["motifs"], analyze_uncached(&music, "0.55")["motifs"]);
    // A looser one cannot use seeds found at 0.4: it matches afresh.
    let (looser, err) = analyze(&music, &cache, "0.3");
    assert!(err.contains("6 computed"), "{err}");
    assert_eq!(looser["motifs"], analyze_uncached(&music, "0.3")["motifs"]);
    // A pair entry cut short, another altered: both refused and rebuilt, with the same result.
    let pairs = files_with(&cache, "lmm");
    let bytes = std::fs::read(&pairs[0]).expect("read entry");
    std::fs::write(&pairs[0], &bytes[..bytes.len() / 2]).expect("truncate");
    let mut flipped = std::fs::read(&pairs[1]).expect("read entry");
    let at = flipped.len() / 2;
    flipped[at] ^= 0x08;
    std::fs::write(&pairs[1], &flipped).expect("corrupt");
    let (rebuilt, err) = analyze(&music, &cache, "0.3");
    assert!(err.contains("4 of 6 pairs reused") && err.contains("2 damaged entries rebuilt"), "{err}");
    assert_eq!(rebuilt["motifs"], looser["motifs"]);
}

#[test]
fn motifs_whole_searches_are_kept_and_damaged_ones_searched_again() {
    let (_dir, music, cache) = music_and_cache();
    let (first, _) = analyze(&music, &cache, "0.4");
    let searches = files_with(&cache, "lms");
    assert!(!first["motifs"].as_array().expect("motifs").is_empty());
    assert!(!searches.is_empty(), "each motif's whole search is kept");
    // Every search cut short: refused and made again (stored whole again), with the same motifs.
    let whole: Vec<u64> = searches.iter().map(|p| std::fs::metadata(p).expect("entry").len()).collect();
    for path in &searches {
        let bytes = std::fs::read(path).expect("read entry");
        std::fs::write(path, &bytes[..bytes.len() / 2]).expect("truncate");
    }
    let (again, _) = analyze(&music, &cache, "0.4");
    let rewritten: Vec<u64> = searches.iter().map(|p| std::fs::metadata(p).expect("entry").len()).collect();
    assert_eq!(rewritten, whole);
    assert_eq!(again["motifs"], first["motifs"]);
    assert_eq!(again["motifs"], analyze_uncached(&music, "0.4")["motifs"]);
    // Read back whole, at a stricter threshold, they give what a fresh run gives.
    let (stricter, _) = analyze(&music, &cache, "0.55");
    assert_eq!(stricter["motifs"], analyze_uncached(&music, "0.55")["motifs"]);
}

#[test]
fn truncated_or_corrupt_entries_are_rebuilt() {
    let (_dir, music, cache) = music_and_cache();
    let (first, _) = analyze(&music, &cache, "0.5");
    let files = entries(&cache);
    assert_eq!(files.len(), 3);
    // One entry cut short, as a crash in the middle of a write would leave it without the
    // rename; another with one byte of its features flipped.
    let bytes = std::fs::read(&files[0]).expect("read entry");
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).expect("truncate");
    let mut flipped = std::fs::read(&files[1]).expect("read entry");
    let at = flipped.len() - 7;
    flipped[at] ^= 0x40;
    std::fs::write(&files[1], &flipped).expect("corrupt");
    let (second, err) = analyze(&music, &cache, "0.5");
    assert!(err.contains("1 hit, 2 misses (2 damaged entries rebuilt), 2 stored"), "{err}");
    assert_eq!(first["motifs"], second["motifs"]);
    let (_, err) = analyze(&music, &cache, "0.5");
    assert!(err.contains("3 hits, 0 misses"), "rebuilt entries are sound: {err}");
}

#[test]
fn another_extraction_parameter_misses_and_a_hit_needs_no_decoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_tracks(dir.path()).remove(0);
    let cache = Arc::new(FeatureCache::new(dir.path().join("cache")));
    let hooks = Hooks { cache: Some(Arc::clone(&cache)), ..Hooks::default() };
    let decodes = AtomicUsize::new(0);
    let counting = |p: &Path, cfg: &FeatureConfig| {
        decodes.fetch_add(1, Ordering::SeqCst);
        load_track(p, cfg)
    };
    let cfg = FeatureConfig::default();
    let decoded = hooks.load(&path, &cfg, counting).expect("decodes");
    let cached = hooks.load(&path, &cfg, counting).expect("from the cache");
    assert_eq!(decodes.load(Ordering::SeqCst), 1, "the second load decodes nothing");
    assert_eq!(cached.info, decoded.info, "stream facts and tags come from the entry");
    assert_eq!(cached.features, decoded.features);
    assert_eq!(cached.duration_s, decoded.duration_s);
    assert_eq!(cached.path, path);

    let finer = FeatureConfig { hop_s: 0.05, ..FeatureConfig::default() };
    let other = hooks.load(&path, &finer, counting).expect("decodes again");
    assert_eq!(decodes.load(Ordering::SeqCst), 2, "another hop is another entry");
    assert!(other.features.chroma.len() > decoded.features.chroma.len());
    let s = cache.stats();
    assert_eq!((s.hits, s.misses, s.stored, s.bad), (1, 2, 2, 0));

    // Changed content under the same name is a new key, never the old features.
    write_melody(&path, &[50, 52, 54, 55, 57, 59, 61, 62], 0.3);
    let changed = hooks.load(&path, &cfg, counting).expect("decodes the new content");
    assert_eq!(decodes.load(Ordering::SeqCst), 3);
    assert_ne!(changed.features.chroma, decoded.features.chroma);
}

#[test]
fn two_runs_at_once_share_a_cache() {
    let (_dir, music, cache) = music_and_cache();
    let bin = assert_cmd::cargo::cargo_bin("leitmotif");
    let spawn = || {
        std::process::Command::new(&bin)
            .arg("analyze")
            .arg(&music)
            .args(["--json", "-", "--cache"])
            .arg(&cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawns")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().expect("runs"), b.wait_with_output().expect("runs"));
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let ja: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    let jb: serde_json::Value = serde_json::from_slice(&b.stdout).expect("json");
    assert_eq!(ja["motifs"], jb["motifs"]);
    // Only whole entries remain (no temporary files), and all of them are sound.
    assert_eq!(entries(&cache).len(), 3, "{:?}", entries(&cache));
    let (_, err) = analyze(&music, &cache, "0.5");
    assert!(err.contains("3 hits, 0 misses"), "{err}");
}

#[test]
fn no_cache_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("music");
    std::fs::create_dir(&music).expect("mkdir");
    write_tracks(&music);
    let home = dir.path().join("home-cache");
    let out = Command::cargo_bin("leitmotif")
        .expect("binary")
        .arg("analyze")
        .arg(&music)
        .args(["--no-cache", "--verbose", "--quiet"])
        .env("XDG_CACHE_HOME", &home)
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("feature cache off"));
    assert!(!home.exists(), "nothing written with --no-cache");
    // Without --cache the default folder follows XDG_CACHE_HOME.
    Command::cargo_bin("leitmotif")
        .expect("binary")
        .arg("analyze")
        .arg(&music)
        .arg("--quiet")
        .env("XDG_CACHE_HOME", &home)
        .assert()
        .success();
    assert_eq!(entries(&home.join("leitmotif")).len(), 3);
}

/// `cues` of `episode` against the tracks in `music`, with the cache in `cache`: (stdout
/// JSON, stderr).
fn cues(music: &Path, episode: &Path, cache: &Path) -> (serde_json::Value, String) {
    json_of(leitmotif(&["cues"], cache).arg("--tracks").arg(music).arg("--").arg(episode))
}

/// The index is made three ways: of landmarks kept while the tracks load (no cache), of the
/// tracks' features read again from the cache (first cached run), or read from the cache; the
/// cue sheets must not tell them apart.
#[test]
fn the_landmark_index_of_the_tracks_is_kept_and_a_damaged_one_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let music = dir.path().join("music");
    std::fs::create_dir(&music).expect("mkdir");
    let tracks = write_tracks(&music);
    let episode = dir.path().join("episode.wav");
    std::fs::copy(&tracks[1], &episode).expect("copy");
    let cache = dir.path().join("cache");
    let (first, err1) = cues(&music, &episode, &cache);
    assert!(err1.contains("landmark index of the tracks: built and stored"), "{err1}");
    let stored = files_with(&cache, "lmi");
    assert_eq!(stored.len(), 1, "one index for one set of tracks");
    let (second, err2) = cues(&music, &episode, &cache);
    assert!(err2.contains("landmark index of the tracks: reused"), "{err2}");
    assert_eq!(first["episodes"], second["episodes"], "the stored index finds what a built one found");
    let bytes = std::fs::read(&stored[0]).expect("read");
    std::fs::write(&stored[0], &bytes[..bytes.len() / 2]).expect("truncate");
    let (third, err3) = cues(&music, &episode, &cache);
    assert!(err3.contains("landmark index of the tracks: built and stored"), "{err3}");
    assert_eq!(first["episodes"], third["episodes"]);
    let mut uncached = Command::cargo_bin("leitmotif").expect("binary");
    uncached.args(["cues", "--no-cache", "--json", "-", "--tracks"]).arg(&music).arg("--").arg(&episode);
    let (fourth, _) = json_of(&mut uncached);
    assert_eq!(first["episodes"], fourth["episodes"], "an index built while loading finds the same");
    assert!(!first["episodes"][0]["cues"].as_array().is_none_or(Vec::is_empty), "the episode's track is found");
}
