//! Grouping pairwise matches into motif families.
//!
//! Every pairwise match names two spans. Spans of one track that cover the same stretch of music
//! (intersection at least half of the union) are one occurrence, spanning all of them: each match
//! may have caught only the part of the phrase that survived its variation. Matches link
//! occurrences; densely linked groups are the motifs. Key shifts are propagated from the group's first occurrence
//! along the links, so every occurrence's shift is relative to that first one.

use std::collections::{BTreeMap, VecDeque};

use crate::similarity::wrap_shift;

/// A span of one track, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Index of the track.
    pub track: usize,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

impl Span {
    /// `(track, start, end)`, for [`crate::units::place_order`].
    pub fn place(&self) -> (usize, f64, f64) {
        (self.track, self.start_s, self.end_s)
    }

    /// Length, seconds.
    pub fn len(&self) -> f64 {
        (self.end_s - self.start_s).max(0.0)
    }

    /// Seconds the two spans share (0 for different tracks).
    pub fn overlap_s(&self, other: &Span) -> f64 {
        if self.track != other.track {
            return 0.0;
        }
        (self.end_s.min(other.end_s) - self.start_s.max(other.start_s)).max(0.0)
    }

    /// Intersection over union of two spans (0 for different tracks).
    pub fn iou(&self, other: &Span) -> f64 {
        let inter = self.overlap_s(other);
        let union = self.len() + other.len() - inter;
        if inter <= 0.0 || union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// Two spans where the same music sounds; `b` lies `shift` semitones above `a`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// First span.
    pub a: Span,
    /// Second span.
    pub b: Span,
    /// Semitones `b` lies above `a` (0..12).
    pub shift: usize,
    /// Similarity in [0, 1].
    pub score: f32,
}

/// One occurrence in a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Where it sounds.
    pub span: Span,
    /// Semitones above the family's first occurrence, in -5..=6.
    pub transpose: i32,
    /// Best similarity of the links that reached it.
    pub score: f32,
}

/// Groups links into families, each with its members sorted by track and start, and no member
/// longer than `max_spread` times another: partial occurrences are completed first (see
/// [`complete_partial`]), then what still differs is split (see [`split_by_length`]). `track_end`
/// holds each track's length in seconds.
pub fn group(links: &[Link], max_spread: f64, track_end: &[f64]) -> Vec<Vec<Member>> {
    // Nodes: one per distinct stretch of music.
    let mut spans: Vec<Span> = Vec::with_capacity(links.len() * 2);
    for l in links {
        spans.push(l.a);
        spans.push(l.b);
    }
    let mut uf = UnionFind::new(spans.len());
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&x, &y| {
        (spans[x].track, spans[x].start_s)
            .partial_cmp(&(spans[y].track, spans[y].start_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (n, &x) in order.iter().enumerate() {
        for &y in &order[n + 1..] {
            if spans[y].track != spans[x].track || spans[y].start_s >= spans[x].end_s {
                break;
            }
            if spans[x].iou(&spans[y]) >= super::SAME_PLACE_IOU {
                uf.union(x, y);
            }
        }
    }
    let mut node_of = vec![0usize; spans.len()];
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for s in 0..spans.len() {
        members.entry(uf.find(s)).or_default().push(s);
    }
    let mut nodes: Vec<Span> = Vec::with_capacity(members.len());
    for (id, (_, group)) in members.iter().enumerate() {
        for &s in group {
            node_of[s] = id;
        }
        nodes.push(covering_span(group.iter().map(|&s| spans[s])));
    }
    // Edges between nodes carry the key shift and the score.
    let mut adj: Vec<Vec<(usize, usize, f32)>> = vec![Vec::new(); nodes.len()];
    // Per node: (other node, link index) of each link, to map spans through.
    let mut via: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nodes.len()];
    let mut best_score = vec![0f32; nodes.len()];
    for (k, l) in links.iter().enumerate() {
        let (u, v) = (node_of[2 * k], node_of[2 * k + 1]);
        if u == v {
            continue;
        }
        adj[u].push((v, l.shift % 12, l.score));
        adj[v].push((u, (12 - l.shift % 12) % 12, l.score));
        via[u].push((v, k));
        via[v].push((u, k));
        best_score[u] = best_score[u].max(l.score);
        best_score[v] = best_score[v].max(l.score);
    }
    let family_of = link_families(nodes.len(), &adj);
    let mut by_start: Vec<usize> = (0..nodes.len()).collect();
    by_start.sort_by(|&x, &y| crate::units::place_order(nodes[x].place(), nodes[y].place()));
    let mut key: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut families = Vec::new();
    for &root in &by_start {
        if key[root].is_some() || adj[root].is_empty() {
            continue;
        }
        // Breadth-first from the earliest node, so shifts are relative to the first occurrence;
        // the strongest links are followed first where a node is reachable twice.
        key[root] = Some(0);
        let mut queue = VecDeque::from([root]);
        let mut family = vec![root];
        while let Some(u) = queue.pop_front() {
            let mut next = adj[u].clone();
            next.sort_by(|x, y| y.2.total_cmp(&x.2));
            for (v, shift, _) in next {
                if key[v].is_none() && family_of[v] == family_of[root] {
                    key[v] = Some((key[u].unwrap_or(0) + shift) % 12);
                    family.push(v);
                    queue.push_back(v);
                }
            }
        }
        family.sort_by(|&x, &y| {
            (nodes[x].track, nodes[x].start_s)
                .partial_cmp(&(nodes[y].track, nodes[y].start_s))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let kept = drop_overlaps(&family, &nodes, &best_score);
        if kept.len() < 2 {
            continue;
        }
        let spans = complete_partial(&kept, &nodes, &via, links, max_spread, track_end);
        let base = key[kept[0]].unwrap_or(0);
        let family: Vec<Member> = kept
            .iter()
            .zip(spans)
            .map(|(&n, span)| Member {
                span,
                transpose: wrap_shift(key[n].unwrap_or(0) as i32 - base as i32),
                score: best_score[n],
            })
            .collect();
        families.extend(split_by_length(family, max_spread));
    }
    drop_redundant(families)
}

/// The spans of a family's members (`family`, node ids in place order), each partial one
/// completed. A member under dialogue or in another arrangement is often matched over only part
/// of the phrase, while its fellows were matched whole. Such a member, shorter than the longest
/// by more than `max_spread`, is mapped through its surest link to a member of full length: the
/// link's two stretches fix the offset and the tempo, and the fellow's whole span, carried
/// across, is where the phrase sounds. The completed span stays inside its track and clear of
/// the family's neighbouring members there.
fn complete_partial(
    family: &[usize],
    nodes: &[Span],
    via: &[Vec<(usize, usize)>],
    links: &[Link],
    max_spread: f64,
    track_end: &[f64],
) -> Vec<Span> {
    let longest = family.iter().map(|&n| nodes[n].len()).fold(0.0, f64::max);
    let whole = |n: usize| nodes[n].len() * max_spread >= longest;
    let mut spans: Vec<Span> = family
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let node = nodes[n];
            if whole(n) {
                return node;
            }
            let surest = via[n]
                .iter()
                .filter(|(m, _)| family.contains(m) && whole(*m))
                .max_by(|x, y| links[x.1].score.total_cmp(&links[y.1].score).then(y.1.cmp(&x.1)));
            let Some(&(m, k)) = surest else {
                return node;
            };
            // This member's stretch of the link, and the fellow's.
            let l = &links[k];
            let (mine, theirs) = if l.a.track == node.track && node.iou(&l.a) > 0.0 && nodes[m].iou(&l.b) > 0.0 {
                (l.a, l.b)
            } else {
                (l.b, l.a)
            };
            if theirs.len() <= 0.0 {
                return node;
            }
            let rate = mine.len() / theirs.len();
            let full = nodes[m];
            let mut start = node.start_s.min(mine.start_s - (theirs.start_s - full.start_s).max(0.0) * rate);
            let mut end = node.end_s.max(mine.end_s + (full.end_s - theirs.end_s).max(0.0) * rate);
            // Boundaries are known to a few frames on either side: a completed span that still
            // falls just short of the tempo range is widened evenly to reach it.
            let least = longest / max_spread;
            if end - start < least && (end - start) * max_spread >= least {
                let pad = (least - (end - start)) / 2.0;
                (start, end) = (start - pad, end + pad);
            }
            let before = family[..i].iter().rev().map(|&p| nodes[p]).find(|p| p.track == node.track);
            let after = family[i + 1..].iter().map(|&p| nodes[p]).find(|p| p.track == node.track);
            start = start.max(before.map_or(0.0, |p| p.end_s)).max(0.0);
            end = end
                .min(after.map_or(f64::INFINITY, |p| p.start_s))
                .min(track_end.get(node.track).copied().unwrap_or(end));
            Span { track: node.track, start_s: start.min(node.start_s), end_s: end.max(node.end_s) }
        })
        .collect();
    // Two neighbours completed towards each other meet half way (never inside what either
    // matched): members of one family do not overlap.
    for i in 1..spans.len() {
        let (prev, next) = (nodes[family[i - 1]], nodes[family[i]]);
        if spans[i - 1].track == spans[i].track && spans[i - 1].end_s > spans[i].start_s {
            let cut = ((spans[i - 1].end_s + spans[i].start_s) / 2.0).clamp(prev.end_s, next.start_s.max(prev.end_s));
            spans[i - 1].end_s = cut;
            spans[i].start_s = cut;
        }
    }
    spans
}

/// Splits a family into groups whose members' lengths lie within `max_spread` of each other
/// (longest over shortest), largest group first, dropping groups of one. Every link joins spans
/// within the tempo range, but chains of links do not: a phrase linked to its first half, which
/// is linked to a cadence heard elsewhere, would make one family of spans two or three times
/// each other's length, which no tempo change explains. Keys stay relative to the family's
/// first member; the caller rebases them on each group's first.
pub fn split_by_length(mut family: Vec<Member>, max_spread: f64) -> Vec<Vec<Member>> {
    let len = |m: &Member| m.span.len().max(1e-9);
    let mut groups = Vec::new();
    while family.len() >= 2 {
        family.sort_by(|x, y| len(x).total_cmp(&len(y)));
        // The window of lengths holding the most members (then the surest), shortest first.
        let mut best = (0, 0, 0, 0.0f32);
        let mut end = 0;
        for start in 0..family.len() {
            end = end.max(start);
            while end + 1 < family.len() && len(&family[end + 1]) <= len(&family[start]) * max_spread * (1.0 + 1e-9) {
                end += 1;
            }
            let count = end - start + 1;
            let strength: f32 = family[start..=end].iter().map(|m| m.score).sum();
            if count > best.2 || (count == best.2 && strength > best.3) {
                best = (start, end, count, strength);
            }
        }
        if best.2 < 2 {
            break;
        }
        let mut group: Vec<Member> = family.drain(best.0..=best.1).collect();
        group.sort_by(|x, y| crate::units::place_order(x.span.place(), y.span.place()));
        groups.push(group);
    }
    groups
}

/// Drops the families all of whose members lie inside members of a larger family: a fragment of
/// a motif matched along a second, parallel line (its own internal echo) is not another motif.
fn drop_redundant(mut families: Vec<Vec<Member>>) -> Vec<Vec<Member>> {
    let strength = |f: &Vec<Member>| f.iter().map(|m| m.score).sum::<f32>();
    families.sort_by(|x, y| y.len().cmp(&x.len()).then(strength(y).total_cmp(&strength(x))));
    let mut kept: Vec<Vec<Member>> = Vec::with_capacity(families.len());
    for fam in families {
        let inside = |m: &Member| {
            kept.iter()
                .flatten()
                .any(|k| k.span.track == m.span.track && k.span.overlap_s(&m.span) >= 0.5 * m.span.len())
        };
        if !fam.iter().all(inside) {
            kept.push(fam);
        }
    }
    kept
}

/// Least share of the possible links between two groups for them to be one family.
/// Every occurrence of a motif resembles every other, so a true family is densely linked;
/// a chain of chance resemblances (A like B, B like C, C like D) is not, and stops here.
const MIN_LINKAGE: f64 = 0.2;

/// Agglomerates nodes into families, strongest links first, merging two groups only when
/// enough of the links between them exist (average linkage over the link graph).
fn link_families(n: usize, adj: &[Vec<(usize, usize, f32)>]) -> Vec<usize> {
    let mut edges: Vec<(f32, usize, usize)> = adj
        .iter()
        .enumerate()
        .flat_map(|(u, e)| e.iter().filter(move |x| x.0 > u).map(move |x| (x.2, u, x.0)))
        .collect();
    edges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let neighbours: Vec<std::collections::HashSet<usize>> =
        adj.iter().map(|e| e.iter().map(|x| x.0).collect()).collect();
    let mut uf = UnionFind::new(n);
    let mut members: Vec<Vec<usize>> = (0..n).map(|u| vec![u]).collect();
    for (_, u, v) in edges {
        let (fu, fv) = (uf.find(u), uf.find(v));
        if fu == fv {
            continue;
        }
        let links: usize =
            members[fu].iter().map(|x| members[fv].iter().filter(|y| neighbours[*x].contains(y)).count()).sum();
        let possible = (members[fu].len() * members[fv].len()) as f64;
        if (links as f64) < MIN_LINKAGE * possible {
            continue;
        }
        uf.union(fu, fv);
        let root = uf.find(fu);
        let other = if root == fu { fv } else { fu };
        let moved = std::mem::take(&mut members[other]);
        members[root].extend(moved);
    }
    (0..n).map(|u| uf.find(u)).collect()
}

/// Within one family, two members that overlap in one track by half the shorter or more are one
/// occurrence: keep the surer. Less than that, they are neighbours whose boundaries blur (copies
/// of a phrase played back to back), and both stay.
fn drop_overlaps(family: &[usize], nodes: &[Span], score: &[f32]) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::with_capacity(family.len());
    for &n in family {
        let same_place = kept.last().is_some_and(|&p| {
            let (p, n) = (nodes[p], nodes[n]);
            p.track == n.track && p.overlap_s(&n) >= 0.5 * p.len().min(n.len())
        });
        match kept.last() {
            Some(&p) if same_place => {
                if score[n] > score[p] {
                    kept.pop();
                    kept.push(n);
                }
            }
            _ => kept.push(n),
        }
    }
    kept
}

/// The span covering all of `spans` (of one track).
fn covering_span(spans: impl Iterator<Item = Span>) -> Span {
    spans
        .reduce(|acc, s| Span { track: acc.track, start_s: acc.start_s.min(s.start_s), end_s: acc.end_s.max(s.end_s) })
        .unwrap_or(Span { track: 0, start_s: 0.0, end_s: 0.0 })
}

/// Disjoint sets of `0..n`, each named by its smallest member.
pub(super) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub(super) fn new(n: usize) -> Self {
        Self { parent: (0..n).collect() }
    }

    pub(super) fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    pub(super) fn union(&mut self, x: usize, y: usize) {
        let (rx, ry) = (self.find(x), self.find(y));
        if rx != ry {
            self.parent[rx.max(ry)] = rx.min(ry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(track: usize, start_s: f64, end_s: f64) -> Span {
        Span { track, start_s, end_s }
    }

    #[test]
    fn chains_links_into_one_family_with_relative_keys() {
        let links = [
            Link { a: span(0, 10.0, 18.0), b: span(1, 5.0, 13.0), shift: 2, score: 0.9 },
            Link { a: span(1, 5.2, 13.1), b: span(2, 40.0, 50.0), shift: 3, score: 0.8 },
            Link { a: span(3, 0.0, 5.0), b: span(3, 20.0, 25.0), shift: 0, score: 0.7 },
        ];
        let fams = group(&links, 1.25, &[60.0; 4]);
        assert_eq!(fams.len(), 2);
        let big = fams.iter().find(|f| f.len() == 3).expect("three members");
        assert_eq!(big.iter().map(|m| m.transpose).collect::<Vec<_>>(), vec![0, 2, 5]);
        assert_eq!(big[0].span.track, 0);
    }

    #[test]
    fn a_family_never_spans_lengths_beyond_the_tempo_range() {
        let member = |track: usize, start_s: f64, end_s: f64| Member {
            span: span(track, start_s, end_s),
            transpose: 0,
            score: 0.8,
        };
        // Three phrases of about 8 s, two fragments of 3 s and a 20 s passage chained to them.
        let family = vec![
            member(0, 0.0, 8.0),
            member(1, 10.0, 18.5),
            member(2, 5.0, 12.0),
            member(3, 0.0, 3.0),
            member(4, 30.0, 33.2),
            member(5, 0.0, 20.0),
        ];
        let groups = split_by_length(family, 1.25);
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0].iter().map(|m| m.span.track).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(groups[1].iter().map(|m| m.span.track).collect::<Vec<_>>(), vec![3, 4]);
        for g in &groups {
            let lens: Vec<f64> = g.iter().map(|m| m.span.len()).collect();
            let (lo, hi) = (lens.iter().copied().fold(f64::MAX, f64::min), lens.iter().copied().fold(0.0, f64::max));
            assert!(hi / lo <= 1.25 + 1e-9, "{lens:?}");
        }
    }

    #[test]
    fn a_partly_matched_occurrence_is_completed_through_its_link() {
        // Tracks 0 and 1 hold an 8 s phrase matched whole; track 2 was matched over only its
        // last 5 s (at the same tempo) against track 0, and then only that much of track 0.
        let links = [
            Link { a: span(0, 10.0, 18.0), b: span(1, 20.0, 28.0), shift: 0, score: 0.9 },
            Link { a: span(0, 13.0, 18.0), b: span(2, 35.0, 40.0), shift: 2, score: 0.7 },
        ];
        let fams = group(&links, 1.25, &[60.0; 3]);
        assert_eq!(fams.len(), 1, "{fams:?}");
        let third = fams[0].iter().find(|m| m.span.track == 2).expect("track 2");
        assert!((third.span.start_s - 32.0).abs() < 1e-9 && (third.span.end_s - 40.0).abs() < 1e-9, "{third:?}");
        assert_eq!(third.transpose, 2);
        // Near the start of its track, the completed span stops at 0.
        let early = [
            Link { a: span(0, 10.0, 18.0), b: span(1, 20.0, 28.0), shift: 0, score: 0.9 },
            Link { a: span(0, 13.0, 18.0), b: span(2, 2.0, 7.0), shift: 0, score: 0.7 },
        ];
        let fams = group(&early, 1.25, &[60.0; 3]);
        let third = fams[0].iter().find(|m| m.span.track == 2).expect("track 2");
        assert_eq!((third.span.start_s, third.span.end_s), (0.0, 7.0));
    }
}
