//! Numbers and counts as people read them. One formatter, with a style per
//! kind of number, so that a metric, a statistic and a probe's value are each
//! shown the same way everywhere.

/// How a kind of number is shown.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Decimals kept.
    pub places: usize,
    /// Whether trailing zeros (and a bare `.`) are dropped.
    pub trim: bool,
    /// Non-zero magnitudes below this are shown in scientific notation.
    pub sci_below: f64,
    /// Magnitudes from this up are shown in scientific notation.
    pub sci_from: f64,
    /// Decimals of the mantissa in scientific notation.
    pub sci_places: usize,
}

/// A metric value or change: 5 decimals at most (DVC's display rounding).
pub const METRIC: Style = Style {
    places: 5,
    trim: true,
    sci_below: 1e-4,
    sci_from: f64::INFINITY,
    sci_places: 3,
};

/// A probe's measured value beside its threshold: 4 decimals at most.
pub const PROBE: Style = Style {
    places: 4,
    trim: true,
    sci_below: 5e-5,
    sci_from: f64::INFINITY,
    sci_places: 2,
};

/// A statistic in a table of `mlscore data`: always 4 decimals, so columns
/// line up.
pub const STATISTIC: Style = Style {
    places: 4,
    trim: false,
    sci_below: 1e-4,
    sci_from: 1e6,
    sci_places: 3,
};

/// `n` in `style`; NaN and infinities as `NaN`, `inf`, `-inf`.
pub fn number(n: f64, style: Style) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    if n.abs() < style.sci_below || n.abs() >= style.sci_from {
        return format!("{n:.*e}", style.sci_places);
    }
    let text = format!("{n:.*}", style.places);
    if !style.trim {
        return text;
    }
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Rubric points as the paper writes them: 0, 0.5, 1, 3.5.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The plural ending for `n` things: `""` for one, else `"s"`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_round_to_five_decimals() {
        assert_eq!(number(0.010000000000000009, METRIC), "0.01");
        assert_eq!(number(0.123456789, METRIC), "0.12346");
        assert_eq!(number(-0.000001, METRIC), "-1.000e-6");
        assert_eq!(number(-0.0000001 + 0.0000001, METRIC), "0");
        assert_eq!(number(f64::NAN, METRIC), "NaN");
        assert_eq!(number(f64::NEG_INFINITY, METRIC), "-inf");
    }

    #[test]
    fn probe_values_keep_four_decimals_and_tiny_magnitudes() {
        assert_eq!(number(0.1, PROBE), "0.1");
        assert_eq!(number(0.123456, PROBE), "0.1235");
        assert_eq!(number(2.0, PROBE), "2");
        assert_eq!(number(-0.00001, PROBE), "-1.00e-5");
        assert_eq!(number(3.2e-12, PROBE), "3.20e-12");
        assert_eq!(number(0.00005, PROBE), "0.0001");
    }

    #[test]
    fn statistics_line_up() {
        assert_eq!(number(0.5, STATISTIC), "0.5000");
        assert_eq!(number(2e6, STATISTIC), "2.000e6");
        assert_eq!(number(0.0, STATISTIC), "0");
    }

    #[test]
    fn points_counts_and_plurals() {
        assert_eq!(points(3.0), "3");
        assert_eq!(points(3.5), "3.5");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!((plural(1), plural(2), plural(0)), ("", "s", "s"));
    }
}
