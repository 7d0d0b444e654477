//! A whole file: the `[segments.*]` tables and one table per flag, read and
//! written.

use std::collections::HashSet;

use toml_edit::{Document, DocumentMut, Item};

use super::node::{line_col, Node};
use super::reader::Reader;
use super::segments::{segments_table, SEGMENTS};
use super::spans::SpanMap;
use super::writer::feature_table;
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, FlagSet};

/// A document as read: its flags (one with an error as a stub holding its
/// name and requirements, for the engine's dependency check), where each
/// model field came from, and the errors found.
pub(crate) struct Read {
    pub(crate) set: FlagSet,
    pub(crate) spans: SpanMap,
    pub(crate) errors: Vec<LoadError>,
    /// The flags with an error, read as stubs.
    pub(crate) broken: HashSet<String>,
}

/// Parses `text` and reads it strictly; `source` names it in errors.
///
/// # Errors
/// Only text that is not TOML; what is wrong with the flags is in
/// [`Read::errors`].
pub(crate) fn read_text(text: &str, source: &str) -> Result<Read, LoadErrors> {
    let doc = Document::parse(text).map_err(|e| {
        let mut message = e.message().trim().to_owned();
        if message == "duplicate key" {
            let key = e.span().and_then(|s| text.get(s)).unwrap_or("").trim();
            message = format!("`{key}` is defined twice");
        }
        let mut err = LoadError::new(source, message);
        if let Some(span) = e.span() {
            let (line, col) = line_col(text, span.start);
            err = err.at(line, col);
        }
        LoadErrors::from(err)
    })?;
    let mut reader = Reader::new(source, Some(text));
    let set = reader.document(Node::Table(doc.as_table()));
    Ok(Read {
        set,
        spans: reader.spans,
        errors: reader.errors,
        broken: reader.broken,
    })
}

impl Reader<'_> {
    /// A whole document: `[segments.*]` tables and one table per flag.
    pub(crate) fn document(&mut self, root: Node<'_>) -> FlagSet {
        let mut set = FlagSet {
            version: 2,
            ..FlagSet::default()
        };
        let Some(entries) = root.entries() else {
            return set;
        };
        // Segments first: flags refer to them by name.
        if let Some(seg) = entries.iter().find(|e| e.key == SEGMENTS) {
            set.segments = self.segments(seg.node);
        }
        for e in &entries {
            if e.key == SEGMENTS {
                continue;
            }
            let Some((f, ok)) = self.read_flag(e.key, e.key_span.clone(), e.node) else {
                continue;
            };
            if ok {
                set.features.push(f);
            } else {
                // Still a flag of the file: the engine's dependency check
                // must see its name and requirements, or a cycle through it
                // reads as an unknown parent (issue 13).
                self.broken.insert(f.name.clone());
                set.features.push(Feature {
                    name: f.name,
                    enabled: true,
                    dependencies: f.dependencies,
                    ..Feature::default()
                });
            }
        }
        set
    }
}

/// The whole set as a TOML document.
///
/// # Errors
/// Every flag that cannot be expressed in the format.
pub(crate) fn document(set: &FlagSet) -> Result<DocumentMut, LoadErrors> {
    let mut doc = DocumentMut::new();
    let mut errors = Vec::new();
    if !set.segments.is_empty() {
        doc.insert(SEGMENTS, Item::Table(segments_table(&set.segments)));
    }
    for f in &set.features {
        match feature_table(f, &set.segments) {
            Ok(t) => {
                doc.insert(&f.name, Item::Table(t));
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(LoadErrors::from(errors))
    }
}
