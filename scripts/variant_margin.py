#!/usr/bin/env python3
"""How far the true places of generated scores stand above chance in one comparison.

Usage: python3 scripts/variant_margin.py [--bin BIN] [--frames cur,mel,chr,raw,mel6,ctx] SCORE_DIR...

For each score (a folder of tracks with the generator's truth.json): the chroma and melody frames
of every track are read with `BIN chroma --kind chroma|melody --format npy`, matching frames are
rebuilt as `MatchSequence` builds them (0.2-s frames averaged over twice the hop, each block's mean
taken off, melody share 0.3), and each true place is held against its motif's first place in the
true key and tempo (the mean cosine along the line). Chance for that motif is its first place held
against up to 300 random spans of its length from the same score that overlap none of its places,
each in its best key. Printed per kind of frame: each tier's mean line similarity and the share of
its places above the 99th percentile of their motif's chance, the share above the largest chance
value, then the chance's median, 99th percentile and maximum.

With `--triangles` (current frames only): for motifs of three or more places, the share holding
a pair at or above each cut c, and three places whose three pairs (each in its true key and tempo)
are all at or above c; against random triples of spans from the same score (the first two pairs
each in its best key, the third in the key they imply), how often a pair and a triangle reach c.

Kinds of frame (`--frames`): cur (as the matcher builds them), mel (melody block only), chr
(harmony block only), raw (harmony without the mean taken off), mel6 (melody share 0.6), ctx
(each frame with its two neighbours). A measurement of the representation, outside the binary:
the frames here follow `src/similarity/sequence.rs` but are not the matcher's own (silent frames
are not dropped). Needs numpy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HOP_FACTOR = 2  # matching hop 0.2 s over features at 0.1 s
MATCH_HOP_S = 0.2
CHANCE_SPANS = 300


def emphasise(x: np.ndarray) -> np.ndarray:
    """Each frame's mean taken off, negatives cut (as the matcher does)."""
    return np.maximum(x - x.mean(1, keepdims=True), 0.0)


def unit(x: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """Rows scaled to length `weight` (zero rows stay zero)."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(n > 1e-9, x / np.maximum(n, 1e-9) * weight, 0.0)


def matching_frames(chroma: np.ndarray, melody: np.ndarray, kind: str) -> np.ndarray:
    """Matching frames of one track: 12 melody then 12 harmony columns (more for `ctx`)."""
    n = len(chroma)
    k_out = -(-n // HOP_FACTOR)
    c = np.zeros((k_out, 12))
    m = np.zeros((k_out, 12))
    for k in range(k_out):
        lo = max(0, k * HOP_FACTOR - HOP_FACTOR // 2)
        hi = min(n, (k + 1) * HOP_FACTOR + HOP_FACTOR // 2)
        c[k] = np.nan_to_num(chroma[lo:hi]).sum(0)
        m[k] = np.nan_to_num(melody[lo:hi]).sum(0)
    zeros = np.zeros((k_out, 12))
    if kind in ("cur", "mel6"):
        share = 0.3 if kind == "cur" else 0.6
        ce, me = emphasise(c), emphasise(m)
        no_line = (me.sum(1) < 1e-9)[:, None]
        mel = np.where(no_line, 0.0, unit(me, np.sqrt(share)))
        har = np.where(no_line, unit(ce), unit(ce, np.sqrt(1.0 - share)))
        return np.hstack([mel, har])
    if kind == "mel":
        return np.hstack([unit(emphasise(m)), zeros])
    if kind == "chr":
        return np.hstack([zeros, unit(emphasise(c))])
    if kind == "raw":
        return np.hstack([zeros, unit(c)])
    if kind == "ctx":
        f = matching_frames(chroma, melody, "cur")
        before = np.vstack([f[:1], f[:-1]])
        after = np.vstack([f[1:], f[-1:]])
        return np.hstack([f, before, after]) / np.sqrt(3.0)
    raise ValueError(f"unknown kind of frame: {kind}")


def rotate(frames: np.ndarray, shift: int) -> np.ndarray:
    """Every 12-column block rotated down by `shift` semitones (a copy `shift` up comes back)."""
    blocks = frames.shape[1] // 12
    return np.hstack([np.roll(frames[:, 12 * i : 12 * i + 12], -shift, axis=1) for i in range(blocks)])


def line_mean(a: np.ndarray, b: np.ndarray, tempo: float) -> float:
    """Mean cosine of `a` against `b` read at `tempo` frames of `b` per frame of `a`."""
    idx = np.minimum(np.round(np.arange(len(a)) * tempo).astype(int), len(b) - 1)
    return float((a * b[idx]).sum(1).mean())


def place_frames(frames: dict[str, np.ndarray], place: dict) -> np.ndarray:
    """The matching frames of a true place (`track`, `start_s`, `end_s` of a truth document)."""
    f = frames[Path(place["track"]).stem]
    return f[int(place["start_s"] / MATCH_HOP_S) : int(place["end_s"] / MATCH_HOP_S)]


TRIANGLE_CUTS = [0.6, 0.65, 0.7, 0.75, 0.8, 0.9]
RANDOM_TRIPLES = 200  # per motif


def best_key(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """The key in which `b` matches `a` best at tempo 1, and the line similarity there."""
    sims = [line_mean(a, rotate(b, k), 1.0) for k in range(12)]
    k = int(np.argmax(sims))
    return k, sims[k]


def triangles(features: dict, rng: np.random.Generator) -> None:
    """Prints the pair and triangle shares described in the module notes."""
    motifs = 0
    pair_hits = dict.fromkeys(TRIANGLE_CUTS, 0)
    tri_hits = dict.fromkeys(TRIANGLE_CUTS, 0)
    triples = 0
    rnd_pair = dict.fromkeys(TRIANGLE_CUTS, 0)
    rnd_tri = dict.fromkeys(TRIANGLE_CUTS, 0)
    for score, tracks in features.items():
        frames = {name: matching_frames(c, m, "cur") for name, (c, m) in tracks.items()}
        names = sorted(frames)
        truth = json.loads((score / "truth.json").read_text())
        for motif in truth["motifs"]:
            occ = motif["occurrences"]
            spans = [place_frames(frames, o) for o in occ]
            if len(occ) < 3 or min(len(x) for x in spans) < 3 or len(spans[0]) < 5:
                continue
            motifs += 1

            def sim(i: int, j: int) -> float:
                key = (occ[j]["transpose"] - occ[i]["transpose"]) % 12
                tempo = occ[j]["tempo_ratio"] / occ[i]["tempo_ratio"]
                return line_mean(spans[i], rotate(spans[j], key), tempo)

            pairs = {(i, j): sim(i, j) for i, j in itertools.combinations(range(len(occ)), 2)}
            for c in TRIANGLE_CUTS:
                pair_hits[c] += any(v >= c for v in pairs.values())
                tri_hits[c] += any(
                    min(pairs[(i, j)], pairs[(i, k)], pairs[(j, k)]) >= c
                    for i, j, k in itertools.combinations(range(len(occ)), 3)
                )
            n = len(spans[0])
            for _ in range(RANDOM_TRIPLES):
                picks = []
                for _ in range(3):
                    f = frames[names[rng.integers(len(names))]]
                    if len(f) > n:
                        start = rng.integers(0, len(f) - n)
                        picks.append(f[start : start + n])
                if len(picks) < 3:
                    continue
                a, b, c3 = picks
                kab, vab = best_key(a, b)
                kac, vac = best_key(a, c3)
                vbc = line_mean(rotate(b, kab), rotate(c3, kac), 1.0)
                triples += 1
                for c in TRIANGLE_CUTS:
                    rnd_pair[c] += vab >= c
                    rnd_tri[c] += min(vab, vac, vbc) >= c
    print(f"triangles: {motifs} motifs of three or more places, {triples} random triples")
    for c in TRIANGLE_CUTS:
        print(
            f"  c {c:.2f}: motifs with a pair >= c {pair_hits[c] / max(motifs, 1):.2f}, with a triangle "
            f"{tri_hits[c] / max(motifs, 1):.2f}; random pairs {rnd_pair[c] / max(triples, 1):.4f}, "
            f"triangles {rnd_tri[c]}/{triples}"
        )


def read_frames(binary: str, score: Path, work: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Chroma and melody frames of every track of `score`, by base name without extension."""
    out: dict[str, list] = {}
    for kind in ("chroma", "melody"):
        dest = work / score.name / kind
        subprocess.run(
            [binary, "chroma", str(score), "--out", str(dest), "--format", "npy", "--kind", kind, "-q"],
            check=True,
        )
        for npy in dest.glob("*.npy"):
            # `NAME.chroma.npy` for either kind, NAME being the track's file name without extension.
            name = npy.name.removesuffix(".npy").removesuffix(".chroma")
            out.setdefault(name, [None, None])[0 if kind == "chroma" else 1] = np.load(npy)
    return {k: (v[0], v[1]) for k, v in out.items() if v[0] is not None and v[1] is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scores", nargs="+", type=Path)
    ap.add_argument("--bin", default="target/release/leitmotif")
    ap.add_argument("--frames", default="cur,mel,chr,raw,mel6,ctx")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--triangles", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        features = {s: read_frames(args.bin, s, Path(tmp)) for s in args.scores}
    if args.triangles:
        triangles(features, np.random.default_rng(args.seed))
        return 0
    for kind in args.frames.split(","):
        rng = np.random.default_rng(args.seed)
        sims: dict[str, list[float]] = {}
        above: dict[str, list[bool]] = {}
        over_max: dict[str, list[bool]] = {}
        chance_stats = []
        for score, tracks in features.items():
            frames = {name: matching_frames(c, m, kind) for name, (c, m) in tracks.items()}
            names = sorted(frames)
            truth = json.loads((score / "truth.json").read_text())

            for motif in truth["motifs"]:
                first, *others = motif["occurrences"]
                a = place_frames(frames, first)
                if len(a) < 5:
                    continue
                chance = []
                for _ in range(CHANCE_SPANS):
                    name = names[rng.integers(len(names))]
                    f = frames[name]
                    if len(f) <= len(a):
                        continue
                    start = rng.integers(0, len(f) - len(a))
                    t0, t1 = start * MATCH_HOP_S, (start + len(a)) * MATCH_HOP_S
                    if any(
                        Path(o["track"]).stem == name and o["start_s"] < t1 and t0 < o["end_s"]
                        for o in motif["occurrences"]
                    ):
                        continue  # a place of this motif is not chance
                    b = f[start : start + len(a)]
                    chance.append(max(line_mean(a, rotate(b, k), 1.0) for k in range(12)))
                if not chance:
                    continue
                q99, top = float(np.quantile(chance, 0.99)), max(chance)
                chance_stats.append((float(np.median(chance)), q99, top))
                for o in others:
                    b = place_frames(frames, o)
                    if len(b) < 3:
                        continue
                    v = line_mean(a, rotate(b, o["transpose"] % 12), o["tempo_ratio"])
                    sims.setdefault(o["tier"], []).append(v)
                    above.setdefault(o["tier"], []).append(v > q99)
                    over_max.setdefault(o["tier"], []).append(v > top)
        tiers = sorted(sims)
        share = float(np.mean([x for t in tiers for x in above[t]])) if tiers else float("nan")
        print(
            f"{kind}: "
            + ", ".join(f"{t} {np.mean(sims[t]):.2f} ({np.mean(above[t]):.0%} above)" for t in tiers)
            + f"; all {share:.1%} above the 99th percentile"
        )
        print(
            "  above the largest chance: "
            + ", ".join(f"{t} {np.mean(over_max[t]):.0%}" for t in tiers)
            + f"; all {np.mean([x for t in tiers for x in over_max[t]]):.1%}"
        )
        med, q99, top = np.mean(np.array(chance_stats), 0)
        print(f"  chance: median {med:.2f}, 99th percentile {q99:.2f}, max of {CHANCE_SPANS} {top:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
