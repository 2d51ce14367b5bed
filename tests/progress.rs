//! What a run reports to its progress display: stages in order, decoding in bytes of input
//! advanced as each file's audio is decoded (so one long file does not sit at 0 of 1), and every
//! pair of tracks matched, so a bar can show pairs done of pairs total with the time left.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use leitmotif::pipeline::{self, AnalyzeConfig};
use leitmotif::progress::{Hooks, Progress};

/// One stage as reported: its name, its total, the items advanced, the units ticked and the
/// number of ticks.
type Stage = (String, Option<u64>, u64, u64, u64);

/// Records every report.
#[derive(Default)]
struct Recorder {
    stages: Mutex<Vec<Stage>>,
}

impl Progress for Recorder {
    fn begin(&self, stage: &str, total: Option<u64>) {
        self.stages.lock().expect("lock").push((stage.to_owned(), total, 0, 0, 0));
    }

    fn advance(&self, _item: &Path) {
        if let Some(s) = self.stages.lock().expect("lock").last_mut() {
            s.2 += 1;
        }
    }

    fn tick(&self, n: u64) {
        if let Some(s) = self.stages.lock().expect("lock").last_mut() {
            s.3 += n;
            s.4 += 1;
        }
    }

    fn end(&self) {}
}

#[test]
fn analyze_reports_every_file_and_every_pair() {
    let score = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/score");
    let recorder = Arc::new(Recorder::default());
    let progress: Arc<dyn Progress> = recorder.clone();
    let cfg = AnalyzeConfig {
        inputs: vec![score],
        hooks: Hooks { cache: None, progress: Some(progress) },
        ..AnalyzeConfig::default()
    };
    let (report, _) = pipeline::analyze(&cfg).expect("analyses");
    let n = report.tracks.len() as u64;
    let (files, _) = pipeline::expand_inputs(&cfg.inputs);
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).expect("size").len()).sum();
    let stages = recorder.stages.lock().expect("lock").clone();
    assert_eq!(stages.len(), 2, "{stages:?}");
    let (name, total, items, ticked, ticks) = stages[0].clone();
    assert_eq!((name.as_str(), total, items, ticked), ("decoding", Some(bytes), n, bytes));
    // Each file's bytes arrive in steps as its audio decodes, not in one piece at its end.
    assert!(ticks > 3 * n, "{ticks} ticks for {n} files");
    let pairs = n * (n + 1) / 2;
    assert_eq!(stages[1], ("matching".to_owned(), Some(pairs), 0, pairs, pairs));
}
