"""Synthetic episodes: dialogue scenes, room noise, silences and effects with track excerpts as cues."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import audio_io
from .speech import dialogue, random_speaker, random_tts_voice, room_noise, tts_dialogue
from .synth import colored_noise, db, rms

SPEECH_DBFS = -26.0  # RMS of active speech; music levels are set relative to it
MIN_CUE_S = 8.0


@dataclass
class EpisodeConfig:
    """What to generate."""

    seed: int
    count: int
    minutes: float = 10.0
    sr: int = 22050
    channels: int = 1
    formats: tuple[str, ...] = ("wav",)
    unused_share: float = 0.25
    # "studio": music at -3..+6 dB against speech, ducked 4-9 dB in 60% of cues, formant babble.
    # "broadcast": the levels measured on broadcast episodes: music 2-23 dB below active speech
    # before ducking, ducked 6-12 dB under every line, dialogue over about three quarters of
    # each cue, espeak-ng speech in English and Korean, cues of 10-50 s with fades of 0-4 s,
    # and short stings of music that is in no track.
    levels: str = "studio"
    stings_dir: Path | None = None
    # Share of cues played in another key (1-3 semitones up or down, same tempo): the track
    # re-pitched as a re-arranged use would be, which verbatim detection cannot find.
    transposed_share: float = 0.0


def _track_files(tracks_dir: Path) -> list[str]:
    """The tracks of a generated score (truth.json order), else every audio file in the folder."""
    truth = tracks_dir / "truth.json"
    if truth.is_file():
        doc = json.loads(truth.read_text())
        if doc.get("tracks"):
            return [t["file"] for t in doc["tracks"]]
    return sorted(p.name for p in tracks_dir.iterdir() if p.suffix.lstrip(".").lower() in audio_io.FORMATS)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average (a cumulative sum keeps it linear in the signal length)."""
    if width < 2:
        return x
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    half = width // 2
    hi = np.minimum(np.arange(x.size) + width - half, x.size)
    lo = np.maximum(np.arange(x.size) - half, 0)
    return ((c[hi] - c[lo]) / width).astype(np.float32)


def _effect(kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A short sound effect: a door thud, footsteps or a clink."""
    if kind == "thud":
        n = int(0.4 * sr)
        t = np.arange(n) / sr
        x = colored_noise(n, rng, 2.0) * np.exp(-t / 0.06)
        return x + 0.8 * np.sin(2 * np.pi * rng.uniform(50, 90) * t) * np.exp(-t / 0.1)
    if kind == "steps":
        step = float(rng.uniform(0.45, 0.6))
        count = int(rng.integers(3, 9))
        n = int((step * count + 0.2) * sr)
        x = np.zeros(n)
        for k in range(count):
            i = int(k * step * sr)
            m = int(0.05 * sr)
            x[i : i + m] += colored_noise(m, rng, 1.0) * np.exp(-np.arange(m) / (0.008 * sr))
        return x
    n = int(1.0 * sr)
    t = np.arange(n) / sr
    f = rng.uniform(1800, 3200)
    return sum(np.sin(2 * np.pi * f * r * t) * np.exp(-t / 0.25 * (1 + r)) for r in (1.0, 2.3, 3.9))


def _least_played(rng, plays: dict[int, int], played: list[int]) -> int:
    """A track of `played`, drawn with weight 1 / (1 + times played so far)."""
    w = np.array([1.0 / (1 + plays[i]) for i in played])
    return played[int(rng.choice(len(played), p=w / w.sum()))]


def _plan_cues(
    rng, total: float, plays: dict[int, int], durations: list[float], broadcast: bool = False
) -> list[dict]:
    """Cue placements; `plays` (track -> times played so far) steers towards rarely played tracks."""
    if broadcast:
        return _plan_broadcast_cues(rng, total, plays, durations)
    cues = []
    t = float(rng.uniform(2.0, 30.0))
    played = sorted(plays)
    while True:
        track = _least_played(rng, plays, played)
        dur = durations[track]
        start = (
            0.0 if rng.random() < 0.4 or dur < 2 * MIN_CUE_S else float(rng.uniform(0, dur - MIN_CUE_S - 1))
        )
        remaining = dur - start
        length = remaining if rng.random() < 0.3 else float(rng.uniform(MIN_CUE_S, min(remaining, 75.0)))
        length = min(length, total - 1.0 - t)
        if length < MIN_CUE_S:
            break
        plays[track] += 1
        cues.append(
            {
                "track": track,
                "start_s": t,
                "track_start_s": start,
                "length": length,
                "fade_in_s": float(rng.uniform(0.5, 3.0)) if rng.random() < 0.5 else 0.01,
                "fade_out_s": float(rng.uniform(1.0, 4.0)) if rng.random() < 0.6 else 0.03,
                "msr_db": float(rng.uniform(-3.0, 6.0)),
                "duck_db": float(rng.uniform(4.0, 9.0)) if rng.random() < 0.6 else 0.0,
            }
        )
        t += length + float(rng.uniform(4.0, 60.0))
    return cues


def _plan_broadcast_cues(rng, total: float, plays: dict[int, int], durations: list[float]) -> list[dict]:
    """Cues of 10-50 s at broadcast levels (see `EpisodeConfig.levels`)."""
    cues = []
    t = float(rng.uniform(2.0, 30.0))
    played = sorted(plays)
    while True:
        track = _least_played(rng, plays, played)
        dur = durations[track]
        length = min(float(rng.uniform(10.0, 50.0)), dur - 0.5)
        start = float(rng.uniform(0, max(dur - length, 0.0)))
        length = min(length, total - 1.0 - t)
        if length < 10.0:
            break
        plays[track] += 1
        cues.append(
            {
                "track": track,
                "start_s": t,
                "track_start_s": start,
                "length": length,
                "fade_in_s": max(float(rng.uniform(0.0, 4.0)), 0.01),
                "fade_out_s": max(float(rng.uniform(0.0, 4.0)), 0.03),
                "msr_db": -float(rng.uniform(2.0, 23.0)),
                "duck_db": float(rng.uniform(6.0, 12.0)),
            }
        )
        t += length + float(rng.uniform(4.0, 45.0))
    return cues


def _sting(rng: np.random.Generator, stings: list[np.ndarray], sr: int) -> np.ndarray:
    """1-3 s of music from outside the track set, faded at both ends."""
    src = stings[int(rng.integers(len(stings)))].mean(axis=0)
    m = min(int(float(rng.uniform(1.0, 3.0)) * sr), src.size)
    j = int(rng.integers(0, max(src.size - m, 1)))
    x = src[j : j + m].astype(np.float64)
    ramp = np.minimum(1.0, np.minimum(np.arange(m), np.arange(m)[::-1]) / (0.05 * sr))
    return x * ramp / (rms(x) or 1.0)


def _transpose(x: np.ndarray, sr: int, semitones: int) -> np.ndarray:
    """`x` (channels x samples) `semitones` higher at the same tempo and length (ffmpeg: a
    resampled rate, then WSOLA time stretching back to the original duration)."""
    ratio = 2.0 ** (semitones / 12.0)
    ch, m = x.shape
    stretch = f"asetrate={sr * ratio:.3f},aresample={sr},atempo={1.0 / ratio:.6f}"
    raw = ["-f", "f32le", "-ar", str(sr), "-ac", str(ch)]
    cmd = ["ffmpeg", "-v", "error", *raw, "-i", "pipe:0", "-af", stretch, *raw, "pipe:1"]
    pcm = np.ascontiguousarray(x.T, dtype=np.float32).tobytes()
    out = subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout
    y = np.frombuffer(out, dtype=np.float32).reshape(-1, ch).T
    z = np.zeros((ch, m), dtype=np.float32)
    z[:, : min(m, y.shape[1])] = y[:, :m]
    return z


def make_episode(
    rng: np.random.Generator,
    cfg: EpisodeConfig,
    tracks: list[np.ndarray],
    plays: dict[int, int],
    stings: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, list[dict], list[dict]]:
    """One episode (channels x samples) with its cues and scenes."""
    sr = cfg.sr
    total = cfg.minutes * 60.0
    n = int(total * sr)
    speech = np.zeros(n, dtype=np.float32)
    ambience = np.zeros(n, dtype=np.float32)
    talking = np.zeros(n, dtype=np.float32)
    scenes = []
    broadcast = cfg.levels == "broadcast"
    cast = [(random_tts_voice if broadcast else random_speaker)(rng) for _ in range(int(rng.integers(3, 6)))]
    t = 0.0
    while t < total:
        length = min(float(rng.uniform(20.0, 90.0)), total - t)
        i0, i1 = int(t * sr), int((t + length) * sr)
        noise_db = float(rng.uniform(-52.0, -40.0))
        ambience[i0:i1] = room_noise(i1 - i0, sr, rng) * db(noise_db)
        scene = {"start_s": round(t, 3), "end_s": round(t + length, 3), "room_noise_dbfs": round(noise_db, 1)}
        if rng.random() < (0.9 if broadcast else 0.75):
            who = [
                cast[int(k)]
                for k in rng.choice(len(cast), size=min(len(cast), int(rng.integers(2, 4))), replace=False)
            ]
            if broadcast:
                voice, spans = tts_dialogue(length, sr, rng, who, density=float(rng.uniform(0.7, 0.95)))
            else:
                voice, spans = dialogue(length, sr, rng, who, density=float(rng.uniform(0.5, 0.85)))
            speech[i0 : i0 + voice.size] += (voice * db(SPEECH_DBFS)).astype(np.float32)[: n - i0]
            for a, b in spans:
                talking[i0 + int(a * sr) : i0 + int(b * sr)] = 1.0
            scene["dialogue"] = True
        else:
            scene["dialogue"] = False
        if rng.random() < 0.3 and length > 10:
            # A moment of digital silence at the scene change.
            gap = float(rng.uniform(0.5, 2.5))
            g0 = int((t + length - gap) * sr)
            speech[g0:i1] = 0.0
            ambience[g0:i1] = 0.0
            talking[g0:i1] = 0.0
            scene["silence_s"] = round(gap, 3)
        scenes.append(scene)
        t += length
    effects = np.zeros(n, dtype=np.float32)
    t = float(rng.uniform(10, 60))
    while t < total - 2:
        fx = _effect(str(rng.choice(["thud", "steps", "clink"])), sr, rng)
        fx = fx / (np.max(np.abs(fx)) or 1.0) * db(SPEECH_DBFS + float(rng.uniform(3, 12)))
        i = int(t * sr)
        effects[i : i + fx.size] += fx[: n - i].astype(np.float32)
        t += float(rng.uniform(20, 90))
    if broadcast and stings:
        t = float(rng.uniform(5, 40))
        while t < total - 4:
            x = _sting(rng, stings, sr) * db(SPEECH_DBFS - float(rng.uniform(2.0, 15.0)))
            i = int(t * sr)
            effects[i : i + x.size] += x[: n - i].astype(np.float32)
            t += float(rng.uniform(15, 60))

    music = np.zeros((cfg.channels, n), dtype=np.float32)
    cues = _plan_cues(rng, total, plays, [x.shape[1] / sr for x in tracks], broadcast)
    duck_env = _smooth(talking, int(0.4 * sr))
    # Drawn from their own generator, so that episodes without transposed cues stay as they were.
    arng = np.random.default_rng(rng.integers(2**63)) if cfg.transposed_share > 0 else None
    for c in cues:
        c["transpose"] = 0
        if arng is not None and arng.random() < cfg.transposed_share:
            c["transpose"] = int(arng.choice([-3, -2, -1, 1, 2, 3]))
        src = tracks[c["track"]]
        j0 = int(c["track_start_s"] * sr)
        m = int(c["length"] * sr)
        x = src[:, j0 : j0 + m].astype(np.float32)
        m = x.shape[1]
        if c["transpose"]:
            x = _transpose(x, sr, c["transpose"])
        level = rms(x.mean(axis=0))
        x *= db(SPEECH_DBFS + c["msr_db"]) / (level or 1.0)
        tt = np.arange(m) / sr
        env = np.clip(tt / c["fade_in_s"], 0, 1) * np.clip((m / sr - tt) / c["fade_out_s"], 0, 1)
        i0 = int(c["start_s"] * sr)
        if c["duck_db"] > 0:
            env = env * (1.0 - (1.0 - db(-c["duck_db"])) * duck_env[i0 : i0 + m])
        music[:, i0 : i0 + m] += x * env.astype(np.float32)[None, :]
        c["end_s"] = c["start_s"] + m / sr
        c["speech_share"] = float(talking[i0 : i0 + m].mean()) if m else 0.0
    mix = music + (speech + ambience + effects)[None, :]
    peak = float(np.max(np.abs(mix)))
    if peak > 0.98:
        mix *= 0.98 / peak
    return mix, cues, scenes


def generate_episodes(cfg: EpisodeConfig, tracks_dir: Path, out: Path, log=print) -> dict:
    """Writes the episodes and cuetruth.json into `out`; returns the document."""
    out.mkdir(parents=True, exist_ok=True)
    names = _track_files(tracks_dir)
    if len(names) < 2:
        raise SystemExit(f"{tracks_dir}: need at least 2 tracks, found {len(names)}")
    tracks = [audio_io.decode(tracks_dir / name, cfg.sr, cfg.channels)[0] for name in names]
    stings = []
    if cfg.stings_dir is not None:
        stings = [audio_io.decode(cfg.stings_dir / name, cfg.sr, cfg.channels)[0] for name in _track_files(cfg.stings_dir)]
    seeds = np.random.SeedSequence(cfg.seed).spawn(1 + cfg.count)
    rng = np.random.default_rng(seeds[0])
    n_unused = max(1, int(round(cfg.unused_share * len(names))))
    unused = sorted(rng.choice(len(names), size=n_unused, replace=False).tolist())
    plays = {i: 0 for i in range(len(names)) if i not in unused}
    episodes = []
    for e in range(cfg.count):
        erng = np.random.default_rng(seeds[1 + e])
        mix, cues, scenes = make_episode(erng, cfg, tracks, plays, stings)
        fmt = cfg.formats[e % len(cfg.formats)]
        path = out / f"ep{e + 1:02d}.{fmt}"
        audio_io.encode(
            path,
            mix,
            cfg.sr,
            {"title": f"Episode {e + 1}", "album": "Leitmotif Synthetic Series"},
            video=fmt in ("mp4", "mkv"),
        )
        doc_cues = []
        for c in sorted(cues, key=lambda c: c["start_s"]):
            doc_cues.append(
                {
                    "track": names[c["track"]],
                    "start_s": round(c["start_s"], 3),
                    "end_s": round(c["end_s"], 3),
                    "track_start_s": round(c["track_start_s"], 3),
                    "transpose": c["transpose"],
                    "msr_db": round(c["msr_db"], 2),
                    "fade_in_s": round(c["fade_in_s"], 2),
                    "fade_out_s": round(c["fade_out_s"], 2),
                    "duck_db": round(c["duck_db"], 2),
                    "speech_share": round(c["speech_share"], 3),
                    "to_track_end": bool(
                        c["track_start_s"] + c["end_s"] - c["start_s"]
                        >= tracks[c["track"]].shape[1] / cfg.sr - 0.01
                    ),
                }
            )
        episodes.append(
            {
                "path": path.name,
                "duration_s": round(mix.shape[1] / cfg.sr, 3),
                "cues": doc_cues,
                "scenes": scenes,
            }
        )
        log(f"  {path.name}  {mix.shape[1] / cfg.sr / 60:.1f} min  {len(doc_cues)} cues")
    doc = {
        "schema": "leitmotif.cuetruth/1",
        "generator": {
            "script": "scripts/gen_score.py episodes",
            "seed": cfg.seed,
            "ffmpeg": audio_io.ffmpeg_version(),
            "sample_rate": cfg.sr,
            "channels": cfg.channels,
            "speech_dbfs": SPEECH_DBFS,
            "levels": cfg.levels,
            "msr": "music RMS over the excerpt (before fades and ducking) minus active-speech RMS, dB",
        },
        "tracks_dir": os.path.relpath(tracks_dir.resolve(), out.resolve()),
        "tracks": [
            {"file": name, "duration_s": round(x.shape[1] / cfg.sr, 3), "plays": plays.get(i, 0)}
            for i, (name, x) in enumerate(zip(names, tracks))
        ],
        "unused_tracks": [names[i] for i in unused],
        "episodes": episodes,
    }
    (out / "cuetruth.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc
