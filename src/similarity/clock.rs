//! Where frames lie in time: the one place the matching stages turn times into frames and back.

/// The timing of a sequence of frames built from features `feature_hop_s` apart, each frame
/// grouping `factor` feature frames. Feature frame `n` is centred at `n` hops and spans `n ± ½`
/// hop, so matching frame `k` starts half a feature hop before its first feature frame's
/// centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameClock {
    feature_hop_s: f64,
    factor: usize,
}

impl Default for FrameClock {
    fn default() -> Self {
        Self { feature_hop_s: DEFAULT_FEATURE_HOP_S, factor: 1 }
    }
}

/// The hop assumed for features that carry none (an empty or damaged sequence).
const DEFAULT_FEATURE_HOP_S: f64 = 0.1;

impl FrameClock {
    /// Frames of features `feature_hop_s` apart grouped to about `hop_s`: the hop is rounded to
    /// a whole number of feature frames (at least one). A hop that is not positive is taken as
    /// 0.1 s.
    pub fn new(feature_hop_s: f64, hop_s: f64) -> Self {
        let feature_hop_s = if feature_hop_s > 0.0 { feature_hop_s } else { DEFAULT_FEATURE_HOP_S };
        let factor = (hop_s / feature_hop_s).round();
        Self { feature_hop_s, factor: if factor >= 1.0 { factor as usize } else { 1 } }
    }

    /// Seconds between frames.
    pub fn hop_s(&self) -> f64 {
        self.factor as f64 * self.feature_hop_s
    }

    /// Feature frames per frame.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Hop of the underlying features, seconds.
    pub fn feature_hop_s(&self) -> f64 {
        self.feature_hop_s
    }

    /// Start time in seconds of frame `k` (which may be fractional), never before 0.
    pub fn time_of(&self, k: f64) -> f64 {
        ((k * self.factor as f64 - 0.5) * self.feature_hop_s).max(0.0)
    }

    /// Centre time in seconds of frame `k` (`k` hops from the first centre, at 0).
    pub fn centre_of(&self, k: f64) -> f64 {
        k * self.hop_s()
    }

    /// The frame nearest to `t` seconds (0 for times before the start).
    pub fn frame_at(&self, t: f64) -> usize {
        let k = (t / self.hop_s()).round();
        if k > 0.0 { k as usize } else { 0 }
    }

    /// Whole frames in `seconds`, rounded.
    pub fn frames_in(&self, seconds: f64) -> usize {
        self.frame_at(seconds)
    }

    /// Seconds that `n` feature frames cover: the last one ends half a hop after its centre.
    pub fn covered_s(&self, n_feature_frames: usize) -> f64 {
        (n_feature_frames as f64 - 0.5).max(0.0) * self.feature_hop_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_frames_round_trip() {
        let clock = FrameClock::new(0.1, 0.2);
        assert_eq!(clock.factor(), 2);
        assert!((clock.hop_s() - 0.2).abs() < 1e-12);
        assert_eq!(clock.time_of(0.0), 0.0);
        assert!((clock.time_of(10.0) - 1.95).abs() < 1e-12);
        assert_eq!(clock.frame_at(2.0), 10);
        assert!((clock.centre_of(10.0) - 2.0).abs() < 1e-12);
        assert_eq!(clock.frame_at(-3.0), 0);
        assert_eq!(clock.frames_in(3.0), 15);
        assert!((clock.covered_s(30) - 2.95).abs() < 1e-12);
    }

    #[test]
    fn odd_hops_round_to_whole_feature_frames() {
        assert_eq!(FrameClock::new(0.1, 0.26).factor(), 3);
        assert_eq!(FrameClock::new(0.1, 0.01).factor(), 1);
        assert_eq!(FrameClock::new(0.0, 0.2).feature_hop_s(), 0.1);
        assert_eq!(FrameClock::new(0.1, f64::NAN).factor(), 1);
    }
}
