//! Constraints, compiled: operands are parsed once (numbers, dates, semver,
//! regexes, sets), so evaluation only compares.

use chrono::{DateTime, Utc};
use foldhash::HashSet;
use regex::Regex;
use semver::Version;

use super::field::Field;
use crate::model::Constraint;
use crate::typed::{parse_date, parse_number, parse_semver};
use crate::Context;

/// A constraint ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct CompiledConstraint {
    field: Field,
    op: Op,
    inverted: bool,
}

#[derive(Debug, Clone)]
enum Op {
    In(Set),
    NotIn(Set),
    /// STR_* operators; case-insensitive ones are compiled into a regex.
    StrContains(Vec<Box<str>>),
    StrStartsWith(Vec<Box<str>>),
    StrEndsWith(Vec<Box<str>>),
    StrRegex(Regex),
    Num(NumOp, f64),
    DateAfter(DateTime<Utc>),
    DateBefore(DateTime<Utc>),
    Semver(SemverOp, Version),
    Regex(Regex),
    /// IN_CIDR: addresses and networks; invalid entries are skipped.
    Cidr(Vec<ipnet::IpNet>),
    /// An operator or operand this version cannot evaluate: never matches.
    Never,
}

#[derive(Debug, Clone, Copy)]
enum NumOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy)]
enum SemverOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Set membership; a hash set once the list is long enough to pay for it.
#[derive(Debug, Clone)]
enum Set {
    Small(Vec<Box<str>>),
    Large(HashSet<Box<str>>),
}

impl Set {
    fn new(values: Vec<Box<str>>) -> Set {
        if values.len() <= 8 {
            Set::Small(values)
        } else {
            Set::Large(values.into_iter().collect())
        }
    }

    #[inline]
    fn contains(&self, value: &str) -> bool {
        match self {
            Set::Small(values) => values.iter().any(|v| &**v == value),
            Set::Large(values) => values.contains(value),
        }
    }
}

/// A problem with a constraint's operand, found at load time.
#[derive(Debug, Clone)]
pub(crate) struct ConstraintIssue {
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

impl CompiledConstraint {
    /// Compiles `c`. Problems are returned beside a constraint that never
    /// matches, so lenient sources (Unleash JSON) still load and strict ones
    /// (TOML, admin API) can reject the change.
    pub(crate) fn compile(c: &Constraint) -> (CompiledConstraint, Option<ConstraintIssue>) {
        let (op, issue) = match compile_op(c) {
            Ok(op) => (op, None),
            Err(issue) => (Op::Never, Some(issue)),
        };
        let compiled = CompiledConstraint {
            field: Field::parse(&c.context_name),
            op,
            inverted: c.inverted,
        };
        (compiled, issue)
    }

    /// Whether the constraint holds for `ctx`.
    #[inline]
    pub(crate) fn matches(&self, ctx: &Context) -> bool {
        let result = match (&self.op, &self.field) {
            (Op::Never, _) => return false,
            // Dates compare the pinned time, or now when none is pinned.
            (Op::DateAfter(at), Field::CurrentTime) => now(ctx) > *at,
            (Op::DateBefore(at), Field::CurrentTime) => now(ctx) < *at,
            (Op::Num(op, operand), field) => {
                field.number(ctx).is_some_and(|v| op.holds(v, *operand))
            }
            (Op::Semver(op, operand), field) => field
                .with_semver(ctx, |v| op.holds(v.cmp_precedence(operand)))
                .unwrap_or(false),
            _ => match self.field.get(ctx) {
                Some(value) => self.op.eval(value),
                // A missing field is in no set, so NOT_IN holds.
                None => matches!(self.op, Op::NotIn(_)),
            },
        };
        result != self.inverted
    }
}

fn now(ctx: &Context) -> DateTime<Utc> {
    ctx.current_time.unwrap_or_else(Utc::now)
}

impl Op {
    #[inline]
    fn eval(&self, value: &str) -> bool {
        match self {
            Op::In(set) => set.contains(value),
            Op::NotIn(set) => !set.contains(value),
            Op::StrContains(vs) => vs.iter().any(|v| value.contains(&**v)),
            Op::StrStartsWith(vs) => vs.iter().any(|v| value.starts_with(&**v)),
            Op::StrEndsWith(vs) => vs.iter().any(|v| value.ends_with(&**v)),
            Op::StrRegex(re) | Op::Regex(re) => re.is_match(value),
            Op::Num(op, operand) => parse_number(value).is_some_and(|v| op.holds(v, *operand)),
            Op::DateAfter(at) => parse_date(value).is_some_and(|v| v > *at),
            Op::DateBefore(at) => parse_date(value).is_some_and(|v| v < *at),
            Op::Semver(op, operand) => {
                parse_semver(value).is_some_and(|v| op.holds(v.cmp_precedence(operand)))
            }
            Op::Cidr(nets) => match value.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => nets.iter().any(|n| n.contains(&ip)),
                Err(_) => false,
            },
            Op::Never => false,
        }
    }
}

/// An address or a network (`10.0.0.0/8`, `::1`); an address is a /32 or /128.
pub(crate) fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

fn issue(field: &'static str, message: impl Into<String>) -> ConstraintIssue {
    ConstraintIssue {
        field,
        message: message.into(),
    }
}

/// A list operator's operands, exactly as written: Unleash's engines neither
/// trim them nor drop empty ones, so `""` is an operand like any other (and
/// `STR_CONTAINS [""]` holds for every present value, as `"abc".includes("")`
/// does in the Node SDK).
fn list_values(c: &Constraint) -> Vec<Box<str>> {
    c.values.iter().map(|v| Box::from(v.as_str())).collect()
}

/// The single operand: `value`, or the first of `values`.
fn single_value(c: &Constraint) -> Result<&str, ConstraintIssue> {
    c.value
        .as_deref()
        .or_else(|| c.values.first().map(String::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| issue("value", format!("operator {} needs a value", c.operator)))
}

fn compile_op(c: &Constraint) -> Result<Op, ConstraintIssue> {
    let ci = c.case_insensitive;
    let op = match c.operator.as_str() {
        // Unleash ignores `caseInsensitive` on set operators.
        "IN" => Op::In(Set::new(list_values(c))),
        "NOT_IN" => Op::NotIn(Set::new(list_values(c))),
        "IN_CIDR" => Op::Cidr(c.values.iter().filter_map(|v| parse_net(v)).collect()),
        "STR_CONTAINS" | "STR_STARTS_WITH" | "STR_ENDS_WITH" => {
            let values = list_values(c);
            if ci {
                let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
                let body = format!("(?:{})", alternatives.join("|"));
                let pattern = match c.operator.as_str() {
                    "STR_CONTAINS" => format!("(?i){body}"),
                    "STR_STARTS_WITH" => format!("(?i)^{body}"),
                    _ => format!("(?i){body}$"),
                };
                if values.is_empty() {
                    Op::Never
                } else {
                    Op::StrRegex(Regex::new(&pattern).map_err(|e| issue("values", e.to_string()))?)
                }
            } else {
                match c.operator.as_str() {
                    "STR_CONTAINS" => Op::StrContains(values),
                    "STR_STARTS_WITH" => Op::StrStartsWith(values),
                    _ => Op::StrEndsWith(values),
                }
            }
        }
        "NUM_EQ" | "NUM_GT" | "NUM_GTE" | "NUM_LT" | "NUM_LTE" => {
            let text = single_value(c)?;
            let n: f64 = text
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| issue("value", format!("`{text}` is not a number")))?;
            let op = match c.operator.as_str() {
                "NUM_EQ" => NumOp::Eq,
                "NUM_GT" => NumOp::Gt,
                "NUM_GTE" => NumOp::Gte,
                "NUM_LT" => NumOp::Lt,
                _ => NumOp::Lte,
            };
            Op::Num(op, n)
        }
        "DATE_AFTER" | "DATE_BEFORE" => {
            let text = single_value(c)?;
            let at = parse_date(text).ok_or_else(|| {
                issue(
                    "value",
                    format!("`{text}` is not a date (use RFC 3339, e.g. 2026-01-31T12:00:00Z)"),
                )
            })?;
            if c.operator == "DATE_AFTER" {
                Op::DateAfter(at)
            } else {
                Op::DateBefore(at)
            }
        }
        "SEMVER_EQ" | "SEMVER_GT" | "SEMVER_GTE" | "SEMVER_LT" | "SEMVER_LTE" => {
            let text = single_value(c)?;
            let v = parse_semver(text).ok_or_else(|| {
                issue(
                    "value",
                    format!("`{text}` is not a semantic version (MAJOR.MINOR.PATCH)"),
                )
            })?;
            let op = match c.operator.as_str() {
                "SEMVER_EQ" => SemverOp::Eq,
                "SEMVER_GT" => SemverOp::Gt,
                "SEMVER_GTE" => SemverOp::Gte,
                "SEMVER_LT" => SemverOp::Lt,
                _ => SemverOp::Lte,
            };
            Op::Semver(op, v)
        }
        "REGEX" => {
            let text = c
                .value
                .as_deref()
                .or_else(|| c.values.first().map(String::as_str))
                .ok_or_else(|| issue("value", "operator REGEX needs a pattern"))?;
            let pattern = if ci {
                format!("(?i){text}")
            } else {
                text.to_owned()
            };
            Op::Regex(
                Regex::new(&pattern)
                    .map_err(|e| issue("value", format!("`{text}` is not a valid regex: {e}")))?,
            )
        }
        other => return Err(issue("operator", format!("unknown operator `{other}`"))),
    };
    Ok(op)
}

impl NumOp {
    #[inline]
    fn holds(self, v: f64, operand: f64) -> bool {
        match self {
            NumOp::Eq => (v - operand).abs() < f64::EPSILON,
            NumOp::Gt => v > operand,
            NumOp::Gte => v >= operand,
            NumOp::Lt => v < operand,
            NumOp::Lte => v <= operand,
        }
    }
}

impl SemverOp {
    #[inline]
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        match self {
            SemverOp::Eq => ord.is_eq(),
            SemverOp::Gt => ord.is_gt(),
            SemverOp::Gte => ord.is_ge(),
            SemverOp::Lt => ord.is_lt(),
            SemverOp::Lte => ord.is_le(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(field: &str, op: &str, values: &[&str], value: Option<&str>) -> Constraint {
        Constraint {
            context_name: field.into(),
            operator: op.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            value: value.map(Into::into),
            ..Default::default()
        }
    }

    fn eval(con: &Constraint, ctx: &Context) -> bool {
        CompiledConstraint::compile(con).0.matches(ctx)
    }

    #[test]
    fn every_listed_operator_is_known() {
        for op in crate::model::OPERATORS {
            let issue = CompiledConstraint::compile(&c("x", op, &["1"], Some("1"))).1;
            assert!(
                !issue.is_some_and(|i| i.field == "operator"),
                "{op} is listed but unknown"
            );
        }
        let unknown = CompiledConstraint::compile(&c("x", "BOGUS", &["1"], None)).1;
        assert_eq!(unknown.map(|i| i.field), Some("operator"));
    }

    #[test]
    fn operators_table() {
        let ctx = Context::new()
            .property("version", "1.2.3")
            .property("pre", "2.0.0-beta.2")
            .property("n", "42")
            .property("email", "Ann@Example.com")
            .user_id("u1");
        let cases: &[(Constraint, bool)] = &[
            (c("userId", "IN", &["u1", "u2"], None), true),
            (c("userId", "NOT_IN", &["u1"], None), false),
            (c("missing", "NOT_IN", &["u1"], None), true),
            (c("missing", "IN", &["u1"], None), false),
            (c("n", "NUM_EQ", &[], Some("42")), true),
            (c("n", "NUM_GT", &[], Some("41.5")), true),
            (c("n", "NUM_LT", &[], Some("42")), false),
            (c("n", "NUM_LTE", &[], Some("42")), true),
            (c("version", "SEMVER_EQ", &[], Some("1.2.3")), true),
            (c("version", "SEMVER_GTE", &[], Some("1.2.3")), true),
            (c("version", "SEMVER_LTE", &[], Some("1.2.2")), false),
            (c("pre", "SEMVER_LT", &[], Some("2.0.0")), true),
            (c("pre", "SEMVER_GT", &[], Some("2.0.0-beta.1")), true),
            (c("email", "STR_ENDS_WITH", &["@example.com"], None), false),
            (c("email", "REGEX", &[], Some("^ann@")), false),
        ];
        for (i, (con, want)) in cases.iter().enumerate() {
            assert_eq!(eval(con, &ctx), *want, "case {i}: {con:?}");
        }
        let mut ci = c("email", "STR_ENDS_WITH", &["@example.com"], None);
        ci.case_insensitive = true;
        assert!(eval(&ci, &ctx));
        let mut re = c("email", "REGEX", &[], Some("^ann@"));
        re.case_insensitive = true;
        assert!(eval(&re, &ctx));
    }

    #[test]
    fn a_changed_property_is_parsed_again() {
        let newer = CompiledConstraint::compile(&c("v", "SEMVER_GT", &[], Some("2.0.0"))).0;
        let many = CompiledConstraint::compile(&c("v", "NUM_GT", &[], Some("10"))).0;
        let mut ctx = Context::new().property("v", "1.0.0");
        assert!(!newer.matches(&ctx));
        assert!(!many.matches(&ctx));
        let mut copy = ctx.clone();
        ctx.set("v", "3.0.0");
        assert!(newer.matches(&ctx));
        copy.set("v", "11");
        assert!(many.matches(&copy));
        assert!(!newer.matches(&copy));
        // A standard field is parsed where it is read.
        let env = CompiledConstraint::compile(&c("environment", "NUM_LT", &[], Some("3"))).0;
        assert!(env.matches(&Context::new().environment("2")));
    }

    #[test]
    fn bad_operands_are_issues_and_never_match() {
        for con in [
            c("n", "NUM_EQ", &[], Some("forty")),
            c("v", "SEMVER_EQ", &[], Some("1.2")),
            c("t", "DATE_AFTER", &[], Some("yesterday")),
            c("x", "REGEX", &[], Some("(unclosed")),
            c("x", "NOT_A_VALID_OPERATOR", &["a"], None),
        ] {
            let (compiled, issue) = CompiledConstraint::compile(&con);
            assert!(issue.is_some(), "{con:?}");
            assert!(!compiled.matches(&Context::new().property("x", "a")));
        }
    }

    #[test]
    fn dates_use_the_pinned_time() {
        let at = parse_date("2026-01-01T00:00:00Z").unwrap();
        let con = c(
            "currentTime",
            "DATE_AFTER",
            &[],
            Some("2025-12-31T23:59:59.999Z"),
        );
        assert!(eval(&con, &Context::new().current_time(at)));
        let before = c(
            "currentTime",
            "DATE_BEFORE",
            &[],
            Some("2025-12-31T23:59:59Z"),
        );
        assert!(!eval(&before, &Context::new().current_time(at)));
    }
}
