//! leitmotif: finds where the themes of a soundtrack recur.
//!
//! Data flows through typed stages: decoded audio ([`source::SampleSource`]) ->
//! per-frame features ([`features::Features`]) -> motifs -> a [`report`] document.
#![forbid(unsafe_code)]

pub mod cache;
pub mod cues;
pub mod decode;
pub mod error;
pub mod eval;
pub mod export;
pub mod features;
pub mod find;
pub mod interchange;
pub mod motif;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod similarity;
pub mod source;
pub mod track;
pub mod units;

pub use error::{Error, Result};
