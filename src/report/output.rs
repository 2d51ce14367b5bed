//! Where documents go: standard output, or a file replaced atomically (temp file + rename).

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A destination for a document: `-` is standard output, anything else a file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

impl Destination {
    /// `-` means standard output; any other text is a path.
    pub fn parse(text: &str) -> Self {
        if text == "-" { Self::Stdout } else { Self::File(PathBuf::from(text)) }
    }

    /// Whether this is standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Self::Stdout)
    }

    /// Writes `bytes` here: all at once to standard output, or atomically to the file.
    ///
    /// # Errors
    /// [`Error::Write`] naming the file (or `-`) when writing fails, e.g. a closed pipe.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|source| Error::Write { path: PathBuf::from("-"), source })
            }
            Self::File(path) => write_atomic(path, bytes),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdout => f.write_str("standard output"),
            Self::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Checks, before any work, that a file can be written at `path`: its folder exists and takes a
/// new file (one is created there and removed again), and `path` is not itself a folder.
///
/// # Errors
/// [`Error::Write`] naming `path`, saying which folder is missing or refuses files.
pub fn check_file_destination(path: &Path) -> Result<()> {
    let fail =
        |detail: String, kind| Error::Write { path: path.to_path_buf(), source: std::io::Error::new(kind, detail) };
    if path.is_dir() {
        return Err(fail("it is a folder".to_owned(), std::io::ErrorKind::IsADirectory));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    probe_folder(dir).map_err(|(detail, kind)| fail(detail, kind))
}

/// Checks, before any work, that files can be written into the folder `dir`: it exists and takes
/// a new file, or it can be created (its nearest existing ancestor is a folder that takes one).
///
/// # Errors
/// [`Error::Write`] naming `dir`, saying what is in the way.
pub fn check_folder_destination(dir: &Path) -> Result<()> {
    let fail =
        |detail: String, kind| Error::Write { path: dir.to_path_buf(), source: std::io::Error::new(kind, detail) };
    let mut existing = dir;
    while !existing.as_os_str().is_empty() && !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => break,
        }
    }
    let existing = if existing.as_os_str().is_empty() { Path::new(".") } else { existing };
    if existing.exists() && !existing.is_dir() {
        return Err(fail(format!("{} is a file, not a folder", existing.display()), std::io::ErrorKind::NotADirectory));
    }
    probe_folder(existing).map_err(|(detail, kind)| fail(detail, kind))
}

/// Whether `dir` is an existing folder that takes a new file.
fn probe_folder(dir: &Path) -> std::result::Result<(), (String, std::io::ErrorKind)> {
    if !dir.is_dir() {
        return Err((format!("the folder {} does not exist", dir.display()), std::io::ErrorKind::NotFound));
    }
    tempfile::Builder::new().prefix(".leitmotif-probe.").tempfile_in(dir).map(drop).map_err(|e| {
        (format!("the folder {} does not take new files ({})", dir.display(), without_temp_path(&e)), e.kind())
    })
}

/// The text of an error from the temporary-file library without the temporary file's path it
/// appends (a name the user never chose): the operating system's own message.
fn without_temp_path(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" at path ").next().unwrap_or_default().to_owned()
}

/// Bytes of the target's name kept in the temporary file's name.
const MAX_TMP_STEM: usize = 64;

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed over the
/// target once complete: readers never see a half-written document, and a failed run leaves
/// any previous file untouched.
///
/// # Errors
/// [`Error::Write`] naming `path` when the folder is missing or not writable, or the disk is full.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let wrap = |source: std::io::Error| Error::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The temporary name adds about a dozen bytes to the target's; a long target name must not
    // push it past the file system's limit (255 bytes), so only its start is kept.
    let mut keep = name.len().min(MAX_TMP_STEM);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    let prefix = format!(".{}.", &name[..keep]);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates files readable by the owner only; a report should get the usual mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| wrap(std::io::Error::new(e.kind(), without_temp_path(&e))))?;
    tmp.write_all(bytes).map_err(wrap)?;
    tmp.as_file().sync_all().map_err(wrap)?;
    tmp.persist(path).map_err(|e| wrap(e.error))?;
    Ok(())
}

/// File names `<stem><suffix>`, one per stem in order, numbered (`<stem>-2<suffix>`) where a
/// stem repeats, so that files written side by side never overwrite each other.
pub fn unique_file_names(stems: impl IntoIterator<Item = String>, suffix: &str) -> Vec<String> {
    let mut used = HashSet::new();
    stems
        .into_iter()
        .map(|stem| {
            let mut name = format!("{stem}{suffix}");
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{stem}-{n}{suffix}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_written_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().expect("temp dir");
        // 250 bytes: allowed as a name, but not with a temporary prefix and suffix around it.
        let path = dir.path().join(format!("{}.json", "é".repeat(123)));
        write_atomic(&path, b"{}\n").expect("written");
        assert_eq!(std::fs::read(&path).expect("read back"), b"{}\n");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn destinations_are_checked_naming_what_is_in_the_way() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(check_file_destination(&dir.path().join("r.json")).is_ok());
        assert!(check_folder_destination(&dir.path().join("new/deeper")).is_ok());
        let missing = dir.path().join("missing/r.json");
        let message = check_file_destination(&missing).expect_err("no folder").to_string();
        assert!(message.starts_with(&missing.display().to_string()) && message.contains("does not exist"), "{message}");
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("file");
        let message = check_folder_destination(&file.join("out")).expect_err("a file in the way").to_string();
        assert!(message.contains("is a file, not a folder"), "{message}");
        assert!(check_file_destination(dir.path()).is_err(), "a folder is no file");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "a probe file was left");
    }

    #[test]
    fn a_failed_write_keeps_the_target_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder cannot be replaced by a file: the rename fails after the data was written.
        let target = dir.path().join("report.json");
        std::fs::create_dir(&target).expect("folder");
        std::fs::write(target.join("inside"), b"kept").expect("file");
        let r = write_atomic(&target, b"new");
        assert!(matches!(r, Err(Error::Write { .. })), "{r:?}");
        assert_eq!(std::fs::read(target.join("inside")).expect("still there"), b"kept");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "a temporary file was left");
    }
}
