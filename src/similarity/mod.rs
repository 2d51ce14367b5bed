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

/// The value of rank `rank` (from 0, ascending in [`f32::total_cmp`] order) among `values`, as
/// a selection over the values themselves gives it; `keys` is scratch space reused between
/// calls. The values are selected as integers that sort as `total_cmp` sorts the floats, which
/// compare in one instruction where `total_cmp` takes several.
///
/// # Panics
/// When `rank` is not below the number of values.
pub fn select_total(values: &[f32], rank: usize, keys: &mut Vec<i32>) -> f32 {
    // `total_cmp`'s own key: negative floats have their magnitude bits flipped.
    let key = |v: f32| {
        let bits = v.to_bits() as i32;
        bits ^ ((((bits >> 31) as u32) >> 1) as i32)
    };
    keys.clear();
    keys.extend(values.iter().map(|&v| key(v)));
    let (_, &mut k, _) = keys.select_nth_unstable(rank);
    // The map is its own inverse (it keeps the sign bit).
    f32::from_bits(key(f32::from_bits(k as u32)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selecting_by_integer_keys_gives_the_value_a_total_order_selection_gives() {
        let mut keys = Vec::new();
        let specials = [0.0, -0.0, 1.0, -1.0, f32::MIN_POSITIVE, -f32::MIN_POSITIVE, f32::INFINITY, f32::NEG_INFINITY];
        for len in [1usize, 2, 9, 450, 2000] {
            // Values in -2..2, with the special ones among them.
            let mut values: Vec<f32> = sequence::testing::random_bits(len, len as u64)
                .into_iter()
                .map(|b| (b >> 40) as f32 / (1u64 << 22) as f32 - 2.0)
                .collect();
            for (v, s) in values.iter_mut().step_by(7).zip(specials.iter().cycle()) {
                *v = *s;
            }
            for rank in [0, len / 10, len / 2, len - 1] {
                let mut all = values.clone();
                let want = *all.select_nth_unstable_by(rank, f32::total_cmp).1;
                let got = select_total(&values, rank, &mut keys);
                assert_eq!(got.to_bits(), want.to_bits(), "len {len}, rank {rank}");
            }
        }
    }

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
