#!/usr/bin/env python3
"""Generates synthetic soundtracks with known motifs, episodes with known cues, and the shipped fixture.

Commands
  score     python3 scripts/gen_score.py score --seed 7 --tracks 12 --out DIR
                [--formats wav,flac,mp3,ogg,m4a] [--sr 44100] [--channels 2]
            Tracks (40-120 s) made of motif occurrences and filler, plus DIR/truth.json
            (leitmotif.truth/1). Each occurrence has a `tier`: exact, transpose, tempo, timbre,
            reharmonized or dialogue (with --conditions wide also octave and combined); the
            first occurrence of each motif is its reference (tier exact). Formats are used in
            turn, one per track.
  episodes  python3 scripts/gen_score.py episodes --seed 3 --count 5 --tracks-dir DIR --out EPDIR
                [--minutes 10] [--formats wav] [--sr 22050] [--channels 1]
            Long episodes of babble, room noise, silence and effects with excerpts of the
            tracks in DIR, plus EPDIR/cuetruth.json (leitmotif.cuetruth/1). Some tracks
            never play.
  fixture   python3 scripts/gen_score.py fixture [--out fixtures/score]
            Regenerates the shipped fixture exactly: 5 short tracks, 22.05 kHz mono, one per
            format (wav, flac, mp3, ogg, m4a), 3 motifs recurring transposed, at other tempos
            and on other instruments.

Every run is deterministic given its seed, and ends with the checks of scripts/check_truth.py.
fixtures/README.md describes the tiers, the truth files' extra fields and the fixture.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_truth import check_file  # noqa: E402
from gen import audio_io  # noqa: E402

FIXTURE_SEED = 20240611
FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "score"


def _formats(text: str, allowed) -> tuple[str, ...]:
    out = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in out if f not in allowed]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"formats must be some of {','.join(allowed)}, got {text!r}")
    return out


def _prepare_out(out: Path, truth_name: str) -> None:
    """Removes the files of an earlier run in `out`; refuses a folder holding other audio.

    Stale tracks left beside a new truth file would be analysed as if they belonged to it.
    """
    if not out.exists():
        return
    audio = [
        p
        for p in out.iterdir()
        if p.suffix.lstrip(".").lower() in audio_io.EPISODE_FORMATS + audio_io.FORMATS
    ]
    if not audio:
        return
    if not (out / truth_name).is_file():
        raise SystemExit(f"{out}: holds audio files but no {truth_name}; choose an empty folder")
    for p in audio:
        p.unlink()
    (out / truth_name).unlink()


def _report_check(path: Path, **kw) -> int:
    problems = check_file(path, **kw)
    for p in problems:
        print(f"CHECK FAILED: {p}", file=sys.stderr)
    print(f"check: {path} {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _print_tiers(truth: dict) -> None:
    counts = truth["generator"]["non_reference_tier_counts"]
    total = sum(len(m["occurrences"]) for m in truth["motifs"])
    print(
        f"{len(truth['motifs'])} motifs, {total} occurrences "
        f"({truth['generator']['references']} references); other tiers: "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if k in truth["generator"]["tiers"])
    )


def cmd_score(args) -> int:
    from gen.score import TIERS, WIDE_TIERS, ScoreConfig, generate

    cfg = ScoreConfig(
        seed=args.seed,
        tracks=args.tracks,
        sr=args.sr,
        channels=args.channels,
        formats=args.formats,
        album=f"Leitmotif Synthetic Score (seed {args.seed})",
        renderer=args.renderer,
        speech=args.speech,
        conditions=args.conditions,
        tiers=WIDE_TIERS if args.conditions == "wide" else TIERS,
    )
    _prepare_out(args.out, "truth.json")
    t0 = time.time()
    truth = generate(cfg, args.out)
    print(f"wrote {args.out} in {time.time() - t0:.1f} s")
    _print_tiers(truth)
    return _report_check(args.out / "truth.json")


def cmd_fixture(args) -> int:
    from gen.score import ScoreConfig, generate

    cfg = ScoreConfig(
        seed=FIXTURE_SEED,
        tracks=5,
        sr=22050,
        channels=1,
        formats=("wav", "flac", "mp3", "ogg", "m4a"),
        track_min_s=20.0,
        track_max_s=34.0,
        motifs=3,
        occurrence_weights={2: 0.4, 3: 0.6},
        tiers=("transpose", "tempo", "timbre", "exact"),
        distractor_share=0.0,
        every_track_has_motif=True,
        album="Leitmotif Fixture Score",
    )
    out = args.out
    _prepare_out(out, "truth.json")
    truth = generate(cfg, out)
    _print_tiers(truth)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"fixture size {size / 1e6:.2f} MB")
    return _report_check(out / "truth.json")


def cmd_episodes(args) -> int:
    from gen.episodes import EpisodeConfig, generate_episodes

    cfg = EpisodeConfig(
        seed=args.seed,
        count=args.count,
        minutes=args.minutes,
        sr=args.sr,
        channels=args.channels,
        formats=args.formats,
        levels=args.levels,
        stings_dir=args.stings_dir,
        transposed_share=args.transposed_share,
    )
    _prepare_out(args.out, "cuetruth.json")
    t0 = time.time()
    generate_episodes(cfg, args.tracks_dir, args.out)
    print(f"wrote {args.out} in {time.time() - t0:.1f} s")
    return _report_check(args.out / "cuetruth.json", tracks_dir=args.tracks_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    sc = sub.add_parser("score", help="a synthetic soundtrack with truth.json")
    sc.add_argument("--seed", type=int, required=True)
    sc.add_argument("--tracks", type=int, default=12, help="number of tracks (default 12)")
    sc.add_argument("--out", type=Path, required=True)
    sc.add_argument(
        "--formats",
        type=lambda s: _formats(s, audio_io.FORMATS),
        default=("wav",),
        help="comma-separated, used in turn per track (default wav)",
    )
    sc.add_argument("--sr", type=int, default=44100, help="sample rate (default 44100)")
    sc.add_argument("--channels", type=int, choices=(1, 2), default=2, help="default 2")
    sc.add_argument(
        "--renderer",
        choices=("synth", "sampled"),
        default="synth",
        help="instruments: synth (numpy tones, default) or sampled (General MIDI samples through "
        "FluidSynth, Debian fluidsynth fluid-soundfont-gm; adds voice, choir, square and saw "
        "leads, oboe, sax, vibraphone)",
    )
    sc.add_argument(
        "--speech",
        choices=("babble", "tts"),
        default="babble",
        help="the dialogue tier: babble (formant babble, music 0-6 dB over it, default) or tts "
        "(espeak-ng in English and Korean, speech -3 to +6 dB over the music)",
    )
    sc.add_argument(
        "--conditions",
        choices=("standard", "wide"),
        default="standard",
        help="standard (default), or wide: fillers made of real melodies in a motif's key and "
        "arrangement with tonic-chord intros and outros, the lead 0.5-16 dB over its "
        "accompaniment, reharmonisation with sevenths, two more tiers (octave: the lead an octave "
        "away; combined: two variations under speech), speech over filler too, drum loops under "
        "half the tracks, a motif heard only inside one track, a repeat 0.2-1 s after the last, "
        "and tracks at 22.05/44.1/48 kHz, mono or stereo, 16- or 24-bit",
    )
    sc.set_defaults(func=cmd_score)

    ep = sub.add_parser("episodes", help="episodes with track excerpts and cuetruth.json")
    ep.add_argument("--seed", type=int, required=True)
    ep.add_argument("--count", type=int, default=5)
    ep.add_argument("--tracks-dir", type=Path, required=True, help="a folder written by `score`")
    ep.add_argument("--out", type=Path, required=True)
    ep.add_argument("--minutes", type=float, default=10.0, help="episode length (default 10)")
    ep.add_argument(
        "--formats",
        type=lambda s: _formats(s, audio_io.EPISODE_FORMATS),
        default=("wav",),
        help="comma-separated, used in turn per episode (default wav)",
    )
    ep.add_argument("--sr", type=int, default=22050, help="sample rate (default 22050)")
    ep.add_argument("--channels", type=int, choices=(1, 2), default=1, help="default 1")
    ep.add_argument(
        "--levels",
        choices=("studio", "broadcast"),
        default="studio",
        help="mixing profile: studio (music near speech level, babble) or broadcast (music 2-23 dB "
        "under espeak-ng speech, ducked 6-12 dB, stings from --stings-dir)",
    )
    ep.add_argument("--stings-dir", type=Path, help="music in no track, for short stings (broadcast)")
    ep.add_argument(
        "--transposed-share",
        type=float,
        default=0.0,
        help="share of cues played 1-3 semitones up or down at the same tempo (default 0)",
    )
    ep.set_defaults(func=cmd_episodes)

    fx = sub.add_parser("fixture", help="regenerate fixtures/score exactly")
    fx.add_argument("--out", type=Path, default=FIXTURE_DIR)
    fx.set_defaults(func=cmd_fixture)

    args = ap.parse_args(argv)
    if args.command == "score" and args.tracks < 2:
        ap.error("--tracks must be at least 2")
    if not 16000 <= getattr(args, "sr", 22050) <= 96000:
        ap.error(f"--sr must be within 16000..96000, got {args.sr}")
    if args.command == "episodes" and not 0.0 <= args.transposed_share <= 1.0:
        ap.error(f"--transposed-share must be within 0..1, got {args.transposed_share}")
    if args.command == "episodes" and (args.count < 1 or args.minutes < 0.5):
        ap.error("--count must be at least 1 and --minutes at least 0.5")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
