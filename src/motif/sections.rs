//! Larger repeats: stretches where several motifs recur together, one after another, at one
//! offset.
//!
//! A verse-and-chorus block that comes back whole, or a cue reused in full, is heard by the
//! matcher as a run of motifs whose occurrences all lie the same distance apart: motif 1 at 3 s
//! and 24 s, motif 2 at 9 s and 30 s, motif 3 at 14 s and 35 s. Following those pairs of
//! occurrences that share one track pair and one offset, and chaining the ones that follow each
//! other, gives the larger repeat (3-23 s again at 24-44 s) without matching anything again.
//! Gaps in a run may be as long as what it has chained so far; repeats are gathered finest
//! first, so a block's four passes are four places and not two pairs of passes.
//! The motifs stay the phrase-level answer; a section says which of them form a larger whole.

use std::collections::BTreeSet;

use super::family::{Span, UnionFind};
use crate::units::place_order;

/// Motif boundaries are known to about a second, so two pairs of occurrences whose offsets
/// differ by less than this are taken to lie at one offset.
pub const OFFSET_TOLERANCE_S: f64 = 2.0;

/// A stretch heard at two or more places, made of two or more motifs in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Where it sounds, sorted by track and start.
    pub occurrences: Vec<Span>,
    /// Indices (into the motifs given) of the motifs it is made of, ascending.
    pub motifs: Vec<usize>,
}

/// One pair of occurrences of one motif: `from` sounds again at `to`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    from: Span,
    to: Span,
    motif: usize,
}

impl Piece {
    fn offset(&self) -> f64 {
        self.to.start_s - self.from.start_s
    }
}

/// A larger repeat between two places, with the motifs it chains.
struct Repeat {
    from: Span,
    to: Span,
    motifs: BTreeSet<usize>,
}

/// The sections of `motifs` (each given as its occurrences' spans).
pub fn find_sections(motifs: &[Vec<Span>]) -> Vec<Section> {
    let mut pieces: Vec<Piece> = Vec::new();
    for (m, occurrences) in motifs.iter().enumerate() {
        for (i, a) in occurrences.iter().enumerate() {
            for b in &occurrences[i + 1..] {
                let (from, to) = if place_order(a.place(), b.place()).is_le() { (*a, *b) } else { (*b, *a) };
                pieces.push(Piece { from, to, motif: m });
            }
        }
    }
    let repeats = chain(pieces);
    gather(&repeats)
}

/// Chains pieces of one track pair and one offset that follow each other into repeats of two
/// or more motifs.
fn chain(mut pieces: Vec<Piece>) -> Vec<Repeat> {
    pieces.sort_by(|p, q| {
        (p.from.track, p.to.track).cmp(&(q.from.track, q.to.track)).then(p.offset().total_cmp(&q.offset()))
    });
    let mut repeats = Vec::new();
    for pair in pieces.chunk_by(|p, q| (p.from.track, p.to.track) == (q.from.track, q.to.track)) {
        for mut group in offset_groups(pair.to_vec()) {
            group.sort_by(|p, q| p.from.start_s.total_cmp(&q.from.start_s));
            repeats.extend(runs(&group));
        }
    }
    repeats
}

/// Splits pieces (sorted by offset) into groups of one offset: the window of offsets
/// [o, o + 2 x tolerance] holding the most pieces is a group, then the next among the rest.
/// Windows, not chains: a phrase repeated 17 s into a block that repeats 505 s later gives
/// offsets of 488 and 522 s besides 505, and chaining near offsets would join them.
fn offset_groups(mut pieces: Vec<Piece>) -> Vec<Vec<Piece>> {
    let mut groups = Vec::new();
    while !pieces.is_empty() {
        let (mut best, mut end) = ((0, 0), 0);
        for start in 0..pieces.len() {
            end = end.max(start);
            while end + 1 < pieces.len()
                && pieces[end + 1].offset() - pieces[start].offset() <= 2.0 * OFFSET_TOLERANCE_S
            {
                end += 1;
            }
            if end - start > best.1 - best.0 {
                best = (start, end);
            }
        }
        groups.push(pieces.drain(best.0..=best.1).collect());
    }
    groups
}

/// Runs of pieces (one offset, sorted by start) whose stretches follow each other with gaps no
/// longer than what the run has chained so far: two motifs at one offset are unlikely to be
/// chance, and a larger repeat may hold passages that matched nothing (an intro, a bridge under
/// dialogue) as long as they do not outweigh what did match.
fn runs(group: &[Piece]) -> Vec<Repeat> {
    let mut out = Vec::new();
    let mut current: Option<Repeat> = None;
    for p in group {
        if let Some(run) = &mut current {
            let gap = p.from.start_s - run.from.end_s;
            let chained = run.from.end_s - run.from.start_s;
            // Within one track the repeat stops where its second place begins: passes 1, 2 and
            // 3 of a block, each a block apart, are three places, not one stretch heard twice.
            let reaches_copy = run.from.track == run.to.track && p.from.start_s >= run.to.start_s - OFFSET_TOLERANCE_S;
            if gap <= chained.max(p.from.end_s - p.from.start_s) && !reaches_copy {
                run.from.end_s = run.from.end_s.max(p.from.end_s);
                run.to.start_s = run.to.start_s.min(p.to.start_s);
                run.to.end_s = run.to.end_s.max(p.to.end_s);
                run.motifs.insert(p.motif);
                continue;
            }
        }
        out.extend(current.take());
        current = Some(Repeat { from: p.from, to: p.to, motifs: BTreeSet::from([p.motif]) });
    }
    out.extend(current);
    // A stretch repeating back to back is two places, not one: where a motif runs across the
    // junction, the first place ends where the second begins.
    for r in &mut out {
        if r.from.track == r.to.track && r.from.end_s > r.to.start_s {
            r.from.end_s = r.to.start_s;
            let len = (r.from.end_s - r.from.start_s).max(0.0);
            r.to.end_s = r.to.end_s.min(r.to.start_s + len + OFFSET_TOLERANCE_S);
        }
    }
    // A repeat is larger than a motif: at least two of them.
    out.retain(|r| r.motifs.len() >= 2 && r.from.end_s > r.from.start_s);
    out
}

/// Groups repeats that share places into sections: places of one track that cover the same
/// stretch (intersection at least half of the union) are one occurrence.
fn gather(repeats: &[Repeat]) -> Vec<Section> {
    let repeats = finest_first(repeats);
    let mut places: Vec<Span> = Vec::with_capacity(repeats.len() * 2);
    for r in &repeats {
        places.push(r.from);
        places.push(r.to);
    }
    let mut sets = UnionFind::new(places.len());
    for r in 0..repeats.len() {
        sets.union(2 * r, 2 * r + 1);
    }
    for x in 0..places.len() {
        for y in x + 1..places.len() {
            if places[x].iou(&places[y]) >= super::SAME_PLACE_IOU {
                sets.union(x, y);
            }
        }
    }
    let mut roots: Vec<usize> = (0..places.len()).map(|x| sets.find(x)).collect();
    roots.sort_unstable();
    roots.dedup();
    let mut sections = Vec::new();
    for root in roots {
        let members: Vec<usize> = (0..places.len()).filter(|&x| sets.find(x) == root).collect();
        // Places of one section that overlap by half or more in one track are one occurrence,
        // spanning them.
        let mut spans: Vec<Span> = members.iter().map(|&x| places[x]).collect();
        spans.sort_by(|p, q| place_order(p.place(), q.place()));
        // Places that overlap by less than half the shorter one are neighbours whose boundaries
        // blur (a motif across the junction of back-to-back passes): they meet half way.
        let mut occurrences: Vec<Span> = Vec::new();
        for mut s in spans {
            match occurrences.last_mut() {
                Some(last) if last.track == s.track && s.start_s < last.end_s => {
                    if last.overlap_s(&s) >= 0.5 * last.len().min(s.len()) {
                        last.end_s = last.end_s.max(s.end_s);
                    } else {
                        let cut = (s.start_s + last.end_s) / 2.0;
                        (last.end_s, s.start_s) = (cut, cut);
                        occurrences.push(s);
                    }
                }
                _ => occurrences.push(s),
            }
        }
        if occurrences.len() < 2 {
            continue;
        }
        let motifs: BTreeSet<usize> = members.iter().flat_map(|&x| repeats[x / 2].motifs.iter().copied()).collect();
        sections.push(Section { occurrences, motifs: motifs.into_iter().collect() });
    }
    let mut sections = drop_coarser(sections);
    sections.sort_by(|a, b| place_order(a.occurrences[0].place(), b.occurrences[0].place()));
    sections
}

/// The repeats at their finest level: taken shortest first, a repeat whose first place is made
/// of two or more shorter places already taken (passes 1-2 of a block heard again as passes 3-4)
/// is left out, since it would join places of two levels into one.
fn finest_first(repeats: &[Repeat]) -> Vec<&Repeat> {
    let mut order: Vec<&Repeat> = repeats.iter().collect();
    order.sort_by(|a, b| a.from.len().total_cmp(&b.from.len()));
    let mut taken: Vec<&Repeat> = Vec::new();
    for r in order {
        let parts = taken
            .iter()
            .flat_map(|t| [t.from, t.to])
            .filter(|p| p.len() <= 0.75 * r.from.len() && p.overlap_s(&r.from) >= 0.25 * r.from.len())
            .count();
        if parts < 2 {
            taken.push(r);
        }
    }
    taken
}

/// Drops a section each of whose occurrences is mostly made of occurrences of a section heard
/// more often: passes 1-2 of a block heard again as passes 3-4 say nothing the block's four
/// passes do not.
fn drop_coarser(sections: Vec<Section>) -> Vec<Section> {
    let covered = |o: &Span, by: &Section| {
        let inside: f64 = by.occurrences.iter().map(|b| b.overlap_s(o)).sum();
        inside >= 0.8 * o.len()
    };
    sections
        .iter()
        .filter(|s| {
            !sections
                .iter()
                .any(|t| t.occurrences.len() > s.occurrences.len() && s.occurrences.iter().all(|o| covered(o, t)))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(track: usize, start_s: f64, end_s: f64) -> Span {
        Span { track, start_s, end_s }
    }

    /// Four phrases, each a motif heard in four passes of a 20.8 s block, with boundaries a
    /// little off from pass to pass.
    fn block_motifs() -> Vec<Vec<Span>> {
        let phrase = [(3.5, 8.0), (8.6, 13.2), (13.8, 18.4), (18.9, 23.6)];
        let jitter = [0.0, 0.3, -0.2, 0.4];
        phrase
            .iter()
            .map(|&(s, e)| (0..4).map(|k| span(0, s + 20.8 * k as f64 + jitter[k], e + 20.8 * k as f64)).collect())
            .collect()
    }

    #[test]
    fn a_block_repeated_four_times_is_one_section_of_four() {
        let sections = find_sections(&block_motifs());
        assert_eq!(sections.len(), 1, "{sections:?}");
        let s = &sections[0];
        assert_eq!(s.motifs, vec![0, 1, 2, 3]);
        assert_eq!(s.occurrences.len(), 4);
        for (k, o) in s.occurrences.iter().enumerate() {
            let start = 3.5 + 20.8 * k as f64;
            assert!((o.start_s - start).abs() < 0.5 && (o.end_s - (start + 20.1)).abs() < 0.5, "{o:?}");
        }
    }

    #[test]
    fn motifs_at_unrelated_offsets_make_no_section() {
        let motifs = vec![
            vec![span(0, 10.0, 15.0), span(1, 40.0, 45.0)],
            vec![span(0, 16.0, 21.0), span(1, 80.0, 85.0)],
            vec![span(2, 5.0, 9.0), span(3, 5.0, 9.0)],
        ];
        assert!(find_sections(&motifs).is_empty());
    }

    #[test]
    fn one_motif_alone_is_no_section() {
        let motifs = vec![vec![span(0, 0.0, 20.0), span(0, 30.0, 50.0), span(1, 0.0, 20.0)]];
        assert!(find_sections(&motifs).is_empty());
    }
}
