//! Why a commit was refused.

use std::fmt;

use crate::edit::EditError;
use crate::error::LoadErrors;
use crate::store::StoreError;

/// Why [`Writer::commit`](super::Writer::commit) refused a commit. Nothing
/// changed.
///
/// ```
/// use flags_middleware::change::CommitError;
/// use flags_middleware::{edit::Edit, Flags};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
/// let stale = Edit::kill("new_checkout_flow").if_version(41);
/// match flags.writer("ops").commit(stale).await {
///     Err(CommitError::VersionMismatch { expected: 41, current }) => assert_eq!(current, flags.version()),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CommitError {
    /// The commit expected another version (someone else changed the flags
    /// first). The admin API answers 412.
    VersionMismatch {
        /// The version the commit expected.
        expected: u64,
        /// The live version.
        current: u64,
    },
    /// The edit does not apply to the flag: it does not exist (or, to
    /// create, does), or the edit cannot be made to its definition. The
    /// admin API answers 404, 409 or 400.
    Edit(EditError),
    /// The resulting flags are invalid: every problem, by flag and field
    /// (a definition that does not compile, a flag others still require).
    Invalid(LoadErrors),
    /// The store refused it: its durable state moved (a hand edit not yet
    /// loaded), or it is unreachable.
    Store(StoreError),
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitError::VersionMismatch { expected, current } => write!(
                f,
                "expected version {expected}, but the flags are at version {current}"
            ),
            CommitError::Edit(e) => write!(f, "{e}"),
            CommitError::Invalid(e) => write!(f, "{e}"),
            CommitError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CommitError {}

impl From<EditError> for CommitError {
    fn from(e: EditError) -> Self {
        CommitError::Edit(e)
    }
}
