//! The phrase level of a track's long repeats.
//!
//! A passage that returns whole (a verse and chorus sung again after a bridge) is matched along
//! its whole length, but a match is traced at most a few motif lengths either side of its seed,
//! so such a repeat comes out as overlapping windows at every phase, each grouped into a motif
//! of its own and none starting where a phrase does. Where the passage begins is known (where
//! the repeat begins), and how long its phrases last is told by the shorter repeats around it:
//! a phrase sung twice in a row, or whose opening returns a phrase later, repeats at a lag of one
//! phrase (or two, or three). So the windows of one repeat are taken together, and the repeat
//! is cut into phrases from its start.

use super::family::{Link, Span, UnionFind};

/// Longest phrase considered, seconds: about sixteen bars of a quick one.
const MAX_PHRASE_S: f64 = 45.0;

/// Repeats at lags up to this many seconds tell a phrase length; longer lags separate sections
/// (a verse sung again after the chorus), whatever their phrases.
pub(super) const MAX_PHRASE_LAG_S: f64 = 60.0;

/// Lags counted for a phrase length: a repeat one, two or three phrases later.
const PHRASES_PER_LAG: usize = 3;

/// How far a lag may lie from a multiple of the phrase length and still count, seconds: about
/// a beat, the error of a traced match's start.
const LAG_TOLERANCE_S: f64 = 1.0;

/// Step of the phrase lengths tried, seconds.
const PHRASE_STEP_S: f64 = 0.2;

/// Of the phrase lengths whose multiples explain nearly as many repeats as the best one, the
/// longest is taken: a phrase's halves repeat wherever the phrase does, so half the length
/// explains at least as much as the whole.
const NEARLY_AS_MANY: f64 = 0.7;

/// How far the lags of two windows of one repeat may differ, seconds.
const SAME_LAG_S: f64 = 1.0;

/// How far apart two windows of one repeat may lie, seconds.
const WINDOW_GAP_S: f64 = 2.0;

/// Share of a phrase a repeat must last to be cut into phrases: a repeat shorter than three
/// quarters of a phrase is a figure or a fragment, and is left as it was matched.
const LEAST_PHRASE_SHARE: f64 = 0.75;

/// The lag at which `l` finds the same music again in its own track, in the same key and at the
/// same speed; `None` for any other match.
fn lag_of(l: &Link) -> Option<f64> {
    let same_speed = (l.a.len() - l.b.len()).abs() <= 0.05 * l.a.len().max(l.b.len());
    (l.a.track == l.b.track && l.shift == 0 && same_speed).then(|| (l.b.start_s - l.a.start_s).abs())
}

/// The earlier of a repeat window's two sides.
fn earlier(l: &Link) -> Span {
    if l.a.start_s <= l.b.start_s { l.a } else { l.b }
}

/// The lag and weight (seconds matched times similarity) of each repeat of `track` short enough
/// to tell a phrase length, whose earlier side starts where `near` holds.
fn phrase_lags(links: &[Link], track: usize, near: &dyn Fn(f64) -> bool) -> Vec<(f64, f64)> {
    links
        .iter()
        .filter(|l| l.a.track == track && near(earlier(l).start_s))
        .filter_map(|l| lag_of(l).map(|lag| (lag, l.a.len().min(l.b.len()) * f64::from(l.score))))
        .filter(|&(lag, _)| lag < MAX_PHRASE_LAG_S)
        .collect()
}

/// The phrase length that repeats at `lags` (lag, weight) tell: of the lengths from `min_s` (the
/// shortest motif) to [`MAX_PHRASE_S`], the longest whose multiples explain nearly as much weight
/// as the best ([`NEARLY_AS_MANY`]), then set to the weighted mean of what the lags it explains
/// say (the longest within the tolerance would run long, and a section cut at it would drift);
/// `None` without any lag in the phrase range.
pub fn phrase_len(lags: &[(f64, f64)], min_s: f64) -> Option<f64> {
    // Each lag that `u` explains, with the phrase length that lag tells.
    let explaining = |u: f64| {
        lags.iter().filter_map(move |&(lag, w)| {
            (1..=PHRASES_PER_LAG).find(|&j| (lag - j as f64 * u).abs() < LAG_TOLERANCE_S).map(|j| (lag / j as f64, w))
        })
    };
    let explained = |u: f64| -> f64 { explaining(u).map(|(_, w)| w).sum() };
    let steps = ((MAX_PHRASE_S - min_s) / PHRASE_STEP_S).round().max(0.0) as usize;
    let tried: Vec<(f64, f64)> =
        (0..=steps).map(|k| min_s + k as f64 * PHRASE_STEP_S).map(|u| (u, explained(u))).collect();
    let best = tried.iter().map(|&(_, e)| e).fold(0.0, f64::max);
    if best <= 0.0 {
        return None;
    }
    let u = tried.iter().filter(|&&(_, e)| e >= NEARLY_AS_MANY * best).map(|&(u, _)| u).reduce(f64::max)?;
    let (told, weight) = explaining(u).fold((0.0, 0.0), |(t, sw), (v, w)| (t + v * w, sw + w));
    Some(told / weight)
}

/// One repeat of a track: windows at about one lag, each within reach of another.
struct Repeat {
    /// The median of its windows' lags.
    lag: f64,
    /// The earlier side's extent.
    start_s: f64,
    end_s: f64,
    score: f32,
    windows: Vec<usize>,
}

/// The repeats of `track` among `links`.
fn repeats(links: &[Link], track: usize) -> Vec<Repeat> {
    let mut windows: Vec<(usize, f64, Span)> = links
        .iter()
        .enumerate()
        .filter(|(_, l)| l.a.track == track)
        .filter_map(|(i, l)| lag_of(l).map(|lag| (i, lag, earlier(l))))
        .collect();
    // By lag, so that each window meets only those of about its lag.
    windows.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
    let mut sets = UnionFind::new(windows.len());
    for (x, &(_, lx, sx)) in windows.iter().enumerate() {
        for (y, &(_, _, sy)) in windows.iter().enumerate().skip(x + 1).take_while(|(_, w)| w.1 - lx < SAME_LAG_S) {
            if sy.start_s <= sx.end_s + WINDOW_GAP_S && sx.start_s <= sy.end_s + WINDOW_GAP_S {
                sets.union(x, y);
            }
        }
    }
    // Each set's windows, in order of lag (the sets in order of their first window).
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut of_set: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for x in 0..windows.len() {
        let at = *of_set.entry(sets.find(x)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(x);
    }
    groups
        .into_iter()
        .map(|group| {
            let sides = group.iter().map(|&x| windows[x].2);
            Repeat {
                lag: windows[group[group.len() / 2]].1,
                start_s: sides.clone().map(|s| s.start_s).fold(f64::INFINITY, f64::min),
                end_s: sides.map(|s| s.end_s).fold(f64::NEG_INFINITY, f64::max),
                score: group.iter().map(|&x| links[windows[x].0].score).fold(f32::NEG_INFINITY, f32::max),
                windows: group.iter().map(|&x| windows[x].0).collect(),
            }
        })
        .collect()
}

/// `links` with each repeat of a track in itself longer than one match can be (`longest_s`, see
/// [`crate::similarity::align::longest_match`]) replaced by one link per phrase, cut from the
/// repeat's start (see the module documentation); a repeat one match holds was traced whole and
/// keeps the ends its match found. The phrase length is told by the shorter repeats that start
/// inside either side of the repeat, so each piece of a long file holding several keeps its own;
/// a repeat with none is left as matched, as are matches between tracks, in another key or at
/// another speed. `track_end` holds each track's length in seconds; no phrase is shorter than
/// `min_len_s`, the shortest motif.
pub fn by_phrase(links: Vec<Link>, track_end: &[f64], min_len_s: f64, longest_s: f64) -> Vec<Link> {
    let mut cut: Vec<Link> = Vec::new();
    let mut replaced = vec![false; links.len()];
    for (track, &end) in track_end.iter().enumerate() {
        for r in repeats(&links, track).into_iter().filter(|r| r.end_s - r.start_s > longest_s) {
            let (a, b, lag) = (r.start_s, r.end_s, r.lag);
            let inside = |t: f64| (a..=b).contains(&t) || (a + lag..=b + lag).contains(&t);
            let Some(u) = phrase_len(&phrase_lags(&links, track, &inside), min_len_s) else { continue };
            let count = ((b - a) / u + (1.0 - LEAST_PHRASE_SHARE)).floor() as usize;
            if count == 0 {
                continue;
            }
            for &i in &r.windows {
                replaced[i] = true;
            }
            for k in 0..count {
                let start = a + k as f64 * u;
                // The last phrase may run a little past the repeat, not past the track.
                if start + lag + LEAST_PHRASE_SHARE * u > end {
                    break;
                }
                cut.push(Link {
                    a: Span { track, start_s: start, end_s: start + u },
                    b: Span { track, start_s: start + lag, end_s: (start + lag + u).min(end) },
                    shift: 0,
                    score: r.score,
                });
            }
        }
    }
    cut.extend(links.into_iter().zip(replaced).filter(|(_, r)| !r).map(|(l, _)| l));
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(track: usize, a: (f64, f64), b: (f64, f64), shift: usize) -> Link {
        Link {
            a: Span { track, start_s: a.0, end_s: a.1 },
            b: Span { track, start_s: b.0, end_s: b.1 },
            shift,
            score: 0.9,
        }
    }

    /// A track of two sections of four 20-second phrases, the second 120 s after the first,
    /// matched as windows of 27 s at every few seconds; each phrase's opening returns one phrase
    /// later.
    fn song() -> Vec<Link> {
        let mut links: Vec<Link> =
            (0..12).map(|k| 10.0 + 5.0 * k as f64).map(|s| link(0, (s, s + 27.0), (s + 120.0, s + 147.0), 0)).collect();
        for p in [10.0, 30.0, 50.0, 130.0, 150.0, 170.0] {
            links.push(link(0, (p, p + 8.0), (p + 20.0, p + 28.0), 0));
        }
        links
    }

    #[test]
    fn the_phrase_is_the_longest_length_whose_multiples_explain_the_lags() {
        assert_eq!(phrase_len(&[(20.0, 1.0), (40.0, 1.0), (60.0, 1.0)], 3.0).map(|u| (u * 10.0).round()), Some(200.0));
        assert_eq!(phrase_len(&[(19.8, 1.0), (40.2, 1.0)], 3.0).map(|u| (u * 100.0).round()), Some(1995.0));
        // Half-phrase lags as strong as the phrase's: the phrase is still the whole.
        assert_eq!(phrase_len(&[(10.0, 1.0), (20.0, 1.0), (40.0, 1.0)], 3.0).map(|u| (u * 10.0).round()), Some(200.0));
        assert_eq!(phrase_len(&[(200.0, 1.0)], 3.0), None);
        assert_eq!(phrase_len(&[], 3.0), None);
    }

    #[test]
    fn a_repeated_section_is_cut_into_phrases_from_its_start() {
        let cut = by_phrase(song(), &[300.0], 3.0, 27.0);
        let mut long: Vec<(f64, f64, f64)> = cut
            .iter()
            .filter(|l| (l.b.start_s - l.a.start_s - 120.0).abs() < 1.0)
            .map(|l| (l.a.start_s, l.a.end_s, l.b.start_s))
            .collect();
        long.sort_by(|x, y| x.0.total_cmp(&y.0));
        let starts: Vec<f64> = long.iter().map(|x| (x.0 * 10.0).round() / 10.0).collect();
        assert_eq!(starts, vec![10.0, 30.0, 50.0, 70.0], "{long:?}");
        assert!(long.iter().all(|x| ((x.1 - x.0) - 20.0).abs() < 1e-9 && ((x.2 - x.0) - 120.0).abs() < 1e-9));
        // The phrase-lag repeats are shorter than three quarters of a phrase: left as matched.
        assert_eq!(cut.iter().filter(|l| (l.b.start_s - l.a.start_s - 20.0).abs() < 1.0).count(), 6);
    }

    #[test]
    fn matches_across_tracks_in_other_keys_or_without_phrase_lags_are_left_as_matched() {
        let mut links = vec![link(0, (10.0, 37.0), (130.0, 157.0), 0), link(0, (30.0, 57.0), (150.0, 177.0), 0)];
        // No repeat at a phrase's lag: nothing tells the phrase.
        assert_eq!(by_phrase(links.clone(), &[300.0], 3.0, 27.0), links);
        links.extend(song().into_iter().map(|mut l| {
            l.b.track = 1;
            l
        }));
        links.extend(song().into_iter().map(|mut l| {
            l.shift = 3;
            l
        }));
        assert_eq!(by_phrase(links.clone(), &[300.0, 300.0], 3.0, 27.0), links);
    }

    #[test]
    fn no_phrase_runs_past_the_end_of_its_track() {
        let cut = by_phrase(song(), &[200.0], 3.0, 27.0);
        assert!(cut.iter().all(|l| l.a.end_s <= 200.0 + 1e-9 && l.b.end_s <= 200.0 + 1e-9));
        assert!(cut.iter().any(|l| (l.b.start_s - l.a.start_s - 120.0).abs() < 1.0), "the section is still there");
    }
}
