//! [`FlagsProvider`]: the OpenFeature provider.

use flags_middleware::engine::ErrorCode;
use flags_middleware::{Evaluation, FlagContext, Flags, Reason, Snapshot};
use open_feature::provider::{FeatureProvider, ProviderMetadata, ResolutionDetails};
use open_feature::{
    async_trait, EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationReason,
    EvaluationResult, FlagMetadata, StructValue,
};

use crate::context::to_context;
use crate::scope;
use crate::value;

/// An OpenFeature provider answering from a [`Flags`] handle.
///
/// ```
/// use flags_middleware::Flags;
/// use flags_openfeature::FlagsProvider;
/// use open_feature::{EvaluationContext, EvaluationReason, OpenFeature};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let flags = Flags::from_toml_str("[ai_recommendations]\nusers = [\"user_123\"]\n", "flags.toml").unwrap();
/// OpenFeature::singleton_mut().await.set_provider(FlagsProvider::new(flags)).await;
///
/// let client = OpenFeature::singleton().await.create_client();
/// let user = EvaluationContext::default().with_targeting_key("user_123");
/// let details = client.get_bool_details("ai_recommendations", Some(&user), None).await.unwrap();
/// assert!(details.value);
/// assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
/// # }
/// ```
///
/// See the [crate docs](crate) for how values, reasons and errors map.
#[derive(Debug, Clone)]
pub struct FlagsProvider {
    flags: Flags,
    metadata: ProviderMetadata,
}

impl FlagsProvider {
    /// The provider's name in OpenFeature's metadata.
    ///
    /// ```
    /// use flags_middleware::Flags;
    /// use flags_openfeature::FlagsProvider;
    /// use open_feature::OpenFeature;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut api = OpenFeature::default();
    /// assert_ne!(api.provider_metadata().await.name, FlagsProvider::NAME); // the SDK's no-op provider
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\n", "flags.toml").unwrap();
    /// api.set_provider(FlagsProvider::new(flags)).await;
    /// assert_eq!(api.provider_metadata().await.name, FlagsProvider::NAME);
    /// # }
    /// ```
    pub const NAME: &'static str = "flags";

    /// A provider for `flags`; it follows their changes (each evaluation
    /// outside a request reads the current snapshot).
    ///
    /// ```
    /// use flags_middleware::{edit::Edit, Flags};
    /// use flags_openfeature::FlagsProvider;
    /// use open_feature::{EvaluationContext, OpenFeature};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let flags = Flags::from_toml_str("[new_checkout_flow]\nrollout = 100\n", "flags.toml").unwrap();
    /// let mut api = OpenFeature::default(); // or the `OpenFeature::singleton_mut()`
    /// api.set_provider(FlagsProvider::new(flags.clone())).await;
    /// let client = api.create_client();
    /// let user = EvaluationContext::default().with_targeting_key("user_123");
    /// assert_eq!(client.get_bool_value("new_checkout_flow", Some(&user), None).await, Ok(true));
    /// flags.writer("ops").commit(Edit::kill("new_checkout_flow")).await.unwrap();
    /// assert_eq!(client.get_bool_value("new_checkout_flow", Some(&user), None).await, Ok(false));
    /// # }
    /// ```
    pub fn new(flags: Flags) -> Self {
        FlagsProvider {
            flags,
            metadata: ProviderMetadata::new(Self::NAME),
        }
    }

    /// Evaluates `flag` where it should be: for the request the task runs
    /// for (pinned snapshot, memo, decision events), or against the current
    /// snapshot; then hands the evaluation and its snapshot to `then`.
    fn resolve<T>(
        &self,
        flag: &str,
        evaluation: &EvaluationContext,
        then: impl FnOnce(&Evaluation<'_>) -> Result<Answer<T>, EvaluationError>,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let request = scope::current();
        let (snapshot, answer) = match &request {
            Some(request) if same_caller(request, evaluation) => {
                let ev = request.details(flag);
                (request.snapshot(), then(&ev))
            }
            Some(request) => {
                let ev = request.snapshot().evaluate(flag, &to_context(evaluation));
                (request.snapshot(), then(&ev))
            }
            None => {
                let snapshot = self.flags.snapshot();
                let ev = snapshot.evaluate(flag, &to_context(evaluation));
                let answer = then(&ev);
                return details(&snapshot, flag, answer);
            }
        };
        details(snapshot, flag, answer)
    }
}

/// What a type's mapping made of an evaluation.
struct Answer<T> {
    value: T,
    variant: String,
    reason: EvaluationReason,
}

/// Whether the OpenFeature caller is the request's caller: no targeting key
/// (the usual case in a handler), or the request's user id, else its session
/// id.
fn same_caller(request: &FlagContext, evaluation: &EvaluationContext) -> bool {
    let Some(key) = evaluation.targeting_key.as_deref() else {
        return true;
    };
    let ctx = request.context();
    ctx.get_user_id().or(ctx.get_session_id()) == Some(key)
}

fn details<T>(
    snapshot: &Snapshot,
    flag: &str,
    answer: Result<Answer<T>, EvaluationError>,
) -> EvaluationResult<ResolutionDetails<T>> {
    let answer = answer?;
    Ok(ResolutionDetails {
        value: answer.value,
        variant: Some(answer.variant),
        reason: Some(answer.reason),
        flag_metadata: Some(metadata(snapshot, flag)),
    })
}

/// The flag-set version, and the flag's Unleash project and type where set.
fn metadata(snapshot: &Snapshot, flag: &str) -> FlagMetadata {
    let mut out = FlagMetadata::default().with_value(
        "version",
        i64::try_from(snapshot.version()).unwrap_or(i64::MAX),
    );
    if let Some(feature) = snapshot.feature(flag) {
        if let Some(project) = feature.project {
            out.add_value("project", project);
        }
        if let Some(kind) = feature.kind {
            out.add_value("type", kind);
        }
    }
    out
}

fn reason(reason: Reason) -> EvaluationReason {
    match reason {
        Reason::Static => EvaluationReason::Static,
        Reason::TargetingMatch => EvaluationReason::TargetingMatch,
        Reason::Split => EvaluationReason::Split,
        Reason::Disabled => EvaluationReason::Disabled,
        Reason::Default => EvaluationReason::Default,
        Reason::Error => EvaluationReason::Error,
    }
}

/// An unknown flag is an error (`FLAG_NOT_FOUND`), never "off".
fn found(ev: &Evaluation<'_>) -> Result<(), EvaluationError> {
    match ev.error {
        None => Ok(()),
        Some(ErrorCode::FlagNotFound) => Err(EvaluationError {
            code: EvaluationErrorCode::FlagNotFound,
            message: Some(format!(
                "no flag named `{}` (flags version {})",
                ev.key, ev.version
            )),
        }),
        Some(other) => Err(EvaluationError {
            code: EvaluationErrorCode::General(other.as_str().to_owned()),
            message: Some(format!("flag `{}`: {}", ev.key, other.as_str())),
        }),
    }
}

/// The arm, as the layer's events and counters name it: the variant, or
/// `on` / `off`.
fn arm<'a>(ev: &Evaluation<'a>) -> &'a str {
    if ev.variant.enabled {
        ev.variant.name
    } else if ev.enabled {
        "on"
    } else {
        "off"
    }
}

fn boolean(ev: &Evaluation<'_>) -> Result<Answer<bool>, EvaluationError> {
    found(ev)?;
    Ok(Answer {
        value: ev.enabled,
        variant: arm(ev).to_owned(),
        reason: reason(ev.reason),
    })
}

/// A payload-typed answer: the variant's payload when the caller got a
/// variant; the type's empty value with `DISABLED` when the flag is off for
/// the caller or gives no variant (the Rust client passes no default).
fn payload<T: Default>(
    ev: &Evaluation<'_>,
    convert: impl FnOnce(
        &str,
        &str,
        Option<&flags_middleware::model::Payload>,
    ) -> Result<T, EvaluationError>,
) -> Result<Answer<T>, EvaluationError> {
    found(ev)?;
    if !ev.enabled || !ev.variant.enabled {
        return Ok(Answer {
            value: T::default(),
            variant: ev.variant.name.to_owned(),
            reason: EvaluationReason::Disabled,
        });
    }
    Ok(Answer {
        value: convert(ev.key, ev.variant.name, ev.variant.payload)?,
        variant: ev.variant.name.to_owned(),
        reason: reason(ev.reason),
    })
}

#[async_trait]
impl FeatureProvider for FlagsProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag_key, evaluation_context, boolean)
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag_key, evaluation_context, |ev| payload(ev, value::int))
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag_key, evaluation_context, |ev| payload(ev, value::float))
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag_key, evaluation_context, |ev| {
            payload(ev, value::string)
        })
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        self.resolve(flag_key, evaluation_context, |ev| {
            payload(ev, value::structure)
        })
    }
}
