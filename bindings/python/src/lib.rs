//! The native half of the `leitmotif` Python package: thin functions over the library that
//! release the GIL while they work and hand documents back as JSON text (parsed by the Python
//! half, so a document is the same whether it comes from here or from the command line).
//!
//! Errors become the exception classes of `leitmotif.errors`, chosen by the library's error kind.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use leitmotif::cache::FeatureCache;
use leitmotif::cues::CueConfig;
use leitmotif::error::Error;
use leitmotif::export::{ChromaConfig, ChromaKind, ChromaLayout, chroma_doc, frames_of};
use leitmotif::features::FeatureConfig;
use leitmotif::motif::MotifConfig;
use leitmotif::pipeline::{self, AnalyzeConfig, CuesConfig, FindConfig, QuerySpec};
use leitmotif::progress::{Hooks, Progress, TerminalProgress};
use leitmotif::report::json::to_json;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The Python exception for a library error: the class of `leitmotif.errors` named by the
/// error's kind, built with the message and the file it concerns.
fn to_py(py: Python<'_>, error: &Error) -> PyErr {
    let class = match error {
        Error::Io { .. }
        | Error::Empty { .. }
        | Error::NotAudio { .. }
        | Error::NoAudioTrack { .. }
        | Error::UnsupportedCodec { .. }
        | Error::Corrupt { .. }
        | Error::Undecodable { .. }
        | Error::BadStream { .. }
        | Error::NoSamples { .. }
        | Error::NoAudioFiles { .. } => "DecodeError",
        Error::Unanalysable { .. } => "AnalysisError",
        Error::BadParam { .. } => "ParameterError",
        Error::BadDocument { .. } => "DocumentError",
        Error::Write { .. } | Error::ImageEncode { .. } => "WriteError",
        Error::NothingAnalysed { .. } => "NothingAnalysedError",
        _ => "LeitmotifError",
    };
    let path = error.path().map(|p| p.display().to_string());
    let made =
        py.import("leitmotif.errors").and_then(|m| m.getattr(class)).and_then(|c| c.call1((error.to_string(), path)));
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => PyRuntimeError::new_err(format!("{error} (and its exception class is missing: {e})")),
    }
}

/// Runs `work` without the GIL, so other Python threads run meanwhile.
fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> leitmotif::error::Result<T> + Send) -> PyResult<T> {
    py.detach(work).map_err(|e| to_py(py, &e))
}

/// The feature cache: `None` or `True` for the user's cache folder, `False` for none, or a folder.
fn open_cache(cache: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Arc<FeatureCache>>> {
    let dir = match cache {
        None => FeatureCache::default_dir(),
        Some(v) if v.is_instance_of::<pyo3::types::PyBool>() => {
            if v.extract::<bool>()? {
                FeatureCache::default_dir()
            } else {
                None
            }
        }
        Some(v) => Some(v.extract::<PathBuf>()?),
    };
    Ok(dir.map(|d| Arc::new(FeatureCache::new(d))))
}

fn hooks(cache: Option<&Bound<'_, PyAny>>, progress: bool) -> PyResult<Hooks> {
    let progress =
        if progress { TerminalProgress::for_stderr().map(|p| Arc::new(p) as Arc<dyn Progress>) } else { None };
    Ok(Hooks { cache: open_cache(cache)?, progress })
}

/// The variant of `all` named `name` (by its document name), or a `ValueError` listing them.
fn by_name<T: Copy>(what: &str, name: &str, all: &[T], name_of: fn(T) -> &'static str) -> PyResult<T> {
    all.iter().copied().find(|v| name_of(*v) == name).ok_or_else(|| {
        let names: Vec<String> = all.iter().map(|v| format!("\"{}\"", name_of(*v))).collect();
        pyo3::exceptions::PyValueError::new_err(format!("{what} must be one of {}, not {name:?}", names.join(", ")))
    })
}

/// Chroma (or CENS, or the melody profile) of one file as a float32 array laid out as asked, and
/// its description as JSON text (the `leitmotif.chroma/1` sidecar plus channels, codec and tags).
#[pyfunction]
#[pyo3(signature = (path, *, hop, layout, kind, cache=None))]
fn chroma<'py>(
    py: Python<'py>,
    path: PathBuf,
    hop: f64,
    layout: &str,
    kind: &str,
    cache: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyArray2<f32>>, String)> {
    let cfg = ChromaConfig {
        inputs: vec![path.clone()],
        kind: by_name("kind", kind, &ChromaKind::ALL, ChromaKind::name)?,
        layout: by_name("layout", layout, &ChromaLayout::ALL, ChromaLayout::name)?,
        features: FeatureConfig { hop_s: hop, ..FeatureConfig::default() },
        hooks: hooks(cache, false)?,
        ..ChromaConfig::default()
    };
    let (values, shape, info) = detached(py, || {
        cfg.features.validate()?;
        let mut track = cfg.hooks.load(&path, &cfg.features, pipeline::load_track)?;
        let (frames, hop_s) = frames_of(&track.features, cfg.kind);
        // Described as its sidecar would be (no frames inline: they are the array), without a data file.
        let mut doc = chroma_doc(&track, &cfg, &frames, hop_s, Some(String::new()));
        doc.data = None;
        let mut info =
            serde_json::to_value(doc).map_err(|e| Error::Internal { detail: format!("chroma description: {e}") })?;
        let n = frames.len();
        let (values, shape) = match cfg.layout {
            // The track's own frames, flattened in place, become the array: no copy.
            ChromaLayout::FrameMajor => {
                let frames = match (frames, cfg.kind) {
                    (Cow::Owned(v), _) => v,
                    (Cow::Borrowed(_), ChromaKind::Melody) => std::mem::take(&mut track.features.melody),
                    (Cow::Borrowed(_), _) => std::mem::take(&mut track.features.chroma),
                };
                (frames.into_flattened(), (n, 12))
            }
            ChromaLayout::PitchMajor => {
                ((0..12).flat_map(|pc| frames.iter().map(move |f| f[pc])).collect::<Vec<f32>>(), (12, n))
            }
        };
        if let serde_json::Value::Object(map) = &mut info {
            map.insert("channels".to_owned(), track.info.channels.into());
            map.insert("codec".to_owned(), track.info.codec.clone().into());
            let tags = &track.info.tags;
            map.insert(
                "tags".to_owned(),
                serde_json::json!({"title": tags.title, "artist": tags.artist, "album": tags.album}),
            );
        }
        Ok((values, shape, info.to_string()))
    })?;
    // The vector becomes the array's buffer: no copy.
    let array = Array2::from_shape_vec(shape, values)
        .map_err(|e| PyRuntimeError::new_err(format!("chroma array of shape {shape:?}: {e}")))?;
    Ok((array.into_pyarray(py), info))
}

/// Motif discovery over files and folders; the `leitmotif.report/1` document as JSON text.
#[pyfunction]
#[pyo3(signature = (paths, *, min_len=None, threshold=None, max_motifs=None, cache=None, progress=false))]
fn analyze(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    min_len: Option<f64>,
    threshold: Option<f32>,
    max_motifs: Option<usize>,
    cache: Option<&Bound<'_, PyAny>>,
    progress: bool,
) -> PyResult<String> {
    let defaults = MotifConfig::default();
    let cfg = AnalyzeConfig {
        inputs: paths,
        features: FeatureConfig::default(),
        motif: MotifConfig {
            min_len_s: min_len.unwrap_or(defaults.min_len_s),
            threshold: threshold.unwrap_or(defaults.threshold),
            max_motifs: max_motifs.unwrap_or(defaults.max_motifs),
            ..defaults
        },
        hooks: hooks(cache, progress)?,
    };
    detached(py, || pipeline::analyze(&cfg).map(|(report, _)| to_json(&report)))
}

/// Every occurrence of a query (`FILE` or `FILE@START-END`) in files and folders; the
/// `leitmotif.report/1` document as JSON text.
#[pyfunction]
#[pyo3(signature = (query, paths, *, threshold=None, cache=None, progress=false))]
fn find(
    py: Python<'_>,
    query: &str,
    paths: Vec<PathBuf>,
    threshold: Option<f32>,
    cache: Option<&Bound<'_, PyAny>>,
    progress: bool,
) -> PyResult<String> {
    let query: QuerySpec = query.parse().map_err(|e| to_py(py, &e))?;
    let defaults = MotifConfig::default();
    let cfg = FindConfig {
        query,
        inputs: paths,
        features: FeatureConfig::default(),
        motif: MotifConfig { threshold: threshold.unwrap_or(defaults.threshold), ..defaults },
        hooks: hooks(cache, progress)?,
    };
    detached(py, || pipeline::find(&cfg).map(|(report, _)| to_json(&report)))
}

/// Where the tracks play inside the episodes; the `leitmotif.cues/1` document as JSON text.
#[pyfunction]
#[pyo3(signature = (tracks, episodes, *, min_len=None, threshold=None, cache=None, progress=false))]
fn cues(
    py: Python<'_>,
    tracks: Vec<PathBuf>,
    episodes: Vec<PathBuf>,
    min_len: Option<f64>,
    threshold: Option<f32>,
    cache: Option<&Bound<'_, PyAny>>,
    progress: bool,
) -> PyResult<String> {
    let defaults = CueConfig::default();
    let cfg = CuesConfig {
        tracks,
        episodes,
        features: FeatureConfig::default(),
        cues: CueConfig {
            min_len_s: min_len.unwrap_or(defaults.min_len_s),
            threshold: threshold.unwrap_or(defaults.threshold),
            ..defaults
        },
        hooks: hooks(cache, progress)?,
    };
    detached(py, || pipeline::cues(&cfg).map(|report| to_json(&report)))
}

/// Scores a report (motifs or cues) against its ground truth, both given as JSON text; `names`
/// are what errors call the two documents. The score as JSON text.
#[pyfunction]
fn evaluate(py: Python<'_>, truth: &str, report: &str, names: (String, String)) -> PyResult<String> {
    let (truth_name, report_name) = (PathBuf::from(names.0), PathBuf::from(names.1));
    let parse = |text: &str, name: &PathBuf| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| Error::BadDocument { path: name.clone(), detail: format!("not JSON: {e}") })
    };
    let (truth, report) = (truth.to_owned(), report.to_owned());
    detached(py, || {
        let evaluation = leitmotif::eval::evaluate_values(
            (parse(&truth, &truth_name)?, &truth_name),
            (parse(&report, &report_name)?, &report_name),
        )?;
        let mut value =
            serde_json::to_value(&evaluation).map_err(|e| Error::Internal { detail: format!("evaluation: {e}") })?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("f1".to_owned(), evaluation.headline().into());
            map.insert("summary".to_owned(), evaluation.render().trim_end().lines().last().unwrap_or_default().into());
        }
        Ok(value.to_string())
    })
}

/// The audio files the inputs stand for (folders walked, playlists read), sorted, as the
/// commands find them; an input that cannot be read raises its error.
#[pyfunction]
fn audio_files(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Vec<PathBuf>> {
    let (files, errors) = py.detach(|| pipeline::expand_inputs(&paths));
    match errors.into_iter().next() {
        Some(e) => Err(to_py(py, &e.error)),
        None => Ok(files),
    }
}

/// The library's version.
#[pyfunction]
fn version() -> String {
    leitmotif::report::Tool::current().version
}

/// The library's default settings as JSON text: `motif` (analyze and find), `cues`, `features`.
#[pyfunction]
fn defaults() -> String {
    let value = serde_json::json!({
        "motif": MotifConfig::default(),
        "cues": CueConfig::default(),
        "features": FeatureConfig::default(),
    });
    value.to_string()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chroma, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(find, m)?)?;
    m.add_function(wrap_pyfunction!(cues, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(audio_files, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    Ok(())
}
