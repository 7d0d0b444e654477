//! The writer's core: a flag is written in the friendliest form that reads
//! back as the same flag. Each section writes its keys in the form a
//! [`Style`] allows; [`feature_table`] tries the styles from the friendliest
//! down and keeps the first whose table the reader reads back unchanged, so
//! the writer never needs to know every case the friendly forms cannot say.

use std::collections::BTreeMap;

use toml_edit::Table;

use super::flag::flag_table;
use super::node::Node;
use super::reader::Reader;
use super::segments::SEGMENTS;
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, Segment};

/// How friendly a rendering may be.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// `rollout`/`users`/`when` at the top of the flag instead of rules.
    pub(super) shorthands: bool,
    /// `rollout = 20` / `users = [..]` inside a rule instead of
    /// `strategy` + `parameters`.
    pub(super) rule_shorthands: bool,
    /// `when = { beta = true }` instead of an array of explicit constraints.
    pub(super) when_table: bool,
    /// `variants = { blue = 50, green = 50 }` / `["a", "b"]` instead of tables.
    pub(super) variant_shorthands: bool,
}

const STYLES: [Style; 4] = [
    Style {
        shorthands: true,
        rule_shorthands: true,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: true,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: false,
        when_table: true,
        variant_shorthands: true,
    },
    Style {
        shorthands: false,
        rule_shorthands: false,
        when_table: false,
        variant_shorthands: false,
    },
];

/// Segment names by id, for writing references by name.
pub(super) type SegmentNames<'s> = BTreeMap<u32, &'s str>;

/// The table for `f`: the friendliest form that reads back as `f`.
///
/// # Errors
/// When `f` cannot be expressed in the format (a segment without a name,
/// a variant weight above 100%, a flag named `segments`...).
pub fn feature_table(f: &Feature, segments: &[Segment]) -> Result<Table, LoadErrors> {
    let problem =
        |msg: String| LoadErrors::from(LoadError::new("toml writer", msg).flag(f.name.as_str()));
    if f.name == SEGMENTS {
        return Err(problem(
            "a flag cannot be named `segments` in TOML (the name is reserved)".into(),
        ));
    }
    let names: SegmentNames<'_> = segments
        .iter()
        .filter_map(|s| s.name.as_deref().map(|n| (s.id, n)))
        .collect();
    let mut last_errors = Vec::new();
    for style in STYLES {
        let table = flag_table(f, &names, style);
        let mut reader = Reader::new("toml writer", None).with_segments(segments);
        match reader.flag(&f.name, None, Node::Table(&table)) {
            Some(back) if back == *f => return Ok(table),
            _ => last_errors = reader.errors,
        }
    }
    let detail = last_errors
        .first()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "it does not read back the same".into());
    Err(problem(format!("cannot be written as TOML: {detail}")))
}
