//! leitmotif: finds where the themes of a soundtrack recur.
//!
//! Data flows through typed stages: decoded audio ([`source::SampleSource`]) ->
//! per-frame features ([`features::Features`]) -> motifs -> a [`report`] document.
#![forbid(unsafe_code)]

pub mod cache;
pub mod chroma;
pub mod cues;
pub mod decimate;
pub mod decode;
pub mod error;
pub mod eval;
pub mod export;
pub mod features;
pub mod images;
pub mod interchange;
pub mod motif;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod source;
pub mod stft;

pub use error::{Error, Result};
