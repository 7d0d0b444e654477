//! Whether a definition serves one arm to everyone: killed (off), or on
//! for everyone with no split into variants.

use crate::model::{Feature, StrategyKind};

/// The one arm a definition serves to every caller, if it serves one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use flags_middleware::hygiene::{OneArm, StaleOptions, StaleReason};
/// use flags_middleware::Flags;
///
/// let toml = "[old_banner]\nenabled = false\n[new_search]\nrollout = 100\n[beta]\nrollout = 5\n";
/// let flags = Flags::from_toml_str(toml, "flags.toml").unwrap();
/// let in_40_days = chrono::Utc::now() + chrono::Duration::days(40);
/// let stale = flags.stale_flags(StaleOptions::new().at(in_40_days)).await.unwrap();
/// // `beta` is stale too (never evaluated), but its callers still differ.
/// let one_arm: Vec<(&str, OneArm)> = stale
///     .iter()
///     .flat_map(|f| f.reasons.iter().map(move |r| (f.name.as_str(), r)))
///     .filter_map(|(name, reason)| match reason {
///         StaleReason::OneArm { arm, .. } => Some((name, *arm)),
///         _ => None,
///     })
///     .collect();
/// assert_eq!(one_arm, [("new_search", OneArm::On), ("old_banner", OneArm::Off)]);
/// assert!(stale.iter().any(|f| f.name == "beta"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OneArm {
    /// Killed (`enabled = false`): off for everyone.
    Off,
    /// On for everyone (no rule narrows it, or one at 100%), without
    /// variants to split them.
    On,
}

/// The arm `feature` serves to everyone, or `None` when callers can differ.
pub(crate) fn one_arm(feature: &Feature) -> Option<OneArm> {
    if !feature.enabled {
        return Some(OneArm::Off);
    }
    if !feature.dependencies.is_empty() || feature.variants.len() > 1 {
        return None;
    }
    if feature.strategies.is_empty() {
        return Some(OneArm::On);
    }
    let everyone = feature.strategies.iter().any(|strategy| {
        let narrowed = !strategy.constraints.is_empty() || !strategy.segments.is_empty();
        let percent = strategy
            .kind()
            .percentage_param()
            .and_then(|param| strategy.parameters.get(param))
            .and_then(|p| p.trim().parse::<u32>().ok());
        let all = strategy.kind() == StrategyKind::Default || percent == Some(100);
        !narrowed && all && strategy.variants.len() <= 1
    });
    everyone.then_some(OneArm::On)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(toml: &str) -> Option<OneArm> {
        let set = crate::format::toml::parse(toml, "t.toml").unwrap();
        one_arm(&set.features[0])
    }

    #[test]
    fn one_arm_for_killed_full_and_unnarrowed_flags_only() {
        assert_eq!(
            arm("[a]\nenabled = false\nrollout = 5\n"),
            Some(OneArm::Off)
        );
        assert_eq!(arm("[a]\n"), Some(OneArm::On));
        assert_eq!(arm("[a]\nrollout = 100\n"), Some(OneArm::On));
        assert_eq!(arm("[a]\nrollout = 99\n"), None);
        assert_eq!(arm("[a]\nusers = [\"x\"]\n"), None);
        assert_eq!(arm("[a]\nrollout = 100\nwhen = { beta = true }\n"), None);
        assert_eq!(arm("[a]\nvariants = [\"blue\", \"green\"]\n"), None);
    }
}
