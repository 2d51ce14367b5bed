//! Chroma export (`leitmotif chroma`): per-file chroma frames written as JSON, CSV, or NumPy
//! `.npy` (float32, frames x 12, C order) with a JSON sidecar holding the frame timing and tuning.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{FeatureConfig, Features};
use crate::pipeline::{expand_inputs, load_track};
use crate::progress::Hooks;
use crate::report::images::write_chromagram_png;
use crate::report::json::to_json;
use crate::report::output::{unique_file_names, write_atomic};
use crate::report::{Tool, round_to};
use crate::track::{InputError, StageTimings, Track, nothing_analysed, split_outcomes};

/// Schema tag of a chroma document or sidecar.
pub const CHROMA_SCHEMA: &str = "leitmotif.chroma/1";

/// Pitch-class names, in the order of the 12 chroma bins.
pub const PITCH_CLASSES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// How chroma is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChromaFormat {
    /// One JSON document per file with the frames inline.
    #[default]
    Json,
    /// CSV with a `time_s` column and one column per pitch class, plus a JSON sidecar.
    Csv,
    /// NumPy `.npy` v1.0, `<f4`, shape (frames, 12), plus a JSON sidecar.
    Npy,
}

impl ChromaFormat {
    /// File extension of the data file.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Npy => "npy",
        }
    }
}

/// Settings of `chroma`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChromaConfig {
    /// Files (or folders, walked for audio files).
    pub inputs: Vec<PathBuf>,
    /// Folder the data files go to (created when missing); `None` writes none.
    pub out_dir: Option<PathBuf>,
    /// Folder the chromagram images go to (created when missing); `None` writes none.
    pub png_dir: Option<PathBuf>,
    /// Output format of the data files.
    pub format: ChromaFormat,
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Feature cache and progress display.
    pub hooks: Hooks,
}

/// Description of one file's chroma: the whole document for JSON, the sidecar otherwise
/// (then `chroma` is absent and `data` names the data file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChromaDoc {
    /// Always [`CHROMA_SCHEMA`].
    pub schema: String,
    /// The program that wrote it.
    pub tool: Tool,
    /// The input file.
    pub path: String,
    /// Samples per second of the decoded audio.
    pub sample_rate: u32,
    /// Decoded duration, seconds.
    pub duration_s: f64,
    /// Seconds between frames; frame k is centred at `k * hop_s`.
    pub hop_s: f64,
    /// Frames per second (`1 / hop_s`).
    pub frame_rate: f64,
    /// Analysis window, seconds.
    pub window_s: f64,
    /// Estimated deviation from A440, cents.
    pub tuning_cents: f64,
    /// Number of frames.
    pub frames: usize,
    /// Names of the 12 bins, in order.
    pub pitch_classes: Vec<String>,
    /// The data file (CSV or NPY), by file name, next to this sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The chroma frames (JSON format only), each max-normalised, zero for silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chroma: Option<Vec<[f32; 12]>>,
}

/// What was written for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromaOutput {
    /// The input file.
    pub input: PathBuf,
    /// The files written (data file first, then its sidecar, then the image).
    pub files: Vec<PathBuf>,
    /// Frames written.
    pub frames: usize,
    /// Decoded duration, seconds.
    pub duration_s: f64,
    /// Time spent opening, decoding and extracting (only the lookup for features from the
    /// cache).
    pub timings: StageTimings,
    /// Time spent writing.
    pub write: Duration,
}

impl ChromaOutput {
    /// Wall-clock time of all stages.
    pub fn total(&self) -> Duration {
        self.timings.total() + self.write
    }

    /// Seconds of audio processed per second of wall-clock time.
    pub fn speed(&self) -> f64 {
        let t = self.total().as_secs_f64();
        if t > 0.0 { self.duration_s / t } else { f64::INFINITY }
    }
}

/// The NumPy `.npy` (format version 1.0) bytes of `frames` as a little-endian float32 array of
/// shape (frames, 12) in C order. The header is padded so the data starts at a multiple of 64
/// bytes, as NumPy itself writes it.
pub fn npy_bytes(frames: &[[f32; 12]]) -> Vec<u8> {
    const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 12), }}", frames.len());
    // magic (8) + header length (2) + dict + padding + '\n' must be a multiple of 64.
    let unpadded = MAGIC.len() + 2 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + header_len + frames.len() * 48);
    out.extend_from_slice(MAGIC);
    // A v1.0 header length is a u16; the dict is under 100 bytes for any frame count.
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    for frame in frames {
        for v in frame {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// CSV text of the chroma: a header `time_s,C,C#,...,B`, then one row per frame with the
/// frame's centre time.
pub fn csv_text(features: &Features) -> String {
    let mut out = String::with_capacity(16 + features.chroma.len() * 12 * 10);
    out.push_str("time_s");
    for pc in PITCH_CLASSES {
        out.push(',');
        out.push_str(pc);
    }
    out.push('\n');
    for (k, frame) in features.chroma.iter().enumerate() {
        let _ = write!(out, "{:.3}", k as f64 * features.hop_s);
        for v in frame {
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    out
}

/// The chroma document (or sidecar, when `data` names a data file) of one track.
pub fn chroma_doc(track: &Track, cfg: &FeatureConfig, data: Option<String>) -> ChromaDoc {
    let f = &track.features;
    ChromaDoc {
        schema: CHROMA_SCHEMA.to_owned(),
        tool: Tool::current(),
        path: track.path.display().to_string(),
        sample_rate: track.info.sample_rate,
        duration_s: round_to(track.duration_s, 3),
        hop_s: f.hop_s,
        frame_rate: if f.hop_s > 0.0 { 1.0 / f.hop_s } else { 0.0 },
        window_s: cfg.window_s,
        tuning_cents: round_to(f64::from(f.tuning_cents), 2),
        frames: f.chroma.len(),
        pitch_classes: PITCH_CLASSES.iter().map(|s| (*s).to_owned()).collect(),
        chroma: if data.is_none() { Some(f.chroma.clone()) } else { None },
        data,
    }
}

/// Output base names (`<stem>.chroma`), made unique by numbering repeats (`<stem>-2.chroma`).
fn output_stems(files: &[PathBuf]) -> Vec<String> {
    let stems =
        files.iter().map(|f| f.file_stem().map_or_else(|| "audio".to_owned(), |s| s.to_string_lossy().into_owned()));
    unique_file_names(stems, ".chroma")
}

fn write_data(track: &Track, stem: &str, out_dir: &Path, cfg: &ChromaConfig) -> Result<Vec<PathBuf>> {
    let data_path = out_dir.join(format!("{stem}.{}", cfg.format.extension()));
    let data_name = data_path.file_name().map(|n| n.to_string_lossy().into_owned());
    match cfg.format {
        ChromaFormat::Json => {
            write_atomic(&data_path, to_json(&chroma_doc(track, &cfg.features, None)).as_bytes())?;
            Ok(vec![data_path])
        }
        ChromaFormat::Csv | ChromaFormat::Npy => {
            let bytes = if cfg.format == ChromaFormat::Csv {
                csv_text(&track.features).into_bytes()
            } else {
                npy_bytes(&track.features.chroma)
            };
            write_atomic(&data_path, &bytes)?;
            let meta_path = out_dir.join(format!("{stem}.meta.json"));
            write_atomic(&meta_path, to_json(&chroma_doc(track, &cfg.features, data_name)).as_bytes())?;
            Ok(vec![data_path, meta_path])
        }
    }
}

/// Extracts the chroma of every input once (through the hooks' feature cache, reporting to
/// their progress) and writes the data files and the chromagram images asked for, in parallel.
/// A file that fails is reported and skipped.
///
/// # Errors
/// [`Error::BadParam`] for invalid feature settings; [`Error::Write`] when an output folder
/// cannot be created; when no file could be exported, that file's error (or
/// [`Error::NothingAnalysed`] listing all of them).
pub fn export_chroma(cfg: &ChromaConfig) -> Result<(Vec<ChromaOutput>, Vec<InputError>)> {
    cfg.features.validate()?;
    for dir in cfg.out_dir.iter().chain(&cfg.png_dir) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.clone(), source })?;
    }
    let (files, mut errors) = expand_inputs(&cfg.inputs);
    let stems = output_stems(&files);
    let hooks = &cfg.hooks;
    hooks.begin("chroma", Some(files.len()));
    let results: Vec<std::result::Result<ChromaOutput, InputError>> = files
        .par_iter()
        .zip(stems.par_iter())
        .map(|(file, stem)| {
            let fail = |error| InputError { path: file.clone(), error };
            let track = hooks.load(file, &cfg.features, load_track).map_err(fail);
            hooks.advance(file);
            let track = track?;
            let t = Instant::now();
            let mut written = match &cfg.out_dir {
                Some(dir) => write_data(&track, stem, dir, cfg).map_err(fail)?,
                None => Vec::new(),
            };
            if let Some(dir) = &cfg.png_dir {
                let path = dir.join(format!("{stem}.png"));
                write_chromagram_png(&path, &track.features.chroma).map_err(fail)?;
                written.push(path);
            }
            Ok(ChromaOutput {
                input: file.clone(),
                files: written,
                frames: track.features.chroma.len(),
                duration_s: track.duration_s,
                timings: track.timings,
                write: t.elapsed(),
            })
        })
        .collect();
    hooks.end();
    let outputs = split_outcomes(results, &mut errors);
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    if outputs.is_empty() {
        return Err(nothing_analysed(errors));
    }
    Ok((outputs, errors))
}

/// Reads the frames back from `.npy` bytes written by [`npy_bytes`] (checks the header).
///
/// # Errors
/// [`Error::BadDocument`] naming `path` when the bytes are not such an array.
pub fn read_npy(path: &Path, bytes: &[u8]) -> Result<Vec<[f32; 12]>> {
    let bad = |detail: &str| Error::BadDocument { path: path.to_path_buf(), detail: detail.to_owned() };
    if bytes.len() < 10 || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return Err(bad("not a version 1.0 .npy file"));
    }
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = bytes.get(10..10 + header_len).ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad("not a little-endian float32 array in C order"));
    }
    let rows: usize = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad("no shape"))?;
    let data = &bytes[10 + header_len..];
    if data.len() != rows * 48 {
        return Err(bad("data length does not match the shape"));
    }
    Ok(data
        .chunks_exact(48)
        .map(|row| {
            let mut frame = [0f32; 12];
            for (v, b) in frame.iter_mut().zip(row.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            frame
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_round_trips() {
        let frames: Vec<[f32; 12]> = (0..5).map(|k| std::array::from_fn(|i| (k * 12 + i) as f32 / 7.0)).collect();
        let bytes = npy_bytes(&frames);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(bytes[10 + header_len - 1], b'\n');
        assert_eq!(bytes.len(), 10 + header_len + 5 * 48);
        assert_eq!(read_npy(Path::new("x.npy"), &bytes).ok(), Some(frames));
        assert_eq!(read_npy(Path::new("x.npy"), &npy_bytes(&[])).ok(), Some(vec![]));
    }

    #[test]
    fn repeated_stems_get_numbered() {
        let files = [PathBuf::from("a/x.wav"), PathBuf::from("b/x.flac"), PathBuf::from("y.mp3")];
        assert_eq!(output_stems(&files), vec!["x.chroma", "x-2.chroma", "y.chroma"]);
    }

    #[test]
    fn csv_has_header_and_times() {
        let f = Features { hop_s: 0.1, chroma: vec![[0.0; 12], [1.0; 12]], ..Features::default() };
        let text = csv_text(&f);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time_s,C,C#,D,D#,E,F,F#,G,G#,A,A#,B");
        assert!(lines[2].starts_with("0.100,1,"));
        assert_eq!(lines.len(), 3);
    }
}
