#!/usr/bin/env python3
"""leitmotif.chroma against librosa.load + librosa.feature.chroma_stft, whole pipeline, one process.

For each audio file (folders are walked), both pipelines run from the file on disk to a
12 x frames float32 chroma at the same frame rate, alternating, `--repeat` times; the median of
each is kept. leitmotif reads no feature cache. librosa loads at its default 22,050 Hz mono
(resampling with soxr) and computes an STFT chroma with n_fft 4096 and a hop of the same
duration (rounded to samples), its own tuning estimate included; leitmotif decodes at the
file's rate and decimates internally.

    python scripts/bench_python.py ../shared/audio fixtures/score [--repeat 5] [--threads N]

Prints one Markdown table row per file and the totals; a file librosa cannot read is left out. `--threads N` limits leitmotif's worker
threads (RAYON_NUM_THREADS) before it is imported; librosa computes on one thread apart from
NumPy's BLAS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hop", type=float, default=0.1, help="seconds between frames (default 0.1)")
    parser.add_argument("--threads", type=int, help="leitmotif worker threads (default: one per core)")
    args = parser.parse_args()
    if args.threads:
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)

    # librosa warns on every file it hands from soundfile to audioread; the table says enough.
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import librosa
    import numpy as np

    import leitmotif

    files = leitmotif.audio_files(args.paths)
    sr = 22050
    hop_length = int(round(args.hop * sr))

    def ours(path):
        chroma, info = leitmotif.chroma(path, hop=args.hop, cache=False)
        return chroma, info["duration_s"]

    def theirs(path):
        y, _ = librosa.load(path, sr=sr, mono=True)
        chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=4096, hop_length=hop_length)
        return chroma.astype(np.float32), len(y) / sr

    # Warm both up (imports, FFT plans, numba compilation) outside the timings.
    ours(files[0])

    print(f"librosa {librosa.__version__}, numpy {np.__version__}, leitmotif {leitmotif.__version__}, "
          f"threads {os.environ.get('RAYON_NUM_THREADS', 'all')}, repeat {args.repeat}, hop {args.hop} s")
    print()
    print("| file | audio (s) | leitmotif (s) | librosa (s) | librosa / leitmotif | frames (ours, librosa) |")
    print("|---|---:|---:|---:|---:|---|")
    total_audio = total_ours = total_theirs = 0.0
    measured = 0
    for path in files:
        try:
            theirs(path)
        except Exception as e:  # librosa has no decoder for some containers (e.g. M4A without ffmpeg)
            print(f"| {os.path.basename(path)} | librosa cannot read it ({type(e).__name__}): left out | | | | |")
            continue
        t_ours, t_theirs = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            a, duration = ours(path)
            t_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b, _ = theirs(path)
            t_theirs.append(time.perf_counter() - t0)
        m_ours, m_theirs = statistics.median(t_ours), statistics.median(t_theirs)
        measured += 1
        total_audio += duration
        total_ours += m_ours
        total_theirs += m_theirs
        print(f"| {os.path.basename(path)} | {duration:.1f} | {m_ours:.3f} | {m_theirs:.3f} | "
              f"{m_theirs / m_ours:.1f}x | {a.shape[1]}, {b.shape[1]} |")
    print(f"| **all {measured} files** | {total_audio:.1f} | {total_ours:.3f} | {total_theirs:.3f} | "
          f"**{total_theirs / total_ours:.1f}x** | |")
    print()
    print(f"real-time factor: leitmotif {total_audio / total_ours:.0f}x, librosa {total_audio / total_theirs:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
