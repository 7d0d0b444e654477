//! Durations as people write them in TOML: `"500ms"`, `"30s"`, `"5m"`,
//! `"2h"`, `"1d"`, `"1w"`, and sums such as `"1h30m"`.

const UNITS: [(&str, u64); 6] = [
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Milliseconds in `text`, or what is wrong with it.
pub(crate) fn parse_millis(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("`{text}` is not a duration; write a number and a unit (ms, s, m, h, d, w), e.g. \"5m\" or \"1h30m\"")
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..letters];
        let (_, per) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
        total = n
            .checked_mul(*per)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = rest[letters..].trim_start();
    }
    Ok(total)
}

/// `ms` in the largest units that say it exactly (`"1d"`, `"36h"`,
/// `"1h30m"`, `"250ms"`; `"0s"` for zero).
pub(crate) fn format_millis(mut ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, per) in UNITS {
        if ms >= per {
            out.push_str(&format!("{}{unit}", ms / per));
            ms %= per;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_sums() {
        assert_eq!(parse_millis("500ms"), Ok(500));
        assert_eq!(parse_millis("30s"), Ok(30_000));
        assert_eq!(parse_millis("5m"), Ok(300_000));
        assert_eq!(parse_millis("1h30m"), Ok(5_400_000));
        assert_eq!(parse_millis("2d"), Ok(172_800_000));
        assert_eq!(parse_millis("1w"), Ok(604_800_000));
        assert_eq!(parse_millis("0s"), Ok(0));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "5",
            "m",
            "5 minutes",
            "1.5h",
            "-1s",
            "99999999999999999999d",
        ] {
            assert!(parse_millis(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_back_exactly() {
        for ms in [
            0,
            1,
            500,
            1_000,
            90_000,
            5_400_000,
            86_400_000,
            129_600_000,
            604_800_000,
        ] {
            assert_eq!(parse_millis(&format_millis(ms)), Ok(ms), "{ms}");
        }
        assert_eq!(format_millis(86_400_000), "1d");
        assert_eq!(format_millis(5_400_000), "1h30m");
    }
}
