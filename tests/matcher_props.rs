//! Properties of the motif matcher and cue detector over random feature sequences built
//! directly as [`Features`]: no panic, every span inside its track, at least two occurrences per
//! motif, transpositions in -5..=6, motifs independent of track order, cues inside the episode.
//!
//! Pure noise rarely holds a motif, so most generated collections plant a random theme (a run
//! of pitch-class frames) at random places in several tracks, transposed and stretched, among
//! random filler; the tests after the properties check that those plants are actually found
//! (as a motif, by a query, as a cue), so the invariants hold on findings, not on empty results.

use std::collections::BTreeSet;

use leitmotif::cues::{self, CueConfig};
use leitmotif::features::Features;
use leitmotif::motif::{self, Motif, MotifConfig, family};
use proptest::prelude::*;
use proptest::test_runner::TestRng;

const HOP_S: f64 = 0.1;

/// A one-hot-ish pitch-class frame: `pc` strongest, its fifth weaker, the rest near zero.
fn frame(pc: usize, noise: f32) -> [f32; 12] {
    let mut f = [noise; 12];
    f[pc % 12] = 1.0;
    f[(pc + 7) % 12] = f[(pc + 7) % 12].max(0.4);
    f
}

/// The recipe of one collection: tracks of random notes, optionally with a theme planted.
#[derive(Debug, Clone)]
struct Collection {
    tracks: Vec<Features>,
    /// Where the theme was planted: (track, start, end), seconds.
    planted: Vec<(usize, f64, f64)>,
}

/// Frames of a melody given as (pitch class, frames held) notes, transposed by `shift` and
/// stretched by `tempo`.
fn render(notes: &[(usize, usize)], shift: usize, tempo: f64, out: &mut Vec<([f32; 12], f32)>) {
    for &(pc, len) in notes {
        let n = ((len as f64 * tempo).round() as usize).max(1);
        for _ in 0..n {
            out.push((frame(pc + shift, 0.02), -20.0));
        }
    }
}

fn random_notes(rng: &mut TestRng, count: usize) -> Vec<(usize, usize)> {
    (0..count).map(|_| (rng.random_range(0..12), rng.random_range(2..8))).collect()
}

fn features(frames: Vec<([f32; 12], f32)>) -> Features {
    Features {
        hop_s: HOP_S,
        tuning_cents: 0.0,
        chroma: frames.iter().map(|(f, _)| *f).collect(),
        melody: frames.iter().map(|(f, db)| if *db > -60.0 { *f } else { [0.0; 12] }).collect(),
        energy_db: frames.iter().map(|(_, db)| *db).collect(),
        ..Features::default()
    }
}

/// Builds `n_tracks` tracks of filler; when `plant`, a theme goes into `copies` random places.
fn collection(seed: u64, n_tracks: usize, plant: bool, copies: usize, silence: bool) -> Collection {
    use proptest::test_runner::RngAlgorithm;
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let theme = random_notes(&mut rng, 12);
    let mut plan: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n_tracks];
    if plant {
        for _ in 0..copies {
            let t = rng.random_range(0..n_tracks);
            plan[t].push((rng.random_range(0..12), [0.85, 1.0, 1.0, 1.15][rng.random_range(0..4)]));
        }
    }
    let mut planted = Vec::new();
    let tracks = plan
        .into_iter()
        .enumerate()
        .map(|(t, themes)| {
            let mut frames = Vec::new();
            let filler = rng.random_range(1..6);
            render(&random_notes(&mut rng, filler), 0, 1.0, &mut frames);
            for (shift, tempo) in themes {
                let start = frames.len();
                render(&theme, shift, tempo, &mut frames);
                planted.push((t, start as f64 * HOP_S, frames.len() as f64 * HOP_S));
                let filler = rng.random_range(0..6);
                render(&random_notes(&mut rng, filler), 0, 1.0, &mut frames);
            }
            if silence {
                let gap = rng.random_range(0..30);
                frames.extend(std::iter::repeat_n(([0.0; 12], -120.0), gap));
            }
            features(frames)
        })
        .collect();
    Collection { tracks, planted }
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

/// Duration of a feature sequence: its frames cover `len * hop` seconds.
fn duration(f: &Features) -> f64 {
    f.chroma.len() as f64 * f.hop_s
}

fn config() -> MotifConfig {
    // Every motif is kept, so that truncation never hides a difference between two orders.
    MotifConfig { max_motifs: usize::MAX, ..MotifConfig::default() }
}

/// Spans to the millisecond: the same frames give the same times whatever the track order.
type SpanKey = (usize, i64, i64);

fn key(track: usize, start: f64, end: f64) -> SpanKey {
    (track, (start * 1000.0).round() as i64, (end * 1000.0).round() as i64)
}

fn motif_sets(motifs: &[Motif], remap: impl Fn(usize) -> usize) -> BTreeSet<BTreeSet<SpanKey>> {
    motifs.iter().map(|m| m.occurrences.iter().map(|o| key(remap(o.track), o.start_s, o.end_s)).collect()).collect()
}

fn check_motifs(tracks: &[&Features], motifs: &[Motif]) -> Result<(), TestCaseError> {
    for (i, m) in motifs.iter().enumerate() {
        prop_assert!(m.occurrences.len() >= 2, "motif {i} has {} occurrence(s)", m.occurrences.len());
        for o in &m.occurrences {
            prop_assert!(o.track < tracks.len(), "motif {i}: track {} of {}", o.track, tracks.len());
            let dur = duration(tracks[o.track]);
            prop_assert!(
                0.0 <= o.start_s && o.start_s < o.end_s && o.end_s <= dur + 1e-9,
                "motif {i}: span {}..{} outside track {} of {dur} s",
                o.start_s,
                o.end_s,
                o.track
            );
            prop_assert!((-5..=6).contains(&o.transpose), "motif {i}: transpose {}", o.transpose);
            let cfg = config();
            prop_assert!(
                (cfg.min_tempo_ratio - 1e-9..=cfg.max_tempo_ratio + 1e-9).contains(&o.tempo_ratio),
                "motif {i}: tempo ratio {} outside the searched range",
                o.tempo_ratio
            );
            prop_assert!((0.0..=1.0).contains(&o.score), "score {}", o.score);
        }
    }
    Ok(())
}

/// Random links among a few tracks: spans of 1 to 20 s, some overlapping, any key and score.
fn random_links(seed: u64, n: usize) -> Vec<family::Link> {
    let mut rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes(seed));
    let span = |rng: &mut TestRng| {
        let start = rng.random_range(0.0..100.0);
        family::Span { track: rng.random_range(0..4), start_s: start, end_s: start + rng.random_range(1.0..20.0) }
    };
    (0..n)
        .map(|_| family::Link {
            a: span(&mut rng),
            b: span(&mut rng),
            shift: rng.random_range(0..12),
            score: rng.random_range(0.3..1.0),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// However links chain, no family holds a member longer than the tempo range allows
    /// against another, members of one track never overlap, and all lie inside their tracks.
    #[test]
    fn a_family_never_mixes_lengths_beyond_the_tempo_range(seed in any::<u64>(), n in 1usize..60) {
        let links = random_links(seed, n);
        let ends = [130.0; 4];
        for fam in family::group(&links, 1.25, &ends) {
            prop_assert!(fam.len() >= 2);
            let lens: Vec<f64> = fam.iter().map(|m| m.span.end_s - m.span.start_s).collect();
            let (lo, hi) = (lens.iter().copied().fold(f64::MAX, f64::min), lens.iter().copied().fold(0.0, f64::max));
            prop_assert!(hi <= lo * 1.25 * (1.0 + 1e-9), "lengths {lens:?}");
            for (x, y) in fam.iter().zip(fam.iter().skip(1)) {
                prop_assert!(x.span.track != y.span.track || x.span.end_s <= y.span.start_s + 1e-9, "{x:?} overlaps {y:?}");
            }
            prop_assert!(fam.iter().all(|m| m.span.start_s >= 0.0 && m.span.end_s <= 130.0));
        }
    }

    /// Spans, counts and transpositions of discovered motifs are always valid.
    #[test]
    fn discovered_motifs_are_well_formed(
        seed in any::<u64>(),
        n_tracks in 1usize..5,
        plant in any::<bool>(),
        copies in 0usize..6,
        silence in any::<bool>(),
    ) {
        let c = collection(seed, n_tracks, plant, copies, silence);
        let refs: Vec<&Features> = c.tracks.iter().collect();
        let motifs = motif::discover(&refs, &config());
        check_motifs(&refs, &motifs)?;
    }

    /// Reversing or rotating the tracks gives the same motifs, track indices remapped.
    #[test]
    fn motifs_do_not_depend_on_track_order(
        seed in any::<u64>(),
        n_tracks in 2usize..5,
        copies in 2usize..6,
        rotate_by in 1usize..4,
        reverse in any::<bool>(),
    ) {
        let c = collection(seed, n_tracks, true, copies, false);
        let n = c.tracks.len();
        // order[k] is the original index of the track in position k.
        let mut order: Vec<usize> = (0..n).collect();
        order.rotate_left(rotate_by % n);
        if reverse {
            order.reverse();
        }
        let original: Vec<&Features> = c.tracks.iter().collect();
        let permuted: Vec<&Features> = order.iter().map(|&i| &c.tracks[i]).collect();
        let a = motif::discover(&original, &config());
        let b = motif::discover(&permuted, &config());
        check_motifs(&permuted, &b)?;
        prop_assert_eq!(motif_sets(&a, |t| t), motif_sets(&b, |t| order[t]));
    }

    /// Query by example finds spans inside the tracks, in valid keys.
    #[test]
    fn found_occurrences_are_inside_their_tracks(
        seed in any::<u64>(),
        n_tracks in 1usize..4,
        copies in 1usize..5,
        from in 0.0f64..1.0,
        len_s in 1.0f64..8.0,
    ) {
        let c = collection(seed, n_tracks, true, copies, true);
        let query = &c.tracks[0];
        let start = from * duration(query) * 0.5;
        let end = (start + len_s).min(duration(query));
        let refs: Vec<&Features> = c.tracks.iter().collect();
        for o in leitmotif::find::find(query, start, end, &refs, &config()) {
            prop_assert!(o.track < refs.len());
            let dur = duration(refs[o.track]);
            prop_assert!(0.0 <= o.start_s && o.start_s < o.end_s && o.end_s <= dur + 1e-9,
                "span {}..{} outside track {} of {dur} s", o.start_s, o.end_s, o.track);
            prop_assert!((-5..=6).contains(&o.transpose), "transpose {}", o.transpose);
        }
    }

    /// Cues lie inside the episode, start inside their track, and name a valid track and key.
    #[test]
    fn cues_lie_inside_the_episode(
        seed in any::<u64>(),
        n_tracks in 1usize..4,
        copies in 0usize..5,
        min_len_s in 1.0f64..8.0,
    ) {
        // The last "track" of the collection is the episode; the theme is planted in it too.
        let c = collection(seed, n_tracks + 1, true, copies, true);
        let (episode, tracks) = c.tracks.split_last().expect("at least two sequences");
        let refs: Vec<&Features> = tracks.iter().collect();
        let cfg = CueConfig { min_len_s, ..CueConfig::default() };
        let ep_dur = duration(episode);
        for cue in cues::detect(&cues::TrackSet::from_features(&refs, &cfg, None), episode, &cfg) {
            prop_assert!(cue.track < refs.len(), "track {}", cue.track);
            prop_assert!(0.0 <= cue.start_s && cue.start_s < cue.end_s && cue.end_s <= ep_dur + 1e-9,
                "cue {}..{} outside the episode of {ep_dur} s", cue.start_s, cue.end_s);
            prop_assert!(cue.end_s - cue.start_s >= min_len_s - 1e-9, "cue shorter than {min_len_s}");
            let track_dur = duration(refs[cue.track]);
            prop_assert!((0.0..track_dur).contains(&cue.track_start_s),
                "track start {} outside track of {track_dur} s", cue.track_start_s);
            prop_assert!((-5..=6).contains(&cue.transpose), "transpose {}", cue.transpose);
        }
    }
}

/// Degenerate inputs: no tracks, empty tracks, a zero hop, non-finite values.
#[test]
fn degenerate_features_give_no_motif_and_no_panic() {
    let empty = Features::default();
    let nan = Features {
        hop_s: HOP_S,
        tuning_cents: f32::NAN,
        chroma: vec![[f32::NAN; 12]; 80],
        melody: vec![[f32::INFINITY; 12]; 80],
        energy_db: vec![f32::NAN; 80],
        ..Features::default()
    };
    let zero_hop = Features { hop_s: 0.0, ..collection(1, 1, false, 0, false).tracks[0].clone() };
    let short = features(vec![(frame(0, 0.0), -20.0)]);
    assert!(motif::discover(&[], &config()).is_empty());
    for (name, set) in [
        ("one empty track", vec![&empty]),
        ("two empty tracks", vec![&empty, &empty]),
        ("non-finite frames", vec![&nan, &nan]),
        ("a zero hop", vec![&zero_hop, &zero_hop]),
        ("one frame and non-finite frames", vec![&short, &nan]),
    ] {
        assert!(motif::discover(&set, &config()).is_empty(), "{name}: a motif");
        let cfg = CueConfig::default();
        assert!(
            cues::detect(&cues::TrackSet::from_features(&set, &cfg, None), set[0], &cfg).is_empty(),
            "{name}: a cue"
        );
        if name != "a zero hop" {
            assert!(leitmotif::find::find(set[0], 0.0, 1.0, &set, &config()).is_empty(), "{name}: found");
        }
    }
}

/// Whether `found` covers at least half of the planted copy `p`.
fn covers(found: (usize, f64, f64), p: (usize, f64, f64)) -> bool {
    found.0 == p.0 && found.2.min(p.2) - found.1.max(p.1) >= 0.5 * (p.2 - p.1)
}

/// The planted theme is found as a motif: in most collections one motif holds two or more of
/// the planted copies. (Not yet all of them: a copy at another tempo in another key is often
/// missed, because the tile background is the best of 12 keys per frame pair, which for
/// single-note frames like these sits near a perfect match.)
#[test]
fn planted_themes_are_found() {
    let found = (0..8u64)
        .filter(|&seed| {
            let c = collection(seed, 3, true, 4, false);
            let refs: Vec<&Features> = c.tracks.iter().collect();
            motif::discover(&refs, &config()).iter().any(|m| {
                let hit =
                    |p: &&(usize, f64, f64)| m.occurrences.iter().any(|o| covers((o.track, o.start_s, o.end_s), **p));
                c.planted.iter().filter(hit).count() >= 2
            })
        })
        .count();
    assert!(found >= 6, "the planted theme was found in only {found} of 8 collections");
}

/// A query on one planted copy finds every other copy, whatever its key and tempo.
#[test]
fn a_planted_copy_finds_the_others() {
    for seed in 0..8u64 {
        let c = collection(seed, 3, true, 4, false);
        let refs: Vec<&Features> = c.tracks.iter().collect();
        let (t, start, end) = c.planted[0];
        let found = leitmotif::find::find(refs[t], start, end, &refs, &config());
        for &p in &c.planted[1..] {
            assert!(
                found.iter().any(|o| covers((o.track, o.start_s, o.end_s), p)),
                "seed {seed}: copy {p:?} not found from {:?}: {found:?}",
                c.planted[0]
            );
        }
    }
}

/// A stretch of a track copied into an episode is found as a cue of that track, at its place in
/// the episode and in the track: the cue properties above hold on findings, not only on nothing.
#[test]
fn an_excerpt_of_a_track_is_found_as_a_cue() {
    let mut found = 0;
    for seed in 0..8u64 {
        let mut rng = {
            use proptest::test_runner::RngAlgorithm;
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed + 100))
        };
        // Long random tracks: 40 notes of 2-7 frames, about 18 s.
        let tracks: Vec<Features> = (0..3)
            .map(|_| {
                let mut frames = Vec::new();
                render(&random_notes(&mut rng, 40), 0, 1.0, &mut frames);
                features(frames)
            })
            .collect();
        let source = &tracks[1];
        let (from, to) = (20, source.chroma.len() - 10);
        let mut frames = Vec::new();
        render(&random_notes(&mut rng, 15), 0, 1.0, &mut frames);
        let start = frames.len();
        frames.extend((from..to).map(|k| (source.chroma[k], source.energy_db[k])));
        let end = frames.len();
        render(&random_notes(&mut rng, 15), 0, 1.0, &mut frames);
        let episode = features(frames);
        let refs: Vec<&Features> = tracks.iter().collect();
        let cfg = CueConfig::default();
        let cues = cues::detect(&cues::TrackSet::from_features(&refs, &cfg, None), &episode, &cfg);
        let (start_s, end_s, track_start_s) = (start as f64 * HOP_S, end as f64 * HOP_S, from as f64 * HOP_S);
        // The cue's span overlaps the excerpt well past the contract's IoU of 0.5, and it lines
        // the episode up with the track at the excerpt's offset (to a matching frame).
        if cues.iter().any(|c| {
            c.track == 1
                && leitmotif::report::span_iou(c.start_s, c.end_s, start_s, end_s) >= 0.8
                && ((c.start_s - c.track_start_s) - (start_s - track_start_s)).abs() <= 0.35
        }) {
            found += 1;
        } else {
            eprintln!("seed {seed}: {start_s}-{end_s} from {track_start_s} not in {cues:?}");
        }
    }
    assert_eq!(found, 8, "the excerpt was found in {found} of 8 episodes");
}
