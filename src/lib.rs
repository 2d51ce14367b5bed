//! leitmotif: finds where the themes of a soundtrack recur.
//!
//! Data flows through typed stages: decoded audio ([`source::SampleSource`]) ->
//! per-frame features ([`features::Features`]) -> motifs -> a [`report`] document.
#![forbid(unsafe_code)]

pub mod cues;
pub mod decode;
pub mod error;
pub mod features;
pub mod motif;
pub mod source;

pub use error::{Error, Result};
