"""Synthetic soundtrack: motif occurrences in six tiers amid non-repeating filler, with truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import audio_io
from .corpus import CROSS_NOTES, Passage, Phrase, interval_ngrams, pick_passage, pick_phrases
from .harmony import (
    NAMES,
    STYLES,
    Accompaniment,
    Chord,
    accompaniment_notes,
    chord_spans,
    diatonic_chords,
    harmonize,
    reharmonize,
    scale_pitch_classes,
)
from .speech import dialogue, random_tts_voice, room_noise, tts_dialogue
from .synth import (
    ARPEGGIO_INSTRUMENTS,
    BASS_INSTRUMENTS,
    BLOCK_INSTRUMENTS,
    PULSE_INSTRUMENTS,
    Note,
    NoteRenderer,
    SampledRenderer,
    add_reverb,
    db,
    rms,
    room_ir,
)

TIERS = ("exact", "transpose", "tempo", "timbre", "reharmonized", "dialogue")
# The wide conditions add the lead moved by an octave, and variations combined under speech.
WIDE_TIERS = TIERS + ("octave", "combined")
# Music over speech, dB, where espeak-ng lines talk over music (speech 3 dB under to 6 dB over).
TTS_SNR_DB = (-6.0, 3.0)
# The variations a `combined` occurrence draws two of.
COMBINABLE = ("transpose", "tempo", "timbre", "octave")
SEGMENT_RMS = 0.1
# Filler melodies may share no pattern this long with each other (motifs: CROSS_NOTES).
FILLER_REPEAT_NOTES = 8

ADJECTIVES = (
    "Quiet",
    "Broken",
    "Distant",
    "Silver",
    "Last",
    "Hidden",
    "Golden",
    "Cold",
    "Lonely",
    "Burning",
    "Falling",
    "Secret",
    "Gentle",
    "Restless",
    "Empty",
    "Northern",
)
NOUNS = (
    "Harbour",
    "Letter",
    "Promise",
    "River",
    "Station",
    "Garden",
    "Winter",
    "Bridge",
    "Lantern",
    "Road",
    "Window",
    "Storm",
    "Morning",
    "Shore",
    "Mirror",
    "Heart",
    "Rain",
)


@dataclass
class ScoreConfig:
    """What to generate; `score` and `fixture` differ only in these values."""

    seed: int
    tracks: int
    sr: int = 44100
    channels: int = 2
    formats: tuple[str, ...] = ("wav",)
    track_min_s: float = 40.0
    track_max_s: float = 120.0
    motifs: int | None = None
    occurrence_weights: dict[int, float] = field(default_factory=lambda: {2: 0.1, 3: 0.2, 4: 0.35, 5: 0.35})
    tiers: tuple[str, ...] = TIERS
    distractor_share: float = 0.15
    every_track_has_motif: bool = False
    album: str = ""
    artist: str = "Leitmotif Synthetic Ensemble"
    # "synth": numpy tones; "sampled": General MIDI samples through FluidSynth, with more leads.
    renderer: str = "synth"
    # The dialogue tier's speech: "babble" (formant babble, music 0 to 6 dB over it) or "tts"
    # (espeak-ng lines in English and Korean, speech 3 dB under to 6 dB over the music).
    speech: str = "babble"
    # "standard", or "wide": fillers made of real melodies in a motif's key and arrangement,
    # with tonic-chord intros and outros; the lead 0.5-16 dB over its accompaniment; chords
    # reharmonised with sevenths; the lead moved by an octave; variations combined under speech;
    # speech over passages without motifs; drum loops under whole tracks; a motif heard only
    # inside one track; a repeat 0.2-1 s after the last; tracks at 22.05, 44.1 or 48 kHz, mono
    # or stereo, 16- or 24-bit.
    conditions: str = "standard"

    @property
    def wide(self) -> bool:
        return self.conditions == "wide"

    def motif_count(self) -> int:
        if self.motifs is not None:
            return self.motifs
        return int(np.clip(round(self.tracks / 2), 3, 6))


@dataclass
class Motif:
    """A motif: its phrase, the register shift and reference arrangement."""

    id: str
    phrase: Phrase
    shift: int
    tonic: int  # after the shift
    mode: str
    instrument: str
    acc: Accompaniment
    level_db: float
    spans: list[tuple[float, float]]
    chords: list[Chord]
    reference: "Rendering | None" = None  # rendered once, before any track
    # Melody over accompaniment, dB, that other renderings draw from.
    level_range: tuple[float, float] = (3.0, 8.0)


@dataclass
class Rendering:
    """One rendered motif occurrence or filler: mono stems, pans and the melody's end time."""

    melody: np.ndarray
    acc: np.ndarray
    melody_pan: float
    acc_pan: float
    end: float  # last melody note-off (s); the first note-on is at 0
    meta: dict


@dataclass
class Occurrence:
    """A planned occurrence: which motif, where, in which tier."""

    motif: int
    track: int
    slot: int
    tier: str = "exact"
    params: dict = field(default_factory=dict)
    rendering: Rendering | None = None
    start_s: float = 0.0
    end_s: float = 0.0


class NgramGuard:
    """Keeps filler melodies from resembling motifs or each other (transposition-invariant)."""

    def __init__(self, motifs: list[Motif]):
        self.motif_grams = set()
        for m in motifs:
            self.motif_grams.update(interval_ngrams(m.phrase.pitches, CROSS_NOTES))
        self.filler_grams: set = set()

    def accepts(self, pitches: list[float]) -> bool:
        if self.motif_grams.intersection(interval_ngrams(pitches, CROSS_NOTES)):
            return False
        grams = interval_ngrams(pitches, FILLER_REPEAT_NOTES)
        return len(set(grams)) == len(grams) and not self.filler_grams.intersection(grams)

    def accepts_real(self, pitches: list[float]) -> bool:
        """`accepts`, and no six-note pattern twice within: real tunes restate their phrases
        (AABB), varied by a note or two, and such a passage would hold an unlabelled repeat."""
        grams = interval_ngrams(pitches, CROSS_NOTES)
        return len(set(grams)) == len(grams) and self.accepts(pitches)

    def add(self, pitches: list[float]) -> None:
        self.filler_grams.update(interval_ngrams(pitches, FILLER_REPEAT_NOTES))


def _choice(rng: np.random.Generator, items, exclude=()):
    pool = [x for x in items if x not in exclude]
    return pool[int(rng.integers(len(pool)))]


def _random_acc(rng: np.random.Generator, exclude_style=None, exclude_instr=None) -> Accompaniment:
    style = _choice(rng, STYLES, (exclude_style,))
    pool = {"block": BLOCK_INSTRUMENTS, "pulse": PULSE_INSTRUMENTS}.get(style, ARPEGGIO_INSTRUMENTS)
    instr = _choice(rng, pool, (exclude_instr,)) if len(pool) > 1 else pool[0]
    return Accompaniment(
        style,
        instr,
        _choice(rng, BASS_INSTRUMENTS),
        int(rng.integers(50, 58)),
        bool(rng.random() < 0.4),
        float(rng.uniform(0.38, 0.6)),
    )


def _pan(stem: np.ndarray, pan: float, channels: int) -> np.ndarray:
    if channels == 1:
        return stem[None, :]
    ang = (pan + 1.0) * np.pi / 4.0
    return np.stack([np.cos(ang) * stem, np.sin(ang) * stem])


# ---------------------------------------------------------------- motifs


def make_motifs(cfg: ScoreConfig, rng: np.random.Generator, renderer: NoteRenderer) -> list[Motif]:
    """Picks phrases from the corpus and sets up each motif's reference arrangement."""
    phrases = pick_phrases(cfg.motif_count(), rng)
    motifs = []
    for k, ph in enumerate(phrases):
        shift = int(round(rng.uniform(66, 72) - np.mean(ph.pitches)))
        tonic = (ph.tune.tonic + shift) % 12
        acc = _random_acc(rng)
        spans = chord_spans(ph.bar_lines, ph.duration, float(rng.uniform(1.2, 2.2)))
        notes = [Note(p + shift, o, d) for p, o, d in zip(ph.pitches, ph.onsets, ph.durs)]
        chords = harmonize(notes, spans, tonic, ph.tune.mode)
        level_range = (0.5, 16.0) if cfg.wide else (3.0, 8.0)
        motifs.append(
            Motif(
                chr(ord("A") + k),
                ph,
                shift,
                tonic,
                ph.tune.mode,
                _choice(rng, renderer.melody_instruments),
                acc,
                float(rng.uniform(*level_range)),
                spans,
                chords,
                level_range=level_range,
            )
        )
    return motifs


def render_motif(
    m: Motif,
    renderer: NoteRenderer,
    rng: np.random.Generator,
    *,
    transpose: int = 0,
    tempo_ratio: float = 1.0,
    instrument: str | None = None,
    acc: Accompaniment | None = None,
    chords: list[Chord] | None = None,
    octave: int = 0,
) -> Rendering:
    """Renders the motif's phrase with its accompaniment; `tempo_ratio` scales durations and
    `octave` moves the lead alone (semitones, a multiple of 12)."""
    instrument = instrument or m.instrument
    acc = acc or m.acc
    chords = [c.transposed(transpose) for c in (chords or m.chords)]
    legato = float(rng.uniform(0.9, 0.98))
    notes = []
    ph = m.phrase
    for i, (p, o, d) in enumerate(zip(ph.pitches, ph.onsets, ph.durs)):
        jitter = 0.0 if i == 0 else float(np.clip(rng.normal(0, 0.006), -0.012, 0.012))
        notes.append(
            Note(
                p + m.shift + transpose + octave,
                o * tempo_ratio + jitter,
                d * tempo_ratio * legato,
                float(rng.uniform(0.85, 1.0)),
            )
        )
    spans = [(a * tempo_ratio, b * tempo_ratio) for a, b in m.spans]
    acc = replace(
        acc,
        center=acc.center + transpose
        if abs(transpose) <= 3
        else acc.center + transpose - 12 * int(np.sign(transpose)),
        beat_s=acc.beat_s * tempo_ratio,
    )
    upper, bass = accompaniment_notes(chords, spans, acc, rng)
    end = max(n.onset + n.dur for n in notes)
    mel = renderer.stem(instrument, notes)
    acc_stem = renderer.stem(acc.instrument, upper) * 0.8
    bass_stem = renderer.stem(acc.bass, bass) * 0.6
    acc_mix = _add(acc_stem, bass_stem)
    level = m.level_db if transpose == 0 and tempo_ratio == 1.0 and octave == 0 else float(rng.uniform(*m.level_range))
    mel, acc_mix = _balance(mel, acc_mix, end, renderer.sr, level)
    meta = {
        "transpose": transpose,
        "tempo_ratio": round(tempo_ratio, 4),
        "instrument": instrument,
        "key": f"{NAMES[(m.tonic + transpose) % 12]} {m.mode}",
        "accompaniment": {
            "style": acc.style,
            "instrument": acc.instrument,
            "bass": acc.bass,
            "open_voicing": acc.open_voicing,
            "center_midi": acc.center,
        },
        "chords": [c.name() for c in chords],
        "melody_over_accompaniment_db": round(level, 2),
    }
    if octave:
        meta["octave"] = octave
    return Rendering(
        mel, acc_mix, float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.45, 0.45)), end, meta
    )


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(max(a.size, b.size), dtype=np.float32)
    out[: a.size] += a
    out[: b.size] += b
    return out


def _balance(mel: np.ndarray, acc: np.ndarray, end: float, sr: int, level_db: float):
    """Scales so the melody is `level_db` above the accompaniment and the sum is SEGMENT_RMS."""
    n = int(end * sr)
    m_rms, a_rms = rms(mel[:n]), rms(acc[:n])
    if a_rms > 0 and m_rms > 0:
        acc = acc * (m_rms / a_rms / db(level_db))
    total = rms(_add(mel, acc)[:n]) or 1.0
    return mel * (SEGMENT_RMS / total), acc * (SEGMENT_RMS / total)


# ---------------------------------------------------------------- filler


def _progression(rng, tonic, mode, length, beat_s):
    spans, chords = [], []
    t = 0.0
    options = diatonic_chords(tonic, mode)
    prev = None
    while t < length - 1e-6:
        span = float(rng.choice([2, 3, 4, 4])) * beat_s
        if length - (t + span) < 1.5 * beat_s:
            span = length - t
        pool = [(c, p) for c, p in options if c != prev and c.quality != "dim"]
        w = np.array([p + 0.4 for _, p in pool])
        prev = pool[int(rng.choice(len(pool), p=w / w.sum()))][0]
        spans.append((t, t + span))
        chords.append(prev)
        t += span
    return spans, chords


def _filler_melody(rng, tonic, mode, spans, chords, beat_s, t0, t1) -> list[Note]:
    scale = sorted(scale_pitch_classes(tonic, mode))
    pitches = [p for p in range(57, 86) if p % 12 in scale]
    idx = int(np.argmin([abs(p - rng.uniform(64, 74)) for p in pitches]))
    notes = []
    t = t0
    span_i = 0
    steps = np.array([-4, -3, -2, -1, 0, 1, 2, 3, 4])
    w = np.array([0.5, 1, 3, 5, 0.7, 5, 3, 1, 0.5])
    while True:
        dur = float(rng.choice([0.5, 1, 1, 1, 1.5, 2])) * beat_s
        if t + dur > t1:
            break
        while span_i + 1 < len(spans) and spans[span_i + 1][0] <= t + 1e-6:
            span_i += 1
        if rng.random() < 0.08:
            t += dur  # a rest
            continue
        idx = int(np.clip(idx + rng.choice(steps, p=w / w.sum()), 0, len(pitches) - 1))
        if abs(t - spans[span_i][0]) < 1e-6:
            # Downbeats land on a chord tone: the line sounds harmonised, not random.
            tones = [i for i, p in enumerate(pitches) if p % 12 in chords[span_i].pcs]
            idx = min(tones, key=lambda i: (abs(i - idx), i))
        notes.append(
            Note(pitches[idx], t, dur * float(rng.uniform(0.85, 0.97)), float(rng.uniform(0.8, 1.0)))
        )
        t += dur
    return notes


def make_filler(
    length: float, rng: np.random.Generator, renderer: NoteRenderer, guard: NgramGuard
) -> Rendering:
    """Non-repeating filler: a random-walk melody over chords, or chords alone (pad, arpeggio)."""
    kind = str(rng.choice(["melody", "melody", "melody", "pad", "arpeggio"]))
    tonic = int(rng.integers(12))
    mode = "major" if rng.random() < 0.6 else "minor"
    beat_s = float(rng.uniform(0.38, 0.65))
    if kind == "pad":
        acc = Accompaniment(
            "block",
            _choice(rng, BLOCK_INSTRUMENTS),
            _choice(rng, BASS_INSTRUMENTS),
            int(rng.integers(50, 60)),
            bool(rng.random() < 0.5),
            beat_s,
        )
        spans, chords = _progression(rng, tonic, mode, length, beat_s * 1.5)
    else:
        acc = _random_acc(rng)
        acc = replace(acc, beat_s=beat_s)
        spans, chords = _progression(rng, tonic, mode, length, beat_s)
    upper, bass = accompaniment_notes(chords, spans, acc, rng)
    acc_mix = _add(
        renderer.stem(acc.instrument, upper, length) * 0.8, renderer.stem(acc.bass, bass, length) * 0.6
    )
    mel_notes: list[Note] = []
    instrument = None
    if kind == "melody":
        instrument = _choice(rng, renderer.melody_instruments)
        t0 = float(rng.uniform(0.3, 1.0))
        t1 = length - float(rng.uniform(0.3, 1.0))
        for _ in range(60):
            mel_notes = _filler_melody(rng, tonic, mode, spans, chords, beat_s, t0, t1)
            if guard.accepts([n.pitch for n in mel_notes]):
                break
        else:
            mel_notes, kind = [], "chords"  # no acceptable line: leave the chords alone
        guard.add([n.pitch for n in mel_notes])
    if mel_notes:
        mel = renderer.stem(instrument, mel_notes, length)
        mel, acc_mix = _balance(mel, acc_mix, length, renderer.sr, float(rng.uniform(3, 8)))
    else:
        mel = np.zeros(0, np.float32)
        acc_mix = acc_mix * (SEGMENT_RMS / (rms(acc_mix[: int(length * renderer.sr)]) or 1.0))
    meta = {
        "kind": kind,
        "key": f"{NAMES[tonic]} {mode}",
        "instrument": instrument,
        "accompaniment": {"style": acc.style, "instrument": acc.instrument, "bass": acc.bass},
    }
    return Rendering(
        mel, acc_mix, float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.45, 0.45)), length, meta
    )


def make_real_filler(
    length: float, rng: np.random.Generator, renderer: NoteRenderer, guard: NgramGuard, motifs: list[Motif]
) -> Rendering:
    """Filler made of real tunes in the key and arrangement of one of the score's motifs.

    A bar of the tonic chord, passages of tunes from the corpus one after another (each at
    least 3 s), harmonised the way the motifs are, and the tonic chord held to the end. Such a
    filler shares with the motifs what real scores share (their lead and accompaniment, the
    tonic chord, cadence formulas), but no six-note pattern with any motif, no eight-note
    pattern with other fillers, and no six-note pattern twice within a passage, so it repeats
    nothing. Stretches too short for a passage hold the tonic chord alone."""
    m = motifs[int(rng.integers(len(motifs)))]
    beat = m.acc.beat_s
    intro = min(4 * beat, 0.25 * length)
    end = length - 2 * beat
    t = intro
    passages: list[tuple[float, Passage]] = []
    while end - t >= 3.0 and len(passages) < 6:
        # Long passages without a restated phrase are rare: take a short one rather than none.
        passage = pick_passage(end - t, rng, guard.accepts_real, min_s=max(3.0, 0.5 * (end - t)))
        if passage is None:
            passage = pick_passage(end - t, rng, guard.accepts_real, min_s=3.0)
        if passage is None:
            break
        guard.add(passage.pitches)
        passages.append((t, passage))
        t += passage.end
    mode = passages[0][1].tune.mode if passages else m.mode
    tonic_chord = Chord(m.tonic, "maj" if mode == "major" else "min")
    spans, chords = [(0.0, intro if passages else length)], [tonic_chord]
    mel_notes: list[Note] = []
    legato = float(rng.uniform(0.9, 0.98))
    for at, passage in passages:
        shift = (m.tonic - passage.tune.tonic) % 12
        shift += 12 * int(round((float(rng.uniform(66, 72)) - np.mean(passage.pitches) - shift) / 12))
        rel = [Note(p + shift, o, d) for p, o, d in zip(passage.pitches, passage.onsets, passage.durs)]
        inner = chord_spans(passage.bar_lines, passage.end, float(rng.uniform(1.2, 2.2)))
        spans += [(a + at, b + at) for a, b in inner]
        chords += harmonize(rel, inner, m.tonic, mode)
        mel_notes += [Note(n.pitch, n.onset + at, n.dur * legato, float(rng.uniform(0.85, 1.0))) for n in rel]
    if passages:
        spans.append((t, length))
        chords.append(tonic_chord)
    upper, bass = accompaniment_notes(chords, spans, m.acc, rng)
    acc_mix = _add(
        renderer.stem(m.acc.instrument, upper, length) * 0.8, renderer.stem(m.acc.bass, bass, length) * 0.6
    )
    if mel_notes:
        mel = renderer.stem(m.instrument, mel_notes, length)
        mel, acc_mix = _balance(mel, acc_mix, length, renderer.sr, float(rng.uniform(*m.level_range)))
    else:
        mel = np.zeros(0, np.float32)
        acc_mix = acc_mix * (SEGMENT_RMS / (rms(acc_mix[: int(length * renderer.sr)]) or 1.0))
    meta = {
        "kind": "real melody" if mel_notes else "tonic chord",
        "key": f"{NAMES[m.tonic]} {mode}",
        "arrangement_of": m.id,
        "instrument": m.instrument if mel_notes else None,
        "accompaniment": {"style": m.acc.style, "instrument": m.acc.instrument, "bass": m.acc.bass},
    }
    if passages:
        meta["sources"] = [{"at_s": round(at, 3), **p.source()} for at, p in passages]
    return Rendering(
        mel, acc_mix, float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.45, 0.45)), length, meta
    )


def drum_loop(length: float, renderer: NoteRenderer, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A drum loop the length of a whole track: kick, snare on the back beats and closed hi-hat
    eighths at one tempo, with a varied kick pattern and velocities."""
    bpm = float(rng.uniform(80, 130))
    step = 60.0 / bpm / 4  # sixteenths
    kicks = {0, 8} | {int(x) for x in rng.choice([6, 10, 11, 14], size=int(rng.integers(0, 3)), replace=False)}
    n = int(length * renderer.sr)
    out = np.zeros(n, dtype=np.float32)
    k = 0
    while k * step < length:
        pos = k % 16
        hits = (["kick"] if pos in kicks else []) + (["snare"] if pos in (4, 12) else []) + (["hat"] if pos % 2 == 0 else [])
        i = int(round(k * step * renderer.sr))
        for kind in hits:
            x = renderer.drum(kind)[: n - i] * float(rng.uniform(0.7, 1.0)) * (0.5 if kind == "hat" else 1.0)
            out[i : i + x.size] += x
        k += 1
    return out, {"bpm": round(bpm, 2), "kick_steps": sorted(kicks)}


# ---------------------------------------------------------------- planning


def _track_names(cfg: ScoreConfig, rng) -> list[tuple[str, str]]:
    names, used = [], set()
    for i in range(cfg.tracks):
        while True:
            title = f"{_choice(rng, ADJECTIVES)} {_choice(rng, NOUNS)}"
            if title not in used:
                break
        used.add(title)
        fmt = cfg.formats[i % len(cfg.formats)]
        names.append((title, f"{i + 1:02d}-{title.lower().replace(' ', '-')}.{fmt}"))
    return names


def _place(
    counts: list[int],
    within: int,
    capacity: dict[int, int],
    n: int,
    rng: np.random.Generator,
    alone: int | None = None,
) -> list[list[int]]:
    """Motif indices per track, drawn by free capacity; every occurrence of motif `alone` goes
    to the track of its first."""
    placed: list[list[int]] = [[] for _ in range(n)]

    def pick(exclude=()):
        pool = [i for i in capacity if capacity[i] > len(placed[i]) and i not in exclude]
        if not pool:
            pool = [i for i in capacity if i not in exclude]  # over capacity: tracks grow
        w = np.array([capacity[i] - len(placed[i]) + 0.5 for i in pool], dtype=float)
        w = np.clip(w, 0.2, None)
        return pool[int(rng.choice(len(pool), p=w / w.sum()))]

    for k, count in enumerate(counts):
        tracks_k: list[int] = []
        for j in range(count):
            if j >= 1 and k == alone:
                t = tracks_k[0]  # a motif heard only inside one track
            elif j == 1:
                t = pick(exclude=tracks_k)  # across tracks: the second is always elsewhere
            elif j == 2 and k == within:
                t = tracks_k[0]  # and one motif recurs within a track
            else:
                t = pick()
            tracks_k.append(t)
            placed[t].append(k)
    return placed


def plan_occurrences(
    cfg: ScoreConfig, motifs: list[Motif], lengths: list[float], rng: np.random.Generator
) -> list[Occurrence]:
    """Places each motif's occurrences in tracks, then gives each one a tier.

    Some tracks hold no motif at all. Each motif appears in at least two tracks; one motif
    (when it has three or more occurrences) also recurs within a track. The earliest
    occurrence of a motif, by track then position, is its reference rendering. Under the wide
    conditions one motif (of three or more) is heard only inside one track, and the motif that
    recurs within a track does so 0.2-1 s after its previous occurrence there.
    """
    n = cfg.tracks
    n_free = int(round(cfg.distractor_share * n)) if n >= 5 else 0
    free = set(rng.choice(n, size=n_free, replace=False).tolist()) if n_free else set()
    capacity = {i: max(1, int(lengths[i] // 13)) for i in range(n) if i not in free}
    ks = sorted(cfg.occurrence_weights)
    probs = np.array([cfg.occurrence_weights[k] for k in ks], dtype=float)
    counts = [int(rng.choice(ks, p=probs / probs.sum())) for _ in motifs]
    within = max(range(len(motifs)), key=lambda k: (counts[k], -k))
    alone = None
    if cfg.wide and len(motifs) >= 3:
        alone = min((k for k in range(len(motifs)) if k != within), key=lambda k: (counts[k], k))
    for _ in range(200):
        placed = _place(counts, within, capacity, n, rng, alone)
        if not cfg.every_track_has_motif or all(placed[i] for i in capacity):
            break
    else:
        raise RuntimeError("could not give every track a motif occurrence; add occurrences")
    occs = []
    for t in range(n):
        order = list(rng.permutation(len(placed[t])))
        for slot, j in enumerate(order):
            occs.append(Occurrence(placed[t][j], t, slot))
    occs.sort(key=lambda o: (o.track, o.slot))
    if cfg.wide and counts[within] >= 3:
        _back_to_back(occs, within, rng)
    # Tiers: a shuffled cycle through all tiers keeps counts within one of each other;
    # a motif takes a tier it has not had yet when the cycle allows.
    cycle: list[str] = []
    seen_ref = set()
    rest = []
    for o in occs:
        if o.motif in seen_ref:
            rest.append(o)
        else:
            seen_ref.add(o.motif)
            o.tier = "exact"
            o.params = {"reference": True}
    used: dict[int, set] = {}
    for o in rest:
        if not cycle:
            cycle = [str(x) for x in rng.permutation(list(cfg.tiers))]
        pick_i = next((i for i, tier in enumerate(cycle) if tier not in used.get(o.motif, set())), 0)
        o.tier = cycle.pop(pick_i)
        used.setdefault(o.motif, set()).add(o.tier)
    return occs


def _back_to_back(occs: list[Occurrence], motif: int, rng: np.random.Generator) -> None:
    """Moves the second occurrence of `motif` in the track holding two of them right behind the
    first (0.2-1 s of silence between them); `occs` stays sorted by track and slot."""
    by_track: dict[int, list[Occurrence]] = {}
    for o in occs:
        if o.motif == motif:
            by_track.setdefault(o.track, []).append(o)
    pair = next((v[:2] for v in by_track.values() if len(v) >= 2), None)
    if pair is None:
        return
    first, second = pair
    mine = [o for o in occs if o.track == first.track and o is not second]
    mine.insert(mine.index(first) + 1, second)
    for slot, o in enumerate(mine):
        o.slot = slot
    second.params["gap_before_s"] = round(float(rng.uniform(0.2, 1.0)), 3)
    occs.sort(key=lambda o: (o.track, o.slot))


def _octave(m: Motif, rng: np.random.Generator) -> int:
    """An octave shift of the motif's lead that keeps it in a singable register."""
    mean = float(np.mean(m.phrase.pitches)) + m.shift
    if mean + 12 > 84:
        return -12
    if mean - 12 < 52:
        return 12
    return int(_choice(rng, [-12, 12]))


def _variation(o: Occurrence, m: Motif, renderer: NoteRenderer, rng) -> dict:
    """The arguments of [`render_motif`] for one of the variation tiers (transpose, tempo,
    timbre, octave)."""
    if o.tier == "transpose":
        return {"transpose": int(_choice(rng, [x for x in range(-5, 7) if x != 0]))}
    if o.tier == "tempo":
        r = 1.0
        while abs(r - 1.0) < 0.08:
            r = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
        return {"tempo_ratio": r}
    if o.tier == "timbre":
        acc = _random_acc(rng, exclude_style=m.acc.style, exclude_instr=m.acc.instrument)
        acc = replace(
            acc, open_voicing=not m.acc.open_voicing, center=m.acc.center + int(_choice(rng, [-5, -4, 4, 5]))
        )
        return {"instrument": _choice(rng, renderer.melody_instruments, (m.instrument,)), "acc": acc}
    if o.tier == "octave":
        return {"octave": _octave(m, rng)}
    raise ValueError(f"not a variation tier: {o.tier!r}")


def render_occurrence(
    o: Occurrence, m: Motif, renderer: NoteRenderer, rng, speech: str = "babble", wide: bool = False
) -> Rendering:
    """The rendering for an occurrence's tier (the reference for `exact` and `dialogue`)."""
    if o.tier in ("exact", "dialogue"):
        if o.tier == "dialogue":
            lo, hi = TTS_SNR_DB if speech == "tts" else (0.0, 6.0)
            o.params["snr_db"] = round(float(rng.uniform(lo, hi)), 2)
        return m.reference
    if o.tier in COMBINABLE:
        return render_motif(m, renderer, rng, **_variation(o, m, renderer, rng))
    if o.tier == "combined":
        # Two variations at once, under speech 3 dB under to 6 dB over the music.
        picked = [str(x) for x in rng.choice(COMBINABLE, size=2, replace=False)]
        kwargs: dict = {}
        for tier in picked:
            kwargs.update(_variation(replace(o, tier=tier), m, renderer, rng))
        o.params["variations"] = picked
        o.params["snr_db"] = round(float(rng.uniform(*TTS_SNR_DB)), 2)
        return render_motif(m, renderer, rng, **kwargs)
    if o.tier == "reharmonized":
        notes = [
            Note(p + m.shift, on, d) for p, on, d in zip(m.phrase.pitches, m.phrase.onsets, m.phrase.durs)
        ]
        chords = reharmonize(notes, m.spans, m.chords, m.tonic, m.mode, rng)
        if wide:
            chords = [c.with_seventh(m.tonic) for c in chords]
        return render_motif(m, renderer, rng, chords=chords)
    raise ValueError(f"unknown tier {o.tier!r}")


# ---------------------------------------------------------------- tracks


def _filler_slots(total: float, n_occ: int, rng) -> list[float]:
    mins = [2.0] + [3.0] * (n_occ - 1) + [4.0] if n_occ else [total]
    if not n_occ:
        return mins
    extra = max(0.0, total - sum(mins))
    share = rng.dirichlet(np.ones(len(mins)) * 1.5)
    return [a + extra * s for a, s in zip(mins, share)]


def _split_slot(length: float, rng) -> list[float]:
    parts = max(1, int(np.ceil(length / float(rng.uniform(12, 20)))))
    w = rng.dirichlet(np.ones(parts) * 4)
    return [length * x for x in w]


def build_track(
    length: float,
    occs: list[Occurrence],
    motifs: list[Motif],
    cfg: ScoreConfig,
    renderer: NoteRenderer,
    guard: NgramGuard,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[dict], dict]:
    """Renders one track (channels x samples) and sets the occurrences' times; returns the
    audio, its segments and what lies over whole stretches of it (drums, speech over filler)."""
    sr = renderer.sr
    for o in occs:
        o.rendering = render_occurrence(o, motifs[o.motif], renderer, rng, cfg.speech, cfg.wide)
    occ_total = sum(o.rendering.end for o in occs)
    if length < occ_total + 3.0 * len(occs) + 6.0:
        length = occ_total + 3.5 * len(occs) + 8.0
    slots = _filler_slots(length - occ_total, len(occs), rng)
    for i, o in enumerate(occs):
        if "gap_before_s" in o.params:
            # Silence, not filler, before a repeat that follows its previous occurrence.
            slots[-1] += slots[i] - o.params["gap_before_s"]
            slots[i] = o.params["gap_before_s"]
    segments: list[tuple[float, Rendering, float, Occurrence | None]] = []
    t = 0.0
    for i, slot in enumerate(slots):
        if i < len(occs) and "gap_before_s" in occs[i].params:
            t += slot
        else:
            for part in _split_slot(slot, rng):
                if cfg.wide:
                    r = make_real_filler(part, rng, renderer, guard, motifs)
                else:
                    r = make_filler(part, rng, renderer, guard)
                segments.append((t, r, float(rng.uniform(-4, 2)), None))
                t += part
        if i < len(occs):
            o = occs[i]
            o.start_s, o.end_s = t, t + o.rendering.end
            segments.append((t, o.rendering, float(rng.uniform(-4, 2)), o))
            t += o.rendering.end
    total = t
    n = int((total + 1.5) * sr)
    mix = np.zeros((cfg.channels, n), dtype=np.float32)
    info = []
    for start, r, gain_db, o in segments:
        i = int(round(start * sr))
        for stem, pan in ((r.melody, r.melody_pan), (r.acc, r.acc_pan)):
            if stem.size:
                s = _pan(stem[: n - i], pan, cfg.channels) * db(gain_db)
                mix[:, i : i + s.shape[1]] += s
        entry = {"start_s": round(start, 3), "end_s": round(start + r.end, 3), "gain_db": round(gain_db, 2)}
        entry.update(
            {"type": "motif", "motif": motifs[o.motif].id, "tier": o.tier}
            if o
            else {"type": "filler", **r.meta}
        )
        info.append(entry)
    over: dict = {}
    if cfg.wide and rng.random() < 0.5:
        loop, over["drums"] = drum_loop(total + 1.5, renderer, rng)
        level = float(rng.uniform(-10.0, -4.0))
        loop *= rms(mix.mean(axis=0)) / (rms(loop) or 1.0) * db(level)
        mix += loop[None, : mix.shape[1]]
        over["drums"]["level_db"] = round(level, 2)
    ir = room_ir(sr, float(rng.uniform(0.5, 1.8)), rng, cfg.channels)
    mix = add_reverb(mix, ir, float(rng.uniform(0.12, 0.3)))
    # Slow level drift on top of the per-segment levels.
    knots = np.linspace(0, n, max(2, int(total / 10) + 2))
    mix *= db(np.interp(np.arange(n), knots, rng.uniform(-2, 2, knots.size))).astype(np.float32)[None, :]
    for o in occs:
        if o.tier in ("dialogue", "combined"):
            _overlay_dialogue(mix, o, sr, rng, cfg.speech)
    if cfg.wide:
        over["speech_over_filler"] = _speech_over_filler(mix, info, sr, rng, cfg.speech)
    fade_out = float(rng.uniform(1.5, 3.0))
    ramp = np.clip((total + 1.5 - np.arange(n) / sr) / fade_out, 0, 1)
    ramp *= np.clip(np.arange(n) / (0.02 * sr), 0, 1)
    mix *= ramp.astype(np.float32)[None, :]
    target = db(float(rng.uniform(-20, -15)))
    mix *= target / (rms(mix) or 1.0)
    peak = np.max(np.abs(mix))
    if peak > 0.97:
        mix *= 0.97 / peak
    return mix, info, over


def _speech_over_filler(mix: np.ndarray, info: list[dict], sr: int, rng, kind: str) -> list[dict]:
    """Speech over one or two stretches of filler (3-8 s), at the levels of the talked-over
    occurrences, so that speech tells nothing about where motifs are."""
    fillers = [e for e in info if e["type"] == "filler" and e["end_s"] - e["start_s"] >= 4.0]
    spans = []
    for k in rng.permutation(len(fillers))[: int(rng.integers(1, 3))]:
        e = fillers[int(k)]
        length = min(float(rng.uniform(3.0, 8.0)), e["end_s"] - e["start_s"] - 0.5)
        a = float(rng.uniform(e["start_s"], e["end_s"] - length))
        snr = round(float(rng.uniform(*TTS_SNR_DB)), 2)
        _overlay_speech(mix, a, a + length, a, a + length, snr, sr, rng, kind)
        spans.append({"start_s": round(a, 3), "end_s": round(a + length, 3), "snr_db": snr})
    return spans


def _overlay_dialogue(mix: np.ndarray, o: Occurrence, sr: int, rng, kind: str = "babble") -> None:
    """Adds speech (babble, or espeak-ng lines with `kind` "tts") and room noise over an
    occurrence at its SNR (music over speech+noise)."""
    a = max(0.0, o.start_s - float(rng.uniform(0.0, 1.5)))
    b = min(mix.shape[1] / sr, o.end_s + float(rng.uniform(0.0, 1.5)))
    _overlay_speech(mix, a, b, o.start_s, o.end_s, o.params["snr_db"], sr, rng, kind)
    o.params["dialogue_span_s"] = [round(a, 3), round(b, 3)]


def _overlay_speech(
    mix: np.ndarray, a: float, b: float, ref_a: float, ref_b: float, snr_db: float, sr: int, rng, kind: str
) -> None:
    """Adds speech and room noise over seconds `a`..`b`, scaled so that the music over
    `ref_a`..`ref_b` lies `snr_db` above them there."""
    if kind == "tts":
        voices = [random_tts_voice(rng) for _ in range(int(rng.integers(2, 4)))]
        speech, _ = tts_dialogue(b - a, sr, rng, voices, density=0.85)
    else:
        speech, _ = dialogue(b - a, sr, rng, density=0.85)
    noise = room_noise(speech.size, sr, rng) * db(-float(rng.uniform(12, 20)))
    over = speech + noise
    i0, i1 = int(ref_a * sr), int(ref_b * sr)
    music = rms(mix[:, i0:i1].mean(axis=0))
    j0 = i0 - int(a * sr)
    level = rms(over[j0 : j0 + i1 - i0]) or 1.0
    over *= music / level / db(snr_db)
    ia = int(a * sr)
    mix[:, ia : ia + over.size] += over[None, : mix.shape[1] - ia]


def generate(cfg: ScoreConfig, out: Path, log=print) -> dict:
    """Generates the whole score into `out` and returns the truth document (also written)."""
    out.mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(cfg.seed).spawn(3 + cfg.tracks)
    plan_rng, motif_rng, name_rng = (np.random.default_rng(s) for s in seeds[:3])
    renderer = SampledRenderer(cfg.sr) if cfg.renderer == "sampled" else NoteRenderer(cfg.sr)
    motifs = make_motifs(cfg, motif_rng, renderer)
    lengths = plan_rng.uniform(cfg.track_min_s, cfg.track_max_s, cfg.tracks).tolist()
    occs = plan_occurrences(cfg, motifs, lengths, plan_rng)
    names = _track_names(cfg, name_rng)
    guard = NgramGuard(motifs)
    for m in motifs:
        m.reference = render_motif(m, renderer, motif_rng)
    tracks = []
    for t in range(cfg.tracks):
        rng = np.random.default_rng(seeds[3 + t])
        mine = [o for o in occs if o.track == t]
        audio, segments, over = build_track(lengths[t], mine, motifs, cfg, renderer, guard, rng)
        title, fname = names[t]
        tags = {"title": title, "artist": cfg.artist, "album": cfg.album, "track": f"{t + 1}/{cfg.tracks}"}
        out_sr, bits = cfg.sr, 16
        if cfg.wide:
            # Files as they come: other rates, mono, 24-bit where the format keeps it.
            out_sr = int(rng.choice([22050, 44100, 48000]))
            if rng.random() < 0.3:
                audio = audio.mean(axis=0, keepdims=True)
            bits = int(rng.choice([16, 24]))
        audio_io.encode(out / fname, audio, cfg.sr, tags, out_sr=out_sr, bits=bits)
        entry = {
            "file": fname,
            "title": title,
            "duration_s": round(audio.shape[1] / cfg.sr, 3),
            "sample_rate": out_sr,
            "channels": audio.shape[0],
            "segments": segments,
        }
        if cfg.wide:
            entry["bits"] = bits if fname.rsplit(".", 1)[-1] in ("wav", "flac") else None
            entry.update(over)
        tracks.append(entry)
        log(f"  {fname}  {audio.shape[1] / cfg.sr:6.1f} s  {len(mine)} motif occurrence(s)")
    truth = truth_document(cfg, motifs, occs, tracks)
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def truth_document(cfg: ScoreConfig, motifs: list[Motif], occs: list[Occurrence], tracks) -> dict:
    """The `leitmotif.truth/1` document with generator metadata."""
    import music21
    import scipy

    doc_motifs = []
    for k, m in enumerate(motifs):
        mine = sorted((o for o in occs if o.motif == k), key=lambda o: (o.track, o.start_s))
        doc_motifs.append(
            {
                "id": m.id,
                "source": m.phrase.source(),
                "reference": {
                    "shift_semitones": m.shift,
                    "quarter_bpm": round(60.0 / m.phrase.sec_per_ql, 2),
                    **m.reference.meta,
                },
                "occurrences": [
                    {
                        "track": tracks[o.track]["file"],
                        "start_s": round(o.start_s, 3),
                        "end_s": round(o.end_s, 3),
                        "tier": o.tier,
                        **o.rendering.meta,
                        **o.params,
                    }
                    for o in mine
                ],
            }
        )
    names = WIDE_TIERS if cfg.wide else TIERS
    tier_counts = {t: sum(1 for o in occs if o.tier == t and not o.params.get("reference")) for t in names}
    return {
        "schema": "leitmotif.truth/1",
        "generator": {
            "script": "scripts/gen_score.py",
            "seed": cfg.seed,
            "music21": music21.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "ffmpeg": audio_io.ffmpeg_version(),
            "sample_rate": cfg.sr,
            "channels": cfg.channels,
            "formats": list(cfg.formats),
            **({"conditions": cfg.conditions} if cfg.wide else {}),
            "tiers": list(cfg.tiers),
            "non_reference_tier_counts": tier_counts,
            "references": len(motifs),
        },
        "tracks": tracks,
        "motifs": doc_motifs,
    }
