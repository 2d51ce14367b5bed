//! Decoding any audio file symphonia can read into a stream of mono blocks.
// PLACEHOLDER: replaced by the decoding layer.

use std::path::Path;

use crate::error::Result;
use crate::source::SampleSource;

/// Tags read from the container and codec; `None` when the file has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tags {
    /// Track title.
    pub title: Option<String>,
    /// Performing artist.
    pub artist: Option<String>,
    /// Album.
    pub album: Option<String>,
}

/// What is known about a stream before and while it is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Samples per second of the decoded audio.
    pub sample_rate: u32,
    /// Channels in the file (the stream is mixed down to mono).
    pub channels: u16,
    /// Duration declared by the container, if any.
    pub duration_s: Option<f64>,
    /// Codec name, e.g. "flac".
    pub codec: String,
    /// Title, artist, album.
    pub tags: Tags,
}

/// An open audio file, decoded packet by packet into mono blocks.
pub struct AudioStream {
    info: AudioInfo,
}

impl AudioStream {
    /// Opens and probes `path`.
    ///
    /// # Errors
    /// A typed [`crate::Error`] naming the file and the cause.
    pub fn open(_path: &Path) -> Result<Self> {
        todo!()
    }

    /// Stream properties and tags.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Packets that were corrupt and skipped so far.
    pub fn skipped_packets(&self) -> usize {
        0
    }

    /// Mono samples delivered so far.
    pub fn samples_decoded(&self) -> u64 {
        0
    }
}

impl SampleSource for AudioStream {
    fn sample_rate(&self) -> u32 {
        self.info.sample_rate
    }
    fn next_block(&mut self) -> Result<Option<&[f32]>> {
        todo!()
    }
}
