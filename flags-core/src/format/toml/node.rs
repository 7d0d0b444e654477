//! A uniform view of a `toml_edit` tree (tables, inline tables, arrays of
//! tables, arrays, scalars), with the byte spans the parser kept, so the
//! reader walks one shape whether the user wrote `[a.b]`, `a.b = ..`,
//! `a = { b = .. }` or sent JSON.

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

/// One node of the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
    Tables(&'a ArrayOfTables),
    Array(&'a Array),
    Scalar(&'a Value),
}

/// An entry of a table: key, where the key is, and the value.
pub(crate) struct Entry<'a> {
    pub(crate) key: &'a str,
    pub(crate) key_span: Option<Range<usize>>,
    pub(crate) node: Node<'a>,
}

impl<'a> Node<'a> {
    /// The node for `item`; `None` for an empty item.
    pub(crate) fn item(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::None => None,
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
            Item::Value(v) => Some(Node::value(v)),
        }
    }

    pub(crate) fn value(v: &'a Value) -> Node<'a> {
        match v {
            Value::InlineTable(t) => Node::Inline(t),
            Value::Array(a) => Node::Array(a),
            other => Node::Scalar(other),
        }
    }

    /// Where the node is in the text, when it came from text.
    pub(crate) fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Inline(t) => t.span(),
            Node::Tables(a) => a.span(),
            Node::Array(a) => a.span(),
            Node::Scalar(v) => v.span(),
        }
    }

    /// What the node is, for "expected X, found Y" messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Table(_) | Node::Inline(_) => "a table",
            Node::Tables(_) | Node::Array(_) => "an array",
            Node::Scalar(Value::String(_)) => "a string",
            Node::Scalar(Value::Integer(_)) => "an integer",
            Node::Scalar(Value::Float(_)) => "a float",
            Node::Scalar(Value::Boolean(_)) => "a boolean",
            Node::Scalar(Value::Datetime(_)) => "a date-time",
            Node::Scalar(_) => "a value",
        }
    }

    /// The entries, in document order, when the node is a table.
    pub(crate) fn entries(&self) -> Option<Vec<Entry<'a>>> {
        match *self {
            Node::Table(t) => Some(
                t.iter()
                    .filter_map(|(k, item)| {
                        Some(Entry {
                            key: k,
                            key_span: t.key(k).and_then(toml_edit::Key::span),
                            node: Node::item(item)?,
                        })
                    })
                    .collect(),
            ),
            Node::Inline(t) => Some(
                t.iter()
                    .map(|(k, v)| Entry {
                        key: k,
                        key_span: t.key(k).and_then(toml_edit::Key::span),
                        node: Node::value(v),
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements, when the node is an array (of values or of tables).
    pub(crate) fn elements(&self) -> Option<Vec<Node<'a>>> {
        match *self {
            Node::Tables(a) => Some(a.iter().map(Node::Table).collect()),
            Node::Array(a) => Some(a.iter().map(Node::value).collect()),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&'a str> {
        match self {
            Node::Scalar(v) => v.as_str(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Scalar(v) => v.as_bool(),
            _ => None,
        }
    }

    pub(crate) fn as_integer(&self) -> Option<i64> {
        match self {
            Node::Scalar(v) => v.as_integer(),
            _ => None,
        }
    }

    pub(crate) fn as_float(&self) -> Option<f64> {
        match self {
            Node::Scalar(v) => v.as_float(),
            _ => None,
        }
    }

    /// Any scalar as the text Unleash stores: strings as they are, numbers,
    /// booleans and dates written out.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Scalar(Value::String(s)) => Some(s.value().clone()),
            Node::Scalar(Value::Integer(i)) => Some(i.value().to_string()),
            Node::Scalar(Value::Float(f)) => Some(f.value().to_string()),
            Node::Scalar(Value::Boolean(b)) => Some(b.value().to_string()),
            Node::Scalar(Value::Datetime(d)) => Some(d.value().to_string()),
            _ => None,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // `=` after the two-byte `é`.
        assert_eq!(line_col(text, 10), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
