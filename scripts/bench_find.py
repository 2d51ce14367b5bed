#!/usr/bin/env python3
"""Query-by-example benchmark: recall of `leitmotif find` on a generated score.

For a score generated with a known truth (default: seed 41, 12 tracks), each true motif's
reference occurrence (its first, tier `exact`) is cut out as the query,
`leitmotif find --query TRACK@START-END SCOREDIR --json -` is run, and the other true
occurrences of that motif are matched against the reported occurrences the way CONTRACT.md
scores them: same track, IoU >= 0.5, one-to-one, greedy by IoU, largest first. The query's
own span is left out on both sides.

Prints per-motif and per-tier recall, the overall (micro) recall and, for information, the
precision (reported occurrences that match some other true occurrence of the motif).
Target: recall >= 0.9. Nothing is tuned here; the default threshold is used.

Usage: scripts/bench_find.py [--seed 41] [--tracks 12] [--dir DIR] [--bin PATH] [--threshold X]
Needs python3 with numpy, scipy, soundfile, music21 (scripts/gen_score.py) and a release build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIN_IOU = 0.5


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def greedy_match(pred: list[tuple[str, float, float]], truth: list[tuple[str, float, float]]) -> list[tuple[int, int]]:
    """One-to-one pairs (pred index, truth index), same track and IoU >= 0.5, largest IoU first."""
    cands = []
    for i, (pt, ps, pe) in enumerate(pred):
        for j, (tt, ts, te) in enumerate(truth):
            if pt == tt:
                v = iou((ps, pe), (ts, te))
                if v >= MIN_IOU:
                    cands.append((-v, i, j))
    cands.sort()
    used_p, used_t, pairs = set(), set(), []
    for _, i, j in cands:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return pairs


def reference_index(occurrences: list[dict]) -> int:
    for k, o in enumerate(occurrences):
        if o.get("reference"):
            return k
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--tracks", type=int, default=12)
    ap.add_argument("--dir", type=Path, default=None, help="score folder (default /tmp/leitmotif-find/seedSEED)")
    ap.add_argument("--bin", type=Path, default=REPO / "target" / "release" / "leitmotif")
    ap.add_argument("--threshold", type=float, default=None, help="passed to find (default: the binary's)")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    args = ap.parse_args()

    score = args.dir or Path(os.environ.get("BENCH_DIR", "/tmp/leitmotif-find")) / f"seed{args.seed}"
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    if not (score / "truth.json").is_file():
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "gen_score.py"), "score", "--seed", str(args.seed),
             "--tracks", str(args.tracks), "--out", str(score)],
            check=True, stdout=subprocess.DEVNULL,
        )
    truth = json.loads((score / "truth.json").read_text())

    total_truth = total_matched = total_pred = total_pred_matched = 0
    tiers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    t_all = time.monotonic()
    for motif in truth["motifs"]:
        occs = motif["occurrences"]
        r = reference_index(occs)
        q = occs[r]
        query = f"{score / q['track']}@{q['start_s']:.3f}-{q['end_s']:.3f}"
        cmd = [str(args.bin), "find", "--no-cache", "--quiet", "--query", query, str(score), "--json", "-"]
        if args.threshold is not None:
            cmd += ["--threshold", str(args.threshold)]
        t0 = time.monotonic()
        run = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.monotonic() - t0
        if run.returncode != 0:
            print(f"motif {motif['id']}: find failed ({run.returncode}): {run.stderr.strip()}", file=sys.stderr)
            return 1
        report = json.loads(run.stdout)
        names = [Path(t["path"]).name for t in report["tracks"]]
        pred = [
            (names[o["track"]], o["start_s"], o["end_s"])
            for m in report["motifs"]
            for o in m["occurrences"]
        ]
        query_span = (q["track"], q["start_s"], q["end_s"])
        # The report's first occurrence is the query itself; drop whatever matches the query span.
        drop = {i for i, _ in greedy_match(pred, [query_span])}
        pred = [p for i, p in enumerate(pred) if i not in drop]
        others = [o for k, o in enumerate(occs) if k != r]
        true_spans = [(o["track"], o["start_s"], o["end_s"]) for o in others]
        pairs = greedy_match(pred, true_spans)
        matched = {j for _, j in pairs}
        for j, o in enumerate(others):
            tiers[o.get("tier", "?")][0] += j in matched
            tiers[o.get("tier", "?")][1] += 1
        total_truth += len(others)
        total_matched += len(matched)
        total_pred += len(pred)
        total_pred_matched += len(pairs)
        missed = [f"{o['track']}@{o['start_s']:.1f} ({o.get('tier', '?')})" for j, o in enumerate(others) if j not in matched]
        rec = len(matched) / len(others) if others else 1.0
        print(
            f"motif {motif['id']}: query {q['track']}@{q['start_s']:.2f}-{q['end_s']:.2f}; "
            f"{len(matched)}/{len(others)} found (recall {rec:.3f}), {len(pred)} reported, {secs:.1f} s"
            + (f"; missed {', '.join(missed)}" if missed else "")
        )
    for tier, (m, n) in sorted(tiers.items()):
        print(f"tier {tier}: recall {m / n:.4f} ({m} of {n})")
    recall = total_matched / total_truth if total_truth else 1.0
    precision = total_pred_matched / total_pred if total_pred else 1.0
    print(f"{len(truth['motifs'])} queries in {time.monotonic() - t_all:.1f} s")
    print(f"find recall {recall:.4f} ({total_matched} of {total_truth}); precision {precision:.4f} "
          f"({total_pred_matched} of {total_pred} reported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
