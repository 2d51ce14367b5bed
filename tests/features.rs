//! Feature extraction on synthesised signals with known answers, and agreement with librosa.

use std::f64::consts::TAU;
use std::path::Path;

use leitmotif::features::chroma::midi_hz;
use leitmotif::features::{FeatureConfig, Features, Tuning, extract, extract_timed};
use leitmotif::source::{MemorySource, SampleSource};
use leitmotif::{Error, Result};
use proptest::prelude::*;

/// Partial amplitudes of a plain harmonic tone.
const HARMONIC: [f64; 5] = [1.0, 0.5, 0.33, 0.25, 0.2];

/// One note of a synthesised signal (the same model as scripts/make_reference.py).
#[derive(Debug, Clone, serde::Deserialize)]
struct Note {
    midi: f64,
    start_s: f64,
    dur_s: f64,
    amp: f64,
    partials: Vec<f64>,
}

fn note(midi: f64, start_s: f64, dur_s: f64, amp: f64, partials: &[f64]) -> Note {
    Note { midi, start_s, dur_s, amp, partials: partials.to_vec() }
}

fn chord(midis: &[f64], start_s: f64, dur_s: f64, amp: f64) -> Vec<Note> {
    midis.iter().map(|&m| note(m, start_s, dur_s, amp, &HARMONIC)).collect()
}

/// Sums the notes: `amp * fade(j) * sum_h partials[h-1] * sin(2 pi h f j / sr)`, A4 = 440 Hz
/// shifted by `cents`, with linear fades of `fade_s` at both ends of each note.
fn synthesise(notes: &[Note], sr: u32, duration_s: f64, fade_s: f64, cents: f64) -> Vec<f32> {
    let srf = f64::from(sr);
    let n = (duration_s * srf).round() as usize;
    let mut y = vec![0.0f64; n];
    let fade = (fade_s * srf).round().max(1.0);
    for nt in notes {
        let i0 = (nt.start_s * srf).round() as usize;
        let len = ((nt.dur_s * srf).round() as usize).min(n.saturating_sub(i0));
        let f = midi_hz(nt.midi, cents);
        for j in 0..len {
            let jf = j as f64;
            let env = (jf / fade).min((len as f64 - jf) / fade).min(1.0);
            let tone: f64 =
                nt.partials.iter().enumerate().map(|(h, a)| a * (TAU * (h + 1) as f64 * f * jf / srf).sin()).sum();
            y[i0 + j] += nt.amp * env * tone;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

fn fixed_tuning() -> FeatureConfig {
    FeatureConfig { tuning: Tuning::Fixed(0.0), ..FeatureConfig::default() }
}

fn features(samples: Vec<f32>, sr: u32, cfg: &FeatureConfig) -> Result<Features> {
    extract(&mut MemorySource::with_block(samples, sr, 3001), cfg)
}

fn argmax(v: &[f32; 12]) -> usize {
    (0..12).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap_or(usize::MAX)
}

fn cosine(a: &[f32; 12], b: &[f32; 12]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    match (na > 0.0, nb > 0.0) {
        (true, true) => dot / (na * nb),
        (false, false) => 1.0,
        _ => 0.0,
    }
}

/// Frame-wise mean over frames `from..to`.
fn mean(frames: &[[f32; 12]], from: usize, to: usize) -> [f32; 12] {
    let mut m = [0.0f32; 12];
    for f in &frames[from..to] {
        m.iter_mut().zip(f).for_each(|(a, b)| *a += b);
    }
    m
}

fn assert_finite_unit(f: &Features) {
    for v in f.chroma.iter().chain(&f.melody) {
        assert!(v.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)), "{v:?}");
    }
    assert!(f.energy_db.iter().all(|d| d.is_finite()));
    assert!(f.tuning_cents.is_finite());
}

#[test]
fn a4_sine_peaks_at_a() -> Result<()> {
    let x = synthesise(&[note(69.0, 0.0, 3.0, 0.5, &[1.0])], 44_100, 3.0, 0.01, 0.0);
    let f = features(x, 44_100, &FeatureConfig::default())?;
    assert_eq!(f.chroma.len(), 31);
    for k in 1..30 {
        assert_eq!(argmax(&f.chroma[k]), 9, "frame {k}: {:?}", f.chroma[k]);
        assert_eq!(argmax(&f.melody[k]), 9, "frame {k}: {:?}", f.melody[k]);
    }
    assert!(f.tuning_cents.abs() < 2.0, "{}", f.tuning_cents);
    Ok(())
}

#[test]
fn c_major_triad_gives_c_e_g() -> Result<()> {
    let x = synthesise(&chord(&[60.0, 64.0, 67.0], 0.0, 3.0, 0.25), 44_100, 3.0, 0.01, 0.0);
    let f = features(x, 44_100, &FeatureConfig::default())?;
    for k in 2..28 {
        let c = f.chroma[k];
        let mut order: Vec<usize> = (0..12).collect();
        order.sort_by(|&a, &b| c[b].total_cmp(&c[a]));
        let mut top = order[..3].to_vec();
        top.sort_unstable();
        assert_eq!(top, vec![0, 4, 7], "frame {k}: {c:?}");
    }
    Ok(())
}

#[test]
fn sharp_tuning_is_estimated_and_compensated() -> Result<()> {
    for cents in [30.0, -30.0] {
        let mut notes = chord(&[57.0, 61.0, 64.0], 0.0, 4.0, 0.2); // A major
        notes.extend(chord(&[62.0, 66.0, 69.0], 4.0, 4.0, 0.2)); // D major
        let x = synthesise(&notes, 44_100, 8.0, 0.01, cents);
        let f = features(x, 44_100, &FeatureConfig { tuning_span_s: 5.0, ..FeatureConfig::default() })?;
        assert!((f64::from(f.tuning_cents) - cents).abs() < 5.0, "{cents} cents estimated as {}", f.tuning_cents);
        // Tuned mapping: the A major chord still reads A, C#, E (C#, not D or C).
        let c = mean(&f.chroma, 5, 35);
        let mut order: Vec<usize> = (0..12).collect();
        order.sort_by(|&a, &b| c[b].total_cmp(&c[a]));
        let mut top = order[..3].to_vec();
        top.sort_unstable();
        assert_eq!(top, vec![1, 4, 9], "{cents} cents: {c:?}");
    }
    Ok(())
}

#[test]
fn fixed_tuning_is_reported() -> Result<()> {
    let x = synthesise(&[note(69.0, 0.0, 1.0, 0.5, &[1.0])], 22_050, 1.0, 0.01, 20.0);
    let f = features(x, 22_050, &FeatureConfig { tuning: Tuning::Fixed(-12.5), ..FeatureConfig::default() })?;
    assert_eq!(f.tuning_cents, -12.5);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn transposing_rotates_the_chroma(root in 0u8..12, minor in any::<bool>(), k in -5i32..=6) {
        // A bass, a triad and a melody note a ninth above the root. Only octave partials, so no
        // two notes have partials close enough to beat (which would make frames differ by chance).
        let base = 55.0 + f64::from(root);
        let third = if minor { 3.0 } else { 4.0 };
        let partials = [1.0, 0.5];
        let notes = |shift: f64| {
            let mut n = vec![note(base - 12.0 + shift, 0.0, 2.0, 0.2, &partials)];
            for m in [base, base + third, base + 7.0] {
                n.push(note(m + shift, 0.0, 2.0, 0.15, &partials));
            }
            n.push(note(base + 14.0 + shift, 0.0, 2.0, 0.3, &partials));
            n
        };
        let cfg = fixed_tuning();
        let run = |shift: f64| {
            features(synthesise(&notes(shift), 22_050, 2.0, 0.01, 0.0), 22_050, &cfg)
                .map_err(|e| TestCaseError::fail(e.to_string()))
        };
        let (a, b) = (run(0.0)?, run(f64::from(k))?);
        prop_assert_eq!(a.chroma.len(), b.chroma.len());
        for t in 3..17 {
            let mut rotated = [0.0f32; 12];
            for (pc, v) in a.chroma[t].iter().enumerate() {
                rotated[(pc as i32 + k).rem_euclid(12) as usize] = *v;
            }
            let cos = cosine(&rotated, &b.chroma[t]);
            prop_assert!(cos > 0.95, "frame {} cosine {} ({:?} vs {:?})", t, cos, rotated, b.chroma[t]);
            prop_assert_eq!(argmax(&rotated), argmax(&b.chroma[t]));
            prop_assert_eq!((argmax(&a.melody[t]) as i32 + k).rem_euclid(12) as usize, argmax(&b.melody[t]));
        }
    }

    #[test]
    fn gain_does_not_change_the_features(gain in 0.01f32..20.0) {
        let mut notes = chord(&[48.0, 64.0, 67.0, 72.0], 0.0, 1.5, 0.1);
        notes.push(note(79.0, 0.5, 1.0, 0.2, &HARMONIC));
        let x = synthesise(&notes, 22_050, 1.5, 0.01, 0.0);
        let loud: Vec<f32> = x.iter().map(|v| v * gain).collect();
        let cfg = FeatureConfig::default();
        let a = features(x, 22_050, &cfg).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let b = features(loud, 22_050, &cfg).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!((a.tuning_cents - b.tuning_cents).abs() < 0.1);
        for (fa, fb) in a.chroma.iter().chain(&a.melody).zip(b.chroma.iter().chain(&b.melody)) {
            for (va, vb) in fa.iter().zip(fb) {
                prop_assert!((va - vb).abs() < 1e-3, "{:?} vs {:?}", fa, fb);
            }
        }
        let shift = 20.0 * gain.log10();
        prop_assert!((a.energy_db[7] + shift - b.energy_db[7]).abs() < 0.01);
    }
}

/// A piece with a bass line, chords, a melody and a rest, to compare across sample rates.
fn little_piece() -> Vec<Note> {
    let mut notes = Vec::new();
    for (i, (bass, triad)) in
        [(48.0, [60.0, 64.0, 67.0]), (45.0, [57.0, 60.0, 64.0]), (43.0, [59.0, 62.0, 67.0])].into_iter().enumerate()
    {
        let t = i as f64 * 1.5;
        notes.extend(chord(&[bass], t, 1.5, 0.2));
        notes.extend(chord(&triad, t, 1.5, 0.1));
    }
    for (i, m) in [76.0, 74.0, 72.0, 71.0, 72.0, 74.0, 76.0, 79.0, 77.0].into_iter().enumerate() {
        notes.push(note(m, i as f64 * 0.5, 0.5, 0.3, &HARMONIC));
    }
    notes
}

#[test]
fn sample_rate_does_not_change_the_frames() -> Result<()> {
    let notes = little_piece();
    let cfg = FeatureConfig::default();
    let reference = features(synthesise(&notes, 44_100, 5.0, 0.01, 0.0), 44_100, &cfg)?;
    for sr in [22_050u32, 48_000] {
        let f = features(synthesise(&notes, sr, 5.0, 0.01, 0.0), sr, &cfg)?;
        assert!(f.chroma.len().abs_diff(reference.chroma.len()) <= 1, "{sr} Hz: {} frames", f.chroma.len());
        assert!((f.tuning_cents - reference.tuning_cents).abs() < 1.0);
        for (k, (a, b)) in f.chroma.iter().zip(&reference.chroma).enumerate() {
            let cos = cosine(a, b);
            assert!(cos >= 0.95, "{sr} Hz frame {k}: cosine {cos}: {a:?} vs {b:?}");
        }
        let agree = f.melody.iter().zip(&reference.melody).filter(|(a, b)| argmax(a) == argmax(b)).count();
        assert!(agree * 10 >= f.melody.len() * 9, "{sr} Hz: melody agrees on {agree}/{}", f.melody.len());
    }
    Ok(())
}

#[test]
fn silence_gives_zero_vectors() -> Result<()> {
    let f = features(vec![0.0; 44_100 * 2], 44_100, &FeatureConfig::default())?;
    assert_eq!(f.chroma.len(), 21);
    assert!(f.chroma.iter().chain(&f.melody).all(|v| *v == [0.0; 12]));
    assert_eq!(f.tuning_cents, 0.0);
    // A rest between two notes: the frames well inside the rest are zero, the rest are not.
    let mut notes = vec![note(69.0, 0.0, 1.0, 0.5, &HARMONIC)];
    notes.push(note(64.0, 2.0, 1.0, 0.5, &HARMONIC));
    let f = features(synthesise(&notes, 22_050, 3.0, 0.01, 0.0), 22_050, &FeatureConfig::default())?;
    for k in 12..19 {
        assert_eq!(f.chroma[k], [0.0; 12], "frame {k}");
        assert!(f.energy_db[k] < -100.0);
    }
    assert_eq!(argmax(&f.chroma[5]), 9);
    assert_eq!(argmax(&f.chroma[25]), 4);
    Ok(())
}

#[test]
fn extreme_input_stays_finite() -> Result<()> {
    let sr = 16_000;
    let n = sr as usize * 2;
    let square = |amp: f32| -> Vec<f32> { (0..n).map(|i| if (i / 20) % 2 == 0 { amp } else { -amp }).collect() };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let inputs: Vec<Vec<f32>> = vec![
        square(f32::MAX),
        square(1.0e30),
        square(1.0e-30),
        (0..n).map(|_| noise() * 1.0e35).collect(),
        vec![1.0; n],
        (0..n).map(|i| if i % 4000 == 0 { 1.0 } else { 0.0 }).collect(),
        (0..n).map(|i| if i % 3 == 0 { f32::MIN_POSITIVE } else { -f32::MIN_POSITIVE }).collect(),
        (0..n).map(|i| if i % 2 == 0 { f32::NAN } else { f32::INFINITY }).collect(),
    ];
    for (i, x) in inputs.into_iter().enumerate() {
        let f = features(x, sr, &FeatureConfig::default())?;
        assert_eq!(f.chroma.len(), 21, "input {i}");
        assert_finite_unit(&f);
    }
    Ok(())
}

#[test]
fn white_noise_has_no_melody() -> Result<()> {
    let mut state = 12_345u64;
    let x: Vec<f32> = (0..22_050 * 3)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
        })
        .collect();
    let f = features(x, 22_050, &FeatureConfig::default())?;
    assert!(f.chroma.iter().all(|c| c.iter().any(|&v| v > 0.0)), "noise is not silence");
    let pitched = f.melody.iter().filter(|m| **m != [0.0; 12]).count();
    assert!(pitched * 10 <= f.melody.len(), "{pitched} of {} noise frames have a melody", f.melody.len());
    Ok(())
}

/// "Mary had a little lamb" in C, in half-second notes.
const TUNE: [f64; 13] = [76.0, 74.0, 72.0, 74.0, 76.0, 76.0, 76.0, 74.0, 74.0, 74.0, 76.0, 79.0, 79.0];

/// Frames whose melody (and chroma) argmax is the tune's note, of those well inside a note.
fn tune_hits(shift: f64, amp: f64, partials: &[f64], accompaniment: Vec<Note>) -> Result<(usize, usize, usize)> {
    let mut notes: Vec<Note> =
        TUNE.iter().enumerate().map(|(i, &m)| note(m + shift, i as f64 * 0.5, 0.5, amp, partials)).collect();
    notes.extend(accompaniment);
    let x = synthesise(&notes, 44_100, 6.5, 0.01, 0.0);
    let f = features(x, 44_100, &FeatureConfig::default())?;
    let (mut hits, mut chroma_hits, mut total) = (0, 0, 0);
    for (i, &m) in TUNE.iter().enumerate() {
        let want = ((m + shift) as usize) % 12;
        // Frames at least 0.1 s inside the note.
        for k in (i * 5 + 1)..(i * 5 + 5) {
            total += 1;
            hits += usize::from(argmax(&f.melody[k]) == want);
            chroma_hits += usize::from(argmax(&f.chroma[k]) == want);
        }
    }
    Ok((hits, chroma_hits, total))
}

#[test]
fn melody_follows_the_tune_not_the_chords() -> Result<()> {
    // C major then G major under the tune, which avoids the chord roots.
    let block = |c: &[f64], g: &[f64], amp: f64| {
        let mut n = chord(c, 0.0, 3.5, amp);
        n.extend(chord(g, 3.5, 3.0, amp));
        n
    };
    let c_chord = [36.0, 48.0, 55.0, 60.0, 64.0];
    let g_chord = [43.0, 55.0, 59.0, 62.0, 67.0];
    let mut heavy = block(&[36.0, 48.0, 60.0], &[43.0, 55.0, 67.0], 0.2);
    heavy.extend(block(&[52.0, 55.0], &[59.0, 62.0], 0.12));
    let scenarios = [
        ("lead over chords", 0.0, 0.3, &HARMONIC[..], block(&c_chord, &g_chord, 0.12)),
        ("lead over loud roots", 0.0, 0.25, &HARMONIC[..], heavy),
        ("lead an octave lower", -12.0, 0.3, &HARMONIC[..], block(&c_chord, &g_chord, 0.12)),
        ("bright lead", 0.0, 0.25, &[0.6, 1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2][..], block(&c_chord, &g_chord, 0.12)),
    ];
    let mut failed = Vec::new();
    for (name, shift, amp, partials, accompaniment) in scenarios {
        let (hits, chroma_hits, total) = tune_hits(shift, amp, partials, accompaniment)?;
        println!("{name}: melody {hits}/{total}, chroma {chroma_hits}/{total}");
        if name == "lead over loud roots" {
            // The roots, doubled in three octaves, outweigh the lead in the chroma; the melody
            // profile must still find the tune far more often than the chroma does.
            if hits < 2 * chroma_hits || chroma_hits * 2 > total {
                failed.push(format!("{name}: melody {hits}/{total} vs chroma {chroma_hits}/{total}"));
            }
        } else if hits * 10 < total * 9 {
            failed.push(format!("{name}: melody follows the tune in {hits}/{total} frames"));
        }
    }
    assert!(failed.is_empty(), "{failed:?}");
    Ok(())
}

/// Synthesises a long A-minor arpeggio on the fly, so nothing but the extractor holds samples.
struct Generator {
    sr: u32,
    remaining: usize,
    pos: usize,
    block: Vec<f32>,
}

impl SampleSource for Generator {
    fn sample_rate(&self) -> u32 {
        self.sr
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        // Odd, varying block sizes, as a decoder delivers them.
        let len = (1153 + (self.pos / 7) % 2000).min(self.remaining);
        self.block.clear();
        for i in self.pos..self.pos + len {
            let note = [57.0, 60.0, 64.0][(i / self.sr as usize) % 3];
            let t = i as f64 / f64::from(self.sr);
            self.block.push((0.3 * (TAU * midi_hz(note, 0.0) * t).sin()) as f32);
        }
        self.pos += len;
        self.remaining -= len;
        Ok(Some(&self.block))
    }
}

#[test]
fn long_streams_are_processed_in_order() -> Result<()> {
    let sr = 8000;
    let minutes = 20;
    let mut source = Generator { sr, remaining: sr as usize * 60 * minutes, pos: 0, block: Vec::new() };
    let (f, stats) = extract_timed(&mut source, &FeatureConfig::default())?;
    assert_eq!(stats.samples, u64::from(sr) * 60 * minutes as u64);
    assert_eq!(stats.frames, 60 * minutes * 10 + 1);
    assert_eq!(f.chroma.len(), stats.frames);
    assert!(stats.realtime_factor() > 1.0 && stats.timings.fft > std::time::Duration::ZERO);
    // Each second holds one note: A, C, E, A, C, E, ...
    for sec in (1..60 * minutes).step_by(97) {
        let want = [9, 0, 4][sec % 3];
        assert_eq!(argmax(&f.chroma[sec * 10 + 5]), want, "second {sec}");
    }
    Ok(())
}

#[test]
fn source_errors_are_passed_on() {
    struct Failing(usize);
    impl SampleSource for Failing {
        fn sample_rate(&self) -> u32 {
            44_100
        }
        fn next_block(&mut self) -> Result<Option<&[f32]>> {
            self.0 += 1;
            if self.0 > 50 {
                return Err(Error::Corrupt { path: "x.flac".into(), detail: "bad frame".into() });
            }
            Ok(Some(&[0.1; 4096]))
        }
    }
    let r = extract(&mut Failing(0), &FeatureConfig::default());
    assert!(matches!(r, Err(Error::Corrupt { .. })));
}

/// fixtures/reference/chroma_stft.json, written by scripts/make_reference.py.
#[derive(Debug, serde::Deserialize)]
struct Reference {
    librosa_version: String,
    center: bool,
    pad_mode: String,
    tuning: f64,
    signals: Vec<RefSignal>,
}

#[derive(Debug, serde::Deserialize)]
struct RefSignal {
    name: String,
    sr: u32,
    n_fft: usize,
    hop_length: usize,
    recipe: Option<Recipe>,
    file: Option<String>,
    frames: Vec<[f32; 12]>,
}

#[derive(Debug, serde::Deserialize)]
struct Recipe {
    duration_s: f64,
    fade_s: f64,
    notes: Vec<Note>,
}

#[test]
fn chroma_agrees_with_librosa() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("fixtures/reference/chroma_stft.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let reference: Reference =
        serde_json::from_str(&text).map_err(|e| Error::BadDocument { path: path.clone(), detail: e.to_string() })?;
    assert!(reference.librosa_version.starts_with("0.11"), "{}", reference.librosa_version);
    assert!(reference.center && reference.pad_mode == "constant" && reference.tuning == 0.0);
    assert!(!reference.signals.is_empty());
    let mut all = Vec::new();
    for sig in &reference.signals {
        let sr = f64::from(sig.sr);
        let cfg = FeatureConfig {
            window_s: sig.n_fft as f64 / sr,
            hop_s: sig.hop_length as f64 / sr,
            tuning: Tuning::Fixed(reference.tuning as f32),
            ..FeatureConfig::default()
        };
        let ours = match (&sig.recipe, &sig.file) {
            (Some(r), _) => features(synthesise(&r.notes, sig.sr, r.duration_s, r.fade_s, 0.0), sig.sr, &cfg)?,
            (None, Some(file)) => {
                let mut stream = leitmotif::decode::AudioStream::open(&root.join(file))?;
                let mut f = extract(&mut stream, &cfg)?;
                f.chroma.truncate(sig.frames.len());
                f
            }
            (None, None) => panic!("{}: neither recipe nor file", sig.name),
        };
        assert_eq!(ours.chroma.len(), sig.frames.len(), "{}: frame count", sig.name);
        let cos: Vec<f64> = ours.chroma.iter().zip(&sig.frames).map(|(a, b)| cosine(a, b)).collect();
        let mean_cos = cos.iter().sum::<f64>() / cos.len() as f64;
        let worst = cos.iter().cloned().fold(1.0, f64::min);
        println!("{:<28} mean cosine {mean_cos:.4} (worst frame {worst:.4})", sig.name);
        assert!(mean_cos >= 0.9, "{}: mean frame-wise cosine {mean_cos}", sig.name);
        all.extend(cos);
    }
    println!("all signals: mean cosine {:.4} over {} frames", all.iter().sum::<f64>() / all.len() as f64, all.len());
    Ok(())
}
