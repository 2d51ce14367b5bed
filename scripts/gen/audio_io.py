"""Encoding (ffmpeg, tagged, bit-exact) and decoding of the generated audio files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

FORMATS = ("wav", "flac", "mp3", "ogg", "m4a")
EPISODE_FORMATS = ("wav", "flac", "m4a", "mp4", "mkv")


def _codec_args(fmt: str, sr: int, channels: int, bits: int = 16) -> list[str]:
    kbps = 64 * channels if sr <= 24000 else 96 * channels
    if bits == 24 and fmt in ("wav", "flac"):
        return {
            "wav": ["-c:a", "pcm_s24le"],
            "flac": ["-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24"],
        }[fmt]
    return {
        "wav": ["-c:a", "pcm_s16le"],
        "flac": ["-c:a", "flac", "-sample_fmt", "s16"],  # else ffmpeg picks 32-bit from float input
        "mp3": ["-c:a", "libmp3lame", "-b:a", f"{kbps}k"],
        "ogg": ["-c:a", "libvorbis", "-q:a", "2" if sr <= 24000 else "4"],
        "m4a": ["-c:a", "aac", "-b:a", f"{kbps}k"],
        "mp4": ["-c:a", "aac", "-b:a", f"{kbps}k"],
        "mkv": ["-c:a", "libvorbis", "-q:a", "3"],
    }[fmt]


def encode(
    path: Path,
    audio: np.ndarray,
    sr: int,
    tags: dict[str, str] | None = None,
    video: bool = False,
    out_sr: int | None = None,
    bits: int = 16,
) -> None:
    """Writes `audio` (channels x samples, float in [-1, 1]) to `path`, format from its suffix.

    The bitexact flags keep encoder version strings and random stream serials out of the
    file, so the same input gives the same bytes. `video` adds a tiny black video stream
    (for .mp4/.mkv episodes, like a real video file). `out_sr` resamples the file (ffmpeg's
    resampler); `bits` = 24 writes 24-bit WAV and FLAC (other formats ignore it).
    """
    fmt = path.suffix.lstrip(".").lower()
    channels = audio.shape[0]
    pcm = np.ascontiguousarray(np.clip(audio.T, -1.0, 1.0).astype("<f4"))
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        str(sr),
        "-ac",
        str(channels),
        "-i",
        "pipe:0",
    ]
    if video:
        dur = audio.shape[1] / sr
        cmd += ["-f", "lavfi", "-i", f"color=c=black:s=64x36:r=2:d={dur:.3f}"]
        cmd += [
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "stillimage",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
        ]
    if out_sr is not None and out_sr != sr:
        cmd += ["-ar", str(out_sr)]
    cmd += _codec_args(fmt, out_sr or sr, channels, bits)
    for key, value in (tags or {}).items():
        cmd += ["-metadata", f"{key}={value}"]
    cmd += ["-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1", str(path)]
    subprocess.run(cmd, input=pcm.tobytes(), check=True)


def decode(path: Path, sr: int | None = None, channels: int | None = None) -> tuple[np.ndarray, int]:
    """Reads any ffmpeg-readable file as (channels x samples float32, sample rate)."""
    info = probe(path)
    out_sr = sr or info["sample_rate"]
    out_ch = channels or info["channels"]
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-ar",
        str(out_sr),
        "-ac",
        str(out_ch),
        "pipe:1",
    ]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    data = np.frombuffer(raw, dtype="<f4").reshape(-1, out_ch).T.copy()
    return data, out_sr


def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`, recorded in truth files for reproducibility."""
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0] if out else "unknown"


def probe(path: Path) -> dict:
    """Sample rate, channels, duration (s) and tags of the first audio stream."""
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=sample_rate,channels,duration:format=duration:format_tags",
        "-of",
        "json",
        str(path),
    ]
    info = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
    stream = info["streams"][0]
    dur = stream.get("duration") or info["format"].get("duration")
    tags = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    return {
        "sample_rate": int(stream["sample_rate"]),
        "channels": int(stream["channels"]),
        "duration_s": float(dur),
        "tags": tags,
    }
