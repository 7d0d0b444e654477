//! The writer's core: a flag is written in the friendliest form that reads
//! back as the same flag. Each section writes its keys in the form a
//! [`Style`](super::style::Style) allows; [`feature_table`] tries the styles from the friendliest
//! down and keeps the first whose table the reader reads back unchanged, so
//! the writer never needs to know every case the friendly forms cannot say.

use toml_edit::Table;

use super::flag::flag_table;
use super::node::Node;
use super::reader::Reader;
use super::segments::SEGMENTS;
use super::style::{SegmentNames, Style};
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, Segment};

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

/// The table for `f`: the friendliest form that reads back as `f`.
///
/// ```
/// use flags_core::format::toml::{self, write_feature_table};
///
/// let set = toml::parse("[a]\nrollout = 20\nwhen = { beta = true }\n", "flags.toml").unwrap();
/// let table = write_feature_table(&set.features[0], &set.segments).unwrap();
/// assert_eq!(table["rollout"].as_integer(), Some(20));
/// assert!(table.contains_key("when"));
/// ```
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
