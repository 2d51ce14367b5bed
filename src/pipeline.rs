//! The batch pipeline: expands inputs into audio files, decodes and extracts features from each in
//! parallel (one failure never stops the batch), and runs `analyze`, `find` and `cues` into
//! documents.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cues::{self, CueConfig};
use crate::decode::AudioStream;
use crate::error::{Error, Result};
use crate::features::{self, FeatureConfig, Features, Tuning};
use crate::find;
use crate::motif::{self, MotifConfig};
use crate::progress::Hooks;
use crate::report::{self, CueReport, EpisodeEntry, ErrorEntry, Params, Report, format_time};
use crate::similarity::fingerprint::{self, IndexStore, Landmark, LandmarkIndex};
use crate::similarity::memo::MatchStore;
use crate::source::SampleSource;
use crate::track::{InputError, StageTimings, Track, nothing_analysed, split_outcomes};
use crate::units;

/// File extensions (lower case) taken as audio when walking a folder. Files named explicitly
/// are always tried, whatever their extension: the decoder probes by content.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "aac", "adts", "aif", "aifc", "aiff", "alac", "caf", "flac", "m4a", "m4b", "m4v", "mka", "mkv", "mov", "mp1",
    "mp2", "mp3", "mp4", "oga", "ogg", "opus", "wav", "wave", "webm",
];

/// Whether `path` has one of [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Times how long the wrapped stream spends producing blocks, i.e. decoding, and tells
/// `progress` the share of the declared duration decoded so far.
struct TimedSource<'a> {
    inner: &'a mut AudioStream,
    spent: Duration,
    progress: &'a (dyn Fn(f64) + Sync),
}

impl SampleSource for TimedSource<'_> {
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>> {
        // Reported before the next block is borrowed: the share lags one block behind.
        let expected = self.inner.info().duration_s.unwrap_or(0.0) * f64::from(self.inner.sample_rate());
        if expected > 0.0 {
            (self.progress)((self.inner.samples_decoded() as f64 / expected).min(1.0));
        }
        let t = Instant::now();
        let block = self.inner.next_block();
        self.spent += t.elapsed();
        block
    }
}

/// Decodes `path` and extracts its features.
///
/// # Errors
/// [`Error::BadParam`] for invalid settings; otherwise the decoder's or the extractor's typed
/// error, naming the file ([`Error::Unanalysable`] when the settings do not fit its audio).
pub fn load_track(path: &Path, cfg: &FeatureConfig) -> Result<Track> {
    load_track_reporting(path, cfg, &|_| {})
}

/// [`load_track`], telling `progress` the share of the file's declared duration decoded so far
/// (nothing when the container declares none).
///
/// # Errors
/// As [`load_track`].
pub fn load_track_reporting(path: &Path, cfg: &FeatureConfig, progress: &(dyn Fn(f64) + Sync)) -> Result<Track> {
    cfg.validate()?;
    let t0 = Instant::now();
    let mut stream = AudioStream::open(path)?;
    let open = t0.elapsed();
    let t1 = Instant::now();
    let mut timed = TimedSource { inner: &mut stream, spent: Duration::ZERO, progress };
    // The settings were checked above, so a setting refused here is refused for this file's
    // audio (a sample rate too low for the window): the file's failure, not the user's.
    let (features, stats) = features::extract_timed(&mut timed, cfg).map_err(|e| match e {
        Error::BadParam { .. } => Error::Unanalysable { path: path.to_path_buf(), source: Box::new(e) },
        other => other,
    })?;
    let decode = timed.spent;
    let features_time = t1.elapsed().saturating_sub(decode);
    let info = stream.info().clone();
    let decoded = stream.samples_decoded();
    // Prefer what was actually decoded over what the container declares.
    let duration_s = if decoded > 0 && info.sample_rate > 0 {
        decoded as f64 / f64::from(info.sample_rate)
    } else {
        info.duration_s.unwrap_or(features.chroma.len() as f64 * features.hop_s)
    };
    Ok(Track {
        path: path.to_path_buf(),
        info,
        features,
        skipped_packets: stream.skipped_packets(),
        duration_s,
        timings: StageTimings { open, decode, features: features_time, feature_stages: stats.timings },
    })
}

/// Expands inputs into the files to analyse, sorted by path without duplicates: files are taken
/// as they are; folders are walked recursively (following symbolic links, skipping loops) for
/// files with an audio extension; M3U/M3U8 playlists ([`is_playlist`]) are read as lists of
/// inputs, relative entries resolved from the playlist's folder.
pub fn expand_inputs(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        expand(input, MAX_PLAYLIST_DEPTH, &mut files, &mut errors);
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// Playlists inside playlists are followed this deep; a playlist listing itself stops there.
const MAX_PLAYLIST_DEPTH: usize = 4;

fn expand(input: &Path, depth: usize, files: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    match std::fs::metadata(input) {
        Err(source) => errors
            .push(InputError { path: input.to_path_buf(), error: Error::Io { path: input.to_path_buf(), source } }),
        Ok(meta) if meta.is_dir() => walk(input, files, errors),
        Ok(_) if is_playlist(input) => {
            if depth == 0 {
                let detail = "playlists nest too deeply (a playlist that lists itself?)".to_owned();
                errors.push(InputError {
                    path: input.to_path_buf(),
                    error: Error::BadDocument { path: input.to_path_buf(), detail },
                });
                return;
            }
            match std::fs::read(input) {
                Ok(bytes) => {
                    for entry in playlist_entries(input, &bytes) {
                        expand(&entry, depth - 1, files, errors);
                    }
                }
                Err(source) => errors.push(InputError {
                    path: input.to_path_buf(),
                    error: Error::Io { path: input.to_path_buf(), source },
                }),
            }
        }
        Ok(_) => files.push(input.to_path_buf()),
    }
}

/// Whether `path` is named like an M3U or M3U8 playlist.
pub fn is_playlist(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("m3u") || e.eq_ignore_ascii_case("m3u8"))
}

/// The entries of an M3U/M3U8 playlist: every line that is not empty and not a `#` comment or
/// directive, as a path, relative ones taken from the playlist's folder (`file://` URLs too).
/// Text that is not UTF-8 (older M3U files are Latin-1) is read byte for byte as Latin-1.
pub fn playlist_entries(playlist: &Path, bytes: &[u8]) -> Vec<PathBuf> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let base = playlist.parent().unwrap_or_else(|| Path::new(""));
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let entry = Path::new(l.strip_prefix("file://").unwrap_or(l));
            if entry.is_absolute() { entry.to_path_buf() } else { base.join(entry) }
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let before = files.len();
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        match entry {
            // A FIFO, socket or device named like audio is kept too, so that opening it lists it
            // as not a regular file instead of leaving it out silently.
            Ok(e) if !e.file_type().is_dir() && has_audio_extension(e.path()) => files.push(e.into_path()),
            Ok(_) => {}
            // A link back to an ancestor would walk forever; it adds no file, so skip it quietly.
            Err(e) if e.loop_ancestor().is_some() => {}
            Err(e) => {
                let path = e.path().map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
                // The bare I/O error: walkdir's own message repeats the path reported beside it.
                let source = e.into_io_error().unwrap_or_else(|| std::io::Error::other("file system loop"));
                errors.push(InputError { path: path.clone(), error: Error::Io { path, source } });
            }
        }
    }
    if files.len() == before {
        errors.push(InputError { path: dir.to_path_buf(), error: Error::NoAudioFiles { path: dir.to_path_buf() } });
    }
}

/// Decodes and analyses already expanded files in parallel, in their order, through the hooks'
/// feature cache, reporting the work to their progress as `stage` in bytes of input: each file
/// counts its size, advanced as its audio is decoded, so one long file does not sit at 0 of 1.
fn load_files(stage: &str, files: &[PathBuf], cfg: &FeatureConfig, hooks: &Hooks) -> (Vec<Track>, Vec<InputError>) {
    load_files_with(stage, files, cfg, hooks, &|t| t)
}

/// [`load_files`], each track turned into what `keep` makes of it as soon as it is loaded: a
/// run that reads little of each track's features never holds all of them.
fn load_files_with<T: Send>(
    stage: &str,
    files: &[PathBuf],
    cfg: &FeatureConfig,
    hooks: &Hooks,
    keep: &(dyn Fn(Track) -> T + Sync),
) -> (Vec<T>, Vec<InputError>) {
    let sizes: Vec<u64> = files.iter().map(|p| std::fs::metadata(p).map_or(1, |m| m.len().max(1))).collect();
    hooks.begin_bytes(stage, sizes.iter().sum());
    let results: Vec<std::result::Result<T, InputError>> = files
        .par_iter()
        .zip(&sizes)
        .map(|(p, &size)| {
            let reported = AtomicU64::new(0);
            let report = |share: f64| {
                let target = (size as f64 * share) as u64;
                let before = reported.fetch_max(target, Ordering::Relaxed);
                if target > before {
                    hooks.tick(target - before);
                }
            };
            let loaded = hooks
                .load(p, cfg, |p, c| load_track_reporting(p, c, &report))
                .map(|track| {
                    hooks.audio(track.duration_s);
                    keep(track)
                })
                .map_err(|error| InputError { path: p.clone(), error });
            let before = reported.swap(size, Ordering::Relaxed);
            hooks.tick(size.saturating_sub(before));
            hooks.advance(p);
            loaded
        })
        .collect();
    hooks.end();
    let mut errors = Vec::new();
    let tracks = split_outcomes(results, &mut errors);
    (tracks, errors)
}

/// What decoding one file to its end found, without any analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFile {
    /// The file.
    pub path: PathBuf,
    /// Seconds of audio decoded.
    pub duration_s: f64,
    /// Packets skipped as unreadable.
    pub skipped_packets: usize,
    /// Time spent opening and decoding.
    pub elapsed: Duration,
}

/// Decodes every file of `inputs` (folders walked recursively) to its end, in parallel, and
/// computes nothing from the audio: a check that the files are readable, and the floor any
/// analysis of them costs. Files come sorted by path; every failure is one [`InputError`].
pub fn decode_inputs(inputs: &[PathBuf]) -> (Vec<DecodedFile>, Vec<InputError>) {
    let (files, mut errors) = expand_inputs(inputs);
    let results: Vec<std::result::Result<DecodedFile, InputError>> = files
        .par_iter()
        .map(|path| {
            let t0 = Instant::now();
            let decoded = (|| {
                let mut stream = AudioStream::open(path)?;
                let mut samples = 0u64;
                while let Some(block) = stream.next_block()? {
                    samples += block.len() as u64;
                }
                let rate = f64::from(stream.sample_rate().max(1));
                Ok(DecodedFile {
                    path: path.clone(),
                    duration_s: samples as f64 / rate,
                    skipped_packets: stream.skipped_packets(),
                    elapsed: t0.elapsed(),
                })
            })();
            decoded.map_err(|error| InputError { path: path.clone(), error })
        })
        .collect();
    let decoded = split_outcomes(results, &mut errors);
    errors.sort_by(|x, y| x.path.cmp(&y.path));
    (decoded, errors)
}

/// Expands `inputs` (files, or folders walked recursively) and decodes and analyses every file
/// in parallel, through the hooks' feature cache, reporting the work to their progress as
/// `stage`. Tracks come sorted by path; every failure is one [`InputError`], sorted by path.
pub fn load_tracks(
    stage: &str,
    inputs: &[PathBuf],
    cfg: &FeatureConfig,
    hooks: &Hooks,
) -> (Vec<Track>, Vec<InputError>) {
    load_tracks_with(stage, inputs, cfg, hooks, &|t| t)
}

/// [`load_tracks`], each track turned into what `keep` makes of it as soon as it is loaded.
pub fn load_tracks_with<T: Send>(
    stage: &str,
    inputs: &[PathBuf],
    cfg: &FeatureConfig,
    hooks: &Hooks,
    keep: &(dyn Fn(Track) -> T + Sync),
) -> (Vec<T>, Vec<InputError>) {
    let (files, mut errors) = expand_inputs(inputs);
    let (tracks, load_errors) = load_files_with(stage, &files, cfg, hooks, keep);
    errors.extend(load_errors);
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    (tracks, errors)
}

/// The settings a document was made with, written as its `params`: the stage's own settings at
/// the top level (the contract's `min_len_s`, `threshold`), the matching hop actually used, and
/// the feature settings, the very struct whose serialisation keys the feature cache
/// ([`crate::cache::CacheKey`]), so a report cannot claim settings its features were not made
/// with.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunParams<'a, S: serde::Serialize> {
    /// The stage's settings ([`MotifConfig`] or [`CueConfig`]).
    #[serde(flatten)]
    pub stage: &'a S,
    /// Hop of the matching sequences actually used, seconds: the stage's `hop_s` rounded to a
    /// whole number of feature frames.
    pub matching_hop_s: f64,
    /// Feature extraction, as the cache keys hash it.
    pub features: &'a FeatureConfig,
}

impl<S: serde::Serialize> RunParams<'_, S> {
    /// The settings as a document's `params` (the report builders round them for people).
    pub fn to_params(&self) -> Params {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            // Every field is a plain struct of numbers and strings, which always serialise.
            _ => Params::new(),
        }
    }
}

/// Settings of `analyze`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyzeConfig {
    /// Files or folders.
    pub inputs: Vec<PathBuf>,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Motif discovery.
    pub motif: MotifConfig,
    /// Feature cache and progress display.
    pub hooks: Hooks,
}

/// Discovers the motifs that recur across and within all input tracks. Returns the report and
/// the analysed tracks (in the order of the report's `tracks`), for renderers that draw their
/// features.
///
/// # Errors
/// [`Error::BadParam`] for an invalid configuration; when no input could be analysed, that
/// input's error (or [`Error::NothingAnalysed`] listing all of them).
pub fn analyze(cfg: &AnalyzeConfig) -> Result<(Report, Vec<Track>)> {
    cfg.features.validate()?;
    cfg.motif.validate()?;
    let (tracks, errors) = load_tracks("decoding", &cfg.inputs, &cfg.features, &cfg.hooks);
    if tracks.is_empty() {
        return Err(nothing_analysed(errors));
    }
    let refs: Vec<&Features> = tracks.iter().map(|t| &t.features).collect();
    cfg.hooks.begin("matching", Some(motif::pair_count(refs.len())));
    let store = cfg.hooks.cache.as_deref().map(|c| c as &dyn MatchStore);
    let found = motif::discover_with(&refs, &cfg.motif, store, &|| cfg.hooks.tick(1));
    cfg.hooks.end();
    let entries = tracks.iter().enumerate().map(|(i, t)| report::track_entry(t, i)).collect();
    let mut report = report::build_report(
        entries,
        found.motifs,
        RunParams {
            stage: &cfg.motif,
            matching_hop_s: cfg.motif.sequence_config().clock(cfg.features.hop_s).hop_s(),
            features: &cfg.features,
        }
        .to_params(),
        errors.iter().map(report::error_entry).collect(),
    );
    report.sections = report::section_entries(&report.motifs);
    report.versions = found.versions.iter().map(report::version_entry).collect();
    Ok((report, tracks))
}

/// Parses a time as seconds (`75.5`), `m:ss` (`1:15.5`) or `h:mm:ss` (`0:01:15.5`).
///
/// # Errors
/// [`Error::BadParam`] when the text is none of these, negative, or has 60 or more in a
/// minutes or seconds field after the first.
pub fn parse_time(text: &str) -> Result<f64> {
    let bad = || Error::bad_param("time", text, "seconds, m:ss or h:mm:ss (e.g. 75, 1:15.5, 1:02:03)");
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        // Only the seconds field may have a fraction; every field is plain digits otherwise.
        let ok = part.chars().all(|c| c.is_ascii_digit() || (last && c == '.'));
        let v: f64 = if ok {
            part.parse().map_err(|_| bad())?
        } else {
            return Err(bad());
        };
        if i > 0 && v >= 60.0 {
            return Err(bad());
        }
        total = total * 60.0 + v;
    }
    if total.is_finite() { Ok(total) } else { Err(bad()) }
}

/// The query of `find`: a file and optionally a span of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    /// The query file.
    pub path: PathBuf,
    /// Start and end seconds; `None` means the whole file.
    pub span: Option<(f64, f64)>,
}

impl FromStr for QuerySpec {
    type Err = Error;

    /// Parses `FILE[@START-END]`. Text after the last `@` holding a digit, `:` or `-` is a span
    /// and must be a valid one; a file whose whole name contains `@` is still taken when it
    /// exists.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the span when it is not two times, the first before the second.
    fn from_str(text: &str) -> Result<Self> {
        let whole = || Ok(Self { path: PathBuf::from(text), span: None });
        let Some((file, span)) = text.rsplit_once('@') else {
            return whole();
        };
        let meant_as_span = span.is_empty() || span.chars().any(|c| c.is_ascii_digit() || c == ':' || c == '-');
        if !meant_as_span || Path::new(text).exists() {
            return whole();
        }
        let bad = || {
            let also = if file.is_empty() { String::new() } else { format!(" (and no file is named {text})") };
            Error::bad_param(
                "query span",
                format!("\"{span}\""),
                format!("START-END after FILE@, times as seconds, m:ss or h:mm:ss, START before END{also}"),
            )
        };
        let times: Vec<&str> = span.split('-').map(str::trim).collect();
        let [a, b] = times[..] else {
            return Err(bad());
        };
        let (start, end) = (parse_time(a).map_err(|_| bad())?, parse_time(b).map_err(|_| bad())?);
        if file.is_empty() || start >= end {
            return Err(bad());
        }
        Ok(Self { path: PathBuf::from(file), span: Some((start, end)) })
    }
}

impl QuerySpec {
    /// The span to search for in a file of `duration_s` seconds decoded at `hop_s` per frame.
    ///
    /// # Errors
    /// [`Error::BadParam`] when the span is empty or reaches past the end of the file (by more
    /// than one frame, since durations are known to a frame).
    pub fn resolve(&self, duration_s: f64, hop_s: f64) -> Result<(f64, f64)> {
        let Some((start, end)) = self.span else {
            return Ok((0.0, duration_s));
        };
        let tolerance = hop_s.max(0.0);
        if !(start >= 0.0 && start < end && end <= duration_s + tolerance) {
            return Err(Error::BadParam {
                name: "query span",
                value: format!("{}-{}", format_time(start), format_time(end)),
                expected: format!(
                    "start before end, inside {} which lasts {}",
                    self.path.display(),
                    format_time(duration_s)
                ),
            });
        }
        Ok((start, end.min(duration_s)))
    }
}

/// Settings of `find`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindConfig {
    /// The query.
    pub query: QuerySpec,
    /// Files or folders to search.
    pub inputs: Vec<PathBuf>,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Matching.
    pub motif: MotifConfig,
    /// Feature cache and progress display.
    pub hooks: Hooks,
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Finds every occurrence of the query in the input tracks. The report lists the query's track
/// first, then the searched tracks by path; its one motif starts with the query span. When the
/// query file is among the inputs it is searched too (other places in it). Returns the report
/// and the analysed tracks (in the order of the report's `tracks`, the query's first), for
/// renderers that draw their features.
///
/// # Errors
/// The query's error when it cannot be analysed; [`Error::BadParam`] for a span outside the
/// file or an invalid configuration; the inputs' error when none of them could be analysed.
pub fn find(cfg: &FindConfig) -> Result<(Report, Vec<Track>)> {
    cfg.features.validate()?;
    cfg.motif.validate()?;
    let query = cfg.hooks.load(&cfg.query.path, &cfg.features, load_track)?;
    let (start_s, end_s) = cfg.query.resolve(query.duration_s, query.features.hop_s)?;
    if end_s - start_s < cfg.motif.min_len_s {
        return Err(Error::bad_param(
            "query length",
            format!("{} s", units::round_to(end_s - start_s, 2)),
            format!("at least the shortest motif, {} s (--min-len)", cfg.motif.min_len_s),
        ));
    }
    let (files, mut errors) = expand_inputs(&cfg.inputs);
    let query_searched = files.iter().any(|f| same_file(f, &query.path));
    let others: Vec<PathBuf> = files.into_iter().filter(|f| !same_file(f, &query.path)).collect();
    let (loaded, load_errors) = load_files("decoding", &others, &cfg.features, &cfg.hooks);
    errors.extend(load_errors);
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    if loaded.is_empty() && !query_searched {
        return Err(nothing_analysed(errors));
    }
    let mut tracks = vec![query];
    tracks.extend(loaded);
    // Report index of each searched track, in the order handed to the matcher.
    let searched: Vec<usize> = (usize::from(!query_searched)..tracks.len()).collect();
    let refs: Vec<&Features> = searched.iter().map(|&i| &tracks[i].features).collect();
    cfg.hooks.begin("matching", None);
    let found = find::find(&tracks[0].features, start_s, end_s, &refs, &cfg.motif)
        .into_iter()
        .filter_map(|mut o| {
            o.track = if o.track == usize::MAX { 0 } else { *searched.get(o.track)? };
            Some(o)
        })
        .collect();
    cfg.hooks.end();
    let motif = report::query_motif(0, start_s, end_s, found, tracks.len());
    let mut params = RunParams {
        stage: &cfg.motif,
        matching_hop_s: cfg.motif.sequence_config().clock(cfg.features.hop_s).hop_s(),
        features: &cfg.features,
    }
    .to_params();
    params.insert("query".to_owned(), tracks[0].path.display().to_string().into());
    params.insert("query_start_s".to_owned(), report::round_to(start_s, 3).into());
    params.insert("query_end_s".to_owned(), report::round_to(end_s, 3).into());
    let entries = tracks.iter().enumerate().map(|(i, t)| report::track_entry(t, i)).collect();
    let mut report =
        report::build_report(entries, Vec::new(), params, errors.iter().map(report::error_entry).collect());
    report.motifs = motif.into_iter().collect();
    report::clamp_to_durations(&mut report);
    Ok((report, tracks))
}

/// Settings of `cues`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CuesConfig {
    /// Track files or folders.
    pub tracks: Vec<PathBuf>,
    /// Episode files or folders.
    pub episodes: Vec<PathBuf>,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Cue detection.
    pub cues: CueConfig,
    /// Feature cache and progress display.
    pub hooks: Hooks,
}

/// The median of the tracks' estimated tunings, in cents (0 when none is finite).
fn median_tuning(tunings: impl IntoIterator<Item = f32>) -> f32 {
    let mut cents: Vec<f32> = tunings.into_iter().filter(|c| c.is_finite()).collect();
    if cents.is_empty() {
        return 0.0;
    }
    cents.sort_by(f32::total_cmp);
    let mid = cents.len() / 2;
    let median = if cents.len() % 2 == 0 { (cents[mid - 1] + cents[mid]) / 2.0 } else { cents[mid] };
    median.clamp(-50.0, 50.0)
}

/// What a cue run keeps of one track once it is loaded: its report entry, its tuning, what
/// detection reads, and the digest of its peaks that keys the landmark index (with its
/// landmarks when no store keeps the index).
struct KeptTrack {
    path: PathBuf,
    entry: report::TrackEntry,
    tuning_cents: f32,
    cue: cues::CueTrack,
    digest: [u8; 32],
    landmarks: Option<Vec<Landmark>>,
}

/// Finds where the tracks play inside each episode.
///
/// # Errors
/// [`Error::BadParam`] for an invalid configuration; when no track, or no episode, could be
/// analysed, the error(s) of those inputs.
pub fn cues(cfg: &CuesConfig) -> Result<CueReport> {
    cfg.features.validate()?;
    cfg.cues.validate()?;
    // Verbatim cues are found by spectral peaks, which only cue detection reads.
    let features = FeatureConfig { peaks: Some(cues::peak_config()), ..cfg.features.clone() };
    let store = cfg.hooks.cache.as_deref().map(|c| c as &dyn IndexStore);
    let fp = &cfg.cues.fingerprint;
    // Each track is reduced to what detection reads as soon as it is loaded: the features of a
    // thousand tracks take several hundred megabytes, what detection reads a fraction of it.
    let keep = |t: Track| KeptTrack {
        entry: report::track_entry(&t, 0),
        tuning_cents: t.features.tuning_cents,
        cue: cues::CueTrack::new(&t.features, &cfg.cues),
        digest: fingerprint::peaks_digest(&t.features.peaks),
        landmarks: store.is_none().then(|| fingerprint::landmarks(&t.features.peaks, fp)),
        path: t.path,
    };
    let (mut tracks, track_errors) = load_tracks_with("decoding tracks", &cfg.tracks, &features, &cfg.hooks, &keep);
    if tracks.is_empty() {
        return Err(nothing_analysed(track_errors));
    }
    // An episode plays the tracks, so its music is at their tuning; estimated on the episode
    // itself, dialogue pulls it off (by 33 cents on one generated episode). Unless the user
    // fixed it, episodes take the tracks' median tuning.
    let episode_tuning = match features.tuning {
        Tuning::Estimate => Tuning::Fixed(median_tuning(tracks.iter().map(|t| t.tuning_cents))),
        fixed @ Tuning::Fixed(_) => fixed,
    };
    let episode_features = FeatureConfig { tuning: episode_tuning, ..features.clone() };
    let (episodes, episode_errors) = load_tracks("decoding episodes", &cfg.episodes, &episode_features, &cfg.hooks);
    if episodes.is_empty() {
        return Err(nothing_analysed(episode_errors));
    }
    let index = landmark_index(&mut tracks, &features, cfg, store)?;
    let mut track_entries = Vec::with_capacity(tracks.len());
    let mut cue_tracks = Vec::with_capacity(tracks.len());
    for (i, t) in tracks.into_iter().enumerate() {
        track_entries.push(report::TrackEntry { id: i, ..t.entry });
        cue_tracks.push(t.cue);
    }
    let set = cues::TrackSet::new(cue_tracks, index, &cfg.cues);
    cfg.hooks.begin("matching", Some(episodes.len()));
    let entries: Vec<EpisodeEntry> = episodes
        .par_iter()
        .map(|ep| EpisodeEntry {
            path: ep.path.display().to_string(),
            duration_s: report::round_to(ep.duration_s, 3),
            cues: {
                let found = report::cue_entries(cues::detect(&set, &ep.features, &cfg.cues), track_entries.len());
                cfg.hooks.advance(&ep.path);
                found
            },
            skipped_packets: ep.skipped_packets,
            warnings: ep.warnings(),
        })
        .collect();
    cfg.hooks.end();
    let mut params = RunParams {
        stage: &cfg.cues,
        matching_hop_s: cfg.cues.sequence_config().clock(cfg.features.hop_s).hop_s(),
        features: &features,
    }
    .to_params();
    if let Tuning::Fixed(cents) = episode_tuning {
        params.insert("episode_tuning_cents".to_owned(), units::round_to(f64::from(cents), 1).into());
    }
    let mut errors: Vec<ErrorEntry> = track_errors.iter().chain(&episode_errors).map(report::error_entry).collect();
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report::build_cue_report(track_entries, entries, params, errors))
}

/// The landmark index of the loaded `tracks`: from the store when it holds one for their
/// peaks, else made of the landmarks kept while loading them (no store), or of their features
/// read a second time, from the cache the first reading filled (the index needs every peak of
/// a track, detection keeps only the strongest), and stored.
fn landmark_index(
    tracks: &mut [KeptTrack],
    features: &FeatureConfig,
    cfg: &CuesConfig,
    store: Option<&dyn IndexStore>,
) -> Result<LandmarkIndex> {
    let fp = &cfg.cues.fingerprint;
    let frames: Vec<u32> = tracks.iter().map(|t| t.cue.frames()).collect();
    let Some(store) = store else {
        let lists = tracks.iter_mut().map(|t| t.landmarks.take().unwrap_or_default()).collect();
        return Ok(LandmarkIndex::from_landmarks(lists, frames));
    };
    let digests: Vec<[u8; 32]> = tracks.iter().map(|t| t.digest).collect();
    let key = fingerprint::index_key(&digests, fp);
    let read_again = || {
        let files: Vec<PathBuf> = tracks.iter().map(|t| t.path.clone()).collect();
        let keep =
            |t: Track| (fingerprint::peaks_digest(&t.features.peaks), fingerprint::landmarks(&t.features.peaks, fp));
        let (again, errors) = load_files_with("indexing tracks", &files, features, &cfg.hooks, &keep);
        if let Some(e) = errors.into_iter().next() {
            return Err(e.error);
        }
        // A file replaced between the two readings would index other peaks than detection reads.
        let changed = files.iter().zip(&again).zip(&digests).find(|((_, (now, _)), before)| now != *before);
        if let Some(((path, _), _)) = changed {
            let source = std::io::Error::other("the file changed while the tracks were read; run again");
            return Err(Error::Io { path: path.clone(), source });
        }
        Ok(LandmarkIndex::from_landmarks(again.into_iter().map(|(_, lms)| lms).collect(), frames.clone()))
    };
    Ok(LandmarkIndex::load_or_build(&key, &frames, store, read_again)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_all_three_forms() {
        assert_eq!(parse_time("75.5").ok(), Some(75.5));
        assert_eq!(parse_time("1:15.5").ok(), Some(75.5));
        assert_eq!(parse_time("1:02:03").ok(), Some(3723.0));
        for bad in ["", "1:60", "-3", "1::2", "a", "1:2:3:4", "1.5:00", "1:02:60"] {
            assert!(matches!(parse_time(bad), Err(Error::BadParam { .. })), "{bad}");
        }
    }

    #[test]
    fn query_specs() {
        let q: QuerySpec = "ost/a.flac@1:00-1:10.5".parse().expect("parses");
        assert_eq!(q.path, PathBuf::from("ost/a.flac"));
        assert_eq!(q.span, Some((60.0, 70.5)));
        let whole: QuerySpec = "ost/a@b.flac".parse().expect("parses");
        assert_eq!(whole.span, None);
        assert!(matches!("a.wav@10-5".parse::<QuerySpec>(), Err(Error::BadParam { .. })));
        assert!(matches!("a.wav@10".parse::<QuerySpec>(), Err(Error::BadParam { .. })));
        for bad in ["a.wav@abc-def", "a.wav@-0:05-0:10", "a.wav@1:00-", "a.wav@", "@1-2", "a.wav@1-2-3"] {
            match bad.parse::<QuerySpec>() {
                Err(Error::BadParam { value, .. }) => {
                    let span = bad.rsplit_once('@').map(|(_, s)| s).unwrap_or_default();
                    assert_eq!(value, format!("\"{span}\""), "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!("ost/a@b.flac".parse::<QuerySpec>().ok().and_then(|q| q.span), None);
        assert!(matches!(q.resolve(65.0, 0.1), Err(Error::BadParam { .. })));
        assert_eq!(q.resolve(70.55, 0.1).ok(), Some((60.0, 70.5)));
    }

    #[test]
    fn missing_input_is_one_error_naming_it() {
        let missing = PathBuf::from("/definitely/not/here");
        let (files, errors) = expand_inputs(std::slice::from_ref(&missing));
        assert!(files.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, missing);
        assert!(!errors[0].message().contains("/definitely"), "{}", errors[0].message());
    }

    #[test]
    fn playlist_entries_resolve_from_the_playlists_folder() {
        let text = "#EXTM3U\n#EXTINF:123,Artist - Title\n01.flac\n\n  sub/02.mp3 \r\n/abs/03.wav\nfile:///abs/04.ogg\n";
        let entries = playlist_entries(Path::new("ost/list.m3u8"), text.as_bytes());
        let expected: Vec<PathBuf> =
            ["ost/01.flac", "ost/sub/02.mp3", "/abs/03.wav", "/abs/04.ogg"].iter().map(PathBuf::from).collect();
        assert_eq!(entries, expected);
        // Latin-1 (not UTF-8) names are read byte for byte.
        assert_eq!(playlist_entries(Path::new("l.m3u"), b"caf\xe9.mp3\n"), vec![PathBuf::from("café.mp3")]);
    }

    #[test]
    fn a_playlist_listing_itself_is_one_error_not_a_loop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let list = dir.path().join("self.m3u");
        std::fs::write(&list, "self.m3u\n").expect("write");
        let (files, errors) = expand_inputs(std::slice::from_ref(&list));
        assert!(files.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(has_audio_extension(Path::new("a/B.FLAC")));
        assert!(has_audio_extension(Path::new("ep.mkv")));
        assert!(!has_audio_extension(Path::new("notes.txt")));
        assert!(!has_audio_extension(Path::new("noext")));
    }
}
