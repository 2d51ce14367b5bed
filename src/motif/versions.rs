//! Motifs carried across versions of a piece: where two tracks are versions of one another over
//! a stretch ([`crate::similarity::versions`]), every motif heard inside that stretch of one is
//! heard at the corresponding place of the other, in the other's key and at its tempo there. A
//! version's place already held by another motif joins the two motifs: they are one theme, heard
//! in two arrangements the matcher could not hold together.

use rayon::prelude::*;

use super::{Motif, MotifConfig, Occurrence, SAME_PLACE_IOU, ScanMemo, rebase_on_first};
use crate::similarity::memo::{decode_version, encode_version, version_key};
use crate::similarity::sequence::MatchSequence;
use crate::similarity::versions::{VersionConfig, VersionLink, version_link};
use crate::similarity::wrap_shift;
use crate::units::span_iou;

/// Least share of an occurrence that must lie inside a link's stretch to be carried across it.
const LEAST_INSIDE: f64 = 0.8;

/// The version links between every pair of different tracks, as `(a, b, link)` with `a < b`;
/// with `memo`, each pair's search is read from its store when there, else stored.
pub(super) fn links(
    seqs: &[MatchSequence],
    cfg: &VersionConfig,
    memo: Option<&ScanMemo>,
) -> Vec<(usize, usize, VersionLink)> {
    let pairs: Vec<(usize, usize)> = (0..seqs.len()).flat_map(|a| (a + 1..seqs.len()).map(move |b| (a, b))).collect();
    let settings = cfg.settings();
    pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let search = || version_link(&seqs[a], &seqs[b], cfg);
            let link = match memo {
                Some(m) => {
                    let key = version_key(&m.digests[a], &m.digests[b], &settings);
                    m.store.load_scan(&key).and_then(|bytes| decode_version(&bytes, &key)).unwrap_or_else(|| {
                        let link = search();
                        m.store.store_scan(&key, &encode_version(link.as_ref(), &key));
                        link
                    })
                }
                None => search(),
            };
            link.map(|l| (a, b, l))
        })
        .collect()
}

/// `motifs` with every occurrence carried across the `links` it lies inside (tracks ending at
/// `track_end` seconds); motifs that meet at a carried place are joined while every occurrence of
/// the two stays within the tempo range of every other. Carried places are not carried again
/// (each link is searched both ways from the places found in the tracks themselves), and a
/// carried place's tempo must stay within the tempo range of the place it came from.
pub fn across_versions(
    motifs: Vec<Motif>,
    links: &[(usize, usize, VersionLink)],
    track_end: &[f64],
    cfg: &MotifConfig,
) -> Vec<Motif> {
    if links.is_empty() {
        return motifs;
    }
    // Slots: a motif joined into another leaves `None` behind. Beside each motif, which of its
    // occurrences have been carried (or were carried there), and whether it gained any.
    let mut slots: Vec<Option<(Motif, Vec<bool>)>> = motifs
        .into_iter()
        .map(|m| {
            let carried = vec![false; m.occurrences.len()];
            Some((m, carried))
        })
        .collect();
    let mut gained = vec![false; slots.len()];
    for mi in 0..slots.len() {
        let mut k = 0;
        while let Some((motif, carried)) = slots[mi].as_ref() {
            if k >= motif.occurrences.len() {
                break;
            }
            if carried[k] {
                k += 1;
                continue;
            }
            let origin = motif.occurrences[k].clone();
            let places: Vec<Occurrence> =
                links.iter().filter_map(|(a, b, link)| carry(&origin, *a, *b, link, track_end, cfg)).collect();
            for place in places {
                let Some((motif, _)) = slots[mi].as_ref() else { break };
                let own = len_range(&motif.occurrences);
                // Every place of a motif keeps within the tempo range of every other, as the
                // places it keeps in the end must.
                if !tempo_consistent(motif.occurrences.iter().chain([&place]).map(|o| (o, 1.0)), cfg) {
                    continue;
                }
                let holder = (0..slots.len()).filter(|&j| j != mi).find_map(|j| {
                    let (other, _) = slots[j].as_ref()?;
                    if !within_tempo_range(own, len_range(&other.occurrences), cfg) {
                        return None;
                    }
                    let met = other.occurrences.iter().find(|o| same_place(o, &place))?;
                    // Joined, the other's places take this motif's tempo through the meeting.
                    let ratio = rescale(&place, met);
                    let union =
                        motif.occurrences.iter().map(|o| (o, 1.0)).chain(other.occurrences.iter().map(|o| (o, ratio)));
                    tempo_consistent(union, cfg).then(|| (j, met.clone()))
                });
                if let Some((j, met)) = holder {
                    let (other, other_carried) = slots[j].take().expect("a holder is alive");
                    let (motif, carried) = slots[mi].as_mut().expect("the motif being carried is alive");
                    join(motif, carried, other, other_carried, &place, &met);
                    gained[mi] = true;
                } else {
                    let (motif, carried) = slots[mi].as_mut().expect("the motif being carried is alive");
                    if !motif.occurrences.iter().any(|o| overlapping(o, &place)) {
                        motif.occurrences.push(place);
                        carried.push(true);
                        gained[mi] = true;
                    }
                }
            }
            if let Some((_, carried)) = slots[mi].as_mut() {
                carried[k] = true;
            }
            k += 1;
        }
    }
    slots
        .into_iter()
        .zip(gained)
        .filter_map(|(slot, gained)| slot.map(|(m, _)| (m, gained)))
        .map(|(mut m, gained)| {
            if gained {
                m.occurrences = without_repeats(std::mem::take(&mut m.occurrences));
                rebase_on_first(&mut m.occurrences);
            }
            m
        })
        .collect()
}

/// How `met`'s motif's tempo ratios are re-expressed in the motif of the carried `place` that
/// met it.
fn rescale(place: &Occurrence, met: &Occurrence) -> f64 {
    if met.tempo_ratio > 0.0 { place.tempo_ratio / met.tempo_ratio } else { 1.0 }
}

/// Whether `occurrences` (each with a factor its tempo ratio is taken at) keep every tempo ratio
/// within the tempo range of every other, as the places a motif keeps must (so that each lies
/// within the range of whichever comes first, in any order of the tracks).
fn tempo_consistent<'a>(occurrences: impl Iterator<Item = (&'a Occurrence, f64)>, cfg: &MotifConfig) -> bool {
    // Ratios equal to the bound stay in, whatever their rounding.
    let spread = cfg.tempo_spread() * (1.0 + 1e-9);
    let ratios = occurrences.map(|(o, f)| o.tempo_ratio * f);
    let (low, high) = ratios.fold((f64::INFINITY, 0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    high <= 0.0 || (low > 0.0 && high <= low * spread)
}

/// `origin` carried across the link between tracks `a` and `b`, if it lies inside the link's
/// stretch on its side and keeps within the tempo range.
fn carry(
    origin: &Occurrence,
    a: usize,
    b: usize,
    link: &VersionLink,
    track_end: &[f64],
    cfg: &MotifConfig,
) -> Option<Occurrence> {
    let on_a = origin.track == a;
    if !on_a && origin.track != b {
        return None;
    }
    let (from, to) = if on_a { link.a_span } else { link.b_span };
    let len = origin.end_s - origin.start_s;
    let inside = (origin.end_s.min(to) - origin.start_s.max(from)).max(0.0);
    if len <= 0.0 || inside < LEAST_INSIDE * len {
        return None;
    }
    let map = |t: f64| if on_a { link.to_b(t) } else { link.to_a(t) };
    let dest = if on_a { b } else { a };
    let end = track_end.get(dest).copied().unwrap_or(f64::INFINITY);
    let (start_s, end_s) = (map(origin.start_s).max(0.0), map(origin.end_s).min(end));
    let ratio = (end_s - start_s) / len;
    if !(cfg.min_tempo_ratio..=cfg.max_tempo_ratio).contains(&ratio) {
        return None;
    }
    let points: Vec<_> = link.points_over(origin.start_s, origin.end_s, !on_a).collect();
    let score = points.iter().map(|p| p.similarity).sum::<f32>() / points.len().max(1) as f32;
    // `link.shift` is how far the second track lies above the first.
    let shift = if on_a { link.shift as i32 } else { -(link.shift as i32) };
    Some(Occurrence {
        track: dest,
        start_s,
        end_s,
        transpose: wrap_shift(origin.transpose + shift),
        tempo_ratio: origin.tempo_ratio * ratio,
        score: score.clamp(0.0, 1.0),
    })
}

fn same_place(x: &Occurrence, y: &Occurrence) -> bool {
    x.track == y.track && span_iou(x.start_s, x.end_s, y.start_s, y.end_s) >= SAME_PLACE_IOU
}

/// Whether two places of one track share more than a quarter of the shorter: one motif is not
/// heard twice over itself.
fn overlapping(x: &Occurrence, y: &Occurrence) -> bool {
    let shared = x.end_s.min(y.end_s) - x.start_s.max(y.start_s);
    x.track == y.track && shared > 0.25 * (x.end_s - x.start_s).min(y.end_s - y.start_s)
}

/// The shortest and longest of `occurrences`.
fn len_range(occurrences: &[Occurrence]) -> (f64, f64) {
    occurrences.iter().map(|o| o.end_s - o.start_s).fold((f64::INFINITY, 0.0), |(lo, hi), l| (lo.min(l), hi.max(l)))
}

/// Whether motifs whose occurrences last `x` and `y` (shortest, longest) could be one theme: every
/// occurrence of the two within the tempo range of any other, as the matcher's motifs are.
fn within_tempo_range(x: (f64, f64), y: (f64, f64), cfg: &MotifConfig) -> bool {
    let (lo, hi) = (x.0.min(y.0), x.1.max(y.1));
    lo > 0.0 && hi <= lo * cfg.max_tempo_ratio / cfg.min_tempo_ratio
}

/// `other` joined into `motif`, its occurrences re-expressed in `motif`'s key and tempo through
/// the carried `place` that met `other`'s occurrence `met`.
fn join(
    motif: &mut Motif,
    carried: &mut Vec<bool>,
    other: Motif,
    other_carried: Vec<bool>,
    place: &Occurrence,
    met: &Occurrence,
) {
    let shift = place.transpose - met.transpose;
    let ratio = rescale(place, met);
    for (mut o, c) in other.occurrences.into_iter().zip(other_carried) {
        o.transpose = wrap_shift(o.transpose + shift);
        o.tempo_ratio *= ratio;
        motif.occurrences.push(o);
        carried.push(c);
    }
    motif.figures.extend(other.figures);
}

/// `occurrences` with each place kept once: of overlapping occurrences, the best scored.
fn without_repeats(mut occurrences: Vec<Occurrence>) -> Vec<Occurrence> {
    occurrences.sort_by(|x, y| y.score.total_cmp(&x.score));
    let mut kept: Vec<Occurrence> = Vec::with_capacity(occurrences.len());
    for o in occurrences {
        if !kept.iter().any(|k| overlapping(k, &o)) {
            kept.push(o);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::versions::PathPoint;

    fn occ(track: usize, start_s: f64, end_s: f64, transpose: i32) -> Occurrence {
        Occurrence { track, start_s, end_s, transpose, tempo_ratio: 1.0, score: 0.9 }
    }

    fn motif(occurrences: Vec<Occurrence>) -> Motif {
        Motif { occurrences, figures: Vec::new() }
    }

    /// Track 1 plays track 0's first 100 s three semitones higher and 10 % slower, from 5 s.
    fn link() -> Vec<(usize, usize, VersionLink)> {
        let path = (0..=50)
            .map(|k| {
                let a_s = k as f64 * 2.0;
                PathPoint { a_s, b_s: 5.0 + 1.1 * a_s, similarity: 0.7 }
            })
            .collect();
        vec![(
            0,
            1,
            VersionLink { shift: 3, path, aligned_s: 60.0, chance_s: 10.0, a_span: (0.0, 100.0), b_span: (5.0, 115.0) },
        )]
    }

    const ENDS: [f64; 3] = [200.0, 200.0, 200.0];

    fn places(m: &Motif) -> Vec<(usize, f64, f64, i32)> {
        m.occurrences
            .iter()
            .map(|o| (o.track, (o.start_s * 10.0).round() / 10.0, (o.end_s * 10.0).round() / 10.0, o.transpose))
            .collect()
    }

    #[test]
    fn an_occurrence_inside_a_link_is_carried_to_the_other_track_in_its_key_and_tempo() {
        let m = motif(vec![occ(0, 20.0, 30.0, 0), occ(0, 60.0, 70.0, 0)]);
        let out = across_versions(vec![m], &link(), &ENDS, &MotifConfig::default());
        assert_eq!(out.len(), 1);
        assert_eq!(
            places(&out[0]),
            vec![(0, 20.0, 30.0, 0), (0, 60.0, 70.0, 0), (1, 27.0, 38.0, 3), (1, 71.0, 82.0, 3)]
        );
        let carried = &out[0].occurrences[2];
        assert!((carried.tempo_ratio - 1.1).abs() < 1e-9);
        assert!((carried.score - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_motif_met_at_a_carried_place_is_joined_in_the_first_ones_key() {
        let m = motif(vec![occ(0, 20.0, 30.0, 0), occ(0, 60.0, 70.0, 0)]);
        // The same theme found in track 1 and in track 2, keyed to its place in track 1.
        let n = motif(vec![occ(1, 27.5, 38.0, 0), occ(2, 10.0, 21.0, -2)]);
        let out = across_versions(vec![m, n], &link(), &ENDS, &MotifConfig::default());
        assert_eq!(out.len(), 1);
        let p = places(&out[0]);
        assert_eq!(p.iter().filter(|x| x.0 == 1).count(), 2, "{p:?}");
        // Track 2 was 2 below track 1's place, which is 3 above the first: 1 above the first.
        assert!(p.contains(&(2, 10.0, 21.0, 1)), "{p:?}");
    }

    #[test]
    fn occurrences_mostly_outside_a_link_are_not_carried() {
        let m = motif(vec![occ(0, 95.0, 110.0, 0), occ(0, 120.0, 135.0, 0)]);
        let out = across_versions(vec![m.clone()], &link(), &ENDS, &MotifConfig::default());
        assert_eq!(out, vec![m]);
    }

    #[test]
    fn motifs_whose_lengths_lie_beyond_the_tempo_range_are_not_joined() {
        let m = motif(vec![occ(0, 20.0, 30.0, 0), occ(0, 60.0, 70.0, 0)]);
        // Meets the carried place, but also holds a 40-s span: another level of the music.
        let n = motif(vec![occ(1, 27.5, 38.0, 0), occ(2, 0.0, 40.0, 0)]);
        let out = across_versions(vec![m, n], &link(), &ENDS, &MotifConfig::default());
        assert_eq!(out.len(), 2);
        let (m, n): (Vec<&Motif>, Vec<&Motif>) = out.iter().partition(|x| places(x).contains(&(0, 60.0, 70.0, 0)));
        assert!(!places(n[0]).contains(&(0, 60.0, 70.0, 0)));
        // Each is still carried: the first to both its places in track 1.
        assert_eq!(places(m[0]).iter().filter(|x| x.0 == 1).count(), 2);
    }

    #[test]
    fn places_are_judged_within_the_tempo_range_of_each_other() {
        let cfg = MotifConfig::default();
        let at = |track: usize, start_s: f64, tempo_ratio: f64| Occurrence {
            tempo_ratio,
            ..occ(track, start_s, start_s + 10.0, 0)
        };
        let held = [at(0, 10.0, 1.0), at(1, 0.0, 1.1)];
        assert!(tempo_consistent(held.iter().map(|o| (o, 1.0)), &cfg));
        // 1.1 lies 1.22 times 0.9: within range of each other, wherever the place lies.
        assert!(tempo_consistent(held.iter().chain([&at(0, 50.0, 0.9)]).map(|o| (o, 1.0)), &cfg));
        // 1.1 lies 1.29 times 0.85: out of range, though 0.85 is within range of the first.
        for start_s in [0.0, 50.0] {
            assert!(!tempo_consistent(held.iter().chain([&at(0, start_s, 0.85)]).map(|o| (o, 1.0)), &cfg));
        }
        // A factor re-expresses a place before it is judged.
        assert!(!tempo_consistent(held.iter().map(|o| (o, if o.track == 1 { 1.2 } else { 1.0 })), &cfg));
    }

    #[test]
    fn a_carried_place_ends_with_its_track() {
        let m = motif(vec![occ(1, 100.0, 112.0, 0), occ(1, 20.0, 32.0, 0)]);
        let ends = [95.0, 200.0, 200.0];
        let out = across_versions(vec![m], &link(), &ends, &MotifConfig::default());
        assert!(out[0].occurrences.iter().all(|o| o.end_s <= ends[o.track]));
    }
}
