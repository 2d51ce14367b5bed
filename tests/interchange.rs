//! Motifs for other tools through the binary: Audacity label tracks (`--labels`), JAMS documents
//! (`--jams`) that follow the `pattern_jku` namespace, one per audio file with an occurrence,
//! and chromagram images (`chroma --png`).

use std::path::Path;

use assert_cmd::Command;
use leitmotif::report::Report;

fn leitmotif() -> Command {
    Command::cargo_bin("leitmotif").expect("the binary is built")
}

fn score() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/score")
}

#[test]
fn labels_and_jams_match_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels = dir.path().join("labels");
    let jams = dir.path().join("jams");
    let json = dir.path().join("report.json");
    leitmotif()
        .arg("analyze")
        .arg(score())
        .arg("--labels")
        .arg(&labels)
        .arg("--jams")
        .arg(&jams)
        .arg("--json")
        .arg(&json)
        .arg("--no-cache")
        .assert()
        .success();
    let report: Report = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("report");
    assert!(!report.motifs.is_empty());

    // A label track and a JAMS document per audio file with an occurrence (the fixture's names
    // are all different); every occurrence is one line and one observation on its track's files.
    let mut lines_total = 0;
    let mut observations = 0;
    for (t, track) in report.tracks.iter().enumerate() {
        let stem = Path::new(track.base_name()).file_stem().expect("stem").to_string_lossy().into_owned();
        let on_track = report.motifs.iter().flat_map(|m| &m.occurrences).filter(|o| o.track == t).count();
        let label_file = labels.join(format!("{stem}.labels.txt"));
        let jams_file = jams.join(format!("{stem}.jams"));
        if on_track == 0 {
            assert!(!label_file.exists() && !jams_file.exists(), "files for {stem}, which has no occurrence");
            continue;
        }
        let text = std::fs::read_to_string(&label_file).expect("label file");
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line:?}");
            let (start, end): (f64, f64) = (fields[0].parse().expect("start"), fields[1].parse().expect("end"));
            let label = fields[2];
            let found = report.motifs.iter().any(|m| {
                m.occurrences.iter().any(|o| {
                    o.track == t
                        && (o.start_s - start).abs() < 1e-6
                        && (o.end_s - end).abs() < 1e-6
                        && label == format!("motif {} ({:+}, x{:.2})", m.id + 1, o.transpose, o.tempo_ratio)
                })
            });
            assert!(found, "{line:?} is no occurrence of track {t}");
            lines_total += 1;
        }

        // JAMS: the required structure, this track's duration, and the pattern_jku value fields.
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&jams_file).expect("jams")).expect("json");
        assert_eq!(doc["file_metadata"]["duration"].as_f64(), Some(track.duration_s));
        assert_eq!(doc["sandbox"]["leitmotif"]["path"], track.path);
        let anns = doc["annotations"].as_array().expect("annotations");
        assert_eq!(anns.len(), 1);
        assert_eq!(anns[0]["namespace"], "pattern_jku");
        for obs in anns[0]["data"].as_array().expect("data") {
            for key in ["pattern_id", "occurrence_id", "midi_pitch", "morph_pitch", "staff"] {
                assert!(obs["value"][key].is_number(), "{key} in {obs}");
            }
            let m = &report.motifs[obs["value"]["pattern_id"].as_u64().expect("id") as usize - 1];
            let o = &m.occurrences[obs["value"]["occurrence_id"].as_u64().expect("id") as usize - 1];
            assert_eq!(o.track, t);
            assert!((obs["time"].as_f64().expect("time") - o.start_s).abs() < 5e-4);
            assert_eq!(obs["value"]["midi_pitch"].as_i64(), Some(60 + i64::from(o.transpose)));
            observations += 1;
        }
    }
    assert_eq!(lines_total, report.motifs.iter().map(|m| m.occurrences.len()).sum::<usize>());
    assert_eq!(observations, lines_total);
}

#[test]
fn chroma_writes_data_and_image_from_one_decoding_and_then_reads_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let run = || {
        let out = leitmotif()
            .arg("chroma")
            .arg(score())
            .args(["--timings", "--out"])
            .arg(dir.path().join("data"))
            .arg("--png")
            .arg(dir.path().join("png"))
            .arg("--cache")
            .arg(&cache)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let first = run();
    // One line per file naming both outputs, and one timing line per file: decoded once.
    let outputs: Vec<&str> = first.lines().filter(|l| l.contains(" frames -> ")).collect();
    assert_eq!(outputs.len(), 5, "{first}");
    assert!(outputs.iter().all(|l| l.contains(".chroma.json") && l.contains(".chroma.png")), "{first}");
    assert_eq!(first.lines().filter(|l| l.trim_start().starts_with("open ")).count(), 5, "{first}");
    // The second run reads every file's features from the cache: nothing is decoded.
    let second = run();
    let decodes: Vec<&str> = second.lines().filter(|l| l.trim_start().starts_with("open ")).collect();
    assert_eq!(decodes.len(), 5, "{second}");
    assert!(decodes.iter().all(|l| l.contains("decode 0.000 s")), "{second}");
}

#[test]
fn chroma_png_writes_one_image_per_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pngs = dir.path().join("png");
    let out = leitmotif()
        .arg("chroma")
        .arg(score().join("01-cold-winter.wav"))
        .arg(score().join("03-hidden-letter.mp3"))
        .arg("--png")
        .arg(&pngs)
        .arg("--no-cache")
        .current_dir(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("01-cold-winter.chroma.png"), "{stdout}");
    for name in ["01-cold-winter.chroma.png", "03-hidden-letter.chroma.png"] {
        let bytes = std::fs::read(pngs.join(name)).expect("image written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: a figure, not a strip of pixels: twelve rows of 12 pixels with a time axis
        // below, at least 600 pixels of plot across, RGB.
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        assert!(height >= 12 * 12 + 10, "{height}");
        assert!(width >= 600, "{width}");
        assert_eq!(bytes[25], 2, "colour type RGB");
    }
    // With only --png, no chroma data files land in the working folder.
    let stray: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().filter(|e| e.path() != pngs).collect();
    assert!(stray.is_empty(), "{stray:?}");
}
