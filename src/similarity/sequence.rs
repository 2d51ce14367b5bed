//! Matching sequences: per-track features downsampled to the matcher's frame rate and combined
//! into key-rotatable vectors (a melody block and a harmony block of 12 pitch classes each).

use crate::error::{Error, Result};
use crate::features::Features;
use crate::similarity::clock::FrameClock;

/// Dimension of a matching vector: 12 melody pitch classes, then 12 chroma pitch classes.
pub const DIM: usize = 24;

/// One matching frame. Both 12-blocks rotate together under transposition.
pub type Frame = [f32; DIM];

/// How per-frame features become matching frames.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceConfig {
    /// Target hop of the matching sequence in seconds; the feature hop is multiplied by a whole
    /// factor closest to it. Coarser is faster (matching cost grows with its inverse square),
    /// finer resolves shorter notes.
    pub hop_s: f64,
    /// Share of the melody block in a frame's similarity; the rest goes to the harmony (chroma)
    /// block. The melody carries a motif through reharmonisation; the mean-subtracted chroma
    /// already follows a melody that stands above its accompaniment, and is the steadier of the
    /// two under speech, so it keeps the larger share.
    pub melody_weight: f32,
    /// Frames quieter than this (dBFS) are treated as silence and match nothing.
    pub silence_db: f32,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        Self { hop_s: 0.2, melody_weight: 0.3, silence_db: -60.0 }
    }
}

impl SequenceConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(self.hop_s.is_finite() && self.hop_s > 0.0 && self.hop_s <= 10.0) {
            return Err(Error::bad_param("hop_s", self.hop_s, "seconds in (0, 10]"));
        }
        if !(0.0..=1.0).contains(&self.melody_weight) {
            return Err(Error::bad_param("melody_weight", self.melody_weight, "a share in [0, 1]"));
        }
        if !(self.silence_db.is_finite() && self.silence_db <= 0.0) {
            return Err(Error::bad_param("silence_db", self.silence_db, "dBFS <= 0"));
        }
        Ok(())
    }

    /// The timing of matching frames over features `feature_hop_s` apart.
    pub fn clock(&self, feature_hop_s: f64) -> FrameClock {
        FrameClock::new(feature_hop_s, self.hop_s)
    }
}

/// A track's matching frames, each of unit length or zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchSequence {
    /// The frames.
    pub frames: Vec<Frame>,
    /// Where the frames lie in time.
    pub clock: FrameClock,
    /// Seconds the features cover: feature frame n spans n ± 0.5 hops, so the last one ends
    /// half a hop after its centre. No span may end later.
    pub covered_s: f64,
}

impl MatchSequence {
    /// Builds the matching sequence of `features`.
    pub fn new(features: &Features, cfg: &SequenceConfig) -> Self {
        let clock = cfg.clock(features.hop_s);
        let factor = clock.factor();
        let n_in = features.chroma.len();
        let n_out = n_in.div_ceil(factor);
        let mel_w = cfg.melody_weight.sqrt();
        let chr_w = (1.0 - cfg.melody_weight).sqrt();
        let mut frames = Vec::with_capacity(n_out);
        for k in 0..n_out {
            // Average over a window twice the hop, centred on the block, so that a note
            // straddling two blocks is seen by both.
            let lo = (k * factor).saturating_sub(factor / 2);
            let hi = ((k + 1) * factor + factor / 2).min(n_in);
            let mut mel = [0f32; 12];
            let mut chr = [0f32; 12];
            let mut voiced = 0usize;
            for n in lo..hi {
                let loud = features.energy_db.get(n).is_none_or(|&db| db >= cfg.silence_db);
                if !loud {
                    continue;
                }
                voiced += 1;
                if let Some(m) = features.melody.get(n) {
                    add(&mut mel, m);
                }
                add(&mut chr, &features.chroma[n]);
            }
            let mut frame = [0f32; DIM];
            if voiced > 0 {
                // Subtracting the mean keeps only the pitch classes that stand out, which lowers
                // the similarity of unrelated frames far more than that of matching ones.
                let mel = emphasise(mel);
                let chr = emphasise(chr);
                let chr_block = scale_unit(chr, chr_w);
                let (mel_block, chr_block) = if mel.iter().all(|&v| v == 0.0) {
                    // No predominant line: the harmony alone describes the frame.
                    ([0f32; 12], scale_unit(chr, 1.0))
                } else {
                    (scale_unit(mel, mel_w), chr_block)
                };
                frame[..12].copy_from_slice(&mel_block);
                frame[12..].copy_from_slice(&chr_block);
            }
            frames.push(frame);
        }
        Self { frames, clock, covered_s: clock.covered_s(n_in) }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the sequence has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Seconds between frames.
    pub fn hop_s(&self) -> f64 {
        self.clock.hop_s()
    }

    /// Start time in seconds of matching frame `k` (may be a fractional frame).
    pub fn time_of(&self, k: f64) -> f64 {
        self.clock.time_of(k)
    }
}

fn add(acc: &mut [f32; 12], v: &[f32; 12]) {
    for (a, x) in acc.iter_mut().zip(v) {
        if x.is_finite() {
            *a += x;
        }
    }
}

fn emphasise(v: [f32; 12]) -> [f32; 12] {
    let mean = v.iter().sum::<f32>() / 12.0;
    v.map(|x| (x - mean).max(0.0))
}

fn scale_unit(v: [f32; 12], weight: f32) -> [f32; 12] {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm <= f32::EPSILON {
        return [0.0; 12];
    }
    v.map(|x| x / norm * weight)
}

/// `frames` summed over blocks of `factor` and scaled to unit length (zero where a block is
/// silent): a coarser copy of a sequence for a cheaper first pass of a search.
pub fn coarsen(frames: &[Frame], factor: usize) -> Vec<Frame> {
    frames
        .chunks(factor.max(1))
        .map(|block| {
            let mut sum = [0f32; DIM];
            for f in block {
                for (s, v) in sum.iter_mut().zip(f) {
                    *s += v;
                }
            }
            let norm = dot(&sum, &sum).sqrt();
            if norm <= f32::EPSILON { [0.0; DIM] } else { sum.map(|v| v / norm) }
        })
        .collect()
}

/// `frame` transposed down by `shift` semitones: pitch class `c` of the result is `c + shift`
/// of the input, so a frame of music transposed up by `shift` rotates back onto the original.
pub fn rotate(frame: &Frame, shift: usize) -> Frame {
    let shift = shift % 12;
    let mut out = [0f32; DIM];
    for block in [0, 12] {
        out[block..block + 12 - shift].copy_from_slice(&frame[block + shift..block + 12]);
        out[block + 12 - shift..block + 12].copy_from_slice(&frame[block..block + shift]);
    }
    out
}

/// `frames` as the rows of a matrix, for similarities taken by one matrix product.
pub fn frame_matrix(frames: &[Frame]) -> ndarray::Array2<f32> {
    ndarray::Array2::from_shape_fn((frames.len(), DIM), |(r, d)| frames[r][d])
}

/// Dot product of two matching frames (their cosine similarity, both being unit or zero).
///
/// Summed in four lanes, then the lanes pairwise: one long chain of additions, which the
/// compiler may not reorder, would wait on each add in turn, and traces take millions of these.
#[inline]
pub fn dot(a: &Frame, b: &Frame) -> f32 {
    const LANES: usize = 4;
    let mut acc = [0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

/// Made-up matching frames with known answers, for the tests of this layer and the ones above.
#[cfg(test)]
pub(crate) mod testing {
    use super::{DIM, Frame, MatchSequence, dot};
    use crate::similarity::clock::FrameClock;

    /// Seconds between the frames of [`sequence`].
    pub(crate) const HOP_S: f64 = 0.2;

    /// `frames` as a matching sequence at the matcher's default hop.
    pub(crate) fn sequence(frames: Vec<Frame>) -> MatchSequence {
        let covered_s = frames.len() as f64 * HOP_S;
        MatchSequence { frames, clock: FrameClock::new(HOP_S, HOP_S), covered_s }
    }

    /// `n` pseudo-random 64-bit values from `seed` (xorshift), the same for the same seed.
    pub(crate) fn random_bits(n: usize, seed: u64) -> Vec<u64> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            })
            .collect()
    }

    /// A deterministic pseudo-random melody-like sequence (xorshift, fixed seed): one note a
    /// frame in the harmony half, a note and its third in the melody half.
    pub(crate) fn random_frames(n: usize, seed: u64) -> Vec<Frame> {
        let mut bits = random_bits(2 * n, seed).into_iter();
        let mut next = || bits.next().unwrap_or(0);
        (0..n)
            .map(|_| {
                let mut f = [0f32; DIM];
                let p = (next() % 12) as usize;
                let q = (next() % 12) as usize;
                f[p] = 0.8;
                f[12 + q] = 0.5;
                f[12 + (q + 4) % 12] = 0.3;
                let n = dot(&f, &f).sqrt();
                f.map(|v| v / n)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(chroma: Vec<[f32; 12]>) -> Features {
        let n = chroma.len();
        Features {
            hop_s: 0.1,
            tuning_cents: 0.0,
            melody: chroma.clone(),
            chroma,
            energy_db: vec![-20.0; n],
            ..Features::default()
        }
    }

    #[test]
    fn frames_are_unit_or_zero() {
        let mut chroma = vec![[0f32; 12]; 30];
        for (k, c) in chroma.iter_mut().enumerate().skip(10) {
            c[k % 12] = 1.0;
            c[(k + 4) % 12] = 0.5;
        }
        let cfg = SequenceConfig { hop_s: 0.3, ..SequenceConfig::default() };
        let seq = MatchSequence::new(&features(chroma), &cfg);
        assert_eq!(seq.clock.factor(), 3);
        assert_eq!(seq.len(), 10);
        assert!(seq.frames[0].iter().all(|&v| v == 0.0));
        for f in &seq.frames[4..] {
            assert!((dot(f, f) - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn coarse_frames_are_unit_or_zero_and_follow_their_blocks() {
        let mut a = [0f32; DIM];
        a[0] = 1.0;
        let mut b = [0f32; DIM];
        b[12 + 4] = 1.0;
        let frames = vec![a, a, b, b, [0.0; DIM], [0.0; DIM], a];
        let coarse = coarsen(&frames, 2);
        assert_eq!(coarse.len(), 4);
        assert_eq!(coarse[0], a);
        assert_eq!(coarse[1], b);
        assert!(coarse[2].iter().all(|&v| v == 0.0), "a silent block stays silent");
        assert_eq!(coarse[3], a, "a last, shorter block");
        let mixed = coarsen(&[a, b], 2)[0];
        assert!((dot(&mixed, &mixed) - 1.0).abs() < 1e-6);
        assert!((mixed[0] - mixed[16]).abs() < 1e-6 && mixed[0] > 0.7);
    }

    #[test]
    fn rotation_undoes_transposition() {
        let mut a = [0f32; DIM];
        a[0] = 1.0; // C in the melody block
        a[12 + 7] = 1.0; // G in the harmony block
        let mut up2 = [0f32; DIM];
        up2[2] = 1.0;
        up2[12 + 9] = 1.0;
        assert_eq!(rotate(&up2, 2), a);
    }
}
