//! Pitch mapping: tuning estimation, the tuned semitone filterbank, chroma, melody profiles and CENS.
//!
//! A power spectrum becomes a semitone spectrum through a sparse log-frequency filterbank
//! ([`SemitoneFilterbank`], tuned by [`TuningEstimator`]); the semitone spectrum folds into a
//! 12-bin chroma (C = 0, A = 9), weighted over octaves and max-normalised as librosa's
//! `chroma_stft`.
//!
//! The melody profile ([`PitchMapper::map`]) is meant to survive re-orchestration and
//! reharmonisation, which change the chroma but not the tune:
//! 1. the semitone power, normalised to its maximum, is compressed to magnitudes
//!    ([`MelodyConfig::compression`]);
//! 2. the salience of each candidate pitch `p` in the melody range is the harmonic sum
//!    `sum_h alpha^(h-1) * min(m[p + round(12 log2 h)], m[p])`, `h = 1..=8`;
//! 3. voices are found by estimation and cancellation: the most salient candidate is a voice, its
//!    partials are subtracted along a non-increasing spectral envelope, and the search repeats
//!    (at most [`MelodyConfig::voices`] times, while a voice reaches [`MelodyConfig::top_voice`]
//!    of the first one's salience);
//! 4. the melody is the highest voice (the skyline of the texture): its pitch class gets 1, the
//!    strongest voice of another pitch class [`MelodyConfig::second_weight`] times its squared
//!    relative salience;
//! 5. a frame whose best salience is under [`MelodyConfig::min_clarity`] times the mean (noise,
//!    unpitched textures), or that is silent, gives the zero vector.

use std::f64::consts::TAU;

use crate::features::stft::FrameGeometry;

/// Pitch classes per octave.
pub const N_CHROMA: usize = 12;

/// Highest semitone ever mapped (MIDI 108, C8, 4.2 kHz, the top of the piano): partials above
/// it are weak and noisy, and stopping there lets the stream be decimated to 11 kHz before the
/// STFT (see [`crate::features::decimate`]). Melody candidates near the top lose their upper harmonics to
/// this bound; the profile folds octaves, so an octave error costs nothing.
pub const MAX_SPECTRUM_MIDI: u8 = 108;

/// Frequency in Hz of the (fractional) MIDI note `midi`, with A4 = 440 Hz shifted by `tuning_cents`.
pub fn midi_hz(midi: f64, tuning_cents: f64) -> f64 {
    440.0 * ((midi - 69.0) / 12.0 + tuning_cents / 1200.0).exp2()
}

/// Maps a power spectrum onto semitones `lo..=hi` (MIDI numbers), tuned to `tuning_cents`.
///
/// Each FFT bin is treated as covering `bin_hz` of frequency; its power is shared among the
/// semitones by the average, over that width, of triangular memberships in log-frequency that
/// peak at the semitone centre and reach zero at its neighbours' centres. The memberships of
/// adjacent semitones sum to one, so every bin's power is distributed, never duplicated, and a
/// low bin wider than a semitone spreads over all the semitones it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct SemitoneFilterbank {
    lo: u8,
    tuning_cents: f32,
    /// Per semitone: first bin and range into `weights`.
    rows: Vec<(usize, std::ops::Range<usize>)>,
    weights: Vec<f32>,
    bins_used: usize,
}

/// Sub-points per bin when averaging the triangular memberships over a bin's width.
const BIN_SUBPOINTS: usize = 16;

impl SemitoneFilterbank {
    /// Builds the filterbank for spectra of `geometry`. An empty range (`hi < lo`) gives no rows.
    pub fn new(geometry: &FrameGeometry, lo: u8, hi: u8, tuning_cents: f32) -> Self {
        let bin_hz = geometry.bin_hz();
        let last_bin = geometry.n_bins().saturating_sub(1);
        let tuning = f64::from(tuning_cents);
        let mut rows = Vec::new();
        let mut weights = Vec::new();
        let mut bins_used = 0;
        for p in lo..=hi {
            let centre = midi_hz(f64::from(p), tuning);
            let (f_lo, f_hi) = (midi_hz(f64::from(p) - 1.0, tuning), midi_hz(f64::from(p) + 1.0, tuning));
            // Bins whose interval [(k - 1/2) bin_hz, (k + 1/2) bin_hz] meets (f_lo, f_hi); DC is skipped.
            let k_lo = ((f_lo / bin_hz + 0.5).floor() as usize).max(1);
            let k_hi = ((f_hi / bin_hz - 0.5).ceil().max(0.0) as usize).min(last_bin);
            let first = weights.len();
            let mut first_bin = k_lo;
            for k in k_lo..=k_hi {
                let mut w = 0.0;
                for j in 0..BIN_SUBPOINTS {
                    let f = (k as f64 - 0.5 + (j as f64 + 0.5) / BIN_SUBPOINTS as f64) * bin_hz;
                    w += (1.0 - (12.0 * (f / centre).log2()).abs()).max(0.0);
                }
                let w = (w / BIN_SUBPOINTS as f64) as f32;
                if weights.len() == first && w == 0.0 {
                    first_bin = k + 1;
                    continue;
                }
                weights.push(w);
            }
            // Trailing zeros cost work for nothing.
            while weights.len() > first && weights.last() == Some(&0.0) {
                weights.pop();
            }
            if weights.len() > first {
                bins_used = bins_used.max(first_bin + weights.len() - first);
            }
            rows.push((first_bin, first..weights.len()));
        }
        Self { lo, tuning_cents, rows, weights, bins_used }
    }

    /// Lowest semitone (MIDI number) of the output.
    pub fn lo_midi(&self) -> u8 {
        self.lo
    }

    /// Number of semitones in the output.
    pub fn n_semitones(&self) -> usize {
        self.rows.len()
    }

    /// The tuning the filterbank was built for, in cents from A440.
    pub fn tuning_cents(&self) -> f32 {
        self.tuning_cents
    }

    /// Bins `0..bins_used()` are all a power spectrum must hold; higher ones are ignored.
    pub fn bins_used(&self) -> usize {
        self.bins_used
    }

    /// Writes the power of each semitone into `out` (`n_semitones()` long). Bins missing from a
    /// short `power` count as zero.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        for ((first, range), o) in self.rows.iter().zip(out.iter_mut()) {
            let w = &self.weights[range.clone()];
            let p = power.get(*first..).unwrap_or(&[]);
            *o = w.iter().zip(p).map(|(w, p)| w * p).sum();
        }
    }
}

/// A broad Gaussian weighting over octaves, as librosa's `ctroct`/`octwidth`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OctaveWeight {
    /// Centre of the weighting in Hz.
    pub centre_hz: f64,
    /// Standard deviation in octaves.
    pub width_octaves: f64,
}

impl Default for OctaveWeight {
    /// librosa's `chroma_stft` defaults (`ctroct=5.0`, `octwidth=2`): centred on A5 = 880 Hz
    /// (five octaves above A0), two octaves wide, so the melodic register dominates and the
    /// smeared low octaves and the noisy top count little.
    fn default() -> Self {
        Self { centre_hz: 880.0, width_octaves: 2.0 }
    }
}

impl OctaveWeight {
    /// The weight of a partial at `hz`.
    pub fn weight(&self, hz: f64) -> f64 {
        let z = (hz / self.centre_hz).log2() / self.width_octaves;
        (-0.5 * z * z).exp()
    }
}

/// Scales `v` so its largest entry is 1; a vector with no positive finite maximum (silence,
/// underflow, corrupt input) becomes all zeros instead of NaN.
pub fn max_normalise(v: &mut [f32; N_CHROMA]) {
    let max = v.iter().copied().fold(0.0f32, f32::max);
    if max.is_finite() && max > f32::MIN_POSITIVE && v.iter().all(|x| x.is_finite()) {
        v.iter_mut().for_each(|x| *x /= max);
    } else {
        *v = [0.0; N_CHROMA];
    }
}

/// Parameters of the predominant-melody profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MelodyConfig {
    /// Lowest candidate melody pitch (MIDI).
    pub lo_midi: u8,
    /// Highest candidate melody pitch (MIDI).
    pub hi_midi: u8,
    /// Harmonics summed per candidate.
    pub harmonics: u8,
    /// Weight decay per harmonic: harmonic `h` counts `alpha^(h-1)`.
    pub alpha: f32,
    /// Exponent applied to the max-normalised semitone power before summing.
    pub compression: f32,
    /// Weight of the strongest voice of another pitch class than the melody, times the square of
    /// its salience relative to the melody's (at most 1).
    pub second_weight: f32,
    /// Most voices looked for per frame (1..=[`MAX_VOICES`]).
    pub voices: u8,
    /// A further voice counts when its salience reaches this fraction of the strongest voice's.
    pub top_voice: f32,
    /// A frame counts as pitched when its top salience is at least this many times the mean
    /// salience over the melody range.
    pub min_clarity: f32,
}

impl Default for MelodyConfig {
    /// - `lo_midi..=hi_midi = 48..=96` (C3..C7) spans sung and played melodies.
    /// - `harmonics = 8`, `alpha = 0.8`: Klapuri's and Salamon's harmonic-summation salience.
    /// - `compression = 0.5`: the square root of the power, i.e. the magnitude (Klapuri), so the
    ///   loudest partials lead while weaker ones still count. Stronger compression (0.25) lets the
    ///   accumulated harmonics of bass notes outweigh the lead on synthetic melody-over-chords tests.
    /// - `voices = 3`, `top_voice = 0.5`: the lead, the bass and one inner voice; a voice half as
    ///   salient as the strongest can still be the melody when it lies above it.
    /// - `second_weight = 0.5`: an accompanying voice gets partial credit only when it is nearly as
    ///   salient as the melody.
    /// - `min_clarity = 2.5`: white and pink noise stay below it (about 1.5..2), while 90..100 % of
    ///   the non-silent frames of tonal recordings exceed it.
    fn default() -> Self {
        Self {
            lo_midi: 48,
            hi_midi: 96,
            harmonics: 8,
            alpha: 0.8,
            compression: 0.5,
            second_weight: 0.5,
            voices: 3,
            top_voice: 0.5,
            min_clarity: 2.5,
        }
    }
}

/// Turns a power spectrum into chroma and melody profiles (one per worker; read-only, shareable).
#[derive(Debug, Clone, PartialEq)]
pub struct PitchMapper {
    filterbank: SemitoneFilterbank,
    /// Octave weight per semitone of the filterbank; zero outside the chroma range.
    chroma_weight: Vec<f32>,
    melody: MelodyConfig,
    /// Semitone offsets of harmonics 1..=H and their weights `alpha^(h-1)`.
    harmonics: Vec<(usize, f32)>,
}

/// Per-worker buffers for [`PitchMapper::map`].
#[derive(Debug, Clone, Default)]
pub struct MapperScratch {
    semitones: Vec<f32>,
    salience: Vec<f32>,
}

impl PitchMapper {
    /// Builds the tuned filterbank for chroma over `chroma_midi` (inclusive MIDI range) and for
    /// the melody profile of `melody`. Ranges are clamped to [`MAX_SPECTRUM_MIDI`].
    pub fn new(
        geometry: &FrameGeometry,
        chroma_midi: (u8, u8),
        octave_weight: Option<OctaveWeight>,
        melody: &MelodyConfig,
        tuning_cents: f32,
    ) -> Self {
        let harmonics: Vec<(usize, f32)> = (1..=melody.harmonics.max(1))
            .map(|h| {
                let offset = (12.0 * f64::from(h).log2()).round() as usize;
                (offset, melody.alpha.powi(i32::from(h) - 1))
            })
            .collect();
        let top_offset = harmonics.last().map_or(0, |&(o, _)| o);
        let lo = chroma_midi.0.min(melody.lo_midi);
        let hi = (chroma_midi.1 as usize).max(melody.hi_midi as usize + top_offset).min(MAX_SPECTRUM_MIDI as usize);
        let hi = hi as u8;
        let filterbank = SemitoneFilterbank::new(geometry, lo, hi, tuning_cents);
        let chroma_weight = (lo..=hi)
            .map(|p| {
                if p < chroma_midi.0 || p > chroma_midi.1 {
                    0.0
                } else {
                    octave_weight.map_or(1.0, |w| w.weight(midi_hz(f64::from(p), f64::from(tuning_cents))) as f32)
                }
            })
            .collect();
        Self { filterbank, chroma_weight, melody: melody.clone(), harmonics }
    }

    /// Bins `0..bins_used()` of a power spectrum are all [`PitchMapper::map`] reads.
    pub fn bins_used(&self) -> usize {
        self.filterbank.bins_used()
    }

    /// The tuning in cents from A440 this mapper was built for.
    pub fn tuning_cents(&self) -> f32 {
        self.filterbank.tuning_cents()
    }

    /// Buffers sized for this mapper.
    pub fn scratch(&self) -> MapperScratch {
        let n = self.filterbank.n_semitones();
        MapperScratch { semitones: vec![0.0; n], salience: vec![0.0; n] }
    }

    /// The max-normalised chroma and melody profile of one power spectrum (zero vectors when
    /// the spectrum holds no energy in range, or for the melody when no pitch stands out).
    pub fn map(&self, power: &[f32], scratch: &mut MapperScratch) -> ([f32; N_CHROMA], [f32; N_CHROMA]) {
        let n = self.filterbank.n_semitones();
        scratch.semitones.resize(n, 0.0);
        scratch.salience.resize(n, 0.0);
        self.filterbank.apply(power, &mut scratch.semitones);
        let lo = usize::from(self.filterbank.lo_midi());
        let mut chroma = [0.0f32; N_CHROMA];
        for (i, (&s, &w)) in scratch.semitones.iter().zip(&self.chroma_weight).enumerate() {
            chroma[(lo + i) % N_CHROMA] += w * s;
        }
        max_normalise(&mut chroma);
        let melody = self.melody_profile(scratch);
        (chroma, melody)
    }

    /// The predominant melody of one frame, folded to a pitch-class profile.
    ///
    /// Voices are found by iterative estimation and cancellation (after Klapuri): the candidate of
    /// highest harmonic-sum salience is a voice, its partials are removed from the spectrum, and the
    /// search repeats while a voice reaches `top_voice` times the first one's salience. Harmonics
    /// are capped at the candidate's fundamental, so a low note is not credited with a louder note
    /// that merely coincides with one of its harmonics. The melody is the highest voice found (the
    /// "skyline" of the texture); it gets weight 1, the strongest voice of another pitch class
    /// `second_weight * min(1, s2/s1)^2`.
    fn melody_profile(&self, scratch: &mut MapperScratch) -> [f32; N_CHROMA] {
        let mut profile = [0.0f32; N_CHROMA];
        let semis = &mut scratch.semitones;
        let max = semis.iter().copied().fold(0.0f32, f32::max);
        if !(max.is_finite() && max > f32::MIN_POSITIVE) {
            return profile;
        }
        // Max-normalised, compressed magnitudes: the salience is then independent of gain.
        let exponent = self.melody.compression;
        if exponent == 0.5 {
            // The default, magnitude from power: a square root is several times cheaper than powf.
            semis.iter_mut().for_each(|s| *s = (*s / max).max(0.0).sqrt());
        } else {
            semis.iter_mut().for_each(|s| *s = (*s / max).max(0.0).powf(exponent));
        }
        let lo = usize::from(self.filterbank.lo_midi());
        let (m_lo, m_hi) = (usize::from(self.melody.lo_midi), usize::from(self.melody.hi_midi));
        let range = m_lo.saturating_sub(lo)..(m_hi + 1).saturating_sub(lo).min(semis.len());
        if range.is_empty() {
            return profile;
        }
        let salience = &mut scratch.salience[..range.len()];
        // (index into `salience`, strength) of each voice found, at most MAX_VOICES.
        let mut voices = [(0usize, 0.0f32); MAX_VOICES];
        let mut found = 0;
        for _ in 0..usize::from(self.melody.voices).min(MAX_VOICES) {
            for (i, s) in salience.iter_mut().enumerate() {
                let base = range.start + i;
                let cap = semis[base];
                *s = self.harmonics.iter().map(|&(o, w)| w * semis.get(base + o).map_or(0.0, |&m| m.min(cap))).sum();
            }
            let Some((best, strength)) = salience.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)) else {
                break;
            };
            if found == 0 {
                let mean = salience.iter().sum::<f32>() / salience.len() as f32;
                if !(strength > 0.0 && strength >= self.melody.min_clarity * mean) {
                    return profile;
                }
            } else if strength < self.melody.top_voice * voices[0].1 {
                break;
            }
            voices[found] = (best, strength);
            found += 1;
            // Cancel the voice's partials. A partial's expected level is the smallest level of
            // the partials below it (a non-increasing spectral envelope), so a louder note that
            // coincides with a high harmonic keeps what the envelope does not explain.
            let base = range.start + best;
            let mut envelope = f32::INFINITY;
            for &(o, _) in &self.harmonics {
                if let Some(m) = semis.get_mut(base + o) {
                    envelope = envelope.min(*m);
                    *m -= envelope;
                }
            }
        }
        let voices = &voices[..found];
        let pc = |i: usize| (lo + range.start + i) % N_CHROMA;
        let Some(&(top, s1)) = voices.iter().max_by_key(|v| v.0) else {
            return profile;
        };
        profile[pc(top)] = 1.0;
        let second = voices.iter().filter(|v| pc(v.0) != pc(top)).max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some(&(i, s2)) = second {
            // The top voice may be less salient than another; it still leads.
            let r = (s2 / s1).min(1.0);
            profile[pc(i)] = self.melody.second_weight * r * r;
        }
        profile
    }
}

/// Most voices [`MelodyConfig::voices`] may ask for.
pub const MAX_VOICES: usize = 8;

/// Accumulates evidence about the deviation of a recording's tuning from A440.
///
/// Spectral peaks between [`TuningEstimator::MIN_HZ`] and [`TuningEstimator::MAX_HZ`] (at most
/// [`TuningEstimator::PEAKS_PER_FRAME`] per frame, within 30 dB of the frame's loudest) are located
/// to a fraction of a bin by a parabola through the log-power of the peak bin and its neighbours;
/// each peak's deviation from the nearest equal-tempered semitone enters a circular histogram,
/// weighted by the peak's magnitude.
#[derive(Debug, Clone)]
pub struct TuningEstimator {
    bin_hz: f64,
    hist: Vec<f64>,
    candidates: Vec<(f32, f64)>,
}

/// Histogram bins per 100 cents.
const TUNING_BINS: usize = 400;

impl TuningEstimator {
    /// Lowest peak frequency considered: below it a bin spans too many cents to locate a peak.
    pub const MIN_HZ: f64 = 100.0;
    /// Highest peak frequency considered: the top of the piano (C8 = 4186 Hz) tuned a quarter
    /// tone sharp; above it partials of real instruments drift sharp, and the stream is
    /// decimated to keep little more than this band.
    pub const MAX_HZ: f64 = 4400.0;
    /// Peaks per frame: enough for the partials of a few notes, few enough to skip the noise.
    pub const PEAKS_PER_FRAME: usize = 24;
    /// Peaks weaker than this fraction of the frame's loudest bin (-30 dB) are ignored; it is
    /// just above the first sidelobe of the Hann window (-31.5 dB).
    const REL_THRESHOLD: f32 = 1.0e-3;
    /// Half-width in cents of the neighbourhood of the histogram peak that is averaged: narrow
    /// enough to leave out the 5th harmonic, which is 14 cents flat of equal temperament.
    const REFINE_CENTS: f64 = 12.0;

    /// An empty estimator for spectra of `geometry`.
    pub fn new(geometry: &FrameGeometry) -> Self {
        Self { bin_hz: geometry.bin_hz(), hist: vec![0.0; TUNING_BINS], candidates: Vec::with_capacity(256) }
    }

    /// Bins `0..bins_used()` of a power spectrum are all [`TuningEstimator::add_frame`] reads.
    pub fn bins_used(&self) -> usize {
        (Self::MAX_HZ / self.bin_hz).ceil() as usize + 2
    }

    /// Adds the peaks of one power spectrum.
    pub fn add_frame(&mut self, power: &[f32]) {
        let k_lo = ((Self::MIN_HZ / self.bin_hz).floor() as usize).max(1);
        let k_hi = ((Self::MAX_HZ / self.bin_hz).ceil() as usize).min(power.len().saturating_sub(1));
        if k_hi <= k_lo + 1 {
            return;
        }
        let frame_max = power[k_lo..=k_hi].iter().copied().fold(0.0f32, f32::max);
        if !(frame_max.is_finite() && frame_max > 0.0) {
            return;
        }
        let threshold = frame_max * Self::REL_THRESHOLD;
        self.candidates.clear();
        for k in k_lo..k_hi {
            let (a, b, c) = (power[k - 1], power[k], power[k + 1]);
            if b > threshold && b > a && b >= c {
                let (la, lb, lc) = (ln(a), ln(b), ln(c));
                let denom = la - 2.0 * lb + lc;
                let delta = if denom < 0.0 { (0.5 * (la - lc) / denom).clamp(-0.5, 0.5) } else { 0.0 };
                let log_peak = lb - 0.25 * (la - lc) * delta;
                let magnitude = (0.5 * log_peak).exp() as f32;
                self.candidates.push((magnitude, (k as f64 + delta) * self.bin_hz));
            }
        }
        let keep = Self::PEAKS_PER_FRAME;
        if self.candidates.len() > keep {
            self.candidates.select_nth_unstable_by(keep - 1, |x, y| y.0.total_cmp(&x.0));
            self.candidates.truncate(keep);
        }
        for &(magnitude, hz) in &self.candidates {
            let cents = 1200.0 * (hz / 440.0).log2();
            let dev = cents - 100.0 * (cents / 100.0).round();
            let bin = (((dev + 50.0) / 100.0 * TUNING_BINS as f64).floor() as usize) % TUNING_BINS;
            if magnitude.is_finite() {
                self.hist[bin] += f64::from(magnitude);
            }
        }
    }

    /// The estimated tuning in cents from A440, in `-50.0..50.0`, or `None` without any peaks.
    pub fn estimate(&self) -> Option<f32> {
        let total: f64 = self.hist.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        let n = TUNING_BINS;
        let cents_per_bin = 100.0 / n as f64;
        // Circular triangular smoothing over +-5 cents finds the densest deviation.
        let half = (5.0 / cents_per_bin) as usize;
        let smoothed = |i: usize| -> f64 {
            (0..=2 * half)
                .map(|j| {
                    let w = 1.0 - (j as f64 - half as f64).abs() / (half as f64 + 1.0);
                    w * self.hist[(i + n + j - half) % n]
                })
                .sum()
        };
        let peak = (0..n).map(|i| (i, smoothed(i))).max_by(|a, b| a.1.total_cmp(&b.1))?.0;
        // Weighted circular mean of the raw histogram near that peak.
        let reach = (Self::REFINE_CENTS / cents_per_bin) as usize;
        let (mut re, mut im) = (0.0, 0.0);
        for j in 0..=2 * reach {
            let i = (peak + n + j - reach) % n;
            let ang = TAU * (i as f64 + 0.5) / n as f64;
            re += self.hist[i] * ang.cos();
            im += self.hist[i] * ang.sin();
        }
        let frac = im.atan2(re) / TAU; // in -0.5..=0.5 of a semitone, measured from -50 cents
        let mut cents = frac * 100.0 - 50.0;
        if cents < -50.0 {
            cents += 100.0;
        }
        Some(cents.clamp(-50.0, 50.0 - 1e-6) as f32)
    }
}

/// Natural log that maps zero (and underflow) to a very small number instead of -inf.
fn ln(x: f32) -> f64 {
    f64::from(x).max(1e-300).ln()
}

/// Parameters of CENS (chroma energy normalised statistics, Müller).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CensConfig {
    /// Length of the Hann smoothing window, in input frames (0 is treated as 1: no smoothing).
    pub smooth_frames: usize,
    /// Keep every `factor`-th smoothed frame (0 is treated as 1).
    pub factor: usize,
}

impl Default for CensConfig {
    /// Müller's CENS(41, 10): at this crate's 10 frames/s a 4.1 s window and 1 feature per second,
    /// the classic setting for matching passages across performances and arrangements.
    fn default() -> Self {
        Self { smooth_frames: 41, factor: 10 }
    }
}

/// CENS features of a chroma sequence: l1-normalise each frame, quantise with thresholds
/// 0.4/0.2/0.1/0.05 (to 1, 0.75, 0.5, 0.25), smooth along time with a Hann window of
/// `smooth_frames` (zero beyond the ends), keep every `factor`-th frame starting with the first,
/// and l2-normalise. Frames whose energy is zero stay zero.
pub fn cens(frames: &[[f32; N_CHROMA]], cfg: &CensConfig) -> Vec<[f32; N_CHROMA]> {
    const STEPS: [f32; 4] = [0.4, 0.2, 0.1, 0.05];
    let quantised: Vec<[f32; N_CHROMA]> = frames
        .iter()
        .map(|f| {
            // A frame holding a non-finite value sums to one and stays zero like a silent one.
            let sum: f32 = f.iter().map(|x| x.abs()).sum();
            let mut q = [0.0f32; N_CHROMA];
            if sum > f32::MIN_POSITIVE && sum.is_finite() {
                for (q, &x) in q.iter_mut().zip(f) {
                    let v = x.abs() / sum;
                    *q = STEPS.iter().filter(|&&s| v > s).count() as f32 * 0.25;
                }
            }
            q
        })
        .collect();
    // Symmetric Hann of length smooth_frames + 2 without its zero end points, as librosa's
    // chroma_cens; normalised to unit sum.
    let len = cfg.smooth_frames.max(1);
    let window: Vec<f32> = (1..=len).map(|i| (0.5 - 0.5 * (TAU * i as f64 / (len + 1) as f64).cos()) as f32).collect();
    let wsum: f32 = window.iter().sum();
    let half = (len - 1) / 2;
    let factor = cfg.factor.max(1);
    (0..frames.len())
        .step_by(factor)
        .map(|t| {
            let mut out = [0.0f32; N_CHROMA];
            for (j, &w) in window.iter().enumerate() {
                let Some(src) = (t + j).checked_sub(half).and_then(|s| quantised.get(s)) else {
                    continue;
                };
                for (o, &q) in out.iter_mut().zip(src) {
                    *o += w / wsum * q;
                }
            }
            let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > f32::MIN_POSITIVE {
                out.iter_mut().for_each(|x| *x /= norm);
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Result;
    use crate::features::stft::{FrameGeometry, PowerStft};

    fn power_of(signal: &[f32], geometry: &FrameGeometry) -> Result<Vec<f32>> {
        let stft = PowerStft::new(*geometry);
        let mut power = vec![0.0; geometry.n_bins()];
        let start = signal.len() / 2 - geometry.n_win() / 2;
        stft.power(&signal[start..start + geometry.n_win()], &mut stft.scratch(), &mut power)?;
        Ok(power)
    }

    fn harmonic_tone(hz: f64, sr: u32, seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(sr)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(sr);
                (1..=6).map(|h| (TAU * hz * h as f64 * t).sin() / h as f64).sum::<f64>() as f32 * 0.2
            })
            .collect()
    }

    #[test]
    fn filterbank_conserves_power_in_range() -> Result<()> {
        let g = FrameGeometry::new(44_100, 0.186, 0.1)?;
        let fb = SemitoneFilterbank::new(&g, 24, 108, 0.0);
        // Flat spectrum: every bin strictly inside the range is shared out with total weight 1.
        let k_in = (midi_hz(30.0, 0.0) / g.bin_hz()).ceil() as usize;
        let k_out = (midi_hz(100.0, 0.0) / g.bin_hz()).floor() as usize;
        for k in [k_in, (k_in + k_out) / 2, k_out] {
            let mut power = vec![0.0f32; g.n_bins()];
            power[k] = 1.0;
            let mut out = vec![0.0; fb.n_semitones()];
            fb.apply(&power, &mut out);
            let total: f32 = out.iter().sum();
            assert!((total - 1.0).abs() < 1e-3, "bin {k}: total weight {total}");
        }
        Ok(())
    }

    #[test]
    fn tuning_of_a_sharp_tone_is_found() -> Result<()> {
        let g = FrameGeometry::new(22_050, 0.186, 0.1)?;
        for cents in [-40.0f64, -12.0, 0.0, 30.0, 45.0] {
            let tone = harmonic_tone(midi_hz(57.0, cents), 22_050, 1.0);
            let mut est = TuningEstimator::new(&g);
            est.add_frame(&power_of(&tone, &g)?);
            let got = f64::from(est.estimate().unwrap_or(f32::NAN));
            let err = (got - cents + 50.0).rem_euclid(100.0) - 50.0;
            assert!(err.abs() < 3.0, "tone at {cents} cents estimated as {got}");
        }
        assert_eq!(TuningEstimator::new(&g).estimate(), None);
        Ok(())
    }

    #[test]
    fn mapper_finds_the_note_and_ignores_gain() -> Result<()> {
        let g = FrameGeometry::new(22_050, 0.186, 0.1)?;
        let m = PitchMapper::new(&g, (24, 108), Some(OctaveWeight::default()), &MelodyConfig::default(), 0.0);
        let tone = harmonic_tone(midi_hz(62.0, 0.0), 22_050, 1.0); // D4
        let mut scratch = m.scratch();
        let (c1, m1) = m.map(&power_of(&tone, &g)?, &mut scratch);
        let loud: Vec<f32> = tone.iter().map(|x| x * 7.0).collect();
        let (c2, m2) = m.map(&power_of(&loud, &g)?, &mut scratch);
        let argmax = |v: &[f32; 12]| (0..12).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap_or(99);
        assert_eq!(argmax(&c1), 2);
        assert_eq!(argmax(&m1), 2);
        for i in 0..12 {
            assert!((c1[i] - c2[i]).abs() < 1e-4 && (m1[i] - m2[i]).abs() < 1e-4);
        }
        let (c0, m0) = m.map(&vec![0.0; g.n_bins()], &mut scratch);
        assert_eq!((c0, m0), ([0.0; 12], [0.0; 12]));
        Ok(())
    }

    #[test]
    fn max_normalise_never_makes_nan() {
        let mut v = [0.0f32; 12];
        max_normalise(&mut v);
        assert_eq!(v, [0.0; 12]);
        let mut v = [f32::INFINITY; 12];
        max_normalise(&mut v);
        assert_eq!(v, [0.0; 12]);
        let mut v = [1.0e-40f32; 12];
        max_normalise(&mut v);
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn cens_quantises_smooths_and_keeps_zeros() {
        let mut c = [0.0f32; 12];
        c[0] = 1.0;
        c[4] = 0.5;
        let frames = vec![c; 30];
        let out = cens(&frames, &CensConfig { smooth_frames: 5, factor: 3 });
        assert_eq!(out.len(), 10);
        // l1: C 0.667 -> 1.0, E 0.333 -> 0.75; l2-normalised to unit length.
        let mid = out[5];
        assert!((mid[0] - 0.8).abs() < 1e-5 && (mid[4] - 0.6).abs() < 1e-5, "{mid:?}");
        for f in &out {
            assert!((f.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
        }
        let zeros = cens(&[[0.0; 12]; 7], &CensConfig::default());
        assert_eq!(zeros, vec![[0.0; 12]]);
        assert!(cens(&[], &CensConfig::default()).is_empty());
        let same = cens(&frames, &CensConfig { smooth_frames: 0, factor: 0 });
        assert_eq!(same.len(), 30);
    }
}
