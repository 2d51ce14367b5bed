#!/usr/bin/env python3
"""Writes fixtures/reference/chroma_stft.json: librosa's chroma_stft of deterministic test signals.

tests/features.rs re-synthesises every signal from the recipe stored beside its frames and checks
that leitmotif's chroma agrees with librosa's frame by frame (mean cosine similarity).

Signals are sums of notes. A note is `amp * env(j) * sum_h partials[h-1] * sin(2*pi*h*f*j/sr)` for
the samples `j = 0 .. round(dur_s*sr)` after `round(start_s*sr)`, with `f = 440 * 2**((midi-69)/12)`
and `env` a linear fade in and out over `fade_s` (min(1, j/F, (len-j)/F), F = round(fade_s*sr)).
Audio files found in fixtures/score/ (if that folder exists) are added by path, first 15 s only
(librosa reads .mp3/.m4a through audioread and ffmpeg).

Usage: python3 scripts/make_reference.py [OUT_JSON]
Needs: numpy, librosa 0.11 (soundfile to read fixture tracks).
"""

import json
import os
import re
import sys
import warnings

import librosa
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FADE_S = 0.01
SCORE_DIR = os.path.join(ROOT, "fixtures", "score")
SCORE_SECONDS = 15.0
AUDIO_EXT = (".wav", ".flac", ".ogg", ".mp3", ".m4a")

HARMONIC = [1.0, 0.5, 0.33, 0.25, 0.2]
BRIGHT = [1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15]


def note(midi, start_s, dur_s, amp, partials):
    return {
        "midi": midi,
        "start_s": start_s,
        "dur_s": dur_s,
        "amp": amp,
        "partials": partials,
    }


def chord(midis, start_s, dur_s, amp, partials):
    return [note(m, start_s, dur_s, amp, partials) for m in midis]


def recipes():
    """The synthetic signals: name, sample rate, duration, notes, STFT geometry."""
    out = []
    out.append(("a4_sine", 22050, 2.0, [note(69, 0.0, 2.0, 0.5, [1.0])], 2048, 512))
    out.append(
        (
            "c_major_triad",
            22050,
            2.0,
            chord([60, 64, 67], 0.0, 2.0, 0.25, HARMONIC),
            2048,
            512,
        )
    )
    progression = []
    for i, (bass, triad) in enumerate(
        [(48, [60, 64, 67]), (45, [57, 60, 64]), (41, [57, 60, 65]), (43, [59, 62, 67])]
    ):
        progression += chord([bass], i * 1.0, 1.0, 0.2, HARMONIC)
        progression += chord(triad, i * 1.0, 1.0, 0.15, HARMONIC)
    out.append(("progression_c_am_f_g", 22050, 4.0, progression, 2048, 512))
    out.append(("progression_c_am_f_g_44k", 44100, 4.0, progression, 4096, 1024))
    melody = [76, 74, 72, 74, 76, 76, 76, 74]
    tune = [note(m, 0.5 * i, 0.5, 0.4, BRIGHT) for i, m in enumerate(melody)]
    accomp = chord([48, 55, 64], 0.0, 2.0, 0.12, HARMONIC) + chord(
        [43, 55, 62], 2.0, 2.0, 0.12, HARMONIC
    )
    out.append(("melody_over_chords", 22050, 4.0, tune + accomp, 2048, 512))
    scale = [note(48 + i, 0.25 * i, 0.25, 0.3, HARMONIC) for i in range(25)]
    out.append(("chromatic_scale_c3_c5", 22050, 6.25, scale, 2048, 512))
    return out


def synthesise(sr, duration_s, notes):
    n = round(duration_s * sr)
    y = np.zeros(n, dtype=np.float64)
    fade = round(FADE_S * sr)
    for nt in notes:
        i0 = round(nt["start_s"] * sr)
        length = round(nt["dur_s"] * sr)
        length = max(0, min(length, n - i0))
        j = np.arange(length, dtype=np.float64)
        env = np.minimum(1.0, np.minimum(j / fade, (length - j) / fade))
        f = 440.0 * 2.0 ** ((nt["midi"] - 69) / 12.0)
        tone = np.zeros(length)
        for h, a in enumerate(nt["partials"], start=1):
            tone += a * np.sin(2.0 * np.pi * h * f * j / sr)
        y[i0 : i0 + length] += nt["amp"] * env * tone
    return y.astype(np.float32)


def chroma(y, sr, n_fft, hop):
    c = librosa.feature.chroma_stft(
        y=y,
        sr=sr,
        n_fft=n_fft,
        hop_length=hop,
        center=True,
        pad_mode="constant",
        tuning=0.0,
    )
    return [[round(float(v), 4) for v in frame] for frame in c.T]


def main():
    out_path = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(ROOT, "fixtures", "reference", "chroma_stft.json")
    )
    signals = []
    for name, sr, duration_s, notes, n_fft, hop in recipes():
        y = synthesise(sr, duration_s, notes)
        signals.append(
            {
                "name": name,
                "sr": sr,
                "n_fft": n_fft,
                "hop_length": hop,
                "recipe": {"duration_s": duration_s, "fade_s": FADE_S, "notes": notes},
                "frames": chroma(y, sr, n_fft, hop),
            }
        )
    if os.path.isdir(SCORE_DIR):
        for fname in sorted(os.listdir(SCORE_DIR)):
            if not fname.lower().endswith(AUDIO_EXT):
                continue
            path = os.path.join(SCORE_DIR, fname)
            with warnings.catch_warnings():
                # soundfile cannot read AAC; librosa warns as it falls back to (deprecated) audioread.
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", UserWarning)
                y, sr = librosa.load(path, sr=None, mono=True, duration=SCORE_SECONDS)
            n_fft, hop = (2048, 512) if sr <= 24000 else (4096, 1024)
            signals.append(
                {
                    "name": fname,
                    "sr": int(sr),
                    "n_fft": n_fft,
                    "hop_length": hop,
                    "file": os.path.relpath(path, ROOT),
                    "seconds": SCORE_SECONDS,
                    "frames": chroma(y, sr, n_fft, hop),
                }
            )
    doc = {
        "generator": "scripts/make_reference.py",
        "function": "librosa.feature.chroma_stft",
        "librosa_version": librosa.__version__,
        "center": True,
        "pad_mode": "constant",
        "window": "hann",
        "tuning": 0.0,
        "norm": "inf",
        "n_chroma": 12,
        "ctroct": 5.0,
        "octwidth": 2,
        "synthesis": __doc__.split("\n\n")[2].replace("\n", " "),
        "signals": signals,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as fh:
        # Indented for readable diffs, but every list of numbers (a frame, a partial list) on one line.
        text = json.dumps(doc, indent=1)
        text = re.sub(
            r"\[\s*([-0-9.e,\s]+?)\s*\]",
            lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]",
            text,
        )
        fh.write(text)
        fh.write("\n")
    print(f"wrote {out_path}: {len(signals)} signals")


if __name__ == "__main__":
    main()
