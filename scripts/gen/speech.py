"""Synthetic speech-like babble (glottal source, moving formants, syllables, fricatives) and room noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from .synth import colored_noise, rms

# Formants F1-F4 (Hz) of an adult male voice; other speakers scale them.
VOWELS = {
    "a": (730, 1090, 2440, 3400),
    "e": (530, 1840, 2480, 3500),
    "i": (270, 2290, 3010, 3600),
    "o": (570, 840, 2410, 3400),
    "u": (300, 870, 2240, 3400),
    "ae": (660, 1720, 2410, 3400),
    "er": (490, 1350, 1690, 3300),
    "uh": (520, 1190, 2390, 3400),
}
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])
# Fricative noise bands (Hz): s, sh, f, h.
FRICATIVES = ((4000, 9500), (2000, 6000), (1200, 8000), (500, 3500))
F0_MIN, F0_MAX = 80.0, 250.0


@dataclass(frozen=True)
class Speaker:
    """A voice: mean pitch, formant scale (vocal tract length) and speaking rate."""

    f0: float
    formant_scale: float
    rate: float


def random_speaker(rng: np.random.Generator) -> Speaker:
    """A male- or female-like voice."""
    if rng.random() < 0.5:
        return Speaker(
            float(rng.uniform(90, 135)), float(rng.uniform(0.95, 1.05)), float(rng.uniform(3.0, 5.5))
        )
    return Speaker(float(rng.uniform(170, 230)), float(rng.uniform(1.12, 1.2)), float(rng.uniform(3.5, 6.0)))


def _smooth_noise(n: int, rng: np.random.Generator, points_per_s: float, sr: int) -> np.ndarray:
    k = max(2, int(n / sr * points_per_s) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, k), rng.standard_normal(k))


def utterance(speaker: Speaker, duration: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One breath group of babble, about `duration` seconds, unit RMS."""
    # Syllable plan: durations around 1/rate, each with a vowel and maybe an onset consonant.
    bounds = [0.0]
    while bounds[-1] < duration:
        bounds.append(bounds[-1] + rng.uniform(0.7, 1.3) / speaker.rate)
    n = int(bounds[-1] * sr) + 1
    t = np.arange(n) / sr
    n_syl = len(bounds) - 1
    vowels = [list(VOWELS)[int(rng.integers(len(VOWELS)))] for _ in range(n_syl)]
    stress = rng.random(n_syl) < 0.3
    onsets = rng.choice(3, size=n_syl, p=[0.4, 0.35, 0.25])  # none, fricative, plosive

    # Pitch: declining over the breath group, accent bumps on stressed syllables, slow wander.
    f0 = speaker.f0 * np.interp(t, [0, t[-1]], [1.1, 0.88])
    f0 *= 1.0 + 0.05 * _smooth_noise(n, rng, 4, sr)
    for s in range(n_syl):
        if stress[s]:
            c = 0.5 * (bounds[s] + bounds[s + 1])
            f0 *= 1.0 + 0.12 * np.exp(-0.5 * ((t - c) / 0.06) ** 2)
    f0 = np.clip(f0, F0_MIN, F0_MAX)

    # Glottal source: one pulse per period, with a -12 dB/octave glottal roll-off and
    # +6 dB/octave lip radiation, plus a little aspiration noise.
    phase = np.cumsum(f0) / sr
    pulses = np.zeros(n)
    idx = np.nonzero(np.diff(np.floor(phase)) > 0)[0] + 1
    pulses[idx] = 1.0 + 0.1 * rng.standard_normal(idx.size)
    source = signal.lfilter([1.0], [1.0, -1.9, 0.9025], pulses)
    source = signal.lfilter([1.0, -1.0], [1.0], source)
    source += 0.02 * rng.standard_normal(n) * (rms(source) or 1.0)

    # Voicing envelope: one bump per syllable after its consonant; the dips between
    # syllables are the 3-6 Hz amplitude modulation of real speech.
    voiced = np.zeros(n)
    fric = np.zeros(n)
    for s in range(n_syl):
        a, b = bounds[s], bounds[s + 1]
        v0 = a
        if onsets[s] == 1:
            length = rng.uniform(0.05, 0.12)
            band = FRICATIVES[int(rng.integers(len(FRICATIVES)))]
            i0, i1 = int(a * sr), int(min(b, a + length) * sr)
            if i1 > i0 + 8:
                sos = signal.butter(2, [band[0], min(band[1], 0.45 * sr)], btype="band", fs=sr, output="sos")
                burst = signal.sosfilt(sos, rng.standard_normal(i1 - i0))
                fric[i0:i1] += burst * np.hanning(i1 - i0) * rng.uniform(0.2, 0.45)
            v0 = a + length * 0.8
        elif onsets[s] == 2:
            i0 = int((a + 0.03) * sr)
            i1 = min(n, i0 + int(0.015 * sr))
            fric[i0:i1] += rng.standard_normal(i1 - i0) * np.linspace(0.8, 0, i1 - i0)
            v0 = a + 0.05
        seg = (t >= v0) & (t < b - 0.02)
        if seg.any():
            local = (t[seg] - v0) / max(b - 0.02 - v0, 1e-3)
            shape = np.sin(np.pi * np.clip(local, 0, 1)) ** 0.6
            voiced[seg] = np.maximum(voiced[seg], shape * (1.3 if stress[s] else 1.0))

    # Formants glide between syllable targets; apply them per STFT frame.
    centers = [0.5 * (bounds[s] + bounds[s + 1]) for s in range(n_syl)]
    targets = np.array([VOWELS[v] for v in vowels], dtype=float) * speaker.formant_scale
    x = _formant_filter(source * voiced, centers, targets, sr)
    x += fric * (rms(x) or 1.0) * 1.5
    return x / (rms(x) or 1.0)


def _formant_filter(x: np.ndarray, centers, targets: np.ndarray, sr: int) -> np.ndarray:
    n_fft = 1 << int(round(np.log2(0.032 * sr)))
    hop = n_fft // 4
    pad = np.concatenate([np.zeros(n_fft), x, np.zeros(n_fft)])
    frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::hop]
    win = np.hanning(n_fft)
    spec = np.fft.rfft(frames * win, axis=1)
    times = (np.arange(frames.shape[0]) * hop + n_fft / 2 - n_fft) / sr
    if len(centers) == 1:
        fm = np.repeat(targets[:1], times.size, axis=0)
    else:
        fm = np.stack([np.interp(times, centers, targets[:, k]) for k in range(4)], axis=1)
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)[None, :]
    env = np.ones_like(spec, dtype=float)
    for k in range(4):
        fk = fm[:, k : k + 1]
        env *= fk**2 / np.sqrt((fk**2 - f**2) ** 2 + (BANDWIDTHS[k] * f) ** 2)
    y = np.fft.irfft(spec * env, n_fft, axis=1) * win
    out = np.zeros(pad.size)
    for i in range(y.shape[0]):
        out[i * hop : i * hop + n_fft] += y[i]
    # Hann^2 overlap-add at a quarter-frame hop sums to 1.5.
    return out[n_fft : n_fft + x.size] / 1.5


def _unit_active_rms(out: np.ndarray, spans: list[tuple[float, float]], sr: int) -> np.ndarray:
    """`out` scaled to unit RMS over the (start, end) seconds of `spans`."""
    active = np.zeros(out.size, dtype=bool)
    for a, b in spans:
        active[int(a * sr) : int(b * sr)] = True
    level = rms(out[active]) if active.any() else 1.0
    return out / (level or 1.0)


def dialogue(
    duration: float,
    sr: int,
    rng: np.random.Generator,
    speakers: list[Speaker] | None = None,
    density: float = 0.7,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Turn-taking babble filling `duration` seconds, unit RMS over its active parts.

    `density` is roughly the share of time someone is speaking. Returns the signal and
    the (start, end) seconds of each utterance.
    """
    if speakers is None:
        speakers = [random_speaker(rng) for _ in range(int(rng.integers(2, 4)))]
    n = int(duration * sr)
    out = np.zeros(n)
    spans = []
    t = float(rng.uniform(0.0, 0.4))
    who = int(rng.integers(len(speakers)))
    while t < duration - 0.3:
        length = min(float(rng.uniform(0.8, 4.5)), duration - t)
        if rng.random() < 0.35:
            who = int(rng.integers(len(speakers)))
        u = utterance(speakers[who], length, sr, rng) * 10 ** (rng.uniform(-3, 3) / 20)
        i = int(t * sr)
        u = u[: n - i]
        out[i : i + u.size] += u
        spans.append((t, t + u.size / sr))
        mean_pause = length * (1.0 - density) / max(density, 0.05)
        t += u.size / sr + float(rng.uniform(0.15, 0.3) + rng.exponential(max(mean_pause - 0.2, 0.01)))
    return _unit_active_rms(out, spans, sr), spans


def room_noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Room tone: pink and brown noise with a faint mains hum, unit RMS."""
    x = colored_noise(n, rng, 1.0) + 0.7 * colored_noise(n, rng, 2.0)
    if rng.random() < 0.5:
        hum = float(rng.choice([50.0, 60.0]))
        t = np.arange(n) / sr
        x += 0.15 * (np.sin(2 * np.pi * hum * t) + 0.5 * np.sin(2 * np.pi * 3 * hum * t))
    return x / (rms(x) or 1.0)


# Words for text-to-speech lines. Real speech, not babble: espeak-ng reads them as sentences.
_EN_WORDS = (
    "I you we they he she it not never always where when why what how this that there here "
    "waited left came told knew thought heard wanted loved lost found called promised remember "
    "forget believe tonight yesterday tomorrow morning winter river station letter door house "
    "father mother brother sister friend doctor company money time road rain light dark cold warm "
    "long again still only just really maybe please sorry thank you listen look wait stop go"
).split()
_KO_WORDS = (
    "안녕하세요 오늘 어제 내일 아침 저녁 겨울 강 역 편지 문 집 아버지 어머니 형 누나 친구 "
    "의사 회사 돈 시간 길 비 빛 어둠 정말 다시 아직 그냥 제발 미안해 고마워 들어봐 기다려 "
    "가지마 사랑해 기억해 잊지마 믿어 왜 어디 언제 무엇 어떻게 여기 거기 그래서 하지만"
).split()


def _sentence(rng: np.random.Generator, korean: bool) -> str:
    words = _KO_WORDS if korean else _EN_WORDS
    n = int(rng.integers(3, 12))
    text = " ".join(str(w) for w in rng.choice(words, size=n))
    return text + str(rng.choice([".", "?", "!", "..."]))


def tts_utterance(rng: np.random.Generator, voice: dict, sr: int) -> np.ndarray:
    """One line spoken by espeak-ng with `voice` (language, speed, pitch), resampled to `sr`."""
    import subprocess
    import tempfile

    from scipy.signal import resample_poly

    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voice["lang"] + voice.get("variant", ""),
                "-s",
                str(int(voice["speed"] * rng.uniform(0.9, 1.1))),
                "-p",
                str(voice["pitch"]),
                "-a",
                "150",
                "-w",
                tmp.name,
                _sentence(rng, voice["lang"] == "ko"),
            ],
            check=True,
            capture_output=True,
        )
        import soundfile

        x, rate = soundfile.read(tmp.name, dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    if rate != sr:
        g = np.gcd(int(rate), int(sr))
        x = resample_poly(x, sr // g, int(rate) // g)
    return x


def random_tts_voice(rng: np.random.Generator) -> dict:
    """An espeak-ng voice: English or Korean, male or female variant, its own speed and pitch."""
    lang = str(rng.choice(["en-us", "ko"]))
    variant = str(rng.choice(["", "+f2", "+m3", "+f4", "+m1"]))
    return {"lang": lang, "variant": variant, "speed": int(rng.integers(140, 190)), "pitch": int(rng.integers(25, 70))}


def tts_dialogue(
    duration: float, sr: int, rng: np.random.Generator, voices: list[dict], density: float = 0.8
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Turn-taking text-to-speech lines filling `duration` seconds, unit RMS over its active
    parts; `density` is roughly the share of time someone speaks. Returns the signal and the
    (start, end) seconds of each line."""
    n = int(duration * sr)
    out = np.zeros(n)
    spans = []
    t = float(rng.uniform(0.0, 0.4))
    who = int(rng.integers(len(voices)))
    while t < duration - 0.3:
        if rng.random() < 0.5:
            who = int(rng.integers(len(voices)))
        u = tts_utterance(rng, voices[who], sr)
        # espeak pads lines with silence: keep what is voiced.
        loud = np.flatnonzero(np.abs(u) > 0.01 * (np.max(np.abs(u)) or 1.0))
        if loud.size:
            u = u[loud[0] : loud[-1] + 1]
        u = u / (rms(u) or 1.0) * 10 ** (rng.uniform(-3, 3) / 20)
        i = int(t * sr)
        u = u[: max(n - i, 0)]
        out[i : i + u.size] += u
        spans.append((t, t + u.size / sr))
        length = u.size / sr
        mean_pause = length * (1.0 - density) / max(density, 0.05)
        t += length + float(rng.uniform(0.1, 0.25) + rng.exponential(max(mean_pause - 0.15, 0.01)))
    return _unit_active_rms(out, spans, sr), spans
