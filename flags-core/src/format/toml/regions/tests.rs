use proptest::prelude::*;

use super::*;
use crate::format::toml::parse;

const FILE: &str = "# Our flags.\n\n[a] # first\nrollout = 5 # %\n\n# B's comment.\n[b]\nusers = [\"x\"]\n[b.variants]\nblue = 50\ngreen = 50\n\n[[c.rules]]\nrollout = 10\n\n[segments.beta]\nid = 1\nwhen = { beta = true }\n\n# The end.\n";

fn feature(text: &str) -> Feature {
    parse(text, "t").unwrap().features.remove(0)
}

/// Applies a splice to the text and the regions, checking the regions
/// follow the text as a fresh scan finds them.
fn apply(text: &mut String, regions: &mut FlagRegions, splice: Splice) {
    regions.commit(&splice);
    *text = splice.into_text();
    assert_eq!(*regions, FlagRegions::of(text).unwrap(), "{text}");
}

#[test]
fn a_region_is_a_flags_tables_with_the_comments_above() {
    let r = FlagRegions::of(FILE).unwrap();
    let at = |name| &FILE[r.get(name).unwrap()];
    assert_eq!(at("a"), "# Our flags.\n\n[a] # first\nrollout = 5 # %\n");
    assert_eq!(
        at("b"),
        "\n# B's comment.\n[b]\nusers = [\"x\"]\n[b.variants]\nblue = 50\ngreen = 50\n"
    );
    assert_eq!(at("c"), "\n[[c.rules]]\nrollout = 10\n");
    assert_eq!(r.get("segments"), None);
    // New flags go before the closing comments.
    assert_eq!(&FILE[r.tail..], "\n# The end.\n");
}

#[test]
fn flags_not_written_as_one_run_of_tables_have_no_region() {
    let text = "a.rollout = 5\nd = { rollout = 1 }\n[b]\n[c]\n[b.variants]\nx = 100\n[e]\n";
    let r = FlagRegions::of(text).unwrap();
    assert_eq!(r.get("a"), None, "dotted keys at the top");
    assert_eq!(r.get("d"), None, "an inline table");
    assert_eq!(r.get("b"), None, "split by c");
    assert_eq!(&text[r.get("c").unwrap()], "[c]\n");
    assert_eq!(&text[r.get("e").unwrap()], "[e]\n");
    let set = parse(text, "t").unwrap();
    let b = set.feature("b").unwrap();
    assert!(r.splice(text, "b", Some(b), None, &[]).is_none());
    assert!(FlagRegions::of("[a").is_none());
}

#[test]
fn a_change_rewrites_only_its_flag() {
    let mut text = FILE.to_owned();
    let mut r = FlagRegions::of(&text).unwrap();
    let segs = parse(FILE, "t").unwrap().segments;
    let old = parse(FILE, "t").unwrap().feature("a").unwrap().clone();
    let mut new = old.clone();
    new.strategies[0].parameters.insert("rollout", "25");
    let s = r
        .splice(&text, "a", Some(&old), Some(&new), &segs)
        .unwrap()
        .unwrap();
    assert!(s.touched_bytes() < 200, "{}", s.touched_bytes());
    apply(&mut text, &mut r, s);
    assert_eq!(text, FILE.replace("rollout = 5 #", "rollout = 25 #"));

    // Remove b, then create d: it goes after c, before the closing comment.
    let b = parse(FILE, "t").unwrap().feature("b").unwrap().clone();
    let s = r
        .splice(&text, "b", Some(&b), None, &segs)
        .unwrap()
        .unwrap();
    apply(&mut text, &mut r, s);
    let d = feature("[d]\nwhen = { beta = true }\nenabled = false\n");
    let s = r
        .splice(&text, "d", None, Some(&d), &segs)
        .unwrap()
        .unwrap();
    apply(&mut text, &mut r, s);
    assert_eq!(
        text,
        "# Our flags.\n\n[a] # first\nrollout = 25 # %\n\n[[c.rules]]\nrollout = 10\n\n\
         [segments.beta]\nid = 1\nwhen = { beta = true }\n\n\
         [d]\nenabled = false\nwhen = { beta = true }\n\n# The end.\n"
    );
    let set = parse(&text, "t").unwrap();
    assert_eq!(set.feature("d"), Some(&d));
    // A new flag that is already in the text is not spliced.
    assert!(r.splice(&text, "a", None, Some(&d), &segs).is_none());
}

#[test]
fn an_unusual_shape_is_rewritten_whole_keeping_the_comment_above() {
    let text =
        "# top\n[a]\n[[a.rules]]\nstrategy = \"userWithId\"\nparameters = { userIds = \"x\" }\n";
    let r = FlagRegions::of(text).unwrap();
    let old = parse(text, "t").unwrap().features.remove(0);
    let new = feature("[a]\nrollout = 5\n");
    let s = r
        .splice(text, "a", Some(&old), Some(&new), &[])
        .unwrap()
        .unwrap();
    assert_eq!(s.text(), "# top\n[a]\nrollout = 5\n");
}

#[test]
fn a_file_without_a_final_newline_or_tables() {
    // The newline a new flag needs would belong to the flag above: left to
    // a whole-document edit.
    let text = "[a]\nrollout = 5".to_owned();
    let r = FlagRegions::of(&text).unwrap();
    let b = feature("[b]\n");
    assert!(r.splice(&text, "b", None, Some(&b), &[]).is_none());

    let mut text = "# no flags yet\n".to_owned();
    let mut r = FlagRegions::of(&text).unwrap();
    let s = r.splice(&text, "b", None, Some(&b), &[]).unwrap().unwrap();
    apply(&mut text, &mut r, s);
    assert_eq!(parse(&text, "t").unwrap().features, vec![b]);
}

/// The flag shapes the generated files use.
fn flag_text(name: &str, shape: u8, n: u32) -> String {
    match shape % 6 {
        0 => format!("# about {name}\n[{name}]\nrollout = {} # %\n", n % 101),
        1 => format!("[{name}]\nusers = [\"u{n}\", \"v\"]\ndescription = \"d{n}\"\n"),
        2 => format!(
            "[{name}]\nrollout = {}\nwhen = {{ country = [\"de\"] }}\n",
            n % 101
        ),
        3 => format!("[{name}]\nvariants = {{ blue = 50, green = 50 }}\n\n"),
        4 => format!(
            "\n\n[{name}]\nenabled = false # off\n[[{name}.rules]]\nrollout = {}\n",
            n % 101
        ),
        _ => format!("[{name}]\n[{name}.variants]\nx = 100\n"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Rollout(usize, u32),
    Kill(usize),
    Remove(usize),
    Create(u8, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0u32..=100).prop_map(|(i, p)| Op::Rollout(i, p)),
        any::<usize>().prop_map(Op::Kill),
        any::<usize>().prop_map(Op::Remove),
        (any::<u8>(), any::<u32>()).prop_map(|(s, n)| Op::Create(s, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any run of single-flag changes, spliced in: the text reads back as
    /// the flags the changes make, and the regions kept up to date are the
    /// regions a fresh scan of the text finds.
    #[test]
    fn spliced_changes_read_back(
        shapes in proptest::collection::vec((any::<u8>(), any::<u32>()), 0..8),
        trailing in proptest::bool::ANY,
        ops in proptest::collection::vec(op(), 1..12),
    ) {
        let mut text: String = shapes
            .iter()
            .enumerate()
            .map(|(i, (s, n))| flag_text(&format!("f{i}"), *s, *n))
            .collect();
        if trailing {
            text.push_str("\n# the end\n");
        }
        let mut set = parse(&text, "t").unwrap();
        let mut regions = FlagRegions::of(&text).unwrap();
        let mut created = 0;
        for op in ops {
            let pick = |i: usize| set.features.get(i % set.features.len().max(1)).cloned();
            let (name, new) = match op {
                Op::Rollout(i, p) => {
                    let Some(f) = pick(i) else { continue };
                    let g = feature(&format!("[{}]\nrollout = {p}\n", f.name));
                    (f.name, Some(g))
                }
                Op::Kill(i) => {
                    let Some(mut f) = pick(i) else { continue };
                    f.enabled = !f.enabled;
                    (f.name.clone(), Some(f))
                }
                Op::Remove(i) => {
                    let Some(f) = pick(i) else { continue };
                    (f.name, None)
                }
                Op::Create(s, n) => {
                    created += 1;
                    let name = format!("new{created}");
                    let g = parse(&flag_text(&name, s, n), "t").unwrap().features.remove(0);
                    (name, Some(g))
                }
            };
            let old = set.feature(&name).cloned();
            let splice = regions
                .splice(&text, &name, old.as_ref(), new.as_ref(), &[])
                .expect("every generated flag has a region")
                .unwrap();
            apply(&mut text, &mut regions, splice);
            match new {
                Some(f) => set.upsert(f),
                None => set.features.retain(|f| f.name != name),
            }
            let back = parse(&text, "t").unwrap();
            prop_assert_eq!(&back.features, &set.features, "{}", text);
            if trailing {
                prop_assert!(text.ends_with("\n# the end\n"), "{}", text);
            }
        }
    }
}
