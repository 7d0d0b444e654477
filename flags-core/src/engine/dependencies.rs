//! The load-time checks on flag dependencies (`requires` in TOML,
//! `dependencies` in Unleash's JSON), in one place for every source: each
//! parent exists, no flag depends on itself directly or round a cycle, and
//! a parent has no parents of its own (Unleash evaluates one level).
//!
//! Text formats do not repeat these checks; they map the errors, which name
//! the model path `dependencies[i].feature`, back to what the user wrote.

use std::collections::{HashMap, HashSet};

use super::compile::CompiledDep;
use crate::error::LoadError;

/// Checks the dependencies of `flags` (name and dependencies, in the order
/// errors should come in) against the whole set, which `parents` looks up:
/// a flag's dependencies, or `None` when there is no such flag.
///
/// A cycle is reported once, at the flag where a depth-first walk from
/// `flags`, in their order, first enters it, on the requirement that starts
/// it; its other requirements are not also reported as "one level".
pub(crate) fn check<'g>(
    flags: &[(&'g str, &'g [CompiledDep])],
    parents: impl Fn(&str) -> Option<&'g [CompiledDep]>,
    source: &str,
) -> Vec<LoadError> {
    let cycles = find_cycles(flags, &parents);
    let starts: HashMap<(&str, usize), &Cycle<'_>> =
        cycles.iter().map(|c| (c.edges[0], c)).collect();
    let on_cycle: HashSet<(&str, usize)> = cycles
        .iter()
        .flat_map(|c| c.edges.iter().copied())
        .collect();
    let mut errors = Vec::new();
    for &(name, deps) in flags {
        for (i, d) in deps.iter().enumerate() {
            let parent = &*d.parent;
            let message = if parent == name {
                "a flag cannot depend on itself (dependency cycle)".to_owned()
            } else if let Some(cycle) = starts.get(&(name, i)) {
                format!("dependency cycle: {}", cycle.path.join(" -> "))
            } else if on_cycle.contains(&(name, i)) {
                continue;
            } else {
                match parents(parent) {
                    None => format!("unknown parent flag `{parent}`"),
                    Some(grand) if !grand.is_empty() => {
                        format!(
                            "parent `{parent}` has dependencies itself; Unleash allows one level"
                        )
                    }
                    Some(_) => continue,
                }
            };
            errors.push(
                LoadError::new(source, message)
                    .flag(name)
                    .field(format!("dependencies[{i}].feature")),
            );
        }
    }
    errors
}

/// A cycle: the flags round it (the first again at the end), and each
/// requirement on it as (flag, index into its dependencies), the first one
/// starting it.
struct Cycle<'g> {
    path: Vec<&'g str>,
    edges: Vec<(&'g str, usize)>,
}

/// The cycles a depth-first walk from `flags` meets (each back edge closes
/// one), without recursion: a long chain of flags must not overflow the stack.
fn find_cycles<'g>(
    flags: &[(&'g str, &'g [CompiledDep])],
    parents: &impl Fn(&str) -> Option<&'g [CompiledDep]>,
) -> Vec<Cycle<'g>> {
    #[derive(PartialEq)]
    enum Walk {
        /// On the current path.
        Open,
        /// Done: every flag it reaches has been walked.
        Done,
    }
    let mut state: HashMap<&str, Walk> = HashMap::new();
    let mut cycles = Vec::new();
    for &(start, deps) in flags {
        if deps.is_empty() || state.contains_key(start) {
            continue;
        }
        state.insert(start, Walk::Open);
        // (flag, its dependencies, the next one to follow)
        let mut path: Vec<(&'g str, &'g [CompiledDep], usize)> = vec![(start, deps, 0)];
        while let Some(top) = path.last_mut() {
            let (name, deps, next) = (top.0, top.1, top.2);
            let Some(d) = deps.get(next) else {
                state.insert(name, Walk::Done);
                path.pop();
                continue;
            };
            top.2 += 1;
            let parent = &*d.parent;
            if parent == name {
                continue; // depending on itself: reported on its own
            }
            match state.get(parent) {
                Some(Walk::Open) => {
                    let from = path.iter().position(|e| e.0 == parent).unwrap_or(0);
                    let round = &path[from..];
                    // Every entry on the path is following dependency `next - 1`.
                    cycles.push(Cycle {
                        path: round.iter().map(|e| e.0).chain([parent]).collect(),
                        edges: round.iter().map(|e| (e.0, e.2 - 1)).collect(),
                    });
                }
                Some(Walk::Done) => {}
                None => {
                    if let Some(grand) = parents(parent) {
                        state.insert(parent, Walk::Open);
                        path.push((parent, grand, 0));
                    }
                }
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use crate::engine::{Mode, Snapshot};
    use crate::model::{Dependency, Feature, FlagSet};

    /// Errors (flag, field, message) for flags named with their parents.
    fn check(flags: &[(&str, &[&str])]) -> Vec<(String, String, String)> {
        let set = FlagSet {
            version: 2,
            features: flags
                .iter()
                .map(|(name, parents)| Feature {
                    name: (*name).to_owned(),
                    enabled: true,
                    dependencies: parents
                        .iter()
                        .map(|p| Dependency {
                            feature: (*p).to_owned(),
                            ..Dependency::default()
                        })
                        .collect(),
                    ..Feature::default()
                })
                .collect(),
            segments: vec![],
        };
        match Snapshot::compile(&set, Mode::Strict, "t") {
            Ok(_) => vec![],
            Err(e) => e
                .into_iter()
                .map(|e| (e.flag.unwrap(), e.field.unwrap(), e.message))
                .collect(),
        }
    }

    fn err(flag: &str, field: &str, message: &str) -> (String, String, String) {
        (flag.to_owned(), field.to_owned(), message.to_owned())
    }

    #[test]
    fn one_level_of_known_parents_passes() {
        assert_eq!(check(&[("a", &[]), ("b", &["a"]), ("c", &["a"])]), []);
    }

    #[test]
    fn unknown_parents_and_self_dependencies() {
        assert_eq!(
            check(&[("a", &["nope"]), ("b", &["b"])]),
            [
                err("a", "dependencies[0].feature", "unknown parent flag `nope`"),
                err(
                    "b",
                    "dependencies[0].feature",
                    "a flag cannot depend on itself (dependency cycle)"
                ),
            ]
        );
    }

    #[test]
    fn a_cycle_is_reported_once_at_its_first_flag() {
        assert_eq!(
            check(&[("x", &["y"]), ("y", &["x"])]),
            [err(
                "x",
                "dependencies[0].feature",
                "dependency cycle: x -> y -> x"
            )]
        );
        assert_eq!(
            check(&[
                ("a", &["ok", "b"]),
                ("b", &["c"]),
                ("c", &["a"]),
                ("ok", &[])
            ]),
            [err(
                "a",
                "dependencies[1].feature",
                "dependency cycle: a -> b -> c -> a"
            )]
        );
    }

    #[test]
    fn a_flag_leading_into_a_cycle_breaks_the_one_level_rule() {
        assert_eq!(
            check(&[("a", &["b"]), ("b", &["a"]), ("z", &["a"])]),
            [
                err(
                    "a",
                    "dependencies[0].feature",
                    "dependency cycle: a -> b -> a"
                ),
                err(
                    "z",
                    "dependencies[0].feature",
                    "parent `a` has dependencies itself; Unleash allows one level"
                ),
            ]
        );
    }

    #[test]
    fn a_long_chain_is_walked_without_recursion() {
        let names: Vec<String> = (0..30_000).map(|i| format!("f{i}")).collect();
        let parents: Vec<[&str; 1]> = names.iter().skip(1).map(|n| [n.as_str()]).collect();
        let mut flags: Vec<(&str, &[&str])> = names
            .iter()
            .zip(&parents)
            .map(|(n, p)| (n.as_str(), &p[..]))
            .collect();
        // The last closes the chain into a cycle of 30,000 flags.
        let last = [names[0].as_str()];
        flags.push((names[29_999].as_str(), &last));
        let got = check(&flags);
        assert_eq!(got.len(), 1);
        assert!(got[0].2.starts_with("dependency cycle: f0 -> f1 -> "));
        assert!(got[0].2.ends_with(" -> f29999 -> f0"));
    }
}
