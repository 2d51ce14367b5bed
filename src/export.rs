//! Chroma export (`leitmotif chroma`): per-file pitch-class frames (chroma, CENS or the
//! predominant-melody profile) written as JSON, CSV, or NumPy `.npy` (float32, C order, frames x
//! 12 or, librosa's convention, 12 x frames) with a JSON sidecar holding the frame timing, the
//! kind, the layout and the tuning.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::chroma::{CensConfig, cens};
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

/// Which pitch-class frames are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChromaKind {
    /// Chroma: the semitone spectrum folded into 12 pitch classes, each frame max-normalised.
    #[default]
    Chroma,
    /// CENS (Müller): chroma quantised, smoothed over 4.1 s and sampled once a second.
    Cens,
    /// The predominant-melody profile: pitch-class salience of the strongest voice.
    Melody,
}

impl ChromaKind {
    /// Every kind, in the order the command line lists them.
    pub const ALL: [Self; 3] = [Self::Chroma, Self::Cens, Self::Melody];

    /// The name written in documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chroma => "chroma",
            Self::Cens => "cens",
            Self::Melody => "melody",
        }
    }
}

/// How the frames are laid out in arrays (`.npy`, CSV and the JSON `chroma` field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChromaLayout {
    /// One row per frame, 12 values each (frames x 12).
    #[default]
    FrameMajor,
    /// One row per pitch class, one value per frame (12 x frames): librosa's convention.
    PitchMajor,
}

impl ChromaLayout {
    /// Every layout.
    pub const ALL: [Self; 2] = [Self::FrameMajor, Self::PitchMajor];

    /// The name written in documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::FrameMajor => "frame-major",
            Self::PitchMajor => "pitch-major",
        }
    }
}

/// CENS smoothing window, seconds (Müller's CENS(41, 10) at 10 frames per second).
const CENS_WINDOW_S: f64 = 4.1;
/// Seconds between CENS frames.
const CENS_HOP_S: f64 = 1.0;

/// The frames of `kind` from `features` (borrowed unless computed), and the seconds between them.
pub fn frames_of(features: &Features, kind: ChromaKind) -> (Cow<'_, [[f32; 12]]>, f64) {
    match kind {
        ChromaKind::Chroma => (Cow::Borrowed(&features.chroma), features.hop_s),
        ChromaKind::Melody => (Cow::Borrowed(&features.melody), features.hop_s),
        ChromaKind::Cens => {
            let hop = if features.hop_s > 0.0 { features.hop_s } else { 0.1 };
            let frames_in = |s: f64| ((s / hop).round() as usize).max(1);
            let cfg = CensConfig { smooth_frames: frames_in(CENS_WINDOW_S) | 1, factor: frames_in(CENS_HOP_S) };
            (Cow::Owned(cens(&features.chroma, &cfg)), hop * cfg.factor as f64)
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
    /// Which frames.
    pub kind: ChromaKind,
    /// Array layout.
    pub layout: ChromaLayout,
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
    /// What the frames are: `chroma`, `cens` or `melody`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// `frame-major` (frames x 12) or `pitch-major` (12 x frames).
    #[serde(default = "default_layout")]
    pub layout: String,
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
    /// The frames (JSON format only), laid out as `layout` says: a list of frames of 12 values,
    /// or 12 lists (C to B) of one value per frame. Zero for silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chroma: Option<Vec<Vec<f32>>>,
}

fn default_kind() -> String {
    ChromaKind::Chroma.name().to_owned()
}

fn default_layout() -> String {
    ChromaLayout::FrameMajor.name().to_owned()
}

/// `frames` as rows of the layout: the frames themselves, or one row per pitch class.
pub fn layout_rows(frames: &[[f32; 12]], layout: ChromaLayout) -> Vec<Vec<f32>> {
    match layout {
        ChromaLayout::FrameMajor => frames.iter().map(|f| f.to_vec()).collect(),
        ChromaLayout::PitchMajor => (0..12).map(|pc| frames.iter().map(|f| f[pc]).collect()).collect(),
    }
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

/// The NumPy `.npy` (format version 1.0) bytes of `frames` as a little-endian float32 array in
/// C order, of shape (frames, 12) or, pitch-major, (12, frames). The header is padded so the
/// data starts at a multiple of 64 bytes, as NumPy itself writes it.
pub fn npy_bytes(frames: &[[f32; 12]], layout: ChromaLayout) -> Vec<u8> {
    const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";
    let shape = match layout {
        ChromaLayout::FrameMajor => format!("({}, 12)", frames.len()),
        ChromaLayout::PitchMajor => format!("(12, {})", frames.len()),
    };
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
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
    for row in layout_rows(frames, layout) {
        for v in row {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// CSV text of `frames` (`hop_s` apart): frame-major, a header `time_s,C,C#,...,B` and one row
/// per frame with its centre time; pitch-major, a header `pitch_class,<time>,<time>,...` and one
/// row per pitch class.
pub fn csv_text(frames: &[[f32; 12]], hop_s: f64, layout: ChromaLayout) -> String {
    let mut out = String::with_capacity(16 + frames.len() * 12 * 10);
    match layout {
        ChromaLayout::FrameMajor => {
            out.push_str("time_s");
            for pc in PITCH_CLASSES {
                out.push(',');
                out.push_str(pc);
            }
            out.push('\n');
            for (k, frame) in frames.iter().enumerate() {
                let _ = write!(out, "{:.3}", k as f64 * hop_s);
                for v in frame {
                    let _ = write!(out, ",{v}");
                }
                out.push('\n');
            }
        }
        ChromaLayout::PitchMajor => {
            out.push_str("pitch_class");
            for k in 0..frames.len() {
                let _ = write!(out, ",{:.3}", k as f64 * hop_s);
            }
            out.push('\n');
            for (pc, row) in PITCH_CLASSES.iter().zip(layout_rows(frames, layout)) {
                out.push_str(pc);
                for v in row {
                    let _ = write!(out, ",{v}");
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The chroma document (or sidecar, when `data` names a data file) of one track: `frames`
/// (`hop_s` apart) are the frames written.
pub fn chroma_doc(
    track: &Track,
    cfg: &ChromaConfig,
    frames: &[[f32; 12]],
    hop_s: f64,
    data: Option<String>,
) -> ChromaDoc {
    ChromaDoc {
        schema: CHROMA_SCHEMA.to_owned(),
        tool: Tool::current(),
        path: track.path.display().to_string(),
        sample_rate: track.info.sample_rate,
        duration_s: round_to(track.duration_s, 3),
        kind: cfg.kind.name().to_owned(),
        layout: cfg.layout.name().to_owned(),
        hop_s: round_to(hop_s, 6),
        frame_rate: if hop_s > 0.0 { round_to(1.0 / hop_s, 6) } else { 0.0 },
        window_s: cfg.features.window_s,
        tuning_cents: round_to(f64::from(track.features.tuning_cents), 2),
        frames: frames.len(),
        pitch_classes: PITCH_CLASSES.iter().map(|s| (*s).to_owned()).collect(),
        chroma: if data.is_none() { Some(layout_rows(frames, cfg.layout)) } else { None },
        data,
    }
}

/// Output base names (`<stem>.chroma`), made unique by numbering repeats (`<stem>-2.chroma`).
fn output_stems(files: &[PathBuf]) -> Vec<String> {
    let stems =
        files.iter().map(|f| f.file_stem().map_or_else(|| "audio".to_owned(), |s| s.to_string_lossy().into_owned()));
    unique_file_names(stems, ".chroma")
}

/// Writes the data file (and its sidecar) of `frames`, `hop_s` apart, taken from `track`.
fn write_data(
    track: &Track,
    (frames, hop_s): (&[[f32; 12]], f64),
    stem: &str,
    out_dir: &Path,
    cfg: &ChromaConfig,
) -> Result<Vec<PathBuf>> {
    let data_path = out_dir.join(format!("{stem}.{}", cfg.format.extension()));
    let data_name = data_path.file_name().map(|n| n.to_string_lossy().into_owned());
    match cfg.format {
        ChromaFormat::Json => {
            write_atomic(&data_path, to_json(&chroma_doc(track, cfg, frames, hop_s, None)).as_bytes())?;
            Ok(vec![data_path])
        }
        ChromaFormat::Csv | ChromaFormat::Npy => {
            let bytes = if cfg.format == ChromaFormat::Csv {
                csv_text(frames, hop_s, cfg.layout).into_bytes()
            } else {
                npy_bytes(frames, cfg.layout)
            };
            write_atomic(&data_path, &bytes)?;
            let meta_path = out_dir.join(format!("{stem}.meta.json"));
            write_atomic(&meta_path, to_json(&chroma_doc(track, cfg, frames, hop_s, data_name)).as_bytes())?;
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
            let (frames, hop_s) = frames_of(&track.features, cfg.kind);
            let mut written = match &cfg.out_dir {
                Some(dir) => write_data(&track, (&frames, hop_s), stem, dir, cfg).map_err(fail)?,
                None => Vec::new(),
            };
            if let Some(dir) = &cfg.png_dir {
                let path = dir.join(format!("{stem}.png"));
                write_chromagram_png(&path, &frames, hop_s).map_err(fail)?;
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

/// Reads the frames back from `.npy` bytes written by [`npy_bytes`] in `layout` (checks the
/// header and the shape).
///
/// # Errors
/// [`Error::BadDocument`] naming `path` when the bytes are not such an array.
pub fn read_npy(path: &Path, bytes: &[u8], layout: ChromaLayout) -> Result<Vec<[f32; 12]>> {
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
    let dims: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.split(',').filter_map(|d| d.trim().parse().ok()).collect())
        .ok_or_else(|| bad("no shape"))?;
    let n = match (layout, dims.as_slice()) {
        (ChromaLayout::FrameMajor, [n, 12]) | (ChromaLayout::PitchMajor, [12, n]) => *n,
        _ => return Err(bad("the shape is not that of the layout")),
    };
    let data = &bytes[10 + header_len..];
    if data.len() != n * 48 {
        return Err(bad("data length does not match the shape"));
    }
    let values: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((0..n)
        .map(|k| {
            std::array::from_fn(|pc| match layout {
                ChromaLayout::FrameMajor => values[k * 12 + pc],
                ChromaLayout::PitchMajor => values[pc * n + k],
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_round_trips() {
        let frames: Vec<[f32; 12]> = (0..5).map(|k| std::array::from_fn(|i| (k * 12 + i) as f32 / 7.0)).collect();
        for layout in [ChromaLayout::FrameMajor, ChromaLayout::PitchMajor] {
            let bytes = npy_bytes(&frames, layout);
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % 64, 0);
            assert_eq!(bytes[10 + header_len - 1], b'\n');
            assert_eq!(bytes.len(), 10 + header_len + 5 * 48);
            assert_eq!(read_npy(Path::new("x.npy"), &bytes, layout).ok(), Some(frames.clone()));
            assert_eq!(read_npy(Path::new("x.npy"), &npy_bytes(&[], layout), layout).ok(), Some(vec![]));
        }
        // Pitch-major: the first row holds pitch class C of every frame.
        let bytes = npy_bytes(&frames, ChromaLayout::PitchMajor);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        let second = f32::from_le_bytes(bytes[10 + header_len + 4..10 + header_len + 8].try_into().expect("4 bytes"));
        assert_eq!(second, frames[1][0]);
        assert!(read_npy(Path::new("x.npy"), &bytes, ChromaLayout::FrameMajor).is_err());
    }

    #[test]
    fn repeated_stems_get_numbered() {
        let files = [PathBuf::from("a/x.wav"), PathBuf::from("b/x.flac"), PathBuf::from("y.mp3")];
        assert_eq!(output_stems(&files), vec!["x.chroma", "x-2.chroma", "y.chroma"]);
    }

    #[test]
    fn csv_has_header_and_times() {
        let frames = [[0.0; 12], [1.0; 12]];
        let text = csv_text(&frames, 0.1, ChromaLayout::FrameMajor);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time_s,C,C#,D,D#,E,F,F#,G,G#,A,A#,B");
        assert!(lines[2].starts_with("0.100,1,"));
        assert_eq!(lines.len(), 3);
        let text = csv_text(&frames, 0.1, ChromaLayout::PitchMajor);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "pitch_class,0.000,0.100");
        assert_eq!(lines[1], "C,0,1");
        assert_eq!(lines.len(), 13);
    }

    #[test]
    fn cens_frames_come_once_a_second_whatever_the_hop() {
        for hop in [0.1, 0.05] {
            let n = (30.0 / hop) as usize;
            let f = Features { hop_s: hop, chroma: vec![[1.0; 12]; n], ..Features::default() };
            let (frames, cens_hop) = frames_of(&f, ChromaKind::Cens);
            assert!((cens_hop - 1.0).abs() < 1e-9, "{cens_hop}");
            assert_eq!(frames.len(), 30);
        }
    }
}
