//! The names the TOML format uses: keys, operators, strategies.

/// The top-level table holding named segments.
pub(crate) const SEGMENTS: &str = "segments";

/// Keys of a flag table.
pub(crate) const FLAG_KEYS: &[&str] = &[
    "description",
    "enabled",
    "rollout",
    "users",
    "when",
    "segments",
    "variants",
    "rules",
    "requires",
    "type",
    "project",
    "impression_data",
    "stale",
    "guard",
    "plan",
];

/// Keys of a `[[flag.rules]]` table.
pub(crate) const RULE_KEYS: &[&str] = &[
    "rollout",
    "users",
    "when",
    "segments",
    "variants",
    "strategy",
    "parameters",
    "disabled",
];

/// Keys of an explicit constraint (`field` first: the table form has no `field`).
pub(crate) const CONSTRAINT_KEYS: &[&str] =
    &["field", "op", "value", "values", "case_insensitive", "not"];

/// Keys of a `[[flag.variants]]` entry.
pub(crate) const VARIANT_KEYS: &[&str] = &[
    "name",
    "weight",
    "weight_type",
    "stickiness",
    "payload",
    "overrides",
];

/// Strategies a rule may name with `strategy = ".."`.
pub(crate) const STRATEGIES: &[&str] = &[
    "default",
    "userWithId",
    "flexibleRollout",
    "gradualRolloutUserId",
    "gradualRolloutSessionId",
    "gradualRolloutRandom",
    "remoteAddress",
    "applicationHostname",
];

/// Friendly operator names and Unleash's.
const OPERATORS: &[(&str, &str)] = &[
    ("in", "IN"),
    ("not_in", "NOT_IN"),
    ("contains", "STR_CONTAINS"),
    ("starts_with", "STR_STARTS_WITH"),
    ("ends_with", "STR_ENDS_WITH"),
    ("num_eq", "NUM_EQ"),
    ("num_gt", "NUM_GT"),
    ("num_gte", "NUM_GTE"),
    ("num_lt", "NUM_LT"),
    ("num_lte", "NUM_LTE"),
    ("date_after", "DATE_AFTER"),
    ("date_before", "DATE_BEFORE"),
    ("semver_eq", "SEMVER_EQ"),
    ("semver_gt", "SEMVER_GT"),
    ("semver_gte", "SEMVER_GTE"),
    ("semver_lt", "SEMVER_LT"),
    ("semver_lte", "SEMVER_LTE"),
    ("regex", "REGEX"),
    ("in_cidr", "IN_CIDR"),
];

/// Unleash's name for an operator written either way.
pub(crate) fn operator(name: &str) -> Option<&'static str> {
    OPERATORS
        .iter()
        .find(|(friendly, unleash)| *friendly == name || *unleash == name)
        .map(|(_, unleash)| *unleash)
}

/// The friendly name for an Unleash operator (itself when unknown).
pub(crate) fn friendly_operator(unleash: &str) -> &str {
    OPERATORS
        .iter()
        .find(|(_, u)| *u == unleash)
        .map_or(unleash, |(f, _)| f)
}

/// Every friendly operator name.
pub(crate) fn friendly_operators() -> Vec<&'static str> {
    OPERATORS.iter().map(|(f, _)| *f).collect()
}

/// Whether an operator takes a list (`values`) rather than one `value`.
pub(crate) fn takes_list(unleash: &str) -> bool {
    matches!(
        unleash,
        "IN" | "NOT_IN" | "STR_CONTAINS" | "STR_STARTS_WITH" | "STR_ENDS_WITH" | "IN_CIDR"
    )
}

/// The allowed name closest to a misspelt one, if it is close enough.
pub(crate) fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(name, a), *a))
        .filter(|(d, a)| *d <= 2 && *d < a.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_accept_both_spellings() {
        assert_eq!(operator("semver_gte"), Some("SEMVER_GTE"));
        assert_eq!(operator("STR_ENDS_WITH"), Some("STR_ENDS_WITH"));
        assert_eq!(operator("ends_with"), Some("STR_ENDS_WITH"));
        assert_eq!(operator("like"), None);
        assert_eq!(friendly_operator("STR_CONTAINS"), "contains");
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(closest("rolout", FLAG_KEYS), Some("rollout"));
        assert_eq!(closest("enabeld", FLAG_KEYS), Some("enabled"));
        assert_eq!(closest("zzzzzz", FLAG_KEYS), None);
    }
}
