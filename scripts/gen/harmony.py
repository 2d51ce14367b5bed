"""Diatonic harmony: chords that fit a melody, reharmonisation, voicing and accompaniment patterns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .synth import Note

QUALITIES = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "maj7": (0, 4, 7, 11),
    "dom7": (0, 4, 7, 10),
    "min7": (0, 3, 7, 10),
    "hdim7": (0, 3, 6, 10),
}
SUFFIXES = {"maj": "", "min": "m", "dim": "dim", "maj7": "maj7", "dom7": "7", "min7": "m7", "hdim7": "m7b5"}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}
# (degree offset from the tonic, quality, prior): the prior favours the common functions.
DIATONIC = {
    "major": (
        (0, "maj", 0.35),
        (2, "min", 0.1),
        (4, "min", 0.0),
        (5, "maj", 0.25),
        (7, "maj", 0.3),
        (9, "min", 0.15),
        (11, "dim", -0.3),
    ),
    "minor": (
        (0, "min", 0.35),
        (2, "dim", -0.3),
        (3, "maj", 0.1),
        (5, "min", 0.25),
        (7, "maj", 0.3),
        (7, "min", 0.05),
        (8, "maj", 0.15),
        (10, "maj", 0.1),
    ),
}
STYLES = ("block", "pulse", "arpeggio", "alberti")
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Chord:
    """A triad or seventh chord: root pitch class and quality."""

    root: int
    quality: str

    @property
    def pcs(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality])

    def transposed(self, semitones: int) -> "Chord":
        return Chord((self.root + semitones) % 12, self.quality)

    def name(self) -> str:
        return NAMES[self.root] + SUFFIXES[self.quality]

    def with_seventh(self, tonic: int) -> "Chord":
        """The diatonic seventh chord on this triad: dominant on the fifth degree, major seventh
        on other major triads, minor seventh on minor ones, half-diminished on diminished ones."""
        if self.quality == "maj":
            return Chord(self.root, "dom7" if (self.root - tonic) % 12 == 7 else "maj7")
        return Chord(self.root, {"min": "min7", "dim": "hdim7"}.get(self.quality, self.quality))


def diatonic_chords(tonic: int, mode: str) -> list[tuple[Chord, float]]:
    """The diatonic triads of a key with their priors."""
    return [(Chord((tonic + off) % 12, q), prior) for off, q, prior in DIATONIC[mode]]


def chord_spans(bar_lines: list[float], end: float, target_s: float) -> list[tuple[float, float]]:
    """Splits [0, end) at bar lines, then splits long bars evenly to about `target_s` each."""
    cuts = sorted({0.0, end, *[b for b in bar_lines if 0.0 < b < end - 1e-6]})
    spans = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        parts = max(1, int(round((b - a) / target_s)))
        edges = np.linspace(a, b, parts + 1)
        spans.extend(zip(edges[:-1].tolist(), edges[1:].tolist()))
    # A sliver before the first bar line (a short pickup) joins the next span.
    if len(spans) > 1 and spans[0][1] - spans[0][0] < 0.35 * target_s:
        spans = [(0.0, spans[1][1])] + spans[2:]
    return spans


def _span_weights(notes: list[Note], span: tuple[float, float]) -> tuple[np.ndarray, int | None]:
    """Duration of each pitch class sounding in the span, and the pitch class on its downbeat."""
    w = np.zeros(12)
    strong = None
    a, b = span
    for n in notes:
        ov = min(b, n.onset + n.dur) - max(a, n.onset)
        if ov > 0:
            w[int(round(n.pitch)) % 12] += ov
            if strong is None:
                strong = int(round(n.pitch)) % 12
                w[strong] += 0.5 * ov
    return w, strong


def _scores(notes, span, tonic, mode) -> list[tuple[float, float, Chord]]:
    """(score, fit, chord) for every diatonic chord; fit = share of melody weight on chord tones."""
    w, strong = _span_weights(notes, span)
    total = w.sum()
    out = []
    for chord, prior in diatonic_chords(tonic, mode):
        fit = float(sum(w[pc] for pc in chord.pcs) / total) if total > 0 else 0.0
        penalty = 0.3 if strong is not None and strong not in chord.pcs else 0.0
        out.append((fit + 0.25 * prior - penalty, fit, chord))
    out.sort(key=lambda s: (-s[0], s[2].root, s[2].quality))
    return out


def harmonize(notes: list[Note], spans, tonic: int, mode: str) -> list[Chord]:
    """The best-fitting major or minor diatonic chord for each span (a span without melody
    keeps the last chord)."""
    chords: list[Chord] = []
    for span in spans:
        # Diminished triads are left out: as a phrase's main harmony they sound wrong.
        scored = [s for s in _scores(notes, span, tonic, mode) if s[2].quality != "dim"]
        if scored[0][1] == 0.0 and chords:
            chords.append(chords[-1])
        else:
            chords.append(scored[0][2])
    return chords


def reharmonize(
    notes: list[Note], spans, chords: list[Chord], tonic: int, mode: str, rng: np.random.Generator
) -> list[Chord]:
    """Other fitting chords: at least half of the spans change, each to a chord that still
    holds a good share of the melody's notes."""
    alternatives = []
    for span, old in zip(spans, chords):
        scored = [s for s in _scores(notes, span, tonic, mode) if s[2] != old and s[2].quality != "dim"]
        alternatives.append(scored)
    new = list(chords)
    changed = 0
    for i, scored in enumerate(alternatives):
        good = [s for s in scored if s[1] >= 0.5]
        if good:
            pick = good[0] if len(good) == 1 or rng.random() < 0.7 else good[1]
            new[i] = pick[2]
            changed += 1
    # Too few fitting alternatives: take the best-scoring remaining ones anyway.
    order = sorted(
        (i for i in range(len(new)) if new[i] == chords[i] and alternatives[i]),
        key=lambda i: -alternatives[i][0][0],
    )
    for i in order:
        if changed * 2 >= len(new):
            break
        new[i] = alternatives[i][0][2]
        changed += 1
    return new


def voice(chord: Chord, prev: list[int] | None, center: int, open_voicing: bool) -> list[int]:
    """MIDI notes for a chord near `center`, moving as little as possible from `prev`."""
    candidates = []
    for inv in range(3):
        pcs = chord.pcs[inv:] + chord.pcs[:inv]
        for base in range(center - 7, center + 6):
            if base % 12 != pcs[0]:
                continue
            notes = [base]
            for pc in pcs[1:]:
                nxt = notes[-1] + 1
                while nxt % 12 != pc:
                    nxt += 1
                notes.append(nxt)
            if open_voicing:
                # Drop the second voice an octave up (a seventh's fourth voice goes with it).
                notes = [notes[0], notes[2], notes[1] + 12] + [n + 12 for n in notes[3:]]
            candidates.append(notes)
    ref = prev if prev is not None else [center, center + 4, center + 7]
    return min(candidates, key=lambda v: (sum(abs(a - b) for a, b in zip(sorted(v), sorted(ref))), v))


@dataclass(frozen=True)
class Accompaniment:
    """How chords are played: pattern style, chord instrument, bass instrument, register."""

    style: str
    instrument: str
    bass: str
    center: int
    open_voicing: bool
    beat_s: float


def accompaniment_notes(
    chords: list[Chord], spans, acc: Accompaniment, rng: np.random.Generator
) -> tuple[list[Note], list[Note]]:
    """Chord-instrument notes and bass notes for chords over spans (seconds)."""
    upper: list[Note] = []
    bass: list[Note] = []
    prev = None
    prev_bass = None
    for chord, (a, b) in zip(chords, spans):
        v = voice(chord, prev, acc.center, acc.open_voicing)
        prev = v
        length = b - a
        beats = max(1, int(round(length / acc.beat_s)))
        beat = length / beats
        root = 36 + (chord.root - 36) % 12
        if prev_bass is not None and abs(root + 12 - prev_bass) < abs(root - prev_bass) and root + 12 <= 50:
            root += 12
        prev_bass = root
        vel = lambda: float(rng.uniform(0.8, 1.0))  # noqa: E731 - tiny humanising helper
        if acc.style == "block":
            for p in v:
                upper.append(Note(p, a, length + 0.05, vel()))
            bass.append(Note(root, a, length, vel()))
        elif acc.style == "pulse":
            for k in range(beats):
                for p in v:
                    upper.append(Note(p, a + k * beat, 0.8 * beat, 0.8 * vel()))
                bass.append(Note(root if k % 2 == 0 else root + 7, a + k * beat, 0.9 * beat, vel()))
        else:
            step = beat / 2
            if acc.style == "arpeggio":
                pattern = v + v[1:-1][::-1] if len(v) > 2 else v
            else:  # alberti: low, high, middle, high
                pattern = [v[0], v[-1], v[1], v[-1]]
            k = 0
            t = a
            while t < b - 1e-6:
                dur = min(2.5 * step, b - t + 0.3)
                upper.append(Note(pattern[k % len(pattern)], t, dur, 0.85 * vel()))
                k += 1
                t += step
            for k in range(beats):
                if k % 2 == 0:
                    bass.append(Note(root, a + k * beat, min(2 * beat, b - a - k * beat), vel()))
    return upper, bass


def scale_pitch_classes(tonic: int, mode: str) -> set[int]:
    """Pitch classes of the key's scale (minor includes the raised seventh)."""
    return {(tonic + s) % 12 for s in SCALES[mode]}
