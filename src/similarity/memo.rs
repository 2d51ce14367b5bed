//! Reuse of pairwise matching between runs: what identifies one pair's matching, and its stored
//! seeds and alignments, encoded and checked.
//!
//! Seeding a pair (the tiled cross-similarity) is most of the cost of `analyze`, and its result
//! does not depend on the threshold beyond a cut: the seeds found at one threshold contain, exactly,
//! those of any stricter one ([`Seeds::at`]). So a pair's entry keeps its seeds with the threshold
//! they were found at, and the alignments traced at the last threshold used: the same threshold
//! again reuses the alignments, a stricter one traces the kept seeds, a looser one seeds afresh.
//! Whole searches, version searches and each sequence's phrase cut are kept beside them, each
//! under a key of everything it depends on.

use super::align::{AlignConfig, Alignment, Seed, Seeds};
use super::sequence::Frame;
use super::versions::{PathPoint, VersionLink};

/// Revision of the matcher's seeding and tracing. Raise it whenever a change gives other seeds or
/// alignments for the same sequences and parameters, so that older entries are not used.
pub const MATCHER_REVISION: u32 = 2;

const MAGIC: &[u8; 8] = b"LMMATCH1";

const SCAN_MAGIC: &[u8; 8] = b"LMSCAN01";

/// Magic of a stored version search ([`encode_version`]).
const VERSION_MAGIC: &[u8; 8] = b"LMVERS01";

/// What happened to one pair of a run that has a [`MatchStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairOutcome {
    /// The stored alignments were used as they are.
    Reused,
    /// The stored seeds were traced at a stricter threshold.
    Retraced,
    /// The pair was matched afresh (no entry, or one made at a looser threshold).
    Computed,
    /// An entry was found but refused (damaged, or not made for these sequences); the pair was
    /// matched afresh.
    Damaged,
}

/// Where pairwise matching is kept between runs. Storing must never fail a run: a store keeps
/// its own count of what it could not write.
pub trait MatchStore: Sync {
    /// The bytes stored under `key`, if any.
    fn load(&self, key: &[u8; 32]) -> Option<Vec<u8>>;
    /// Stores `bytes` under `key`, replacing what was there.
    fn store(&self, key: &[u8; 32], bytes: &[u8]);
    /// Told what happened to each pair, for the run's statistics.
    fn record(&self, outcome: PairOutcome);
    /// The bytes of the whole search ([`encode_scan`]), version search ([`encode_version`]) or
    /// phrase cut ([`encode_phrases`]) stored under `key`, if any.
    fn load_scan(&self, key: &[u8; 32]) -> Option<Vec<u8>>;
    /// Stores a whole search's, a version search's or a phrase cut's `bytes` under `key`,
    /// replacing what was there.
    fn store_scan(&self, key: &[u8; 32], bytes: &[u8]);
}

/// Content digest of a matching sequence and its frame period.
pub fn sequence_digest(frames: &[Frame], hop_s: f64) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&hop_s.to_le_bytes());
    h.update(&(frames.len() as u64).to_le_bytes());
    for frame in frames {
        for v in frame {
            h.update(&v.to_le_bytes());
        }
    }
    *h.finalize().as_bytes()
}

/// Key of the entry of `a` aligned against `b`: their digests and every alignment parameter
/// except the threshold, which the entry records.
pub fn pair_key(a: &[u8; 32], b: &[u8; 32], same: bool, cfg: &AlignConfig) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(MAGIC);
    h.update(&MATCHER_REVISION.to_le_bytes());
    h.update(a);
    h.update(b);
    h.update(&[u8::from(same)]);
    h.update(&(cfg.len as u64).to_le_bytes());
    h.update(&(cfg.tempos.len() as u64).to_le_bytes());
    for t in &cfg.tempos {
        h.update(&t.to_le_bytes());
    }
    h.update(&(cfg.shifts.len() as u64).to_le_bytes());
    for s in &cfg.shifts {
        h.update(&(*s as u64).to_le_bytes());
    }
    *h.finalize().as_bytes()
}

/// One pair's stored matching.
#[derive(Debug, Clone, PartialEq)]
pub struct PairEntry {
    /// The seeds, with the threshold they were found at.
    pub seeds: Seeds,
    /// The threshold `alignments` were traced at.
    pub traced_at: f32,
    /// The alignments traced from the seeds that clear `traced_at`.
    pub alignments: Vec<Alignment>,
}

impl PairEntry {
    /// The entry as bytes: a magic tag, a checksum of the rest, the key, then the entry.
    pub fn encode(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut body = Vec::with_capacity(64 + 21 * self.seeds.list.len() + 41 * self.alignments.len());
        body.extend_from_slice(key);
        body.extend_from_slice(&self.seeds.threshold.to_le_bytes());
        body.push(u8::from(self.seeds.capped));
        body.extend_from_slice(&(self.seeds.list.len() as u32).to_le_bytes());
        for s in &self.seeds.list {
            body.extend_from_slice(&(s.i as u32).to_le_bytes());
            body.extend_from_slice(&(s.j as u32).to_le_bytes());
            body.push(s.shift as u8);
            for v in [s.tempo, s.value, s.background] {
                body.extend_from_slice(&v.to_le_bytes());
            }
        }
        body.extend_from_slice(&self.traced_at.to_le_bytes());
        body.extend_from_slice(&(self.alignments.len() as u32).to_le_bytes());
        for al in &self.alignments {
            body.extend_from_slice(&(al.a_start as u32).to_le_bytes());
            body.extend_from_slice(&(al.a_end as u32).to_le_bytes());
            body.extend_from_slice(&al.b_start.to_le_bytes());
            body.extend_from_slice(&al.b_end.to_le_bytes());
            body.push(al.shift as u8);
            body.extend_from_slice(&al.tempo.to_le_bytes());
            body.extend_from_slice(&al.score.to_le_bytes());
            body.extend_from_slice(&al.distinct.to_le_bytes());
        }
        seal(MAGIC, &body)
    }

    /// The entry in `bytes`, if they are a sound entry for `key` whose positions fit sequences of
    /// `a_len` and `b_len` frames; `None` for anything else (cut short, altered, foreign).
    pub fn decode(bytes: &[u8], key: &[u8; 32], a_len: usize, b_len: usize) -> Option<Self> {
        let mut r = unseal(bytes, MAGIC, key)?;
        let body = r.0;
        let threshold = r.f32()?;
        let capped = r.u8()? != 0;
        let n = r.u32()? as usize;
        let mut list = Vec::with_capacity(n.min(body.len() / 21));
        for _ in 0..n {
            let (i, j, shift) = (r.u32()? as usize, r.u32()? as usize, r.u8()? as usize);
            let (tempo, value, background) = (r.f32()?, r.f32()?, r.f32()?);
            let sound = i < a_len && j < b_len && shift < 12 && tempo > 0.0 && tempo.is_finite();
            if !(sound && value.is_finite() && background.is_finite()) {
                return None;
            }
            list.push(Seed { i, j, shift, tempo, value, background });
        }
        let traced_at = r.f32()?;
        let n = r.u32()? as usize;
        let mut alignments = Vec::with_capacity(n.min(body.len() / 41));
        for _ in 0..n {
            let (a_start, a_end) = (r.u32()? as usize, r.u32()? as usize);
            let (b_start, b_end, shift, tempo) = (r.f64()?, r.f64()?, r.u8()? as usize, r.f64()?);
            let (score, distinct) = (r.f32()?, r.f32()?);
            let sound = a_start < a_end && a_end <= a_len && shift < 12 && tempo > 0.0;
            let finite = [b_start, b_end, tempo].iter().all(|v| v.is_finite()) && score.is_finite();
            if !(sound && finite && distinct.is_finite()) {
                return None;
            }
            alignments.push(Alignment { a_start, a_end, b_start, b_end, shift, tempo, score, distinct });
        }
        if !r.0.is_empty() || !threshold.is_finite() || !traced_at.is_finite() {
            return None;
        }
        Some(Self { seeds: Seeds { threshold, capped, list }, traced_at, alignments })
    }
}

/// The places a whole search of one span found, as stored: `(sequence, start, end, shift, tempo,
/// score)` with start and end in frames of that sequence.
pub type ScanPlace = (usize, f64, f64, usize, f64, f32);

/// Key of a whole search of frames `first..last` of the sequence with digest `span_of`, over the
/// sequences with `digests` (in order), with `settings` naming every other thing the result
/// depends on (tempo grid, frames read, the chance level's parameters).
pub fn scan_key(span_of: &[u8; 32], first: usize, last: usize, digests: &[[u8; 32]], settings: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(SCAN_MAGIC);
    h.update(&MATCHER_REVISION.to_le_bytes());
    h.update(span_of);
    h.update(&(first as u64).to_le_bytes());
    h.update(&(last as u64).to_le_bytes());
    h.update(&(digests.len() as u64).to_le_bytes());
    for d in digests {
        h.update(d);
    }
    h.update(settings);
    *h.finalize().as_bytes()
}

/// A whole search's places as bytes under `key` (see [`PairEntry::encode`] for the framing).
pub fn encode_scan(places: &[ScanPlace], key: &[u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(36 + 37 * places.len());
    body.extend_from_slice(key);
    body.extend_from_slice(&(places.len() as u32).to_le_bytes());
    for &(seq, start, end, shift, tempo, score) in places {
        body.extend_from_slice(&(seq as u32).to_le_bytes());
        body.extend_from_slice(&start.to_le_bytes());
        body.extend_from_slice(&end.to_le_bytes());
        body.push(shift as u8);
        body.extend_from_slice(&tempo.to_le_bytes());
        body.extend_from_slice(&score.to_le_bytes());
    }
    seal(SCAN_MAGIC, &body)
}

/// The places in `bytes`, if they are a sound entry for `key` over `sequences` sequences; `None`
/// for anything else.
pub fn decode_scan(bytes: &[u8], key: &[u8; 32], sequences: usize) -> Option<Vec<ScanPlace>> {
    let mut r = unseal(bytes, SCAN_MAGIC, key)?;
    let n = r.u32()? as usize;
    let mut places = Vec::with_capacity(n.min(bytes.len() / 37));
    for _ in 0..n {
        let (seq, start, end, shift, tempo, score) =
            (r.u32()? as usize, r.f64()?, r.f64()?, r.u8()? as usize, r.f64()?, r.f32()?);
        let sound = seq < sequences && shift < 12 && start.is_finite() && end >= start && tempo > 0.0;
        if !(sound && end.is_finite() && tempo.is_finite() && score.is_finite()) {
            return None;
        }
        places.push((seq, start, end, shift, tempo, score));
    }
    r.0.is_empty().then_some(places)
}

/// Magic of a stored phrase cut of one sequence ([`encode_phrases`]).
const PHRASES_MAGIC: &[u8; 8] = b"LMPHRS01";

/// One place of a phrase theme within its sequence, as stored: start and end seconds, key shift,
/// tempo ratio to the theme's first place, score.
pub type PhrasePlace = (f64, f64, i32, f64, f32);

/// What cutting one sequence into phrases found: its phrase length in seconds (`None` when it
/// was not cut) and its themes, each a list of places.
pub type PhraseEntry = (Option<f64>, Vec<Vec<PhrasePlace>>);

/// Key of the phrase cut of the sequence with digest `of` under `settings` (every parameter
/// the cut depends on).
pub fn phrases_key(of: &[u8; 32], settings: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(PHRASES_MAGIC);
    h.update(&MATCHER_REVISION.to_le_bytes());
    h.update(of);
    h.update(settings);
    *h.finalize().as_bytes()
}

/// A sequence's phrase cut as stored bytes.
pub fn encode_phrases(entry: &PhraseEntry, key: &[u8; 32]) -> Vec<u8> {
    let (level, themes) = entry;
    let places: usize = themes.iter().map(Vec::len).sum();
    let mut body = Vec::with_capacity(32 + 13 + 4 * themes.len() + 32 * places);
    body.extend_from_slice(key);
    body.push(u8::from(level.is_some()));
    body.extend_from_slice(&level.unwrap_or(0.0).to_le_bytes());
    body.extend_from_slice(&(themes.len() as u32).to_le_bytes());
    for theme in themes {
        body.extend_from_slice(&(theme.len() as u32).to_le_bytes());
        for &(start, end, transpose, tempo, score) in theme {
            body.extend_from_slice(&start.to_le_bytes());
            body.extend_from_slice(&end.to_le_bytes());
            body.extend_from_slice(&transpose.to_le_bytes());
            body.extend_from_slice(&tempo.to_le_bytes());
            body.extend_from_slice(&score.to_le_bytes());
        }
    }
    seal(PHRASES_MAGIC, &body)
}

/// The phrase cut in `bytes`, if they are a sound entry for `key`; `None` for anything else.
pub fn decode_phrases(bytes: &[u8], key: &[u8; 32]) -> Option<PhraseEntry> {
    let mut r = unseal(bytes, PHRASES_MAGIC, key)?;
    let (cut, level) = (r.u8()?, r.f64()?);
    let level = match cut {
        0 => None,
        1 if level.is_finite() && level > 0.0 => Some(level),
        _ => return None,
    };
    let n = r.u32()? as usize;
    let mut themes = Vec::with_capacity(n.min(bytes.len() / 4));
    for _ in 0..n {
        let m = r.u32()? as usize;
        let mut theme = Vec::with_capacity(m.min(bytes.len() / 32));
        for _ in 0..m {
            let place = (r.f64()?, r.f64()?, i32::from_le_bytes(r.array()?), r.f64()?, r.f32()?);
            let (start, end, transpose, tempo, score) = place;
            let sound = start.is_finite() && end.is_finite() && end >= start && (-11..=11).contains(&transpose);
            if !(sound && tempo.is_finite() && tempo > 0.0 && score.is_finite()) {
                return None;
            }
            theme.push(place);
        }
        themes.push(theme);
    }
    r.0.is_empty().then_some((level, themes))
}

/// Key of the version search of `a` against `b` (their digests) under `settings` (the search's
/// parameters, [`crate::similarity::versions::VersionConfig::settings`]).
pub fn version_key(a: &[u8; 32], b: &[u8; 32], settings: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(VERSION_MAGIC);
    h.update(a);
    h.update(b);
    h.update(settings);
    *h.finalize().as_bytes()
}

/// A version search's outcome as stored bytes: whether a link was found, and the link.
pub fn encode_version(link: Option<&VersionLink>, key: &[u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(32 + 64 + 20 * link.map_or(0, |l| l.path.len()));
    body.extend_from_slice(key);
    if let Some(l) = link {
        body.push(1);
        body.push(l.shift as u8);
        for v in [l.aligned_s, l.chance_s, l.a_span.0, l.a_span.1, l.b_span.0, l.b_span.1] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(&(l.path.len() as u32).to_le_bytes());
        for p in &l.path {
            body.extend_from_slice(&p.a_s.to_le_bytes());
            body.extend_from_slice(&p.b_s.to_le_bytes());
            body.extend_from_slice(&p.similarity.to_le_bytes());
        }
    } else {
        body.push(0);
    }
    seal(VERSION_MAGIC, &body)
}

/// The outcome in `bytes`, if they are a sound entry for `key`: `Some(None)` where the search
/// found no link; `None` for anything else.
pub fn decode_version(bytes: &[u8], key: &[u8; 32]) -> Option<Option<VersionLink>> {
    let mut r = unseal(bytes, VERSION_MAGIC, key)?;
    if r.u8()? == 0 {
        return r.0.is_empty().then_some(None);
    }
    let shift = r.u8()? as usize;
    let (aligned_s, chance_s) = (r.f64()?, r.f64()?);
    let (a_span, b_span) = ((r.f64()?, r.f64()?), (r.f64()?, r.f64()?));
    let n = r.u32()? as usize;
    let mut path = Vec::with_capacity(n.min(bytes.len() / 20));
    for _ in 0..n {
        let p = PathPoint { a_s: r.f64()?, b_s: r.f64()?, similarity: r.f32()? };
        let increasing = path.last().is_none_or(|q: &PathPoint| p.a_s > q.a_s && p.b_s > q.b_s);
        if !(p.a_s.is_finite() && p.b_s.is_finite() && p.similarity.is_finite() && increasing) {
            return None;
        }
        path.push(p);
    }
    let sound = shift < 12
        && path.len() >= 2
        && [aligned_s, chance_s, a_span.0, a_span.1, b_span.0, b_span.1].iter().all(|v| v.is_finite());
    (sound && r.0.is_empty()).then_some(Some(VersionLink { shift, path, aligned_s, chance_s, a_span, b_span }))
}

/// `magic`, a checksum of `body`, then `body` (which begins with the entry's key): the framing
/// of every stored entry of the similarity layer.
pub(crate) fn seal(magic: &[u8; 8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + 32 + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(blake3::hash(body).as_bytes());
    out.extend_from_slice(body);
    out
}

/// The body of a [`seal`]ed entry after its key, if `bytes` carry `magic`, a sound checksum and
/// `key`.
pub(crate) fn unseal<'a>(bytes: &'a [u8], magic: &[u8; 8], key: &[u8; 32]) -> Option<Reader<'a>> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let (sum, body) = rest.split_at_checked(32)?;
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Reader(body);
    (r.take(32)? == key).then_some(r)
}

/// Reads little-endian values off the front of a byte slice.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn f32(&mut self) -> Option<f32> {
        self.array().map(f32::from_le_bytes)
    }

    fn f64(&mut self) -> Option<f64> {
        self.array().map(f64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> PairEntry {
        let seed = |i, value| Seed { i, j: i + 40, shift: 3, tempo: 1.12, value, background: 0.4 };
        PairEntry {
            seeds: Seeds { threshold: 0.3, capped: false, list: vec![seed(5, 0.9), seed(9, 0.7), seed(2, 0.6)] },
            traced_at: 0.4,
            alignments: vec![Alignment {
                a_start: 5,
                a_end: 30,
                b_start: 44.5,
                b_end: 72.5,
                shift: 3,
                tempo: 1.12,
                score: 0.8,
                distinct: 0.9,
            }],
        }
    }

    #[test]
    fn entries_round_trip_exactly() {
        let key = [7u8; 32];
        let bytes = entry().encode(&key);
        assert_eq!(PairEntry::decode(&bytes, &key, 100, 100), Some(entry()));
    }

    #[test]
    fn damaged_foreign_or_misfit_entries_are_refused() {
        let key = [7u8; 32];
        let bytes = entry().encode(&key);
        assert_eq!(PairEntry::decode(&bytes[..bytes.len() / 2], &key, 100, 100), None);
        assert_eq!(PairEntry::decode(&bytes[..bytes.len() - 1], &key, 100, 100), None);
        for at in [3, 20, 60, bytes.len() - 3] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert_eq!(PairEntry::decode(&flipped, &key, 100, 100), None, "flipped byte {at}");
        }
        assert_eq!(PairEntry::decode(&bytes, &[8u8; 32], 100, 100), None);
        // Positions beyond the sequences it is decoded for (a stale or foreign entry).
        assert_eq!(PairEntry::decode(&bytes, &key, 20, 100), None);
        assert_eq!(PairEntry::decode(&bytes, &key, 100, 45), None);
    }

    #[test]
    fn whole_search_entries_round_trip_and_refuse_what_does_not_fit() {
        let key = scan_key(&[1u8; 32], 10, 40, &[[1u8; 32], [2u8; 32]], b"settings");
        let places = vec![(0, 10.0, 40.0, 0, 1.0, 1.0), (1, 120.5, 152.0, 7, 1.06, 0.61)];
        let bytes = encode_scan(&places, &key);
        assert_eq!(decode_scan(&bytes, &key, 2), Some(places));
        assert_eq!(decode_scan(&bytes, &key, 1), None, "a place in a sequence it was not made for");
        assert_eq!(decode_scan(&bytes[..bytes.len() - 1], &key, 2), None);
        let mut flipped = bytes.clone();
        flipped[50] ^= 0x10;
        assert_eq!(decode_scan(&flipped, &key, 2), None);
        assert_eq!(decode_scan(&bytes, &[9u8; 32], 2), None);
        assert_ne!(key, scan_key(&[1u8; 32], 10, 41, &[[1u8; 32], [2u8; 32]], b"settings"));
        assert_ne!(key, scan_key(&[1u8; 32], 10, 40, &[[1u8; 32], [3u8; 32]], b"settings"));
        assert_ne!(key, scan_key(&[1u8; 32], 10, 40, &[[1u8; 32], [2u8; 32]], b"other"));
    }

    #[test]
    fn phrase_cut_entries_round_trip_cut_or_not_and_refuse_what_does_not_fit() {
        let key = phrases_key(&[1u8; 32], b"settings");
        let cut: PhraseEntry = (
            Some(8.4),
            vec![vec![(6.0, 26.0, 0, 1.0, 1.0), (46.2, 66.0, -2, 0.99, 0.71)], vec![(26.0, 46.0, 0, 1.0, 1.0)]],
        );
        let bytes = encode_phrases(&cut, &key);
        assert_eq!(decode_phrases(&bytes, &key), Some(cut));
        let uncut: PhraseEntry = (None, Vec::new());
        assert_eq!(decode_phrases(&encode_phrases(&uncut, &key), &key), Some(uncut));
        assert_eq!(decode_phrases(&bytes[..bytes.len() - 1], &key), None);
        let mut flipped = bytes.clone();
        flipped[70] ^= 0x10;
        assert_eq!(decode_phrases(&flipped, &key), None);
        assert_eq!(decode_phrases(&bytes, &[9u8; 32]), None);
        assert_ne!(key, phrases_key(&[2u8; 32], b"settings"));
        assert_ne!(key, phrases_key(&[1u8; 32], b"other"));
    }

    #[test]
    fn version_entries_round_trip_with_or_without_a_link_and_refuse_what_does_not_fit() {
        let key = version_key(&[1u8; 32], &[2u8; 32], b"settings");
        let point = |a_s, b_s| PathPoint { a_s, b_s, similarity: 0.75 };
        let link = VersionLink {
            shift: 5,
            path: vec![point(10.0, 12.0), point(11.0, 13.1), point(40.0, 45.5)],
            aligned_s: 30.4,
            chance_s: 8.8,
            a_span: (9.0, 41.0),
            b_span: (11.0, 46.5),
        };
        let bytes = encode_version(Some(&link), &key);
        assert_eq!(decode_version(&bytes, &key), Some(Some(link.clone())));
        assert_eq!(decode_version(&encode_version(None, &key), &key), Some(None));
        assert_eq!(decode_version(&bytes[..bytes.len() - 1], &key), None);
        let mut flipped = bytes.clone();
        flipped[60] ^= 0x10;
        assert_eq!(decode_version(&flipped, &key), None);
        assert_eq!(decode_version(&bytes, &[9u8; 32]), None);
        let backwards = VersionLink { path: link.path.iter().rev().copied().collect(), ..link };
        assert_eq!(decode_version(&encode_version(Some(&backwards), &key), &key), None, "a path that turns back");
        assert_ne!(key, version_key(&[2u8; 32], &[1u8; 32], b"settings"));
        assert_ne!(key, version_key(&[1u8; 32], &[2u8; 32], b"other"));
    }

    #[test]
    fn keys_change_with_content_and_parameters_but_not_threshold() {
        let cfg = AlignConfig { len: 15, tempos: vec![0.8, 1.0, 1.25], shifts: (0..12).collect(), threshold: 0.4 };
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let key = pair_key(&a, &b, false, &cfg);
        assert_eq!(key, pair_key(&a, &b, false, &AlignConfig { threshold: 0.6, ..cfg.clone() }));
        assert_ne!(key, pair_key(&b, &a, false, &cfg));
        assert_ne!(key, pair_key(&a, &b, true, &cfg));
        assert_ne!(key, pair_key(&a, &b, false, &AlignConfig { len: 16, ..cfg.clone() }));
        assert_ne!(key, pair_key(&a, &b, false, &AlignConfig { tempos: vec![1.0], ..cfg.clone() }));
        let frames = vec![[0.1f32; 24]; 10];
        let mut other = frames.clone();
        other[9][23] = 0.2;
        assert_ne!(sequence_digest(&frames, 0.2), sequence_digest(&other, 0.2));
        assert_ne!(sequence_digest(&frames, 0.2), sequence_digest(&frames, 0.1));
    }
}
