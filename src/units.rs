//! Numbers for people and for documents: times as m:ss.t and values rounded so documents do not
//! carry binary noise. The lowest module: every stage may use it.

use std::cmp::Ordering;

/// The one order of places in a set of tracks, `(track, start, end)` with times in seconds: by
/// track, then start, then end; total even for NaN, so sorting never depends on the input order.
pub fn place_order(a: (usize, f64, f64), b: (usize, f64, f64)) -> Ordering {
    a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2))
}

/// Intersection over union of two time spans (0 when either is empty).
pub fn span_iou(a_start: f64, a_end: f64, b_start: f64, b_end: f64) -> f64 {
    let inter = (a_end.min(b_end) - a_start.max(b_start)).max(0.0);
    let union = (a_end - a_start).max(0.0) + (b_end - b_start).max(0.0) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Rounds to `decimals` places so documents do not carry binary noise such as 12.300000000000001.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// Rounds to `digits` significant digits (0 and non-finite values unchanged).
pub fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let rounded = round_to(x, digits - 1 - x.abs().log10().floor() as i32);
    // Far below the smallest normal number the scale overflows: such a value has no noise to lose.
    if rounded.is_finite() { rounded } else { x }
}

/// Formats seconds as `m:ss.s`, or `h:mm:ss.s` from one hour on.
pub fn format_time(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".to_owned();
    }
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (h, rem) = (tenths / 36_000, tenths % 36_000);
    let (m, rem) = (rem / 600, rem % 600);
    let (s, t) = (rem / 10, rem % 10);
    if h > 0 { format!("{h}:{m:02}:{s:02}.{t}") } else { format!("{m}:{s:02}.{t}") }
}

/// Formats seconds as whole `m:ss`, or `h:mm:ss` from one hour on (axis labels).
pub fn format_clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Formats seconds as a timecode `hh:mm:ss.mmm` (cue sheets).
pub fn format_timecode(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "??:??:??.???".to_owned();
    }
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes_count_hours_minutes_seconds_and_milliseconds() {
        assert_eq!(format_timecode(0.0), "00:00:00.000");
        assert_eq!(format_timecode(3725.0625), "01:02:05.063");
        assert_eq!(format_timecode(59.9996), "00:01:00.000");
        assert_eq!(format_timecode(f64::NAN), "??:??:??.???");
    }

    #[test]
    fn settings_stored_as_f32_read_as_written() {
        assert_eq!(round_significant(f64::from(0.4f32), 7), 0.4);
        assert_eq!(round_significant(f64::from(0.3f32), 7), 0.3);
        assert_eq!(round_significant(1234.5678, 7), 1234.568);
        assert_eq!(round_significant(-0.000123456789, 3), -0.000123);
        assert_eq!(round_significant(0.0, 7), 0.0);
        assert_eq!(round_significant(1e-320, 7), 1e-320);
    }
}
