#!/usr/bin/env python3
"""Hostile and odd inputs for leitmotif, and a run of every command over them.

Generates a corpus of files and folders that real music collections and careless or hostile
senders produce (empty, random and mislabelled files, truncated and damaged streams, headers
that lie about their sizes, rates and channel counts, NaN samples, absurd lengths, symlink
loops, FIFOs, odd names ...), then, with --run, passes each case through `analyze`, `chroma`,
`find` and `cues` under /usr/bin/time -v and checks what issue 6 asks:

- no panic message and no exit status outside {0, 1, 2} (no signal, no hang: each command has a
  time limit);
- every case is accounted for: analysed (possibly with warnings) or listed under `errors` / on
  standard error with its cause;
- peak memory (maximum resident set size) under 1 GiB for any single input;
- nothing is written into the corpus (next to the "music").

The table of cases and outcomes is printed as Markdown (docs/HOSTILE.md holds a copy).

usage:
  scripts/make_hostile_corpus.py OUT_DIR                  # generate the fast cases
  scripts/make_hostile_corpus.py OUT_DIR --long           # also the 2-hour FLAC (about 40 MB)
  scripts/make_hostile_corpus.py OUT_DIR --long --run target/debug/leitmotif [--table FILE]

Needs numpy, soundfile, ffmpeg (libmp3lame, libvorbis, libopus), metaflac, mkfifo and GNU time.
The fast subset is also run by tests/hostile.rs, which makes its files in Rust.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 22050
GIB = 1 << 30
SEED = 6  # every random byte and sample below comes from this seed


# ---------------------------------------------------------------- signal and container helpers


def melody(seconds: float, rate: int = RATE, shift: int = 0, seed: int = 0) -> np.ndarray:
    """A plain melody of harmonic tones (MIDI notes around C4), so decoded files have pitch."""
    rng = np.random.default_rng(SEED + seed)
    note_s = 0.35
    n = int(seconds * rate)
    t = np.arange(int(note_s * rate)) / rate
    env = np.minimum(1.0, np.minimum(t, note_s - t) / 0.01)
    out = np.zeros(n, dtype=np.float32)
    theme = [60, 64, 67, 72, 71, 67, 64, 65, 69, 67, 62, 60]
    pos = 0
    k = 0
    while pos < n:
        midi = theme[k % len(theme)] + shift if (k // len(theme)) % 2 == 0 else 55 + int(rng.integers(0, 13))
        f = 440.0 * 2 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)) * 0.25 * env
        m = min(len(tone), n - pos)
        out[pos : pos + m] = tone[:m]
        pos += m
        k += 1
    return out


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def chunk(cid: bytes, payload: bytes, size: int | None = None) -> bytes:
    """A RIFF chunk; `size` overrides the declared length (a lying header)."""
    declared = len(payload) if size is None else size
    pad = b"\0" if len(payload) % 2 else b""
    return cid + struct.pack("<I", declared) + payload + pad


def wav(
    data: bytes,
    rate: int = RATE,
    channels: int = 1,
    bits: int = 16,
    fmt_tag: int = 1,
    data_size: int | None = None,
    riff_size: int | None = None,
    block_align: int | None = None,
    before_data: bytes = b"",
) -> bytes:
    """WAV bytes with every header field overridable."""
    align = channels * bits // 8 if block_align is None else block_align
    rate &= 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
    body = b"WAVE" + chunk(b"fmt ", fmt) + before_data + chunk(b"data", data, data_size)
    size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", size) + body


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def encode(src: Path, dst: Path, *codec: str) -> None:
    ffmpeg("-i", str(src), *codec, str(dst))


def id3v23(frames: list[tuple[bytes, bytes]]) -> bytes:
    """An ID3v2.3 tag (header sizes are 7-bit "syncsafe", frame sizes plain big-endian)."""
    body = b"".join(fid + struct.pack(">I", len(p)) + b"\0\0" + p for fid, p in frames)
    n = len(body)
    syncsafe = bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + body


# ---------------------------------------------------------------- the cases


@dataclass
class Case:
    """One hostile input: a file or folder (or a special path) and how it is passed."""

    name: str
    what: str
    path: Path  # the input; for `dash` cases the file whose name starts with '-'
    args: list[str] | None = None  # the input as command-line words, default [str(path)]
    cwd: Path | None = None
    expect: str = "any"  # "ok" (analysed), "error" (listed), "any"
    long: bool = False
    notes: list[str] = field(default_factory=list)

    def words(self) -> list[str]:
        return self.args if self.args is not None else [str(self.path)]


def make_corpus(root: Path, long: bool) -> tuple[list[Case], Path]:
    """Writes the corpus under root/corpus and a known-good companion track; returns the cases."""
    rng = np.random.default_rng(SEED)
    c = root / "corpus"
    if c.exists():
        shutil.rmtree(c)
    c.mkdir(parents=True)
    work = root / "work"
    work.mkdir(exist_ok=True)
    good = root / "good.wav"
    good.write_bytes(wav(pcm16(melody(12.0))))
    cases: list[Case] = []

    def add(name: str, what: str, path: Path, **kw) -> None:
        cases.append(Case(name, what, path, **kw))

    def file(name: str, data: bytes) -> Path:
        p = c / name
        p.write_bytes(data)
        return p

    ten_s = melody(10.0, seed=1)
    add("zero bytes", "an empty file named .wav", file("zero.wav", b""), expect="error")
    add("random bytes", "64 KiB of random bytes named .mp3", file("random.mp3", rng.bytes(65536)), expect="error")
    add("text as .wav", "a text file named .wav", file("notes.wav", b"not audio at all\n" * 200), expect="error")

    src = work / "src.wav"
    src.write_bytes(wav(pcm16(ten_s)))
    for ext, codec in [("mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]), ("flac", ["-c:a", "flac"]),
                       ("ogg", ["-c:a", "libvorbis", "-q:a", "2"])]:
        full = work / f"full.{ext}"
        encode(src, full, *codec)
        b = full.read_bytes()
        add(f"truncated {ext.upper()}", f"a 10 s {ext.upper()} cut at half its bytes",
            file(f"truncated.{ext}", b[: len(b) // 2]), expect="ok")
    mp3 = (work / "full.mp3").read_bytes()
    add("truncated MP3 header", "the first 100 bytes of an MP3", file("stub.mp3", mp3[:100]), expect="error")
    damaged = bytearray(mp3)
    mid = len(damaged) // 2
    damaged[mid : mid + 4096] = rng.bytes(4096)
    add("damaged MP3", "4 KiB of random bytes in the middle of a 10 s MP3", file("damaged.mp3", bytes(damaged)),
        expect="ok")
    flac = bytearray((work / "full.flac").read_bytes())
    mid = len(flac) // 2
    flac[mid : mid + 2048] = rng.bytes(2048)
    add("damaged FLAC", "2 KiB of random bytes in the middle of a 10 s FLAC", file("damaged.flac", bytes(flac)),
        expect="ok")

    three = pcm16(melody(3.0, seed=2))
    add("data size 0xFFFFFFFF", "WAV whose RIFF and data sizes are 0xFFFFFFFF (3 s of real data)",
        file("data_ffffffff.wav", wav(three, data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF)), expect="ok")
    add("data size beyond its RIFF", "WAV whose data chunk claims 1 GB inside a RIFF of the true size",
        file("data_1gb.wav", wav(three, data_size=1_000_000_000)), expect="any")
    ten = wav(pcm16(ten_s))
    add("truncated WAV", "a 10 s WAV cut at half its bytes (both sizes too large)",
        file("truncated.wav", ten[: len(ten) // 2]), expect="ok")
    add("sample rate 4294967295", "WAV header with sample rate 0xFFFFFFFF",
        file("rate_max.wav", wav(three, rate=0xFFFFFFFF)), expect="error")
    add("sample rate 0", "WAV header with sample rate 0", file("rate_zero.wav", wav(three, rate=0)), expect="error")
    add("channels 0", "WAV header with 0 channels", file("channels_zero.wav", wav(three, channels=0, block_align=2)),
        expect="error")
    add("channels 65535", "WAV header with 65535 channels", file("channels_max.wav", wav(three, channels=65535)),
        expect="error")
    add("bits 0", "WAV header with 0 bits per sample and block align 0",
        file("bits_zero.wav", wav(three, bits=0, block_align=0)), expect="error")
    add("LIST chunk 0xFFFFFFF0", "WAV with a LIST chunk claiming 4 GB before the data",
        file("list_huge.wav", wav(three, before_data=b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO")),
        expect="any")
    add("zero-length stream", "a valid WAV header with 0 bytes of data", file("no_data.wav", wav(b"")),
        expect="error")
    # fLaC, then one (last) STREAMINFO block: 4096-frame blocks, 22.05 kHz, mono, 16-bit, 0 samples.
    packed = (RATE << 44) | (0 << 41) | (15 << 36) | 0
    streaminfo = struct.pack(">HH", 4096, 4096) + b"\0" * 6 + struct.pack(">Q", packed) + b"\0" * 16
    add("zero-length FLAC", "a FLAC header (STREAMINFO) declaring 0 samples, and no frames",
        file("no_frames.flac", b"fLaC" + bytes([0x80, 0, 0, len(streaminfo)]) + streaminfo), expect="error")

    x = melody(4.0, seed=3).copy()
    q = len(x) // 8
    x[q : 2 * q] = np.nan
    x[3 * q : 4 * q] = np.inf
    x[5 * q : 6 * q] = -np.inf
    stereo = np.stack([x, x], axis=1).astype("<f4")
    stereo[7 * q :, :] = 3e38  # finite, but the two channels' sum overflows
    add("NaN and Inf samples", "float WAV: stretches of NaN, +Inf, -Inf and 3e38 in both channels",
        file("nan_inf.wav", wav(stereo.tobytes(), channels=2, bits=32, fmt_tag=3)), expect="ok")
    add("all NaN", "float WAV holding only NaN samples",
        file("all_nan.wav", wav(np.full(RATE * 2, np.nan, dtype="<f4").tobytes(), bits=32, fmt_tag=3)),
        expect="ok")
    add("1 sample", "a WAV of one sample", file("one_sample.wav", wav(pcm16(np.array([0.5])))), expect="any")
    add("10 ms", "a WAV of 10 ms", file("ten_ms.wav", wav(pcm16(melody(0.01)))), expect="any")
    add("silence", "10 s of digital silence", file("silence.wav", wav(pcm16(np.zeros(RATE * 10)))), expect="ok")

    six = np.stack([melody(10.0, rate=96000, seed=4 + k) for k in range(6)], axis=1)
    sf.write(c / "six_ch_96k.flac", six, 96000, subtype="PCM_24")
    add("6 ch 96 kHz", "FLAC, 6 channels, 96 kHz, 24-bit, 10 s", c / "six_ch_96k.flac", expect="ok")
    # symphonia maps at most 26 WAV channels to positions; 24 is the most a real file has (22.2).
    many_ch = np.tile(melody(2.0, rate=8000)[:, None], (1, 24)).reshape(-1)
    add("24 channels", "WAV, 24 channels, 8 kHz, 2 s", file("twenty_four_ch.wav", wav(pcm16(many_ch), rate=8000,
        channels=24)), expect="ok")
    add("1 MHz", "WAV at 1 000 000 Hz (the highest rate accepted), 3 s",
        file("rate_1mhz.wav", wav(pcm16(melody(3.0, rate=1_000_000)), rate=1_000_000)), expect="ok")

    encode(src, c / "opus.opus", "-c:a", "libopus", "-b:a", "24k")
    add("Opus", "Ogg Opus (symphonia has no Opus decoder)", c / "opus.opus", expect="error")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=5", "-t", "2", "-c:v", "mpeg4", "-an",
           str(c / "video_only.mp4"))
    add("video-only MP4", "MP4 with a video track and no audio", c / "video_only.mp4", expect="error")

    tagged = work / "plain.mp3"
    encode(src, tagged, "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", "-id3v2_version", "0")
    big = "x" * 100_000
    tag = id3v23([(b"TIT2", b"\0Big Tag"), (b"TXXX", b"\0comment\0" + big.encode())])
    add("100 kB ID3 tag", "MP3 behind a 100 kB ID3v2.3 tag (title 'Big Tag')",
        file("big_tag.mp3", tag + tagged.read_bytes()), expect="ok")
    big_flac = c / "big_comment.flac"
    shutil.copy(work / "full.flac", big_flac)
    (work / "comment.txt").write_text(big)
    subprocess.run(["metaflac", f"--set-tag-from-file=COMMENT={work / 'comment.txt'}", "--set-tag=TITLE=Big Comment",
                    str(big_flac)], check=True)
    add("100 kB Vorbis comment", "FLAC with a 100 kB COMMENT tag", big_flac, expect="ok")
    add("100 kB RIFF INFO", "WAV with a 100 kB LIST/INFO chunk",
        file("big_info.wav", wav(three, before_data=chunk(b"LIST", b"INFO" + chunk(b"ICMT", big.encode() + b"\0")))),
        expect="ok")

    d = c / "album.flac"
    d.mkdir()
    (d / "inner.wav").write_bytes(wav(pcm16(melody(5.0, seed=5))))
    add("folder named .flac", "a folder named album.flac holding one WAV", d, expect="ok")
    (c / "empty.mp3").mkdir()
    add("empty folder named .mp3", "an empty folder named empty.mp3", c / "empty.mp3", expect="error")

    loops = c / "loops"
    (loops / "sub").mkdir(parents=True)
    (loops / "song.wav").write_bytes(wav(pcm16(melody(5.0, seed=6))))
    os.symlink(".", loops / "self")
    os.symlink("..", loops / "sub" / "up")
    os.symlink("b.wav", loops / "a.wav")
    os.symlink("a.wav", loops / "b.wav")
    os.symlink("missing.wav", loops / "dangling.wav")
    add("symlink loops", "folder: one WAV, links to itself and its parent, a.wav <-> b.wav, a dangling link",
        loops, expect="ok")
    add("symlink cycle", "a.wav -> b.wav -> a.wav, passed as a file", loops / "a.wav", expect="error")

    names = c / "names"
    names.mkdir()
    odd = ["with space.wav", "한글 노래.wav", "-intro.wav", "new\nline.wav", "quote'\"$(x).wav", "x" * 240 + ".wav"]
    for k, n in enumerate(odd):
        (names / n).write_bytes(wav(pcm16(melody(3.0, seed=10 + k))))
    (names / os.fsdecode(b"latin1-\xe9t\xe9.wav")).write_bytes(wav(pcm16(melody(3.0, seed=20))))
    add("odd names", "folder: spaces, Hangul, leading dash, newline, quotes, 244-byte and non-UTF-8 names",
        names, expect="ok")
    add("leading dash after --", "`-- -intro.wav` from its folder", names / "-intro.wav", args=["--", "-intro.wav"],
        cwd=names, expect="ok")
    add("leading dash as ./", "`./-intro.wav` from its folder", names / "-intro.wav", args=["./-intro.wav"],
        cwd=names, expect="ok")
    add("Hangul name", "a file named 한글 노래.wav", names / "한글 노래.wav", expect="ok")

    many = c / "many"
    for k in range(3000):
        sub = many / f"disc{k // 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        if k % 300 == 0:
            (sub / f"track{k:04d}.wav").write_bytes(wav(pcm16(melody(2.0, seed=30 + k))))
        elif k % 3 == 0:
            (sub / f"empty{k:04d}.wav").write_bytes(b"")
        else:
            (sub / f"cover{k:04d}.jpg").write_bytes(b"\xff\xd8\xff")
    add("3000 files", "30 folders: 10 short WAVs, 990 empty .wav files, 2000 .jpg files", many, expect="ok")

    unreadable = c / "unreadable"
    unreadable.mkdir()
    (unreadable / "song.wav").write_bytes(wav(pcm16(melody(3.0, seed=40))))
    secret = unreadable / "secret.wav"
    secret.write_bytes(wav(pcm16(melody(3.0, seed=41))))
    secret.chmod(0)
    note = []
    if os.access(secret, os.R_OK):
        note.append("running as root: a mode-000 file is readable anyway, so it is analysed")
    add("unreadable file", "folder: one WAV and one WAV with mode 000", unreadable, expect="ok", notes=note)

    fifo = c / "fifo.wav"
    os.mkfifo(fifo)
    add("FIFO", "a named pipe called fifo.wav (opening it would block)", fifo, expect="error")
    add("/dev/zero", "a character device that never ends", Path("/dev/zero"), expect="error")
    add("missing path", "a path that does not exist", c / "does-not-exist.wav", expect="error")

    if long:
        long_path = c / "two_hours.flac"
        # A tone with a slow vibrato at 8 kHz compresses well and still has pitch everywhere.
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(long_path), "synth", "7200",
                        "sine", "440", "synth", "sine", "amod", "0.5", "vol", "0.5"], check=True)
        add("2 hours", "FLAC, 8 kHz mono, 2 h of an amplitude-modulated tone (24 MB)", long_path, expect="ok",
            long=True)
    return cases, good


# ---------------------------------------------------------------- running the commands


@dataclass
class Run:
    command: str
    status: int | None  # None: killed by a signal or the time limit
    rss_kib: int
    seconds: float
    stdout: str
    stderr: str
    problems: list[str]


def timed(
    binary: Path, words: list[str], cwd: Path | None, limit: float, env: dict
) -> tuple[int | None, int, float, str, str]:
    """Runs the binary under GNU time: (status or None when killed, peak RSS KiB, seconds, out, err)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tfile:
        argv = ["/usr/bin/time", "-v", "-o", tfile.name, str(binary.resolve()), *words]
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, check=False, cwd=cwd, capture_output=True, timeout=limit, env=env)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            err = (e.stderr or b"").decode(errors="replace")
            return None, 0, time.monotonic() - t0, out, err
        elapsed = time.monotonic() - t0
        report = Path(tfile.name).read_text()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
    m = re.search(r"Exit status: (\d+)", report)
    signalled = "Command terminated by signal" in report
    status = None if signalled else (int(m.group(1)) if m else p.returncode)
    return status, rss, elapsed, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def names_of(case: Case) -> list[str]:
    """Strings that identify the case in a document or a message (its base name)."""
    return [case.path.name or str(case.path)]


def check(case: Case, command: str, status, out: str, err: str, rss: int) -> list[str]:
    problems = []
    if status is None:
        problems.append("killed (signal or time limit)")
    elif status not in (0, 1, 2):
        problems.append(f"exit status {status}")
    if "panicked" in err or "RUST_BACKTRACE" in err:
        problems.append("panic message on stderr")
    if rss * 1024 >= GIB:
        problems.append(f"peak memory {rss / 1024:.0f} MiB")
    if status == 1 and not any(n in err for n in names_of(case)) and case.path.name:
        problems.append("exit 1 without naming the input on stderr")
    if status == 2:
        problems.append("usage error")
    if "cannot write" in err:
        problems.append("an output could not be written")
    if command == "analyze" and status == 0:
        doc = json.loads(out)
        name = case.path.name
        tracks = [t["path"] for t in doc["tracks"]]
        errors = [e["path"] for e in doc["errors"]]
        if case.path.is_file() and not any(p.endswith(name) for p in tracks + errors):
            problems.append("the input is neither in tracks nor in errors")
        if case.expect == "error" and any(p.endswith(name) for p in tracks):
            problems.append("expected to be listed as an error")
        if case.expect == "ok" and case.path.is_file() and not any(p.endswith(name) for p in tracks):
            problems.append("expected to be analysed")
        for m in doc["motifs"]:
            for o in m["occurrences"]:
                if not 0 <= o["start_s"] < o["end_s"] <= doc["tracks"][o["track"]]["duration_s"]:
                    problems.append(f"occurrence outside its track: {o}")
    if case.expect == "ok" and command == "analyze" and status != 0:
        problems.append("expected to be analysed")
    return problems


def outcome(case: Case, out: str, err: str, status) -> str:
    """What happened to the case in `analyze` (the reference command), in a few words."""
    if status == 0:
        doc = json.loads(out)
        mine = [t for t in doc["tracks"] if t["path"] != "good.wav" and not t["path"].endswith("/good.wav")]
        errs = doc["errors"]
        parts = []
        if mine:
            warns = sorted({w for t in mine for w in t.get("warnings", [])})
            n = len(mine)
            parts.append(f"analysed ({n} track{'s' if n != 1 else ''})")
            if warns:
                parts.append("warnings: " + "; ".join(warns))
        if errs:
            msgs = sorted({e["message"] for e in errs})
            shown = "; ".join(m if len(m) < 120 else m[:117] + "..." for m in msgs[:3])
            more = f" (+{len(msgs) - 3} more kinds)" if len(msgs) > 3 else ""
            parts.append(f"{len(errs)} in errors: {shown}{more}")
        return ". ".join(parts) if parts else "analysed"
    line = err.strip().splitlines()[-1] if err.strip() else ""
    return f"exit {status}: {line}"


def md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n")


def run_all(binary: Path, cases: list[Case], good: Path, root: Path) -> tuple[list[str], bool]:
    out_dir = root / "out"
    rows = []
    ok = True
    before = snapshot(root / "corpus")
    for case in cases:
        limit = 3600 if case.long else 300
        results = {}
        for command in ("analyze", "chroma", "find", "cues"):
            cache = Path(tempfile.mkdtemp(prefix="lm-cache-"))
            env = dict(os.environ, XDG_CACHE_HOME=str(cache), HOME=str(cache))
            target = out_dir / command
            target.mkdir(parents=True, exist_ok=True)
            words = case.words()
            dash = words[0] == "--"
            tail = words[1:] if dash else words
            good_arg = str(good.resolve())
            if command == "analyze":
                argv = ["analyze", "--json", "-", good_arg, *(["--"] if dash else []), *tail]
            elif command == "chroma":
                argv = ["chroma", "--out", str(target), "--quiet", *(["--"] if dash else []), *tail]
            elif command == "find":
                argv = ["find", "--query", good_arg, "--json", str(target / "find.json"), "--quiet",
                        *(["--"] if dash else []), *tail]
            else:
                argv = ["cues", "--json", str(target / "cues.json"), "--quiet", "--tracks", good_arg, "--", *tail]
            status, rss, secs, so, se = timed(binary, argv, case.cwd, limit, env)
            shutil.rmtree(cache, ignore_errors=True)
            problems = check(case, command, status, so, se, rss)
            results[command] = Run(command, status, rss, secs, so, se, problems)
            if problems:
                ok = False
                print(f"FAIL {case.name} / {command}: {problems}\n  stderr: {se.strip()[:500]}", file=sys.stderr)
        a = results["analyze"]
        cells = []
        for command in ("analyze", "chroma", "find", "cues"):
            r = results[command]
            mark = "" if not r.problems else " FAIL"
            cells.append(f"{r.status}{mark}")
        peak = max(r.rss_kib for r in results.values())
        slowest = max(r.seconds for r in results.values())
        text = outcome(case, a.stdout, a.stderr, a.status)
        if case.notes:
            text += " (" + "; ".join(case.notes) + ")"
        rows.append(f"| {md(case.name)} | {md(case.what)} | {' | '.join(cells)} | {peak / 1024:.0f} | {slowest:.1f} | "
                    f"{md(text)} |")
        each = ", ".join(f"{r.command} {r.status} {r.rss_kib / 1024:.0f} MiB {r.seconds:.1f} s" for r in results.values())
        print(f"{case.name}: {each}", file=sys.stderr)
    if snapshot(root / "corpus") != before:
        ok = False
        print("FAIL something was written into the corpus folder", file=sys.stderr)
    return rows, ok


def snapshot(folder: Path) -> list[tuple[str, int]]:
    """Every entry under folder (not following links) with its size: to see nothing was added."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            size = st.st_size if stat.S_ISREG(st.st_mode) else 0
            out.append((str(p), size))
    return sorted(out)


HEADER = """\
| case | input | analyze | chroma | find | cues | peak RSS (MiB) | slowest (s) | outcome in `analyze` (beside a good track) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write the corpus into (emptied first)")
    ap.add_argument("--long", action="store_true", help="also make the 2-hour file")
    ap.add_argument("--run", type=Path, metavar="BINARY", help="run every command over the corpus")
    ap.add_argument("--table", type=Path, help="also write the Markdown table to this file")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = args.out.resolve()
    cases, good = make_corpus(root, args.long)
    print(f"{len(cases)} cases in {root / 'corpus'}", file=sys.stderr)
    if not args.run:
        return 0
    rows, ok = run_all(args.run, cases, good, root)
    table = "\n".join([HEADER, *rows]) + "\n"
    print(table)
    if args.table:
        args.table.write_text(table)
    # Leave the mode-000 file removable by anyone.
    for p in (root / "corpus" / "unreadable").glob("*"):
        p.chmod(0o644)
    print("all checks passed" if ok else "SOME CHECKS FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
