//! The library's error type: every failure names the file (or parameter) and the cause.

use std::path::{Path, PathBuf};

/// Result alias used throughout the library.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in leitmotif's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file or folder could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{}: empty file", path.display())]
    Empty {
        /// The empty file.
        path: PathBuf,
    },
    /// The content is not in any audio container or format leitmotif knows.
    #[error("{}: not a recognised audio file", path.display())]
    NotAudio {
        /// The file.
        path: PathBuf,
    },
    /// The container holds no audio track (e.g. a video-only MP4).
    #[error("{}: no audio track", path.display())]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
    },
    /// The audio is in a codec that cannot be decoded.
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// What the codec is, as far as it is known (e.g. "Opus").
        codec: String,
    },
    /// The data is corrupt or truncated beyond what skipping packets can mend.
    #[error("{}: corrupt or truncated audio: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The container reader or the decoder failed on the data; its own error is kept.
    #[error("{}: corrupt or truncated audio: {detail}: {source}", path.display())]
    Undecodable {
        /// The file.
        path: PathBuf,
        /// What was being done.
        detail: String,
        /// The decoding library's error.
        #[source]
        source: symphonia::core::errors::Error,
    },
    /// The stream declares properties that cannot be real (e.g. a sample rate of 0).
    #[error("{}: invalid stream: {detail}", path.display())]
    BadStream {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The file decoded to no audio at all.
    #[error("{}: contains no audio samples", path.display())]
    NoSamples {
        /// The file.
        path: PathBuf,
    },
    /// A parameter is outside its valid range.
    #[error("invalid {name} {value}: expected {expected}")]
    BadParam {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What would have been valid.
        expected: String,
    },
    /// A JSON document could not be read or does not follow its schema.
    #[error("{}: invalid document: {detail}", path.display())]
    BadDocument {
        /// The document's path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// An output file could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The path that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// None of the inputs could be analysed; every failure is listed on one line.
    #[error(
        "nothing could be analysed: {}",
        .failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NothingAnalysed {
        /// Why each input failed.
        failures: Vec<Error>,
    },
    /// An image could not be encoded (a chromagram or a similarity matrix).
    #[error("cannot encode the {what} image: {source}")]
    ImageEncode {
        /// Which image.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
    /// The file decodes, but its audio cannot be analysed with these settings (e.g. a sample
    /// rate too low for the analysis window).
    #[error("{}: cannot be analysed: {source}", path.display())]
    Unanalysable {
        /// The file.
        path: PathBuf,
        /// Why, as the analysis stage reported it.
        #[source]
        source: Box<Error>,
    },
    /// An internal invariant failed: a defect of leitmotif, not of the input or the settings.
    #[error("internal error: {detail}")]
    Internal {
        /// What went wrong.
        detail: String,
    },
    /// A folder given as input holds no file with an audio extension.
    #[error("{}: no audio files found", path.display())]
    NoAudioFiles {
        /// The folder.
        path: PathBuf,
    },
}

impl Error {
    /// An [`Error::BadParam`]: the setting `name` has `value`, and `expected` says what would
    /// have been valid.
    pub fn bad_param(name: &'static str, value: impl ToString, expected: impl Into<String>) -> Self {
        Self::BadParam { name, value: value.to_string(), expected: expected.into() }
    }

    /// Whether this is a usage error (a setting out of range) rather than a failure of an input
    /// or of the system: the command line exits 2 for the one and 1 for the other.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::BadParam { .. })
    }

    /// The file or folder the error concerns, when it concerns one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. }
            | Self::Empty { path, .. }
            | Self::NotAudio { path, .. }
            | Self::NoAudioTrack { path, .. }
            | Self::UnsupportedCodec { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Undecodable { path, .. }
            | Self::BadStream { path, .. }
            | Self::NoSamples { path, .. }
            | Self::BadDocument { path, .. }
            | Self::Write { path, .. }
            | Self::Unanalysable { path, .. }
            | Self::NoAudioFiles { path, .. } => Some(path),
            Self::BadParam { .. } | Self::NothingAnalysed { .. } | Self::ImageEncode { .. } | Self::Internal { .. } => {
                None
            }
        }
    }
}
