//! Decoding any audio file symphonia can read into a stream of mono blocks.
//!
//! [`AudioStream::open`] probes the file by content (the extension is only a hint), picks the
//! default audio track and decodes its first packet, so that a file which cannot give any audio
//! fails at `open` with a typed [`Error`]. After that, [`SampleSource::next_block`] decodes one
//! packet per call, mixes it down to mono into a buffer that is reused, and hands it on: memory
//! stays flat however long the file is.
//!
//! Hostile input never panics out of here: the probe and every demux and decode call run under
//! `catch_unwind`, and a panic inside symphonia becomes [`Error::Corrupt`]. Such a panic is
//! expected and handled, so [`install_quiet_panic_hook`] keeps the panic hook from printing it.

mod mp4;

use std::cell::Cell;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::{AudioCodecId, CODEC_ID_NULL_AUDIO, well_known as codec_ids};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known::{FORMAT_ID_ISOMP4, FORMAT_ID_WAVE};
use symphonia::core::formats::{FormatOptions, FormatReader, MediaInfo, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::well_known::METADATA_ID_WAVE;
use symphonia::core::meta::{MetadataBuilder, MetadataContainer, MetadataInfo, MetadataOptions, RawValue, StandardTag};
use symphonia::default::meta::embedded::riff::parse_riff_info_chunk;

use crate::error::{Error, Result};
use crate::source::{SampleSource, finite_or_zero};

/// Consecutive packets that may fail to demux or decode before the file is declared corrupt.
///
/// One bad packet in the middle of a long file should cost a few milliseconds of audio, not the
/// whole file; a run this long means the data is garbage from there on.
pub const MAX_CONSECUTIVE_FAILURES: usize = 100;

/// Highest sample rate accepted from a header, in Hz; anything above is a corrupt or hostile file.
pub const MAX_SAMPLE_RATE: u32 = 1_000_000;

/// Most channels accepted from a header or a decoded packet.
pub const MAX_CHANNELS: usize = 64;

/// Most frames a header may declare for one packet. Decoders size their buffers from this, so a
/// hostile value must be refused before one is built; real codecs stay far below (FLAC's largest
/// block is 65535 frames).
pub const MAX_FRAMES_PER_PACKET: u64 = 1 << 20;

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
    path: PathBuf,
    info: AudioInfo,
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// Interleaved samples of the last decoded packet; reused so decoding allocates nothing new
    /// once it has seen the largest packet.
    interleaved: Vec<f32>,
    /// The mono mix of the last decoded packet: the block handed on by `next_block`.
    mono: Vec<f32>,
    /// `mono` holds a block decoded ahead (by `open`) that has not been handed on yet.
    pending: bool,
    /// The stream has ended or failed; `next_block` returns `Ok(None)` from now on.
    done: bool,
    /// A packet has decoded, so `info` holds the real sample rate and channel count.
    shape_known: bool,
    skipped: usize,
    consecutive_failures: usize,
    samples: u64,
    /// Encoder priming frames still to drop from the start (from an MP4 edit list).
    priming: u64,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("track_id", &self.track_id)
            .field("skipped", &self.skipped)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

/// What one step of the decode loop produced.
enum Step {
    /// A block of mono samples is ready in `mono`.
    Block,
    /// Nothing to hand on this time (another track's packet, an empty buffer); go on.
    Again,
    /// The stream has ended.
    End,
}

impl AudioStream {
    /// Opens and probes `path`, then decodes its first packet.
    ///
    /// # Errors
    /// A typed [`crate::Error`] naming the file and the cause: [`Error::Io`] when the file cannot
    /// be read, [`Error::Empty`] for a zero-byte file, [`Error::NotAudio`] when no container format
    /// matches the content, [`Error::NoAudioTrack`], [`Error::UnsupportedCodec`],
    /// [`Error::BadStream`] for impossible sample rates or channel counts, [`Error::Corrupt`] when
    /// nothing decodes, and [`Error::NoSamples`] when the stream is valid but holds no audio.
    pub fn open(path: &Path) -> Result<Self> {
        let io_err = |source| Error::Io { path: path.to_path_buf(), source };
        let invalid = |what: &str| io_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what));
        // Look before opening: opening a FIFO blocks until something writes to it, and a device
        // such as /dev/zero never ends.
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Err(invalid("is a directory"));
        }
        if !meta.is_file() {
            return Err(invalid("not a regular file (a FIFO, socket or device)"));
        }
        if meta.len() == 0 {
            return Err(Error::Empty { path: path.to_path_buf() });
        }
        let file = File::open(path).map_err(io_err)?;

        let hint = hint_for(path);
        let reader = match probe(path, &hint, Box::new(file)) {
            Ok(reader) => reader,
            Err(err @ Error::NotAudio { .. }) => return Err(err),
            // A reader given a seekable file also reads its end (duration, index, tags), and a
            // truncated file can fail there although its start is sound: read it again front to
            // back only, and report the first failure if that does not help either.
            Err(first) => {
                let file = File::open(path).map_err(io_err)?;
                probe(path, &hint, Box::new(ReadOnlySource::new(file))).map_err(|_| first)?
            }
        };
        Self::from_reader(path, reader, || File::open(path).ok())
    }

    /// Opens audio held in memory, as [`AudioStream::open`] opens a file. `name` stands for the
    /// data in messages, and its extension is the format hint.
    ///
    /// # Errors
    /// As [`AudioStream::open`] (never [`Error::Io`] for reading, since nothing is read).
    pub fn from_bytes(name: &Path, bytes: impl Into<Arc<[u8]>>) -> Result<Self> {
        let bytes: Arc<[u8]> = bytes.into();
        if bytes.is_empty() {
            return Err(Error::Empty { path: name.to_path_buf() });
        }
        let hint = hint_for(name);
        let reader = match probe(name, &hint, Box::new(Cursor::new(Arc::clone(&bytes)))) {
            Ok(reader) => reader,
            Err(err @ Error::NotAudio { .. }) => return Err(err),
            // As in `open`: a second, front-to-back only reading.
            Err(first) => {
                probe(name, &hint, Box::new(ReadOnlySource::new(Cursor::new(Arc::clone(&bytes))))).map_err(|_| first)?
            }
        };
        Self::from_reader(name, reader, || Some(Cursor::new(bytes)))
    }

    /// Selects the audio track of a probed `reader`, builds its decoder and decodes the first
    /// packet. `raw` gives the bytes again for the WAV tags symphonia drops.
    fn from_reader<R: Read + Seek>(
        path: &Path,
        mut reader: Box<dyn FormatReader>,
        raw: impl FnOnce() -> Option<R>,
    ) -> Result<Self> {
        let track = select_track(path, reader.as_ref())?;
        let track_id = track.id;
        let params = match &track.codec_params {
            Some(CodecParameters::Audio(params)) => params.clone(),
            _ => {
                return Err(Error::NoAudioTrack { path: path.to_path_buf() });
            }
        };
        validate_params(path, &params)?;
        let duration_s = declared_duration(track, &params, reader.media_info());

        let decoder = make_decoder(path, &params)?;
        let codec = decoder.codec_info().short_name.to_string();
        let mut picker = TagPicker::default();
        read_tags(reader.as_mut(), track_id, &mut picker);
        // Symphonia reads neither WAV's LIST/INFO tags nor MP4's edit list: both from the bytes.
        let format = reader.format_info().format;
        let mut priming = 0;
        let bytes = if format == FORMAT_ID_WAVE || format == FORMAT_ID_ISOMP4 { raw() } else { None };
        if let Some(bytes) = bytes {
            if format == FORMAT_ID_WAVE {
                read_riff_info(bytes, &mut picker);
            } else if let Some((media_time, timescale)) = mp4::audio_edit_start(bytes) {
                let rate = u64::from(params.sample_rate.unwrap_or(timescale));
                priming = media_time.saturating_mul(rate) / u64::from(timescale);
            }
        }
        let tags = picker.finish();

        let mut stream = AudioStream {
            path: path.to_path_buf(),
            info: AudioInfo {
                sample_rate: params.sample_rate.unwrap_or(0),
                channels: params.channels.as_ref().and_then(|c| u16::try_from(c.count()).ok()).unwrap_or(0),
                duration_s,
                codec,
                tags,
            },
            reader,
            decoder,
            track_id,
            interleaved: Vec::new(),
            mono: Vec::new(),
            pending: false,
            done: false,
            shape_known: false,
            skipped: 0,
            consecutive_failures: 0,
            samples: 0,
            priming,
        };

        // Decode ahead to the first block: a file that cannot give any audio fails here, and the
        // real sample rate and channel count (which some containers leave out) become known.
        if stream.advance()? {
            stream.pending = true;
            Ok(stream)
        } else if stream.skipped > 0 {
            Err(corrupt(path, format!("no packet could be decoded ({} failed)", stream.skipped)))
        } else {
            Err(Error::NoSamples { path: path.to_path_buf() })
        }
    }

    /// Stream properties and tags.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Packets that were corrupt and skipped so far.
    pub fn skipped_packets(&self) -> usize {
        self.skipped
    }

    /// Mono samples delivered so far.
    pub fn samples_decoded(&self) -> u64 {
        self.samples
    }

    /// Decodes until the next non-empty block is in `mono`; `false` at the end of the stream.
    fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            match self.step() {
                Ok(Step::Block) => return Ok(true),
                Ok(Step::Again) => {}
                Ok(Step::End) => {
                    self.done = true;
                    return Ok(false);
                }
                Err(err) => {
                    self.done = true;
                    return Err(err);
                }
            }
        }
    }

    /// Reads one packet and, if it is ours, decodes it and mixes it down.
    fn step(&mut self) -> Result<Step> {
        let reader = &mut self.reader;
        let next = guarded(|| reader.next_packet());
        let packet = match next {
            Ok(Ok(Some(packet))) => packet,
            Ok(Ok(None)) => return Ok(Step::End),
            // A new logical stream begins (chained Ogg): what we selected has ended.
            Ok(Err(SymError::ResetRequired)) => return Ok(Step::End),
            // The file stops short: keep what was decoded.
            Ok(Err(SymError::IoError(err))) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Step::End);
            }
            Ok(Err(SymError::IoError(err))) => {
                return Err(Error::Io { path: self.path.clone(), source: err });
            }
            Ok(Err(err)) => return self.fail(err).map(|()| Step::Again),
            Err(_) => {
                return Err(corrupt(&self.path, "the container parser crashed on this file"));
            }
        };

        // Metadata that changes mid-stream is not used; drop it so the log does not grow.
        while !self.reader.metadata().is_latest() {
            self.reader.metadata().pop();
        }

        if packet.track_id != self.track_id {
            return Ok(Step::Again);
        }

        let decoder = &mut self.decoder;
        let interleaved = &mut self.interleaved;
        let decoded = guarded(|| {
            decoder.decode(&packet).map(|buf| {
                let rate = buf.spec().rate();
                let channels = buf.num_planes();
                if channels > 0 && channels <= MAX_CHANNELS {
                    buf.copy_to_vec_interleaved(interleaved);
                }
                (rate, channels)
            })
        });
        let (rate, channels) = match decoded {
            Ok(Ok(shape)) => shape,
            Ok(Err(SymError::ResetRequired)) => {
                self.decoder.reset();
                return self.fail(SymError::ResetRequired).map(|()| Step::Again);
            }
            Ok(Err(err)) => return self.fail(err).map(|()| Step::Again),
            Err(_) => return Err(corrupt(&self.path, "the decoder crashed on this file")),
        };

        if channels == 0 || channels > MAX_CHANNELS {
            return Err(bad_stream(
                &self.path,
                format!("a packet decoded to {channels} channels (expected 1..={MAX_CHANNELS})"),
            ));
        }
        if rate == 0 || rate > MAX_SAMPLE_RATE {
            return Err(bad_stream(
                &self.path,
                format!("a packet decoded at {rate} Hz (expected 1..={MAX_SAMPLE_RATE})"),
            ));
        }
        if !self.shape_known {
            // The first decoded packet defines the stream's rate and channels.
            self.shape_known = true;
            self.info.sample_rate = rate;
            self.info.channels = u16::try_from(channels).unwrap_or(u16::MAX);
        } else if rate != self.info.sample_rate {
            // Mixing rates would shift every later pitch and time; drop such packets (they are
            // counted) rather than silently resample.
            self.skipped += 1;
            return Ok(Step::Again);
        }
        self.consecutive_failures = 0;

        mix_to_mono(&self.interleaved, channels, &mut self.mono);
        if self.priming > 0 {
            let n = self.mono.len().min(usize::try_from(self.priming).unwrap_or(usize::MAX));
            self.mono.drain(..n);
            self.priming -= n as u64;
        }
        if self.mono.is_empty() { Ok(Step::Again) } else { Ok(Step::Block) }
    }

    /// Counts a packet that could not be read or decoded; past the limit, the file is corrupt.
    fn fail(&mut self, err: SymError) -> Result<()> {
        self.skipped += 1;
        self.consecutive_failures += 1;
        if self.consecutive_failures < MAX_CONSECUTIVE_FAILURES {
            return Ok(());
        }
        Err(match err {
            SymError::Unsupported(feature) => {
                Error::UnsupportedCodec { path: self.path.clone(), codec: format!("{} ({feature})", self.info.codec) }
            }
            _ => Error::Undecodable {
                path: self.path.clone(),
                detail: format!(
                    "{MAX_CONSECUTIVE_FAILURES} packets in a row failed after {} samples; last",
                    self.samples
                ),
                source: err,
            },
        })
    }
}

impl SampleSource for AudioStream {
    fn sample_rate(&self) -> u32 {
        self.info.sample_rate
    }

    fn next_block(&mut self) -> Result<Option<&[f32]>> {
        if !self.pending && !self.advance()? {
            return Ok(None);
        }
        self.pending = false;
        self.samples += self.mono.len() as u64;
        Ok(Some(&self.mono))
    }
}

/// Opens `path` and returns its properties and tags without decoding more than its first packet.
///
/// # Errors
/// As [`AudioStream::open`].
pub fn probe_info(path: &Path) -> Result<AudioInfo> {
    AudioStream::open(path).map(|stream| stream.info)
}

/// Mixes interleaved frames of `channels` samples down to their mean into `mono` (cleared first).
/// A non-finite sample counts as silence, so NaN or infinity never reaches the features.
fn mix_to_mono(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    mono.clear();
    if channels == 0 {
        return;
    }
    mono.resize(interleaved.len() / channels, 0.0);
    // Each channel scaled before the sum, so the mean of two huge samples cannot overflow. Mono
    // and stereo, nearly every file, get loops of fixed shape that run in vector lanes.
    match channels {
        1 => mono.iter_mut().zip(interleaved).for_each(|(m, &s)| *m = finite_or_zero(s)),
        2 => mono
            .iter_mut()
            .zip(interleaved.chunks_exact(2))
            .for_each(|(m, f)| *m = finite_or_zero(f[0]) * 0.5 + finite_or_zero(f[1]) * 0.5),
        _ => {
            let scale = 1.0 / channels as f32;
            for (m, frame) in mono.iter_mut().zip(interleaved.chunks_exact(channels)) {
                *m = frame.iter().map(|&s| finite_or_zero(s) * scale).sum();
            }
        }
    }
}

/// The audio track to decode: the container's default, else the first with a known codec.
fn select_track<'a>(path: &Path, reader: &'a dyn FormatReader) -> Result<&'a Track> {
    if let Some(track) = reader.default_track(TrackType::Audio) {
        return Ok(track);
    }
    // `default_track` skips audio tracks whose codec the container could not name.
    if reader.first_track(TrackType::Audio).is_some() {
        return Err(Error::UnsupportedCodec {
            path: path.to_path_buf(),
            codec: "an audio codec the container does not identify".to_string(),
        });
    }
    Err(Error::NoAudioTrack { path: path.to_path_buf() })
}

/// Rejects headers whose sample rate, channel count or packet size cannot be real, before a
/// decoder is sized from them.
fn validate_params(path: &Path, params: &AudioCodecParameters) -> Result<()> {
    if let Some(rate) = params.sample_rate {
        if rate == 0 || rate > MAX_SAMPLE_RATE {
            return Err(bad_stream(path, format!("sample rate {rate} Hz (expected 1..={MAX_SAMPLE_RATE})")));
        }
    }
    if let Some(channels) = &params.channels {
        let count = channels.count();
        if count == 0 || count > MAX_CHANNELS {
            return Err(bad_stream(path, format!("{count} channels (expected 1..={MAX_CHANNELS})")));
        }
    }
    if let Some(frames) = params.max_frames_per_packet {
        if frames > MAX_FRAMES_PER_PACKET {
            return Err(bad_stream(
                path,
                format!("{frames} frames per packet (expected at most {MAX_FRAMES_PER_PACKET})"),
            ));
        }
    }
    Ok(())
}

/// Builds the decoder, naming the codec when symphonia has none for it.
fn make_decoder(path: &Path, params: &AudioCodecParameters) -> Result<Box<dyn AudioDecoder>> {
    let registry = symphonia::default::get_codecs();
    if params.codec == CODEC_ID_NULL_AUDIO || registry.get_audio_decoder(params.codec).is_none() {
        return Err(Error::UnsupportedCodec {
            path: path.to_path_buf(),
            codec: unsupported_codec_message(params.codec),
        });
    }
    let made = guarded(|| registry.make_audio_decoder(params, &AudioDecoderOptions::default()));
    match made {
        Ok(Ok(decoder)) => Ok(decoder),
        Ok(Err(SymError::Unsupported(feature))) => Err(Error::UnsupportedCodec {
            path: path.to_path_buf(),
            codec: format!("{} ({feature})", codec_name(params.codec)),
        }),
        Ok(Err(SymError::IoError(source))) => Err(Error::Io { path: path.to_path_buf(), source }),
        Ok(Err(source)) => {
            Err(Error::Undecodable { path: path.to_path_buf(), detail: "cannot set up the decoder".into(), source })
        }
        Err(_) => Err(corrupt(path, "the decoder crashed while reading the codec setup")),
    }
}

/// A readable name for codecs symphonia may meet in a container but cannot decode.
fn codec_name(id: AudioCodecId) -> String {
    let name = match id {
        codec_ids::CODEC_ID_OPUS => "Opus",
        codec_ids::CODEC_ID_SPEEX => "Speex",
        codec_ids::CODEC_ID_MUSEPACK => "Musepack",
        codec_ids::CODEC_ID_AC3 => "AC-3",
        codec_ids::CODEC_ID_EAC3 => "E-AC-3",
        codec_ids::CODEC_ID_AC4 => "AC-4",
        codec_ids::CODEC_ID_DCA => "DTS",
        codec_ids::CODEC_ID_WMA => "WMA",
        codec_ids::CODEC_ID_ATRAC1
        | codec_ids::CODEC_ID_ATRAC3
        | codec_ids::CODEC_ID_ATRAC3PLUS
        | codec_ids::CODEC_ID_ATRAC9 => "ATRAC",
        codec_ids::CODEC_ID_COOK | codec_ids::CODEC_ID_RA10 | codec_ids::CODEC_ID_RA20 => "RealAudio",
        codec_ids::CODEC_ID_VORBIS => "Vorbis",
        codec_ids::CODEC_ID_AAC => "AAC",
        codec_ids::CODEC_ID_MP3 => "MP3",
        CODEC_ID_NULL_AUDIO => "an unidentified codec",
        _ => return format!("codec {id}"),
    };
    name.to_string()
}

/// The `UnsupportedCodec` message: what the codec is, and how to get a file that decodes.
fn unsupported_codec_message(id: AudioCodecId) -> String {
    let name = codec_name(id);
    let example = if id == codec_ids::CODEC_ID_OPUS { "in.opus" } else { "in.ext" };
    format!("{name} (symphonia has no {name} decoder; convert with ffmpeg -i {example} out.flac)")
}

/// Duration declared by the container: playable frames over the sample rate, else the track's
/// duration in its time base, else the media's.
fn declared_duration(track: &Track, params: &AudioCodecParameters, media: &MediaInfo) -> Option<f64> {
    let from_frames = match (track.num_frames, params.sample_rate) {
        (Some(frames), Some(rate)) if rate > 0 => Some(frames as f64 / f64::from(rate)),
        _ => None,
    };
    let from_time_base = || {
        let time = track.time_base?.calc_duration(track.duration?)?;
        Some(time.as_secs_f64())
    };
    // Some containers (Matroska) only state the duration of the media as a whole.
    let from_media = || {
        let time = media.time_base?.calc_duration(media.duration?)?;
        Some(time.as_secs_f64())
    };
    from_frames.or_else(from_time_base).or_else(from_media).filter(|s| s.is_finite() && *s >= 0.0)
}

/// Title, artist and album from every metadata revision read so far: tags found while probing
/// (ID3, APE) come first, then the container's own (Vorbis comments, MP4 atoms, MKV tags),
/// including those attached to the selected track.
fn read_tags(reader: &mut dyn FormatReader, track_id: u32, picker: &mut TagPicker) {
    let mut metadata = reader.metadata();
    loop {
        if let Some(revision) = metadata.current() {
            picker.offer_all(&revision.media);
            for per_track in &revision.per_track {
                if per_track.track_id == u64::from(track_id) {
                    picker.offer_all(&per_track.metadata);
                }
            }
        }
        if metadata.pop().is_none() {
            break;
        }
    }
}

/// Which tag a field's value came from; a lower rank wins, and among equals the first one found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TagRank {
    /// The standard tag itself (TrackTitle, Artist, Album).
    Exact,
    /// A close stand-in: the album artist when no track artist is given. Matroska files written
    /// with untargeted tags only have these.
    StandIn,
    /// A tag symphonia did not map, whose key still reads TITLE, ARTIST or ALBUM.
    RawKey,
}

/// Collects the best title, artist and album among all the tags offered.
#[derive(Debug, Default)]
struct TagPicker {
    title: Option<(TagRank, String)>,
    artist: Option<(TagRank, String)>,
    album: Option<(TagRank, String)>,
}

impl TagPicker {
    fn offer_all(&mut self, container: &MetadataContainer) {
        for tag in &container.tags {
            let (slot, rank, value) = match &tag.std {
                Some(StandardTag::TrackTitle(v)) => (&mut self.title, TagRank::Exact, v.as_str()),
                Some(StandardTag::Artist(v)) => (&mut self.artist, TagRank::Exact, v.as_str()),
                Some(StandardTag::Album(v)) => (&mut self.album, TagRank::Exact, v.as_str()),
                Some(StandardTag::AlbumArtist(v)) => (&mut self.artist, TagRank::StandIn, v.as_str()),
                Some(_) => continue,
                None => {
                    let RawValue::String(value) = &tag.raw.value else {
                        continue;
                    };
                    // Matroska keys carry their target level first: "ALBUM@ALBUM".
                    let key = tag.raw.key.rsplit('@').next().unwrap_or_default();
                    let slot = if key.eq_ignore_ascii_case("title") {
                        &mut self.title
                    } else if key.eq_ignore_ascii_case("artist") {
                        &mut self.artist
                    } else if key.eq_ignore_ascii_case("album") {
                        &mut self.album
                    } else {
                        continue;
                    };
                    (slot, TagRank::RawKey, value.as_str())
                }
            };
            let value = value.trim();
            if value.is_empty() || slot.as_ref().is_some_and(|(held, _)| *held <= rank) {
                continue;
            }
            *slot = Some((rank, value.to_string()));
        }
    }

    fn finish(self) -> Tags {
        Tags {
            title: self.title.map(|(_, v)| v),
            artist: self.artist.map(|(_, v)| v),
            album: self.album.map(|(_, v)| v),
        }
    }
}

/// RIFF chunks looked at before giving up on finding a LIST/INFO chunk.
const MAX_RIFF_CHUNKS: usize = 64;
/// Largest LIST/INFO chunk read, in bytes; real ones are a few hundred.
const MAX_RIFF_INFO_LEN: u32 = 64 * 1024;

/// Offers the tags in a WAV file's LIST/INFO chunks.
///
/// symphonia 0.6.1's WAV reader parses these chunks but drops the result, so they are read here
/// again, with symphonia's own INFO parser for the key mapping. Best effort: any read error just
/// ends the search.
fn read_riff_info(mut file: impl Read + Seek, picker: &mut TagPicker) {
    let mut header = [0u8; 12];
    if file.read_exact(&mut header).is_err() || &header[0..4] != b"RIFF" || &header[8..12] != b"WAVE" {
        return;
    }
    let info = MetadataInfo { metadata: METADATA_ID_WAVE, short_name: "wave", long_name: "Waveform Audio File Format" };
    let mut builder = MetadataBuilder::new(info);
    for _ in 0..MAX_RIFF_CHUNKS {
        let mut chunk = [0u8; 8];
        if file.read_exact(&mut chunk).is_err() {
            break;
        }
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let padded = i64::from(len) + i64::from(len & 1);
        if &chunk[0..4] == b"LIST" && (4..=MAX_RIFF_INFO_LEN).contains(&len) {
            let mut payload = vec![0u8; len as usize];
            if file.read_exact(&mut payload).is_err() {
                break;
            }
            if &payload[0..4] == b"INFO" {
                parse_info_entries(&payload[4..], &mut builder);
            }
            if len & 1 == 1 && file.seek(SeekFrom::Current(1)).is_err() {
                break;
            }
        } else if file.seek(SeekFrom::Current(padded)).is_err() {
            break;
        }
    }
    picker.offer_all(&builder.build().media);
}

/// Parses the (id, length, text) entries of a LIST/INFO payload.
fn parse_info_entries(mut entries: &[u8], builder: &mut MetadataBuilder) {
    while entries.len() >= 8 {
        let id = [entries[0], entries[1], entries[2], entries[3]];
        let len = u32::from_le_bytes([entries[4], entries[5], entries[6], entries[7]]) as usize;
        let Some(text) = entries.get(8..8 + len) else {
            break;
        };
        // Values are NUL-terminated (and padded) C strings.
        let text = text.split(|&b| b == 0).next().unwrap_or_default();
        // A malformed entry id only loses that entry.
        let _ = parse_riff_info_chunk(id, text, builder);
        entries = entries.get(8 + len + (len & 1)..).unwrap_or_default();
    }
}

thread_local! {
    /// Set while this thread runs symphonia under [`guarded`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a call into symphonia), turning a panic into `Err`. While it runs,
/// [`panic_is_guarded`] is true on this thread.
fn guarded<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let outer = GUARDED.replace(true);
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.set(outer);
    result
}

/// Whether the current thread is inside one of the decoder's panic guards, where a panic is
/// caught and becomes a typed error about the file.
pub fn panic_is_guarded() -> bool {
    GUARDED.get()
}

/// Installs a panic hook that stays quiet for panics the decoder catches (symphonia panics on
/// some hostile files; each becomes [`Error::Corrupt`] and is reported once, as such) and hands
/// every other panic to the hook that was installed before.
pub fn install_quiet_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !panic_is_guarded() {
            previous(info);
        }
    }));
}

/// The format hint of `path`: its extension, in lower case.
fn hint_for(path: &Path) -> Hint {
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    hint
}

/// Finds the container format of `source` and opens a reader for it.
fn probe(path: &Path, hint: &Hint, source: Box<dyn MediaSource>) -> Result<Box<dyn FormatReader>> {
    let mss = MediaSourceStream::new(source, Default::default());
    let probed = guarded(|| {
        symphonia::default::get_probe().probe(hint, mss, FormatOptions::default(), MetadataOptions::default())
    });
    match probed {
        Ok(Ok(reader)) => Ok(reader),
        Ok(Err(err)) => Err(probe_error(path, err)),
        Err(_) => Err(corrupt(path, "the container parser crashed on this file")),
    }
}

/// Maps a failed probe to what it means for the user.
fn probe_error(path: &Path, err: SymError) -> Error {
    let path_buf = path.to_path_buf();
    match err {
        // The probe's own "no format found" (scanned everything, matched nothing).
        SymError::Unsupported(what) if what.starts_with("core (probe)") => Error::NotAudio { path: path_buf },
        // Readers use "unsupported" both for features they lack and for structure they cannot
        // find; their messages tell which.
        SymError::Unsupported(what) if what.contains("supported") => {
            Error::UnsupportedCodec { path: path_buf, codec: what.to_string() }
        }
        SymError::Unsupported(what) if what.contains("missing") => {
            corrupt(path, format!("the container is incomplete: {what}"))
        }
        SymError::Unsupported(what) if what.contains("not a") || what.contains("is not") => {
            Error::NotAudio { path: path_buf }
        }
        SymError::Unsupported(what) => Error::UnsupportedCodec { path: path_buf, codec: what.to_string() },
        SymError::IoError(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt(path, "the file ends inside its header")
        }
        SymError::IoError(source) => Error::Io { path: path_buf, source },
        SymError::LimitError(what) => bad_stream(path, format!("header exceeds a limit: {what}")),
        source => Error::Undecodable { path: path_buf, detail: "cannot read the header".into(), source },
    }
}

fn corrupt(path: &Path, detail: impl Into<String>) -> Error {
    Error::Corrupt { path: path.to_path_buf(), detail: detail.into() }
}

fn bad_stream(path: &Path, detail: impl Into<String>) -> Error {
    Error::BadStream { path: path.to_path_buf(), detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_mix_is_the_mean_and_drops_non_finite() {
        let mut mono = Vec::new();
        mix_to_mono(&[1.0, 0.0, 0.5, 0.5, f32::NAN, 1.0, f32::INFINITY, f32::NEG_INFINITY], 2, &mut mono);
        assert_eq!(mono, vec![0.5, 0.5, 0.5, 0.0]);
        mix_to_mono(&[0.25, -0.25], 1, &mut mono);
        assert_eq!(mono, vec![0.25, -0.25]);
    }

    #[test]
    fn mono_mix_reuses_its_buffer() {
        let mut mono = Vec::new();
        mix_to_mono(&[0.1; 4096], 2, &mut mono);
        let cap = mono.capacity();
        for _ in 0..100 {
            mix_to_mono(&[0.1; 4096], 2, &mut mono);
        }
        assert_eq!(mono.capacity(), cap);
        assert_eq!(mono.len(), 2048);
    }

    #[test]
    fn impossible_codec_parameters_are_refused() {
        use symphonia::core::audio::Channels;
        let path = Path::new("x.wav");
        let mut ok = AudioCodecParameters::new();
        ok.with_sample_rate(44100).with_channels(Channels::Discrete(2));
        assert!(validate_params(path, &ok).is_ok());
        let mut bad = ok.clone();
        bad.with_sample_rate(MAX_SAMPLE_RATE + 1);
        assert!(matches!(validate_params(path, &bad), Err(Error::BadStream { .. })));
        let mut bad = ok.clone();
        bad.with_channels(Channels::Discrete(0));
        assert!(matches!(validate_params(path, &bad), Err(Error::BadStream { .. })));
        let mut bad = ok.clone();
        bad.with_channels(Channels::Discrete(65));
        assert!(matches!(validate_params(path, &bad), Err(Error::BadStream { .. })));
        let mut bad = ok;
        bad.with_max_frames_per_packet(u64::from(u32::MAX));
        assert!(matches!(validate_params(path, &bad), Err(Error::BadStream { .. })));
    }

    #[test]
    fn exact_tags_beat_stand_ins_whatever_the_order() {
        use symphonia::core::meta::{RawTag, Tag};
        let tag = |key: &str, value: &str, std: Option<StandardTag>| Tag { raw: RawTag::new(key, value), std };
        let container = MetadataContainer {
            tags: vec![
                tag("ALBUM@ARTIST", "Band", Some(StandardTag::AlbumArtist("Band".to_string().into()))),
                tag("ALBUM@ALBUM", "Raw Album", None),
                tag("ARTIST", " Singer ", Some(StandardTag::Artist("Singer".to_string().into()))),
                tag("TITLE", "", Some(StandardTag::TrackTitle(String::new().into()))),
                tag("ALBUM", "Real Album", Some(StandardTag::Album("Real Album".to_string().into()))),
            ],
            visuals: Vec::new(),
        };
        let mut picker = TagPicker::default();
        picker.offer_all(&container);
        let tags = picker.finish();
        assert_eq!(tags.artist.as_deref(), Some("Singer"));
        assert_eq!(tags.album.as_deref(), Some("Real Album"));
        assert_eq!(tags.title, None, "an empty title is no title");
    }

    #[test]
    fn bytes_decode_like_the_file() {
        for name in ["tone.flac", "tone_s16_stereo.wav"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codecs").join(name);
            let bytes = std::fs::read(&path).expect("fixture");
            let mut file = AudioStream::open(&path).expect("opens");
            let mut memory = AudioStream::from_bytes(Path::new(name), bytes).expect("opens");
            assert_eq!(file.info(), memory.info(), "{name}");
            loop {
                let a = file.next_block().expect("decodes").map(<[f32]>::to_vec);
                let b = memory.next_block().expect("decodes").map(<[f32]>::to_vec);
                assert_eq!(a, b, "{name}");
                if a.is_none() {
                    break;
                }
            }
        }
        assert!(matches!(AudioStream::from_bytes(Path::new("x.wav"), Vec::new()), Err(Error::Empty { .. })));
        let text = b"not audio at all\n".repeat(100);
        assert!(matches!(AudioStream::from_bytes(Path::new("x.wav"), text), Err(Error::NotAudio { .. })));
    }

    #[test]
    fn panics_are_guarded_only_inside_the_guard() {
        assert!(!panic_is_guarded());
        let inside = guarded(panic_is_guarded);
        assert_eq!(inside.ok(), Some(true));
        let caught = guarded(|| {
            if panic_is_guarded() {
                panic!("a hostile file");
            }
        });
        assert!(caught.is_err());
        assert!(!panic_is_guarded(), "the flag is cleared after a caught panic");
    }

    #[test]
    fn streams_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<AudioStream>();
    }

    #[test]
    fn opus_message_says_how_to_convert() {
        let msg = unsupported_codec_message(codec_ids::CODEC_ID_OPUS);
        assert!(msg.starts_with("Opus (symphonia has no Opus decoder"), "{msg}");
        assert!(msg.contains("ffmpeg -i in.opus out.flac"), "{msg}");
    }
}
