//! Spectral peaks per frame: the local maxima of a power spectrum, placed on a fixed
//! log-frequency grid in absolute hertz.
//!
//! Peaks are what the landmark fingerprint ([`crate::similarity::fingerprint`]) hashes and what
//! offset-locked verification of a cue counts. A stable partial of music stays a local maximum
//! of the spectrum when other sound is added around it, so peaks survive mixing with speech far
//! better than whole-spectrum or chroma similarity does. The grid is in hertz, not in tuned
//! semitones: a recording and its copy inside an episode have the same partials whatever a
//! tuning estimate (which speech can move) says, and any sample rate maps onto the same grid.

use crate::error::{Error, Result};

/// Steps of the log-frequency grid per octave (25 cents a step).
pub const STEPS_PER_OCTAVE: f64 = 48.0;

/// Parameters of peak picking.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PeakConfig {
    /// Lowest peak frequency, Hz: below it a 0.19 s window cannot tell partials apart.
    pub low_hz: f64,
    /// Highest peak frequency, Hz (at most the band the features read).
    pub high_hz: f64,
    /// A peak is the largest bin within this many hertz on either side.
    pub reach_hz: f64,
    /// Peaks more than this many dB below the frame's strongest are dropped.
    pub range_db: f32,
    /// At most this many peaks a frame, the strongest kept.
    pub per_frame: usize,
}

impl Default for PeakConfig {
    /// - `low_hz = 100`, `high_hz = 4000`: the band where melody and harmony partials lie and
    ///   the analysis keeps its resolution.
    /// - `reach_hz = 15`: about the half-width of the Hann main lobe of the default window, so
    ///   one partial gives one peak.
    /// - `range_db = 60`: music ducked 20 dB under speech keeps its partials in range.
    /// - `per_frame = 48`: room for a dense chord's partials plus a voice's harmonics on top.
    fn default() -> Self {
        Self { low_hz: 100.0, high_hz: 4000.0, reach_hz: 15.0, range_db: 60.0, per_frame: 48 }
    }
}

impl PeakConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(self.low_hz.is_finite() && self.low_hz >= 20.0) {
            return Err(Error::bad_param("peaks.low_hz", self.low_hz, "Hz >= 20"));
        }
        if !(self.high_hz.is_finite() && self.high_hz > self.low_hz * 2.0 && self.high_hz <= 20_000.0) {
            return Err(Error::bad_param("peaks.high_hz", self.high_hz, "Hz above twice low_hz, at most 20000"));
        }
        if !(self.reach_hz.is_finite() && self.reach_hz > 0.0 && self.reach_hz <= 200.0) {
            return Err(Error::bad_param("peaks.reach_hz", self.reach_hz, "Hz in (0, 200]"));
        }
        if !(self.range_db.is_finite() && self.range_db > 0.0) {
            return Err(Error::bad_param("peaks.range_db", self.range_db, "dB > 0"));
        }
        if !(1..=1024).contains(&self.per_frame) {
            return Err(Error::bad_param("peaks.per_frame", self.per_frame, "1..=1024"));
        }
        Ok(())
    }

    /// Index on the log-frequency grid of `hz` (0 at `low_hz`).
    pub fn grid_index(&self, hz: f64) -> u16 {
        (STEPS_PER_OCTAVE * (hz / self.low_hz).log2()).round().clamp(0.0, f64::from(u16::MAX)) as u16
    }

    /// Number of steps of the grid between `low_hz` and `high_hz`.
    pub fn grid_len(&self) -> usize {
        usize::from(self.grid_index(self.high_hz)) + 1
    }
}

/// One spectral peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Step of the log-frequency grid ([`PeakConfig::grid_index`]).
    pub bin: u16,
    /// Power in dB (full scale, up to the window's constant).
    pub db: f32,
}

/// The peaks of every frame, frame-major: frame `k` holds `peaks[starts[k]..starts[k + 1]]`,
/// strongest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpectralPeaks {
    /// Where each frame's peaks begin; one more entry than frames (empty when not computed).
    pub starts: Vec<u32>,
    /// All peaks.
    pub peaks: Vec<Peak>,
}

impl SpectralPeaks {
    /// Number of frames (0 when peaks were not computed).
    pub fn frames(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The peaks of frame `k`, strongest first; empty beyond the end.
    pub fn frame(&self, k: usize) -> &[Peak] {
        frame_of(&self.starts, &self.peaks, k)
    }

    /// Appends one frame's peaks.
    pub fn push_frame(&mut self, peaks: &[Peak]) {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        self.peaks.extend_from_slice(peaks);
        self.starts.push(u32::try_from(self.peaks.len()).unwrap_or(u32::MAX));
    }
}

/// The steps of the strongest peaks of every frame, strongest first: what measuring a recording
/// against other audio reads of it, in a quarter of the memory of its [`SpectralPeaks`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeakBins {
    /// Where each frame's steps begin; one more entry than frames.
    starts: Vec<u32>,
    bins: Vec<u16>,
}

impl PeakBins {
    /// The steps of the `n` strongest peaks of every frame of `peaks`.
    pub fn strongest(peaks: &SpectralPeaks, n: usize) -> Self {
        let mut starts = Vec::with_capacity(peaks.frames() + 1);
        let mut bins = Vec::new();
        starts.push(0);
        for k in 0..peaks.frames() {
            bins.extend(peaks.frame(k).iter().take(n).map(|p| p.bin));
            starts.push(u32::try_from(bins.len()).unwrap_or(u32::MAX));
        }
        Self { starts, bins }
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The steps of frame `k`'s peaks, strongest first; empty beyond the end.
    pub fn frame(&self, k: usize) -> &[u16] {
        frame_of(&self.starts, &self.bins, k)
    }
}

/// Frame `k` of values laid out frame after frame, frame `k` at `starts[k]..starts[k + 1]`;
/// empty beyond the end.
fn frame_of<'a, T>(starts: &[u32], values: &'a [T], k: usize) -> &'a [T] {
    match (starts.get(k), starts.get(k + 1)) {
        (Some(&a), Some(&b)) => values.get(a as usize..b as usize).unwrap_or(&[]),
        _ => &[],
    }
}

/// Picks the peaks of one power spectrum whose bin `k` lies at `k * bin_hz`, into `out`
/// (cleared first), strongest first.
pub fn pick(power: &[f32], bin_hz: f64, cfg: &PeakConfig, out: &mut Vec<Peak>) {
    out.clear();
    if power.len() < 3 || bin_hz <= 0.0 {
        return;
    }
    let reach = ((cfg.reach_hz / bin_hz).round() as usize).max(1);
    let lo = ((cfg.low_hz / bin_hz).ceil() as usize).max(1);
    let hi = ((cfg.high_hz / bin_hz).floor() as usize).min(power.len() - 2);
    if lo > hi {
        return;
    }
    let strongest = power[lo..=hi].iter().copied().fold(0f32, f32::max);
    if !(strongest > 0.0 && strongest.is_finite()) {
        return;
    }
    let floor = strongest * 10f32.powf(-cfg.range_db / 10.0);
    for k in lo..=hi {
        let p = power[k];
        if p <= floor {
            continue;
        }
        let a = k.saturating_sub(reach);
        let b = (k + reach).min(power.len() - 1);
        // Ties go to the lowest bin, so a flat top gives one peak.
        let is_max = power[a..k].iter().all(|&q| q < p) && power[k + 1..=b].iter().all(|&q| q <= p);
        if !is_max {
            continue;
        }
        // Parabolic interpolation of the log power places the partial between bins.
        let (l, c, r) = (power[k - 1].max(1e-30).ln(), p.ln(), power[k + 1].max(1e-30).ln());
        let denom = l - 2.0 * c + r;
        let delta = if denom < 0.0 { (0.5 * (l - r) / denom).clamp(-0.5, 0.5) } else { 0.0 };
        let hz = (k as f64 + f64::from(delta)) * bin_hz;
        out.push(Peak { bin: cfg.grid_index(hz), db: 10.0 * p.log10() });
    }
    out.sort_by(|x, y| y.db.total_cmp(&x.db).then(x.bin.cmp(&y.bin)));
    out.truncate(cfg.per_frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A power spectrum with Hann-like lobes at `partials` (Hz, linear power).
    fn spectrum(bin_hz: f64, n: usize, partials: &[(f64, f32)]) -> Vec<f32> {
        let mut p = vec![1e-9f32; n];
        for &(hz, power) in partials {
            let centre = hz / bin_hz;
            for (k, v) in p.iter_mut().enumerate() {
                let d = (k as f64 - centre).abs();
                if d < 2.0 {
                    *v += power * (0.5 + 0.5 * (std::f64::consts::PI * d / 2.0).cos()) as f32;
                }
            }
        }
        p
    }

    #[test]
    fn the_strongest_peak_bins_keep_every_frame_and_its_first_peaks() {
        let mut all = SpectralPeaks::default();
        let peak = |bin: u16| Peak { bin, db: -f32::from(bin) };
        for n in [5u16, 0, 2, 9] {
            all.push_frame(&(0..n).map(peak).collect::<Vec<_>>());
        }
        let kept = PeakBins::strongest(&all, 3);
        assert_eq!(kept.frames(), all.frames());
        for k in 0..all.frames() {
            let bins: Vec<u16> = all.frame(k).iter().take(3).map(|p| p.bin).collect();
            assert_eq!(kept.frame(k), &bins[..], "frame {k}");
        }
        assert!(kept.frame(4).is_empty());
    }

    #[test]
    fn partials_give_one_peak_each_on_the_grid_strongest_first() {
        let cfg = PeakConfig::default();
        let bin_hz = 11025.0 / 2160.0;
        let power = spectrum(bin_hz, 1081, &[(440.0, 1.0), (880.0, 4.0), (1320.0, 0.5)]);
        let mut out = Vec::new();
        pick(&power, bin_hz, &cfg, &mut out);
        let bins: Vec<u16> = out.iter().map(|p| p.bin).collect();
        assert_eq!(bins, vec![cfg.grid_index(880.0), cfg.grid_index(440.0), cfg.grid_index(1320.0)]);
        // 880 Hz is one octave above 440 Hz: 48 steps.
        assert_eq!(bins[0] - bins[1], 48);
    }

    #[test]
    fn the_grid_does_not_depend_on_the_sample_rate() {
        let cfg = PeakConfig::default();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (rate, n_fft, out) in [(11025.0, 2160.0, &mut a), (12000.0, 2400.0, &mut b)] {
            let bin_hz = rate / n_fft;
            pick(&spectrum(bin_hz, 1201, &[(523.25, 1.0), (1046.5, 0.3)]), bin_hz, &cfg, out);
        }
        assert_eq!(a.iter().map(|p| p.bin).collect::<Vec<_>>(), b.iter().map(|p| p.bin).collect::<Vec<_>>());
    }

    #[test]
    fn silence_and_peaks_below_the_range_give_nothing() {
        let cfg = PeakConfig::default();
        let mut out = vec![Peak { bin: 1, db: 0.0 }];
        pick(&vec![0.0; 500], 5.0, &cfg, &mut out);
        assert!(out.is_empty());
        let power = spectrum(5.0, 900, &[(500.0, 1.0), (1500.0, 1e-7)]);
        pick(&power, 5.0, &cfg, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn frames_are_kept_apart() {
        let mut peaks = SpectralPeaks::default();
        peaks.push_frame(&[Peak { bin: 3, db: -10.0 }]);
        peaks.push_frame(&[]);
        peaks.push_frame(&[Peak { bin: 5, db: -20.0 }, Peak { bin: 9, db: -30.0 }]);
        assert_eq!(peaks.frames(), 3);
        assert_eq!(peaks.frame(1), &[]);
        assert_eq!(peaks.frame(2).len(), 2);
        assert_eq!(peaks.frame(7), &[]);
    }

    #[test]
    fn bad_parameters_are_named() {
        let cfg = PeakConfig { per_frame: 0, ..PeakConfig::default() };
        assert!(matches!(cfg.validate(), Err(Error::BadParam { name: "peaks.per_frame", .. })));
    }
}
