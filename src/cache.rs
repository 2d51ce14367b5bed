//! The on-disk feature cache: decoded stream facts and per-frame features of each audio file,
//! kept under a key made of the file's content hash and size plus the extraction parameters, so
//! running again (with another threshold, another command) decodes nothing.
//!
//! An entry is one file named after its key:
//!
//! ```text
//! magic "LMFCACHE" | format u32 | payload length u64 | BLAKE3 of payload [32] | key [32] | payload
//! payload: meta length u32 | meta (JSON) | chroma f32 x 12n | melody f32 x 12m | energy f32 x e
//! ```
//! (all integers and floats little-endian). Entries are written to a temporary file in the cache
//! folder and renamed over the final name, so a reader sees a whole entry or none, and two runs
//! storing the same entry at once each rename a complete copy. An entry whose length, checksum,
//! format or key does not match is counted as bad, removed and rebuilt.
//!
//! Finding an entry needs the file's content hash. It is remembered per path (`hashes-v1`)
//! while the file's size, modification and change times, inode and device stay what they were,
//! so a run over an unchanged library does not read every file through; a file changed in the
//! last two seconds is not remembered, since a second change within the same clock tick could
//! leave its times as they were.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::decode::{AudioInfo, Tags};
use crate::error::{Error, Result};
use crate::features::peaks::{Peak, SpectralPeaks};
use crate::features::{FeatureConfig, Features};
use crate::similarity::fingerprint::IndexStore;
use crate::similarity::memo::{MatchStore, PairOutcome};

/// What the cache keeps of one analysed file: the stream's properties and features, and what
/// decoding it found. Not its path (the key is the content, so a renamed or copied file hits)
/// nor its timings (a hit costs neither).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The stream's properties and tags.
    pub info: AudioInfo,
    /// The features.
    pub features: Features,
    /// Packets skipped as unreadable while decoding.
    pub skipped_packets: usize,
    /// Seconds of audio actually decoded.
    pub duration_s: f64,
}

/// Layout version of an entry; a change makes every older entry a miss.
pub const FORMAT_VERSION: u32 = 1;

/// Revision of the decoding and extraction code whose output is cached. Raise it whenever a
/// change to decoding or feature extraction changes the features for the same file and
/// parameters, so that old entries are not used.
pub const EXTRACTOR_REVISION: u32 = 5;

const MAGIC: &[u8; 8] = b"LMFCACHE";
const HEADER_LEN: usize = 8 + 4 + 8 + 32 + 32;
/// Entries live in a subfolder named after the format, so incompatible layouts never meet.
const SUBDIR: &str = "features-v1";
/// The subfolder of pairwise matching entries.
const MATCH_SUBDIR: &str = "matches-v1";
/// The subfolder of landmark indexes of sets of tracks.
const INDEX_SUBDIR: &str = "landmarks-v1";
/// Subfolder of remembered content hashes, one file per path.
const HASH_SUBDIR: &str = "hashes-v1";
const HASH_MAGIC: &[u8; 8] = b"LMHASH01";

/// How long a file must have stood unchanged before its content hash is remembered: a change
/// within the same tick of the clock as the one remembered could leave its times as they were.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// What identifies one cache entry: the file's content and the extraction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheKey {
    digest: [u8; 32],
}

impl CacheKey {
    /// Computes the key of `path` read with `cfg`: BLAKE3 over the file's bytes, its size, the
    /// parameters, the entry format, the extractor revision and the crate version.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` when it cannot be read.
    pub fn for_file(path: &Path, cfg: &FeatureConfig) -> Result<Self> {
        let (content, size) = hash_file(path)?;
        Ok(Self::from_parts(&content, size, cfg))
    }

    /// The key of content with BLAKE3 hash `content` and `size` bytes, read with `cfg`.
    pub fn from_parts(content: &[u8; 32], size: u64, cfg: &FeatureConfig) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"leitmotif feature cache\0");
        h.update(&FORMAT_VERSION.to_le_bytes());
        h.update(&EXTRACTOR_REVISION.to_le_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(&[0]);
        h.update(content);
        h.update(&size.to_le_bytes());
        // The JSON of the whole configuration: any parameter that changes gives another key.
        h.update(serde_json::to_string(cfg).unwrap_or_default().as_bytes());
        Self { digest: *h.finalize().as_bytes() }
    }

    /// The key as 64 hexadecimal digits (the entry's file name).
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.digest).to_hex().to_string()
    }
}

/// Counts of what the cache did during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Files whose features came from the cache.
    pub hits: usize,
    /// Files that had no entry and were decoded.
    pub misses: usize,
    /// Entries found damaged (truncated, wrong checksum or format), removed and rebuilt.
    pub bad: usize,
    /// Feature entries written.
    pub stored: usize,
    /// Entries that could not be written (the analysis goes on without them).
    pub write_failures: usize,
    /// Pairs of tracks whose stored alignments were used as they are.
    pub pairs_reused: usize,
    /// Pairs whose stored seeds were traced again at a stricter threshold.
    pub pairs_retraced: usize,
    /// Pairs matched afresh (no entry, a looser threshold, or a damaged entry).
    pub pairs_computed: usize,
    /// Pair entries found damaged and rebuilt (also counted in `pairs_computed`).
    pub pairs_damaged: usize,
    /// Landmark indexes of the tracks read from the cache.
    pub indexes_reused: usize,
    /// Landmark indexes built (none stored, or a damaged one) and stored.
    pub indexes_built: usize,
}

/// A folder of feature entries, shared by all threads of a run.
#[derive(Debug)]
pub struct FeatureCache {
    dir: PathBuf,
    hits: AtomicUsize,
    misses: AtomicUsize,
    bad: AtomicUsize,
    stored: AtomicUsize,
    write_failures: AtomicUsize,
    pairs: [AtomicUsize; 4],
    indexes: [AtomicUsize; 2],
    settle: std::time::Duration,
}

/// Everything of a [`Track`] except its path and timings, as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    sample_rate: u32,
    channels: u16,
    declared_duration_s: Option<f64>,
    codec: String,
    tags: Tags,
    skipped_packets: usize,
    duration_s: f64,
    hop_s: f64,
    tuning_cents: f32,
    chroma_frames: usize,
    melody_frames: usize,
    energy_frames: usize,
    /// Entries of the spectral peaks' frame index (frames + 1, or 0 without peaks).
    #[serde(default)]
    peak_starts: usize,
    #[serde(default)]
    peak_count: usize,
}

impl FeatureCache {
    /// A cache in `dir` (created when the first entry is stored).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            bad: AtomicUsize::new(0),
            stored: AtomicUsize::new(0),
            write_failures: AtomicUsize::new(0),
            pairs: Default::default(),
            indexes: Default::default(),
            settle: SETTLE,
        }
    }

    /// The user's cache folder for leitmotif: `$XDG_CACHE_HOME/leitmotif` or
    /// `~/.cache/leitmotif` on Linux, the platform's equivalent elsewhere; `None` when the
    /// platform has no home folder.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("leitmotif"))
    }

    /// The folder given to [`FeatureCache::new`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry of `key` lives.
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(SUBDIR).join(format!("{}.lmf", key.hex()))
    }

    /// What the cache has done so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bad: self.bad.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
            pairs_reused: self.pairs[0].load(Ordering::Relaxed),
            pairs_retraced: self.pairs[1].load(Ordering::Relaxed),
            pairs_computed: self.pairs[2].load(Ordering::Relaxed) + self.pairs[3].load(Ordering::Relaxed),
            pairs_damaged: self.pairs[3].load(Ordering::Relaxed),
            indexes_reused: self.indexes[0].load(Ordering::Relaxed),
            indexes_built: self.indexes[1].load(Ordering::Relaxed),
        }
    }

    /// The entry stored under `key`, when a sound one exists. A damaged entry is counted,
    /// removed and reported as a miss so that it is rebuilt.
    pub fn load(&self, key: &CacheKey) -> Option<Entry> {
        let entry = self.entry_path(key);
        let bytes = match std::fs::read(&entry) {
            Ok(bytes) => bytes,
            Err(_) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        match decode_entry(&bytes, key) {
            Some(found) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(found)
            }
            None => {
                self.bad.fetch_add(1, Ordering::Relaxed);
                self.misses.fetch_add(1, Ordering::Relaxed);
                // Another run may have replaced it with a sound copy meanwhile; removing that
                // costs one rebuild, never a wrong result.
                let _ = std::fs::remove_file(&entry);
                None
            }
        }
    }

    /// Stores `found` under `key`, atomically (temporary file + rename).
    ///
    /// # Errors
    /// [`Error::Write`] naming the entry when the folder cannot be created or written.
    pub fn store(&self, key: &CacheKey, found: &Entry) -> Result<()> {
        let entry = self.entry_path(key);
        // Not synced, like the pair entries: an entry lost or cut short by a crash is refused by
        // its checksum and rebuilt, while a sync per file costs a cold run more than the
        // decoding of a WAV file.
        let result = write_entry(&entry, &encode_entry(found, key), false);
        match &result {
            Ok(()) => self.stored.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.write_failures.fetch_add(1, Ordering::Relaxed),
        };
        result
    }

    /// The entry of `path` read with `cfg`, or what `analyse` makes of the file, stored for next
    /// time. Failing to hash the file falls back to `analyse` (which reports the file's own
    /// error); failing to store is counted in [`CacheStats::write_failures`] and otherwise
    /// ignored. Says whether the entry came from the cache.
    ///
    /// # Errors
    /// Whatever `analyse` returns.
    pub fn get_or_insert_with(
        &self,
        path: &Path,
        cfg: &FeatureConfig,
        analyse: impl FnOnce() -> Result<Entry>,
    ) -> Result<(Entry, bool)> {
        let Ok(key) = self.key_for(path, cfg) else {
            return analyse().map(|e| (e, false));
        };
        if let Some(found) = self.load(&key) {
            return Ok((found, true));
        }
        let found = analyse()?;
        let _ = self.store(&key, &found);
        Ok((found, false))
    }
}

impl FeatureCache {
    /// [`CacheKey::for_file`], with the file's content hash remembered per path while its size,
    /// times, inode and device stay the same (the file's change time moves with every write and
    /// cannot be set back), so an unchanged library is not read through on every run. Only
    /// files unchanged for a while are remembered (see [`SETTLE`]); elsewhere than on Unix
    /// every file is hashed.
    fn key_for(&self, path: &Path, cfg: &FeatureConfig) -> Result<CacheKey> {
        let stamp = file_stamp(path);
        let memo = stamp.as_ref().and_then(|_| std::path::absolute(path).ok()).map(|p| self.hash_path(&p));
        if let (Some(stamp), Some(memo)) = (&stamp, &memo)
            && let Some((content, size)) = std::fs::read(memo).ok().and_then(|b| read_hash_memo(&b, stamp))
        {
            return Ok(CacheKey::from_parts(&content, size, cfg));
        }
        let (content, size) = hash_file(path)?;
        if let (Some(stamp), Some(memo)) = (stamp, memo)
            && stamp.settled(self.settle)
        {
            self.write_unsynced(&memo, &hash_memo(&stamp, &content, size));
        }
        Ok(CacheKey::from_parts(&content, size, cfg))
    }

    /// Where the content hash of the file at `absolute` is remembered.
    fn hash_path(&self, absolute: &Path) -> PathBuf {
        let name = blake3::hash(absolute.as_os_str().as_encoded_bytes()).to_hex();
        self.dir.join(HASH_SUBDIR).join(format!("{name}.lmh"))
    }
}

/// What a file's metadata says of its content: size, modification and change times to the
/// nanosecond, inode and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp([i64; 7]);

impl FileStamp {
    /// Whether the file last changed at least `settle` ago.
    fn settled(&self, settle: std::time::Duration) -> bool {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let changed = std::time::Duration::new(self.0[3].max(0) as u64, self.0[4].clamp(0, 999_999_999) as u32);
        now.saturating_sub(changed) >= settle
    }
}

/// The stamp of the regular file `path`; `None` where it cannot be read (or off Unix).
#[cfg(unix)]
fn file_stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    Some(FileStamp([
        m.size() as i64,
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.ino() as i64,
        m.dev() as i64,
    ]))
}

#[cfg(not(unix))]
fn file_stamp(_path: &Path) -> Option<FileStamp> {
    None
}

/// BLAKE3 of a regular file's bytes, and their number.
fn hash_file(path: &Path) -> Result<([u8; 32], u64)> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    // Only regular files are hashed: opening a FIFO blocks, and a device never ends.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")));
    }
    let mut file = File::open(path).map_err(io)?;
    let mut content = blake3::Hasher::new();
    let size = std::io::copy(&mut file, &mut content).map_err(io)?;
    Ok((*content.finalize().as_bytes(), size))
}

/// A remembered hash: magic, the stamp, the content hash and size, and a checksum of them.
fn hash_memo(stamp: &FileStamp, content: &[u8; 32], size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 56 + 32 + 8 + 32);
    out.extend_from_slice(HASH_MAGIC);
    stamp.0.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out.extend_from_slice(content);
    out.extend_from_slice(&size.to_le_bytes());
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// The content hash and size a memo remembers, if it is sound and made for `stamp`.
fn read_hash_memo(bytes: &[u8], stamp: &FileStamp) -> Option<([u8; 32], u64)> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if body.len() != 8 + 56 + 32 + 8 || blake3::hash(body).as_bytes() != sum || &body[..8] != HASH_MAGIC {
        return None;
    }
    let expected: Vec<u8> = stamp.0.iter().flat_map(|v| v.to_le_bytes()).collect();
    if body[8..64] != expected[..] {
        return None;
    }
    let content: [u8; 32] = body[64..96].try_into().ok()?;
    let size = u64::from_le_bytes(body[96..104].try_into().ok()?);
    Some((content, size))
}

/// Pairwise matching entries (and the motifs' whole searches that follow from them) live beside
/// the features, in their own subfolder; each entry checks its own integrity and key
/// ([`PairEntry::decode`](crate::similarity::memo::PairEntry::decode), [`decode_scan`](crate::similarity::memo::decode_scan)).
impl MatchStore for FeatureCache {
    fn load(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        std::fs::read(self.match_path(key)).ok()
    }

    fn store(&self, key: &[u8; 32], bytes: &[u8]) {
        self.write_unsynced(&self.match_path(key), bytes);
    }

    fn record(&self, outcome: PairOutcome) {
        let slot = match outcome {
            PairOutcome::Reused => 0,
            PairOutcome::Retraced => 1,
            PairOutcome::Computed => 2,
            PairOutcome::Damaged => 3,
        };
        self.pairs[slot].fetch_add(1, Ordering::Relaxed);
    }

    fn load_scan(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        std::fs::read(self.scan_path(key)).ok()
    }

    fn store_scan(&self, key: &[u8; 32], bytes: &[u8]) {
        self.write_unsynced(&self.scan_path(key), bytes);
    }
}

/// Landmark indexes live beside the features, one file per set of tracks and settings; the
/// entry checks its own integrity and key ([`LandmarkIndex::read`](crate::similarity::fingerprint::LandmarkIndex::read)).
/// Both ways it streams through a buffer: an index of many hours of tracks is large.
impl IndexStore for FeatureCache {
    fn open_index(&self, key: &[u8; 32]) -> Option<Box<dyn Read + '_>> {
        let file = File::open(self.index_path(key)).ok()?;
        Some(Box::new(BufReader::with_capacity(1 << 16, file)))
    }

    fn store_index(&self, key: &[u8; 32], write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) {
        self.write_unsynced_with(&self.index_path(key), write);
    }

    fn record_index(&self, reused: bool) {
        self.indexes[usize::from(!reused)].fetch_add(1, Ordering::Relaxed);
    }
}

impl FeatureCache {
    /// Writes an entry that checks its own integrity, counting a failure instead of failing the
    /// run. Not synced: an entry lost or cut short by a crash is refused by its checksum and
    /// rebuilt, and syncing thousands of files would cost more than they save.
    fn write_unsynced(&self, path: &Path, bytes: &[u8]) {
        self.write_unsynced_with(path, &|w| w.write_all(bytes));
    }

    /// [`FeatureCache::write_unsynced`] of what `write` writes.
    fn write_unsynced_with(&self, path: &Path, write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) {
        if write_entry_with(path, write, false).is_err() {
            self.write_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn index_path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(INDEX_SUBDIR).join(format!("{}.lmi", blake3::Hash::from_bytes(*key).to_hex()))
    }

    fn match_path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(MATCH_SUBDIR).join(format!("{}.lmm", blake3::Hash::from_bytes(*key).to_hex()))
    }

    /// A motif's whole search, beside the pair entries it follows from.
    fn scan_path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(MATCH_SUBDIR).join(format!("{}.lms", blake3::Hash::from_bytes(*key).to_hex()))
    }
}

fn push_frames(out: &mut Vec<u8>, frames: &[[f32; 12]]) {
    for frame in frames {
        for v in frame {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The bytes of an entry holding `track` under `key`.
fn encode_entry(track: &Entry, key: &CacheKey) -> Vec<u8> {
    let f = &track.features;
    let meta = Meta {
        sample_rate: track.info.sample_rate,
        channels: track.info.channels,
        declared_duration_s: track.info.duration_s,
        codec: track.info.codec.clone(),
        tags: track.info.tags.clone(),
        skipped_packets: track.skipped_packets,
        duration_s: track.duration_s,
        hop_s: f.hop_s,
        tuning_cents: f.tuning_cents,
        chroma_frames: f.chroma.len(),
        melody_frames: f.melody.len(),
        energy_frames: f.energy_db.len(),
        peak_starts: f.peaks.starts.len(),
        peak_count: f.peaks.peaks.len(),
    };
    let meta_json = serde_json::to_vec(&meta).unwrap_or_default();
    let mut payload =
        Vec::with_capacity(4 + meta_json.len() + (f.chroma.len() + f.melody.len()) * 48 + f.energy_db.len() * 4);
    payload.extend_from_slice(&u32::try_from(meta_json.len()).unwrap_or(u32::MAX).to_le_bytes());
    payload.extend_from_slice(&meta_json);
    push_frames(&mut payload, &f.chroma);
    push_frames(&mut payload, &f.melody);
    for v in &f.energy_db {
        payload.extend_from_slice(&v.to_le_bytes());
    }
    for v in &f.peaks.starts {
        payload.extend_from_slice(&v.to_le_bytes());
    }
    for p in &f.peaks.peaks {
        payload.extend_from_slice(&p.bin.to_le_bytes());
        payload.extend_from_slice(&p.db.to_le_bytes());
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&key.digest);
    out.extend_from_slice(&payload);
    out
}

/// Reads `n` little-endian f32 values from the front of `bytes`, advancing it.
fn take_f32s(bytes: &mut &[u8], n: usize) -> Option<Vec<f32>> {
    let len = n.checked_mul(4)?;
    if bytes.len() < len {
        return None;
    }
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    Some(head.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn take_frames(bytes: &mut &[u8], n: usize) -> Option<Vec<[f32; 12]>> {
    let flat = take_f32s(bytes, n.checked_mul(12)?)?;
    Some(flat.chunks_exact(12).map(|c| std::array::from_fn(|i| c[i])).collect())
}

/// Reads a peak index of `n_starts` entries and `n_peaks` peaks, checking that the index is
/// ascending and ends at the last peak.
fn take_peaks(bytes: &mut &[u8], n_starts: usize, n_peaks: usize) -> Option<SpectralPeaks> {
    let starts_len = n_starts.checked_mul(4)?;
    let peaks_len = n_peaks.checked_mul(6)?;
    if bytes.len() < starts_len.checked_add(peaks_len)? {
        return None;
    }
    let (head, rest) = bytes.split_at(starts_len);
    let starts: Vec<u32> = head.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (body, rest) = rest.split_at(peaks_len);
    *bytes = rest;
    let peaks: Vec<Peak> = body
        .chunks_exact(6)
        .map(|b| Peak { bin: u16::from_le_bytes([b[0], b[1]]), db: f32::from_le_bytes([b[2], b[3], b[4], b[5]]) })
        .collect();
    let consistent = match (starts.first(), starts.last()) {
        (None, None) => peaks.is_empty(),
        (Some(&0), Some(&last)) => last as usize == peaks.len() && starts.windows(2).all(|w| w[0] <= w[1]),
        _ => false,
    };
    consistent.then_some(SpectralPeaks { starts, peaks })
}

/// The entry stored in `bytes`, or `None` when anything about it is wrong.
fn decode_entry(bytes: &[u8], key: &CacheKey) -> Option<Entry> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let format = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    let payload_len = u64::from_le_bytes(bytes[12..20].try_into().ok()?);
    let checksum: [u8; 32] = bytes[20..52].try_into().ok()?;
    let stored_key: [u8; 32] = bytes[52..84].try_into().ok()?;
    let payload = &bytes[HEADER_LEN..];
    if format != FORMAT_VERSION || stored_key != key.digest || payload.len() as u64 != payload_len {
        return None;
    }
    if *blake3::hash(payload).as_bytes() != checksum {
        return None;
    }
    let mut rest = payload;
    let meta_len = usize::try_from(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
    let meta: Meta = serde_json::from_slice(rest.get(4..4 + meta_len)?).ok()?;
    rest = &rest[4 + meta_len..];
    let chroma = take_frames(&mut rest, meta.chroma_frames)?;
    let melody = take_frames(&mut rest, meta.melody_frames)?;
    let energy_db = take_f32s(&mut rest, meta.energy_frames)?;
    let peaks = take_peaks(&mut rest, meta.peak_starts, meta.peak_count)?;
    if !rest.is_empty() {
        return None;
    }
    Some(Entry {
        info: AudioInfo {
            sample_rate: meta.sample_rate,
            channels: meta.channels,
            duration_s: meta.declared_duration_s,
            codec: meta.codec,
            tags: meta.tags,
        },
        features: Features { hop_s: meta.hop_s, tuning_cents: meta.tuning_cents, chroma, melody, energy_db, peaks },
        skipped_packets: meta.skipped_packets,
        duration_s: meta.duration_s,
    })
}

/// Writes `bytes` to `entry` through a uniquely named temporary file in the same folder, synced
/// to disk first when `sync`.
fn write_entry(entry: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    write_entry_with(entry, &|w| w.write_all(bytes), sync)
}

/// [`write_entry`] of what `write` writes, through a buffer.
fn write_entry_with(entry: &Path, write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>, sync: bool) -> Result<()> {
    let wrap = |source: std::io::Error| Error::Write { path: entry.to_path_buf(), source };
    let dir = entry.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(wrap)?;
    let mut tmp = tempfile::Builder::new().prefix(".entry.").suffix(".tmp").tempfile_in(dir).map_err(wrap)?;
    let mut buffered = BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    write(&mut buffered).and_then(|()| buffered.flush()).map_err(wrap)?;
    drop(buffered);
    if sync {
        tmp.as_file().sync_data().map_err(wrap)?;
    }
    tmp.persist(entry).map_err(|e| wrap(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_track() -> Entry {
        Entry {
            info: AudioInfo {
                sample_rate: 22_050,
                channels: 2,
                duration_s: Some(1.5),
                codec: "pcm_s16le".to_owned(),
                tags: Tags { title: Some("<b>T</b>".to_owned()), artist: None, album: Some("A".to_owned()) },
            },
            features: Features {
                hop_s: 0.1,
                tuning_cents: -3.5,
                chroma: (0..15).map(|k| std::array::from_fn(|i| (k * 12 + i) as f32 / 180.0)).collect(),
                melody: (0..15).map(|k| std::array::from_fn(|i| ((k + i) % 3) as f32)).collect(),
                energy_db: (0..15).map(|k| -60.0 + k as f32).collect(),
                peaks: {
                    let mut peaks = SpectralPeaks::default();
                    for k in 0..15u16 {
                        let frame: Vec<Peak> =
                            (0..k % 4).map(|i| Peak { bin: k * 7 + i, db: -20.0 - f32::from(i) }).collect();
                        peaks.push_frame(&frame);
                    }
                    peaks
                },
            },
            skipped_packets: 2,
            duration_s: 1.49,
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_remembered_hash_serves_only_while_the_file_is_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.wav");
        std::fs::write(&file, b"first content").expect("write");
        let cfg = FeatureConfig::default();
        let memos = |cache: &FeatureCache| std::fs::read_dir(cache.dir().join(HASH_SUBDIR)).map_or(0, Iterator::count);
        // A file changed a moment ago is hashed and not remembered.
        let fresh = FeatureCache::new(dir.path().join("c1"));
        assert_eq!(fresh.key_for(&file, &cfg).ok(), CacheKey::for_file(&file, &cfg).ok());
        assert_eq!(memos(&fresh), 0);
        // Settled at once: remembered, then served.
        let cache = FeatureCache { settle: std::time::Duration::ZERO, ..FeatureCache::new(dir.path().join("c2")) };
        let first = cache.key_for(&file, &cfg).expect("key");
        assert_eq!(memos(&cache), 1);
        assert_eq!(cache.key_for(&file, &cfg).ok(), Some(first));
        // Rewritten with other bytes of the same length, a clock tick later (the very race
        // `SETTLE` keeps out): the stamp moves, the content is hashed.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&file, b"other content").expect("write");
        let second = cache.key_for(&file, &cfg).expect("key");
        assert_ne!(second, first);
        assert_eq!(Some(second), CacheKey::for_file(&file, &cfg).ok());
        // A damaged memo is not trusted.
        let memo = std::fs::read_dir(cache.dir().join(HASH_SUBDIR)).expect("dir").next().expect("memo").expect("entry");
        let mut bytes = std::fs::read(memo.path()).expect("read");
        bytes[70] ^= 1;
        std::fs::write(memo.path(), &bytes).expect("write");
        assert_eq!(cache.key_for(&file, &cfg).ok(), Some(second));
        let stamp = file_stamp(&file).expect("stamp");
        assert_eq!(read_hash_memo(&bytes, &stamp), None);
        assert!(read_hash_memo(&hash_memo(&stamp, &[3; 32], 13), &stamp).is_some());
    }

    #[test]
    fn entries_round_trip_exactly() {
        let key = CacheKey::from_parts(&[7; 32], 1234, &FeatureConfig::default());
        let t = sample_track();
        let back = decode_entry(&encode_entry(&t, &key), &key).expect("decodes");
        assert_eq!(back.info, t.info);
        assert_eq!(back.features, t.features);
        assert_eq!((back.skipped_packets, back.duration_s), (2, 1.49));
    }

    #[test]
    fn damaged_or_foreign_entries_are_refused() {
        let key = CacheKey::from_parts(&[7; 32], 1234, &FeatureConfig::default());
        let bytes = encode_entry(&sample_track(), &key);
        for cut in [0, 10, HEADER_LEN, bytes.len() - 1] {
            assert!(decode_entry(&bytes[..cut], &key).is_none(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(decode_entry(&flipped, &key).is_none());
        let other = CacheKey::from_parts(&[8; 32], 1234, &FeatureConfig::default());
        assert!(decode_entry(&bytes, &other).is_none());
    }

    #[test]
    fn keys_change_with_content_size_and_parameters() {
        let cfg = FeatureConfig::default();
        let base = CacheKey::from_parts(&[1; 32], 10, &cfg);
        assert_eq!(base, CacheKey::from_parts(&[1; 32], 10, &cfg));
        assert_ne!(base, CacheKey::from_parts(&[2; 32], 10, &cfg));
        assert_ne!(base, CacheKey::from_parts(&[1; 32], 11, &cfg));
        let hop = FeatureConfig { hop_s: 0.05, ..FeatureConfig::default() };
        assert_ne!(base, CacheKey::from_parts(&[1; 32], 10, &hop));
        assert_eq!(base.hex().len(), 64);
    }
}
