//! Fuzz target: arbitrary bytes through probing, decoding and feature extraction (STFT, tuning,
//! chroma and melody), as `leitmotif analyze` runs them on one file.
//!
//! The first byte picks the extension hint, so every container reader gets a turn at being tried
//! first; the rest is the file. Anything but a typed error or features is a finding: a panic
//! outside the decoder's guards aborts, a hang trips libFuzzer's `-timeout`, and a runaway
//! allocation trips `-rss_limit_mb` / `-malloc_limit_mb`.
#![no_main]

use std::path::PathBuf;
use std::sync::Once;

use leitmotif::decode::{AudioStream, panic_is_guarded};
use leitmotif::features::{self, FeatureConfig};
use libfuzzer_sys::fuzz_target;

/// Extension hints; the empty one leaves the probe to the content alone.
const HINTS: &[&str] = &["wav", "mp3", "flac", "ogg", "m4a", "mkv", "aac", "caf", "aiff", "mp2", "webm", ""];

/// Keeps libFuzzer's abort-on-panic hook for panics that would reach the user, and lets through
/// the ones the decoder catches (they become `Error::Corrupt`, as in the binary). With
/// `LM_FUZZ_SHOW_CAUGHT` set, each caught panic is printed, to list symphonia's panics.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let abort_hook = std::panic::take_hook();
        let show = std::env::var_os("LM_FUZZ_SHOW_CAUGHT").is_some();
        std::panic::set_hook(Box::new(move |info| {
            if panic_is_guarded() {
                if show {
                    eprintln!("caught in decoder: {info}");
                }
                return;
            }
            abort_hook(info);
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    install_hook();
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let ext = HINTS[usize::from(pick) % HINTS.len()];
    let name = PathBuf::from(format!("fuzz.{ext}"));
    let Ok(mut stream) = AudioStream::from_bytes(&name, file.to_vec()) else {
        return;
    };
    if let Ok(f) = features::extract(&mut stream, &FeatureConfig::default()) {
        // What the pipeline relies on: finite, normalised frames, one per hop.
        assert!(f.chroma.len() == f.melody.len() && f.chroma.len() == f.energy_db.len());
        for frame in f.chroma.iter().chain(&f.melody) {
            assert!(frame.iter().all(|v| v.is_finite() && (0.0..=1.0 + 1e-4).contains(v)), "{frame:?}");
        }
        assert!(f.energy_db.iter().all(|e| e.is_finite()));
    }
});
