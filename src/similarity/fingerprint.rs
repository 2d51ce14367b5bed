//! Landmark fingerprints of spectral peaks, and offset-locked evidence that a recording plays
//! inside other audio.
//!
//! **Index.** A landmark pairs a fresh peak (one that was not sounding a frame earlier: a note's
//! onset) with a later fresh peak near it in time and frequency; its hash is (frequency of the
//! first, frequency difference, frames between them), in the way of Wang (2003) and audfprint.
//! The index maps each hash to the (track, frame) places it occurs. A query hashes its own
//! landmarks and votes on (track, query frame - track frame): a recording copied into the query
//! makes many votes at one offset, even when only the gaps between words of dialogue let its
//! peaks through.
//!
//! The votes at one offset are judged against the votes the same track gathers from the same
//! query at every offset ([`LandmarkIndex::query`]): a dense texture collides with dense speech
//! everywhere, and only votes bunched beyond that rate point at a copy.
//!
//! **Evidence.** Once a (track, offset) is known, the exact reference is known too, and whether
//! it sounds can be measured frame by frame: each of the track's strongest peaks either has a
//! peak of the query within one grid step (and one frame) or not. Under absence that happens
//! with the probability that the query's peaks cover a random step (high where speech is dense,
//! low in quiet scenes); under presence at least `hit_rate` of the rest are found as well. The
//! log-likelihood ratio of the two ([`raw_evidence`]) rises wherever the track is audible and
//! falls where it is not, but it takes peaks as independent, and they are not: a held note
//! finds its partials in frame after frame, a chord's partials fall together on a voice's
//! harmonics. So it only proposes where to look. What decides is rank: over a block of about
//! a second, how many of twenty decoy offsets of the same track (its own pitches and textures,
//! out of time with the query) gather as much evidence as the offset ([`decoy_ranks`]). For a
//! block taken at random, under absence the offset is one more decoy and takes each of the 21
//! ranks with the chance 1 / 21 (beats them all, is beaten by one, ...) whatever the query
//! holds. So which blocks are ranked must not depend on the offset's own evidence: blocks
//! picked where that evidence rose beat every decoy about a quarter of the time where only
//! dialogue plays, since the decoys went through no such choice. Cue detection ranks every
//! block where the track could play at a candidate's offset, and there the share is 0.0505
//! against 1 / 21 = 0.0476 (BENCHMARKS.md), so the acceptance threshold
//! ([`crate::cues::CueConfig::accept_nats`]) bounds the chance of a false cue as it says.

use std::io::{Read, Write};
use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::peaks::{Peak, PeakBins, SpectralPeaks};

/// Parameters of landmark hashing and of offset-locked evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FingerprintConfig {
    /// Fresh peaks a frame may anchor landmarks from, strongest first.
    pub anchors_per_frame: usize,
    /// Landmarks made from one anchor, nearest in time first.
    pub fan_out: usize,
    /// Longest time between the two peaks of a landmark, in frames.
    pub max_dt: usize,
    /// Largest frequency difference within a landmark, in grid steps.
    pub max_df: u16,
    /// A peak is fresh when the frame before had no peak within this many grid steps that was
    /// at most `fresh_db` weaker.
    pub fresh_steps: u16,
    /// See `fresh_steps`, dB.
    pub fresh_db: f32,
    /// Track peaks per frame that evidence is measured on, strongest first.
    pub evidence_peaks: usize,
    /// Share of the track's peaks beyond chance found in the query where the track sounds.
    pub hit_rate: f64,
}

impl Default for FingerprintConfig {
    /// - 6 anchors x 5 targets within 2 s and 1.5 octaves: about audfprint's density raised
    ///   tenfold per second of audio, so that a few seconds between lines of dialogue hold
    ///   enough landmarks.
    /// - `fresh_steps = 1`, `fresh_db = 6`: a partial that stays within 25 cents and does not
    ///   rise by 6 dB is the same note held, not a new one.
    /// - `evidence_peaks = 12`, `hit_rate = 0.3`: the partials of a chord and a melody; music
    ///   ducked under speech still shows a third of them between the voice's harmonics and in
    ///   its pauses.
    fn default() -> Self {
        Self {
            anchors_per_frame: 6,
            fan_out: 5,
            max_dt: 20,
            max_df: 72,
            fresh_steps: 1,
            fresh_db: 6.0,
            evidence_peaks: 12,
            hit_rate: 0.3,
        }
    }
}

impl FingerprintConfig {
    /// Checks every parameter against its valid range.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the first parameter out of range, its value and the bound.
    pub fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.anchors_per_frame) {
            return Err(Error::bad_param(
                "fingerprint.anchors_per_frame",
                self.anchors_per_frame.to_string(),
                "1..=64",
            ));
        }
        if !(1..=64).contains(&self.fan_out) {
            return Err(Error::bad_param("fingerprint.fan_out", self.fan_out.to_string(), "1..=64"));
        }
        if !(1..=MAX_DT).contains(&self.max_dt) {
            return Err(Error::bad_param("fingerprint.max_dt", self.max_dt.to_string(), "frames in 1..=63"));
        }
        if !(1..=MAX_DF).contains(&self.max_df) {
            return Err(Error::bad_param("fingerprint.max_df", self.max_df.to_string(), "grid steps in 1..=127"));
        }
        if !(self.fresh_db.is_finite() && self.fresh_db >= 0.0) {
            return Err(Error::bad_param("fingerprint.fresh_db", self.fresh_db.to_string(), "dB >= 0"));
        }
        if !(1..=256).contains(&self.evidence_peaks) {
            return Err(Error::bad_param("fingerprint.evidence_peaks", self.evidence_peaks.to_string(), "1..=256"));
        }
        if !(self.hit_rate.is_finite() && self.hit_rate > 0.0 && self.hit_rate < 1.0) {
            return Err(Error::bad_param("fingerprint.hit_rate", self.hit_rate.to_string(), "a share in (0, 1)"));
        }
        Ok(())
    }
}

const MAX_DT: usize = 63;
/// Hashes held in more places than this are not voted on.
const MAX_PLACES: usize = 200;
const _: () = assert!(MAX_PLACES <= u8::MAX as usize, "a landmark's places are counted in a byte");
const MAX_DF: u16 = 127;

/// One landmark: its hash and the frame of its first peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landmark {
    /// (first peak's step, frequency difference, frames between) packed into 30 bits.
    pub hash: u32,
    /// Frame of the first peak.
    pub frame: u32,
}

/// Bits of a hash below its first peak's step ([`pack`]).
const HASH_STEP_SHIFT: u32 = 14;

fn pack(bin: u16, df: i32, dt: usize) -> u32 {
    let df = (df + i32::from(MAX_DF)) as u32; // 0..=254
    (u32::from(bin) << HASH_STEP_SHIFT) | (df << 6) | dt as u32
}

/// The fresh peaks of every frame, strongest first.
fn fresh_peaks(peaks: &SpectralPeaks, cfg: &FingerprintConfig) -> Vec<Vec<Peak>> {
    (0..peaks.frames())
        .map(|k| {
            let before = if k == 0 { &[][..] } else { peaks.frame(k - 1) };
            peaks
                .frame(k)
                .iter()
                .filter(|p| {
                    !before.iter().any(|q| q.bin.abs_diff(p.bin) <= cfg.fresh_steps && q.db >= p.db - cfg.fresh_db)
                })
                .copied()
                .collect()
        })
        .collect()
}

/// The landmarks of a recording's peaks, in frame order.
pub fn landmarks(peaks: &SpectralPeaks, cfg: &FingerprintConfig) -> Vec<Landmark> {
    let fresh = fresh_peaks(peaks, cfg);
    let mut out = Vec::new();
    for (t, anchors) in fresh.iter().enumerate() {
        for a in anchors.iter().take(cfg.anchors_per_frame) {
            let mut made = 0;
            'targets: for dt in 1..=cfg.max_dt {
                let Some(targets) = fresh.get(t + dt) else { break };
                for b in targets.iter().take(cfg.anchors_per_frame) {
                    let df = i32::from(b.bin) - i32::from(a.bin);
                    if df.unsigned_abs() > u32::from(cfg.max_df) {
                        continue;
                    }
                    out.push(Landmark { hash: pack(a.bin, df, dt), frame: t as u32 });
                    made += 1;
                    if made == cfg.fan_out {
                        break 'targets;
                    }
                }
            }
        }
    }
    out
}

/// A landmark index of a set of tracks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandmarkIndex {
    /// The distinct hashes, ascending.
    hashes: Vec<u32>,
    /// Where the places of each hash begin in `places` (one more entry than `hashes`).
    starts: Vec<u32>,
    /// The (track, frame) of every landmark, grouped by hash, in track and frame order.
    places: Vec<(u32, u32)>,
    /// Frames of each track.
    track_frames: Vec<u32>,
}

/// Revision of landmark hashing. Raise it whenever a change gives other landmarks for the same
/// peaks and parameters, so that stored indexes are not used.
pub const INDEX_REVISION: u32 = 1;

const INDEX_MAGIC: &[u8; 8] = b"LMLMIDX1";

/// Where landmark indexes are kept between runs. Storing must never fail a run: a store keeps
/// its own count of what it could not write.
pub trait IndexStore: Sync {
    /// A reader of what is stored under `key`, if anything.
    fn open_index(&self, key: &[u8; 32]) -> Option<Box<dyn Read + '_>>;
    /// Stores what `write` writes under `key`, replacing what was there; nothing is kept when
    /// `write` fails.
    fn store_index(&self, key: &[u8; 32], write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>);
    /// Told whether an index was reused or built, for the run's statistics.
    fn record_index(&self, reused: bool);
}

/// Digest of one track's peaks, the part of [`index_key`] that track contributes.
pub fn peaks_digest(peaks: &SpectralPeaks) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    let mut bytes = Vec::with_capacity(8 + 4 * peaks.starts.len() + 6 * peaks.peaks.len());
    bytes.extend_from_slice(&(peaks.starts.len() as u64).to_le_bytes());
    peaks.starts.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    for p in &peaks.peaks {
        bytes.extend_from_slice(&p.bin.to_le_bytes());
        bytes.extend_from_slice(&p.db.to_le_bytes());
    }
    h.update(&bytes);
    *h.finalize().as_bytes()
}

/// Key of the index of tracks whose peaks have the digests `tracks` ([`peaks_digest`]), in
/// order, made with `cfg`: it changes with any track's peaks and with the parameters landmarks
/// depend on.
pub fn index_key(tracks: &[[u8; 32]], cfg: &FingerprintConfig) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(INDEX_MAGIC);
    h.update(&INDEX_REVISION.to_le_bytes());
    for v in [cfg.anchors_per_frame, cfg.fan_out, cfg.max_dt, usize::from(cfg.max_df), usize::from(cfg.fresh_steps)] {
        h.update(&(v as u64).to_le_bytes());
    }
    h.update(&cfg.fresh_db.to_le_bytes());
    h.update(&(tracks.len() as u64).to_le_bytes());
    for digest in tracks {
        h.update(digest);
    }
    *h.finalize().as_bytes()
}

/// Bytes read or written at a time when an index is stored or loaded.
const IO_CHUNK: usize = 1 << 16;

/// A reader that keeps the checksum of everything read through it.
struct Summed<'r> {
    inner: &'r mut dyn Read,
    sum: blake3::Hasher,
}

impl Read for Summed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }
}

/// `n` values of `size` bytes each read off `r`, a chunk at a time. Room grows with what
/// actually arrives, so a count that claims more than the entry holds costs nothing.
fn read_values<T>(r: &mut dyn Read, n: usize, size: usize, value: impl Fn(&[u8]) -> T) -> Option<Vec<T>> {
    let mut left = n.checked_mul(size)?;
    let mut out = Vec::with_capacity(n.min(IO_CHUNK));
    let mut buf = vec![0u8; IO_CHUNK - IO_CHUNK % size];
    while left > 0 {
        let k = left.min(buf.len());
        r.read_exact(&mut buf[..k]).ok()?;
        out.extend(buf[..k].chunks_exact(size).map(&value));
        left -= k;
    }
    Some(out)
}

fn read_u32(r: &mut dyn Read) -> Option<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes(b))
}

/// Writes `words` little-endian to `w` a chunk at a time.
fn write_words(w: &mut dyn Write, words: impl IntoIterator<Item = u32>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(IO_CHUNK);
    for v in words {
        buf.extend_from_slice(&v.to_le_bytes());
        if buf.len() >= IO_CHUNK {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

/// Votes for one (track, offset): query frame minus track frame.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetVotes {
    /// Index of the track in the indexed set.
    pub track: usize,
    /// Query frame minus track frame.
    pub offset: i64,
    /// Landmarks that agree on this offset or one either side.
    pub votes: usize,
    /// Query frames of the first and last vote of the burst least likely by chance.
    pub burst: (u32, u32),
    /// How unlikely that burst is by chance: minus the natural logarithm of the probability
    /// that hash collisions alone put as many votes at this offset in as many query frames.
    pub surprise: f64,
}

impl LandmarkIndex {
    /// Indexes the landmarks of every track's peaks; track `i` is `tracks[i]`.
    pub fn build(tracks: &[&SpectralPeaks], cfg: &FingerprintConfig) -> Self {
        let lists = tracks.par_iter().map(|peaks| landmarks(peaks, cfg)).collect();
        Self::from_landmarks(lists, tracks.iter().map(|p| p.frames() as u32).collect())
    }

    /// Indexes landmarks already made of each track's peaks ([`landmarks`]): track `i` has the
    /// landmarks `lists[i]` and `track_frames[i]` frames.
    pub fn from_landmarks(lists: Vec<Vec<Landmark>>, track_frames: Vec<u32>) -> Self {
        // Sorted by a bucket sort on the first peak's step (the hash's top bits), the lists
        // placed a track at a time and each freed once placed. Every bucket fills from its
        // front, so the zeroed arrays take memory only as they fill, and the landmarks are held
        // about once rather than as lists beside a sorted copy.
        let bucket = |hash: u32| (hash >> HASH_STEP_SHIFT) as usize;
        let buckets = lists.iter().flatten().map(|lm| bucket(lm.hash) + 1).max().unwrap_or(0);
        let mut edges = vec![0usize; buckets + 1];
        for lm in lists.iter().flatten() {
            edges[bucket(lm.hash) + 1] += 1;
        }
        for b in 0..buckets {
            edges[b + 1] += edges[b];
        }
        let total = edges[buckets];
        let mut all_hashes = vec![0u32; total];
        let mut all_places = vec![[0u32; 2]; total];
        let mut next = edges.clone();
        for (t, list) in lists.into_iter().enumerate() {
            for lm in list {
                let b = bucket(lm.hash);
                all_hashes[next[b]] = lm.hash;
                all_places[next[b]] = [t as u32, lm.frame];
                next[b] += 1;
            }
        }
        // Within a bucket by hash; the sort is stable, so each hash's places keep the track and
        // frame order they were placed in.
        let mut parts: Vec<(&mut [u32], &mut [[u32; 2]])> = Vec::with_capacity(buckets);
        let (mut hs, mut ps) = (&mut all_hashes[..], &mut all_places[..]);
        for b in 0..buckets {
            let n = edges[b + 1] - edges[b];
            let (h, h_rest) = hs.split_at_mut(n);
            let (p, p_rest) = ps.split_at_mut(n);
            parts.push((h, p));
            (hs, ps) = (h_rest, p_rest);
        }
        parts.into_par_iter().for_each(|(h, p)| {
            let mut pairs: Vec<(u32, [u32; 2])> = h.iter().copied().zip(p.iter().copied()).collect();
            pairs.sort_by_key(|&(hash, _)| hash);
            for ((hk, pk), (hash, place)) in h.iter_mut().zip(p.iter_mut()).zip(pairs) {
                (*hk, *pk) = (hash, place);
            }
        });
        let mut hashes = Vec::new();
        let mut starts = Vec::new();
        for (k, &hash) in all_hashes.iter().enumerate() {
            if hashes.last() != Some(&hash) {
                hashes.push(hash);
                starts.push(k as u32);
            }
        }
        starts.push(total as u32);
        drop(all_hashes);
        let places = all_places.into_iter().map(|[t, f]| (t, f)).collect();
        Self { hashes, starts, places, track_frames }
    }

    /// The index of `tracks` kept in `store` under their peaks and `cfg`, or built and stored
    /// there when it holds none (or a damaged one); says whether it came from the store.
    pub fn cached(tracks: &[&SpectralPeaks], cfg: &FingerprintConfig, store: &dyn IndexStore) -> (Self, bool) {
        let digests: Vec<[u8; 32]> = tracks.par_iter().map(|p| peaks_digest(p)).collect();
        let key = index_key(&digests, cfg);
        let frames: Vec<u32> = tracks.iter().map(|p| p.frames() as u32).collect();
        let Ok(found) =
            Self::load_or_build::<std::convert::Infallible>(&key, &frames, store, || Ok(Self::build(tracks, cfg)));
        found
    }

    /// The index `store` holds under `key` (see [`LandmarkIndex::load`]), or the one `build`
    /// makes, then stored there; says whether it came from the store, and tells the store.
    ///
    /// # Errors
    /// Whatever `build` returns.
    pub fn load_or_build<E>(
        key: &[u8; 32],
        track_frames: &[u32],
        store: &dyn IndexStore,
        build: impl FnOnce() -> std::result::Result<Self, E>,
    ) -> std::result::Result<(Self, bool), E> {
        if let Some(found) = Self::load(key, track_frames, store) {
            store.record_index(true);
            return Ok((found, true));
        }
        let built = build()?;
        built.save(key, store);
        store.record_index(false);
        Ok((built, false))
    }

    /// The index `store` holds under `key`, if it is a sound one made for tracks of exactly
    /// `track_frames` frames: a crafted entry with the right key and checksum must not point
    /// past a track.
    pub fn load(key: &[u8; 32], track_frames: &[u32], store: &dyn IndexStore) -> Option<Self> {
        let mut reader = store.open_index(key)?;
        Self::read(&mut reader, key).filter(|found| found.track_frames == track_frames)
    }

    /// Keeps the index in `store` under `key`.
    pub fn save(&self, key: &[u8; 32], store: &dyn IndexStore) {
        store.store_index(key, &|w| self.write(key, w));
    }

    /// Landmarks held.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether the index holds no landmark.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The places of `hash`.
    fn places_of(&self, hash: u32) -> &[(u32, u32)] {
        match self.hashes.binary_search(&hash) {
            Ok(i) => &self.places[self.starts[i] as usize..self.starts[i + 1] as usize],
            Err(_) => &[],
        }
    }

    /// The index as bytes: a magic tag, a checksum of the rest, `key`, then the arrays.
    pub fn encode(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write(key, &mut out);
        out
    }

    /// Writes the entry [`LandmarkIndex::encode`] makes to `w`, without holding it: the body is
    /// written twice, once into its checksum (which comes first) and once out.
    pub fn write(&self, key: &[u8; 32], w: &mut dyn Write) -> std::io::Result<()> {
        let mut sum = blake3::Hasher::new();
        self.write_body(key, &mut sum)?;
        w.write_all(INDEX_MAGIC)?;
        w.write_all(sum.finalize().as_bytes())?;
        self.write_body(key, w)
    }

    fn write_body(&self, key: &[u8; 32], w: &mut dyn Write) -> std::io::Result<()> {
        w.write_all(key)?;
        for list in [&self.track_frames, &self.hashes, &self.starts] {
            write_words(w, std::iter::once(list.len() as u32).chain(list.iter().copied()))?;
        }
        let places = self.places.iter().flat_map(|&(t, f)| [t, f]);
        write_words(w, std::iter::once(self.places.len() as u32).chain(places))
    }

    /// The index in `bytes`, if they are a sound entry for `key` (see [`LandmarkIndex::read`]).
    pub fn decode(bytes: &[u8], key: &[u8; 32]) -> Option<Self> {
        Self::read(&mut &bytes[..], key)
    }

    /// The index of the entry read from `r`, if it is a sound entry for `key`; `None` for
    /// anything else (cut short, altered, foreign, or arrays that do not fit together). Read a
    /// chunk at a time: the entry is never held whole beside the arrays it becomes.
    pub fn read(r: &mut dyn Read, key: &[u8; 32]) -> Option<Self> {
        let mut head = [0u8; 8 + 32];
        r.read_exact(&mut head).ok()?;
        let (magic, sum) = head.split_at(8);
        if magic != INDEX_MAGIC {
            return None;
        }
        let mut body = Summed { inner: r, sum: blake3::Hasher::new() };
        let mut stored = [0u8; 32];
        body.read_exact(&mut stored).ok()?;
        if &stored != key {
            return None;
        }
        let u32_at = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let list = |r: &mut Summed| -> Option<Vec<u32>> {
            let n = read_u32(r)? as usize;
            read_values(r, n, 4, u32_at)
        };
        let (track_frames, hashes, starts) = (list(&mut body)?, list(&mut body)?, list(&mut body)?);
        let n = read_u32(&mut body)? as usize;
        let places = read_values(&mut body, n, 8, |c| (u32_at(&c[..4]), u32_at(&c[4..])))?;
        // Nothing may follow, and the checksum must hold.
        let mut more = [0u8; 1];
        if body.read(&mut more).ok()? != 0 || body.sum.finalize().as_bytes() != sum {
            return None;
        }
        let fits = starts.len() == hashes.len() + 1
            && starts.first() == Some(&0)
            && starts.last() == Some(&(places.len() as u32))
            && starts.windows(2).all(|w| w[0] < w[1])
            && hashes.windows(2).all(|w| w[0] < w[1])
            && places.iter().all(|&(t, f)| track_frames.get(t as usize).is_some_and(|&n| f < n))
            // The query reads a part of the tracks from each hash's places by their order.
            && starts.windows(2).all(|w| {
                places.get(w[0] as usize..w[1] as usize).is_some_and(|p| p.windows(2).all(|q| q[0] <= q[1]))
            });
        fits.then_some(Self { hashes, starts, places, track_frames })
    }

    /// The `max_candidates` (track, offset) pairs least likely by chance that at least
    /// `min_votes` landmarks of `query` agree on (offsets one frame apart pooled into the most
    /// voted one), least likely first.
    ///
    /// Chance is measured per track: a track with dense textures collides with a talkative
    /// query at every offset, so a raw count of votes ranks its chance offsets above the true
    /// offset of a sparse track ducked under speech. The votes a track gathers from this query
    /// in all give its collision rate per (query landmark, track frame); the votes expected at
    /// one offset over a stretch of query frames follow from the query landmarks there, and a
    /// candidate's surprise is the Poisson tail of its densest burst of votes no longer than
    /// `max_burst` frames.
    pub fn query(
        &self,
        query: &SpectralPeaks,
        cfg: &FingerprintConfig,
        min_votes: usize,
        max_burst: u32,
        max_candidates: usize,
    ) -> Vec<OffsetVotes> {
        self.query_in_parts(query, cfg, (min_votes, max_burst, max_candidates), VOTES_PER_PART)
    }

    /// [`Self::query`], with the tracks' votes held for consecutive tracks of at most
    /// `part_votes` votes at a time (or one track), so memory does not grow with the number of
    /// tracks. Each part's candidates join the best so far; once `max_candidates` are held, an
    /// offset whose surprise is bounded below the weakest of them is not searched.
    fn query_in_parts(
        &self,
        query: &SpectralPeaks,
        cfg: &FingerprintConfig,
        (min_votes, max_burst, max_candidates): (usize, u32, usize),
        part_votes: usize,
    ) -> Vec<OffsetVotes> {
        let mut per_frame = vec![0u32; query.frames() + 1];
        let mut per_track = vec![0usize; self.track_frames.len()];
        // The places each usable query landmark points at, looked up once; the votes are
        // counted per track first so that each track's votes fill an array of exactly its size.
        let mut found: Vec<(u32, &[(u32, u32)])> = Vec::new();
        for lm in landmarks(query, cfg) {
            // A hash found in very many places (a held low note, a drum) says little about
            // where the query came from and would swamp the votes.
            let places = self.places_of(lm.hash);
            if places.len() > MAX_PLACES {
                continue;
            }
            per_frame[lm.frame as usize] += 1;
            for &(track, _) in places {
                per_track[track as usize] += 1;
            }
            found.push((lm.frame, places));
        }
        // Query landmarks before each frame.
        let mut before = vec![0u64; per_frame.len() + 1];
        for (j, &n) in per_frame.iter().enumerate() {
            before[j + 1] = before[j] + u64::from(n);
        }
        let all = before[per_frame.len()].max(1) as f64;
        let before = &before;
        let order = |x: &OffsetVotes, y: &OffsetVotes| {
            y.surprise.total_cmp(&x.surprise).then((x.track, x.offset).cmp(&(y.track, y.offset)))
        };
        let mut kept: Vec<OffsetVotes> = Vec::new();
        let mut first = 0;
        while first < per_track.len() {
            let mut end = first + 1;
            let mut held = per_track[first];
            while end < per_track.len() && held + per_track[end] <= part_votes {
                held += per_track[end];
                end += 1;
            }
            let tracks = first..end;
            first = end;
            // One word a vote, per track: the offset (shifted by the track's length, so never
            // negative) above the query frame, so that sorting makes each offset a run of
            // ascending frames. Places are sorted by track and parts come in track order, so
            // each part takes what is left of each landmark's places up to its last track. The
            // part's tracks are shared out between the threads, each filling its tracks' arrays
            // (made to their exact sizes) in query frame order; the last also counts what the
            // part took of each landmark's places.
            let groups = share_out(tracks.clone(), &per_track, rayon::current_num_threads());
            let found_now = &found;
            // The arrays are made here, on one thread: made on each filling thread instead, they
            // raised the peak of a run against 1,000 tracks by 8 MB.
            let mut votes: Vec<Vec<u64>> = tracks.clone().map(|t| Vec::with_capacity(per_track[t])).collect();
            let mut shares: Vec<(Range<usize>, &mut [Vec<u64>])> = Vec::with_capacity(groups.len());
            let mut rest = &mut votes[..];
            for group in groups {
                let (mine, after) = rest.split_at_mut(group.len());
                shares.push((group, mine));
                rest = after;
            }
            let taken: Vec<Vec<u8>> = shares
                .into_par_iter()
                .map(|(group, votes)| {
                    let last = group.end == tracks.end;
                    let mut taken = Vec::with_capacity(if last { found_now.len() } else { 0 });
                    for &(frame, places) in found_now {
                        let skip = places.iter().take_while(|p| (p.0 as usize) < group.start).count();
                        let n = places[skip..].iter().take_while(|p| (p.0 as usize) < group.end).count();
                        for &(track, at) in &places[skip..skip + n] {
                            let shifted =
                                u64::from(frame) + u64::from(self.track_frames[track as usize]) - u64::from(at);
                            votes[track as usize - group.start].push(shifted << 32 | u64::from(frame));
                        }
                        if last {
                            // At most `MAX_PLACES` places a landmark.
                            taken.push((skip + n) as u8);
                        }
                    }
                    taken
                })
                .collect();
            for taken in taken {
                for ((_, places), n) in found.iter_mut().zip(taken) {
                    *places = &places[n as usize..];
                }
            }
            // Each track's votes sorted, and the offsets that may become candidates with a
            // bound on their surprise.
            let sorted: Vec<Vec<u64>> = votes
                .into_par_iter()
                .zip(tracks.clone())
                .map(|(v, t)| sort_votes(v, query.frames() + self.track_frames[t] as usize))
                .collect();
            // Votes expected per query landmark at one offset of each track; three offsets
            // are pooled into each candidate. Chance votes are rare enough per frame (a few in
            // a hundred) that the votes expected stand for the voting frames expected.
            let rates: Vec<(f64, f64)> = tracks
                .clone()
                .zip(&sorted)
                .map(|(t, v)| {
                    let rate = 3.0 * v.len() as f64 / all / f64::from(self.track_frames[t].max(1));
                    (rate, rate.ln())
                })
                .collect();
            let expected = |local: usize| {
                let (rate, ln_rate) = rates[local];
                move |a: u32, b: u32| {
                    let landmarks = before[b as usize + 1] - before[a as usize];
                    (rate * landmarks as f64, ln_rate + ln_count(landmarks))
                }
            };
            let mut proposed: Vec<Proposal> = sorted
                .par_iter()
                .enumerate()
                .flat_map_iter(|(local, v)| {
                    let expected = expected(local);
                    let mut frames = Vec::new();
                    peak_offsets(v, min_votes).into_iter().map(move |(offset, pooled)| {
                        voting_frames(&v[pooled.clone()], &mut frames);
                        let bound = burst_bound(&frames, min_votes, max_burst, expected);
                        Proposal { bound, local, offset, pooled }
                    })
                })
                .collect();
            proposed.par_sort_unstable_by(|x, y| {
                y.bound.total_cmp(&x.bound).then((x.local, x.pooled.start).cmp(&(y.local, y.pooled.start)))
            });
            // The surest first, a batch at a time: once `max_candidates` are held, an offset
            // whose bound is below the weakest of them cannot displace it, nor can any after it.
            for batch in proposed.chunks(PROPOSALS_PER_BATCH) {
                let floor = if kept.len() >= max_candidates { kept.last().map_or(0.0, |c| c.surprise) } else { 0.0 };
                let live = batch.partition_point(|p| p.bound >= floor);
                let part: Vec<OffsetVotes> = batch[..live]
                    .par_iter()
                    .map_init(Vec::new, |frames, p| {
                        // Gathered again rather than kept from the bound: the frames of every
                        // proposal would take more memory than the votes.
                        let v = &sorted[p.local];
                        voting_frames(&v[p.pooled.clone()], frames);
                        let (burst, surprise) = densest_burst(frames, min_votes, max_burst, floor, expected(p.local));
                        let track = tracks.start + p.local;
                        OffsetVotes {
                            track,
                            offset: p.offset - i64::from(self.track_frames[track]),
                            votes: p.pooled.len(),
                            burst,
                            surprise,
                        }
                    })
                    .collect();
                kept.extend(part);
                kept.sort_by(order);
                kept.truncate(max_candidates);
                if live < batch.len() {
                    break;
                }
            }
        }
        kept
    }
}

/// Votes held at once by [`LandmarkIndex::query`], 8 bytes each: 16 MB.
const VOTES_PER_PART: usize = 2 << 20;

/// Offsets searched by [`LandmarkIndex::query`] between two looks at the weakest candidate
/// held.
const PROPOSALS_PER_BATCH: usize = 1 << 13;

/// An offset of one track that may become a candidate (see [`peak_offsets`]), with a bound
/// from above on its surprise ([`burst_bound`]).
struct Proposal {
    bound: f64,
    /// The track, counted from the first of its part.
    local: usize,
    /// The offset, shifted as the votes are (see [`LandmarkIndex::query`]).
    offset: i64,
    /// Its votes and its neighbours', in the track's sorted votes.
    pooled: Range<usize>,
}

/// The offsets of one track's `votes` (sorted, offset above frame, see
/// [`LandmarkIndex::query`]) with more votes than both neighbours (ties go to the lower) and,
/// with the neighbours' votes pooled in, at least `min_votes`: as the offset and the range of
/// the pooled votes (the three offsets are adjacent in sorted order).
fn peak_offsets(votes: &[u64], min_votes: usize) -> Vec<(i64, Range<usize>)> {
    let offset_of = |v: u64| (v >> 32) as i64;
    // The runs of one offset.
    let mut cells: Vec<Range<usize>> = Vec::new();
    for (k, &v) in votes.iter().enumerate() {
        match cells.last_mut() {
            Some(c) if offset_of(votes[c.start]) == offset_of(v) => c.end = k + 1,
            _ => cells.push(k..k + 1),
        }
    }
    let neighbour = |c: usize, d: i64| -> Option<&Range<usize>> {
        let other = if d < 0 { c.checked_sub(1)? } else { c + 1 };
        let next = cells.get(other)?;
        (offset_of(votes[next.start]) == offset_of(votes[cells[c].start]) + d).then_some(next)
    };
    (0..cells.len())
        .filter_map(|c| {
            let n = cells[c].len();
            let beaten = |d: i64| neighbour(c, d).is_some_and(|r| r.len() > n || (r.len() == n && d < 0));
            if beaten(-1) || beaten(1) {
                return None;
            }
            // A copy whose frames fall between the track's splits its votes over two offsets.
            let pooled =
                neighbour(c, -1).map_or(cells[c].start, |r| r.start)..neighbour(c, 1).map_or(cells[c].end, |r| r.end);
            (pooled.len() >= min_votes).then(|| (offset_of(votes[cells[c].start]), pooled))
        })
        .collect()
}

/// `tracks` shared out into at most `ways` consecutive groups of about equal votes
/// (`per_track`), none empty.
fn share_out(tracks: Range<usize>, per_track: &[usize], ways: usize) -> Vec<Range<usize>> {
    let total: usize = per_track[tracks.clone()].iter().sum();
    let share = total.div_ceil(ways.max(1)).max(1);
    let mut groups = Vec::new();
    let (mut start, mut held) = (tracks.start, 0);
    for t in tracks.clone() {
        held += per_track[t];
        if held >= share && t + 1 < tracks.end {
            groups.push(start..t + 1);
            (start, held) = (t + 1, 0);
        }
    }
    groups.push(start..tracks.end);
    groups
}

/// One track's `votes` (offset above frame, see [`LandmarkIndex::query`]; offsets at most
/// `max_offset`) in ascending order, in place: each vote is moved into the run of its offset
/// (a counting sort that swaps, in time linear in the votes and offsets and without a second
/// array of votes), then each offset's few votes are sorted by frame. Votes with a larger
/// offset are sorted by comparison.
fn sort_votes(mut votes: Vec<u64>, max_offset: usize) -> Vec<u64> {
    let offset_of = |v: u64| (v >> 32) as usize;
    if votes.iter().any(|&v| offset_of(v) > max_offset) {
        votes.sort_unstable();
        return votes;
    }
    // Where each offset's votes begin, and the next place of each still to fill.
    let mut starts = vec![0u32; max_offset + 2];
    for &v in &votes {
        starts[offset_of(v) + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut next = starts.clone();
    for d in 0..=max_offset {
        let end = starts[d + 1] as usize;
        while (next[d] as usize) < end {
            let at = next[d] as usize;
            let home = offset_of(votes[at]);
            if home == d {
                next[d] += 1;
            } else {
                votes.swap(at, next[home] as usize);
                next[home] += 1;
            }
        }
    }
    for d in 0..=max_offset {
        let run = &mut votes[starts[d] as usize..starts[d + 1] as usize];
        if run.len() > 1 {
            run.sort_unstable();
        }
    }
    votes
}

/// The distinct query frames of `votes` into `frames`, ascending.
fn voting_frames(votes: &[u64], frames: &mut Vec<u32>) {
    frames.clear();
    frames.extend(votes.iter().map(|&v| v as u32));
    // A run of ascending frames per offset: a merging sort takes them as they are.
    frames.sort();
    frames.dedup();
}

/// The stretch of `frames` (ascending, distinct), from one vote to another at most
/// `max_len` frames later and holding votes in at least `min_frames` distinct frames, whose
/// count of voting frames is least likely under `expected` of them (a Poisson count; the mean
/// and its logarithm), with minus the logarithm of that likelihood.
///
/// Frames, not votes, are counted: the landmarks of one anchor share its peak, so one chance
/// coincidence of a chord's onset can cast a dozen votes in a single frame.
fn densest_burst(
    frames: &[u32],
    min_frames: usize,
    max_len: u32,
    floor: f64,
    expected: impl Fn(u32, u32) -> (f64, f64),
) -> ((u32, u32), f64) {
    let mut best = ((frames[0], frames[frames.len() - 1]), 0.0);
    // Bursts that cannot beat the best so far, or reach `floor`, need no tail.
    let beats = |bound: f64, best: f64| bound > best && bound >= floor;
    let shortest = min_frames.max(1) - 1;
    for (a, reach) in burst_starts(frames, min_frames, max_len) {
        // Every burst from `a` holds at most the frames within reach and expects at least
        // the shortest one's votes: when even that bound cannot beat the best, none can.
        let (mean, ln_mean) = expected(frames[a], frames[a + shortest]);
        if mean > 0.0 && !beats(point_surprise(reach - a + 1, mean, ln_mean), best.1) {
            continue;
        }
        for b in (a + shortest)..=reach {
            let (k, (mean, ln_mean)) = (b - a + 1, expected(frames[a], frames[b]));
            if mean > 0.0 && !beats(point_surprise(k, mean, ln_mean), best.1) {
                continue;
            }
            let s = tail_surprise(k, mean, ln_mean);
            if s > best.1 {
                best = ((frames[a], frames[b]), s);
            }
        }
    }
    best
}

/// A bound from above on the surprise [`densest_burst`] finds in `frames`, in one pass: a
/// burst from a frame holds at most the frames within `max_len` of it and expects at least the
/// votes of its shortest, and the surprise of a count above its mean only grows with the count
/// and falls as the mean rises towards it.
fn burst_bound(frames: &[u32], min_frames: usize, max_len: u32, expected: impl Fn(u32, u32) -> (f64, f64)) -> f64 {
    let shortest = min_frames.max(1) - 1;
    burst_starts(frames, min_frames, max_len)
        .map(|(a, reach)| {
            let k = reach - a + 1;
            let (mean, ln_mean) = expected(frames[a], frames[a + shortest]);
            if mean <= 0.0 {
                f64::INFINITY
            } else if (k as f64) <= mean {
                0.0
            } else {
                point_surprise(k, mean, ln_mean)
            }
        })
        .fold(0.0, f64::max)
}

/// Each frame of `frames` (ascending) from which a burst of `min_frames` fits within `max_len`,
/// with the last frame within reach of it.
fn burst_starts(frames: &[u32], min_frames: usize, max_len: u32) -> impl Iterator<Item = (usize, usize)> + '_ {
    let shortest = min_frames.max(1) - 1;
    let mut reach = 0;
    (0..frames.len()).filter_map(move |a| {
        reach = reach.max(a);
        while reach + 1 < frames.len() && frames[reach + 1] - frames[a] <= max_len {
            reach += 1;
        }
        (reach >= a + shortest).then_some((a, reach))
    })
}

/// Minus the natural logarithm of the chance that a Poisson count of mean `mean` is exactly
/// `k`: the chance of exactly `k` bounds the tail from below, so this bounds its surprise from
/// above.
fn point_surprise(k: usize, mean: f64, ln_mean: f64) -> f64 {
    mean - k as f64 * ln_mean + ln_factorial(k)
}

/// Minus the natural logarithm of the probability that a Poisson count of mean `mean` reaches
/// `k`; 0 when `k` is not above the mean.
pub fn poisson_surprise(k: usize, mean: f64) -> f64 {
    tail_surprise(k, mean, mean.ln())
}

/// [`poisson_surprise`] with the logarithm of the mean given.
fn tail_surprise(k: usize, mean: f64, ln_mean: f64) -> f64 {
    if k == 0 || (k as f64) <= mean {
        return 0.0;
    }
    if mean <= 0.0 {
        return f64::INFINITY;
    }
    // P(X >= k) = e^-mean mean^k / k! (1 + mean/(k+1) + mean^2/((k+1)(k+2)) + ...); the series
    // converges fast because k > mean.
    let ln_factorial = ln_factorial(k);
    let (mut term, mut series) = (1.0, 1.0);
    for n in k + 1..k + 64 {
        term *= mean / n as f64;
        series += term;
        if term < 1e-12 * series {
            return mean - k as f64 * ln_mean + ln_factorial - series.ln();
        }
    }
    // Near the mean the terms fall slowly; the rest is below a geometric series of their
    // current ratio, which bounds the tail from above (the surprise from below).
    let ratio = mean / (k + 64) as f64;
    series += term * ratio / (1.0 - ratio);
    mean - k as f64 * ln_mean + ln_factorial - series.ln()
}

/// The natural logarithm of a count, from a table for the small counts a burst of votes spans.
fn ln_count(n: u64) -> f64 {
    const SMALL: usize = 1 << 14;
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| (0..SMALL).map(|n| (n as f64).ln()).collect());
    usize::try_from(n).ok().and_then(|n| table.get(n)).copied().unwrap_or_else(|| (n as f64).ln())
}

/// The natural logarithm of `k!`: exact up to 20, Stirling's series beyond (error below
/// 1e-10).
fn ln_factorial(k: usize) -> f64 {
    static SMALL: std::sync::OnceLock<[f64; 21]> = std::sync::OnceLock::new();
    if k <= 20 {
        let table = SMALL.get_or_init(|| {
            let mut t = [0.0; 21];
            for n in 2..=20 {
                t[n] = t[n - 1] + (n as f64).ln();
            }
            t
        });
        return table[k];
    }
    let x = k as f64;
    x * x.ln() - x + 0.5 * (std::f64::consts::TAU * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3))
}

/// Which grid steps the peaks of each query frame cover (one step either side, and the frames
/// on either side): the places a track's peak counts as found.
///
/// The chance that a track's peak at step `s` is found by accident is the share of steps
/// covered near `s` in that frame (within [`CHANCE_REACH`] steps): a voice's harmonics lie far
/// apart at low frequencies and crowd every step above about 1 kHz, so one share for the
/// whole frame would make chance hits look like evidence high up.
#[derive(Debug, Clone)]
pub struct PeakCoverage {
    steps: usize,
    /// Per frame and step, the neighbourhood code ([`near_code`]), plus [`COVERED`] where the
    /// step itself is covered: one load answers both questions a track peak asks, and the
    /// code indexes the [`HitTable`] directly, without a branch on whether the peak was found.
    codes: Vec<u16>,
    frames: usize,
}

/// Steps on either side of a peak over which the chance of finding it is measured (a quarter
/// of an octave).
pub const CHANCE_REACH: usize = 12;

/// Added to the code of a covered step in [`PeakCoverage`]: past every neighbourhood code.
const COVERED: u16 = ((WIDEST + 1) * (WIDEST + 1)) as u16;

/// The code of a neighbourhood of `width` steps, `covered` of them covered.
fn near_code(covered: usize, width: usize) -> u16 {
    (width * (WIDEST + 1) + covered) as u16
}

impl PeakCoverage {
    /// The coverage of `peaks` on a grid of `steps` steps.
    pub fn new(peaks: &SpectralPeaks, steps: usize) -> Self {
        let steps = steps.max(1);
        let n = peaks.frames();
        let mut own = vec![false; n * steps];
        for k in 0..n {
            let row = &mut own[k * steps..(k + 1) * steps];
            for p in peaks.frame(k) {
                let b = usize::from(p.bin);
                if let Some(near) = row.get_mut(b.saturating_sub(1)..=(b + 1).min(steps - 1)) {
                    near.fill(true);
                }
            }
        }
        let mut codes = vec![0u16; n * steps];
        let mut covered = vec![false; steps];
        let mut below = vec![0usize; steps + 1];
        for k in 0..n {
            for (s, c) in covered.iter_mut().enumerate() {
                let at = |f: usize| own[f * steps + s];
                *c = at(k) || (k > 0 && at(k - 1)) || (k + 1 < n && at(k + 1));
            }
            for s in 0..steps {
                below[s + 1] = below[s] + usize::from(covered[s]);
            }
            let row = &mut codes[k * steps..(k + 1) * steps];
            for (s, code) in row.iter_mut().enumerate() {
                let (a, b) = (s.saturating_sub(CHANCE_REACH), (s + CHANCE_REACH).min(steps - 1));
                *code = near_code(below[b + 1] - below[a], b - a + 1) + if covered[s] { COVERED } else { 0 };
            }
        }
        Self { steps, codes, frames: n }
    }

    /// Frames covered.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The code of `step` in `frame`; steps off the grid are uncovered with nothing near.
    fn code(&self, frame: usize, step: u16) -> u16 {
        code_in(self.row(frame), step)
    }

    /// The codes of every step of `frame`.
    fn row(&self, frame: usize) -> &[u16] {
        &self.codes[frame * self.steps..(frame + 1) * self.steps]
    }

    /// The chance that a peak at `step` is covered by accident in `frame`: the share of steps
    /// covered within [`CHANCE_REACH`] of it.
    pub fn chance(&self, frame: usize, step: u16) -> f64 {
        let code = usize::from(self.code(frame, step) % COVERED);
        (code % (WIDEST + 1)) as f64 / (code / (WIDEST + 1)) as f64
    }

    /// Whether a track peak at grid `step` counts as found in query frame `frame`.
    pub fn covers(&self, frame: usize, step: u16) -> bool {
        self.code(frame, step) >= COVERED
    }
}

/// The log-likelihood ratio (nats) of track frame `j - offset` sounding in query frame `j`,
/// with the chance of each peak's being found taken from the coverage around it; `None` where
/// the track has no peak or lies outside.
fn frame_llr(track: &PeakBins, query: &PeakCoverage, j: usize, offset: i64, table: &HitTable) -> Option<f64> {
    let i = usize::try_from(j as i64 - offset).ok()?;
    let bins = track.frame(i);
    if bins.is_empty() {
        return None;
    }
    Some(llr_sum(bins, query.row(j), table))
}

/// The code of `step` in a frame's `row` of codes; steps off the grid are uncovered with nothing
/// near.
fn code_in(row: &[u16], step: u16) -> u16 {
    row.get(usize::from(step)).copied().unwrap_or(near_code(0, 1))
}

/// The log-likelihood ratio of a track frame's peaks `bins` (its strongest `table.peaks`) in a
/// query frame whose codes are `row`.
fn llr_sum(bins: &[u16], row: &[u16], table: &HitTable) -> f64 {
    bins.iter().take(table.peaks).map(|&bin| table.llr[usize::from(code_in(row, bin))]).sum()
}

const WIDEST: usize = 2 * CHANCE_REACH + 1;

/// The log-likelihood ratio of a track peak for every [`PeakCoverage`] code: a missed one's
/// below the covered flag, a found one's, by (neighbourhood width, covered steps), from there on.
/// The logarithms are taken once per run, not per peak.
#[derive(Debug, Clone)]
pub struct HitTable {
    llr: Vec<f64>,
    peaks: usize,
}

impl HitTable {
    /// The table of `cfg`'s `hit_rate`, over its `evidence_peaks` strongest peaks a frame.
    pub fn new(cfg: &FingerprintConfig) -> Self {
        let near = usize::from(COVERED);
        let mut llr = vec![(1.0 - cfg.hit_rate).ln(); 2 * near];
        for width in 1..=WIDEST {
            for covered in 0..=width {
                // A neighbourhood almost fully covered tells nothing either way.
                let p = (covered as f64 / width as f64).clamp(0.02, 0.95);
                llr[near + usize::from(near_code(covered, width))] = (1.0 + cfg.hit_rate * (1.0 - p) / p).ln();
            }
        }
        Self { llr, peaks: cfg.evidence_peaks }
    }
}

/// The query frames that track frames overlap at `offset`.
pub fn overlap(track: &PeakBins, query: &PeakCoverage, offset: i64) -> Range<usize> {
    let n = query.frames() as i64;
    offset.clamp(0, n) as usize..(offset + track.frames() as i64).clamp(0, n) as usize
}

/// The log-likelihood ratio of presence against chance at `offset` (see the module notes) for
/// each query frame in `frames` (the first value is frame `frames.start`); 0 where the track
/// has no peak or lies outside.
pub fn raw_evidence(
    track: &PeakBins,
    query: &PeakCoverage,
    offset: i64,
    table: &HitTable,
    frames: Range<usize>,
) -> Vec<f32> {
    let frames = frames.start.min(query.frames())..frames.end.min(query.frames());
    let inside = overlap(track, query, offset);
    frames
        .map(
            |j| {
                if inside.contains(&j) { frame_llr(track, query, j, offset, table).unwrap_or(0.0) as f32 } else { 0.0 }
            },
        )
        .collect()
}

/// Offsets, in frames either side of a candidate's, at which the same track, rotated (its frames
/// taken round from its start again past its end), stands in for chance: its own pitches and
/// textures, out of time with the query. Unequal steps of 2.9 to 15 s, so a loop or a
/// bar-length repeat in the music lines up with few of them.
pub const RANK_DECOYS: [i64; 20] =
    [-151, -131, -113, -97, -83, -71, -61, -53, -43, -29, 29, 43, 53, 61, 71, 83, 97, 113, 131, 151];

/// For each block of `block` query frames in `frames`: how many decoy offsets gather at least
/// as much raw evidence per track peak there as `offset` does (counted up to `told`), and how
/// many decoys it was ranked against, over the block's frames where the track plays at `offset`;
/// `None` for a block where it does not or is silent, and for every block of a track shorter
/// than half the decoy lags.
///
/// Under absence the offset is one more decoy: for a block taken at random its rank among
/// them is uniform whatever the episode holds (speech harmonics, a chord that happens to
/// match, noise), because the decoys meet the same episode frames with the same recording,
/// where the raw log-likelihood ratio assumes peaks independent and is far too sure of a
/// passing coincidence. Blocks chosen for the offset's own rising evidence rank higher than
/// that, so `frames` should not be chosen by it (see the module notes).
pub fn decoy_ranks(
    track: &PeakBins,
    query: &PeakCoverage,
    offset: i64,
    table: &HitTable,
    frames: Range<usize>,
    block: usize,
    told: usize,
) -> Vec<Option<BlockRank>> {
    let block = block.max(1);
    let frames = frames.start.min(query.frames())..frames.end.min(query.frames());
    // The track's frame `j - at` taken round the track: decoys are the track rotated, so that
    // every block, a short track's and a track's first and last seconds too, meets a full set
    // of its own music.
    let frames_n = track.frames() as i64;
    // Evidence per peak weighed: a track frame with fewer peaks has fewer misses to lose, and
    // where the query holds nothing, all would tie by their count of peaks alone.
    let mean = |js: Range<usize>, at: i64| -> Option<f64> {
        let (mut total, mut peaks) = (0.0, 0usize);
        // The track's frames follow the query's, wrapping at its end.
        let mut i = (js.start as i64 - at).rem_euclid(frames_n.max(1)) as usize;
        for j in js {
            let bins = track.frame(i);
            if !bins.is_empty() {
                total += llr_sum(bins, query.row(j), table);
                peaks += bins.len().min(table.peaks);
            }
            i += 1;
            if i as i64 >= frames_n {
                i = 0;
            }
        }
        (peaks > 0).then(|| total / peaks as f64)
    };
    // Rotations by at least the whole track would repeat others (or the offset itself).
    let decoys: Vec<i64> = RANK_DECOYS.iter().filter(|d| d.abs() < frames_n).map(|d| offset + d).collect();
    if decoys.len() < RANK_DECOYS.len() / 2 {
        return vec![None; frames.len().div_ceil(block)];
    }
    let inside = overlap(track, query, offset);
    (frames.start..frames.end)
        .step_by(block)
        .map(|a| {
            let js = a..(a + block).min(frames.end);
            // The block's frames where the track plays at the offset; the decoys over the same.
            let js = js.start.max(inside.start)..js.end.min(inside.end);
            if js.is_empty() {
                return None;
            }
            let own = mean(js.clone(), offset)?;
            // Counting stops at the `told`-th decoy at or above the offset, which under absence
            // comes after a few decoys.
            Some(BlockRank::among(own, decoys.iter().map(|&at| mean(js.clone(), at)), told))
        })
        .collect()
}

/// How one block of a candidate ranks among its decoys ([`decoy_ranks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRank {
    /// Decoys that gather at least as much evidence as the candidate's offset, counted up to
    /// the `told` of [`decoy_ranks`].
    pub above: usize,
    /// Decoys the block was ranked against.
    pub decoys: usize,
}

impl BlockRank {
    /// The rank of `own` among the values of the `decoys` (`None` for one that could not be
    /// measured, which still counts as ranked against), counting those at or above it up to
    /// `told`: under absence, after a few decoys.
    pub fn among<T: PartialOrd>(own: T, decoys: impl ExactSizeIterator<Item = Option<T>>, told: usize) -> Self {
        let n = decoys.len();
        let above = decoys.filter(|d| d.as_ref().is_some_and(|d| *d >= own)).take(told).count();
        Self { above, decoys: n }
    }
}

/// Made-up peaks with known answers, for the tests of this module and of cue detection.
#[cfg(test)]
pub(crate) mod testing {
    use crate::features::peaks::{Peak, SpectralPeaks};

    /// Peaks of a made-up piece: a new random note every few frames, held, plus a fifth above.
    pub fn piece(frames: usize, seed: u64) -> SpectralPeaks {
        let mut s = seed.max(1);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut peaks = SpectralPeaks::default();
        let mut held: Vec<Peak> = Vec::new();
        for k in 0..frames {
            if k % 3 == 0 {
                let root = 20 + (next() % 150) as u16;
                held = vec![Peak { bin: root, db: -20.0 }, Peak { bin: root + 28, db: -26.0 }];
                if next() % 2 == 0 {
                    held.push(Peak { bin: root + 48, db: -30.0 });
                }
            }
            peaks.push_frame(&held);
        }
        peaks
    }

    /// `into` with the peaks of `from` added from frame `at` on.
    pub fn splice(into: &mut SpectralPeaks, from: &SpectralPeaks, at: usize) -> SpectralPeaks {
        let mut out = SpectralPeaks::default();
        for k in 0..into.frames() {
            let mut f = into.frame(k).to_vec();
            if k >= at && k - at < from.frames() {
                f.extend_from_slice(from.frame(k - at));
            }
            out.push_frame(&f);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::testing::{piece, splice};
    use super::*;

    #[test]
    fn a_copied_excerpt_votes_for_its_track_and_offset() {
        let cfg = FingerprintConfig::default();
        let tracks = [piece(600, 1), piece(600, 2), piece(600, 3)];
        let index = LandmarkIndex::build(&tracks.iter().collect::<Vec<_>>(), &cfg);
        assert!(!index.is_empty());
        // Frames 100..300 of track 1 at query frame 700.
        let mut excerpt = SpectralPeaks::default();
        for k in 100..300 {
            excerpt.push_frame(tracks[1].frame(k));
        }
        let mut query = piece(1200, 9);
        query = splice(&mut query, &excerpt, 700);
        let found = index.query(&query, &cfg, 10, 300, usize::MAX);
        assert!(found[0].surprise > 20.0, "{}", found[0].surprise);
        assert!(!found.is_empty());
        assert_eq!((found[0].track, found[0].offset), (1, 600), "{:?}", &found[..found.len().min(3)]);
        assert!(found.iter().skip(1).all(|v| v.votes * 4 < found[0].votes));
    }

    #[test]
    fn a_query_in_parts_keeps_the_candidates_of_the_whole_query() {
        let cfg = FingerprintConfig::default();
        let tracks: Vec<SpectralPeaks> = (1..=12).map(|k| piece(500, k)).collect();
        let index = LandmarkIndex::build(&tracks.iter().collect::<Vec<_>>(), &cfg);
        let mut query = piece(3000, 99);
        for (k, t) in tracks.iter().enumerate().step_by(3) {
            let mut excerpt = SpectralPeaks::default();
            for f in 50..250 {
                excerpt.push_frame(t.frame(f));
            }
            query = splice(&mut query, &excerpt, 200 + 600 * (k / 3));
        }
        let whole = index.query_in_parts(&query, &cfg, (4, 300, usize::MAX), usize::MAX);
        assert!(whole.len() > 100, "chance candidates too: {}", whole.len());
        let key = |v: &OffsetVotes| (v.track, v.offset, v.votes, v.burst, v.surprise.to_bits());
        for (cap, part) in [(usize::MAX, 1), (40, 1), (40, 3_000), (7, 1), (1, 50_000)] {
            let found = index.query_in_parts(&query, &cfg, (4, 300, cap), part);
            let best = &whole[..cap.min(whole.len())];
            assert!(found.iter().map(key).eq(best.iter().map(key)), "cap {cap}, {part} votes a part");
        }
    }

    #[test]
    fn evidence_rises_only_where_the_track_sounds() {
        let cfg = FingerprintConfig::default();
        let track = piece(400, 5);
        let mut query = piece(1000, 6);
        query = splice(&mut query, &track, 300);
        let coverage = PeakCoverage::new(&query, 260);
        let ev = raw_evidence(&PeakBins::strongest(&track, usize::MAX), &coverage, 300, &HitTable::new(&cfg), 0..1000);
        let inside: f32 = ev[300..700].iter().sum();
        let before: f32 = ev[..300].iter().sum();
        assert!(inside > 400.0, "more than a nat a frame where the track sounds: {inside}");
        assert_eq!(before, 0.0, "no track frame lies before the offset");
        // At a wrong offset the same track gives negative evidence.
        let wrong: f32 =
            raw_evidence(&PeakBins::strongest(&track, usize::MAX), &coverage, 350, &HitTable::new(&cfg), 0..1000)
                .iter()
                .sum();
        assert!(wrong < 0.0, "{wrong}");
    }

    #[test]
    fn blocks_beat_every_decoy_only_where_the_track_sounds() {
        let cfg = FingerprintConfig::default();
        let track = piece(600, 7);
        let mut query = piece(1500, 8);
        query = splice(&mut query, &track, 400);
        let coverage = PeakCoverage::new(&query, 260);
        let ranks = decoy_ranks(
            &PeakBins::strongest(&track, usize::MAX),
            &coverage,
            400,
            &HitTable::new(&cfg),
            400..1000,
            10,
            1,
        );
        assert_eq!(ranks.len(), 60);
        // Every block is ranked against all twenty rotations, the first and last seconds too.
        assert!(ranks.iter().all(|r| r.is_some_and(|r| r.decoys == 20)), "{ranks:?}");
        let heard = ranks.iter().flatten().filter(|r| r.above == 0).count();
        assert!(heard >= 57, "the copied track beats its decoys in {heard} of 60 blocks");
        // Where the query holds other music, the track at a wrong offset is one more decoy:
        // it beats all twenty about once in 21 blocks.
        let wrong =
            decoy_ranks(&PeakBins::strongest(&track, usize::MAX), &coverage, 0, &HitTable::new(&cfg), 0..400, 10, 1);
        let wrong_heard = wrong.iter().flatten().filter(|r| r.above == 0).count();
        assert!(wrong_heard <= 6, "a wrong offset beats its decoys in {wrong_heard} of {} blocks", wrong.len());
        // Counting further tells the ranks below the top apart and agrees on the top one.
        let told =
            decoy_ranks(&PeakBins::strongest(&track, usize::MAX), &coverage, 0, &HitTable::new(&cfg), 0..400, 10, 3);
        assert!(told.iter().zip(&wrong).all(|(t, w)| t.map(|t| t.above == 0) == w.map(|w| w.above == 0)));
        assert!(told.iter().flatten().all(|t| t.above <= 3 && t.decoys >= 10));
        assert!(told.iter().flatten().any(|t| (1..3).contains(&t.above)), "{told:?}");
    }

    #[test]
    fn a_short_track_is_ranked_against_itself_rotated() {
        let cfg = FingerprintConfig::default();
        let table = HitTable::new(&cfg);
        // 25 s, as long as a sting or a loop: without rotation no block would have five
        // decoys on each side inside it.
        let track = piece(250, 11);
        let query = splice(&mut piece(1000, 12), &track, 300);
        let coverage = PeakCoverage::new(&query, 260);
        let bins = PeakBins::strongest(&track, usize::MAX);
        let ranks = decoy_ranks(&bins, &coverage, 300, &table, 300..550, 10, 1);
        assert!(ranks.iter().all(|r| r.is_some_and(|r| r.decoys == 20)), "{ranks:?}");
        let heard = ranks.iter().flatten().filter(|r| r.above == 0).count();
        assert!(heard >= 23, "the copied track beats its decoys in {heard} of 25 blocks");
        // Blocks where the track does not play at the offset are not ranked.
        assert!(decoy_ranks(&bins, &coverage, 300, &table, 0..300, 10, 1).iter().all(Option::is_none));
        // A track shorter than half the decoy lags has too few distinct rotations.
        let blip = piece(50, 13);
        let ranks = decoy_ranks(&PeakBins::strongest(&blip, usize::MAX), &coverage, 300, &table, 300..350, 10, 1);
        assert!(ranks.iter().all(Option::is_none));
    }

    #[test]
    fn tracks_are_shared_out_in_consecutive_groups_of_about_equal_votes() {
        let per_track = [5, 1, 1, 3, 0, 2, 9];
        assert_eq!(share_out(1..6, &per_track, 2), vec![1..4, 4..6]);
        assert_eq!(share_out(0..7, &per_track, 1), vec![0..7]);
        assert_eq!(share_out(6..7, &per_track, 4), vec![6..7]);
        // More ways than tracks: one track a group at most, none empty.
        assert_eq!(share_out(0..3, &per_track, 8), vec![0..1, 1..2, 2..3]);
        assert_eq!(share_out(4..5, &[0, 0, 0, 0, 0], 2), vec![4..5]);
    }

    #[test]
    fn votes_sorted_by_offset_in_place_sort_as_a_comparison_sort_does() {
        // Votes of random offsets cast frame by frame.
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let votes: Vec<u64> = (0..3000u64).map(|frame| (next(500) << 32) | (frame / 3)).collect();
        let mut expected = votes.clone();
        expected.sort_unstable();
        assert_eq!(sort_votes(votes.clone(), 499), expected);
        // In any order, or with an offset beyond the bound: sorted all the same.
        let mut shuffled = votes.clone();
        shuffled.reverse();
        assert_eq!(sort_votes(shuffled, 499), expected);
        assert_eq!(sort_votes(votes, 100), expected);
        assert!(sort_votes(Vec::new(), 10).is_empty());
    }

    #[test]
    fn poisson_surprise_is_the_tail_of_the_count() {
        // P(X >= 3 | mean 1) = 1 - e^-1 (1 + 1 + 1/2).
        let tail = 1.0 - 2.5 / std::f64::consts::E;
        assert!((poisson_surprise(3, 1.0) - (-tail.ln())).abs() < 1e-9);
        // Exact and Stirling logarithms of k! meet smoothly at 20.
        let direct: f64 = (2..=40).map(|n| f64::from(n).ln()).sum();
        assert!((ln_factorial(40) - direct).abs() < 1e-9);
        assert_eq!(poisson_surprise(2, 5.0), 0.0);
        assert!(poisson_surprise(30, 5.0) > poisson_surprise(20, 5.0));
    }

    #[test]
    fn the_densest_burst_is_the_least_likely_of_all_stretches() {
        // Stretches searched exhaustively against the pruned search, on frames of varying
        // density and a landmark count that varies along the query.
        let mut x = 7u64;
        let mut next = move |n: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for round in 0..40 {
            let mut frames: Vec<u32> = (0..5 + next(60)).map(|_| next(400 + 40 * round) as u32).collect();
            frames.sort_unstable();
            frames.dedup();
            let before: Vec<u64> = (0..=2400u64).map(|j| j * 3 + j / 7).collect();
            let rate = 0.002 * (1 + next(20)) as f64;
            let expected = |a: u32, b: u32| {
                let mean = rate * (before[b as usize + 1] - before[a as usize]) as f64;
                (mean, mean.ln())
            };
            let (min_frames, max_len) = (2 + next(4) as usize, 30 + next(200) as u32);
            let mut best = 0.0f64;
            for a in 0..frames.len() {
                for b in a + min_frames - 1..frames.len() {
                    if frames[b] - frames[a] <= max_len {
                        best = best.max(poisson_surprise(b - a + 1, expected(frames[a], frames[b]).0));
                    }
                }
            }
            let (_, found) = densest_burst(&frames, min_frames, max_len, 0.0, expected);
            assert!(burst_bound(&frames, min_frames, max_len, expected) >= found - 1e-9);
            assert!((found - best).abs() < 1e-9, "round {round}: {found} against {best}");
        }
    }

    /// What a [`Shelf`] holds: entries by key, then indexes reused and built.
    type Shelved = (HashMap<[u8; 32], Vec<u8>>, usize, usize);

    /// A store in memory that counts what it was told.
    #[derive(Default)]
    struct Shelf(std::sync::Mutex<Shelved>);

    impl IndexStore for Shelf {
        fn open_index(&self, key: &[u8; 32]) -> Option<Box<dyn Read + '_>> {
            let bytes = self.0.lock().ok()?.0.get(key).cloned()?;
            Some(Box::new(std::io::Cursor::new(bytes)))
        }
        fn store_index(&self, key: &[u8; 32], write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) {
            let mut bytes = Vec::new();
            if write(&mut bytes).is_ok() {
                self.0.lock().expect("lock").0.insert(*key, bytes);
            }
        }
        fn record_index(&self, reused: bool) {
            let mut shelf = self.0.lock().expect("lock");
            if reused { shelf.1 += 1 } else { shelf.2 += 1 }
        }
    }

    #[test]
    fn a_stored_index_is_the_built_one_and_damage_or_other_tracks_rebuild_it() {
        let cfg = FingerprintConfig::default();
        let tracks = [piece(300, 1), piece(500, 2)];
        let refs: Vec<&SpectralPeaks> = tracks.iter().collect();
        let shelf = Shelf::default();
        let (built, reused) = LandmarkIndex::cached(&refs, &cfg, &shelf);
        assert!(!reused && !built.is_empty());
        assert_eq!(built, LandmarkIndex::build(&refs, &cfg));
        let (again, reused) = LandmarkIndex::cached(&refs, &cfg, &shelf);
        assert!(reused);
        assert_eq!(again, built);
        // Every place is found under its hash.
        for (t, peaks) in refs.iter().enumerate() {
            for lm in landmarks(peaks, &cfg) {
                assert!(built.places_of(lm.hash).contains(&(t as u32, lm.frame)));
            }
        }
        let digests: Vec<[u8; 32]> = refs.iter().map(|p| peaks_digest(p)).collect();
        let key = index_key(&digests, &cfg);
        let bytes = built.encode(&key);
        // A flipped byte anywhere, a cut, or another key: refused.
        for at in [0, 9, 45, 80, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert_eq!(LandmarkIndex::decode(&bad, &key), None, "byte {at}");
        }
        assert_eq!(LandmarkIndex::decode(&bytes[..bytes.len() - 8], &key), None);
        assert_eq!(LandmarkIndex::decode(&bytes, &[7; 32]), None);
        // A sealed entry whose places under one hash are out of order: refused, since the
        // query reads each part of the tracks from them by their order.
        let shared = (0..built.hashes.len())
            .find(|&i| {
                let at = built.starts[i] as usize;
                built.starts[i + 1] as usize - at >= 2 && built.places[at] != built.places[at + 1]
            })
            .expect("a hash in two places");
        let mut swapped = built.clone();
        let at = swapped.starts[shared] as usize;
        swapped.places.swap(at, at + 1);
        assert_eq!(LandmarkIndex::decode(&swapped.encode(&key), &key), None);
        shelf.store_index(&key, &|w| w.write_all(&bytes[..bytes.len() / 2]));
        let (rebuilt, reused) = LandmarkIndex::cached(&refs, &cfg, &shelf);
        assert!(!reused);
        assert_eq!(rebuilt, built);
        // A sound entry under this key that was made for other tracks is not taken.
        LandmarkIndex::build(&refs[..1], &cfg).save(&key, &shelf);
        let (rebuilt, reused) = LandmarkIndex::cached(&refs, &cfg, &shelf);
        assert!(!reused);
        assert_eq!(rebuilt, built);
        // Other tracks, or other landmark settings, have another key.
        assert_ne!(index_key(&digests[..1], &cfg), key);
        assert_ne!(index_key(&digests, &FingerprintConfig { fan_out: 4, ..cfg.clone() }), key);
        assert_eq!(shelf.0.lock().map(|s| (s.1, s.2)).ok(), Some((1, 3)));
    }

    #[test]
    fn bad_parameters_are_named() {
        let cfg = FingerprintConfig { max_dt: 0, ..FingerprintConfig::default() };
        assert!(matches!(cfg.validate(), Err(Error::BadParam { name: "fingerprint.max_dt", .. })));
    }
}
