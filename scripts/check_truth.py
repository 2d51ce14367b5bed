#!/usr/bin/env python3
"""Checks a generated truth.json (leitmotif.truth/1) or cuetruth.json (leitmotif.cuetruth/1).

Usage: python3 scripts/check_truth.py FILE.json [--audio-dir DIR] [--tracks-dir DIR]

truth:    every motif has >= 2 occurrences; no two occurrences overlap in one track (pairs
          listed under "allowed_overlaps" as [[motif, index], [motif, index]] excepted);
          0 <= start < end <= track duration; each occurrence has one known tier; the first
          occurrence of each motif (by track, then start) is its reference.
cuetruth: cues are >= 8 s, inside the episode, do not overlap, name an existing track and
          fit inside it (track_start_s + length <= track duration).
Durations come from the audio files themselves (ffprobe). Exit status 1 lists the problems.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen.audio_io import probe  # noqa: E402

TIERS = {"exact", "transpose", "tempo", "timbre", "reharmonized", "dialogue", "octave", "combined"}
TOLERANCE_S = 0.02
MIN_CUE_S = 8.0


def _durations(folder: Path, names) -> tuple[dict[str, float], list[str]]:
    found, problems = {}, []
    for name in sorted(set(names)):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: file not found in {folder}")
            continue
        found[name] = probe(path)["duration_s"]
    return found, problems


def _overlaps(spans, label: str, allowed=frozenset()) -> list[str]:
    """Problems for overlapping (start, end, key) spans, sorted by start."""
    problems = []
    spans = sorted(spans)
    for (a0, a1, ka), (b0, b1, kb) in zip(spans, spans[1:]):
        if b0 < a1 - 1e-9 and frozenset((ka, kb)) not in allowed:
            problems.append(f"{label}: {ka} [{a0}, {a1}] overlaps {kb} [{b0}, {b1}]")
    return problems


def check_truth(doc: dict, audio_dir: Path) -> list[str]:
    """Problems found in a leitmotif.truth/1 document (empty when it is sound)."""
    problems = []
    motifs = doc.get("motifs", [])
    if not motifs:
        problems.append("no motifs")
    names = [o["track"] for m in motifs for o in m.get("occurrences", [])]
    durations, missing = _durations(audio_dir, names)
    problems += missing
    ids = [m.get("id") for m in motifs]
    if len(set(ids)) != len(ids):
        problems.append(f"duplicate motif ids: {ids}")
    allowed = {frozenset(tuple(x) for x in pair) for pair in doc.get("allowed_overlaps", [])}
    per_track: dict[str, list] = {}
    for m in motifs:
        occs = m.get("occurrences", [])
        if len(occs) < 2:
            problems.append(f"motif {m['id']}: {len(occs)} occurrence(s), need >= 2")
        for i, o in enumerate(occs):
            where = f"motif {m['id']} occurrence {i} ({o['track']} {o['start_s']}-{o['end_s']})"
            if not 0.0 <= o["start_s"] < o["end_s"]:
                problems.append(f"{where}: bad span")
            dur = durations.get(o["track"])
            if dur is not None and o["end_s"] > dur + TOLERANCE_S:
                problems.append(f"{where}: ends after the track ({dur:.3f} s)")
            if "tier" in o and o["tier"] not in TIERS:
                problems.append(f"{where}: unknown tier {o['tier']!r}")
            per_track.setdefault(o["track"], []).append((o["start_s"], o["end_s"], (m["id"], i)))
        if occs and "tier" in occs[0]:
            first = min(range(len(occs)), key=lambda i: (occs[i]["track"], occs[i]["start_s"]))
            o = occs[first]
            if o["tier"] != "exact" or o.get("transpose", 0) != 0 or o.get("tempo_ratio", 1.0) != 1.0:
                problems.append(f"motif {m['id']}: first occurrence is not the reference rendering")
    for track, spans in per_track.items():
        problems += _overlaps(spans, track, allowed)
    return problems


def check_cuetruth(doc: dict, episode_dir: Path, tracks_dir: Path | None) -> list[str]:
    """Problems found in a leitmotif.cuetruth/1 document (empty when it is sound)."""
    problems = []
    episodes = doc.get("episodes", [])
    ep_dur, missing = _durations(episode_dir, [e["path"] for e in episodes])
    problems += missing
    track_dur: dict[str, float] = {}
    if tracks_dir is not None:
        names = [c["track"] for e in episodes for c in e["cues"]]
        track_dur, missing = _durations(tracks_dir, names)
        problems += missing
    for e in episodes:
        spans = []
        for i, c in enumerate(e["cues"]):
            where = f"{e['path']} cue {i} ({c['track']} {c['start_s']}-{c['end_s']})"
            length = c["end_s"] - c["start_s"]
            if c["start_s"] < 0 or length < MIN_CUE_S - TOLERANCE_S:
                problems.append(f"{where}: shorter than {MIN_CUE_S} s or negative")
            if e["path"] in ep_dur and c["end_s"] > ep_dur[e["path"]] + TOLERANCE_S:
                problems.append(f"{where}: ends after the episode")
            if c["track"] in track_dur and "track_start_s" in c:
                if c["track_start_s"] + length > track_dur[c["track"]] + TOLERANCE_S:
                    problems.append(f"{where}: runs past the end of the track")
            spans.append((c["start_s"], c["end_s"], i))
        problems += _overlaps(spans, e["path"])
    return problems


def check_file(path: Path, audio_dir: Path | None = None, tracks_dir: Path | None = None) -> list[str]:
    """Checks a truth or cuetruth file; audio is looked up beside it unless a folder is given."""
    doc = json.loads(path.read_text())
    schema = doc.get("schema")
    if schema == "leitmotif.truth/1":
        return check_truth(doc, audio_dir or path.parent)
    if schema == "leitmotif.cuetruth/1":
        if tracks_dir is None and doc.get("tracks_dir"):
            tracks_dir = (path.parent / doc["tracks_dir"]).resolve()
        return check_cuetruth(doc, audio_dir or path.parent, tracks_dir)
    return [f"unknown schema {schema!r}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--audio-dir", type=Path, help="folder of the tracks/episodes (default: beside FILE)")
    ap.add_argument("--tracks-dir", type=Path, help="cuetruth only: folder of the tracks")
    args = ap.parse_args()
    problems = check_file(args.file, args.audio_dir, args.tracks_dir)
    for p in problems:
        print(p)
    print(f"{args.file}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
