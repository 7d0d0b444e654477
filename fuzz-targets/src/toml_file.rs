//! Target `toml_file`: the TOML reader on any text. For text that loads:
//! the writer's round trip (`parse(write(set)) == set`), the admin API's
//! JSON shape of each flag reads back as the same flag, the compiled
//! snapshot gives each definition back unchanged, and evaluating it with a
//! few callers is consistent.

use flags_core::format::toml;

use crate::{caller, evaluate};

/// The target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (set, snap) = match toml::parse_compiled(text, "fuzz.toml") {
        Ok(loaded) => loaded,
        Err(e) => {
            assert!(!e.errors().is_empty(), "an error that says nothing");
            let _ = e.to_string();
            return;
        }
    };
    let written = toml::write(&set)
        .unwrap_or_else(|e| panic!("a set that loads does not write: {e}\n--- input:\n{text}"));
    let again = toml::parse(&written, "written.toml").unwrap_or_else(|e| {
        panic!("the written set does not load: {e}\n--- input:\n{text}\n--- written:\n{written}")
    });
    assert_eq!(
        again, set,
        "the round trip changed the set\n--- input:\n{text}\n--- written:\n{written}"
    );
    for f in &set.features {
        let json = toml::feature_to_json(f, &set.segments)
            .unwrap_or_else(|e| panic!("flag `{}` has no JSON shape: {e}", f.name));
        let back = toml::feature_from_json(&f.name, &json.to_string(), &set.segments, "fuzz")
            .unwrap_or_else(|e| panic!("flag `{}`'s JSON shape {json} does not read: {e}", f.name));
        assert_eq!(&back, f, "flag `{}`: JSON shape {json}", f.name);
        assert_eq!(
            snap.feature(&f.name).as_ref(),
            Some(f),
            "the snapshot changed flag `{}`",
            f.name
        );
    }
    for ctx in caller::fixed() {
        for f in &set.features {
            evaluate::check(&snap, &f.name, &ctx);
        }
        evaluate::check_all(&snap, &ctx);
    }
}
