//! Hostile and odd inputs through the real binary: every case goes through `analyze`, `chroma`,
//! `find` and `cues`, and must come out analysed (with a warning where one is due) or listed
//! with its cause, with the contract's exit status, no panic message, spans inside their tracks
//! and nothing written next to the input files.
//!
//! The corpus is made here in a temporary folder (from the synthesised melodies below and the
//! small codec fixtures). `scripts/make_hostile_corpus.py` makes the same kinds of input plus a
//! two-hour file, and measures peak memory; docs/HOSTILE.md has its table.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use leitmotif::report::{CueReport, Report};

const RATE: u32 = 22_050;
/// No command may take longer than this on the small corpus; a hang (a FIFO opened, a device
/// read to its end) shows as a kill.
const LIMIT: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------ making the files

/// A deterministic xorshift generator, so every run builds the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
}

/// Harmonic tones, a theme alternating with filler notes that depend on `seed`, `secs` long,
/// so decoded files have pitch.
fn melody(secs: f64, rate: u32, seed: u64) -> Vec<f32> {
    let theme = [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60];
    let per_note = (0.35 * f64::from(rate)) as usize;
    let n = (secs * f64::from(rate)) as usize;
    let fade = (rate / 100) as usize;
    (0..n)
        .map(|i| {
            let (k, j) = (i / per_note, i % per_note);
            let midi =
                if (k / theme.len()) % 2 == 0 { theme[k % theme.len()] } else { 55 + (k * 7 + seed as usize) % 13 };
            let f = 440.0 * 2f64.powf((midi as f64 - 69.0) / 12.0);
            let t = j as f64 / f64::from(rate);
            let env = (j.min(per_note - 1 - j) as f64 / fade as f64).min(1.0);
            let v: f64 = (1..=3).map(|h| (2.0 * std::f64::consts::PI * f * h as f64 * t).sin() / h as f64).sum();
            (v * 0.25 * env) as f32
        })
        .collect()
}

fn pcm16(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| ((v.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes()).collect()
}

fn chunk(id: &[u8; 4], payload: &[u8], size: Option<u32>) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&size.unwrap_or(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A WAV header with every field open to lies.
#[derive(Clone)]
struct Wav {
    rate: u32,
    channels: u16,
    bits: u16,
    format: u16,
    block_align: Option<u16>,
    data_size: Option<u32>,
    riff_size: Option<u32>,
    before_data: Vec<u8>,
}

impl Default for Wav {
    fn default() -> Self {
        Self {
            rate: RATE,
            channels: 1,
            bits: 16,
            format: 1,
            block_align: None,
            data_size: None,
            riff_size: None,
            before_data: Vec::new(),
        }
    }
}

impl Wav {
    fn bytes(&self, data: &[u8]) -> Vec<u8> {
        let align = self.block_align.unwrap_or(self.channels.wrapping_mul(self.bits / 8));
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&self.format.to_le_bytes());
        fmt.extend_from_slice(&self.channels.to_le_bytes());
        fmt.extend_from_slice(&self.rate.to_le_bytes());
        fmt.extend_from_slice(&self.rate.wrapping_mul(u32::from(align)).to_le_bytes());
        fmt.extend_from_slice(&align.to_le_bytes());
        fmt.extend_from_slice(&self.bits.to_le_bytes());
        let mut body = b"WAVE".to_vec();
        body.extend(chunk(b"fmt ", &fmt, None));
        body.extend_from_slice(&self.before_data);
        body.extend(chunk(b"data", data, self.data_size));
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&self.riff_size.unwrap_or(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }
}

fn mono_wav(secs: f64, seed: u64) -> Vec<u8> {
    Wav::default().bytes(&pcm16(&melody(secs, RATE, seed)))
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An ID3v2.3 tag with a title and one `TXXX` frame of `len` bytes.
fn id3_tag(title: &str, len: usize) -> Vec<u8> {
    let frame = |id: &[u8; 4], payload: &[u8]| {
        let mut f = id.to_vec();
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f
    };
    let mut title_payload = vec![0u8];
    title_payload.extend_from_slice(title.as_bytes());
    let mut comment = b"\0comment\0".to_vec();
    comment.extend(std::iter::repeat_n(b'x', len));
    let body = [frame(b"TIT2", &title_payload), frame(b"TXXX", &comment)].concat();
    let n = body.len() as u32;
    let mut tag = b"ID3\x03\x00\x00".to_vec();
    tag.extend([(n >> 21) as u8 & 0x7F, (n >> 14) as u8 & 0x7F, (n >> 7) as u8 & 0x7F, n as u8 & 0x7F]);
    tag.extend(body);
    tag
}

/// The bytes of an MP3 after its leading ID3v2 tag, if any.
fn strip_id3(mp3: &[u8]) -> &[u8] {
    if mp3.len() > 10 && &mp3[..3] == b"ID3" {
        let size = mp3[6..10].iter().fold(0usize, |acc, &b| (acc << 7) | usize::from(b & 0x7F));
        return &mp3[10 + size..];
    }
    mp3
}

// ------------------------------------------------------------------ the cases

/// What must become of a case.
#[derive(Debug, Clone)]
enum Expect {
    /// Analysed without a warning.
    Clean,
    /// Analysed, with a warning containing this text.
    Warning(&'static str),
    /// Not analysed: listed with a message containing this text (exit 1 when it is alone).
    Error(&'static str),
    /// A folder: this many tracks analysed and this many entries listed as errors.
    Folder { tracks: usize, errors: usize },
}

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    /// The input as command-line words (a path, or `--` and a name starting with `-`).
    words: Vec<OsString>,
    /// Folder to run the command from.
    cwd: Option<PathBuf>,
    /// The input's base name, as it appears at the end of document paths and messages.
    ident: String,
    expect: Expect,
}

struct Corpus {
    _dir: tempfile::TempDir,
    root: PathBuf,
    good: PathBuf,
    cases: Vec<Case>,
}

fn build_corpus() -> Corpus {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("music");
    std::fs::create_dir(&root).expect("corpus folder");
    let good = dir.path().join("good.wav");
    std::fs::write(&good, mono_wav(12.0, 0)).expect("good track");
    let mut rng = Rng(6);
    let mut cases = Vec::new();
    let mut add = |name: &'static str, path: &Path, expect: Expect| {
        cases.push(Case {
            name,
            words: vec![path.as_os_str().to_owned()],
            cwd: None,
            ident: path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
            expect,
        });
    };
    let write = |name: &str, bytes: &[u8]| {
        let p = root.join(name);
        std::fs::write(&p, bytes).expect("write case");
        p
    };

    add("zero bytes", &write("zero.wav", b""), Expect::Error("empty file"));
    add("random bytes", &write("random.mp3", &rng.bytes(65536)), Expect::Error("not a recognised audio file"));
    add("text named .wav", &write("notes.wav", &b"not audio at all\n".repeat(200)), Expect::Error("not a recognised"));

    let flac = fixture("score/02-empty-river.flac");
    let mp3 = fixture("score/03-hidden-letter.mp3");
    let ogg = fixture("score/04-burning-promise.ogg");
    let missing = Expect::Warning("part of the file is missing or damaged");
    add("truncated FLAC", &write("truncated.flac", &flac[..flac.len() / 2]), missing.clone());
    add("truncated MP3", &write("truncated.mp3", &mp3[..mp3.len() / 2]), missing.clone());
    // An Ogg stream states its length only on its last page: a cut one cannot be told apart.
    add("truncated Ogg", &write("truncated.ogg", &ogg[..ogg.len() / 2]), Expect::Clean);
    add("MP3 header only", &write("stub.mp3", &mp3[..100]), Expect::Error(""));
    let mut damaged = mp3.clone();
    let mid = damaged.len() / 2;
    damaged[mid..mid + 4096].copy_from_slice(&rng.bytes(4096));
    add("damaged MP3", &write("damaged.mp3", &damaged), missing.clone());

    let three = pcm16(&melody(3.0, RATE, 2));
    let lie = |w: Wav| w.bytes(&three);
    add(
        "data size 0xFFFFFFFF",
        &write(
            "data_ffffffff.wav",
            &lie(Wav { data_size: Some(u32::MAX), riff_size: Some(u32::MAX), ..Wav::default() }),
        ),
        Expect::Clean,
    );
    add(
        "sample rate 4294967295",
        &write("rate_max.wav", &lie(Wav { rate: u32::MAX, ..Wav::default() })),
        Expect::Error("sample rate 4294967295 Hz"),
    );
    add("sample rate 0", &write("rate_zero.wav", &lie(Wav { rate: 0, ..Wav::default() })), Expect::Error("0 Hz"));
    add(
        "channels 0",
        &write("channels_zero.wav", &lie(Wav { channels: 0, block_align: Some(2), ..Wav::default() })),
        Expect::Error("channel"),
    );
    // symphonia panics on this header; the panic is caught and must not be printed.
    add(
        "channels 65535",
        &write("channels_max.wav", &lie(Wav { channels: u16::MAX, ..Wav::default() })),
        Expect::Error("corrupt"),
    );
    add(
        "bits 0",
        &write("bits_zero.wav", &lie(Wav { bits: 0, block_align: Some(0), ..Wav::default() })),
        Expect::Error("corrupt"),
    );
    let mut huge_list = b"LIST".to_vec();
    huge_list.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    huge_list.extend_from_slice(b"INFO");
    add(
        "LIST chunk of 4 GB",
        &write("list_huge.wav", &lie(Wav { before_data: huge_list, ..Wav::default() })),
        Expect::Error("corrupt"),
    );
    add("zero-length stream", &write("no_data.wav", &Wav::default().bytes(&[])), Expect::Error("no audio samples"));
    // fLaC and one STREAMINFO block (4096-frame blocks, 22.05 kHz, mono, 16-bit) declaring 0
    // samples, with no frame after it.
    let mut flac_header = b"fLaC\x80\0\0\x22".to_vec();
    flac_header.extend_from_slice(&[0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    flac_header.extend_from_slice(&((u64::from(RATE) << 44) | (15 << 36)).to_be_bytes());
    flac_header.extend_from_slice(&[0; 16]);
    add("FLAC of 0 samples", &write("no_frames.flac", &flac_header), Expect::Error("corrupt"));

    // Float samples: NaN, +Inf, -Inf, and 3e38 in both channels (finite, but their sum is not).
    let x = melody(4.0, RATE, 3);
    let q = x.len() / 8;
    let mut stereo = Vec::new();
    for (i, v) in x.iter().enumerate() {
        let s = match i / q {
            1 => f32::NAN,
            3 => f32::INFINITY,
            5 => f32::NEG_INFINITY,
            7.. => 3e38,
            _ => *v,
        };
        stereo.extend_from_slice(&s.to_le_bytes());
        stereo.extend_from_slice(&s.to_le_bytes());
    }
    let float = Wav { format: 3, bits: 32, ..Wav::default() };
    add(
        "NaN and Inf samples",
        &write("nan_inf.wav", &Wav { channels: 2, ..float.clone() }.bytes(&stereo)),
        Expect::Clean,
    );
    let nan: Vec<u8> = (0..RATE * 2).flat_map(|_| f32::NAN.to_le_bytes()).collect();
    add("only NaN", &write("all_nan.wav", &float.bytes(&nan)), Expect::Warning("no pitched sound"));
    add("one sample", &write("one_sample.wav", &Wav::default().bytes(&pcm16(&[0.5]))), Expect::Clean);
    add("10 ms", &write("ten_ms.wav", &mono_wav(0.01, 4)), Expect::Clean);
    add(
        "silence",
        &write("silence.wav", &Wav::default().bytes(&vec![0u8; RATE as usize * 20])),
        Expect::Warning("no pitched"),
    );

    let six: Vec<u8> = {
        let chans: Vec<Vec<f32>> = (0..6).map(|c| melody(4.0, 96_000, 10 + c)).collect();
        (0..chans[0].len())
            .flat_map(|i| chans.iter().flat_map(move |c| (((c[i] * 8_388_607.0) as i32).to_le_bytes()[..3]).to_vec()))
            .collect()
    };
    add(
        "6 channels at 96 kHz",
        &write("six_ch_96k.wav", &Wav { rate: 96_000, channels: 6, bits: 24, ..Wav::default() }.bytes(&six)),
        Expect::Clean,
    );
    let one_mhz = Wav { rate: 1_000_000, ..Wav::default() }.bytes(&pcm16(&melody(2.0, 1_000_000, 5)));
    add("1 MHz, the highest rate accepted", &write("rate_1mhz.wav", &one_mhz), Expect::Clean);

    add("Opus", &write("tone.opus", &fixture("codecs/tone.opus")), Expect::Error("Opus"));
    add("video-only MP4", &write("video_only.mp4", &fixture("codecs/video_only.mp4")), Expect::Error("no audio track"));
    let mut tagged = id3_tag("Big Tag", 100_000);
    tagged.extend_from_slice(strip_id3(&fixture("codecs/tone.mp3")));
    add("100 kB ID3 tag", &write("big_tag.mp3", &tagged), Expect::Clean);
    let mut icmt = b"INFO".to_vec();
    icmt.extend(chunk(b"ICMT", &[b'x'; 100_000], None));
    let info = chunk(b"LIST", &icmt, None);
    add("100 kB RIFF INFO", &write("big_info.wav", &lie(Wav { before_data: info, ..Wav::default() })), Expect::Clean);

    let album = root.join("album.flac");
    std::fs::create_dir(&album).expect("folder");
    std::fs::write(album.join("inner.wav"), mono_wav(4.0, 6)).expect("inner");
    add("folder named album.flac", &album, Expect::Folder { tracks: 1, errors: 0 });
    let empty = root.join("empty.mp3");
    std::fs::create_dir(&empty).expect("folder");
    add("empty folder named empty.mp3", &empty, Expect::Error("no audio files found"));

    let loops = root.join("loops");
    std::fs::create_dir_all(loops.join("sub")).expect("folder");
    std::fs::write(loops.join("song.wav"), mono_wav(4.0, 7)).expect("song");
    symlink(".", &loops.join("self"));
    symlink("..", &loops.join("sub").join("up"));
    symlink("b.wav", &loops.join("a.wav"));
    symlink("a.wav", &loops.join("b.wav"));
    symlink("missing.wav", &loops.join("dangling.wav"));
    // The links to itself and its parent add nothing; the two-link cycle and the dangling link
    // are listed: a.wav, b.wav, dangling.wav.
    add("symlink loops", &loops, Expect::Folder { tracks: 1, errors: 3 });
    add("symlink cycle passed as a file", &loops.join("a.wav"), Expect::Error("symbolic links"));

    let names = root.join("names");
    std::fs::create_dir(&names).expect("folder");
    let odd = ["with space.wav", "한글 노래.wav", "-intro.wav", "new\nline.wav", "quote'\"$(x).wav"];
    for (k, n) in odd.iter().enumerate() {
        std::fs::write(names.join(n), mono_wav(3.0, 20 + k as u64)).expect("odd name");
    }
    let long_name = format!("{}.wav", "x".repeat(240));
    std::fs::write(names.join(&long_name), mono_wav(3.0, 30)).expect("long name");
    let mut n_names = odd.len() + 1;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let latin1 = std::ffi::OsStr::from_bytes(b"latin1-\xe9t\xe9.wav");
        std::fs::write(names.join(latin1), mono_wav(3.0, 31)).expect("non-UTF-8 name");
        n_names += 1;
    }
    add("odd names", &names, Expect::Folder { tracks: n_names, errors: 0 });
    add("Hangul name", &names.join("한글 노래.wav"), Expect::Clean);
    cases.push(Case {
        name: "leading dash after --",
        words: vec!["--".into(), "-intro.wav".into()],
        cwd: Some(names.clone()),
        ident: "-intro.wav".into(),
        expect: Expect::Clean,
    });
    cases.push(Case {
        name: "leading dash as ./-intro.wav",
        words: vec!["./-intro.wav".into()],
        cwd: Some(names.clone()),
        ident: "-intro.wav".into(),
        expect: Expect::Clean,
    });

    let many = root.join("many");
    let (mut n_wav, mut n_empty) = (0, 0);
    for k in 0..3000 {
        let sub = many.join(format!("disc{:02}", k / 100));
        std::fs::create_dir_all(&sub).expect("folder");
        if k % 600 == 0 {
            std::fs::write(sub.join(format!("track{k:04}.wav")), mono_wav(1.5, 40 + k)).expect("track");
            n_wav += 1;
        } else if k % 3 == 0 {
            std::fs::write(sub.join(format!("empty{k:04}.wav")), b"").expect("empty");
            n_empty += 1;
        } else {
            std::fs::write(sub.join(format!("cover{k:04}.jpg")), b"\xff\xd8\xff").expect("jpg");
        }
    }
    cases.push(Case {
        name: "3000 files in 30 folders",
        words: vec![many.clone().into()],
        cwd: None,
        ident: "many".into(),
        expect: Expect::Folder { tracks: n_wav, errors: n_empty },
    });

    #[cfg(unix)]
    {
        let fifo = root.join("fifo.wav");
        let with_fifo = root.join("with_fifo");
        std::fs::create_dir(&with_fifo).expect("folder");
        std::fs::write(with_fifo.join("song.wav"), mono_wav(3.0, 50)).expect("song");
        let mkfifo = |p: &Path| std::process::Command::new("mkfifo").arg(p).status().is_ok_and(|s| s.success());
        if mkfifo(&fifo) && mkfifo(&with_fifo.join("pipe.wav")) {
            cases.push(Case {
                name: "FIFO named fifo.wav",
                words: vec![fifo.clone().into()],
                cwd: None,
                ident: "fifo.wav".into(),
                expect: Expect::Error("not a regular file"),
            });
            // In a folder walk the FIFO is listed too, not skipped silently.
            cases.push(Case {
                name: "folder with a FIFO",
                words: vec![with_fifo.into()],
                cwd: None,
                ident: "with_fifo".into(),
                expect: Expect::Folder { tracks: 1, errors: 1 },
            });
        } else {
            eprintln!("skipping the FIFO cases: mkfifo is not available");
        }
        cases.push(Case {
            name: "/dev/zero",
            words: vec!["/dev/zero".into()],
            cwd: None,
            ident: "zero".into(),
            expect: Expect::Error("not a regular file"),
        });
    }
    cases.push(Case {
        name: "missing path",
        words: vec![root.join("does-not-exist.wav").into()],
        cwd: None,
        ident: "does-not-exist.wav".into(),
        expect: Expect::Error("No such file"),
    });
    Corpus { _dir: dir, root, good, cases }
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &Path) {}

// ------------------------------------------------------------------ running and checking

/// The binary with a private cache folder (the default cache is on), so nothing touches the
/// user's home and every run decodes.
fn leitmotif(cache: &Path, cwd: Option<&Path>) -> Command {
    let mut cmd = Command::cargo_bin("leitmotif").expect("the binary is built");
    cmd.env("XDG_CACHE_HOME", cache).env("HOME", cache).timeout(LIMIT);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd
}

/// Runs and checks what holds for every command: no kill, a status in {0, 1, 2}, no panic.
fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().expect("the binary runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{what}: status {:?} (killed or crashed); stderr: {err}",
        out.status
    );
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{what}: a panic was printed: {err}");
    out
}

/// Every file and folder under `dir` (links not followed), to see that a run added nothing.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        walkdir::WalkDir::new(dir).into_iter().filter_map(|e| e.ok().map(|e| e.into_path())).collect();
    out.sort();
    out
}

fn ends_with(path: &str, ident: &str) -> bool {
    path.ends_with(ident)
}

/// The case's input words after the good track (with `--` kept in front when needed).
fn with_good(good: &Path, case: &Case) -> Vec<OsString> {
    let mut words = vec![good.as_os_str().to_owned()];
    words.extend(case.words.iter().cloned());
    words
}

fn check_spans(doc: &Report, what: &str) {
    for m in &doc.motifs {
        assert!(m.occurrences.len() >= 2, "{what}: a motif with {} occurrence(s)", m.occurrences.len());
        for o in &m.occurrences {
            let dur = doc.tracks[o.track].duration_s;
            assert!(0.0 <= o.start_s && o.start_s < o.end_s && o.end_s <= dur, "{what}: span {o:?} in {dur} s");
            assert!((-5..=6).contains(&o.transpose), "{what}: transpose {}", o.transpose);
        }
    }
}

fn check_cue_spans(doc: &CueReport, what: &str) {
    for ep in &doc.episodes {
        for c in &ep.cues {
            assert!(0.0 <= c.start_s && c.start_s < c.end_s && c.end_s <= ep.duration_s, "{what}: cue {c:?}");
            assert!(c.track < doc.tracks.len(), "{what}: cue names track {}", c.track);
        }
    }
}

/// Analysed inputs (path, warnings) and failed ones (path, message) of a document.
type Outcome = (Vec<(String, Vec<String>)>, Vec<(String, String)>);

/// The case's outcome in a document: its tracks (path, warnings) and error messages.
fn outcome<'a>(
    tracks: impl Iterator<Item = (&'a str, &'a [String])>,
    errors: impl Iterator<Item = (&'a str, &'a str)>,
    good: &str,
) -> Outcome {
    let tracks = tracks.filter(|(p, _)| !p.ends_with(good)).map(|(p, w)| (p.to_owned(), w.to_vec())).collect();
    let errors = errors.map(|(p, m)| (p.to_owned(), m.to_owned())).collect();
    (tracks, errors)
}

fn check_outcome(case: &Case, tracks: &[(String, Vec<String>)], errors: &[(String, String)], what: &str) {
    let summary = format!("{what}: tracks {tracks:?}, errors {errors:?}");
    match &case.expect {
        Expect::Clean => {
            assert!(errors.is_empty(), "{summary}");
            assert_eq!(tracks.len(), 1, "{summary}");
            assert!(ends_with(&tracks[0].0, &case.ident), "{summary}");
            assert!(tracks[0].1.is_empty(), "{summary}");
        }
        Expect::Warning(w) => {
            assert!(errors.is_empty(), "{summary}");
            assert_eq!(tracks.len(), 1, "{summary}");
            assert!(tracks[0].1.iter().any(|x| x.contains(w)), "expected a warning with {w:?}; {summary}");
        }
        Expect::Error(m) => {
            assert!(tracks.is_empty(), "{summary}");
            assert_eq!(errors.len(), 1, "{summary}");
            assert!(ends_with(&errors[0].0, &case.ident), "{summary}");
            assert!(errors[0].1.contains(m), "expected {m:?}; {summary}");
        }
        Expect::Folder { tracks: n, errors: e } => {
            assert_eq!(tracks.len(), *n, "{summary}");
            assert_eq!(errors.len(), *e, "{summary}");
        }
    }
}

fn expects_error(case: &Case) -> bool {
    matches!(case.expect, Expect::Error(_))
}

/// For a case that is alone and cannot be analysed: status 1 and one line on standard error
/// naming the input and the cause.
fn check_failure(case: &Case, out: &Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: stderr {err}");
    let Expect::Error(m) = &case.expect else { unreachable!() };
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.contains(&case.ident), "{what}: {err}");
    assert!(last.contains(m), "{what}: expected {m:?} in {err}");
}

fn for_each_case(command: &str, body: impl Fn(&Corpus, &Case, &Path, &Path)) {
    let corpus = build_corpus();
    let before = listing(&corpus.root);
    let work = tempfile::tempdir().expect("temp dir");
    for (k, case) in corpus.cases.iter().enumerate() {
        let cache = work.path().join(format!("cache{k}"));
        let out_dir = work.path().join(format!("out{k}"));
        std::fs::create_dir_all(&out_dir).expect("output folder");
        body(&corpus, case, &cache, &out_dir);
    }
    assert_eq!(listing(&corpus.root), before, "{command} wrote into the folder of its inputs");
}

#[test]
fn analyze_accounts_for_every_hostile_input() {
    for_each_case("analyze", |corpus, case, cache, out_dir| {
        let what = format!("analyze / {}", case.name);
        // Beside a good track: the document must list the case as a track or an error.
        let out = run(
            leitmotif(cache, case.cwd.as_deref())
                .arg("analyze")
                .arg("--json")
                .arg("-")
                .args(with_good(&corpus.good, case)),
            &what,
        );
        assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: Report = serde_json::from_slice(&out.stdout).expect("a report");
        check_spans(&doc, &what);
        let (tracks, errors) = outcome(
            doc.tracks.iter().map(|t| (t.path.as_str(), t.warnings.as_slice())),
            doc.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())),
            "good.wav",
        );
        check_outcome(case, &tracks, &errors, &what);
        // Every error is also on standard error.
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), errors.len(), "{what}: {err}");

        // Alone: analysed, or status 1 with one line naming it; no document written then.
        let json = out_dir.join("report.json");
        let out = run(
            leitmotif(cache, case.cwd.as_deref()).arg("analyze").arg("--json").arg(&json).arg("-q").args(&case.words),
            &what,
        );
        if expects_error(case) {
            check_failure(case, &out, &what);
            assert!(!json.exists(), "{what}: a document was written although nothing was analysed");
        } else {
            assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(json.exists(), "{what}: no document");
        }
    });
}

#[test]
fn chroma_accounts_for_every_hostile_input() {
    for_each_case("chroma", |_corpus, case, cache, out_dir| {
        let what = format!("chroma / {}", case.name);
        let mut cmd = leitmotif(cache, case.cwd.as_deref());
        cmd.arg("chroma").arg("--out").arg(out_dir).arg("--quiet").args(&case.words);
        let out = run(&mut cmd, &what);
        let written = std::fs::read_dir(out_dir).map(|d| d.count()).unwrap_or(0);
        if expects_error(case) {
            check_failure(case, &out, &what);
            assert_eq!(written, 0, "{what}: wrote files for an input that failed");
        } else {
            assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
            let tracks = match case.expect {
                Expect::Folder { tracks, .. } => tracks,
                _ => 1,
            };
            assert_eq!(written, tracks, "{what}: one chroma file per analysed input");
        }
    });
}

#[test]
fn find_accounts_for_every_hostile_input() {
    for_each_case("find", |corpus, case, cache, out_dir| {
        let what = format!("find / {}", case.name);
        let json = out_dir.join("find.json");
        let mut cmd = leitmotif(cache, case.cwd.as_deref());
        cmd.arg("find").arg("--query").arg(&corpus.good).arg("--json").arg(&json).arg("-q").args(&case.words);
        let out = run(&mut cmd, &what);
        if expects_error(case) {
            check_failure(case, &out, &what);
            // As the query: nothing to search for, status 1 naming it.
            if let [word] = case.words.as_slice() {
                let mut cmd = leitmotif(cache, case.cwd.as_deref());
                cmd.arg("find").arg("--query").arg(word).arg("--json").arg(&json).arg("-q").arg(&corpus.good);
                let out = run(&mut cmd, &format!("{what} (as the query)"));
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{what} (as the query): {err}");
                assert!(err.contains(&case.ident), "{what} (as the query): {err}");
                assert!(!json.exists(), "{what} (as the query): a document was written");
            }
            return;
        }
        assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: Report = serde_json::from_slice(&std::fs::read(&json).expect("document")).expect("a report");
        check_spans(&doc, &what);
        let (tracks, errors) = outcome(
            doc.tracks.iter().map(|t| (t.path.as_str(), t.warnings.as_slice())),
            doc.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())),
            "good.wav",
        );
        check_outcome(case, &tracks, &errors, &what);
    });
}

#[test]
fn cues_accounts_for_every_hostile_episode() {
    for_each_case("cues", |corpus, case, cache, out_dir| {
        let what = format!("cues / {}", case.name);
        let json = out_dir.join("cues.json");
        let mut cmd = leitmotif(cache, case.cwd.as_deref());
        cmd.arg("cues").arg("--json").arg(&json).arg("-q").arg("--tracks").arg(&corpus.good);
        // The episodes follow `--` (which the leading-dash case brings itself).
        if case.words.first().is_none_or(|w| w != "--") {
            cmd.arg("--");
        }
        let out = run(cmd.args(&case.words), &what);
        if expects_error(case) {
            check_failure(case, &out, &what);
            return;
        }
        assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: CueReport = serde_json::from_slice(&std::fs::read(&json).expect("document")).expect("a cue report");
        check_cue_spans(&doc, &what);
        let (tracks, errors) = outcome(
            doc.episodes.iter().map(|e| (e.path.as_str(), e.warnings.as_slice())),
            doc.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())),
            "good.wav",
        );
        check_outcome(case, &tracks, &errors, &what);
    });
}

/// The readable summary says which inputs were analysed with warnings, and why.
#[test]
fn summary_mentions_warnings_and_errors() {
    let corpus = build_corpus();
    let pick = |name: &str| corpus.cases.iter().find(|c| c.name == name).expect("case").words[0].clone();
    let cache = tempfile::tempdir().expect("temp dir");
    let out = run(
        leitmotif(cache.path(), None)
            .arg("analyze")
            .arg(&corpus.good)
            .arg(pick("truncated FLAC"))
            .arg(pick("zero bytes")),
        "summary",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("analysed with warnings:"), "{text}");
    assert!(text.lines().any(|l| l.contains("truncated.flac") && l.contains("missing or damaged")), "{text}");
    assert!(text.contains("1 input not analysed"), "{text}");
}

/// An existing document is never replaced by a partial one, nor removed, when a run fails; no
/// temporary file is left behind.
#[test]
fn failed_runs_leave_existing_documents_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = dir.path().join("cache");
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"").expect("bad input");
    let good = dir.path().join("good.wav");
    std::fs::write(&good, mono_wav(6.0, 1)).expect("good input");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("output folder");
    let json = out_dir.join("report.json");
    let html = out_dir.join("report.html");
    std::fs::write(&json, "previous document\n").expect("old json");
    std::fs::write(&html, "previous page\n").expect("old html");

    // Nothing could be analysed: status 1, both documents untouched.
    let out =
        run(leitmotif(&cache, None).args(["analyze", "--json"]).arg(&json).arg("--html").arg(&html).arg(&bad), "bad");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&json).expect("json"), "previous document\n");
    assert_eq!(std::fs::read_to_string(&html).expect("html"), "previous page\n");

    // The document cannot be put in place (its name is a folder): status 1 naming it, the
    // folder and its content untouched, no temporary file left.
    let taken = out_dir.join("taken.json");
    std::fs::create_dir(&taken).expect("folder");
    std::fs::write(taken.join("keep.txt"), "keep").expect("file in folder");
    let out = run(leitmotif(&cache, None).args(["analyze", "--json"]).arg(&taken).arg(&good), "folder as output");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken.json"));
    assert_eq!(std::fs::read_to_string(taken.join("keep.txt")).expect("kept"), "keep");

    // The output folder does not exist: status 1 naming the file, nothing created.
    let nowhere = dir.path().join("missing").join("report.json");
    let out = run(leitmotif(&cache, None).args(["analyze", "--json"]).arg(&nowhere).arg(&good), "missing folder");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report.json"));
    assert!(!dir.path().join("missing").exists());

    // A successful run replaces the document whole.
    let out = run(leitmotif(&cache, None).args(["analyze", "-q", "--json"]).arg(&json).arg(&good), "good");
    assert_eq!(out.status.code(), Some(0));
    let doc: Report = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("a whole report");
    assert_eq!(doc.tracks.len(), 1);

    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "temporary files left: {names:?}");
}

/// A file without read permission is listed with the cause. As root every file is readable,
/// so the check cannot fail there and is skipped with a message.
#[cfg(unix)]
#[test]
fn unreadable_file_is_listed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let music = dir.path().join("music");
    std::fs::create_dir(&music).expect("folder");
    std::fs::write(music.join("song.wav"), mono_wav(4.0, 2)).expect("song");
    let secret = music.join("secret.wav");
    std::fs::write(&secret, mono_wav(4.0, 3)).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::File::open(&secret).is_ok() {
        eprintln!("skipping the unreadable-file check: this process can read a mode-000 file (running as root)");
        return;
    }
    let out =
        run(leitmotif(&dir.path().join("cache"), None).args(["analyze", "--json", "-"]).arg(&music), "unreadable");
    assert_eq!(out.status.code(), Some(0));
    let doc: Report = serde_json::from_slice(&out.stdout).expect("a report");
    assert_eq!(doc.tracks.len(), 1);
    let errors: BTreeMap<&str, &str> = doc.errors.iter().map(|e| (e.path.as_str(), e.message.as_str())).collect();
    assert!(errors.iter().any(|(p, m)| p.ends_with("secret.wav") && m.contains("ermission denied")), "{errors:?}");
}
