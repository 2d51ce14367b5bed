//! leitmotif: finds where the themes of a soundtrack recur.
//!
//! Data flows through typed stages, each importing only those below it: decoded audio
//! ([`source::SampleSource`], from [`decode`]) -> per-frame features ([`features::Features`]) ->
//! matching ([`similarity`]) -> motifs, queries and cues ([`motif`], [`find`], [`cues`]) -> a
//! [`report`] document, orchestrated by [`pipeline`]. `docs/ARCHITECTURE.md` draws the stages
//! and the type between each pair.
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
pub mod library;
pub mod motif;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod similarity;
pub mod source;
pub mod track;
pub mod units;

pub use error::{Error, Result};
