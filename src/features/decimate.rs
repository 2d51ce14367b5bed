//! Streaming decimation by powers of two before the STFT: the pitch mapping reads nothing above
//! about 4.6 kHz, so a 44.1 kHz recording is analysed at 11.025 kHz, with a quarter of the FFT
//! work per frame.
//!
//! Each stage halves the rate with a linear-phase halfband FIR (a Kaiser-windowed sinc whose
//! taps at even distances from the centre are zero). Output sample `n` of a stage is the
//! filtered signal at input sample `2n` exactly, so a cascade keeps time: decimated sample `i`
//! stands for input sample `i * factor`, and frames defined in seconds fall where they did.
//!
//! Only the band the analysis reads, `0..=band_hz`, must come through clean. A stage may let
//! anything above it alias, as long as the aliases land above `band_hz` too: its stopband starts
//! at `out_rate - band_hz`, not at the output Nyquist. That wide transition is what keeps the
//! filters short: for the 4.6 kHz the pitch mapping reads, 4 taps a side from 44.1 to 22.05 kHz
//! and 12 from 22.05 to 11.025 kHz, about a sixth of the cost of the FFTs it saves.

/// Stopband attenuation of every stage in dB: an alias is then a thousandth of the amplitude of
/// what it folds from, far below the partials it lands among (the chroma and the tuning
/// estimator ignore anything 30 dB under a frame's loudest partial).
const STOPBAND_DB: f64 = 60.0;

/// The narrowest transition a stage is built for, as a fraction of its output rate: below that a
/// stage would need hundreds of taps, and the band is left at the higher rate instead.
const MIN_TRANSITION: f64 = 0.04;

/// Outputs computed together in [`Halfband::emit`]: 32 accumulators fill eight SSE registers,
/// the most that leave room for the operands (measured: 16 and 64 are slower).
const LANES: usize = 32;

/// Halves the sample rate of a stream with a halfband filter.
#[derive(Debug, Clone)]
struct Halfband {
    /// `h_1..h_K`, the non-zero taps at odd distances `1, 3, ..., 2K - 1` on one side of the
    /// centre tap (which is 1/2); the other side mirrors them.
    taps: Vec<f32>,
    /// Even-indexed input samples `x[2n]`, from the next output's on.
    even: Vec<f32>,
    /// Odd-indexed input samples `x[2n + 1]`, from `K` samples before `even[0]`'s (zeros before
    /// the start of the stream).
    odd: Vec<f32>,
    /// Whether the next input sample has an even index.
    next_even: bool,
}

impl Halfband {
    /// A stage whose passband reaches `band` and whose stopband starts at `0.5 - band`, both as
    /// fractions of the input rate (`band < 0.25`).
    fn new(band: f64) -> Self {
        let transition = 0.5 - 2.0 * band;
        // Kaiser's estimates of the window's shape and of the length for this attenuation.
        let beta = 0.1102 * (STOPBAND_DB - 8.7);
        let length = (STOPBAND_DB - 7.95) / (14.36 * transition) + 1.0;
        // Length 4K - 1: the taps at distances 1, 3, ..., 2K - 1 each side of the centre.
        let k = ((length + 1.0) / 4.0).ceil().max(1.0) as usize;
        let half = (2 * k - 1) as f64;
        let taps = (1..=k)
            .map(|j| {
                let m = (2 * j - 1) as f64;
                let sinc = (std::f64::consts::FRAC_PI_2 * m).sin() / (std::f64::consts::PI * m);
                // The window spans the zero taps at +-2K too, so the outermost non-zero tap
                // keeps some weight.
                let r = m / (half + 1.0);
                (sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)) as f32
            })
            .collect();
        Self { taps, even: Vec::new(), odd: vec![0.0; k], next_even: true }
    }

    /// Takes `input` and appends every output sample it completes to `out`.
    fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let mut input = input;
        if !self.next_even {
            let Some((&first, rest)) = input.split_first() else { return };
            self.odd.push(first);
            self.next_even = true;
            input = rest;
        }
        let (e0, o0) = (self.even.len(), self.odd.len());
        self.even.resize(e0 + input.len().div_ceil(2), 0.0);
        self.odd.resize(o0 + input.len() / 2, 0.0);
        let pairs = input.chunks_exact(2);
        if let [last] = pairs.remainder() {
            self.even[e0 + input.len() / 2] = *last;
        }
        for ((e, o), pair) in self.even[e0..].iter_mut().zip(&mut self.odd[o0..]).zip(pairs) {
            *e = pair[0];
            *o = pair[1];
        }
        self.next_even = input.len() % 2 == 0;
        self.emit(out);
    }

    /// Appends the outputs whose inputs have all arrived.
    fn emit(&mut self, out: &mut Vec<f32>) {
        let k = self.taps.len();
        let n = self.even.len().min((self.odd.len() + 1).saturating_sub(2 * k));
        if n == 0 {
            return;
        }
        let start = out.len();
        out.extend_from_slice(&self.even[..n]);
        let y = &mut out[start..];
        let (taps, odd) = (&self.taps, &self.odd);
        // LANES outputs at a time, summed over every tap in registers: the lanes are independent,
        // so the loop runs in vector registers whatever the target's width.
        let output = |i: usize, centre: f32| -> f32 {
            let mut acc = 0.5 * centre;
            for (j, &h) in taps.iter().enumerate() {
                acc += h * (odd[i + k - 1 - j] + odd[i + k + j]);
            }
            acc
        };
        let whole = n - n % LANES;
        for (c, lanes) in y[..whole].chunks_exact_mut(LANES).enumerate() {
            let i = c * LANES;
            let mut acc = [0f32; LANES];
            for (a, &e) in acc.iter_mut().zip(lanes.iter()) {
                *a = 0.5 * e;
            }
            for (j, &h) in taps.iter().enumerate() {
                let before = &odd[i + k - 1 - j..i + k - 1 - j + LANES];
                let after = &odd[i + k + j..i + k + j + LANES];
                for ((a, &p), &q) in acc.iter_mut().zip(before).zip(after) {
                    *a += h * (p + q);
                }
            }
            lanes.copy_from_slice(&acc);
        }
        for (i, v) in y.iter_mut().enumerate().skip(whole) {
            *v = output(i, *v);
        }
        self.even.drain(..n);
        self.odd.drain(..n);
    }

    /// Ends the stream (zeros after its end) and appends the remaining outputs.
    fn finish(&mut self, out: &mut Vec<f32>) {
        let k = self.taps.len();
        let need = self.even.len() + 2 * k - 1;
        if self.odd.len() < need {
            self.odd.resize(need, 0.0);
        }
        self.emit(out);
        self.even.clear();
        self.odd.clear();
        self.odd.resize(k, 0.0);
        self.next_even = true;
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges for all x).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

/// A cascade of halfband stages: the stream at `rate / factor`, band-limited to `band_hz`.
#[derive(Debug, Clone)]
pub struct Decimator {
    stages: Vec<Halfband>,
    in_rate: u32,
    /// Two buffers that pass each inner stage's output on to the next stage.
    between: [Vec<f32>; 2],
    out: Vec<f32>,
}

impl Decimator {
    /// The deepest cascade that keeps `0..=band_hz` of a stream at `in_rate` Hz alias-free; no
    /// stage at all when the rate is odd or already close to `2 * band_hz`.
    pub fn new(in_rate: u32, band_hz: f64) -> Self {
        let mut stages = Vec::new();
        let mut rate = in_rate;
        while rate % 2 == 0 && band_hz > 0.0 {
            let out_rate = f64::from(rate / 2);
            if out_rate - 2.0 * band_hz < MIN_TRANSITION * out_rate {
                break;
            }
            stages.push(Halfband::new(band_hz / f64::from(rate)));
            rate /= 2;
        }
        Self { stages, in_rate, between: [Vec::new(), Vec::new()], out: Vec::new() }
    }

    /// How many input samples make one output sample (a power of two, 1 when nothing is done).
    pub fn factor(&self) -> u32 {
        1 << self.stages.len()
    }

    /// The output sample rate.
    pub fn out_rate(&self) -> u32 {
        self.in_rate / self.factor()
    }

    /// Filters `input` and returns the output samples it completes (possibly none).
    pub fn push(&mut self, input: &[f32]) -> &[f32] {
        self.run(Some(input))
    }

    /// Ends the stream and returns the last output samples; the decimator is then ready for a
    /// new stream.
    pub fn finish(&mut self) -> &[f32] {
        self.run(None)
    }

    fn run(&mut self, input: Option<&[f32]>) -> &[f32] {
        self.out.clear();
        let n = self.stages.len();
        let [a, b] = &mut self.between;
        for (i, stage) in self.stages.iter_mut().enumerate() {
            // The first stage reads the input where it is, the last writes the output.
            let src: &[f32] = if i == 0 { input.unwrap_or(&[]) } else { a };
            let dst = if i + 1 == n { &mut self.out } else { &mut *b };
            if i + 1 < n {
                dst.clear();
            }
            stage.push(src, dst);
            if input.is_none() {
                stage.finish(dst);
            }
            if i + 1 < n {
                std::mem::swap(a, b);
            }
        }
        if n == 0 {
            self.out.extend_from_slice(input.unwrap_or(&[]));
        }
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, sr: u32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (std::f64::consts::TAU * hz * i as f64 / f64::from(sr)).sin() as f32).collect()
    }

    fn decimate_all(d: &mut Decimator, x: &[f32], block: usize) -> Vec<f32> {
        let mut y = Vec::new();
        for chunk in x.chunks(block.max(1)) {
            y.extend_from_slice(d.push(chunk));
        }
        y.extend_from_slice(d.finish());
        y
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    #[test]
    fn cascade_depth_follows_the_band() {
        assert_eq!(Decimator::new(44_100, 5_000.0).factor(), 4);
        assert_eq!(Decimator::new(48_000, 5_000.0).out_rate(), 12_000);
        assert_eq!(Decimator::new(22_050, 5_000.0).out_rate(), 11_025);
        assert_eq!(Decimator::new(32_000, 5_000.0).out_rate(), 16_000);
        assert_eq!(Decimator::new(8_000, 5_000.0).factor(), 1);
        assert_eq!(Decimator::new(44_101, 5_000.0).factor(), 1);
        assert_eq!(Decimator::new(96_000, 5_000.0).factor(), 8);
    }

    #[test]
    fn output_length_and_timing_are_exact() {
        let sr = 44_100;
        for n in [0usize, 1, 2, 3, 5, 4097, 44_100] {
            let mut d = Decimator::new(sr, 5_000.0);
            let y = decimate_all(&mut d, &vec![0.25; n], 1000);
            // One output per `factor` inputs, the first at input 0: ceil(n / 4).
            assert_eq!(y.len(), n.div_ceil(4), "{n} samples");
        }
        // An impulse at input 4 * 300 comes out centred on output 300.
        let mut x = vec![0.0f32; 4096];
        x[1200] = 1.0;
        let y = decimate_all(&mut Decimator::new(sr, 5_000.0), &x, 333);
        let peak = (0..y.len()).max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs())).unwrap_or(0);
        assert_eq!(peak, 300);
        let left: Vec<f32> = (1..20).map(|i| y[300 - i]).collect();
        let right: Vec<f32> = (1..20).map(|i| y[300 + i]).collect();
        assert_eq!(left, right, "linear phase: symmetric about the impulse");
    }

    #[test]
    fn block_size_does_not_change_the_output() {
        let x: Vec<f32> =
            sine(1000.0, 48_000, 30_001).iter().zip(sine(7_300.0, 48_000, 30_001)).map(|(a, b)| a + b).collect();
        let whole = decimate_all(&mut Decimator::new(48_000, 5_000.0), &x, x.len());
        for block in [1usize, 2, 3, 7, 1024] {
            assert_eq!(decimate_all(&mut Decimator::new(48_000, 5_000.0), &x, block), whole, "block {block}");
        }
    }

    #[test]
    fn the_band_passes_and_aliases_onto_it_are_stopped() {
        let sr = 44_100;
        let n = 44_100;
        for hz in [55.0, 440.0, 2_000.0, 4_400.0, 5_000.0] {
            let y = decimate_all(&mut Decimator::new(sr, 5_000.0), &sine(hz, sr, n), 4096);
            let gain = rms(&y[1000..y.len() - 1000]) / std::f64::consts::FRAC_1_SQRT_2;
            assert!((gain - 1.0).abs() < 0.01, "{hz} Hz: gain {gain}");
        }
        // Tones that would fold onto 0..5 kHz at 11.025 kHz: 6.1..22 kHz.
        for hz in [6_100.0, 8_000.0, 11_025.0, 15_000.0, 17_100.0, 21_000.0] {
            let y = decimate_all(&mut Decimator::new(sr, 5_000.0), &sine(hz, sr, n), 4096);
            let db = 20.0 * (rms(&y[1000..y.len() - 1000]) / std::f64::consts::FRAC_1_SQRT_2).log10();
            assert!(db < -58.0, "{hz} Hz: {db:.1} dB");
        }
    }

    #[test]
    fn without_stages_samples_pass_unchanged() {
        let x = sine(440.0, 8000, 999);
        let mut d = Decimator::new(8000, 5_000.0);
        assert_eq!(decimate_all(&mut d, &x, 100), x);
    }
}
