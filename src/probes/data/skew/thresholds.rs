//! The thresholds a skew statistic is judged against: which statistics
//! exist, their defaults, and how a `skew:` block of a data schema reads.

use std::fmt;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Thresholds

/// A statistic that can be thresholded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkewStatistic {
    /// Population Stability Index over 10 reference-quantile bins (numeric).
    Psi,
    /// Jensen–Shannon distance (√divergence, log base 2), numeric or categorical.
    JsDistance,
    /// Kolmogorov–Smirnov D = sup |F_ref − F_cur| (numeric).
    KsStatistic,
    /// Kolmogorov–Smirnov p-value (numeric); drift when *below* the threshold.
    KsPValue,
    /// Wasserstein-1 distance divided by the reference's standard deviation (numeric).
    Wasserstein,
    /// Chi-square goodness-of-fit p-value (categorical); drift when *below*.
    Chi2PValue,
    /// L-infinity distance max |p − q| between level proportions (categorical).
    Linf,
    /// Fraction of current values whose level the reference never had (categorical).
    Unseen,
}

impl SkewStatistic {
    /// Every statistic, in report order (numeric ones, then categorical ones).
    pub const ALL: [SkewStatistic; 8] = [
        SkewStatistic::Psi,
        SkewStatistic::JsDistance,
        SkewStatistic::KsStatistic,
        SkewStatistic::KsPValue,
        SkewStatistic::Wasserstein,
        SkewStatistic::Chi2PValue,
        SkewStatistic::Linf,
        SkewStatistic::Unseen,
    ];

    /// The key naming it in a `skew:` block and in reports.
    pub fn key(self) -> &'static str {
        match self {
            SkewStatistic::Psi => "psi",
            SkewStatistic::JsDistance => "js_distance",
            SkewStatistic::KsStatistic => "ks_statistic",
            SkewStatistic::KsPValue => "ks_p_value",
            SkewStatistic::Wasserstein => "wasserstein",
            SkewStatistic::Chi2PValue => "chi2_p_value",
            SkewStatistic::Linf => "linf",
            SkewStatistic::Unseen => "unseen",
        }
    }

    /// Which side of its threshold a drifted value lies on.
    pub fn drift_when(self) -> DriftWhen {
        match self {
            SkewStatistic::KsPValue | SkewStatistic::Chi2PValue => DriftWhen::Below,
            _ => DriftWhen::Above,
        }
    }

    /// The built-in threshold, used when no layer sets one.
    pub fn default_threshold(self) -> Threshold {
        match self {
            SkewStatistic::Psi => Threshold::Limit(0.2),
            SkewStatistic::JsDistance => Threshold::Limit(0.1),
            SkewStatistic::KsStatistic => Threshold::Limit(0.1),
            // On millions of rows every p-value is ~0 for shifts nobody
            // cares about: reported, not judged, unless asked.
            SkewStatistic::KsPValue | SkewStatistic::Chi2PValue => Threshold::Off,
            SkewStatistic::Wasserstein => Threshold::Limit(0.1),
            SkewStatistic::Linf => Threshold::Limit(0.1),
            SkewStatistic::Unseen => Threshold::Limit(0.01),
        }
    }

    /// The largest meaningful threshold: 1 for statistics in [0, 1], none
    /// for PSI and the normalized Wasserstein distance.
    pub(super) fn max_threshold(self) -> Option<f64> {
        match self {
            SkewStatistic::Psi | SkewStatistic::Wasserstein => None,
            _ => Some(1.0),
        }
    }
}

impl fmt::Display for SkewStatistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Which side of its threshold a drifted value lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftWhen {
    /// Distances: drift when the value is strictly above the threshold.
    Above,
    /// p-values: drift when the value is strictly below the threshold.
    Below,
}

/// One statistic's threshold: a number, or `off` (reported, never judged).
/// In YAML: `psi: 0.25`, `ks_p_value: off` (`false` also means off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// The statistic is computed and shown but never makes a column drift.
    Off,
    /// The limit the statistic is compared with.
    Limit(f64),
}

impl Threshold {
    /// Whether `value` crosses this threshold for `statistic`.
    pub fn crossed_by(self, statistic: SkewStatistic, value: f64) -> bool {
        match self {
            Threshold::Off => false,
            Threshold::Limit(limit) => match statistic.drift_when() {
                DriftWhen::Above => value > limit,
                DriftWhen::Below => value < limit,
            },
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Off => f.write_str("off"),
            Threshold::Limit(limit) => write!(f, "{limit}"),
        }
    }
}

impl Serialize for Threshold {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Threshold::Off => serializer.serialize_str("off"),
            Threshold::Limit(limit) => serializer.serialize_f64(*limit),
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or `off`")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::Limit(v as f64))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Threshold, E> {
                // YAML 1.1 readers turn `off` into false; accept it as such.
                if v {
                    Err(E::invalid_type(serde::de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Threshold::Off)
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Threshold, E> {
                if v.eq_ignore_ascii_case("off") {
                    Ok(Threshold::Off)
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Drift thresholds, one per statistic. `None` (absent or `null` in YAML)
/// means "inherit": a column's block falls back to the schema's top-level
/// block, then to the caller's defaults, then to the built-in default of
/// each statistic ([`SkewStatistic::default_threshold`]).
///
/// [`Default`] is the built-in set: PSI 0.2, Jensen–Shannon distance 0.1,
/// KS statistic 0.1, normalized Wasserstein 0.1, L-infinity 0.1, unseen
/// fraction 0.01, and both p-values `off`. A deserialized block leaves
/// every key it does not name as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkewThresholds {
    /// PSI above which a numeric column drifts (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi: Option<Threshold>,
    /// Jensen–Shannon distance (base 2) above which a column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_distance: Option<Threshold>,
    /// KS statistic D above which a numeric column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks_statistic: Option<Threshold>,
    /// KS p-value below which a numeric column drifts (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ks_p_value: Option<Threshold>,
    /// Normalized Wasserstein distance above which a numeric column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein: Option<Threshold>,
    /// Chi-square p-value below which a categorical column drifts (default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chi2_p_value: Option<Threshold>,
    /// L-infinity distance above which a categorical column drifts (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linf: Option<Threshold>,
    /// Unseen-level fraction above which a categorical column drifts (default 0.01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen: Option<Threshold>,
}

impl Default for SkewThresholds {
    fn default() -> Self {
        let mut thresholds = SkewThresholds::UNSET;
        for statistic in SkewStatistic::ALL {
            *thresholds.slot(statistic) = Some(statistic.default_threshold());
        }
        thresholds
    }
}

/// A threshold outside the range its statistic can take.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {value} is not a valid threshold")]
pub struct InvalidThreshold {
    /// The statistic's key (`psi`, `unseen`, ...).
    pub key: &'static str,
    /// The value given.
    pub value: f64,
    /// What a valid value looks like.
    pub help: String,
}

impl SkewThresholds {
    /// Every statistic unset: inherit everything.
    pub const UNSET: SkewThresholds = SkewThresholds {
        psi: None,
        js_distance: None,
        ks_statistic: None,
        ks_p_value: None,
        wasserstein: None,
        chi2_p_value: None,
        linf: None,
        unseen: None,
    };

    /// The threshold this block sets for `statistic`, if any.
    pub fn get(&self, statistic: SkewStatistic) -> Option<Threshold> {
        match statistic {
            SkewStatistic::Psi => self.psi,
            SkewStatistic::JsDistance => self.js_distance,
            SkewStatistic::KsStatistic => self.ks_statistic,
            SkewStatistic::KsPValue => self.ks_p_value,
            SkewStatistic::Wasserstein => self.wasserstein,
            SkewStatistic::Chi2PValue => self.chi2_p_value,
            SkewStatistic::Linf => self.linf,
            SkewStatistic::Unseen => self.unseen,
        }
    }

    pub(super) fn slot(&mut self, statistic: SkewStatistic) -> &mut Option<Threshold> {
        match statistic {
            SkewStatistic::Psi => &mut self.psi,
            SkewStatistic::JsDistance => &mut self.js_distance,
            SkewStatistic::KsStatistic => &mut self.ks_statistic,
            SkewStatistic::KsPValue => &mut self.ks_p_value,
            SkewStatistic::Wasserstein => &mut self.wasserstein,
            SkewStatistic::Chi2PValue => &mut self.chi2_p_value,
            SkewStatistic::Linf => &mut self.linf,
            SkewStatistic::Unseen => &mut self.unseen,
        }
    }

    /// This block's thresholds, with the ones it leaves unset taken from
    /// `fallback`.
    pub fn or(&self, fallback: &SkewThresholds) -> SkewThresholds {
        let mut merged = *self;
        for statistic in SkewStatistic::ALL {
            let slot = merged.slot(statistic);
            if slot.is_none() {
                *slot = fallback.get(statistic);
            }
        }
        merged
    }

    /// The threshold that applies to `statistic`: this block's, else the
    /// built-in default.
    pub fn resolved(&self, statistic: SkewStatistic) -> Threshold {
        self.get(statistic)
            .unwrap_or_else(|| statistic.default_threshold())
    }

    /// Checks that every threshold set is a finite number in its
    /// statistic's range: ≥ 0, and ≤ 1 for everything but PSI and the
    /// normalized Wasserstein distance.
    pub fn check(&self) -> Result<(), InvalidThreshold> {
        for statistic in SkewStatistic::ALL {
            let Some(Threshold::Limit(value)) = self.get(statistic) else {
                continue;
            };
            let max = statistic.max_threshold();
            let valid = value.is_finite() && value >= 0.0 && max.is_none_or(|m| value <= m);
            if !valid {
                let key = statistic.key();
                let range = match max {
                    Some(_) => "a number between 0 and 1",
                    None => "a number ≥ 0",
                };
                return Err(InvalidThreshold {
                    key,
                    value,
                    help: format!(
                        "write `{key}` as {range}, or `off` to report it without judging"
                    ),
                });
            }
        }
        Ok(())
    }
}
