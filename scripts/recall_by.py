#!/usr/bin/env python3
"""Recall broken down by condition, for the tables of BENCHMARKS.md.

Usage:
  python3 scripts/recall_by.py tier REPORT.json TRUTH.json [REPORT.json TRUTH.json ...] [--misses]
  python3 scripts/recall_by.py speech CUES.json CUETRUTH.json [CUES.json CUETRUTH.json ...] [--misses]

tier:   the true occurrences of generated scores (`leitmotif.truth/1` as `gen_score.py` writes it,
        with a `tier` per occurrence) found by a reported occurrence of the same track at
        IoU >= 0.5, whatever motif holds it: found / all per tier, over every pair given.
speech: the true cues of generated episodes (`leitmotif.cuetruth/1` with the generator's `msr_db`,
        the music-to-speech ratio over the cue, and `speech_share`) found by a reported cue of the
        same track at IoU >= 0.5: found / all by music-to-speech ratio, and for cues more than 80 %
        under speech.

A place counts as found when any reported place matches it; `leitmotif eval` matches one to one,
so these counts can be a little higher than its recall. `--misses` lists what was not found.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# The contract's measure of one place, as the find benchmark scores it.
from bench_find import MIN_IOU, iou

# Music-to-speech ratio bands of the cue tables, dB (lower bound inclusive).
MSR_BANDS = [(-float("inf"), -20.0), (-20.0, -15.0), (-15.0, -10.0), (-10.0, -5.0), (-5.0, float("inf"))]
# A cue is "under speech" when more than this share of it is talked over.
UNDER_SPEECH = 0.8


def found(span: tuple[float, float], spans: list[tuple[float, float]]) -> bool:
    """Whether any of `spans` is the same place as `span` (the contract's IoU >= 0.5)."""
    return any(iou(span, s) >= MIN_IOU for s in spans)


def base(path: str) -> str:
    """A file's base name: how truth documents name tracks and episodes."""
    return Path(path).name


def by_tier(report: dict, truth: dict, found_n: Counter, all_n: Counter, misses: list[str]) -> None:
    """Counts the true occurrences of `truth` found in `report` per tier."""
    names = [base(t["path"]) for t in report["tracks"]]
    places: dict[str, list[tuple[float, float]]] = {}
    for motif in report["motifs"]:
        for o in motif["occurrences"]:
            places.setdefault(names[o["track"]], []).append((o["start_s"], o["end_s"]))
    for motif in truth["motifs"]:
        for o in motif["occurrences"]:
            tier = o.get("tier", "?")
            all_n[tier] += 1
            if found((o["start_s"], o["end_s"]), places.get(base(o["track"]), [])):
                found_n[tier] += 1
            else:
                misses.append(f"{motif['id']} {tier} {base(o['track'])} {o['start_s']:.1f}-{o['end_s']:.1f}")


def band(msr: float) -> tuple[float, float]:
    """The band of `MSR_BANDS` a music-to-speech ratio falls in."""
    return next(b for b in MSR_BANDS if b[0] <= msr < b[1])


def by_speech(report: dict, truth: dict, found_n: Counter, all_n: Counter, misses: list[str]) -> None:
    """Counts the true cues of `truth` found in `report` per band, and those under speech."""
    names = [base(t["path"]) for t in report["tracks"]]
    cues: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for episode in report["episodes"]:
        for c in episode["cues"]:
            cues.setdefault((base(episode["path"]), names[c["track"]]), []).append((c["start_s"], c["end_s"]))
    for episode in truth["episodes"]:
        for c in episode["cues"]:
            keys = [band(c["msr_db"])]
            if c["speech_share"] > UNDER_SPEECH:
                keys.append("under speech")
            hit = found((c["start_s"], c["end_s"]), cues.get((base(episode["path"]), base(c["track"])), []))
            for k in keys:
                all_n[k] += 1
                found_n[k] += hit
            if not hit:
                misses.append(
                    f"{base(episode['path'])} {base(c['track'])} {c['start_s']:.1f}-{c['end_s']:.1f} "
                    f"{c['msr_db']:+.1f} dB, {c['speech_share']:.0%} under speech"
                )


def label(key) -> str:
    """How a tier or a band is printed."""
    if isinstance(key, tuple):
        lo, hi = key
        if lo == -float("inf"):
            return f"below {hi:g} dB"
        if hi == float("inf"):
            return f"above {lo:g} dB"
        return f"{lo:g}..{hi:g} dB"
    return str(key)


def main(argv: list[str]) -> int:
    show_misses = "--misses" in argv
    args = [a for a in argv if a != "--misses"]
    if len(args) < 3 or args[0] not in ("tier", "speech") or len(args) % 2 == 0:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    count = by_tier if args[0] == "tier" else by_speech
    found_n: Counter = Counter()
    all_n: Counter = Counter()
    misses: list[str] = []
    for report_path, truth_path in zip(args[1::2], args[2::2]):
        report = json.loads(Path(report_path).read_text())
        truth = json.loads(Path(truth_path).read_text())
        missed: list[str] = []
        count(report, truth, found_n, all_n, missed)
        # Several sets at once: each miss says which set it belongs to.
        misses.extend(f"{Path(truth_path).resolve().parent.name}: {m}" for m in missed)
    keys = [b for b in MSR_BANDS if b in all_n] + ["under speech"] if args[0] == "speech" else sorted(all_n)
    for key in keys:
        if all_n[key]:
            print(f"{label(key)}: {found_n[key]} of {all_n[key]}")
    if show_misses:
        for m in misses:
            print("missed", m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
