//! TOML → [`FlagSet`], strictly: every problem is collected with the flag,
//! the field path and the line and column it is at.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use toml_edit::Document;

mod guard;

use super::names::{self, FLAG_KEYS, RULE_KEYS};
use super::node::{line_col, Entry, Node};
use crate::error::{LoadError, LoadErrors};
use crate::model::{
    Constraint, Dependency, Feature, FlagSet, Override, Payload, Segment, Strategy, VariantDef,
};

/// Where a model field came from: the TOML path the user wrote and its span.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    /// (flag, model path) → origin.
    entries: HashMap<(String, String), Origin>,
}

/// The TOML path a model field came from, and its span in the text.
pub(crate) type Origin = (String, Option<Range<usize>>);

impl SpanMap {
    fn record(&mut self, flag: &str, model: String, toml: &str, span: Option<Range<usize>>) {
        self.entries
            .insert((flag.to_owned(), model), (toml.to_owned(), span));
    }

    /// The TOML path and span recorded for the longest prefix of `model`.
    pub fn locate(&self, flag: &str, model: &str) -> Option<&(String, Option<Range<usize>>)> {
        let mut end = model.len();
        loop {
            let key = (flag.to_owned(), model[..end].to_owned());
            if let Some(found) = self.entries.get(&key) {
                return Some(found);
            }
            end = model[..end].rfind(['.', '['])?;
        }
    }
}

/// The walk over one document (or one JSON body).
pub(crate) struct Reader<'t> {
    source: &'t str,
    text: Option<&'t str>,
    pub(crate) errors: Vec<LoadError>,
    pub(crate) spans: SpanMap,
    /// Segment name → id, for `segments = ["internal"]`.
    segment_ids: BTreeMap<String, u32>,
    /// The flag being read (empty for segments).
    flag: String,
    /// Flags of the document with an error.
    broken: HashSet<String>,
}

impl<'t> Reader<'t> {
    pub(crate) fn new(source: &'t str, text: Option<&'t str>) -> Self {
        Reader {
            source,
            text,
            errors: Vec::new(),
            spans: SpanMap::default(),
            segment_ids: BTreeMap::new(),
            flag: String::new(),
            broken: HashSet::new(),
        }
    }

    /// Segment names flags may refer to (for reading a flag on its own).
    pub(crate) fn with_segments(mut self, segments: &[Segment]) -> Self {
        for s in segments {
            if let Some(name) = &s.name {
                self.segment_ids.insert(name.clone(), s.id);
            }
        }
        self
    }

    fn error(&mut self, path: &str, at: Option<Range<usize>>, message: impl Into<String>) {
        let mut e = LoadError::new(self.source, message);
        if !self.flag.is_empty() {
            e = e.flag(self.flag.as_str());
        }
        if !path.is_empty() {
            e = e.field(path);
        }
        if let (Some(text), Some(span)) = (self.text, at) {
            let (line, col) = line_col(text, span.start);
            e = e.at(line, col);
        }
        self.errors.push(e);
    }

    fn expected(&mut self, path: &str, node: Node<'_>, what: &str) {
        let found = node.kind();
        self.error(path, node.span(), format!("expected {what}, found {found}"));
    }

    fn unknown_key(&mut self, path: &str, e: &Entry<'_>, allowed: &[&str]) {
        let full = join(path, e.key);
        let mut msg = format!("unknown key `{}`", e.key);
        if let Some(close) = names::closest(e.key, allowed) {
            msg.push_str(&format!(" (did you mean `{close}`?)"));
        } else {
            msg.push_str(&format!("; expected one of: {}", allowed.join(", ")));
        }
        self.error(&full, e.key_span.clone(), msg);
    }

    fn entries<'a>(&mut self, path: &str, node: Node<'a>) -> Option<Vec<Entry<'a>>> {
        let entries = node.entries();
        if entries.is_none() {
            self.expected(path, node, "a table");
        }
        entries
    }

    fn string(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let s = node.as_str().map(str::to_owned);
        if s.is_none() {
            self.expected(path, node, "a string");
        }
        s
    }

    fn boolean(&mut self, path: &str, node: Node<'_>) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.expected(path, node, "true or false");
        }
        b
    }

    fn scalar(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let s = node.scalar_text();
        if s.is_none() {
            self.expected(path, node, "a string, number or boolean");
        }
        s
    }

    fn scalars(&mut self, path: &str, node: Node<'_>) -> Option<Vec<String>> {
        let Some(elements) = node.elements() else {
            self.expected(path, node, "an array");
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        let mut ok = true;
        for (i, el) in elements.into_iter().enumerate() {
            match self.scalar(&format!("{path}[{i}]"), el) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn strings(&mut self, path: &str, node: Node<'_>) -> Option<Vec<String>> {
        let Some(elements) = node.elements() else {
            self.expected(path, node, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        let mut ok = true;
        for (i, el) in elements.into_iter().enumerate() {
            match self.string(&format!("{path}[{i}]"), el) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A whole document: `[segments.*]` tables and one table per flag.
    pub(crate) fn document(&mut self, root: Node<'_>) -> FlagSet {
        let mut set = FlagSet {
            version: 2,
            ..FlagSet::default()
        };
        let Some(entries) = root.entries() else {
            return set;
        };
        if let Some(seg) = entries.iter().find(|e| e.key == names::SEGMENTS) {
            set.segments = self.segments(seg.node);
        }
        for e in &entries {
            if e.key == names::SEGMENTS {
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

    fn segments(&mut self, node: Node<'_>) -> Vec<Segment> {
        let path = names::SEGMENTS;
        let Some(entries) = self.entries(path, node) else {
            return Vec::new();
        };
        // Explicit ids first, then the rest numbered in order, skipping taken ids.
        let mut taken = BTreeMap::new();
        let mut parsed = Vec::new();
        for e in &entries {
            let seg_path = join(path, e.key);
            let Some(fields) = self.entries(&seg_path, e.node) else {
                continue;
            };
            let mut id = None;
            let mut constraints = Vec::new();
            for f in &fields {
                let p = join(&seg_path, f.key);
                match f.key {
                    "when" => constraints = self.when(&p, f.node, "", "").unwrap_or_default(),
                    "id" => match f.node.as_integer().and_then(|i| u32::try_from(i).ok()) {
                        Some(i) => {
                            if let Some(other) = taken.insert(i, e.key) {
                                self.error(
                                    &p,
                                    f.node.span(),
                                    format!("segment id {i} is already used by `{other}`"),
                                );
                            }
                            id = Some(i);
                        }
                        None => self.expected(&p, f.node, "a whole number id"),
                    },
                    _ => self.unknown_key(&seg_path, f, &["when", "id"]),
                }
            }
            parsed.push((e.key, id, constraints));
        }
        let mut next = 1u32;
        let mut out = Vec::with_capacity(parsed.len());
        for (name, id, constraints) in parsed {
            let id = id.unwrap_or_else(|| {
                while taken.contains_key(&next) {
                    next += 1;
                }
                taken.insert(next, name);
                next
            });
            self.segment_ids.insert(name.to_owned(), id);
            out.push(Segment {
                id,
                name: Some(name.to_owned()),
                constraints,
            });
        }
        out
    }

    /// One flag's table; `None` when it has an error.
    pub(crate) fn flag(
        &mut self,
        name: &str,
        key_span: Option<Range<usize>>,
        node: Node<'_>,
    ) -> Option<Feature> {
        self.read_flag(name, key_span, node)
            .and_then(|(f, ok)| ok.then_some(f))
    }

    /// One flag's table, and whether it read without error (when not, the
    /// flag holds what could be read); `None` when it is not a table.
    fn read_flag(
        &mut self,
        name: &str,
        key_span: Option<Range<usize>>,
        node: Node<'_>,
    ) -> Option<(Feature, bool)> {
        self.flag = name.to_owned();
        let errors_before = self.errors.len();
        self.spans.record(name, "name".into(), "", key_span.clone());
        if name.trim().is_empty() {
            self.error("", key_span.clone(), "a flag needs a non-empty name");
        }
        let Some(entries) = node.entries() else {
            self.error(
                "",
                key_span,
                format!(
                    "flag `{name}` must be a table (`[{name}]`), found {}",
                    node.kind()
                ),
            );
            self.flag.clear();
            return None;
        };
        let mut f = Feature {
            name: name.to_owned(),
            enabled: true,
            ..Feature::default()
        };
        let mut rollout = None;
        let mut users = None;
        let mut when = None;
        let mut segments = None;
        let mut rules = None;
        for e in &entries {
            let p = e.key;
            match e.key {
                "description" => f.description = self.string(p, e.node),
                "enabled" => f.enabled = self.boolean(p, e.node).unwrap_or(true),
                "rollout" => rollout = Some(e),
                "users" => users = Some(e),
                "when" => when = Some(e),
                "segments" => segments = Some(e),
                "rules" => rules = Some(e),
                "variants" => {
                    f.variants = self.variants(p, e.node, "variants").unwrap_or_default();
                }
                "requires" => f.dependencies = self.requires(p, e.node).unwrap_or_default(),
                "type" => f.kind = self.string(p, e.node),
                "project" => f.project = self.string(p, e.node),
                "impression_data" => {
                    f.impression_data = self.boolean(p, e.node).unwrap_or_default();
                }
                "stale" => f.stale = self.boolean(p, e.node).unwrap_or_default(),
                "guard" => f.guard = self.guard(p, e.node).flatten(),
                "plan" => f.plan = self.plan(p, e.node),
                _ => self.unknown_key("", e, FLAG_KEYS),
            }
        }

        // Shorthands: `users` is a strategy of its own; `when` and `segments`
        // narrow the rollout, or the whole flag when there is no rollout.
        if let Some(e) = users {
            let i = f.strategies.len();
            self.spans
                .record(name, format!("strategies[{i}]"), "users", e.node.span());
            if let Some(ids) = self.users("users", e.node) {
                f.strategies.push(users_strategy(ids));
            }
        }
        if rollout.is_some() || when.is_some() || segments.is_some() {
            let i = f.strategies.len();
            let model = format!("strategies[{i}]");
            let anchor = rollout.or(when).or(segments).map(|e| e.node.span());
            self.spans.record(name, model.clone(), "", anchor.flatten());
            let mut s = match rollout {
                Some(e) => {
                    self.spans.record(
                        name,
                        format!("{model}.parameters"),
                        "rollout",
                        e.node.span(),
                    );
                    self.rollout("rollout", e.node).map(|parameters| Strategy {
                        name: "flexibleRollout".into(),
                        parameters,
                        ..Strategy::default()
                    })
                }
                None => Some(Strategy {
                    name: "default".into(),
                    ..Strategy::default()
                }),
            };
            if let Some(e) = when {
                let c = self.when("when", e.node, name, &format!("{model}.constraints"));
                if let (Some(s), Some(c)) = (s.as_mut(), c) {
                    s.constraints = c;
                }
            }
            if let Some(e) = segments {
                let ids = self.segment_refs("segments", e.node, &format!("{model}.segments"));
                if let (Some(s), Some(ids)) = (s.as_mut(), ids) {
                    s.segments = ids;
                }
            }
            f.strategies.extend(s);
        }
        if let Some(e) = rules {
            match e.node.elements() {
                Some(list) => {
                    for (k, rule) in list.into_iter().enumerate() {
                        let i = f.strategies.len();
                        if let Some(s) = self.rule(&format!("rules[{k}]"), rule, i) {
                            f.strategies.push(s);
                        }
                    }
                }
                None => self.expected("rules", e.node, "an array of rule tables ([[flag.rules]])"),
            }
        }
        if users.is_none()
            && rollout.is_none()
            && when.is_none()
            && segments.is_none()
            && rules.is_none()
        {
            f.strategies.push(Strategy {
                name: "default".into(),
                ..Strategy::default()
            });
        }
        self.flag.clear();
        let ok = self.errors.len() == errors_before;
        Some((f, ok))
    }

    /// `[[flag.rules]]`: one explicit strategy.
    fn rule(&mut self, path: &str, node: Node<'_>, index: usize) -> Option<Strategy> {
        let flag = self.flag.clone();
        let model = format!("strategies[{index}]");
        self.spans.record(&flag, model.clone(), path, node.span());
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let find = |k: &str| entries.iter().find(|e| e.key == k);
        let (rollout, users, strategy) = (find("rollout"), find("users"), find("strategy"));
        let mut s = Strategy::default();
        match (strategy, rollout, users) {
            (Some(st), _, _) => {
                if let Some(other) = rollout.or(users) {
                    self.error(
                        &join(path, other.key),
                        other.key_span.clone(),
                        format!(
                            "a rule with `strategy` sets its parameters in `parameters`, not `{}`",
                            other.key
                        ),
                    );
                }
                let p = join(path, "strategy");
                if let Some(name) = self.string(&p, st.node) {
                    if !names::STRATEGIES.contains(&name.as_str()) {
                        self.error(
                            &p,
                            st.node.span(),
                            format!(
                                "unknown strategy `{name}`; expected one of: {}",
                                names::STRATEGIES.join(", ")
                            ),
                        );
                    }
                    s.name = name;
                }
                self.spans
                    .record(&flag, format!("{model}.name"), &p, st.node.span());
            }
            (None, Some(_), Some(u)) => {
                self.error(
                    &join(path, "users"),
                    u.key_span.clone(),
                    "a rule is one strategy: use `rollout` or `users`, not both (write two rules)",
                );
            }
            (None, Some(r), None) => {
                let p = join(path, "rollout");
                self.spans
                    .record(&flag, format!("{model}.parameters"), &p, r.node.span());
                s.name = "flexibleRollout".into();
                s.parameters = self.rollout(&p, r.node).unwrap_or_default();
            }
            (None, None, Some(u)) => {
                let p = join(path, "users");
                self.spans
                    .record(&flag, format!("{model}.parameters"), &p, u.node.span());
                if let Some(ids) = self.users(&p, u.node) {
                    s = users_strategy(ids);
                }
            }
            (None, None, None) => s.name = "default".into(),
        }
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "rollout" | "users" | "strategy" => {}
                "parameters" => {
                    if strategy.is_none() {
                        self.error(&p, e.key_span.clone(), "`parameters` needs `strategy`");
                    } else {
                        self.spans
                            .record(&flag, format!("{model}.parameters"), &p, e.node.span());
                        s.parameters = self.parameters(&p, e.node).unwrap_or_default();
                    }
                }
                "when" => {
                    s.constraints = self
                        .when(&p, e.node, &flag, &format!("{model}.constraints"))
                        .unwrap_or_default();
                }
                "segments" => {
                    s.segments = self
                        .segment_refs(&p, e.node, &format!("{model}.segments"))
                        .unwrap_or_default();
                }
                "variants" => {
                    s.variants = self
                        .variants(&p, e.node, &format!("{model}.variants"))
                        .unwrap_or_default();
                }
                "disabled" => s.disabled = self.boolean(&p, e.node),
                _ => self.unknown_key(path, e, RULE_KEYS),
            }
        }
        (self.errors.len() == errors_before).then_some(s)
    }

    /// `rollout = 20` or `rollout = { percent = 20, stickiness = "sessionId", group = "checkout" }`.
    fn rollout(&mut self, path: &str, node: Node<'_>) -> Option<crate::model::Parameters> {
        let mut percent = None;
        let mut stickiness = "default".to_owned();
        let mut group = self.flag.clone();
        if let Node::Scalar(_) = node {
            percent = self.percent(path, node);
        } else {
            let entries = self.entries(path, node)?;
            let mut seen_percent = false;
            for e in &entries {
                let p = join(path, e.key);
                match e.key {
                    "percent" => {
                        seen_percent = true;
                        percent = self.percent(&p, e.node);
                    }
                    "stickiness" => {
                        stickiness = self.string(&p, e.node).unwrap_or_default();
                    }
                    "group" => group = self.string(&p, e.node).unwrap_or_default(),
                    _ => self.unknown_key(path, e, &["percent", "stickiness", "group"]),
                }
            }
            if !seen_percent {
                self.error(path, node.span(), "a rollout table needs `percent`");
            }
        }
        let percent = percent?;
        Some(crate::model::Parameters::from_iter([
            ("rollout".to_owned(), percent.to_string()),
            ("stickiness".to_owned(), stickiness),
            ("groupId".to_owned(), group),
        ]))
    }

    /// A whole percentage, 0 to 100.
    fn percent(&mut self, path: &str, node: Node<'_>) -> Option<u32> {
        match node.as_integer() {
            Some(p @ 0..=100) => Some(p as u32),
            Some(p) => {
                self.error(
                    path,
                    node.span(),
                    format!("a percentage must be between 0 and 100, got {p}"),
                );
                None
            }
            None => {
                self.expected(path, node, "a whole percentage from 0 to 100");
                None
            }
        }
    }

    /// `users = ["user_123", "user_456"]` → the `userIds` parameter.
    fn users(&mut self, path: &str, node: Node<'_>) -> Option<String> {
        let ids = self.scalars(path, node)?;
        let mut ok = true;
        for (i, id) in ids.iter().enumerate() {
            let bad = if id.trim().is_empty() {
                Some("a user id cannot be empty")
            } else if id.contains(',') {
                Some("a user id cannot contain a comma")
            } else if id.trim() != id {
                Some("a user id cannot start or end with spaces")
            } else {
                None
            };
            if let Some(msg) = bad {
                let at = node.elements().and_then(|e| e.get(i).and_then(Node::span));
                self.error(&format!("{path}[{i}]"), at, msg);
                ok = false;
            }
        }
        ok.then(|| ids.join(","))
    }

    /// `parameters = { IPs = "10.0.0.0/8" }` for an explicit strategy.
    fn parameters(&mut self, path: &str, node: Node<'_>) -> Option<crate::model::Parameters> {
        let entries = self.entries(path, node)?;
        let mut out = crate::model::Parameters::new();
        for e in &entries {
            let p = join(path, e.key);
            let value = match e.node {
                Node::Array(_) => self.scalars(&p, e.node).map(|v| v.join(",")),
                _ => self.scalar(&p, e.node),
            };
            if let Some(v) = value {
                out.insert(e.key.to_owned(), v);
            }
        }
        Some(out)
    }

    /// `segments = ["internal"]` → segment ids.
    fn segment_refs(&mut self, path: &str, node: Node<'_>, model: &str) -> Option<Vec<u32>> {
        let names = self.strings(path, node)?;
        let spans: Vec<_> = node
            .elements()
            .unwrap_or_default()
            .iter()
            .map(Node::span)
            .collect();
        let mut ids = Vec::with_capacity(names.len());
        for (j, name) in names.iter().enumerate() {
            let at = spans.get(j).cloned().flatten();
            let p = format!("{path}[{j}]");
            self.spans
                .record(&self.flag.clone(), format!("{model}[{j}]"), &p, at.clone());
            match self.segment_ids.get(name) {
                Some(&id) => ids.push(id),
                None => {
                    let known: Vec<&str> = self.segment_ids.keys().map(String::as_str).collect();
                    let hint = if known.is_empty() {
                        "no segments are defined (add a [segments.NAME] table)".to_owned()
                    } else {
                        format!("defined segments: {}", known.join(", "))
                    };
                    self.error(&p, at, format!("unknown segment `{name}`; {hint}"));
                }
            }
        }
        Some(ids)
    }

    /// `when = { beta = true, country = ["NO", "SE"] }` or
    /// `when = [{ field = "appVersion", op = "semver_gte", value = "2.0.0" }]`.
    fn when(
        &mut self,
        path: &str,
        node: Node<'_>,
        flag: &str,
        model: &str,
    ) -> Option<Vec<Constraint>> {
        let mut out = Vec::new();
        let mut ok = true;
        if let Some(entries) = node.entries() {
            for (j, e) in entries.iter().enumerate() {
                let p = join(path, e.key);
                self.spans
                    .record(flag, format!("{model}[{j}]"), &p, e.node.span());
                let c = match e.node {
                    Node::Table(_) | Node::Inline(_) => self.constraint(
                        &p,
                        Some((e.key, e.key_span.clone())),
                        e.node,
                        flag,
                        &format!("{model}[{j}]"),
                    ),
                    Node::Array(_) | Node::Tables(_) => {
                        self.scalars(&p, e.node).map(|values| Constraint {
                            context_name: e.key.to_owned(),
                            operator: "IN".into(),
                            values,
                            ..Constraint::default()
                        })
                    }
                    Node::Scalar(_) => self.scalar(&p, e.node).map(|v| Constraint {
                        context_name: e.key.to_owned(),
                        operator: "IN".into(),
                        values: vec![v],
                        ..Constraint::default()
                    }),
                };
                match c {
                    Some(c) => out.push(c),
                    None => ok = false,
                }
            }
        } else if let Some(list) = node.elements() {
            for (j, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{j}]");
                self.spans
                    .record(flag, format!("{model}[{j}]"), &p, el.span());
                match self.constraint(&p, None, el, flag, &format!("{model}[{j}]")) {
                    Some(c) => out.push(c),
                    None => ok = false,
                }
            }
        } else {
            self.expected(
                path,
                node,
                "a table of conditions ({ beta = true }) or an array of constraints",
            );
            return None;
        }
        ok.then_some(out)
    }

    /// One explicit constraint: `{ field, op, value | values, case_insensitive, not }`.
    /// In the table form the field is the key, and `field` is not allowed.
    fn constraint(
        &mut self,
        path: &str,
        field: Option<(&str, Option<Range<usize>>)>,
        node: Node<'_>,
        flag: &str,
        model: &str,
    ) -> Option<Constraint> {
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let mut c = Constraint {
            operator: "IN".into(),
            ..Constraint::default()
        };
        let mut op_span = None;
        let mut value_span = None;
        let mut values_spans = Vec::new();
        let mut values_span = None;
        let mut has_field = false;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "field" if field.is_none() => {
                    has_field = true;
                    c.context_name = self.string(&p, e.node).unwrap_or_default();
                }
                "op" => {
                    op_span = e.node.span();
                    if let Some(op) = self.string(&p, e.node) {
                        match names::operator(&op) {
                            Some(unleash) => c.operator = unleash.to_owned(),
                            None => self.error(
                                &p,
                                e.node.span(),
                                format!(
                                    "unknown operator `{op}`; expected one of: {}",
                                    names::friendly_operators().join(", ")
                                ),
                            ),
                        }
                    }
                }
                "value" => {
                    value_span = e.node.span();
                    c.value = self.scalar(&p, e.node);
                }
                "values" => {
                    values_span = e.node.span();
                    values_spans = e
                        .node
                        .elements()
                        .unwrap_or_default()
                        .iter()
                        .map(Node::span)
                        .collect();
                    c.values = self.scalars(&p, e.node).unwrap_or_default();
                }
                "case_insensitive" => {
                    c.case_insensitive = self.boolean(&p, e.node).unwrap_or(false)
                }
                "not" => c.inverted = self.boolean(&p, e.node).unwrap_or(false),
                _ => {
                    let allowed: &[&str] = if field.is_none() {
                        names::CONSTRAINT_KEYS
                    } else {
                        &names::CONSTRAINT_KEYS[1..]
                    };
                    self.unknown_key(path, e, allowed);
                }
            }
        }
        match field {
            Some((name, _)) => c.context_name = name.to_owned(),
            None if !has_field => {
                self.error(
                    path,
                    node.span(),
                    "a constraint needs `field` (the context field to test)",
                );
            }
            None => {}
        }
        if self.errors.len() > errors_before {
            return None;
        }
        let friendly = names::friendly_operator(&c.operator);
        let at = |k: &str| join(path, k);
        if names::takes_list(&c.operator) {
            if c.values.is_empty() && c.value.is_some() {
                self.error(
                    &at("value"),
                    value_span.clone(),
                    format!("operator `{friendly}` takes `values` (a list), not `value`"),
                );
            }
            if c.operator == "IN_CIDR" {
                for (i, v) in c.values.iter().enumerate() {
                    if !is_ip_or_net(v) {
                        self.error(
                            &format!("{}[{i}]", at("values")),
                            values_spans.get(i).cloned().flatten(),
                            format!("`{v}` is not an IP address or CIDR network"),
                        );
                    }
                }
            }
        } else if c.value.is_none() && c.values.len() > 1 {
            self.error(
                &at("values"),
                values_span.clone(),
                format!("operator `{friendly}` takes one `value`, not a list"),
            );
        }
        if self.errors.len() == errors_before {
            if let Some((key, message)) = crate::engine::check_constraint(&c) {
                let (p, span) = match key {
                    "operator" => (at("op"), op_span.clone()),
                    _ if c.value.is_some() => (at("value"), value_span.clone()),
                    _ if values_span.is_some() => (at("values"), values_span.clone()),
                    _ => (path.to_owned(), node.span()),
                };
                self.error(&p, span, message.replace(&c.operator, friendly));
            }
        }
        self.spans
            .record(flag, format!("{model}.operator"), &at("op"), op_span);
        self.spans
            .record(flag, format!("{model}.value"), &at("value"), value_span);
        self.spans
            .record(flag, format!("{model}.values"), &at("values"), values_span);
        (self.errors.len() == errors_before).then_some(c)
    }

    /// Variants: `{ blue = 50, green = 50 }` (percent weights that add up to
    /// 100), `["blue", "green"]` (an even split), or an array of tables.
    fn variants(&mut self, path: &str, node: Node<'_>, model: &str) -> Option<Vec<VariantDef>> {
        let flag = self.flag.clone();
        self.spans
            .record(&flag, model.to_owned(), path, node.span());
        let errors_before = self.errors.len();
        let mut out: Vec<VariantDef> = Vec::new();
        let mut fixed: Vec<bool> = Vec::new();
        if let Some(entries) = node.entries() {
            for e in &entries {
                let p = join(path, e.key);
                if let Some(w) = self.weight(&p, e.node) {
                    out.push(VariantDef {
                        name: e.key.to_owned(),
                        weight: w,
                        ..VariantDef::default()
                    });
                    fixed.push(true);
                }
            }
            let total: u32 = out.iter().map(|v| v.weight).sum();
            if self.errors.len() == errors_before && total != 1000 {
                self.error(
                    path,
                    node.span(),
                    format!(
                        "variant weights add up to {}%, not 100% (leave weights out for an even split)",
                        percent_text(total)
                    ),
                );
            }
        } else if let Some(list) = node.elements() {
            for (i, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                self.spans
                    .record(&flag, format!("{model}[{i}]"), &p, el.span());
                if let Some(name) = el.as_str() {
                    out.push(VariantDef {
                        name: name.to_owned(),
                        weight_type: Some("variable".into()),
                        ..VariantDef::default()
                    });
                    fixed.push(false);
                } else if let Some((v, has_weight)) = self.variant(&p, el) {
                    out.push(v);
                    fixed.push(has_weight);
                }
            }
        } else {
            self.expected(path, node, "a table of percentages or an array of variants");
            return None;
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in out.iter().enumerate() {
            if v.name.trim().is_empty() {
                self.error(
                    &format!("{path}[{i}]"),
                    node.span(),
                    "a variant needs a name",
                );
            } else if !seen.insert(v.name.as_str()) {
                let at = node.elements().and_then(|e| e.get(i).and_then(Node::span));
                self.error(
                    &format!("{path}[{i}].name"),
                    at.or_else(|| node.span()),
                    format!("variant `{}` is defined twice", v.name),
                );
            }
        }
        // Unleash's split: fixed weights first, the rest shared out evenly,
        // the first `remaining % n` variable variants getting one more.
        let fixed_total: u32 = out
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| **f)
            .map(|(v, _)| v.weight)
            .sum();
        let n = fixed.iter().filter(|f| !**f).count() as u32;
        let remaining = 1000u32.checked_sub(fixed_total);
        if let (Some(share), Some(remaining)) =
            (remaining.and_then(|r| r.checked_div(n)), remaining)
        {
            let extra = remaining % n;
            let mut k = 0;
            for (v, f) in out.iter_mut().zip(&fixed) {
                if !*f {
                    v.weight = share + u32::from(k < extra);
                    k += 1;
                }
            }
        } else if n > 0 {
            {
                self.error(
                    path,
                    node.span(),
                    format!(
                        "fixed variant weights add up to {}%, leaving nothing for the others",
                        percent_text(fixed_total)
                    ),
                );
            }
        }
        (self.errors.len() == errors_before).then_some(out)
    }

    /// One `[[flag.variants]]` entry; also says whether it had a weight.
    fn variant(&mut self, path: &str, node: Node<'_>) -> Option<(VariantDef, bool)> {
        let entries = self.entries(path, node)?;
        let errors_before = self.errors.len();
        let mut v = VariantDef::default();
        let mut has_weight = false;
        let mut has_name = false;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "name" => {
                    has_name = true;
                    v.name = self.string(&p, e.node).unwrap_or_default();
                }
                "weight" => {
                    has_weight = true;
                    v.weight = self.weight(&p, e.node).unwrap_or_default();
                }
                "weight_type" => {
                    let t = self.string(&p, e.node).unwrap_or_default();
                    if t != "fix" && t != "variable" {
                        self.error(&p, e.node.span(), "weight_type is `fix` or `variable`");
                    }
                    v.weight_type = Some(t);
                }
                "stickiness" => v.stickiness = self.string(&p, e.node),
                "payload" => v.payload = self.payload(&p, e.node),
                "overrides" => v.overrides = self.overrides(&p, e.node).unwrap_or_default(),
                _ => self.unknown_key(path, e, names::VARIANT_KEYS),
            }
        }
        if !has_name {
            self.error(path, node.span(), "a variant needs `name`");
        }
        if !has_weight && v.weight_type.is_none() {
            v.weight_type = Some("variable".into());
        }
        (self.errors.len() == errors_before).then_some((v, has_weight))
    }

    /// A percentage with at most one decimal, as Unleash's tenths.
    fn weight(&mut self, path: &str, node: Node<'_>) -> Option<u32> {
        let pct = match (node.as_integer(), node.as_float()) {
            (Some(i), _) => i as f64,
            (None, Some(f)) => f,
            _ => {
                self.expected(path, node, "a percentage (0 to 100)");
                return None;
            }
        };
        let tenths = pct * 10.0;
        if !(0.0..=100.0).contains(&pct) {
            self.error(
                path,
                node.span(),
                format!("a variant weight is a percentage from 0 to 100, got {pct}"),
            );
            None
        } else if (tenths - tenths.round()).abs() > 1e-6 {
            self.error(
                path,
                node.span(),
                format!("a variant weight has at most one decimal, got {pct}"),
            );
            None
        } else {
            Some(tenths.round() as u32)
        }
    }

    fn payload(&mut self, path: &str, node: Node<'_>) -> Option<Payload> {
        let entries = self.entries(path, node)?;
        let mut kind = None;
        let mut value = None;
        for e in &entries {
            let p = join(path, e.key);
            match e.key {
                "type" => kind = self.string(&p, e.node).map(|k| (k, e.node.span())),
                "value" => value = self.scalar(&p, e.node),
                _ => self.unknown_key(path, e, &["type", "value"]),
            }
        }
        let (Some((kind, kind_span)), Some(value)) = (kind, value) else {
            self.error(path, node.span(), "a payload needs `type` and `value`");
            return None;
        };
        let problem = match kind.as_str() {
            "string" | "csv" => None,
            "json" => serde_json::from_str::<serde_json::Value>(&value)
                .err()
                .map(|e| format!("payload is not valid JSON: {e}")),
            "number" => value
                .trim()
                .parse::<f64>()
                .is_err()
                .then(|| format!("payload `{value}` is not a number")),
            other => {
                self.error(
                    &join(path, "type"),
                    kind_span,
                    format!("unknown payload type `{other}`; expected string, json, csv or number"),
                );
                return None;
            }
        };
        if let Some(msg) = problem {
            self.error(&join(path, "value"), node.span(), msg);
            return None;
        }
        Some(Payload { kind, value })
    }

    /// `overrides = { userId = ["u1"] }` or `[{ field = "userId", values = ["u1"] }]`.
    fn overrides(&mut self, path: &str, node: Node<'_>) -> Option<Vec<Override>> {
        let mut out = Vec::new();
        if let Some(entries) = node.entries() {
            for e in &entries {
                let values = self.scalars(&join(path, e.key), e.node)?;
                out.push(Override {
                    context_name: e.key.to_owned(),
                    values,
                });
            }
        } else if let Some(list) = node.elements() {
            for (i, el) in list.into_iter().enumerate() {
                let p = format!("{path}[{i}]");
                let entries = self.entries(&p, el)?;
                let mut o = Override::default();
                for e in &entries {
                    match e.key {
                        "field" => o.context_name = self.string(&join(&p, "field"), e.node)?,
                        "values" => o.values = self.scalars(&join(&p, "values"), e.node)?,
                        _ => self.unknown_key(&p, e, &["field", "values"]),
                    }
                }
                out.push(o);
            }
        } else {
            self.expected(path, node, "a table of field = [values]");
            return None;
        }
        Some(out)
    }

    /// `requires = "parent"` or `requires = ["a", { flag = "b", enabled = false }]`.
    fn requires(&mut self, path: &str, node: Node<'_>) -> Option<Vec<Dependency>> {
        let flag = self.flag.clone();
        let items: Vec<Node<'_>> = match node {
            Node::Array(_) | Node::Tables(_) => node.elements().unwrap_or_default(),
            _ => vec![node],
        };
        let single = !matches!(node, Node::Array(_) | Node::Tables(_));
        let mut out = Vec::new();
        let mut ok = true;
        for (i, el) in items.into_iter().enumerate() {
            let p = if single {
                path.to_owned()
            } else {
                format!("{path}[{i}]")
            };
            self.spans
                .record(&flag, format!("dependencies[{i}]"), &p, el.span());
            if let Some(name) = el.as_str() {
                out.push(Dependency {
                    feature: name.to_owned(),
                    enabled: None,
                    variants: None,
                });
                continue;
            }
            let Some(entries) = el.entries() else {
                self.expected(
                    &p,
                    el,
                    "a flag name or { flag = \"..\", enabled = .., variants = [..] }",
                );
                ok = false;
                continue;
            };
            let mut d = Dependency::default();
            let mut has_flag = false;
            for e in &entries {
                let q = join(&p, e.key);
                match e.key {
                    "flag" => {
                        has_flag = true;
                        d.feature = self.string(&q, e.node).unwrap_or_default();
                    }
                    "enabled" => d.enabled = self.boolean(&q, e.node),
                    "variants" => d.variants = self.strings(&q, e.node),
                    _ => {
                        self.unknown_key(&p, e, &["flag", "enabled", "variants"]);
                        ok = false;
                    }
                }
            }
            if !has_flag {
                self.error(
                    &p,
                    el.span(),
                    "a requirement needs `flag` (the parent's name)",
                );
                ok = false;
            }
            out.push(d);
        }
        ok.then_some(out)
    }

}

fn users_strategy(ids: String) -> Strategy {
    Strategy {
        name: "userWithId".into(),
        parameters: crate::model::Parameters::from_iter([("userIds".to_owned(), ids)]),
        ..Strategy::default()
    }
}

fn is_ip_or_net(v: &str) -> bool {
    let v = v.trim();
    v.parse::<ipnet::IpNet>().is_ok() || v.parse::<std::net::IpAddr>().is_ok()
}

fn percent_text(tenths: u32) -> String {
    if tenths % 10 == 0 {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    let key = if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.is_empty()
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// A document as read: its flags (one with an error as a stub holding its
/// name and requirements, for the engine's dependency check), where each
/// model field came from, and the errors found, in line order.
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
