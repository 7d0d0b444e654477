//! "Did you mean": the defined name nearest to a misspelt one.

/// The edit distance (insertions, deletions, substitutions) between `a`
/// and `b`, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate nearest to `name`, if near enough to be a typo: at most a
/// third of the name's length away (at least 1, at most 3 edits), ties to
/// the alphabetically first. Case differences count as one edit.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("new_chekout_flow", "new_checkout_flow"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ñandú", "nandu"), 2);
    }

    #[test]
    fn suggests_only_near_names() {
        let defined = ["new_checkout_flow", "dark_mode", "beta_search"];
        assert_eq!(
            nearest("new_chekout_flow", defined),
            Some("new_checkout_flow")
        );
        assert_eq!(nearest("dark-mode", defined), Some("dark_mode"));
        assert_eq!(nearest("ai_recommendations", defined), None);
        assert_eq!(nearest("ab", ["xy"]), None);
    }
}
