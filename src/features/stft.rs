//! Short-time power spectra: frame geometry in seconds, shared realfft plans and reusable buffers.
//!
//! Frames are defined in seconds so that the same music at any sample rate gives the same frames:
//! frame `k` is centred at `t = k * hop_s` (librosa's `center=True` with zero padding before the
//! start and after the end), spans `n_win = round(window_s * sr)` samples starting at
//! `round(k * hop_s * sr) - n_win / 2`, is weighted by a periodic Hann window and zero padded to
//! `n_fft`, the smallest even size `>= n_win` with no prime factor above 5 (such sizes transform
//! about as fast per sample as powers of two, and padding 8203 samples to 8640 rather than to
//! 16384 halves the work of every frame at 44.1 kHz).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon::prelude::*;
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};
use crate::source::finite_or_zero;

/// Shortest analysis window accepted, in samples: shorter frames cannot resolve any musical pitch.
pub const MIN_WINDOW_SAMPLES: usize = 32;

/// Longest analysis window accepted, in samples (2^20, about 22 s at 48 kHz): bounds memory per frame.
pub const MAX_WINDOW_SAMPLES: usize = 1 << 20;

/// Where the frames of a recording lie, in samples, for one sample rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameGeometry {
    sample_rate: u32,
    hop_s: f64,
    n_win: usize,
    n_fft: usize,
}

impl FrameGeometry {
    /// Geometry of frames `window_s` seconds long, `hop_s` seconds apart, at `sample_rate` Hz.
    ///
    /// # Errors
    /// [`Error::BadParam`] when the window is shorter than [`MIN_WINDOW_SAMPLES`] or longer than
    /// [`MAX_WINDOW_SAMPLES`] samples, or the hop is shorter than one sample or not finite.
    pub fn new(sample_rate: u32, window_s: f64, hop_s: f64) -> Result<Self> {
        let sr = f64::from(sample_rate);
        let win_samples = window_s * sr;
        if !win_samples.is_finite()
            || win_samples.round() < MIN_WINDOW_SAMPLES as f64
            || win_samples.round() > MAX_WINDOW_SAMPLES as f64
        {
            return Err(Error::BadParam {
                name: "window length in samples",
                value: format!("{win_samples} ({window_s} s at {sample_rate} Hz)"),
                expected: format!("{MIN_WINDOW_SAMPLES}..={MAX_WINDOW_SAMPLES} samples"),
            });
        }
        let hop_samples = hop_s * sr;
        if !hop_samples.is_finite() || hop_samples < 1.0 {
            return Err(Error::BadParam {
                name: "hop length in samples",
                value: format!("{hop_samples} ({hop_s} s at {sample_rate} Hz)"),
                expected: "at least 1 sample".into(),
            });
        }
        // Range-checked above, so the cast is exact.
        let n_win = win_samples.round() as usize;
        Ok(Self { sample_rate, hop_s, n_win, n_fft: fft_size(n_win) })
    }

    /// Samples per second.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Seconds between frame centres.
    pub fn hop_s(&self) -> f64 {
        self.hop_s
    }

    /// Window length in samples.
    pub fn n_win(&self) -> usize {
        self.n_win
    }

    /// FFT length in samples (the window zero padded to the next even 5-smooth size).
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Number of frequency bins of a power spectrum, DC to Nyquist inclusive.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Spacing of the frequency bins in Hz.
    pub fn bin_hz(&self) -> f64 {
        f64::from(self.sample_rate) / self.n_fft as f64
    }

    /// Sample index at the centre of frame `k`.
    pub fn centre(&self, k: usize) -> i64 {
        (k as f64 * self.hop_s * f64::from(self.sample_rate)).round() as i64
    }

    /// Sample index of the first sample of frame `k` (negative near the start: zero padding).
    pub fn start(&self, k: usize) -> i64 {
        self.centre(k) - (self.n_win / 2) as i64
    }

    /// Number of frames of a recording `n_samples` long: every frame whose centre is at or before
    /// the end, as librosa's `1 + n // hop` (none for an empty recording).
    pub fn frame_count(&self, n_samples: u64) -> usize {
        if n_samples == 0 {
            return 0;
        }
        let n = n_samples as i64;
        let hop_samples = self.hop_s * f64::from(self.sample_rate);
        // Start from the arithmetic estimate and settle the rounding at the boundary exactly.
        let mut last = (n_samples as f64 / hop_samples).floor() as usize;
        while self.centre(last + 1) <= n {
            last += 1;
        }
        while last > 0 && self.centre(last) > n {
            last -= 1;
        }
        last + 1
    }
}

/// The smallest even number `>= n` whose prime factors are all 2, 3 or 5.
fn fft_size(n: usize) -> usize {
    let smooth = |mut m: usize| {
        for p in [2, 3, 5] {
            while m % p == 0 {
                m /= p;
            }
        }
        m == 1
    };
    // A power of two bounds the search; 5-smooth numbers are dense enough that it ends quickly.
    (n.max(2)..=n.max(2).next_power_of_two()).find(|&m| m % 2 == 0 && smooth(m)).unwrap_or(n.next_power_of_two())
}

/// One forward real FFT plan per size, shared by every thread and every file of the process
/// (the planner caches its plans and hands out `Arc`s to them).
fn shared_plan(n_fft: usize) -> Arc<dyn RealToComplex<f32>> {
    static PLANNER: OnceLock<Mutex<RealFftPlanner<f32>>> = OnceLock::new();
    let planner = PLANNER.get_or_init(|| Mutex::new(RealFftPlanner::new()));
    // A poisoned lock only means another thread panicked while planning; the cache stays usable.
    planner.lock().unwrap_or_else(PoisonError::into_inner).plan_fft_forward(n_fft)
}

/// Power spectra of Hann-windowed frames; cheap to clone and share between threads.
#[derive(Clone)]
pub struct PowerStft {
    geometry: FrameGeometry,
    window: Arc<[f32]>,
    window_power: f64,
    plan: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for PowerStft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerStft").field("geometry", &self.geometry).finish_non_exhaustive()
    }
}

/// Per-thread buffers for [`PowerStft::power`], made once and reused for every frame.
pub struct StftScratch {
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl std::fmt::Debug for StftScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StftScratch").field("n_fft", &self.input.len()).finish_non_exhaustive()
    }
}

/// Above this peak magnitude a frame is scaled down before the FFT so its power cannot overflow
/// `f32` (full scale is 1.0; only corrupt or unnormalised input gets here).
const OVERFLOW_GUARD: f32 = 1.0e4;

impl PowerStft {
    /// Plans (or reuses the plan for) this geometry's FFT size and builds its window.
    pub fn new(geometry: FrameGeometry) -> Self {
        let n = geometry.n_win;
        // Periodic Hann (scipy `fftbins=True`), as librosa uses: tiles exactly at 50 % overlap.
        let window: Arc<[f32]> = (0..n)
            .map(|i| {
                let phase = std::f64::consts::TAU * i as f64 / n as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let window_power = window.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
        Self { geometry, window, window_power, plan: shared_plan(geometry.n_fft) }
    }

    /// The frame geometry this transform was built for.
    pub fn geometry(&self) -> &FrameGeometry {
        &self.geometry
    }

    /// Fresh buffers for one thread.
    pub fn scratch(&self) -> StftScratch {
        StftScratch {
            input: self.plan.make_input_vec(),
            output: self.plan.make_output_vec(),
            scratch: self.plan.make_scratch_vec(),
        }
    }

    /// Writes `|X_k|^2` (unnormalised) of the windowed `frame` into `power` for bins
    /// `0..power.len()` and returns the frame's Hann-weighted mean square,
    /// `sum((w x)^2) / sum(w^2)` (0.5 for a full-scale sine).
    ///
    /// # Errors
    /// [`Error::Internal`] when `frame` is not `n_win` samples long, `power` has more than
    /// `n_bins` entries, or `scratch` was made for another FFT size.
    pub fn power(&self, frame: &[f32], scratch: &mut StftScratch, power: &mut [f32]) -> Result<f64> {
        let g = &self.geometry;
        if frame.len() != g.n_win {
            return Err(Error::Internal {
                detail: format!("STFT frame of {} samples for a window of {}", frame.len(), g.n_win),
            });
        }
        if power.len() > g.n_bins() {
            return Err(Error::Internal {
                detail: format!("power spectrum of {} bins for at most {}", power.len(), g.n_bins()),
            });
        }
        if scratch.input.len() != g.n_fft {
            return Err(Error::Internal {
                detail: format!("STFT scratch of {} samples for an FFT of {}", scratch.input.len(), g.n_fft),
            });
        }
        let (head, tail) = scratch.input.split_at_mut(g.n_win);
        // Eight independent partial sums and maxima, so the loop runs in vector lanes. Non-finite
        // input (treated as silence rather than poisoning the whole frame) shows in the energy,
        // and only then is the frame windowed again with a check per sample.
        let window_lanes = |head: &mut [f32], clean: bool| {
            let mut energy = [0f32; 8];
            let mut peak = [0f32; 8];
            let done = head.len() - head.len() % 8;
            let (whole, rest) = head.split_at_mut(done);
            for ((dst, x), w) in whole.chunks_exact_mut(8).zip(frame.chunks_exact(8)).zip(self.window.chunks_exact(8)) {
                let lanes = dst.iter_mut().zip(x).zip(w).zip(energy.iter_mut()).zip(peak.iter_mut());
                for ((((d, &x), &w), e), p) in lanes {
                    let v = if clean { finite_or_zero(x * w) } else { x * w };
                    *d = v;
                    *e += v * v;
                    *p = if v.abs() > *p { v.abs() } else { *p };
                }
            }
            for ((dst, &x), &w) in rest.iter_mut().zip(&frame[done..]).zip(&self.window[done..]) {
                let v = finite_or_zero(x * w);
                *dst = v;
                energy[0] += v * v;
                peak[0] = peak[0].max(v.abs());
            }
            (energy, peak)
        };
        let (mut energy, mut peak) = window_lanes(head, false);
        if !energy.iter().sum::<f32>().is_finite() {
            (energy, peak) = window_lanes(head, true);
        }
        let peak = peak.iter().fold(0f32, |m, &p| m.max(p));
        let energy: f64 = if peak > OVERFLOW_GUARD {
            // Squares of such samples overflow f32: sum them again in f64.
            head.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
        } else {
            energy.iter().map(|&e| f64::from(e)).sum()
        };
        // realfft clobbers its input, so the zero padding is restored for every frame.
        tail.fill(0.0);
        if peak > OVERFLOW_GUARD {
            let scale = 1.0 / peak;
            head.iter_mut().for_each(|v| *v *= scale);
        }
        self.plan
            .process_with_scratch(&mut scratch.input, &mut scratch.output, &mut scratch.scratch)
            .map_err(|e| Error::Internal { detail: format!("FFT of size {}: {e}", g.n_fft) })?;
        for (p, c) in power.iter_mut().zip(&scratch.output) {
            *p = c.norm_sqr();
        }
        Ok(energy / self.window_power)
    }
}

/// Power spectra of a whole in-memory signal, frame-major (tests, benches, small inputs; the
/// streaming extractor in [`crate::features`] never holds a whole recording).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// `n_frames * n_bins` powers `|X_k|^2`, frame after frame.
    pub power: Vec<f32>,
    /// Bins per frame, DC to Nyquist.
    pub n_bins: usize,
    /// Seconds between frame centres.
    pub hop_s: f64,
    /// Samples per second of the analysed signal.
    pub sample_rate: u32,
}

impl Spectrogram {
    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        self.power.len().checked_div(self.n_bins).unwrap_or(0)
    }

    /// The power spectrum of frame `k`.
    ///
    /// # Panics
    /// When `k >= n_frames()`.
    pub fn frame(&self, k: usize) -> &[f32] {
        &self.power[k * self.n_bins..(k + 1) * self.n_bins]
    }
}

/// Copies the `n_win` samples of frame `k` out of `samples` (zero outside the signal).
pub fn copy_frame(geometry: &FrameGeometry, samples: &[f32], k: usize, out: &mut [f32]) {
    let start = geometry.start(k);
    for (i, o) in out.iter_mut().enumerate() {
        let idx = start + i as i64;
        *o = usize::try_from(idx).ok().and_then(|j| samples.get(j)).copied().unwrap_or(0.0);
    }
}

/// Power spectrogram of `samples` with the frames of `geometry`, computed in parallel.
///
/// # Errors
/// Only if the internal buffers disagree with the plan, which [`PowerStft`] rules out.
pub fn power_spectrogram(samples: &[f32], geometry: &FrameGeometry) -> Result<Spectrogram> {
    let stft = PowerStft::new(*geometry);
    let n_bins = geometry.n_bins();
    let n_frames = geometry.frame_count(samples.len() as u64);
    let mut power = vec![0.0f32; n_frames * n_bins];
    power
        .par_chunks_mut(n_bins)
        .enumerate()
        .map_init(
            || (stft.scratch(), vec![0.0f32; geometry.n_win()]),
            |(scratch, frame), (k, out)| {
                copy_frame(geometry, samples, k, frame);
                stft.power(frame, scratch, out).map(|_| ())
            },
        )
        .collect::<Result<()>>()?;
    Ok(Spectrogram { power, n_bins, hop_s: geometry.hop_s(), sample_rate: geometry.sample_rate() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slow oracle: `|sum x_n e^{-2 pi i k n / N}|^2` evaluated directly in f64.
    fn naive_power(x: &[f64], n_fft: usize) -> Vec<f64> {
        (0..=n_fft / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (n, &v) in x.iter().enumerate() {
                    let ang = -std::f64::consts::TAU * (k * n) as f64 / n_fft as f64;
                    re += v * ang.cos();
                    im += v * ang.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn realfft_power_matches_naive_dft() -> Result<()> {
        // 41 samples at 1 kHz: n_win 41 zero padded to n_fft 48 (= 2^4 * 3).
        let geometry = FrameGeometry::new(1000, 0.041, 0.010)?;
        assert_eq!((geometry.n_win(), geometry.n_fft()), (41, 48));
        let stft = PowerStft::new(geometry);
        let frame: Vec<f32> = (0..41).map(|i| (0.3 * i as f32).sin() + 0.5 * (1.7 * i as f32).cos() - 0.1).collect();
        let mut power = vec![0.0f32; geometry.n_bins()];
        let ms = stft.power(&frame, &mut stft.scratch(), &mut power)?;
        let windowed: Vec<f64> =
            frame.iter().zip(stft.window.iter()).map(|(&x, &w)| f64::from(x) * f64::from(w)).collect();
        let oracle = naive_power(&windowed, 48);
        let scale = oracle.iter().cloned().fold(0.0, f64::max);
        for (k, (&got, &want)) in power.iter().zip(&oracle).enumerate() {
            let err = (f64::from(got) - want).abs() / scale;
            assert!(err < 1e-5, "bin {k}: realfft {got} vs naive {want}");
        }
        let want_ms = windowed.iter().map(|v| v * v).sum::<f64>() / stft.window_power;
        assert!((ms - want_ms).abs() < 1e-6 * want_ms, "mean square {ms} vs {want_ms}");
        Ok(())
    }

    #[test]
    fn fft_sizes_are_small_even_and_5_smooth() {
        assert_eq!(fft_size(8203), 8640);
        assert_eq!(fft_size(4096), 4096);
        assert_eq!(fft_size(1), 2);
        for n in 1..3000 {
            let m = fft_size(n);
            let mut r = m;
            for p in [2, 3, 5] {
                while r % p == 0 {
                    r /= p;
                }
            }
            assert!(m >= n && m % 2 == 0 && r == 1, "{n} -> {m}");
            assert!((n..m).all(|k| k % 2 == 1 || fft_size(k) == m), "{n} -> {m} is not the smallest");
        }
    }

    #[test]
    fn frames_are_centred_in_seconds() -> Result<()> {
        for sr in [22_050u32, 44_100, 48_000] {
            let g = FrameGeometry::new(sr, 0.186, 0.1)?;
            assert_eq!(g.centre(0), 0);
            assert_eq!(g.start(0), -((g.n_win() / 2) as i64));
            assert_eq!(g.centre(10), i64::from(sr));
            assert!(g.n_fft() >= g.n_win() && g.n_fft() < g.n_win() * 9 / 8 && g.n_fft() % 2 == 0);
            // One second of audio has frames centred at 0.0, 0.1, ..., 1.0 s.
            assert_eq!(g.frame_count(u64::from(sr)), 11);
            assert_eq!(g.frame_count(u64::from(sr) - 1), 10);
        }
        assert_eq!(FrameGeometry::new(22_050, 2048.0 / 22_050.0, 512.0 / 22_050.0)?.frame_count(22_050), 44);
        Ok(())
    }

    #[test]
    fn bad_geometry_is_rejected() {
        assert!(matches!(FrameGeometry::new(44_100, 0.0001, 0.1), Err(Error::BadParam { .. })));
        assert!(matches!(FrameGeometry::new(44_100, 0.186, 0.0), Err(Error::BadParam { .. })));
        assert!(matches!(FrameGeometry::new(44_100, f64::NAN, 0.1), Err(Error::BadParam { .. })));
        assert!(matches!(FrameGeometry::new(44_100, 100.0, 0.1), Err(Error::BadParam { .. })));
    }

    #[test]
    fn mismatched_buffers_are_errors_not_panics() -> Result<()> {
        let stft = PowerStft::new(FrameGeometry::new(8000, 0.05, 0.01)?);
        let other = PowerStft::new(FrameGeometry::new(8000, 0.2, 0.01)?);
        let frame = vec![0.0f32; stft.geometry().n_win()];
        let mut power = vec![0.0f32; 8];
        let r = stft.power(&frame, &mut other.scratch(), &mut power);
        assert!(matches!(r, Err(Error::Internal { .. })));
        let r = stft.power(&frame[1..], &mut stft.scratch(), &mut power);
        assert!(matches!(r, Err(Error::Internal { .. })));
        Ok(())
    }

    #[test]
    fn spectrogram_peaks_at_the_sine() -> Result<()> {
        let sr = 8000;
        let g = FrameGeometry::new(sr, 0.128, 0.064)?;
        let x: Vec<f32> = (0..sr).map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / sr as f32).sin()).collect();
        let s = power_spectrogram(&x, &g)?;
        assert_eq!(s.n_frames(), g.frame_count(x.len() as u64));
        let mid = s.frame(s.n_frames() / 2);
        let argmax = (0..mid.len()).max_by(|&a, &b| mid[a].total_cmp(&mid[b])).unwrap_or(0);
        assert!((argmax as f64 * g.bin_hz() - 1000.0).abs() <= g.bin_hz());
        Ok(())
    }
}
