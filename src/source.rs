//! The interface between decoding and feature extraction: a stream of mono sample blocks.

use crate::error::Result;

/// `v`, or 0 when it is infinite or NaN, so that one bad sample cannot poison a whole frame.
/// (Bit operations only, exponent all ones meaning infinite or NaN: unlike a branch on
/// `is_finite`, this runs in vector lanes.)
#[inline]
pub fn finite_or_zero(v: f32) -> f32 {
    const EXPONENT: u32 = 0x7f80_0000;
    let bits = v.to_bits();
    let keep = u32::from(bits & EXPONENT != EXPONENT).wrapping_neg();
    f32::from_bits(bits & keep)
}

/// A source of mono audio, delivered block by block so memory stays flat however long it is.
pub trait SampleSource {
    /// Samples per second.
    fn sample_rate(&self) -> u32;
    /// The next block of mono samples, or `None` at the end. Samples are finite.
    ///
    /// # Errors
    /// When the underlying data cannot be read or decoded.
    fn next_block(&mut self) -> Result<Option<&[f32]>>;
}

/// Mono samples held in memory, served in fixed-size blocks (tests, benches, synthesis).
#[derive(Debug, Clone)]
pub struct MemorySource {
    samples: Vec<f32>,
    sample_rate: u32,
    block: usize,
    pos: usize,
}

impl MemorySource {
    /// Serves `samples` at `sample_rate` in blocks of 4096 samples.
    pub fn new(samples: Vec<f32>, sample_rate: u32) -> Self {
        Self::with_block(samples, sample_rate, 4096)
    }

    /// Serves `samples` in blocks of `block` samples (at least 1); a non-finite sample is served
    /// as 0, as the trait promises.
    pub fn with_block(mut samples: Vec<f32>, sample_rate: u32, block: usize) -> Self {
        samples.iter_mut().for_each(|v| *v = finite_or_zero(*v));
        Self { samples, sample_rate, block: block.max(1), pos: 0 }
    }
}

impl SampleSource for MemorySource {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.pos + self.block).min(self.samples.len());
        let start = std::mem::replace(&mut self.pos, end);
        Ok(Some(&self.samples[start..end]))
    }
}
