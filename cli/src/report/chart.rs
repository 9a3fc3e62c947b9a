//! The detections-over-time chart: an inline SVG bar chart, blocked and alerted stacked, with
//! a bucket size chosen from the span of the data.

use std::fmt::Write as _;

use super::html::esc;
use crate::events::Utc;

/// Most bars drawn; the bucket is the smallest step that fits the span in this many.
const MAX_BARS: i64 = 60;

/// Bucket sizes tried, in milliseconds, with their names.
const STEPS: [(i64, &str); 21] = [
    (1_000, "1 second"),
    (5_000, "5 seconds"),
    (10_000, "10 seconds"),
    (30_000, "30 seconds"),
    (60_000, "1 minute"),
    (2 * 60_000, "2 minutes"),
    (5 * 60_000, "5 minutes"),
    (10 * 60_000, "10 minutes"),
    (15 * 60_000, "15 minutes"),
    (30 * 60_000, "30 minutes"),
    (HOUR, "1 hour"),
    (2 * HOUR, "2 hours"),
    (3 * HOUR, "3 hours"),
    (6 * HOUR, "6 hours"),
    (12 * HOUR, "12 hours"),
    (DAY, "1 day"),
    (2 * DAY, "2 days"),
    (7 * DAY, "1 week"),
    (14 * DAY, "2 weeks"),
    (30 * DAY, "30 days"),
    (90 * DAY, "90 days"),
];

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Drawing area, in SVG user units (the SVG scales to its container).
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 42.0;

/// The chart of `times` (each detection's time and whether it was blocked): a `<figure>` with
/// the SVG and a caption, or a note when there is nothing to draw.
pub(super) fn timeline(times: &[(i64, bool)]) -> String {
    let (Some(first), Some(last)) = (
        times.iter().map(|&(t, _)| t).min(),
        times.iter().map(|&(t, _)| t).max(),
    ) else {
        return "<p class=\"empty\">No timed detections in this log.</p>".to_owned();
    };
    let (step, step_name) = bucket(first, last);
    let start = first.div_euclid(step) * step;
    let n = usize::try_from((last - start) / step + 1).unwrap_or(1);
    let mut counts = vec![(0u64, 0u64); n];
    for &(t, blocked) in times {
        let i = usize::try_from((t - start) / step).unwrap_or(0);
        if let Some((b, a)) = counts.get_mut(i) {
            if blocked {
                *b += 1;
            } else {
                *a += 1;
            }
        }
    }
    let peak = counts.iter().map(|(b, a)| b + a).max().unwrap_or(0);
    let tick = tick_step(peak);
    let top = peak.div_ceil(tick).max(1) * tick;

    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.72).clamp(1.0, 48.0);
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / top as f64;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"timeline-title\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"timeline-title\">Detections per {step_name}</title>"
    );
    let mut v = 0;
    while v <= top {
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick y\" x=\"{:.1}\" y=\"{:.1}\">{v}</text>",
            WIDTH - RIGHT,
            LEFT - 8.0,
            y(v) + 4.0,
            y = y(v),
        );
        v += tick;
    }
    for (i, &(blocked, alerted)) in counts.iter().enumerate() {
        let total = blocked + alerted;
        if total == 0 {
            continue;
        }
        let from = start + step * i as i64;
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let _ = write!(
            svg,
            "<g class=\"bucket\"><title>{}: {total} detection{} ({blocked} blocked, {alerted} \
             alerted)</title>",
            esc(&span_label(from, step)),
            if total == 1 { "" } else { "s" },
        );
        let mut base = 0;
        for (class, count) in [("blocked", blocked), ("alerted", alerted)] {
            if count > 0 {
                let _ = write!(
                    svg,
                    "<rect class=\"bar {class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar_w:.1}\" \
                     height=\"{:.1}\"/>",
                    y(base + count),
                    y(base) - y(base + count),
                );
                base += count;
            }
        }
        svg.push_str("</g>");
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        WIDTH - RIGHT,
        y(0),
        y(0)
    );
    let every = n.div_ceil(10).max(1);
    let mut last_date = None;
    for i in (0..n).step_by(every) {
        let at = Utc::from_millis(start + step * i as i64);
        let x = LEFT + slot * i as f64 + slot / 2.0;
        let date = (at.year, at.month, at.day);
        let (main, sub) = if step >= DAY {
            (format!("{:02}-{:02}", at.month, at.day), None)
        } else {
            let time = if step < 60_000 {
                format!("{:02}:{:02}:{:02}", at.hour, at.minute, at.second)
            } else {
                format!("{:02}:{:02}", at.hour, at.minute)
            };
            let sub = (last_date != Some(date))
                .then(|| format!("{:04}-{:02}-{:02}", at.year, at.month, at.day));
            (time, sub)
        };
        last_date = Some(date);
        let _ = write!(
            svg,
            "<text class=\"tick x\" x=\"{x:.1}\" y=\"{:.1}\">{main}</text>",
            y(0) + 16.0
        );
        if let Some(sub) = sub {
            let _ = write!(
                svg,
                "<text class=\"tick x date\" x=\"{x:.1}\" y=\"{:.1}\">{sub}</text>",
                y(0) + 31.0
            );
        }
    }
    svg.push_str("</svg>");
    format!(
        "<figure>{svg}<figcaption><span class=\"key blocked\"></span>blocked \
         <span class=\"key alerted\"></span>alerted (reported only) \
         <span class=\"sep\">·</span> one bar per {step_name}, UTC</figcaption></figure>"
    )
}

/// The smallest step that draws `first..=last` in at most [`MAX_BARS`] bars.
fn bucket(first: i64, last: i64) -> (i64, &'static str) {
    STEPS
        .iter()
        .copied()
        .find(|&(step, _)| last.div_euclid(step) - first.div_euclid(step) < MAX_BARS)
        .unwrap_or((365 * DAY, "year"))
}

/// A round step (1, 2 or 5 times a power of ten) for about four gridlines up to `peak`.
fn tick_step(peak: u64) -> u64 {
    let raw = peak.div_ceil(4).max(1);
    let mut magnitude = 1;
    while magnitude * 10 <= raw {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10 * magnitude)
}

/// The time range of the bucket starting at `from`, for its tooltip.
fn span_label(from: i64, step: i64) -> String {
    let (a, b) = (Utc::from_millis(from), Utc::from_millis(from + step));
    if step >= DAY {
        format!(
            "{:04}-{:02}-{:02} – {:04}-{:02}-{:02}",
            a.year, a.month, a.day, b.year, b.month, b.day
        )
    } else {
        format!("{a} – {:02}:{:02}:{:02} UTC", b.hour, b.minute, b.second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_span() {
        assert_eq!(bucket(0, 0).0, 1_000);
        assert_eq!(bucket(0, 59_000).0, 1_000);
        assert_eq!(bucket(0, 3 * HOUR).0, 5 * 60_000);
        assert_eq!(bucket(0, 20 * DAY).0, 12 * HOUR);
        assert_eq!(bucket(0, 100 * 365 * DAY).0, 365 * DAY);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(3), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(18), 5);
        assert_eq!(tick_step(130), 50);
    }

    #[test]
    fn bars_are_stacked_per_bucket() {
        let svg = timeline(&[(0, true), (500, false), (3_000, true)]);
        assert_eq!(svg.matches("<g class=\"bucket\">").count(), 2);
        assert_eq!(svg.matches("<rect class=\"bar blocked\"").count(), 2);
        assert_eq!(svg.matches("<rect class=\"bar alerted\"").count(), 1);
        assert!(timeline(&[]).contains("No timed detections"));
    }
}
