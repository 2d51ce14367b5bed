//! A library: a folder that remembers a collection of audio files, their features and pair
//! matching (its cache), the motifs last found in them, and the themes a user has named.
//!
//! ```text
//! LIB/library.json   leitmotif.library/1: the files and the named themes, with a checksum
//! LIB/motifs.json    leitmotif.report/1 of the last `index build` (motif numbers to name)
//! LIB/cache/         features and pair matching of the files (see crate::cache)
//! ```
//!
//! Adding files costs only the new files: their features, and their pairs with every file
//! already there; the pairs between old files come from the cache. Every document is written
//! whole through a temporary file and renamed, so a run stopped part way (Ctrl-C) leaves the
//! library as it was before the run, and the cache keeps whatever it stored by then.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::output::write_atomic;
use crate::report::{CueReport, Report, TrackEntry, span_iou};

/// The `schema` of a library document.
pub const LIBRARY_SCHEMA: &str = "leitmotif.library/1";

/// The library document's file name inside the library folder.
pub const LIBRARY_FILE: &str = "library.json";

/// The last build's motifs, inside the library folder.
pub const MOTIFS_FILE: &str = "motifs.json";

/// Least overlap (intersection over union) of a motif's occurrence with a named theme's
/// reference for the motif to carry the theme's name: the scorer's rule for one place found
/// again.
const NAME_IOU: f64 = 0.5;

/// A named theme: the place that defines it, and its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// The name the user gave.
    pub name: String,
    /// The file of the defining occurrence (absolute).
    pub path: PathBuf,
    /// Its start, seconds.
    pub start_s: f64,
    /// Its end, seconds.
    pub end_s: f64,
}

/// What the checksum covers: everything in the document but the checksum.
#[derive(Serialize)]
struct Body<'a> {
    schema: &'a str,
    files: &'a [PathBuf],
    themes: &'a [Theme],
}

/// The document as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    schema: String,
    files: Vec<PathBuf>,
    themes: Vec<Theme>,
    checksum: String,
}

/// A library folder and what its document holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    dir: PathBuf,
    /// The files, absolute, sorted, without duplicates.
    pub files: Vec<PathBuf>,
    /// The named themes, in the order they were named.
    pub themes: Vec<Theme>,
}

impl Library {
    /// Opens the library in `dir`.
    ///
    /// # Errors
    /// [`Error::Io`] when `dir` holds no library document; [`Error::BadDocument`] naming the
    /// document when it is not a library, is of another version or fails its checksum.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(LIBRARY_FILE);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let bad = |detail: String| Error::BadDocument { path: path.clone(), detail };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if stored.schema != LIBRARY_SCHEMA {
            return Err(bad(format!("schema {:?}, expected {LIBRARY_SCHEMA:?}", stored.schema)));
        }
        if checksum(&stored.schema, &stored.files, &stored.themes) != stored.checksum {
            return Err(bad("checksum mismatch: the document was changed or damaged".to_owned()));
        }
        Ok(Self { dir: dir.to_path_buf(), files: stored.files, themes: stored.themes })
    }

    /// Opens the library in `dir`, or a new empty one (created on [`Library::save`]) when `dir`
    /// holds none yet.
    ///
    /// # Errors
    /// As [`Library::open`], except for a missing document.
    pub fn open_or_new(dir: &Path) -> Result<Self> {
        if dir.join(LIBRARY_FILE).exists() {
            Self::open(dir)
        } else {
            Ok(Self { dir: dir.to_path_buf(), files: Vec::new(), themes: Vec::new() })
        }
    }

    /// The library folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the library keeps its features and pair matching.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// Where the last build's motifs are kept.
    pub fn motifs_path(&self) -> PathBuf {
        self.dir.join(MOTIFS_FILE)
    }

    /// Bytes the library's cache takes on disk (what cannot be read counts as nothing).
    pub fn cache_bytes(&self) -> u64 {
        fn bytes(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => bytes(&e.path()),
                    Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
                    _ => 0,
                })
                .sum()
        }
        bytes(&self.cache_dir())
    }

    /// Adds `files` (made absolute); returns how many were not there yet.
    ///
    /// # Errors
    /// [`Error::Io`] when the current folder, needed to make a relative path absolute, cannot be
    /// read.
    pub fn add_files(&mut self, files: &[PathBuf]) -> Result<usize> {
        let before = self.files.len();
        for f in files {
            self.files.push(absolute(f)?);
        }
        self.files.sort();
        self.files.dedup();
        Ok(self.files.len() - before)
    }

    /// Writes the library document (creating the folder when needed).
    ///
    /// # Errors
    /// [`Error::Write`] naming the folder or the document.
    pub fn save(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Write { path: self.dir.clone(), source })?;
        let stored = Stored {
            schema: LIBRARY_SCHEMA.to_owned(),
            checksum: checksum(LIBRARY_SCHEMA, &self.files, &self.themes),
            files: self.files.clone(),
            themes: self.themes.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|e| Error::Internal { detail: format!("library document: {e}") })?;
        bytes.push(b'\n');
        write_atomic(&self.dir.join(LIBRARY_FILE), &bytes)
    }

    /// Names motif `number` (counted from 1, as reports print them) of `report`: the theme is
    /// defined by the motif's first occurrence. A theme of the same name is replaced.
    ///
    /// # Errors
    /// [`Error::BadParam`] when the report has no such motif.
    pub fn name_theme(&mut self, report: &Report, number: usize, name: &str) -> Result<&Theme> {
        let motif = number.checked_sub(1).and_then(|i| report.motifs.get(i)).ok_or_else(|| {
            Error::bad_param("motif number", number, format!("a motif of the last build, 1 to {}", report.motifs.len()))
        })?;
        let first = motif
            .occurrences
            .first()
            .ok_or_else(|| Error::Internal { detail: format!("motif {number} has no occurrence") })?;
        let track = report
            .tracks
            .get(first.track)
            .ok_or_else(|| Error::Internal { detail: format!("motif {number} names track {}", first.track) })?;
        let theme = Theme {
            name: name.to_owned(),
            path: absolute(Path::new(&track.path))?,
            start_s: first.start_s,
            end_s: first.end_s,
        };
        self.themes.retain(|t| t.name != name);
        self.themes.push(theme);
        Ok(self.themes.last().expect("just pushed"))
    }

    /// The theme named `name`.
    ///
    /// # Errors
    /// [`Error::BadParam`] naming the themes there are when none has that name.
    pub fn theme(&self, name: &str) -> Result<&Theme> {
        self.themes.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<String> = self.themes.iter().map(|t| format!("\"{}\"", t.name)).collect();
            let known = if names.is_empty() { "none yet (see `themes name`)".to_owned() } else { names.join(", ") };
            Error::bad_param("theme", name, format!("a theme of {}: {known}", self.dir.display()))
        })
    }

    /// Gives each motif of `report` the name of the first theme one of its occurrences plays
    /// (same file, overlapping the theme's defining place by at least half their union).
    pub fn apply_names(&self, report: &mut Report) {
        let paths = track_paths(&report.tracks);
        for motif in &mut report.motifs {
            motif.name = self
                .themes
                .iter()
                .find(|theme| {
                    motif.occurrences.iter().any(|o| {
                        paths.get(o.track).and_then(Option::as_ref) == Some(&theme.path)
                            && span_iou(o.start_s, o.end_s, theme.start_s, theme.end_s) >= NAME_IOU
                    })
                })
                .map(|theme| theme.name.clone());
        }
    }

    /// Gives each cue of `report` the names of the themes it plays: themes in the cue's track
    /// whose defining place the cue's stretch of the track covers at least half of.
    pub fn apply_cue_names(&self, report: &mut CueReport) {
        let paths = track_paths(&report.tracks);
        for cue in report.episodes.iter_mut().flat_map(|e| e.cues.iter_mut()) {
            let Some(Some(path)) = paths.get(cue.track) else { continue };
            let (from, to) = (cue.track_start_s, cue.track_start_s + (cue.end_s - cue.start_s));
            cue.themes = self
                .themes
                .iter()
                .filter(|t| &t.path == path && (to.min(t.end_s) - from.max(t.start_s)) >= 0.5 * (t.end_s - t.start_s))
                .map(|t| t.name.clone())
                .collect();
        }
    }
}

/// The checksum of a library document's content: BLAKE3 of its canonical JSON, in hex.
fn checksum(schema: &str, files: &[PathBuf], themes: &[Theme]) -> String {
    let body = serde_json::to_vec(&Body { schema, files, themes }).unwrap_or_default();
    blake3::hash(&body).to_hex().to_string()
}

/// `path` made absolute against the current folder (not resolved: a link stays a link).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Each report track's path made absolute, as the library keeps them (`None` when it cannot be).
fn track_paths(tracks: &[TrackEntry]) -> Vec<Option<PathBuf>> {
    tracks.iter().map(|t| absolute(Path::new(&t.path)).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(dir: &Path) -> Library {
        let mut lib = Library::open_or_new(dir).expect("new");
        lib.add_files(&[PathBuf::from("/music/b.flac"), PathBuf::from("/music/a.flac")]).expect("add");
        lib.themes.push(Theme { name: "Love theme".into(), path: "/music/a.flac".into(), start_s: 10.0, end_s: 20.0 });
        lib
    }

    #[test]
    fn a_saved_library_opens_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = library(dir.path());
        lib.save().expect("save");
        assert_eq!(Library::open(dir.path()).expect("open"), lib);
        assert_eq!(lib.files, [PathBuf::from("/music/a.flac"), PathBuf::from("/music/b.flac")]);
    }

    #[test]
    fn adding_files_counts_only_new_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut lib = library(dir.path());
        let added = lib.add_files(&[PathBuf::from("/music/a.flac"), PathBuf::from("/music/c.flac")]).expect("add");
        assert_eq!(added, 1);
        assert_eq!(lib.files.len(), 3);
    }

    #[test]
    fn a_changed_document_is_refused_by_its_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        library(dir.path()).save().expect("save");
        let path = dir.path().join(LIBRARY_FILE);
        let text = std::fs::read_to_string(&path).expect("read").replace("Love theme", "Hate theme");
        std::fs::write(&path, text).expect("write");
        let err = Library::open(dir.path()).expect_err("refused");
        assert!(matches!(err, Error::BadDocument { .. }), "{err}");
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn cache_bytes_counts_the_files_under_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = library(dir.path());
        assert_eq!(lib.cache_bytes(), 0);
        std::fs::create_dir_all(lib.cache_dir().join("features-v1")).expect("mkdir");
        std::fs::write(lib.cache_dir().join("features-v1").join("x"), [0u8; 1000]).expect("write");
        std::fs::write(lib.cache_dir().join("y"), [0u8; 24]).expect("write");
        assert_eq!(lib.cache_bytes(), 1024);
    }

    #[test]
    fn another_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        library(dir.path()).save().expect("save");
        let path = dir.path().join(LIBRARY_FILE);
        let text = std::fs::read_to_string(&path).expect("read").replace(LIBRARY_SCHEMA, "leitmotif.library/9");
        std::fs::write(&path, text).expect("write");
        assert!(Library::open(dir.path()).expect_err("refused").to_string().contains("schema"));
    }

    #[test]
    fn no_document_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Library::open(dir.path()).expect_err("missing");
        assert!(err.to_string().contains(LIBRARY_FILE), "{err}");
    }
}
