//! Target `evaluate`: random callers asking for random flag names of the
//! mixed flag set (`mixed.toml`). Oracle: no panic, and the entry points
//! agree (`is_enabled`, `variant`, `evaluate`, `evaluate_all`) whenever no
//! random roll decided.

use arbitrary::{Arbitrary, Unstructured};
use flags_core::{Context, Snapshot, Variant};

use crate::caller::{Caller, Text};
use crate::mixed;

/// A flag name: mostly one of the set's, sometimes anything.
#[derive(Debug, Arbitrary)]
pub enum FlagName {
    /// The set's flag `i % len`.
    Known(u8),
    /// Any name (unknown flags must be off, with no variant).
    Free(Text),
}

/// One fuzz input: a caller and the flags it asks for.
#[derive(Debug, Arbitrary)]
pub struct Input {
    /// Who is asking.
    pub caller: Caller,
    /// What for, in order.
    pub flags: Vec<FlagName>,
}

/// The target: `data` read as an [`Input`] as libFuzzer's
/// `fuzz_target!(|input: Input| ..)` would.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let snap = mixed::snapshot();
    let names = mixed::names();
    let ctx = input.caller.context();
    for flag in &input.flags {
        let name = match flag {
            FlagName::Known(i) => names[usize::from(*i) % names.len()].as_str(),
            FlagName::Free(t) => t.as_str(),
        };
        check(snap, name, &ctx);
    }
    check_all(snap, &ctx);
}

/// Evaluates `name` for `ctx` every way there is and checks that the
/// answers agree; panics when they do not.
pub fn check(snap: &Snapshot, name: &str, ctx: &Context) {
    let eval = snap.evaluate(name, ctx);
    let on = snap.is_enabled(name, ctx);
    let variant = snap.variant(name, ctx);
    assert_variant_shape(name, &variant);
    assert_variant_shape(name, &eval.variant);
    assert!(
        eval.enabled || !eval.variant.enabled,
        "flag `{name}`: a variant for a flag that is off"
    );
    if snap.lookup(name).is_none() {
        assert!(
            !on && !eval.enabled && !variant.enabled,
            "unknown flag `{name}` is on"
        );
        return;
    }
    if rolled(snap, name, ctx) {
        return;
    }
    assert_eq!(on, eval.enabled, "flag `{name}`: is_enabled vs evaluate");
    assert_eq!(
        variant.feature_enabled, eval.enabled,
        "flag `{name}`: variant().feature_enabled vs evaluate"
    );
    assert_eq!(
        variant.name, eval.variant.name,
        "flag `{name}`: variant vs evaluate"
    );
}

/// `evaluate_all` agrees with `evaluate`, flag by flag.
pub fn check_all(snap: &Snapshot, ctx: &Context) {
    for all in snap.evaluate_all(ctx) {
        assert_variant_shape(all.key, &all.variant);
        if rolled(snap, all.key, ctx) {
            continue;
        }
        let one = snap.evaluate(all.key, ctx);
        assert_eq!(
            (all.enabled, all.variant.name),
            (one.enabled, one.variant.name),
            "flag `{}`: evaluate_all vs evaluate",
            all.key
        );
    }
}

fn assert_variant_shape(name: &str, v: &Variant<'_>) {
    assert!(
        !v.enabled || v.feature_enabled,
        "flag `{name}`: variant `{}` is enabled on a flag that is off",
        v.name
    );
    assert!(
        v.enabled || v.name == Variant::DISABLED_NAME,
        "flag `{name}`: no variant, but named `{}`",
        v.name
    );
}

/// Whether a random roll may have decided `name` for `ctx`: its own
/// (`random`), or a parent's, which the child's `random` does not show.
fn rolled(snap: &Snapshot, name: &str, ctx: &Context) -> bool {
    if snap.evaluate(name, ctx).random {
        return true;
    }
    snap.feature(name).is_some_and(|f| {
        f.dependencies
            .iter()
            .any(|d| snap.evaluate(&d.feature, ctx).random)
    })
}
