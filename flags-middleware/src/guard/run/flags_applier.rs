//! [`FlagsApplier`]: the guard's actions made through a [`Flags`] handle's
//! write path, like any admin change.

use super::action::{Action, Applied, AppliedFuture, Applier, ApplyError, ApplyFuture};
use crate::audit::actors;
use crate::change::{CommitError, Writer};
use crate::edit::Commit;
use crate::Flags;

/// Applies actions to a [`Flags`] handle through its [writer](Flags::writer),
/// as actor `guard` (or as the operator an action is made
/// [by](Action::by)): with a shared store (PostgreSQL) every instance stops
/// serving a killed arm, with a file store the kill survives a restart,
/// and each action is in the audit log with its reason (for a kill, the
/// figures that triggered it) as the entry's
/// [`message`](crate::audit::AuditEntry::message).
///
/// The edit is applied to the live definition while other commits are held
/// off, so a kill never overwrites a concurrent admin change.
///
/// ```
/// use flags_middleware::{edit::Edit, Context, Flags};
/// use flags_middleware::guard::{Action, Applier, FlagsApplier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let flags = Flags::from_unleash_json(r#"{"features": [
///   {"name": "new_checkout_flow", "enabled": true, "strategies": [{"name": "default"}]}
/// ]}"#).unwrap();
/// let applier = FlagsApplier::new(flags.clone());
/// applier.apply(&Action::new(Edit::kill("new_checkout_flow"), "test")).await.unwrap();
/// assert!(!flags.is_enabled("new_checkout_flow", &Context::new()));
/// let entry = &flags.audit_log(0, 1).unwrap()[0];
/// assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("guard", "kill"));
/// assert_eq!(entry.message.as_deref(), Some("test"));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct FlagsApplier {
    flags: Flags,
    writer: Writer,
}

impl FlagsApplier {
    /// Applies to `flags`.
    ///
    /// ```
    /// use flags_middleware::edit::Edit;
    /// use flags_middleware::guard::{Action, Applier, FlagsApplier};
    /// use flags_middleware::Flags;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[f]\nrollout = 5\n", "flags.toml").unwrap();
    /// let applier = FlagsApplier::new(flags.clone());
    /// let step = Action::new(Edit::plan_step("f", 25, 1_735_689_600_000), "plan");
    /// let version = applier.apply(&step).await.unwrap();
    /// assert_eq!(version, flags.version());
    /// assert_eq!(flags.snapshot().feature("f").unwrap().rollout_percent(), Some(25));
    /// # }
    /// ```
    pub fn new(flags: Flags) -> FlagsApplier {
        FlagsApplier {
            writer: flags.writer(actors::GUARD),
            flags,
        }
    }
}

impl Applier for FlagsApplier {
    fn apply<'a>(&'a self, action: &'a Action) -> ApplyFuture<'a> {
        Box::pin(async move { Ok(self.apply_checked(action).await?.version) })
    }

    fn apply_checked<'a>(&'a self, action: &'a Action) -> AppliedFuture<'a> {
        Box::pin(async move {
            let mut commit = Commit::from(action.edit().clone()).message(action.reason());
            if let Some(judged) = action.judged() {
                commit = commit.unless_changed_from(judged.clone());
            }
            commit.expected_version = action.expected_version();
            let done = match action.actor() {
                Some(operator) => self.flags.writer(operator).commit(commit).await,
                None => self.writer.commit(commit).await,
            };
            let done = done.map_err(|e| ApplyError {
                flag: action.flag().to_owned(),
                current_version: match &e {
                    CommitError::VersionMismatch { current, .. } => Some(*current),
                    _ => None,
                },
                message: match e {
                    CommitError::Edit(e) => e.message().to_owned(),
                    other => other.to_string(),
                },
            })?;
            let live = done.snapshot.feature(action.flag());
            Ok(match action.judged() {
                Some(judged) if !done.changed && live.as_ref() != Some(judged) => {
                    Applied::superseded(done.version)
                }
                _ => Applied::new(done.version, done.changed),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::Edit;
    use crate::Context;

    fn users_on(flags: &Flags, name: &str) -> Vec<usize> {
        (0..2000)
            .filter(|i| flags.is_enabled(name, &Context::new().user_id(format!("user-{i}"))))
            .collect()
    }

    /// Going from 5% up and back to 5% (a restart) gives the same users; a
    /// higher step keeps everyone who had the flag.
    #[tokio::test]
    async fn percentages_are_sticky_through_kill_and_restart() {
        let flags = Flags::from_unleash_json(
            r#"{"features": [{"name": "f", "enabled": true, "strategies": [{"name": "default"}]}]}"#,
        )
        .unwrap();
        let applier = FlagsApplier::new(flags.clone());
        let set = |percent| Action::new(Edit::plan_step("f", percent, 0), "plan");
        applier.apply(&set(5)).await.unwrap();
        let at5 = users_on(&flags, "f");
        assert!((50..150).contains(&at5.len()), "{} of 2000", at5.len());
        applier.apply(&set(25)).await.unwrap();
        let at25 = users_on(&flags, "f");
        assert!(at5.iter().all(|u| at25.contains(u)));
        applier
            .apply(&Action::new(Edit::kill("f"), "guard"))
            .await
            .unwrap();
        assert!(users_on(&flags, "f").is_empty());
        applier.apply(&set(5)).await.unwrap();
        assert_eq!(users_on(&flags, "f"), at5);
    }

    #[tokio::test]
    async fn an_unknown_flag_is_an_error() {
        let flags = Flags::from_unleash_json(r#"{"features": []}"#).unwrap();
        let e = FlagsApplier::new(flags)
            .apply(&Action::new(Edit::kill("nope"), ""))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "flag `nope`: no such flag");
    }
}
