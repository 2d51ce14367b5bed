"""Motif phrases from real melodies in music21's bundled corpus (folk song and fiddle tune collections)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

# Collections of single-line tunes in ABC notation that ship with music21.
COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth")

PHRASE_MIN_S = 4.5
PHRASE_MAX_S = 8.0
MIN_NOTES = 6
MAX_NOTES = 36
# A phrase must not contain the same interval pattern over this many notes twice.
REPEAT_NOTES = 4
# Different motifs must not share an interval pattern over this many notes.
CROSS_NOTES = 6


def interval_ngrams(pitches, n_notes: int) -> list[tuple[int, ...]]:
    """All transposition-invariant patterns of n_notes consecutive notes (as interval tuples)."""
    iv = np.diff(np.round(np.asarray(pitches, dtype=float))).astype(int).tolist()
    k = n_notes - 1
    return [tuple(iv[i : i + k]) for i in range(len(iv) - k + 1)]


def has_internal_repeat(pitches, n_notes: int = REPEAT_NOTES) -> bool:
    """True when some n_notes-note interval pattern occurs twice in the sequence."""
    grams = interval_ngrams(pitches, n_notes)
    return len(set(grams)) < len(grams)


@dataclass
class Tune:
    """A parsed tune: its notes in quarter lengths, bar lines, key and where it came from."""

    path: str
    number: int
    title: str
    pitches: list[int]
    onsets: list[float]
    durs: list[float]
    bar_lines: list[float]
    tonic: int
    mode: str
    key_name: str


@dataclass
class Phrase:
    """A motif phrase at its source pitch, with times in seconds at its reference tempo."""

    tune: Tune
    first: int
    last: int
    sec_per_ql: float
    pitches: list[int] = field(default_factory=list)
    onsets: list[float] = field(default_factory=list)
    durs: list[float] = field(default_factory=list)
    bar_lines: list[float] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.onsets[-1] + self.durs[-1]

    def source(self) -> dict:
        """Provenance and note list, for the truth file's metadata."""
        return {
            "corpus": f"music21:{self.tune.path}",
            "number": self.tune.number,
            "title": self.tune.title,
            "key": self.tune.key_name,
            "note_range": [self.first, self.last],
            "sec_per_quarter": round(self.sec_per_ql, 4),
            "notes": [[p, round(o, 4), round(d, 4)] for p, o, d in zip(self.pitches, self.onsets, self.durs)],
        }


def _corpus_dir():
    from music21 import common

    return common.getCorpusFilePath()


def collection_files(collection: str) -> list[str]:
    """Corpus-relative paths of a collection's files, sorted."""
    root = _corpus_dir() / collection
    return sorted(f"{collection}/{p.name}" for p in root.glob("*.abc"))


def tune_numbers(rel_path: str) -> list[int]:
    """The X: reference numbers of the tunes in an ABC file."""
    text = (_corpus_dir() / rel_path).read_text(encoding="latin-1")
    return sorted({int(x) for x in re.findall(r"^X:\s*(\d+)", text, re.M)})


def load_tune(rel_path: str, number: int) -> Tune | None:
    """Parses one tune; None when music21 cannot read it or it has no usable notes."""
    from music21 import converter

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parse(str(_corpus_dir() / rel_path), number=number)
            part = score.parts[0] if score.parts else score
            bar_lines = [float(m.offset) for m in part.getElementsByClass("Measure")]
            flat = part.stripTies().flatten()
            key = score.analyze("key")
    except Exception:  # music21 raises many exception types on malformed ABC
        return None
    pitches, onsets, durs = [], [], []
    for el in flat.notes:
        ql = float(el.quarterLength)
        if ql <= 0 or el.duration.isGrace:
            continue
        pitch = max(p.midi for p in el.pitches) if el.isChord else el.pitch.midi
        off = float(el.offset)
        if onsets and off < onsets[-1] + durs[-1] - 1e-6:
            continue  # overlapping voice: keep a single melodic line
        pitches.append(int(pitch))
        onsets.append(off)
        durs.append(ql)
    if len(pitches) < MIN_NOTES:
        return None
    title = score.metadata.title if score.metadata and score.metadata.title else rel_path
    return Tune(
        rel_path,
        number,
        title,
        pitches,
        onsets,
        durs,
        bar_lines,
        key.tonic.pitchClass,
        key.mode if key.mode in ("major", "minor") else "major",
        f"{key.tonic.name} {key.mode}",
    )


def _in_scale_share(pitches, durs, tonic, mode) -> float:
    from .harmony import scale_pitch_classes

    scale = scale_pitch_classes(tonic, mode)
    inside = sum(d for p, d in zip(pitches, durs) if p % 12 in scale)
    return inside / sum(durs)


def find_phrase(tune: Tune, rng: np.random.Generator, taken: set) -> Phrase | None:
    """Picks a phrase of the tune that lasts 4.5-8 s at a natural tempo, has no internal
    repeat, fits the key, and shares no CROSS_NOTES-note pattern with `taken`."""
    med = float(np.median(tune.durs))
    spq = rng.uniform(0.24, 0.42) / med  # the tune's typical note lasts 0.24-0.42 s
    n = len(tune.pitches)
    on = np.array(tune.onsets)
    du = np.array(tune.durs)
    end = on + du
    valid = []
    for i in range(n):
        for j in range(i + MIN_NOTES - 1, min(n, i + MAX_NOTES)):
            length = (end[j] - on[i]) * spq
            if length > PHRASE_MAX_S:
                break
            if length < PHRASE_MIN_S:
                continue
            gaps = (on[i + 1 : j + 1] - end[i:j]) * spq
            if gaps.size and gaps.max() > 0.8:
                break  # a long rest splits phrases
            if du[i : j + 1].max() * spq > 2.0:
                break
            p = tune.pitches[i : j + 1]
            if max(p) - min(p) < 5 or len({x % 12 for x in p}) < 4:
                continue
            if has_internal_repeat(p):
                continue
            if _in_scale_share(p, tune.durs[i : j + 1], tune.tonic, tune.mode) < 0.85:
                continue
            if taken.intersection(interval_ngrams(p, CROSS_NOTES)):
                continue
            # Prefer phrases that start after a rest, a long note or at a bar line,
            # and end on a long note: they sound like phrases, not fragments.
            w = 1.0
            if i == 0 or on[i] - end[i - 1] > 1e-6 or du[i - 1] > med * 1.4 or on[i] in tune.bar_lines:
                w += 2.0
            if du[j] > med * 1.4 or j == n - 1:
                w += 2.0
            valid.append((i, j, w))
    if not valid:
        return None
    weights = np.array([v[2] for v in valid])
    i, j, _ = valid[int(rng.choice(len(valid), p=weights / weights.sum()))]
    t0 = on[i]
    bars = [float((b - t0) * spq) for b in tune.bar_lines if t0 < b < end[j]]
    return Phrase(
        tune,
        i,
        j,
        spq,
        tune.pitches[i : j + 1],
        ((on[i : j + 1] - t0) * spq).tolist(),
        (du[i : j + 1] * spq).tolist(),
        bars,
    )


def pick_phrases(count: int, rng: np.random.Generator) -> list[Phrase]:
    """`count` phrases from different tunes, cycling through the collections."""
    phrases: list[Phrase] = []
    taken: set = set()
    used: set = set()
    files = {c: collection_files(c) for c in COLLECTIONS}
    order = list(rng.permutation(len(COLLECTIONS)))
    attempts = 0
    while len(phrases) < count:
        attempts += 1
        if attempts > 400:
            raise RuntimeError("could not find enough distinct motif phrases in the corpus")
        coll = COLLECTIONS[order[len(phrases) % len(order)]]
        rel = files[coll][int(rng.integers(len(files[coll])))]
        numbers = tune_numbers(rel)
        if not numbers:
            continue
        number = numbers[int(rng.integers(len(numbers)))]
        if (rel, number) in used:
            continue
        used.add((rel, number))
        tune = load_tune(rel, number)
        if tune is None:
            continue
        phrase = find_phrase(tune, rng, taken)
        if phrase is None:
            continue
        phrases.append(phrase)
        taken.update(interval_ngrams(phrase.pitches, CROSS_NOTES))
    return phrases


@dataclass
class Passage:
    """A stretch of a real tune for filler: notes in seconds from its first onset, bar lines in
    seconds, and the tune's key."""

    tune: Tune
    first: int
    pitches: list[int]
    onsets: list[float]
    durs: list[float]
    bar_lines: list[float]

    @property
    def end(self) -> float:
        return self.onsets[-1] + self.durs[-1]

    def source(self) -> dict:
        return {"corpus": f"music21:{self.tune.path}", "number": self.tune.number, "first_note": self.first}


def pick_passage(
    length_s: float, rng: np.random.Generator, accepts, min_s: float | None = None, tries: int = 40
) -> Passage | None:
    """A passage of a real tune lasting at most `length_s` seconds and at least `min_s` (half of
    `length_s` by default), at a natural tempo, starting on a bar line, that `accepts(pitches)`;
    None when `tries` tunes give none. Real melodies bring their cadence formulas with them: what a filler made of them shares
    with the motifs is what real scores share."""
    files = [f for c in COLLECTIONS for f in collection_files(c)]
    for _ in range(tries):
        rel = files[int(rng.integers(len(files)))]
        numbers = tune_numbers(rel)
        if not numbers:
            continue
        tune = load_tune(rel, numbers[int(rng.integers(len(numbers)))])
        if tune is None:
            continue
        spq = rng.uniform(0.24, 0.42) / float(np.median(tune.durs))
        on = np.array(tune.onsets)
        end = on + np.array(tune.durs)
        starts = [i for i, o in enumerate(tune.onsets) if any(abs(o - b) < 1e-6 for b in tune.bar_lines)] or [0]
        i = starts[int(rng.integers(len(starts)))]
        j = i
        while j + 1 < len(on) and (end[j + 1] - on[i]) * spq <= length_s:
            j += 1
        if (end[j] - on[i]) * spq < (0.5 * length_s if min_s is None else min_s) or j - i + 1 < MIN_NOTES:
            continue
        p = tune.pitches[i : j + 1]
        if not accepts(p):
            continue
        t0 = on[i]
        return Passage(
            tune,
            i,
            p,
            ((on[i : j + 1] - t0) * spq).tolist(),
            (np.array(tune.durs[i : j + 1]) * spq).tolist(),
            [float((b - t0) * spq) for b in tune.bar_lines if t0 < b < end[j]],
        )
    return None
