#!/usr/bin/env python3
"""Chroma features of a whole catalogue on a Dask cluster, written as one Parquet file.

One task per audio file: each worker decodes its file and computes its chroma with leitmotif
(the GIL is released while it works), and returns a table; the client writes the tables into
one Parquet file as they arrive, so memory holds only the files in flight.

    python examples/catalogue_dask.py ost/ score/ --out features.parquet
    python examples/catalogue_dask.py playlist.m3u --scheduler tcp://10.0.0.5:8786 --out f.parquet

Without ``--scheduler`` a LocalCluster of ``--workers`` processes runs on this machine. With
it, the tasks run on that cluster's workers, which must have leitmotif installed and see the
audio at the same paths (a shared or network file system, or object storage mounted alike);
the Parquet file is written by this process.

Columns: ``path`` (string), ``frame`` (int32), ``time_s`` (float64, frame centre), ``C`` ...
``B`` (float32, one per pitch class), ``tuning_cents`` (float32, the file's estimated
deviation from A440). Files that fail are reported on standard error and skipped; the exit
status is 1 when any failed.

Needs: ``pip install ./bindings/python "dask[distributed]" pyarrow pandas``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

import leitmotif

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

SCHEMA = pa.schema(
    [("path", pa.string()), ("frame", pa.int32()), ("time_s", pa.float64())]
    + [(pc, pa.float32()) for pc in PITCH_CLASSES]
    + [("tuning_cents", pa.float32())]
)


def file_table(path: str, hop: float, cache: object) -> Tuple[pa.Table, float]:
    """The chroma of one file as a table in ``SCHEMA``, and the file's duration in seconds."""
    chroma, info = leitmotif.chroma(path, hop=hop, layout="pitch-major", cache=cache)
    n = chroma.shape[1]
    columns = {
        "path": pa.array([path] * n, pa.string()),
        "frame": pa.array(range(n), pa.int32()),
        "time_s": pa.array([k * info["hop_s"] for k in range(n)], pa.float64()),
    }
    for pc, row in zip(PITCH_CLASSES, chroma):
        columns[pc] = pa.array(row, pa.float32())
    columns["tuning_cents"] = pa.array([info["tuning_cents"]] * n, pa.float32())
    return pa.table(columns, schema=SCHEMA), float(info["duration_s"])


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run(files: List[str], out: str, client, hop: float, cache: object, quiet: bool) -> int:
    from dask.distributed import as_completed

    futures = {client.submit(file_table, f, hop, cache, key=f"chroma-{i}-{f}", pure=False): f for i, f in enumerate(files)}
    done = failed = rows = 0
    audio_s = 0.0
    t0 = time.monotonic()
    with pq.ParquetWriter(out, SCHEMA) as writer:
        for future in as_completed(futures):
            path = futures.pop(future)
            done += 1
            if future.status == "error":
                failed += 1
                print(f"catalogue: {future.exception()}", file=sys.stderr)
            else:
                table, duration = future.result()
                writer.write_table(table)
                rows += table.num_rows
                audio_s += duration
            future.release()
            if not quiet:
                elapsed = time.monotonic() - t0
                eta = elapsed / done * (len(files) - done)
                print(
                    f"\r{done}/{len(files)} files, {audio_s / 3600:.2f} h of audio, "
                    f"{elapsed:.0f} s elapsed, ETA {clock(eta)}  ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    if not quiet:
        print(file=sys.stderr)
        print(f"catalogue: {rows} frames of {done - failed} files written to {out}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="audio files, folders (walked) or M3U playlists")
    parser.add_argument("--out", required=True, help="the Parquet file to write")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster (default 2)")
    parser.add_argument("--hop", type=float, default=leitmotif.DEFAULT_HOP, help="seconds between frames")
    parser.add_argument("--cache", help="feature cache folder on the workers (default: each user's cache folder)")
    parser.add_argument("--no-cache", action="store_true", help="read and write no feature cache")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)

    try:
        files = leitmotif.audio_files(args.paths)
    except leitmotif.LeitmotifError as e:
        print(f"catalogue: {e}", file=sys.stderr)
        return 2
    cache = False if args.no_cache else (args.cache or True)

    from dask.distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            return run(files, args.out, client, args.hop, cache, args.quiet)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            return run(files, args.out, client, args.hop, cache, args.quiet)


if __name__ == "__main__":
    sys.exit(main())
