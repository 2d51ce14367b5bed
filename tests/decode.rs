//! Integration tests of the decoding layer: every codec fixture, every kind of bad input.
//!
//! The fixtures in `fixtures/codecs/` come from `scripts/make_codec_fixtures.sh`: each holds a
//! 440 Hz sine (0.5 full scale; stereo files have the right channel at 0.25) tagged
//! title="A4 Tone", artist="Leitmotif Fixtures", album="Codec Samples".

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use leitmotif::Error;
use leitmotif::decode::{AudioStream, Tags, probe_info};
use leitmotif::source::SampleSource;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codecs").join(name)
}

/// Decodes a whole stream, checking each block on the way.
fn drain(stream: &mut AudioStream) -> Vec<f32> {
    let mut all = Vec::new();
    while let Some(block) = stream.next_block().expect("decoding failed") {
        assert!(!block.is_empty(), "empty block handed on");
        assert!(block.iter().all(|s| s.is_finite()), "non-finite sample");
        all.extend_from_slice(block);
    }
    all
}

/// Power of `x` at `freq` Hz (Goertzel: a single-bin DFT).
fn power_at(x: &[f32], freq: f64, rate: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency between 50 Hz and 4 kHz, on a 2 Hz grid, in the middle 80% of `x`.
fn dominant_hz(x: &[f32], rate: u32) -> f64 {
    let inner = &x[x.len() / 10..x.len() * 9 / 10];
    (25..2000)
        .map(|k| f64::from(k) * 2.0)
        .map(|f| (f, power_at(inner, f, f64::from(rate))))
        .fold((0.0, f64::MIN), |best, cur| if cur.1 > best.1 { cur } else { best })
        .0
}

/// Amplitude of a sine with the RMS of the middle 80% of `x` (robust to a codec's ringing).
fn sine_amplitude(x: &[f32]) -> f64 {
    let inner = &x[x.len() / 10..x.len() * 9 / 10];
    let mean_sq = inner.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / inner.len() as f64;
    (2.0 * mean_sq).sqrt()
}

struct Expect {
    file: &'static str,
    rate: u32,
    channels: u16,
    seconds: f64,
    /// Which of title, artist, album the container hands on.
    tags: [bool; 3],
}

const ALL: [bool; 3] = [true, true, true];
/// Matroska: ffmpeg writes the title into the segment info, which symphonia does not expose as a
/// tag, and artist/album as album-level tags.
const NO_TITLE: [bool; 3] = [false, true, true];

const FIXTURES: &[Expect] = &[
    Expect { file: "tone_s16_stereo.wav", rate: 22050, channels: 2, seconds: 0.5, tags: ALL },
    Expect { file: "tone_s24.wav", rate: 22050, channels: 1, seconds: 0.5, tags: ALL },
    Expect { file: "tone_u8.wav", rate: 22050, channels: 1, seconds: 0.5, tags: ALL },
    Expect { file: "tone_f32.wav", rate: 22050, channels: 1, seconds: 0.5, tags: ALL },
    Expect { file: "tone.flac", rate: 44100, channels: 2, seconds: 1.0, tags: ALL },
    Expect { file: "tone.mp3", rate: 44100, channels: 2, seconds: 1.0, tags: ALL },
    Expect { file: "tone.ogg", rate: 22050, channels: 1, seconds: 1.0, tags: ALL },
    Expect { file: "tone_aac.m4a", rate: 44100, channels: 2, seconds: 1.0, tags: ALL },
    Expect { file: "tone_alac.m4a", rate: 22050, channels: 1, seconds: 1.0, tags: ALL },
    Expect { file: "tone_video.mp4", rate: 44100, channels: 2, seconds: 1.0, tags: ALL },
    Expect { file: "tone.mkv", rate: 22050, channels: 1, seconds: 1.0, tags: NO_TITLE },
];

#[test]
fn every_codec_fixture_decodes_to_a_440_hz_tone() {
    for e in FIXTURES {
        let path = fixture(e.file);
        let mut stream = AudioStream::open(&path).unwrap_or_else(|err| panic!("{err}"));
        let info = stream.info().clone();
        assert_eq!(info.sample_rate, e.rate, "{}: sample rate", e.file);
        assert_eq!(stream.sample_rate(), e.rate, "{}: sample rate", e.file);
        assert_eq!(info.channels, e.channels, "{}: channels", e.file);
        assert!(!info.codec.is_empty(), "{}: codec name", e.file);
        if let Some(d) = info.duration_s {
            assert!((d - e.seconds).abs() < 0.1, "{}: declared duration {d}", e.file);
        }
        let want = Tags {
            title: e.tags[0].then(|| "A4 Tone".into()),
            artist: e.tags[1].then(|| "Leitmotif Fixtures".into()),
            album: e.tags[2].then(|| "Codec Samples".into()),
        };
        assert_eq!(info.tags, want, "{}: tags", e.file);

        let samples = drain(&mut stream);
        assert_eq!(stream.samples_decoded(), samples.len() as u64, "{}", e.file);
        assert_eq!(stream.skipped_packets(), 0, "{}: skipped packets", e.file);
        let secs = samples.len() as f64 / f64::from(e.rate);
        assert!((secs - e.seconds).abs() < 0.1, "{}: decoded {secs} s", e.file);

        let hz = dominant_hz(&samples, e.rate);
        assert!((hz - 440.0).abs() <= 4.0, "{}: dominant frequency {hz} Hz", e.file);
        // The mono mix is the mean of the channels: 0.5 for mono, (0.5 + 0.25) / 2 for stereo.
        let want = if e.channels == 2 { 0.375 } else { 0.5 };
        let got = sine_amplitude(&samples);
        assert!((got - want).abs() < 0.05, "{}: amplitude {got}, want {want}", e.file);
    }
}

#[test]
fn probe_info_reports_the_stream_without_decoding_it_all() {
    let info = probe_info(&fixture("tone.flac")).expect("probe");
    assert_eq!((info.sample_rate, info.channels), (44100, 2));
    assert_eq!(info.codec, "flac");
    let d = info.duration_s.expect("FLAC declares its length");
    assert!((d - 1.0).abs() < 1e-3, "{d}");
}

#[test]
fn opus_is_an_unsupported_codec_with_a_way_out() {
    for name in ["tone.opus", "tone_opus.webm"] {
        let r = AudioStream::open(&fixture(name));
        match r {
            Err(Error::UnsupportedCodec { codec, .. }) => {
                assert!(codec.starts_with("Opus"), "{name}: {codec}");
                assert!(codec.contains("ffmpeg"), "{name}: {codec}");
            }
            other => panic!("{name}: expected UnsupportedCodec, got {other:?}"),
        }
    }
}

#[test]
fn video_only_mp4_has_no_audio_track() {
    let r = AudioStream::open(&fixture("video_only.mp4"));
    assert!(matches!(r, Err(Error::NoAudioTrack { .. })), "{r:?}");
}

#[test]
fn missing_path_and_directory_are_io_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = AudioStream::open(&dir.path().join("nope.flac"));
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    let r = AudioStream::open(dir.path());
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
}

#[test]
fn zero_byte_file_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.mp3");
    std::fs::write(&path, b"").expect("write");
    let r = AudioStream::open(&path);
    assert!(matches!(r, Err(Error::Empty { .. })), "{r:?}");
}

/// Deterministic pseudo-random bytes (xorshift64*), so the test sees the same bytes every run.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_not_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (seed, ext) in [(1u64, "bin"), (2, "mp3"), (3, "wav"), (4, "flac")] {
        let path = dir.path().join(format!("noise{seed}.{ext}"));
        std::fs::write(&path, random_bytes(seed, 64 * 1024)).expect("write");
        let r = AudioStream::open(&path);
        assert!(matches!(r, Err(Error::NotAudio { .. })), "seed {seed}: {r:?}");
    }
}

#[test]
fn text_named_wav_is_not_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.wav");
    let text = "These are not samples.\nJust a shopping list: eggs, milk, bread.\n".repeat(50);
    std::fs::write(&path, text).expect("write");
    let r = AudioStream::open(&path);
    assert!(matches!(r, Err(Error::NotAudio { .. })), "{r:?}");
}

/// Writes the first half of a fixture to the tempdir and decodes it.
fn decode_first_half(name: &str, dir: &Path) -> (Vec<f32>, u32) {
    let bytes = std::fs::read(fixture(name)).expect("fixture");
    let path = dir.join(format!("half_{name}"));
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
    let mut stream = AudioStream::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rate = stream.sample_rate();
    (drain(&mut stream), rate)
}

#[test]
fn truncated_mp3_and_flac_decode_what_is_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["tone.mp3", "tone.flac"] {
        let (samples, rate) = decode_first_half(name, dir.path());
        let secs = samples.len() as f64 / f64::from(rate);
        // Half the bytes hold roughly half the second; tags and headers shift it a little.
        assert!(secs > 0.2 && secs < 0.8, "{name}: {secs} s from half the file");
        let hz = dominant_hz(&samples, rate);
        assert!((hz - 440.0).abs() <= 6.0, "{name}: {hz} Hz");
    }
}

#[test]
fn garbage_in_the_middle_of_an_mp3_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(fixture("tone.mp3")).expect("fixture");
    let mid = bytes.len() / 2;
    let noise = random_bytes(7, 1500);
    bytes[mid..mid + noise.len()].copy_from_slice(&noise);
    let path = dir.path().join("damaged.mp3");
    std::fs::write(&path, &bytes).expect("write");
    let mut stream = AudioStream::open(&path).expect("open");
    let samples = drain(&mut stream);
    let secs = samples.len() as f64 / 44100.0;
    assert!(secs > 0.5, "only {secs} s decoded around the damage");
    assert!(secs < 1.1, "{secs} s decoded from a 1 s file");
}

/// A 16-bit mono WAV of a 440 Hz sine, `secs` long at `rate` Hz, written with hound.
fn write_sine_wav(path: &Path, rate: u32, secs: f64) -> u64 {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let n = (secs * f64::from(rate)) as u64;
    for i in 0..n {
        let v = (2.0 * PI * 440.0 * i as f64 / f64::from(rate)).sin() * 0.5;
        w.write_sample((v * 32767.0) as i16).expect("write sample");
    }
    w.finalize().expect("finalize");
    n
}

/// Byte offset of the payload of the first RIFF chunk named `id`.
fn chunk_offset(bytes: &[u8], id: &[u8; 4]) -> usize {
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
        if &bytes[pos..pos + 4] == id {
            return pos + 8;
        }
        pos += 8 + len as usize + (len as usize & 1);
    }
    panic!("no {id:?} chunk");
}

#[test]
fn wav_with_streaming_data_size_decodes_to_the_end_of_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lying_size.wav");
    let n = write_sine_wav(&path, 16000, 0.5);
    let mut bytes = std::fs::read(&path).expect("read");
    let data = chunk_offset(&bytes, b"data");
    bytes[data - 4..data].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");

    let mut stream = AudioStream::open(&path).expect("open");
    let samples = drain(&mut stream);
    assert_eq!(samples.len() as u64, n);
    assert!((dominant_hz(&samples, 16000) - 440.0).abs() <= 4.0);
}

/// Overwrites the `fmt ` chunk's field at `field` (offset inside the payload) with `value`.
fn patch_fmt(path: &Path, field: usize, value: &[u8]) {
    let mut bytes = std::fs::read(path).expect("read");
    let fmt = chunk_offset(&bytes, b"fmt ");
    bytes[fmt + field..fmt + field + value.len()].copy_from_slice(value);
    std::fs::write(path, &bytes).expect("write");
}

#[test]
fn wav_with_absurd_sample_rate_is_a_bad_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    for rate in [u32::MAX, 0, 2_000_000] {
        let path = dir.path().join(format!("rate_{rate}.wav"));
        write_sine_wav(&path, 22050, 0.1);
        patch_fmt(&path, 4, &rate.to_le_bytes());
        let r = AudioStream::open(&path);
        assert!(matches!(r, Err(Error::BadStream { .. })), "rate {rate}: {r:?}");
    }
}

#[test]
fn wav_with_absurd_channel_count_is_rejected_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    for channels in [0u16, 1000, u16::MAX] {
        let path = dir.path().join(format!("channels_{channels}.wav"));
        write_sine_wav(&path, 22050, 0.1);
        patch_fmt(&path, 2, &channels.to_le_bytes());
        let r = AudioStream::open(&path);
        // The WAV reader may refuse such a header itself (a corrupt file) before the channel
        // count is ever seen as a number; either way nothing is sized from it.
        assert!(
            matches!(r, Err(Error::BadStream { .. } | Error::Corrupt { .. } | Error::Undecodable { .. })),
            "channels {channels}: {r:?}"
        );
    }
}

#[test]
fn nan_and_infinity_in_a_float_wav_come_out_as_silence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create");
    let frames = 4000;
    for i in 0..frames {
        let (l, r) = match i % 4 {
            0 => (f32::NAN, 0.5),
            1 => (f32::INFINITY, f32::NEG_INFINITY),
            2 => (0.25, 0.75),
            _ => (f32::MAX, f32::MAX),
        };
        w.write_sample(l).expect("sample");
        w.write_sample(r).expect("sample");
    }
    w.finalize().expect("finalize");

    let mut stream = AudioStream::open(&path).expect("open");
    let samples = drain(&mut stream);
    assert_eq!(samples.len(), frames);
    for (i, &s) in samples.iter().enumerate() {
        assert!(s.is_finite(), "sample {i} is {s}");
    }
    // A NaN channel counts as silence in the mean; finite channels keep their value.
    assert_eq!(samples[0], 0.25);
    assert_eq!(samples[1], 0.0);
    assert_eq!(samples[2], 0.5);
}

#[test]
fn truncated_wav_header_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("short.wav");
    write_sine_wav(&path, 22050, 0.1);
    let bytes = std::fs::read(&path).expect("read");
    for cut in [8, 20, 30, 44] {
        std::fs::write(&path, &bytes[..cut]).expect("write");
        let r = AudioStream::open(&path);
        assert!(
            matches!(
                r,
                Err(Error::Corrupt { .. }
                    | Error::Undecodable { .. }
                    | Error::NotAudio { .. }
                    | Error::NoSamples { .. })
            ),
            "cut at {cut}: {r:?}"
        );
    }
}

#[test]
fn memory_does_not_grow_with_file_length() {
    // Ten minutes of 16-bit mono: 26 MB on disk, 13 million samples. The stream must hand them on
    // in packet-sized blocks rather than gather them.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.wav");
    let rate = 22050;
    let n = write_sine_wav(&path, rate, 600.0);

    let mut stream = AudioStream::open(&path).expect("open");
    let declared = stream.info().duration_s.expect("WAV declares its length");
    assert!((declared - 600.0).abs() < 0.01, "{declared}");
    let mut total = 0u64;
    let mut max_block = 0usize;
    let mut blocks = 0u64;
    while let Some(block) = stream.next_block().expect("decode") {
        total += block.len() as u64;
        max_block = max_block.max(block.len());
        blocks += 1;
    }
    assert_eq!(total, n);
    assert_eq!(stream.samples_decoded(), n);
    // 65536 frames is the largest packet any supported codec produces (FLAC's maximum block).
    assert!(max_block <= 65_536, "a block of {max_block} samples");
    assert!(blocks >= n / 65_536, "{blocks} blocks");
    assert_eq!(stream.next_block().expect("after the end").map(<[f32]>::len), None);
}

#[test]
fn damaged_fixtures_give_audio_or_a_typed_error_never_a_panic() {
    // Every fixture, cut at several lengths and with bytes overwritten at seeded positions: the
    // decoder must either deliver finite samples or fail with an error, and must always stop.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("damaged");
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    names.sort();
    let mut cases = 0;
    for name in &names {
        let original = std::fs::read(name).expect("fixture");
        let ext = name.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let path = path.with_extension(ext);
        let mut variants: Vec<Vec<u8>> = (1..8).map(|k| original[..original.len() * k / 8].to_vec()).collect();
        for seed in 0..12u64 {
            let mut bytes = original.clone();
            let noise = random_bytes(seed + 100, 64);
            for pair in noise.chunks_exact(4) {
                let at = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize;
                bytes[at % original.len()] = pair[0] ^ 0x5a;
            }
            variants.push(bytes);
        }
        for bytes in variants {
            std::fs::write(&path, &bytes).expect("write");
            cases += 1;
            let Ok(mut stream) = AudioStream::open(&path) else {
                continue;
            };
            while let Ok(Some(block)) = stream.next_block() {
                assert!(block.iter().all(|s| s.is_finite()), "{}", name.display());
            }
        }
    }
    assert!(cases >= 13 * 19, "{cases} cases");
}

#[test]
fn content_decides_the_format_not_the_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, disguise, codec) in
        [("tone.flac", "song.mp3", "flac"), ("tone.ogg", "no_extension", "vorbis"), ("tone.mp3", "song.wav", "mp3")]
    {
        let path = dir.path().join(disguise);
        std::fs::copy(fixture(name), &path).expect("copy");
        let mut stream = AudioStream::open(&path).unwrap_or_else(|e| panic!("{disguise}: {e}"));
        assert_eq!(stream.info().codec, codec, "{disguise}");
        let samples = drain(&mut stream);
        let hz = dominant_hz(&samples, stream.sample_rate());
        assert!((hz - 440.0).abs() <= 4.0, "{disguise}: {hz} Hz");
    }
}

/// The first sample louder than a fifth of the tone's level: where the tone begins.
fn onset(x: &[f32]) -> usize {
    x.iter().position(|s| s.abs() > 0.075).unwrap_or(x.len())
}

#[test]
fn aac_in_mp4_starts_where_the_same_tone_in_wav_does() {
    // The encoder's 1,024 priming frames are dropped as the edit list says (as ffmpeg does):
    // the AAC tone begins where the WAV one does, instead of 23 ms later.
    let mut wav = AudioStream::open(&fixture("tone_s16_stereo.wav")).expect("wav");
    let reference = onset(&drain(&mut wav));
    for name in ["tone_aac.m4a", "tone_video.mp4"] {
        let mut stream = AudioStream::open(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        let at = onset(&drain(&mut stream));
        assert!(at.abs_diff(reference) <= 64, "{name}: the tone begins at sample {at}, in the WAV at {reference}");
    }
}
