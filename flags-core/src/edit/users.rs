//! The user-list rule: what "these users get the flag" does to a definition.
//! Documented on [`Edit::Users`](super::Edit::Users).

use super::error::EditError;
use crate::model::{Feature, Strategy, StrategyKind};

/// The parameter holding a `userWithId` strategy's list.
const USER_IDS: &str = "userIds";

/// Sets `feature`'s user list to `users`.
pub(super) fn set_users(feature: &mut Feature, users: &[String]) -> Result<(), EditError> {
    for (i, id) in users.iter().enumerate() {
        if id.is_empty() || id.contains(',') || id.trim() != id {
            return Err(EditError::invalid(
                &feature.name,
                format!("users[{i}]"),
                "a user id cannot be empty, contain a comma, or start or end with spaces",
            ));
        }
    }
    let joined = users.join(",");
    let lists: Vec<usize> = feature
        .strategies
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind() == StrategyKind::UserWithId)
        .map(|(i, _)| i)
        .collect();
    match lists.as_slice() {
        [i] => {
            feature.strategies[*i].parameters.insert(USER_IDS, joined);
        }
        // First, so the listed users are matched before any percentage.
        [] => feature.strategies.insert(
            0,
            Strategy {
                name: StrategyKind::UserWithId.name().to_owned(),
                parameters: [(USER_IDS, joined)].into_iter().collect(),
                ..Strategy::default()
            },
        ),
        many => {
            return Err(EditError::invalid(
                &feature.name,
                "users",
                format!(
                    "the flag has {} user lists; replace its definition to change them",
                    many.len()
                ),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::toml;

    fn feature(text: &str) -> Feature {
        toml::parse(text, "x").unwrap().features.remove(0)
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_one_list_is_replaced() {
        let mut f = feature("[a]\nusers = [\"ann\"]\nrollout = 5\n");
        set_users(&mut f, &ids(&["bob", "cy"])).unwrap();
        assert_eq!(f, feature("[a]\nusers = [\"bob\", \"cy\"]\nrollout = 5\n"));
    }

    #[test]
    fn a_list_is_inserted_first() {
        let mut f = feature("[a]\nrollout = 5\n");
        set_users(&mut f, &ids(&["ann"])).unwrap();
        assert_eq!(f, feature("[a]\nusers = [\"ann\"]\nrollout = 5\n"));
    }

    #[test]
    fn two_lists_or_a_bad_id_are_refused() {
        let mut f = feature("[a]\n[[a.rules]]\nusers = [\"a\"]\n[[a.rules]]\nusers = [\"b\"]\n");
        let e = set_users(&mut f, &ids(&["c"])).unwrap_err();
        assert_eq!(e.field(), Some("users"));
        assert!(e.message().contains("2 user lists"), "{e}");
        let mut f = feature("[a]\n");
        for bad in ["", "a,b", " a"] {
            let e = set_users(&mut f, &ids(&["ok", bad])).unwrap_err();
            assert_eq!(e.field(), Some("users[1]"), "{bad:?}");
        }
    }
}
