"""The Python package against the command line on the repository's fixtures.

The command line is `target/release/leitmotif` (built by `cargo test --release` before these
run), or the binary named by the LEITMOTIF_BIN environment variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

import leitmotif

ROOT = Path(__file__).resolve().parents[3]
SCORE = ROOT / "fixtures" / "score"
FILES = sorted(p for p in SCORE.iterdir() if p.suffix != ".json")


@pytest.fixture(scope="session")
def cli() -> Path:
    binary = Path(os.environ.get("LEITMOTIF_BIN", ROOT / "target" / "release" / "leitmotif"))
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "leitmotif"], cwd=ROOT, check=True)
    return binary


def run_cli(cli: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True, check=True)


def write_wav(path: Path, seconds: float, rate: int = 22050) -> None:
    """A mono 16-bit WAV of a slow arpeggio over noise (music-like, with pitch in every frame)."""
    t = np.arange(int(seconds * rate)) / rate
    notes = 440.0 * 2.0 ** (np.array([0, 4, 7, 12, 7, 4]) / 12.0)
    freq = notes[(t * 2).astype(int) % len(notes)]
    rng = np.random.default_rng(7)
    signal = 0.4 * np.sin(2 * np.pi * np.cumsum(freq) / rate) + 0.02 * rng.standard_normal(len(t))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((signal * 32767).astype("<i2").tobytes())


@pytest.mark.parametrize("kind", ["chroma", "cens", "melody"])
@pytest.mark.parametrize("layout", ["pitch-major", "frame-major"])
def test_features_equal_the_cli_npy_bit_for_bit(cli, tmp_path, kind, layout):
    hop = 0.05 if kind == "chroma" else 0.1
    run_cli(cli, "chroma", *FILES, "--format", "npy", "--kind", kind, "--layout", layout,
            "--hop", hop, "--out", tmp_path, "--no-cache", "--quiet")
    for f in FILES:
        array, info = leitmotif.chroma(f, hop=hop, layout=layout, kind=kind, cache=False)
        written = np.load(tmp_path / f"{f.stem}.chroma.npy")
        assert array.dtype == written.dtype == np.float32
        assert array.shape == written.shape
        assert array.tobytes() == written.tobytes(), f"{f.name} {kind} {layout}"
        sidecar = json.loads((tmp_path / f"{f.stem}.chroma.meta.json").read_text())
        for key in ("sample_rate", "duration_s", "hop_s", "frame_rate", "tuning_cents", "frames", "kind", "layout"):
            assert info[key] == sidecar[key], key


def test_shapes_dtypes_and_info_follow_the_documented_layout():
    f = SCORE / "02-empty-river.flac"
    pitch, info = leitmotif.chroma(f, cache=False)
    frames, _ = leitmotif.chroma(f, layout="frame-major", cache=False)
    assert pitch.dtype == np.float32 and pitch.ndim == 2 and pitch.shape[0] == 12
    assert pitch.flags["C_CONTIGUOUS"] and frames.flags["C_CONTIGUOUS"]
    assert frames.shape == (pitch.shape[1], 12)
    assert np.array_equal(frames.T, pitch)
    assert info["frames"] == pitch.shape[1]
    assert info["hop_s"] == leitmotif.DEFAULT_HOP and info["frame_rate"] == pytest.approx(1 / info["hop_s"])
    assert info["sample_rate"] > 0 and info["channels"] >= 1 and info["duration_s"] > 0
    assert set(info["tags"]) == {"title", "artist", "album"}
    assert info["pitch_classes"][0] == "C" and len(info["pitch_classes"]) == 12
    assert -50 <= info["tuning_cents"] <= 50
    fine, fine_info = leitmotif.chroma(f, hop=0.05, cache=False)
    assert fine_info["frame_rate"] == pytest.approx(20.0)
    assert abs(fine.shape[1] - 2 * pitch.shape[1]) <= 2
    melody, _ = leitmotif.melody(f, cache=False)
    assert melody.shape == pitch.shape and melody.dtype == np.float32
    cens, cens_info = leitmotif.chroma(f, kind="cens", cache=False)
    assert cens.shape[0] == 12 and cens_info["hop_s"] == pytest.approx(1.0)


def test_analyze_gives_the_clis_document(cli, tmp_path):
    out = tmp_path / "report.json"
    run_cli(cli, "analyze", SCORE, "--json", out, "--no-cache", "--quiet")
    expected = json.loads(out.read_text())
    got = leitmotif.analyze(str(SCORE), cache=False)
    assert got == expected
    assert got["schema"] == "leitmotif.report/1" and len(got["motifs"]) >= 2


def test_find_and_cues_give_the_clis_documents(cli, tmp_path):
    # Motif C of the fixture's truth: the query and its two other places.
    query = SCORE / "01-cold-winter.wav"
    out = tmp_path / "find.json"
    run_cli(cli, "find", "--query", f"{query}@21-25.5", SCORE, "--json", out, "--no-cache", "--quiet")
    got = leitmotif.find((query, 21, 25.5), [SCORE], cache=False)
    assert got == json.loads(out.read_text())
    occurrences = got["motifs"][0]["occurrences"]
    assert occurrences[0]["start_s"] == 21.0 and len(occurrences) == 3

    episode = SCORE / "03-hidden-letter.mp3"
    out = tmp_path / "cues.json"
    run_cli(cli, "cues", "--json", out, "--no-cache", "--quiet", "--tracks", SCORE, "--", episode)
    sheet = leitmotif.cues(SCORE, episode, cache=False)
    assert sheet == json.loads(out.read_text())
    assert sheet["schema"] == "leitmotif.cues/1"


def test_evaluate_prints_the_clis_line(cli, tmp_path):
    report = leitmotif.analyze(SCORE, cache=False)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    truth = SCORE / "truth.json"
    line = run_cli(cli, "eval", "--truth", truth, path).stdout.strip().splitlines()[-1]
    score = leitmotif.evaluate(truth, report)
    assert score["summary"] == line
    assert score["kind"] == "motifs" and score["f1"] == score["headline"]
    assert leitmotif.evaluate(json.loads(truth.read_text()), path)["f1"] == score["f1"]
    with pytest.raises(leitmotif.DocumentError):
        leitmotif.evaluate(truth, {"schema": "leitmotif.cues/1", "tracks": [], "episodes": []})


def test_bad_files_raise_named_exceptions_or_are_listed(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(leitmotif.DecodeError) as e:
        leitmotif.chroma(bad, cache=False)
    assert e.value.path == str(bad) and str(bad) in str(e.value)
    missing = tmp_path / "missing.flac"
    with pytest.raises(leitmotif.DecodeError) as e:
        leitmotif.chroma(missing, cache=False)
    assert e.value.path == str(missing)
    with pytest.raises(leitmotif.LeitmotifError):
        leitmotif.analyze([bad], cache=False)

    report = leitmotif.analyze([SCORE, bad], cache=False)
    assert [e["path"] for e in report["errors"]] == [str(bad)]
    assert len(report["tracks"]) == len(FILES)

    with pytest.raises(leitmotif.ParameterError) as e:
        leitmotif.analyze(SCORE, threshold=2.0, cache=False)
    assert isinstance(e.value, ValueError) and "threshold" in str(e.value)
    with pytest.raises(leitmotif.ParameterError):
        leitmotif.find(f"{FILES[0]}@abc-def", [SCORE], cache=False)
    with pytest.raises(ValueError):
        leitmotif.chroma(FILES[0], layout="sideways", cache=False)


def test_a_python_thread_runs_while_chroma_works(tmp_path):
    long = tmp_path / "long.wav"
    write_wav(long, 240.0)
    count = 0
    started = threading.Event()
    stop = threading.Event()

    def counter():
        nonlocal count
        started.set()
        while not stop.is_set():
            count += 1
            stop.wait(0.0005)

    # With a long switch interval, the counter thread can only run while the call has
    # released the GIL: the main thread never gives it up on its own between the two reads.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    thread = threading.Thread(target=counter)
    try:
        thread.start()
        started.wait()
        before = count
        leitmotif.chroma(long, cache=False)
        during = count - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert during > 0, "the counter did not advance while chroma ran"


def test_the_dask_example_writes_parquet_that_pandas_loads(tmp_path):
    pytest.importorskip("dask.distributed")
    pd = pytest.importorskip("pandas")
    out = tmp_path / "features.parquet"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "catalogue_dask.py"), str(SCORE), "--out", str(out),
         "--workers", "2", "--no-cache", "--quiet"],
        check=True,
        timeout=300,
    )
    table = pd.read_parquet(out)
    assert list(table.columns) == ["path", "frame", "time_s", *leitmotif.chroma(FILES[0], cache=False)[1]["pitch_classes"], "tuning_cents"]
    assert sorted(table["path"].unique()) == [str(f) for f in FILES]
    for f in FILES:
        rows = table[table["path"] == str(f)].sort_values("frame")
        chroma, info = leitmotif.chroma(f, layout="frame-major", cache=False)
        assert len(rows) == chroma.shape[0]
        assert np.array_equal(rows[info["pitch_classes"]].to_numpy(np.float32), chroma)
        assert rows["tuning_cents"].iloc[0] == pytest.approx(info["tuning_cents"], abs=1e-3)
