#!/usr/bin/env python3
"""POP909 phrase benchmark: analyses every song of a set made by the pop909-dev kit's
`make_set.py` and scores each report against the first human labelling with `leitmotif eval`;
the second labelling, scored the same way, gives the human agreement on the same songs.

Usage: scripts/bench_pop909.py SET_DIR [--bin target/release/leitmotif] [--out DIR] [-v]
SET_DIR holds one folder per song (NNN/audio/popNNN.wav, NNN/truth.json, NNN/truth2.json).
Prints one line per song and the means; `-v` adds predicted and true spans per song.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

LAST = re.compile(r"F1 ([0-9.]+) \(occurrence P ([0-9.]+) R ([0-9.]+) F1 ([0-9.]+); grouping F1 ([0-9.]+)\)")


def score(binary, truth, report):
    out = subprocess.run([binary, "eval", "--truth", truth, report], capture_output=True, text=True, check=True)
    m = LAST.search(out.stdout.strip().splitlines()[-1])
    return tuple(float(x) for x in m.groups())


def truth_as_report(truth_path, out_path):
    """A truth document rewritten as a report (track names become indices)."""
    t = json.load(open(truth_path))
    names = [x["path"] for x in t["tracks"]]
    motifs = []
    for i, m in enumerate(t["motifs"]):
        occ = [{"track": names.index(o["track"]), "start_s": o["start_s"], "end_s": o["end_s"],
                "transpose": 0, "tempo_ratio": 1.0, "score": 1.0} for o in m["occurrences"]]
        motifs.append({"id": i, "occurrences": occ})
    tracks = [{"id": i, "path": x["path"], "duration_s": x.get("duration_s", 0.0), "sample_rate": 22050,
               "channels": 1, "title": None, "artist": None, "album": None} for i, x in enumerate(t["tracks"])]
    doc = {"schema": "leitmotif.report/1", "tool": {"name": "truth", "version": "0"}, "params": {},
           "tracks": tracks, "motifs": motifs, "errors": []}
    json.dump(doc, open(out_path, "w"))


def spans(doc):
    rows = []
    for m in doc["motifs"]:
        rows.append(" ".join(f"{o['start_s']:.1f}-{o['end_s']:.1f}" for o in m["occurrences"]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set_dir")
    ap.add_argument("--bin", default="target/release/leitmotif")
    ap.add_argument("--out", default=None, help="folder for the reports (default: a temporary one)")
    ap.add_argument("--extra", default="", help="extra arguments for analyze, space-separated")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="pop909-")
    os.makedirs(out, exist_ok=True)
    songs = sorted(d for d in os.listdir(args.set_dir) if os.path.isfile(os.path.join(args.set_dir, d, "truth.json")))
    ours, humans = [], []
    for s in songs:
        d = os.path.join(args.set_dir, s)
        rep = os.path.join(out, f"{s}.json")
        cmd = [args.bin, "analyze", os.path.join(d, "audio"), "--json", rep, "--quiet"] + args.extra.split()
        subprocess.run(cmd, check=True)
        f = score(args.bin, os.path.join(d, "truth.json"), rep)
        h2 = os.path.join(out, f"{s}.truth2.json")
        truth_as_report(os.path.join(d, "truth2.json"), h2)
        h = score(args.bin, os.path.join(d, "truth.json"), h2)
        ours.append(f)
        humans.append(h)
        print(f"{s}  F1 {f[0]:.3f} (occ P {f[1]:.2f} R {f[2]:.2f}, grouping {f[4]:.2f})   labeller 2: {h[0]:.3f}", flush=True)
        if args.v:
            truth = json.load(open(os.path.join(d, "truth.json")))
            print("   truth:", truth.get("labels"))
            for row in spans(truth):
                print("     T", row)
            for row in spans(json.load(open(rep))):
                print("     P", row)
    if not ours:
        sys.exit(f"no songs with truth.json under {args.set_dir}")
    mean = lambda xs, k: statistics.mean(x[k] for x in xs)
    print(f"\n{len(ours)} songs: mean F1 {mean(ours, 0):.3f} (occurrence P {mean(ours, 1):.3f} R {mean(ours, 2):.3f} "
          f"F1 {mean(ours, 3):.3f}; grouping F1 {mean(ours, 4):.3f}); labeller 2 against 1: {mean(humans, 0):.3f}")


if __name__ == "__main__":
    main()
