"""leitmotif: where the themes of a soundtrack recur.

Chroma features as NumPy arrays (librosa's ``12 x frames`` layout by default), motif discovery
across tracks, query by example and cue sheets, computed in Rust. Every call that reads audio
releases the GIL, so Python threads and process pools run alongside it.

>>> import leitmotif
>>> chroma, info = leitmotif.chroma("theme.flac")           # (12, frames) float32
>>> report = leitmotif.analyze(["ost/", "score/"])          # the leitmotif.report/1 document
>>> [len(m["occurrences"]) for m in report["motifs"]]

Documents are the ones the command line writes with ``--json`` (``leitmotif.report/1``,
``leitmotif.cues/1``), as Python dicts and lists. A file that cannot be analysed among several
is listed in the document's ``errors``; when nothing at all can be analysed, or a single file
fails, an exception from :mod:`leitmotif.errors` is raised naming the file and the cause.

Features are kept in the user's cache folder (as the command line does) unless ``cache=False``;
``cache="dir"`` keeps them in ``dir``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native, errors
from .errors import (
    AnalysisError,
    DecodeError,
    DocumentError,
    LeitmotifError,
    NothingAnalysedError,
    ParameterError,
    WriteError,
)

__version__: str = _native.version()

PathLike = Union[str, "os.PathLike[str]"]
Paths = Union[PathLike, Sequence[PathLike]]
Cache = Union[bool, PathLike, None]

# Settings are single precision in the library: rounded, they read as they were written.
_DEFAULTS: Dict[str, Dict[str, Any]] = json.loads(
    _native.defaults(), parse_float=lambda text: round(float(text), 6)
)
_MOTIF = _DEFAULTS["motif"]
_CUES = _DEFAULTS["cues"]
DEFAULT_HOP: float = float(_DEFAULTS["features"]["hop_s"])


def _paths(paths: Paths) -> List[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def _cache(cache: Cache) -> Union[bool, str]:
    if cache is None or isinstance(cache, bool):
        return True if cache is None else cache
    return os.fspath(cache)


def chroma(
    path: PathLike,
    *,
    hop: float = DEFAULT_HOP,
    layout: str = "pitch-major",
    kind: str = "chroma",
    cache: Cache = True,
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Chroma features of one audio file.

    Args:
        path: an audio file (MP3, FLAC, Ogg Vorbis, WAV, AAC/M4A, the audio of an MP4 or MKV).
        hop: seconds between frames; frame ``k`` is centred at ``k * hop``.
        layout: ``"pitch-major"`` gives ``12 x frames`` like librosa; ``"frame-major"`` gives
            ``frames x 12``. Rows (or columns) run C, C#, ..., B.
        kind: ``"chroma"`` (tuning-corrected, peak-normalised per frame, 0 for silence),
            ``"cens"`` (Müller's CENS, one frame a second) or ``"melody"`` (the predominant
            melody's pitch class per frame).
        cache: ``True`` for the user's cache folder, ``False`` for none, or a folder.

    Returns:
        ``(array, info)``: a C-contiguous float32 array, bit for bit what
        ``leitmotif chroma --format npy`` writes with the same settings, and a dict with
        ``sample_rate``, ``channels``, ``duration_s``, ``hop_s``, ``frame_rate``, ``window_s``,
        ``tuning_cents``, ``frames``, ``pitch_classes``, ``codec``, ``tags`` (title, artist,
        album; ``None`` when missing), ``kind``, ``layout`` and ``path``.

    Raises:
        DecodeError: the file cannot be read or decoded.
        AnalysisError: the audio cannot be analysed with these settings.
        ParameterError: ``hop`` is out of range.
        ValueError: an unknown ``layout`` or ``kind``.
    """
    array, info = _native.chroma(os.fspath(path), hop=hop, layout=layout, kind=kind, cache=_cache(cache))
    return array, json.loads(info)


def melody(
    path: PathLike, *, hop: float = DEFAULT_HOP, layout: str = "pitch-major", cache: Cache = True
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """The predominant-melody pitch-class profile of one file, per frame (all zero where no
    clear pitch is heard). Same arguments and result as :func:`chroma` with ``kind="melody"``."""
    return chroma(path, hop=hop, layout=layout, kind="melody", cache=cache)


def analyze(
    paths: Paths,
    *,
    min_len: float = _MOTIF["min_len_s"],
    threshold: float = _MOTIF["threshold"],
    max_motifs: int = _MOTIF["max_motifs"],
    cache: Cache = True,
    progress: bool = False,
) -> Dict[str, Any]:
    """Discover motifs that recur across and within the given tracks.

    Args:
        paths: audio files, or folders searched recursively for audio files; M3U playlists.
        min_len: shortest motif reported, seconds.
        threshold: similarity in [0, 1] a recurrence must reach; lower finds more.
        max_motifs: report at most this many motifs (the most frequent first).
        cache: ``True`` for the user's cache folder, ``False`` for none, or a folder.
        progress: draw a progress bar on standard error when it is a terminal.

    Returns:
        The ``leitmotif.report/1`` document: ``tracks``, ``motifs`` (each with ``occurrences``:
        ``track``, ``start_s``, ``end_s``, ``transpose``, ``tempo_ratio``, ``score``), ``errors``
        (inputs that could not be analysed), ``params``, and when there are any ``sections``:
        larger repeats, each with its ``occurrences`` and the ids of the ``motifs`` it is made of.

    Raises:
        ParameterError: a setting out of range.
        DecodeError, NothingAnalysedError: no input could be analysed.
    """
    doc = _native.analyze(
        _paths(paths),
        min_len=min_len,
        threshold=threshold,
        max_motifs=max_motifs,
        cache=_cache(cache),
        progress=progress,
    )
    return json.loads(doc)


def find(
    query: Union[PathLike, Tuple[PathLike, float, float]],
    paths: Paths,
    *,
    threshold: float = _MOTIF["threshold"],
    cache: Cache = True,
    progress: bool = False,
) -> Dict[str, Any]:
    """Find every occurrence of one motif in the given tracks.

    Args:
        query: a whole file, ``"FILE@START-END"`` (times as seconds, m:ss or h:mm:ss), or a
            tuple ``(file, start_s, end_s)``.
        paths: audio files or folders to search in.
        threshold: similarity in [0, 1] an occurrence must reach.
        cache: ``True`` for the user's cache folder, ``False`` for none, or a folder.
        progress: draw a progress bar on standard error when it is a terminal.

    Returns:
        The ``leitmotif.report/1`` document with one motif whose first occurrence is the query.

    Raises:
        ParameterError: a malformed span, a span outside the file, or one shorter than the
            shortest motif.
        DecodeError: the query cannot be decoded.
    """
    if isinstance(query, tuple):
        file, start, end = query
        spec = f"{os.fspath(file)}@{float(start)}-{float(end)}"
    else:
        spec = os.fspath(query)
    doc = _native.find(spec, _paths(paths), threshold=threshold, cache=_cache(cache), progress=progress)
    return json.loads(doc)


def cues(
    tracks: Paths,
    episodes: Paths,
    *,
    min_len: float = _CUES["min_len_s"],
    threshold: float = _CUES["threshold"],
    cache: Cache = True,
    progress: bool = False,
) -> Dict[str, Any]:
    """Find where the tracks play inside long episode audio: a cue sheet.

    Args:
        tracks: the tracks (files or folders) to look for.
        episodes: episode audio or video files (or folders) to search.
        min_len: shortest cue reported, seconds.
        threshold: how far, in [0, 1], a cue's similarity must rise above that of unrelated
            audio towards a perfect match.
        cache: ``True`` for the user's cache folder, ``False`` for none, or a folder.
        progress: draw a progress bar on standard error when it is a terminal.

    Returns:
        The ``leitmotif.cues/1`` document: ``tracks``, ``episodes`` (each with ``cues``:
        ``track``, ``start_s``, ``end_s``, ``track_start_s``, ``transpose``, ``score``) and
        ``errors``.
    """
    doc = _native.cues(
        _paths(tracks),
        _paths(episodes),
        min_len=min_len,
        threshold=threshold,
        cache=_cache(cache),
        progress=progress,
    )
    return json.loads(doc)


def audio_files(paths: Paths) -> List[str]:
    """The audio files that ``paths`` stand for, as the other functions find them: files as
    given, folders walked recursively for audio extensions, M3U playlists read; sorted, without
    duplicates.

    Raises:
        DecodeError: a path cannot be read, or a folder holds no audio file.
    """
    return [os.fspath(p) for p in _native.audio_files(_paths(paths))]


def _document(doc: Union[Dict[str, Any], PathLike], what: str) -> Tuple[str, str]:
    if isinstance(doc, dict):
        return json.dumps(doc), f"<{what}>"
    path = os.fspath(doc)
    with open(path, encoding="utf-8") as f:
        return f.read(), path


def evaluate(truth: Union[Dict[str, Any], PathLike], report: Union[Dict[str, Any], PathLike]) -> Dict[str, Any]:
    """Score a report against ground truth exactly as ``leitmotif eval`` does.

    Args:
        truth: a ``leitmotif.truth/1`` (or ``leitmotif.cuetruth/1``) document, or its path.
        report: a ``leitmotif.report/1`` (or ``leitmotif.cues/1``) document, or its path.

    Returns:
        A dict with ``kind`` (``"motifs"`` or ``"cues"``), ``f1`` (the headline figure),
        ``summary`` (the last line ``leitmotif eval`` prints) and the detailed counts:
        for motifs ``occurrence`` and ``grouping`` (precision, recall, f1), ``headline``,
        ``tiers``; for cues ``overall`` and ``episodes``.

    Raises:
        DocumentError: a document does not follow its schema, or the two are of different kinds.
    """
    truth_text, truth_name = _document(truth, "truth")
    report_text, report_name = _document(report, "report")
    return json.loads(_native.evaluate(truth_text, report_text, (truth_name, report_name)))


__all__ = errors.__all__ + [
    "DEFAULT_HOP",
    "analyze",
    "audio_files",
    "chroma",
    "cues",
    "evaluate",
    "find",
    "melody",
]
