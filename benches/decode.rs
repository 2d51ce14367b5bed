//! Benchmarks of decoding, alone and with chroma extraction, per minute of audio and per format.
//!
//! A minute of synthetic stereo music (a chord sequence with a melody) is written to a temporary
//! folder as 44.1 kHz 16-bit WAV with `hound`; when the `flac` and `ffmpeg` encoders are on the
//! PATH it is also encoded as FLAC, MP3, Ogg Vorbis and AAC (.m4a), so the ratio between formats
//! and between decoding and feature extraction is measured on the same audio. Formats whose
//! encoder is missing are skipped with a note.
//!
//! Ids: `decode/<fmt>_60s` (open and decode every packet to mono, nothing else) and
//! `chroma/<fmt>_60s` (what `leitmotif chroma` does per file: decode plus features).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};
use leitmotif::decode::AudioStream;
use leitmotif::features::FeatureConfig;
use leitmotif::pipeline::load_track;
use leitmotif::source::SampleSource;

const SR: u32 = 44_100;
const SECONDS: f64 = 60.0;

/// A deterministic stand-in for music, stereo: chords on the left-heavy side, a melody on the
/// right, so the two channels differ and a codec cannot fold them into one.
fn synthetic_stereo(seconds: f64) -> Vec<[f32; 2]> {
    let n = (seconds * f64::from(SR)) as usize;
    let chords =
        [[48.0, 60.0, 64.0, 67.0], [45.0, 57.0, 60.0, 64.0], [41.0, 57.0, 60.0, 65.0], [43.0, 59.0, 62.0, 67.0]];
    let tune = [76.0, 74.0, 72.0, 74.0, 76.0, 76.0, 76.0, 79.0, 74.0, 74.0, 76.0, 74.0, 72.0];
    let hz = |m: f64| 440.0 * ((m - 69.0) / 12.0f64).exp2();
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            let chord = chords[(t / 2.0) as usize % chords.len()];
            let pad: f64 = chord.iter().map(|&m| 0.08 * (std::f64::consts::TAU * hz(m) * t).sin()).sum();
            // Notes of 0.4 s with a decaying envelope, so there are onsets for the codecs to code.
            let note_t = t % 0.4;
            let lead = 0.25
                * (-note_t * 4.0).exp()
                * (std::f64::consts::TAU * hz(tune[(t / 0.4) as usize % tune.len()]) * t).sin();
            [(0.8 * pad + 0.3 * lead) as f32, (0.4 * pad + 0.8 * lead) as f32]
        })
        .collect()
}

fn write_wav(path: &Path, frames: &[[f32; 2]]) -> Result<(), hound::Error> {
    let spec =
        hound::WavSpec { channels: 2, sample_rate: SR, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec)?;
    for f in frames {
        for &s in f {
            w.write_sample((s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)?;
        }
    }
    w.finalize()
}

/// Runs an encoder; `false` (with a note) when it is missing or fails.
fn encode(program: &str, args: &[&str], out: &Path) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !out.is_file() {
        eprintln!("note: {program} could not write {}; skipping that format", out.display());
        return false;
    }
    true
}

/// The minute of audio in every format that can be written here, as (format, path).
fn fixtures(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let wav = dir.join("bench.wav");
    if let Err(e) = write_wav(&wav, &synthetic_stereo(SECONDS)) {
        eprintln!("note: cannot write {}: {e}", wav.display());
        return Vec::new();
    }
    let mut out = vec![("wav", wav.clone())];
    let w = wav.to_string_lossy().into_owned();
    let flac = dir.join("bench.flac");
    let flac_s = flac.to_string_lossy().into_owned();
    if encode("flac", &["--silent", "-5", "-f", "-o", &flac_s, &w], &flac) {
        out.push(("flac", flac));
    }
    // Typical settings for distributed soundtracks: 192 kbit/s MP3 and AAC, Vorbis q5.
    for (fmt, codec_args) in [
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"][..]),
        ("ogg", &["-c:a", "libvorbis", "-q:a", "5"][..]),
        ("m4a", &["-c:a", "aac", "-b:a", "192k"][..]),
    ] {
        let path = dir.join(format!("bench.{fmt}"));
        let p = path.to_string_lossy().into_owned();
        let mut args = vec!["-nostdin", "-y", "-loglevel", "error", "-i", &w];
        args.extend_from_slice(codec_args);
        args.push(&p);
        if encode("ffmpeg", &args, &path) {
            out.push((fmt, path));
        }
    }
    out
}

/// Decodes every packet of `path` to mono and returns the number of samples, so the work is used.
fn decode_only(path: &Path) -> usize {
    let Ok(mut stream) = AudioStream::open(path) else { return 0 };
    let mut n = 0;
    while let Ok(Some(block)) = stream.next_block() {
        n += block.len();
    }
    n
}

fn bench_decode(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("note: no temporary folder; decode benchmarks skipped");
        return;
    };
    let mut files = fixtures(dir.path());
    let expected = (SECONDS * f64::from(SR)) as usize;
    // A file that decodes to far less than a minute would make its figure meaningless.
    files.retain(|(fmt, path)| {
        let n = decode_only(path);
        let ok = n >= expected * 9 / 10;
        if !ok {
            eprintln!("note: {fmt} decoded to {n} samples, expected about {expected}; skipped");
        }
        ok
    });
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for (fmt, path) in &files {
        group.bench_function(format!("{fmt}_60s"), |b| b.iter(|| decode_only(path)));
    }
    group.finish();

    let cfg = FeatureConfig::default();
    let mut group = c.benchmark_group("chroma");
    group.sample_size(10);
    for (fmt, path) in &files {
        group.bench_function(format!("{fmt}_60s"), |b| {
            b.iter(|| load_track(path, &cfg).map(|t| t.features.chroma.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
