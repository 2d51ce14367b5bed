"""Instrument synthesis: note renderers (numpy tones, or General MIDI samples through
FluidSynth), melody/accompaniment stems, reverb and noise."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import signal

# Instrument families; the score planner draws from these lists.
MELODY_INSTRUMENTS = ("piano", "strings", "flute", "clarinet", "guitar", "brass", "organ", "celesta")
BLOCK_INSTRUMENTS = ("strings", "organ", "pad")
PULSE_INSTRUMENTS = ("piano", "guitar")
ARPEGGIO_INSTRUMENTS = ("piano", "guitar", "harp", "celesta")
BASS_INSTRUMENTS = ("bass", "cello")

# With sampled instruments, leads the numpy renderer has no tone for: voice and choir "oohs",
# square and saw leads, reeds, vibraphone.
SAMPLED_MELODY_INSTRUMENTS = MELODY_INSTRUMENTS + ("voice", "choir", "square", "saw", "oboe", "sax", "vibraphone")

# General MIDI program (0-based) of each instrument, for the sampled renderer.
GM_PROGRAMS = {
    "piano": 0,
    "celesta": 8,
    "vibraphone": 11,
    "organ": 19,
    "guitar": 24,
    "bass": 32,
    "cello": 42,
    "harp": 46,
    "strings": 48,
    "choir": 52,
    "voice": 53,
    "brass": 61,
    "sax": 65,
    "oboe": 68,
    "clarinet": 71,
    "flute": 73,
    "square": 80,
    "saw": 81,
    "pad": 89,
}

# Where Debian's fluid-soundfont-gm puts the FluidR3 General MIDI soundfont.
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# Partials above this are skipped: they cost time and add nothing to chroma or realism.
MAX_PARTIAL_HZ = 9000.0


def midi_hz(midi: float) -> float:
    """Frequency in Hz of a (possibly fractional) MIDI pitch."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def stable_seed(*parts) -> int:
    """A seed derived from values, stable across processes (unlike hash())."""
    return zlib.crc32(repr(parts).encode("utf-8"))


def db(x: float) -> float:
    """Amplitude ratio for a level in dB."""
    return 10.0 ** (x / 20.0)


def rms(x: np.ndarray) -> float:
    """Root mean square of an array (0 for an empty one)."""
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch, onset and duration in seconds, linear velocity gain."""

    pitch: float
    onset: float
    dur: float
    vel: float = 1.0


def attack_decay(n: int, sr: int, attack: float, decay: float, sustain: float) -> np.ndarray:
    """Attack then decay to a sustain level, held for the rest of `n` samples."""
    t = np.arange(n) / sr
    return np.interp(t, [0.0, attack, attack + decay], [0.0, 1.0, sustain])


def _table(amps, rng: np.random.Generator, size: int = 2048) -> np.ndarray:
    """One cycle of a waveform with harmonic k at amplitude amps[k-1] and random phase."""
    ph = np.arange(size) * (2 * np.pi / size)
    tab = np.zeros(size)
    for k, a in enumerate(amps, start=1):
        if a > 0:
            tab += a * np.sin(k * ph + rng.uniform(0, 2 * np.pi))
    return np.append(tab, tab[0])


def _lookup(tab: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Reads a wavetable at phase `cycles` (in cycles) with linear interpolation."""
    size = tab.size - 1
    pos = np.mod(cycles, 1.0) * size
    i = pos.astype(np.int64)
    frac = pos - i
    return tab[i] + frac * (tab[i + 1] - tab[i])


def _harmonic_amps(f0: float, sr: int, law) -> np.ndarray:
    """Amplitudes law(k) for the harmonics of f0 that stay below the synthesis limit."""
    k_max = max(1, int(min(MAX_PARTIAL_HZ, 0.45 * sr) // f0))
    k = np.arange(1, k_max + 1, dtype=np.float64)
    return law(k)


def _cycles(f0: float, n: int, sr: int) -> np.ndarray:
    return f0 * np.arange(n) / sr


def _vibrato_cycles(
    f0: float, n: int, sr: int, depth: float, rate: float, delay: float, phi: float
) -> np.ndarray:
    t = np.arange(n) / sr
    ramp = np.clip((t - delay) / 0.3, 0.0, 1.0)
    freq = f0 * (1.0 + depth * ramp * np.sin(2 * np.pi * rate * t + phi))
    return np.cumsum(freq) / sr


# Each "held" renderer returns the note as it sounds while held (or ringing freely) for
# n samples; NoteRenderer cuts it at note-off and applies the instrument's release.


def _piano(f0, n, sr, rng):
    t = np.arange(n) / sr
    pitch_factor = (f0 / 262.0) ** 0.5
    bright = _table(_harmonic_amps(f0, sr, lambda k: 1.0 / k**1.1), rng)
    dull = _table([1.0, 0.4, 0.15], rng)
    cyc = _cycles(f0, n, sr)
    x = 0.6 * _lookup(bright, cyc) * np.exp(-3.0 * pitch_factor * t)
    x += 0.5 * _lookup(dull, cyc) * np.exp(-0.7 * pitch_factor * t)
    thump = rng.standard_normal(n) * np.exp(-t / 0.004) * 0.05
    return (x + thump) * attack_decay(n, sr, 0.004, 0.0, 1.0)


def _strings(f0, n, sr, rng, attack=0.16):
    tab = _table(_harmonic_amps(f0, sr, lambda k: (1.0 / k) / (1.0 + (k * f0 / 3000.0) ** 2)), rng)
    cyc = _vibrato_cycles(f0, n, sr, 0.004, rng.uniform(5.0, 6.0), 0.25, rng.uniform(0, 6.28))
    # A second, slightly detuned desk gives the ensemble shimmer.
    x = _lookup(tab, cyc) + 0.6 * _lookup(tab, cyc * 1.0023 + 0.37)
    return x * attack_decay(n, sr, attack, 0.1, 0.9)


def _pad(f0, n, sr, rng):
    return _strings(f0, n, sr, rng, attack=0.35) * 0.8


def _cello(f0, n, sr, rng):
    return _strings(f0, n, sr, rng, attack=0.08)


def _flute(f0, n, sr, rng):
    tab = _table([1.0, 0.35, 0.12, 0.05, 0.02], rng)
    cyc = _vibrato_cycles(f0, n, sr, 0.003, rng.uniform(4.5, 5.5), 0.2, rng.uniform(0, 6.28))
    lo, hi = min(f0 * 1.5, 0.4 * sr), min(f0 * 6, 0.45 * sr)
    sos = signal.butter(2, [lo, hi], btype="band", fs=sr, output="sos")
    breath = signal.sosfilt(sos, rng.standard_normal(n)) * 0.08
    return (_lookup(tab, cyc) + breath) * attack_decay(n, sr, 0.06, 0.08, 0.85)


def _clarinet(f0, n, sr, rng):
    tab = _table(_harmonic_amps(f0, sr, lambda k: np.where(k % 2 == 1, 1.0 / k, 0.12 / k)), rng)
    cyc = _vibrato_cycles(f0, n, sr, 0.0015, 5.0, 0.3, rng.uniform(0, 6.28))
    return _lookup(tab, cyc) * attack_decay(n, sr, 0.04, 0.05, 0.9)


def _brass(f0, n, sr, rng):
    t = np.arange(n) / sr
    # A small upward scoop into the pitch, typical of brass attacks.
    cyc = np.cumsum(f0 * 2 ** (-0.025 * np.exp(-t / 0.03))) / sr
    dull = _table([1.0, 0.6, 0.35], rng)
    bright = _table(_harmonic_amps(f0, sr, lambda k: np.where(k > 3, 1.0 / k**0.7, 0.0)), rng)
    # Upper partials open up later: the brightening attack of a brass note.
    bloom = 1.0 - np.exp(-t / 0.06)
    x = _lookup(dull, cyc) + bloom * _lookup(bright, cyc)
    return x * attack_decay(n, sr, 0.05, 0.1, 0.85) * 0.7


def _organ(f0, n, sr, rng):
    t = np.arange(n) / sr
    # Drawbars 16', 8', 4', 2 2/3', 2', 1 1/3', 1' as harmonics of f0/2.
    amps = np.zeros(16)
    for h, a in ((1, 0.35), (2, 1.0), (4, 0.6), (6, 0.25), (8, 0.3), (12, 0.12), (16, 0.1)):
        if h * f0 / 2 < min(MAX_PARTIAL_HZ, 0.45 * sr):
            amps[h - 1] = a
    x = _lookup(_table(amps, rng), _cycles(f0 / 2, n, sr))
    trem = 1.0 + 0.05 * np.sin(2 * np.pi * 6.2 * t)
    return x * trem * attack_decay(n, sr, 0.01, 0.0, 1.0) * 0.6


def _celesta(f0, n, sr, rng):
    t = np.arange(n) / sr
    x = np.zeros(n)
    for ratio, amp, dec in ((1.0, 1.0, 2.2), (2.0, 0.12, 4.0), (3.93, 0.22, 7.0), (9.6, 0.05, 18.0)):
        if ratio * f0 < min(MAX_PARTIAL_HZ, 0.45 * sr):
            x += amp * np.exp(-dec * t) * np.sin(2 * np.pi * ratio * f0 * t + rng.uniform(0, 6.28))
    return x * attack_decay(n, sr, 0.002, 0.0, 1.0)


def _karplus(f0, n, sr, rng, brightness, decay):
    # Plucked string at an internal rate that makes the loop length an integer number
    # of samples, then resampled: exact pitch without a fractional-delay filter.
    period = int(np.ceil(sr / f0)) + 1
    rate = period * f0
    n_int = int(n / sr * rate) + 2 * period
    # Initial string shape: a triangle plucked near one end (harmonics fall as 1/k^2,
    # so the fundamental leads) plus some filtered noise for the attack.
    pos = np.arange(period) / period
    pluck = rng.uniform(0.18, 0.3)
    shape = np.where(pos < pluck, pos / pluck, (1 - pos) / (1 - pluck))
    noise = signal.lfilter([1 - brightness], [1, -brightness], rng.uniform(-1, 1, period))
    burst = shape - shape.mean() + 0.3 * noise
    y = np.zeros(n_int)
    y[:period] = burst
    g = decay ** (440.0 / f0 / 4)  # higher strings die away faster per period
    for start in range(period, n_int, period):
        stop = min(start + period, n_int)
        cur = y[start - period : stop - period]
        before = (
            y[start - period - 1 : stop - period - 1]
            if start > period
            else np.concatenate(([0.0], y[: stop - period - 1]))
        )
        y[start:stop] = g * 0.5 * (cur + before)
    t = np.arange(n) / sr
    return np.interp(t * rate, np.arange(n_int), y) * 1.6


def _guitar(f0, n, sr, rng):
    return _karplus(f0, n, sr, rng, brightness=0.55, decay=0.996)


def _harp(f0, n, sr, rng):
    return _karplus(f0, n, sr, rng, brightness=0.65, decay=0.997)


def _bass(f0, n, sr, rng):
    t = np.arange(n) / sr
    cyc = _cycles(f0, n, sr)
    x = _lookup(_table([1.0, 0.45, 0.2, 0.08], rng), cyc) * np.exp(-1.2 * t)
    x += 0.3 * _lookup(_table([0, 0.5, 0.4, 0.3, 0.2], rng), cyc) * np.exp(-3.0 * t)
    return x * attack_decay(n, sr, 0.006, 0.0, 1.0)


# instrument -> (held renderer, release time in seconds after note-off)
INSTRUMENTS = {
    "piano": (_piano, 0.18),
    "strings": (_strings, 0.3),
    "pad": (_pad, 0.5),
    "cello": (_cello, 0.25),
    "flute": (_flute, 0.12),
    "clarinet": (_clarinet, 0.1),
    "brass": (_brass, 0.12),
    "organ": (_organ, 0.05),
    "celesta": (_celesta, 0.6),
    "guitar": (_guitar, 0.06),
    "harp": (_harp, 0.15),
    "bass": (_bass, 0.08),
}

# Held renders are this long; longer notes get their own render.
HELD_S = 5.0


class NoteRenderer:
    """Renders single notes from a cached held tone per (instrument, pitch).

    A note of any length is the held tone cut at note-off with the instrument's release,
    so one synthesis serves every duration. Each held tone comes from a seed derived
    from its key: the result never depends on the order notes are requested in.
    """

    # The leads a score may draw from with this renderer.
    melody_instruments = MELODY_INSTRUMENTS

    def __init__(self, sr: int):
        self.sr = sr
        self._cache: dict[tuple, np.ndarray] = {}

    def _held(self, instrument: str, pitch: float, length_s: float) -> np.ndarray:
        key = (instrument, round(pitch * 100), length_s)
        hit = self._cache.get(key)
        if hit is None:
            x = self._render_held(instrument, pitch, length_s, key)
            hit = (x / (np.max(np.abs(x)) or 1.0)).astype(np.float32)
            self._cache[key] = hit
        return hit

    def _render_held(self, instrument: str, pitch: float, length_s: float, key: tuple) -> np.ndarray:
        rng = np.random.default_rng(stable_seed(*key, self.sr))
        render, _ = INSTRUMENTS[instrument]
        return render(midi_hz(pitch), int(length_s * self.sr), self.sr, rng)

    def release(self, instrument: str) -> float:
        """Seconds a note of `instrument` takes to fade after note-off."""
        return INSTRUMENTS[instrument][1]

    def note(self, instrument: str, pitch: float, dur: float) -> np.ndarray:
        """One note: held for `dur` seconds, then released; unit peak before release."""
        release = self.release(instrument)
        need = dur + release
        length = HELD_S if need <= HELD_S else float(np.ceil(need))
        held = self._held(instrument, pitch, length)
        n_on = int(round(dur * self.sr))
        n_rel = int(round(release * self.sr))
        x = held[: n_on + n_rel].copy()
        x[n_on:] *= np.linspace(1.0, 0.0, x.size - n_on, dtype=np.float32)
        return x

    def drum(self, kind: str) -> np.ndarray:
        """One drum hit (`kick`, `snare` or `hat`, see [`DRUM_KEYS`]), unit peak."""
        key = ("drum", kind)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._render_drum(kind)
            self._cache[key] = hit
        return hit

    def _render_drum(self, kind: str) -> np.ndarray:
        return _drum(kind, self.sr, np.random.default_rng(stable_seed("drum", kind, self.sr)))

    def stem(self, instrument: str, notes: list[Note], length_s: float | None = None) -> np.ndarray:
        """Mixes notes into one mono stem; length covers the last release tail."""
        if not notes:
            return np.zeros(int((length_s or 0) * self.sr), dtype=np.float32)
        rendered = [(n, self.note(instrument, n.pitch, n.dur)) for n in notes]
        end = max(int(round(n.onset * self.sr)) + x.size for n, x in rendered)
        if length_s is not None:
            end = max(end, int(length_s * self.sr))
        out = np.zeros(end, dtype=np.float32)
        for n, x in rendered:
            i = int(round(n.onset * self.sr))
            if i < 0:
                x = x[-i:]
                i = 0
            out[i : i + x.size] += n.vel * x
        return out


# General MIDI percussion keys (channel 10) of the drum hits a loop uses.
DRUM_KEYS = {"kick": 36, "snare": 38, "hat": 42}


def _drum(kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A synthesised drum hit: a falling sine for the kick, noise and a body tone for the snare,
    bright noise for the closed hi-hat."""
    n = int((0.4 if kind == "kick" else 0.25 if kind == "snare" else 0.08) * sr)
    t = np.arange(n) / sr
    if kind == "kick":
        f = 45.0 + 80.0 * np.exp(-t / 0.04)
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.15)
    elif kind == "snare":
        x = 0.8 * rng.standard_normal(n) * np.exp(-t / 0.07) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    else:
        noise = rng.standard_normal(n + 1)
        x = np.diff(noise) * np.exp(-t / 0.02)
    return (x / (np.max(np.abs(x)) or 1.0)).astype(np.float32)


class SampledRenderer(NoteRenderer):
    """Renders held notes from a General MIDI soundfont with the `fluidsynth` command (Debian
    `fluidsynth fluid-soundfont-gm`): recorded instrument samples instead of numpy tones. Each
    held tone is one FluidSynth run, without its reverb and chorus (the mix adds a room), at the
    nearest MIDI note bent to the exact pitch."""

    melody_instruments = SAMPLED_MELODY_INSTRUMENTS

    def __init__(self, sr: int, soundfont: Path = DEFAULT_SOUNDFONT):
        super().__init__(sr)
        if shutil.which("fluidsynth") is None:
            raise SystemExit("the sampled renderer needs fluidsynth: apt-get install fluidsynth fluid-soundfont-gm")
        if not soundfont.is_file():
            raise SystemExit(f"soundfont not found: {soundfont} (apt-get install fluid-soundfont-gm)")
        self.soundfont = soundfont

    def release(self, instrument: str) -> float:
        # Sampled tones carry their own decay; the cut at note-off only needs to be click-free.
        return 0.25 if instrument in ("piano", "celesta", "vibraphone", "harp", "guitar") else 0.12

    def _render_held(self, instrument: str, pitch: float, length_s: float, key: tuple) -> np.ndarray:
        import mido

        note = int(round(pitch))
        # Default bend range: two semitones either way over 8192 steps.
        bend = int(np.clip(round((pitch - note) / 2.0 * 8192), -8192, 8191))
        ticks = int(round(length_s * 2 * 480))  # 120 bpm: two beats a second
        messages = [
            mido.Message("program_change", program=GM_PROGRAMS[instrument], time=0),
            mido.Message("pitchwheel", pitch=bend, time=0),
            mido.Message("note_on", note=note, velocity=100, time=0),
            mido.Message("note_off", note=note, velocity=0, time=ticks),
        ]
        return _fluidsynth(self.soundfont, self.sr, messages, length_s)

    def _render_drum(self, kind: str) -> np.ndarray:
        import mido

        # Channel 10 (9 from zero) is the General MIDI drum kit.
        messages = [
            mido.Message("note_on", channel=9, note=DRUM_KEYS[kind], velocity=100, time=0),
            mido.Message("note_off", channel=9, note=DRUM_KEYS[kind], velocity=0, time=240),
        ]
        x = _fluidsynth(self.soundfont, self.sr, messages, 0.6)
        return (x / (np.max(np.abs(x)) or 1.0)).astype(np.float32)


def _fluidsynth(soundfont: Path, sr: int, messages: list, length_s: float) -> np.ndarray:
    """Renders MIDI `messages` (mido, at 120 bpm, 480 ticks a beat) with FluidSynth, without its
    reverb and chorus, as mono samples of `length_s` seconds."""
    import mido
    import soundfile

    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    tr.extend(messages)
    with tempfile.TemporaryDirectory() as tmp:
        mid_path, wav_path = Path(tmp) / "n.mid", Path(tmp) / "n.wav"
        mid.save(mid_path)
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sr),
             "-F", str(wav_path), str(soundfont), str(mid_path)],
            check=True,
            capture_output=True,
        )
        x, _ = soundfile.read(wav_path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    n = int(length_s * sr)
    return np.pad(x[:n], (0, max(0, n - x.shape[0])))


def room_ir(sr: int, rt60: float, rng: np.random.Generator, channels: int) -> np.ndarray:
    """A reverb impulse response: sparse early reflections plus a decaying noise tail."""
    n = int(rt60 * 1.2 * sr)
    t = np.arange(n) / sr
    irs = []
    for _ in range(channels):
        tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
        # High frequencies die away faster in real rooms: blend in a darker copy.
        dark = signal.lfilter([0.15], [1, -0.85], tail)
        ir = 0.4 * tail * np.exp(-3.0 * t / rt60) + dark
        ir[: int(0.008 * sr)] = 0.0
        for _ in range(6):
            ir[int(rng.uniform(0.008, 0.045) * sr)] += rng.uniform(0.2, 0.5) * rng.choice([-1, 1])
        irs.append(ir / np.sqrt(np.sum(ir**2)))
    return np.array(irs)


def add_reverb(mix: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """Adds the convolution of each channel of `mix` (channels x samples) with `ir`."""
    out = mix.astype(np.float32)
    for c in range(mix.shape[0]):
        # float32 halves the FFT cost; the tail is far below 16-bit output resolution anyway.
        w = signal.oaconvolve(out[c], ir[c % ir.shape[0]].astype(np.float32))[: mix.shape[1]]
        out[c] += wet * w
    return out


def colored_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power falling as 1/f**exponent (1 = pink, 2 = brown), unit RMS."""
    if n == 0:
        return np.zeros(0)
    m = sfft.next_fast_len(n, real=True)  # an awkward length can make the FFT 100x slower
    spec = sfft.rfft(rng.standard_normal(m))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (exponent / 2.0)
    spec[0] = 0.0
    x = sfft.irfft(spec, m)[:n]
    return x / (rms(x) or 1.0)
