//! Context field names resolved once at load time, so evaluation does not
//! compare strings to find a field.

use semver::Version;

use crate::typed::{parse_number, parse_semver};
use crate::Context;

/// A context field, as a constraint or a stickiness setting names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    UserId,
    SessionId,
    RemoteAddress,
    Environment,
    AppName,
    CurrentTime,
    Property(Box<str>),
}

impl Field {
    pub(crate) fn parse(name: &str) -> Field {
        match name {
            "userId" => Field::UserId,
            "sessionId" => Field::SessionId,
            "remoteAddress" => Field::RemoteAddress,
            "environment" => Field::Environment,
            "appName" => Field::AppName,
            "currentTime" => Field::CurrentTime,
            other => Field::Property(other.into()),
        }
    }

    #[inline]
    pub(crate) fn get<'c>(&self, ctx: &'c Context) -> Option<&'c str> {
        match self {
            Field::UserId => ctx.user_id.as_deref(),
            Field::SessionId => ctx.session_id.as_deref(),
            Field::RemoteAddress => ctx.remote_address_text(),
            Field::Environment => ctx.environment.as_deref(),
            Field::AppName => ctx.app_name.as_deref(),
            Field::CurrentTime => ctx.current_time_text.as_deref(),
            Field::Property(name) => ctx.property_value(name),
        }
    }

    /// The field as a number; a property's is parsed once per context.
    #[inline]
    pub(crate) fn number(&self, ctx: &Context) -> Option<f64> {
        match self {
            Field::Property(name) => ctx
                .property_entry(name)
                .and_then(|p| p.typed.number(&p.value)),
            other => other.get(ctx).and_then(parse_number),
        }
    }

    /// `f` of the field as a semantic version; a property's is parsed once
    /// per context. `None` when the field is missing or not a version.
    #[inline]
    pub(crate) fn with_semver<R>(&self, ctx: &Context, f: impl FnOnce(&Version) -> R) -> Option<R> {
        match self {
            Field::Property(name) => {
                let p = ctx.property_entry(name)?;
                p.typed.semver(&p.value).map(f)
            }
            other => other.get(ctx).and_then(parse_semver).as_ref().map(f),
        }
    }
}

/// Where a sticky bucket's id comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stickiness {
    /// User id, then session id, then random (rollouts and variants alike,
    /// as Unleash's engine, Yggdrasil, does).
    Default,
    /// A fresh random bucket each evaluation.
    Random,
    /// One field; no value means no match.
    Field(Field),
}

impl Stickiness {
    pub(crate) fn parse(name: Option<&str>) -> Stickiness {
        match name.map(str::trim) {
            None | Some("") | Some("default") => Stickiness::Default,
            Some("random") => Stickiness::Random,
            Some(other) => Stickiness::Field(Field::parse(other)),
        }
    }
}
