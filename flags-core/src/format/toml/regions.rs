//! One flag's text within a whole file: which bytes each flag's tables
//! take, and a change to one flag written by rewriting those bytes only.
//! An admin write to a 10,000-flag file then renders and reads back one
//! flag, not the file (issue 13).
//!
//! A flag's region runs from the comments above its first header (`[a]`,
//! `[a.variants]`, `[[a.rules]]`) to the comments above the next header
//! that is not its own. A flag written any other way (dotted keys or an
//! inline table at the top of the file, its tables split by another
//! flag's) has no region: the caller edits the whole document instead.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml_edit::{Document, DocumentMut, Item, Table};

use super::edit::{replace_table, upsert_flag};
use super::node::Node;
use super::reader::Reader;
use super::segments::SEGMENTS;
use super::writer::feature_table;
use crate::error::{LoadError, LoadErrors};
use crate::model::{Feature, Segment};

/// Where each flag's tables sit in a file's text, so a one-flag write
/// rewrites only that flag's bytes.
///
/// ```
/// use flags_core::format::toml::FlagRegions;
///
/// let text = "# Why.\n[a]\nrollout = 5\n\n[b]\n";
/// let regions = FlagRegions::of(text).unwrap();
/// assert_eq!(&text[regions.get("a").unwrap()], "# Why.\n[a]\nrollout = 5\n");
/// assert_eq!(&text[regions.get("b").unwrap()], "\n[b]\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagRegions {
    regions: HashMap<String, Range<usize>>,
    /// Where a new flag goes: after the last table, before the comments
    /// that close the file (where a whole-document edit puts it too).
    tail: usize,
}

/// A change to one flag, written into the text: the new text, and what
/// [`FlagRegions::commit`] needs to follow it.
///
/// ```
/// use flags_core::format::toml::{self, FlagRegions};
///
/// let text = "# Checkout.\n[a]\nrollout = 5 # day one\n\n[b]\nenabled = true\n";
/// let set = toml::parse(text, "flags.toml").unwrap();
/// let mut regions = FlagRegions::of(text).unwrap();
/// let mut a = set.features[0].clone();
/// a.strategies[0].parameters.insert("rollout", "25");
/// let splice = regions.splice(text, "a", Some(&set.features[0]), Some(&a), &[]).unwrap().unwrap();
/// // Only the changed value moved; the comments and flag `b` are as written.
/// assert_eq!(splice.text(), text.replace("rollout = 5 ", "rollout = 25 "));
/// regions.commit(&splice);
/// assert_eq!(&splice.text()[regions.get("b").unwrap()], "\n[b]\nenabled = true\n");
/// ```
#[derive(Debug, Clone)]
pub struct Splice {
    text: String,
    name: String,
    /// The bytes replaced, in the old text.
    replaced: Range<usize>,
    /// How many bytes replaced them (0: the flag was removed).
    len: usize,
    /// Bytes of TOML parsed, rendered or read back to make it.
    touched: usize,
}

impl Splice {
    /// The whole new text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many bytes of TOML were parsed, rendered and read back to make
    /// the change (the flag's own tables, a few times over; never the
    /// rest of the file).
    pub fn touched_bytes(&self) -> usize {
        self.touched
    }

    /// The new text, taken.
    pub fn into_text(self) -> String {
        self.text
    }
}

impl FlagRegions {
    /// The regions of `text`; `None` when it is not TOML.
    pub fn of(text: &str) -> Option<FlagRegions> {
        let doc = Document::parse(text).ok()?;
        // (where the block starts, where its header starts, whose it is)
        let mut headers: Vec<(usize, usize, &str)> = Vec::new();
        let mut tangled: HashSet<&str> = HashSet::new();
        for (key, item) in doc.as_table().iter() {
            match item {
                Item::Table(t) => {
                    if t.is_dotted() {
                        tangled.insert(key);
                    }
                    headed_tables(t, key, text, &mut headers);
                }
                Item::ArrayOfTables(a) => {
                    for t in a.iter() {
                        headed_tables(t, key, text, &mut headers);
                    }
                }
                _ => {
                    tangled.insert(key);
                }
            }
        }
        headers.sort_by_key(|h| h.1);
        let tail = doc
            .trailing()
            .span()
            .filter(|s| !s.is_empty())
            .map_or(text.len(), |s| s.start);
        let mut regions: HashMap<String, Range<usize>> = HashMap::new();
        let mut last: Option<&str> = None;
        for (i, &(start, _, key)) in headers.iter().enumerate() {
            let end = headers.get(i + 1).map_or(tail, |h| h.0);
            match regions.get_mut(key) {
                // The flag's next block, right after its last one.
                Some(r) if last == Some(key) => r.end = end,
                // Its tables split by another flag's.
                Some(_) => {
                    tangled.insert(key);
                }
                None => {
                    regions.insert(key.to_owned(), start..end);
                }
            }
            last = Some(key);
        }
        regions.retain(|k, _| k != SEGMENTS && !tangled.contains(k.as_str()));
        Some(FlagRegions { regions, tail })
    }

    /// The bytes of flag `name`'s tables, when it has a region.
    pub fn get(&self, name: &str) -> Option<Range<usize>> {
        self.regions.get(name).cloned()
    }

    /// Writes a change to flag `name` into `text` (whose regions these are)
    /// by rewriting that flag's region only: `old` is the flag as the text
    /// holds it, `new` what it becomes (`None`: removed). Only the changed
    /// keys of the user's table change; comments and layout stay.
    ///
    /// `None` when the flag cannot be edited on its own (it has no region,
    /// or is new but already in the text): edit the whole document.
    ///
    /// # Errors
    /// When `new` cannot be written so that it reads back the same.
    pub fn splice(
        &self,
        text: &str,
        name: &str,
        old: Option<&Feature>,
        new: Option<&Feature>,
        segments: &[Segment],
    ) -> Option<Result<Splice, LoadErrors>> {
        if name == SEGMENTS || new.is_some_and(|f| f.name != name) {
            return None;
        }
        let replaced = match (self.regions.get(name), old) {
            (Some(r), Some(_)) => r.clone(),
            (None, None) => self.tail..self.tail,
            _ => return None,
        };
        let before = &text[..replaced.start];
        if old.is_none() && !before.is_empty() && !before.ends_with('\n') {
            // A file without a final newline: the newline would belong to
            // the flag above; rare enough for the whole document.
            return None;
        }
        let region = text.get(replaced.clone())?;
        let body = match new {
            None => String::new(),
            Some(new) => match rewrite_flag(region, old, new, segments) {
                Ok(body) => body,
                Err(e) => return Some(Err(e)),
            },
        };
        // A new flag: a blank line after the last table, as the whole
        // document's rendering puts it.
        let gap = if old.is_none() && !before.is_empty() {
            "\n"
        } else {
            ""
        };
        let mut out = String::with_capacity(text.len() + body.len() + gap.len());
        out.push_str(before);
        out.push_str(gap);
        out.push_str(&body);
        out.push_str(&text[replaced.end..]);
        let len = gap.len() + body.len();
        Some(Ok(Splice {
            text: out,
            name: name.to_owned(),
            touched: region.len() + 2 * body.len(),
            replaced,
            len,
        }))
    }

    /// Follows `splice` (made by [`splice`](Self::splice) on these
    /// regions), once its text is the file's: the flag's region changes,
    /// every region after it moves.
    pub fn commit(&mut self, splice: &Splice) {
        let Splice {
            name,
            replaced,
            len,
            ..
        } = splice;
        let shift = |at: usize| at - replaced.end + replaced.start + len;
        for r in self.regions.values_mut() {
            if r.start >= replaced.end {
                *r = shift(r.start)..shift(r.end);
            }
        }
        if self.tail >= replaced.end {
            self.tail = shift(self.tail);
        }
        if *len == 0 {
            self.regions.remove(name);
        } else {
            let start = replaced.start;
            self.regions.insert(name.clone(), start..start + len);
        }
    }
}

/// Adds each table of `t` (and below) written with a header: where its
/// block starts (the comments above the header) and where the header is.
fn headed_tables<'d>(t: &Table, top: &'d str, text: &str, out: &mut Vec<(usize, usize, &'d str)>) {
    if !t.is_dotted() {
        if let Some(span) = t.span() {
            if text.get(span.start..).is_some_and(|s| s.starts_with('[')) {
                let start = t
                    .decor()
                    .prefix()
                    .and_then(toml_edit::RawString::span)
                    .map_or(span.start, |p| p.start.min(span.start));
                out.push((start, span.start, top));
            }
        }
    }
    for (_, item) in t.iter() {
        match item {
            Item::Table(c) => headed_tables(c, top, text, out),
            Item::ArrayOfTables(a) => {
                for c in a.iter() {
                    headed_tables(c, top, text, out);
                }
            }
            _ => {}
        }
    }
}

/// One flag's region (`""` for a new flag) with `new` written in: key by
/// key over the user's table; if that does not read back as `new` (a flag
/// written in an unusual shape), the flag's table rewritten whole.
fn rewrite_flag(
    region: &str,
    old: Option<&Feature>,
    new: &Feature,
    segments: &[Segment],
) -> Result<String, LoadErrors> {
    let parse = || {
        region
            .parse::<DocumentMut>()
            .map_err(|e| LoadErrors::from(LoadError::new("toml writer", e.to_string())))
    };
    let mut doc = parse()?;
    upsert_flag(&mut doc, old.map(|o| (o, segments)), new, segments)?;
    let text = doc.to_string();
    if reads_back(&text, new, segments) {
        return Ok(text);
    }
    let mut doc = parse()?;
    match doc.get_mut(&new.name) {
        Some(item) => replace_table(item, feature_table(new, segments)?),
        None => upsert_flag(&mut doc, None, new, segments)?,
    }
    let text = doc.to_string();
    if reads_back(&text, new, segments) {
        return Ok(text);
    }
    Err(LoadErrors::from(
        LoadError::new(
            "toml writer",
            "the change cannot be written to the TOML file so that it reads back the same",
        )
        .flag(new.name.as_str()),
    ))
}

/// Whether `text` holds exactly flag `f` (nothing else) and reads back as it.
fn reads_back(text: &str, f: &Feature, segments: &[Segment]) -> bool {
    let Ok(doc) = Document::parse(text) else {
        return false;
    };
    let root = doc.as_table();
    if root.len() != 1 {
        return false;
    }
    let Some(node) = root.get(&f.name).and_then(Node::item) else {
        return false;
    };
    let mut reader = Reader::new("toml writer", Some(text)).with_segments(segments);
    let back = reader.flag(&f.name, None, node);
    reader.errors.is_empty() && back.as_ref() == Some(f)
}

#[cfg(test)]
mod tests;
