//! Durations as the report writes them: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.

use chrono::Duration;

/// A short human duration: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub(super) fn human(d: Duration) -> String {
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let text = match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => match (s / 86_400, (s % 86_400) / 3600) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::seconds(45)), "45 s");
        assert_eq!(human(Duration::minutes(12)), "12 min");
        assert_eq!(human(Duration::minutes(185)), "3 h 5 min");
        assert_eq!(human(Duration::hours(52)), "2 d 4 h");
        assert_eq!(human(Duration::seconds(-30)), "-30 s");
    }
}
