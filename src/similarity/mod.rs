//! Similarity between feature sequences: the layer `motif`, `find` and `cues` are built on.
//!
//! - [`clock`]: [`clock::FrameClock`], every conversion between times and frames.
//! - [`sequence`]: features resampled to the matching rate as melody + harmony frames, with the
//!   frame similarity ([`sequence::dot`]) and key rotation ([`sequence::rotate`]).
//! - [`align`]: tiled cross-similarity in all keys over a grid of tempi, the background of a
//!   tile, and the diagonal paths (alignments) that rise above it.
//! - [`scan`]: one whole span held against every start frame of a sequence, in all keys and
//!   over the tempo grid: the places where it recurs whole.
//! - [`memo`]: a pair of sequences' seeds and alignments, keyed for the cache.
//! - [`fingerprint`]: landmark hashes of spectral peaks and offset-locked evidence, for
//!   finding where a recording itself plays inside other audio.

pub mod align;
pub mod clock;
pub mod fingerprint;
pub mod memo;
pub mod scan;
pub mod sequence;
pub mod versions;

/// Maps a shift in semitones to the contract's range -5..=6.
pub fn wrap_shift(shift: i32) -> i32 {
    let s = shift.rem_euclid(12);
    if s > 6 { s - 12 } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_shift_covers_the_contract_range() {
        let wrapped: Vec<i32> = (-24..=24).map(wrap_shift).collect();
        assert!(wrapped.iter().all(|t| (-5..=6).contains(t)));
        assert_eq!(wrap_shift(6), 6);
        assert_eq!(wrap_shift(7), -5);
        assert_eq!(wrap_shift(-6), 6);
        assert_eq!(wrap_shift(-1), -1);
        assert_eq!(wrap_shift(11), -1);
        assert_eq!(wrap_shift(14), 2);
    }
}
