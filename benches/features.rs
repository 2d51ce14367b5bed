//! Benchmarks of feature extraction: one STFT frame, one pitch mapping, a minute of audio, CENS.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use leitmotif::features::chroma::{CensConfig, MelodyConfig, OctaveWeight, PitchMapper, cens};
use leitmotif::features::decimate::Decimator;
use leitmotif::features::stft::{FrameGeometry, PowerStft};
use leitmotif::features::{FeatureConfig, extract};
use leitmotif::source::MemorySource;

const SR: u32 = 44_100;

/// A deterministic stand-in for music: a chord progression with a melody on top.
fn synthetic(seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(SR)) as usize;
    let chords =
        [[48.0, 60.0, 64.0, 67.0], [45.0, 57.0, 60.0, 64.0], [41.0, 57.0, 60.0, 65.0], [43.0, 59.0, 62.0, 67.0]];
    let tune = [76.0, 74.0, 72.0, 74.0, 76.0, 76.0, 76.0, 79.0];
    let hz = |m: f64| 440.0 * ((m - 69.0) / 12.0f64).exp2();
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            let chord = chords[(t / 2.0) as usize % chords.len()];
            let mut v: f64 = chord.iter().map(|&m| 0.1 * (std::f64::consts::TAU * hz(m) * t).sin()).sum();
            v += 0.2 * (std::f64::consts::TAU * hz(tune[(t * 2.0) as usize % tune.len()]) * t).sin();
            v as f32
        })
        .collect()
}

fn bench_stft(c: &mut Criterion) {
    for n in [2160usize, 4096, 8192, 8640, 16384] {
        let Ok(geometry) = FrameGeometry::new(SR, n as f64 / f64::from(SR), 0.1) else { return };
        let stft = PowerStft::new(geometry);
        let mut scratch = stft.scratch();
        let frame = synthetic(n as f64 / f64::from(SR) + 0.01);
        let frame = &frame[..geometry.n_win()];
        let mut power = vec![0.0f32; geometry.n_bins()];
        c.bench_function(&format!("stft/{n}"), |b| b.iter(|| stft.power(frame, &mut scratch, &mut power)));
    }
}

fn bench_mapping(c: &mut Criterion) {
    let Ok(geometry) = FrameGeometry::new(SR, 0.186, 0.1) else { return };
    let stft = PowerStft::new(geometry);
    let mapper = PitchMapper::new(&geometry, (24, 108), Some(OctaveWeight::default()), &MelodyConfig::default(), 0.0);
    let x = synthetic(1.0);
    let mut power = vec![0.0f32; geometry.n_bins()];
    if stft.power(&x[..geometry.n_win()], &mut stft.scratch(), &mut power).is_err() {
        return;
    }
    let mut scratch = mapper.scratch();
    c.bench_function("map/44k", |b| b.iter(|| mapper.map(&power, &mut scratch)));
}

fn bench_extract(c: &mut Criterion) {
    let x = synthetic(60.0);
    let cfg = FeatureConfig::default();
    let mut group = c.benchmark_group("extract");
    group.sample_size(10);
    group.bench_function("60s_44k", |b| {
        b.iter_batched(
            || MemorySource::new(x.clone(), SR),
            |mut source| extract(&mut source, &cfg),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_decimate(c: &mut Criterion) {
    // A minute at 44.1 kHz down to 11.025 kHz for the 4.57 kHz band the default features read,
    // in blocks the size MP3 frames decode to.
    let x = synthetic(60.0);
    let mut decimator = Decimator::new(SR, 4_570.0);
    c.bench_function("decimate/60s_44k", |b| {
        b.iter(|| {
            let mut n = 0;
            for block in x.chunks(1152) {
                n += decimator.push(block).len();
            }
            n + decimator.finish().len()
        })
    });
}

fn bench_cens(c: &mut Criterion) {
    // Ten minutes of 10 Hz chroma.
    let frames: Vec<[f32; 12]> =
        (0..6000).map(|k| std::array::from_fn(|pc| ((k * 7 + pc * 5) % 12) as f32 / 11.0)).collect();
    let cfg = CensConfig::default();
    c.bench_function("cens/6000", |b| b.iter(|| cens(&frames, &cfg)));
}

criterion_group!(benches, bench_stft, bench_mapping, bench_extract, bench_decimate, bench_cens);
criterion_main!(benches);
