//! JSON rendering and reading of documents: pretty-printed with a trailing newline.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::output::Destination;
use crate::error::{Error, Result};

/// Renders a document as pretty JSON ending in a newline.
pub fn to_json<T: Serialize>(doc: &T) -> String {
    // The document types hold only strings, numbers, lists and string-keyed maps, which cannot
    // fail to serialise; the fallback keeps this total anyway.
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    text.push('\n');
    text
}

/// Writes a document as JSON to `dest` (standard output or an atomically replaced file).
///
/// # Errors
/// [`Error::Write`] when the destination cannot be written.
pub fn write_json<T: Serialize>(doc: &T, dest: &Destination) -> Result<()> {
    dest.write(to_json(doc).as_bytes())
}

/// Reads a JSON file as a loosely typed value.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::BadDocument`] when it is not JSON.
pub fn read_value(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::BadDocument { path: path.to_path_buf(), detail: e.to_string() })
}

/// Converts a value read from `path` into a document type.
///
/// # Errors
/// [`Error::BadDocument`] naming the missing or mistyped field.
pub fn from_value<T: DeserializeOwned>(path: &Path, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::BadDocument { path: path.to_path_buf(), detail: e.to_string() })
}
