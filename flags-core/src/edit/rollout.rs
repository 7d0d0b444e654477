//! The one rollout rule: what "set the rollout to N%" does to each shape of
//! flag. Documented on [`Edit::Rollout`](super::Edit::Rollout).

use super::error::EditError;
use crate::model::{Feature, Parameters, Strategy, StrategyKind};

/// Sets `feature`'s rollout to `percent` (see [`Edit::Rollout`](super::Edit::Rollout));
/// leaves `enabled` alone.
pub(super) fn set_rollout(feature: &mut Feature, percent: u32) -> Result<(), EditError> {
    if percent > 100 {
        return Err(EditError::invalid(
            &feature.name,
            "rollout",
            format!("a percentage must be between 0 and 100, got {percent}"),
        ));
    }
    let rollouts: Vec<(usize, &'static str)> = feature
        .strategies
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.kind().percentage_param().map(|p| (i, p)))
        .collect();
    let text = percent.to_string();
    if !rollouts.is_empty() {
        if rollouts.len() > 1 && feature.rollout_percent().is_none() {
            return Err(disagree(feature, &rollouts));
        }
        for (i, param) in rollouts {
            feature.strategies[i].parameters.insert(param, text.clone());
        }
        return Ok(());
    }
    let mut converted = false;
    for s in &mut feature.strategies {
        if s.kind() == StrategyKind::Default {
            // Keeps its constraints, segments and variants: `when` + `rollout`.
            s.name = StrategyKind::FlexibleRollout.name().to_owned();
            s.parameters = sticky_rollout(&feature.name, &text);
            converted = true;
        }
    }
    if !converted {
        feature.strategies.push(Strategy {
            name: StrategyKind::FlexibleRollout.name().to_owned(),
            parameters: sticky_rollout(&feature.name, &text),
            ..Strategy::default()
        });
    }
    Ok(())
}

/// A `flexibleRollout`'s parameters as Unleash writes them by default:
/// sticky on the user id (else session id...), grouped by the flag's name,
/// so the same users are picked at the same percentage.
fn sticky_rollout(flag: &str, percent: &str) -> Parameters {
    [
        ("rollout", percent),
        ("stickiness", "default"),
        ("groupId", flag),
    ]
    .into_iter()
    .collect()
}

/// Several percentage strategies that do not agree: which one is "the"
/// rollout is the caller's call, made by replacing the definition.
fn disagree(feature: &Feature, rollouts: &[(usize, &str)]) -> EditError {
    let shown: Vec<String> = rollouts
        .iter()
        .map(
            |&(i, param)| match feature.strategies[i].parameters.get(param) {
                Some(v) if v.trim().parse::<u32>().is_ok() => format!("{}%", v.trim()),
                Some(v) => format!("`{v}`"),
                None => "none".to_owned(),
            },
        )
        .collect();
    EditError::invalid(
        &feature.name,
        "rollout",
        format!(
            "the flag has {} rollout rules at different percentages ({}); replace its definition",
            rollouts.len(),
            shown.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::toml;

    fn feature(text: &str) -> Feature {
        toml::parse(text, "x").unwrap().features.remove(0)
    }

    fn unleash(json: &str) -> Feature {
        crate::model::FlagSet::from_unleash_json(&format!(r#"{{"features": [{json}]}}"#))
            .unwrap()
            .features
            .remove(0)
    }

    fn rolled(text: &str, percent: u32) -> Result<Feature, EditError> {
        let mut f = feature(text);
        set_rollout(&mut f, percent).map(|()| f)
    }

    #[test]
    fn the_one_rollout_keeps_its_constraints() {
        let f = rolled("[a]\nrollout = 20\nwhen = { beta = true }\n", 25).unwrap();
        assert_eq!(f, feature("[a]\nrollout = 25\nwhen = { beta = true }\n"));
    }

    #[test]
    fn everyone_becomes_a_sticky_rollout() {
        assert_eq!(rolled("[a]\n", 5).unwrap(), feature("[a]\nrollout = 5\n"));
        // A `when`-only flag keeps its `when`.
        assert_eq!(
            rolled("[a]\nwhen = { beta = true }\n", 5).unwrap(),
            feature("[a]\nwhen = { beta = true }\nrollout = 5\n")
        );
    }

    #[test]
    fn a_flag_without_rollout_gets_one_after_its_user_list() {
        let f = rolled("[a]\nusers = [\"u\"]\n", 5).unwrap();
        assert_eq!(f, feature("[a]\nusers = [\"u\"]\nrollout = 5\n"));
        assert_eq!(f.strategies[0].kind(), StrategyKind::UserWithId);
    }

    #[test]
    fn rules_at_one_percentage_all_move() {
        let text =
            "[a]\n[[a.rules]]\nrollout = 10\nwhen = { beta = true }\n[[a.rules]]\nrollout = 10\n";
        let f = rolled(text, 30).unwrap();
        assert_eq!(f, feature(&text.replace("10", "30")));
    }

    #[test]
    fn rules_at_different_percentages_are_refused() {
        let e = rolled(
            "[a]\n[[a.rules]]\nrollout = 5\n[[a.rules]]\nrollout = 100\n",
            5,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "flag `a`, field `rollout`: the flag has 2 rollout rules at different \
             percentages (5%, 100%); replace its definition"
        );
    }

    #[test]
    fn stickiness_group_and_legacy_parameters_are_kept() {
        let mut f = unleash(
            r#"{"name": "f", "enabled": false, "strategies": [
                {"name": "userWithId", "parameters": {"userIds": "ann"}},
                {"name": "flexibleRollout", "parameters": {"rollout": "20", "stickiness": "sessionId", "groupId": "g"}},
                {"name": "gradualRolloutUserId", "parameters": {"percentage": "20", "groupId": "h"}}
            ]}"#,
        );
        let before = f.clone();
        set_rollout(&mut f, 50).unwrap();
        assert!(!f.enabled, "a rollout does not turn a killed flag on");
        assert_eq!(f.strategies[0], before.strategies[0]);
        let p = &f.strategies[1].parameters;
        assert_eq!(
            (&p["rollout"][..], &p["stickiness"][..], &p["groupId"][..]),
            ("50", "sessionId", "g")
        );
        assert_eq!(f.strategies[2].parameters["percentage"], "50");
        assert_eq!(f.strategies[2].parameters["groupId"], "h");
    }

    #[test]
    fn every_default_strategy_converts_with_its_segments() {
        let mut f = unleash(
            r#"{"name": "f", "enabled": true, "strategies": [
                {"name": "default", "segments": [3]},
                {"name": "default", "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}
            ]}"#,
        );
        set_rollout(&mut f, 7).unwrap();
        assert_eq!(f.strategies.len(), 2);
        for s in &f.strategies {
            assert_eq!(s.kind(), StrategyKind::FlexibleRollout);
            assert_eq!(s.parameters, sticky_rollout("f", "7"));
        }
        assert_eq!(f.strategies[0].segments, [3]);
        assert_eq!(f.strategies[1].constraints[0].context_name, "plan");
    }

    #[test]
    fn no_strategies_means_everyone_so_a_rollout_is_appended() {
        let mut f = unleash(r#"{"name": "f", "enabled": true, "strategies": []}"#);
        set_rollout(&mut f, 5).unwrap();
        assert_eq!(f.strategies.len(), 1);
        assert_eq!(f.rollout_percent(), Some(5));
    }

    #[test]
    fn a_percentage_over_100_is_refused() {
        let e = rolled("[a]\n", 101).unwrap_err();
        assert_eq!(e.field(), Some("rollout"));
    }
}
