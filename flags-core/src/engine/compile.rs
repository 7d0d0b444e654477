//! Turning model flags into compiled flags, and the load-time checks that make
//! a strict source (TOML, admin API) reject a bad change whole.

use std::sync::Arc;

use foldhash::HashMap;

use super::constraint::CompiledConstraint;
use super::packed;
use super::strategy::{CompiledStrategy, Rule, UserSet};
use super::variant::VariantSet;
use crate::error::LoadError;
use crate::model::{Constraint, Feature, Segment, Strategy, StrategyKind};

/// How forgiving a load is.
///
/// ```
/// use flags_core::engine::{Mode, Snapshot};
/// use flags_core::model::FlagSet;
///
/// let set = FlagSet::from_unleash_json(r#"{"features": [{"name": "f", "enabled": true,
///     "strategies": [{"name": "someCustomStrategy"}]}]}"#).unwrap();
/// // Strict (our own files): an unknown strategy is an error naming flag and field.
/// assert!(Snapshot::compile(&set, Mode::Strict, "flags.json").is_err());
/// // Lenient (flags another system manages): off, as Unleash's SDKs answer.
/// assert!(Snapshot::compile(&set, Mode::Lenient, "unleash").is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Reject anything this engine cannot evaluate as written: unknown
    /// strategies or operators, bad operands, missing segments or parents.
    /// For hand-written sources (TOML, admin API, database rows).
    #[default]
    Strict,
    /// Load what an Unleash server sends as Unleash SDKs do: whatever cannot be
    /// evaluated evaluates to off.
    Lenient,
}

/// The most strategies, or variants in one list, a flag may have: strategies
/// and variants are indexed with `u16`, and `u16::MAX` marks "the flag's own
/// variants" in a decision.
pub(crate) const MAX_LISTED: usize = u16::MAX as usize - 1;

/// A compiled flag: everything evaluation needs, plus the definition packed
/// (see [`packed`](super::packed)) for whoever asks for it back.
///
/// Kept small: a snapshot holds one per flag, 100,000 of them in the bench.
#[derive(Debug)]
pub(crate) struct CompiledFlag {
    /// The name, then the packed definition, in one allocation.
    text: Box<str>,
    name_len: u32,
    pub(crate) enabled: bool,
    /// Whether a strategy refers to a segment (a segment change recompiles it).
    pub(crate) uses_segments: bool,
    /// Whether the definition asks for the rollout guard (`guard`, `plan`),
    /// so the guard finds those flags without decoding every definition.
    pub(crate) guarded: bool,
    pub(crate) strategies: Box<[CompiledStrategy]>,
    pub(crate) variants: Option<Box<VariantSet>>,
    pub(crate) deps: Box<[CompiledDep]>,
}

impl CompiledFlag {
    #[inline]
    pub(crate) fn name(&self) -> &str {
        self.text.get(..self.name_len as usize).unwrap_or_default()
    }

    /// Whether the flag is named `name` (bytes compared: the hot path of a lookup).
    #[inline]
    pub(crate) fn is_named(&self, name: &str) -> bool {
        self.text.as_bytes().get(..self.name_len as usize) == Some(name.as_bytes())
    }

    /// The definition, decoded.
    pub(crate) fn feature(&self) -> Feature {
        let packed = self.packed();
        packed::unpack(packed, self.name()).unwrap_or_else(|| Feature {
            // Unreachable: packing round-trips (tests/memory.rs checks it).
            name: self.name().to_owned(),
            ..Feature::default()
        })
    }

    /// The packed definition: equal definitions pack to equal text.
    pub(crate) fn packed(&self) -> &str {
        self.text.get(self.name_len as usize..).unwrap_or_default()
    }
}

#[derive(Debug)]
pub(crate) struct CompiledDep {
    pub(crate) parent: Box<str>,
    pub(crate) enabled: bool,
    pub(crate) variants: Box<[Box<str>]>,
}

/// Compiled segments by id.
pub(crate) type SegmentTable = HashMap<u32, (Segment, Arc<[CompiledConstraint]>)>;

/// Shared settings and the error sink for one load.
pub(crate) struct Compiler<'a> {
    pub(crate) source: &'a str,
    pub(crate) mode: Mode,
    pub(crate) hostname: &'a str,
    pub(crate) errors: Vec<LoadError>,
    /// Packs each definition (with buffers reused from flag to flag).
    pub(crate) packer: packed::Packer,
}

impl Compiler<'_> {
    fn issue(&mut self, flag: &str, field: String, message: String) {
        if self.mode == Mode::Strict {
            self.errors
                .push(LoadError::new(self.source, message).flag(flag).field(field));
        }
    }

    /// `strategy`: the index of the strategy they belong to; `None` for a segment.
    fn constraints(
        &mut self,
        flag: &str,
        strategy: Option<usize>,
        list: &[Constraint],
    ) -> Arc<[CompiledConstraint]> {
        list.iter()
            .enumerate()
            .map(|(i, c)| {
                let (compiled, issue) = CompiledConstraint::compile(c);
                if let Some(issue) = issue {
                    let field = match strategy {
                        Some(s) => format!("strategies[{s}].constraints[{i}].{}", issue.field),
                        None => format!("constraints[{i}].{}", issue.field),
                    };
                    self.issue(flag, field, issue.message);
                }
                compiled
            })
            .collect()
    }

    pub(crate) fn segments(&mut self, segments: &[Segment]) -> SegmentTable {
        let mut table = SegmentTable::default();
        for s in segments {
            let compiled = self.constraints("", None, &s.constraints);
            if table.insert(s.id, (s.clone(), compiled)).is_some() && self.mode == Mode::Strict {
                self.errors.push(LoadError::new(
                    self.source,
                    format!("segment id {} is defined twice", s.id),
                ));
            }
        }
        table
    }

    /// Refused in both modes: past [`MAX_LISTED`] items the evaluator's
    /// 16-bit indexes would pick the wrong strategy or variant, so there is
    /// no answer it could give as written.
    fn too_many(&mut self, flag: &str, field: String, len: usize) {
        if len > MAX_LISTED {
            self.errors.push(
                LoadError::new(
                    self.source,
                    format!("{len} items; at most {MAX_LISTED} are supported"),
                )
                .flag(flag)
                .field(field),
            );
        }
    }

    pub(crate) fn flag(&mut self, def: &Feature, segments: &SegmentTable) -> CompiledFlag {
        let name = def.name.as_str();
        if let Err(e) = crate::name::check_flag_name(name) {
            self.issue(name, "name".into(), e.to_string());
        }
        self.too_many(name, "strategies".into(), def.strategies.len());
        let strategies = def
            .strategies
            .iter()
            .enumerate()
            .map(|(i, s)| self.strategy(def, i, s, segments))
            .collect();
        let variants = self.variants(name, None, &def.variants, name, None);
        if let Some(Err(e)) = crate::guard::opt_in(def) {
            let field = match e.field {
                "plan" => "plan".to_owned(),
                key => format!("guard.{key}"),
            };
            self.issue(name, field, e.message);
        }
        let deps = def
            .dependencies
            .iter()
            .map(|d| CompiledDep {
                parent: d.feature.as_str().into(),
                enabled: d.enabled.unwrap_or(true),
                variants: d
                    .variants
                    .iter()
                    .flatten()
                    .map(|v| Box::from(v.as_str()))
                    .collect(),
            })
            .collect();
        CompiledFlag {
            text: self.packer.pack(def),
            name_len: name.len() as u32,
            enabled: def.enabled,
            uses_segments: def.strategies.iter().any(|s| !s.segments.is_empty()),
            guarded: def.guard.is_some() || def.plan.is_some(),
            strategies,
            variants,
            deps,
        }
    }

    /// `strategy`: the index of the strategy they belong to; `None` for the flag's.
    fn variants(
        &mut self,
        flag: &str,
        strategy: Option<usize>,
        defs: &[crate::model::VariantDef],
        group: &str,
        stickiness: Option<&str>,
    ) -> Option<Box<VariantSet>> {
        let path = || match strategy {
            Some(s) => format!("strategies[{s}].variants"),
            None => "variants".to_owned(),
        };
        self.too_many(flag, path(), defs.len());
        if defs.len() > MAX_LISTED {
            return None;
        }
        if !defs.is_empty() && defs.iter().all(|v| v.weight == 0) {
            self.issue(flag, path(), "variants need a total weight above 0".into());
        }
        // A set, not a scan of the ones before: a list may be long.
        let mut seen = std::collections::HashSet::with_capacity(defs.len());
        for (i, v) in defs.iter().enumerate() {
            if !seen.insert(v.name.as_str()) {
                self.issue(
                    flag,
                    format!("{}[{i}].name", path()),
                    format!("variant `{}` is defined twice", v.name),
                );
            }
        }
        VariantSet::compile(defs, group, stickiness).map(Box::new)
    }

    fn strategy(
        &mut self,
        def: &Feature,
        i: usize,
        s: &Strategy,
        segments: &SegmentTable,
    ) -> CompiledStrategy {
        let flag = def.name.as_str();
        // Built only for an error message: most loads have none.
        let path = || format!("strategies[{i}]");
        let param = |k: &str| {
            s.parameters
                .get(k)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let group = param("groupId").unwrap_or(flag);

        let mut constraints = Vec::new();
        for (j, id) in s.segments.iter().enumerate() {
            match segments.get(id) {
                Some((_, compiled)) => constraints.push(compiled.clone()),
                None => {
                    self.issue(
                        flag,
                        format!("{}.segments[{j}]", path()),
                        format!("unknown segment {id}"),
                    );
                    // Unleash: a strategy whose segment is missing never matches.
                    constraints.push(Arc::from(vec![never()]));
                }
            }
        }
        if !s.constraints.is_empty() {
            constraints.push(self.constraints(flag, Some(i), &s.constraints));
        }

        let percent = |this: &mut Self, key: &str| -> Option<u32> {
            let text = param(key).unwrap_or("");
            match text.parse::<u32>() {
                Ok(p) if p <= 100 => Some(p),
                _ => {
                    this.issue(
                        flag,
                        format!("{}.parameters.{key}", path()),
                        format!("{key} must be a whole percentage from 0 to 100, got `{text}`"),
                    );
                    None
                }
            }
        };
        let rule = match s.kind() {
            StrategyKind::Default => Rule::Always,
            StrategyKind::UserWithId => Rule::Users(UserSet::new(
                param("userIds")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(Box::from),
            )),
            StrategyKind::FlexibleRollout => match percent(self, "rollout") {
                Some(p) => Rule::rollout(p, param("stickiness"), group),
                None => Rule::Never,
            },
            StrategyKind::GradualRolloutUserId => match percent(self, "percentage") {
                Some(p) => Rule::rollout(p, Some("userId"), group),
                None => Rule::Never,
            },
            StrategyKind::GradualRolloutSessionId => match percent(self, "percentage") {
                Some(p) => Rule::rollout(p, Some("sessionId"), group),
                None => Rule::Never,
            },
            StrategyKind::GradualRolloutRandom => match percent(self, "percentage") {
                Some(p) => Rule::RandomPercent(p),
                None => Rule::Never,
            },
            StrategyKind::RemoteAddress => Rule::remote_address(param("IPs").unwrap_or("")),
            StrategyKind::ApplicationHostname => {
                let host = self.hostname;
                let listed = param("hostNames")
                    .unwrap_or("")
                    .split(',')
                    .any(|h| h.trim().eq_ignore_ascii_case(host));
                if listed {
                    Rule::Always
                } else {
                    Rule::Never
                }
            }
            StrategyKind::Unknown => {
                self.issue(
                    flag,
                    format!("{}.name", path()),
                    format!("unknown strategy `{}`", s.name),
                );
                Rule::Never
            }
        };
        let rule = if s.disabled == Some(true) {
            Rule::Never
        } else {
            rule
        };
        let targeted = !constraints.is_empty() || !matches!(rule, Rule::Always);
        let variants = self.variants(
            flag,
            Some(i),
            &s.variants,
            group,
            Some(param("stickiness").unwrap_or("default")),
        );
        CompiledStrategy {
            constraints: constraints.into_boxed_slice(),
            rule,
            variants,
            targeted,
        }
    }
}

fn never() -> CompiledConstraint {
    let c = Constraint {
        context_name: String::new(),
        operator: String::new(),
        ..Default::default()
    };
    CompiledConstraint::compile(&c).0
}

/// The machine's host name, as the `applicationHostname` strategy sees it:
/// the first of the `HOSTNAME` variable, the kernel's host name and
/// `/etc/hostname` that is set and not blank, trimmed; empty when none is.
/// Also what instance ids are made of.
///
/// ```
/// std::env::set_var("HOSTNAME", " web-1\n"); // each doctest is its own process
/// assert_eq!(flags_core::engine::hostname(), "web-1");
/// ```
pub fn hostname() -> String {
    let files = ["/proc/sys/kernel/hostname", "/etc/hostname"];
    std::env::var("HOSTNAME")
        .ok()
        .into_iter()
        .chain(
            files
                .into_iter()
                .filter_map(|f| std::fs::read_to_string(f).ok()),
        )
        .map(|h| h.trim().to_owned())
        .find(|h| !h.is_empty())
        .unwrap_or_default()
}
