#!/usr/bin/env python3
"""Drama-style albums from the POP909 kit: every song in three versions, truth from its phrases.

Each song of the kit (POP909 MIDI with the phrase labels of Dai et al. 2020, see the kit's
README) is rendered three times through FluidSynth and a General MIDI SoundFont:

- **main**: the melody on a voice-like lead (choir or voice "oohs", a synth voice), the
  secondary line on strings, the accompaniment on piano; the song's own key and tempo;
- **piano**: everything on the piano, in another key (1-5 semitones either way) and at another
  tempo (0.84-0.95 or 1.05-1.19 of the original), a stretch of the song only (from one of its
  first phrases to 55-80% of its length);
- **score**: the melody on another instrument family (flute, violin, cello, oboe, clarinet,
  horn, trumpet), the accompaniment on strings and harp, another key and tempo, the whole song.

The piano parts' sustain pedal stays on the instruments that decay (piano, harp); on the
others each note held by it runs legato into the next (see `sustain_as_legato`).

Four songs make an album of twelve tracks (`albumNN/audio/*.wav`, `albumNN/truth.json`). A
motif is one phrase letter of one song (the first labelling, the kit's rule: upper-case letters
other than X that occur at least twice in the main version), with its phrases in all three
versions as occurrences, each from the onset of its first melody note to the end of its last,
mapped through the version's key-free time map; a phrase the piano version cuts is left out.

    python3 scripts/make_albums.py --kit ../shared/pop909-dev --songs 1-227 --albums 5 --seed 1 --out /tmp/albT

Needs the kit's requirements (fluidsynth, fluid-soundfont-gm, numpy, pretty_midi, mido).
`--pairs REPORT.json --truth TRUTH.json` instead scores how many true pairs across versions of
a song one report puts in one motif.
"""

import argparse
import copy
import importlib.util
import json
import os
import random

LEADS = [52, 53, 54, 85]  # choir aahs, voice oohs, synth voice, voice lead
SCORE_LEADS = [73, 40, 42, 68, 71, 60, 56]  # flute, violin, cello, oboe, clarinet, horn, trumpet
PIANO, STRINGS, HARP = 0, 48, 46
DECAYING = {PIANO, HARP}  # instruments whose notes die away under a held sustain pedal


def load_kit(kit):
    """The kit's make_set.py as a module (it finds its songs beside itself)."""
    spec = importlib.util.spec_from_file_location("make_set", os.path.join(kit, "make_set.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def version(pm, programs, shift, ratio, t0, t1):
    """A copy of `pm` with its tracks on `programs` (by MELODY/BRIDGE/PIANO), transposed by
    `shift` semitones, the stretch [t0, t1) only, moved to 0 and played at `ratio` times the speed."""
    out = copy.deepcopy(pm)
    for inst in out.instruments:
        inst.program = programs.get(inst.name.strip().upper(), PIANO)
        inst.is_drum = False
        notes = []
        for n in inst.notes:
            if n.start < t0 or n.start >= t1:
                continue
            n.start = (n.start - t0) / ratio
            n.end = (min(n.end, t1) - t0) / ratio
            n.pitch = min(127, max(0, n.pitch + shift))
            if n.end > n.start:
                notes.append(n)
        inst.notes = notes
        inst.pitch_bends = []
        inst.control_changes = [c for c in inst.control_changes if c.number == 64 and t0 <= c.time < t1]
        for c in inst.control_changes:
            c.time = (c.time - t0) / ratio
        if inst.program not in DECAYING:
            sustain_as_legato(inst)
    return out


def sustain_as_legato(inst):
    """The sustain pedal of a piano part played on an instrument that does not decay (a voice,
    strings, a wind) would hold every note until the pedal lifts, and POP909's pianists often
    keep it down for a minute or more: a cluster of every note sung. A singer or a string
    section holds a note into the next instead: each note that ends under the pedal lasts to
    the next onset of its part (at most to the pedal's release), and the pedal is removed."""
    pedal = sorted((c.time, c.value >= 64) for c in inst.control_changes)
    inst.control_changes = []
    if not pedal:
        return
    onsets = sorted({n.start for n in inst.notes})

    def release_after(t):
        """When the pedal is next up at or after time t (None: it is up at t)."""
        down = False
        for time, state in pedal:
            if time > t:
                if not down:
                    return None
                if not state:
                    return time
            down = state
        return None if not down else float("inf")

    for n in inst.notes:
        release = release_after(n.end)
        if release is None:
            continue
        later = [s for s in onsets if s > n.start]
        n.end = max(n.end, min(release, later[0] if later else n.end))


def render_pm(kit, pm, wav, sf2):
    mid = wav[:-4] + ".mid"
    pm.write(mid)
    try:
        return kit.render(mid, wav, sf2)
    finally:
        os.remove(mid)


def phrase_spans(kit, song):
    """Each labelled melodic phrase of the first labelling: (letter, start_s, end_s)."""
    on = [n.start for n in song["mnotes"]]
    spans = []
    for lab, q0, q1 in kit.phrases(song["lab1"]):
        if not lab.isupper() or lab == "X":
            continue
        t0, t1 = float(song["to_sec"](q0)), float(song["to_sec"](q1))
        idx = [i for i, x in enumerate(on) if t0 - 0.02 <= x < t1 - 0.02]
        if idx:
            spans.append((lab, song["mnotes"][idx[0]].start, max(song["mnotes"][i].end for i in idx)))
    return spans


def make_album(kit, songs, out, rng, sf2):
    import pretty_midi
    os.makedirs(os.path.join(out, "audio"), exist_ok=True)
    tracks, motifs = [], []
    for song in songs:
        s = song["s"]
        pm = pretty_midi.PrettyMIDI(song["mid"])
        end = pm.get_end_time()
        spans = phrase_spans(kit, song)
        count = {}
        for lab, _, _ in spans:
            count[lab] = count.get(lab, 0) + 1
        letters = sorted(l for l, c in count.items() if c >= 2)
        # The piano version: from one of the first three phrases to 55-80% of the song.
        starts = [a for _, a, _ in spans[:3]] or [0.0]
        p0 = max(0.0, rng.choice(starts) - 0.05)
        p1 = p0 + (end - p0) * rng.uniform(0.55, 0.8)
        shift = lambda: rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5])
        tempo = lambda: rng.choice([rng.uniform(0.84, 0.95), rng.uniform(1.05, 1.19)])
        plans = [
            ("main", {"MELODY": rng.choice(LEADS), "BRIDGE": STRINGS, "PIANO": PIANO}, 0, 1.0, 0.0, end + 1),
            ("piano", {}, shift(), tempo(), p0, p1),
            ("score", {"MELODY": rng.choice(SCORE_LEADS), "BRIDGE": HARP, "PIANO": STRINGS}, shift(), tempo(),
             0.0, end + 1),
        ]
        occs = {l: [] for l in letters}
        for kind, programs, semis, ratio, t0, t1 in plans:
            name = "pop%s-%s.wav" % (s, kind)
            dur = render_pm(kit, version(pm, programs, semis, ratio, t0, t1), os.path.join(out, "audio", name), sf2)
            tracks.append({"path": name, "duration_s": round(dur, 3), "song": s, "version": kind,
                           "transpose": semis, "tempo": round(ratio, 4), "from_s": round(t0, 3)})
            for lab, a, b in spans:
                if lab in occs and a >= t0 and b <= t1:
                    occs[lab].append({"track": name, "start_s": round((a - t0) / ratio, 4),
                                      "end_s": round((b - t0) / ratio, 4), "tier": kind, "transpose": semis})
        for l in letters:
            if len(occs[l]) >= 2:
                motifs.append({"id": "%s-%s" % (s, l), "occurrences": occs[l]})
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"schema": "leitmotif.truth/1", "dataset": "POP909 albums (three versions a song) + Dai et al. 2020",
                   "tracks": tracks, "motifs": motifs}, f, indent=1)
    print("%s: songs %s, %d motifs, %d occurrences" % (
        os.path.basename(out), " ".join(x["s"] for x in songs), len(motifs),
        sum(len(m["occurrences"]) for m in motifs)), flush=True)


def iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def cross_version_pairs(report, truth):
    """(found, all): true pairs of occurrences in two versions of a song that the report puts
    in one motif, each true occurrence matched to the reported one of best IoU >= 0.5."""
    rep = json.load(open(report))
    tru = json.load(open(truth))
    names = {t["id"]: os.path.basename(t["path"]) for t in rep.get("tracks", [])}
    reported = []
    for m in rep["motifs"]:
        for o in m["occurrences"]:
            track = o["track"]
            reported.append((names.get(track, os.path.basename(str(track))), o["start_s"], o["end_s"], m["id"]))
    found = total = 0
    for m in tru["motifs"]:
        occ = m["occurrences"]
        motif_of = []
        for o in occ:
            best = max(((iou((o["start_s"], o["end_s"]), (r[1], r[2])), r[3]) for r in reported if r[0] == o["track"]),
                       default=(0.0, None))
            motif_of.append(best[1] if best[0] >= 0.5 else None)
        for i in range(len(occ)):
            for j in range(i + 1, len(occ)):
                if occ[i]["tier"] == occ[j]["tier"]:
                    continue
                total += 1
                found += int(motif_of[i] is not None and motif_of[i] == motif_of[j])
    return found, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kit", help="the pop909-dev folder (holds make_set.py and songs/)")
    ap.add_argument("--songs", default="1-454", help="ids and ranges to draw from, e.g. 1-227")
    ap.add_argument("--albums", type=int, default=5, help="albums of four songs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output folder (one albumNN sub-folder each)")
    ap.add_argument("--sf2", default="/usr/share/sounds/sf2/FluidR3_GM.sf2")
    ap.add_argument("--pairs", help="a leitmotif report: score its pairs across versions against --truth")
    ap.add_argument("--truth")
    a = ap.parse_args()
    if a.pairs:
        found, total = cross_version_pairs(a.pairs, a.truth)
        print("pairs across versions found in one motif: %d of %d (%.3f)" % (found, total, found / max(total, 1)))
        return
    if not (a.kit and a.out):
        ap.error("--kit and --out are needed to make albums")
    kit = load_kit(os.path.abspath(a.kit))
    rng = random.Random(a.seed)
    ids = kit.parse_ids(a.songs)
    rng.shuffle(ids)
    songs = []
    for sid in ids:
        if len(songs) == 4 * a.albums:
            break
        why, song = kit.load_song(sid)
        if why is None:
            songs.append(song)
    for k in range(len(songs) // 4):
        make_album(kit, songs[4 * k:4 * k + 4], os.path.join(a.out, "album%02d" % (k + 1)), rng, a.sf2)


if __name__ == "__main__":
    main()
