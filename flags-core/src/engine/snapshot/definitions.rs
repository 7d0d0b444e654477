//! Reading a [`Snapshot`]'s definitions back: its version and size, each
//! flag's definition as loaded, its segments, the whole set as a model.
//! Definitions are decoded on each call (`feature`, `features`,
//! `to_flag_set`): those are for tools (admin API, stores, exports), not
//! request paths.

use std::sync::Arc;

use super::Snapshot;
use crate::model::{Feature, FlagSet, Segment};

/// # Reading the definitions
impl Snapshot {
    /// Returns this snapshot with `version` set.
    // Hidden: only `flags-middleware`'s writer stamps versions; a user
    // compiling a snapshot has no version to give it.
    #[doc(hidden)]
    #[must_use]
    pub fn with_version(mut self, version: u64) -> Snapshot {
        self.version = version;
        self
    }

    /// The version of the flag set (bumped by every accepted change).
    ///
    /// ```
    /// use flags_core::{engine::{Change, Mode}, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[a]\n", "flags.toml").unwrap();
    /// let compiled = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// assert_eq!(compiled.version(), 0); // a store stamps the versions it serves
    /// let changed = compiled.apply(&[Change::Remove("a".into())], Mode::Strict, "x").unwrap();
    /// assert_eq!(changed.version(), 0);
    /// ```
    pub fn version(&self) -> u64 {
        self.version
    }

    /// How many flags there are.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[a]\n[b]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// assert_eq!((snapshot.len(), snapshot.is_empty()), (2, false));
    /// assert!(Snapshot::default().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether there are no flags.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// assert!(Snapshot::default().is_empty());
    /// let set = toml::parse("[a]\n", "flags.toml").unwrap();
    /// assert!(!Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The definition of the flag `name`, as it was loaded.
    ///
    /// Definitions are stored compactly and decoded on each call, so this
    /// is for tools (admin API, stores), not for request paths.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[a]\nrollout = 20\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let a = snapshot.feature("a").unwrap();
    /// assert_eq!(a, set.features[0]);
    /// assert_eq!(a.rollout_percent(), Some(20));
    /// assert!(snapshot.feature("b").is_none());
    /// ```
    pub fn feature(&self, name: &str) -> Option<Feature> {
        self.flag_by_name(name).map(|f| f.feature())
    }

    /// Every flag's definition, in no particular order (decoded one by one,
    /// like [`Snapshot::feature`]).
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[a]\nrollout = 20\n[b]\nenabled = false\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let mut off: Vec<String> = snapshot.features().filter(|f| !f.enabled).map(|f| f.name).collect();
    /// off.sort(); // no particular order
    /// assert_eq!(off, ["b"]);
    /// ```
    pub fn features(&self) -> impl Iterator<Item = Feature> + '_ {
        self.flags.iter().map(|f| f.feature())
    }

    /// Every flag's name, in no particular order (no decoding).
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[b]\n[a]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let mut names: Vec<&str> = snapshot.names().collect();
    /// names.sort();
    /// assert_eq!(names, ["a", "b"]);
    /// assert_eq!(snapshot.features().count(), 2);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| f.name())
    }

    /// The definitions that ask for the rollout guard (`guard` or `plan`),
    /// decoded; the others are skipped without decoding.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[a]\nguard = true\n[b]\n", "flags.toml").unwrap();
    /// let snapshot = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap();
    /// let names: Vec<_> = snapshot.guarded_features().map(|f| f.name).collect();
    /// assert_eq!(names, ["a"]);
    /// ```
    // Hidden: `flags-middleware`'s guard follows these; nothing else needs
    // them, and they are public only because that crate is another crate.
    #[doc(hidden)]
    pub fn guarded_features(&self) -> impl Iterator<Item = Feature> + '_ {
        self.flags.iter().filter(|f| f.guarded).map(|f| f.feature())
    }

    /// Whether flag `name` has the same definition here and in `other`
    /// (also when it is in neither), without decoding either.
    // Hidden: `flags-middleware`'s audit log uses it to find what a change
    // touched; public only because that crate is another crate.
    #[doc(hidden)]
    pub fn same_feature(&self, other: &Snapshot, name: &str) -> bool {
        match (self.flag_by_name(name), other.flag_by_name(name)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.packed() == b.packed(),
            (None, None) => true,
            _ => false,
        }
    }

    /// The segments, in no particular order.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let text = "[segments.staff]\nwhen = { email = { op = \"ends_with\", values = [\"@acme.com\"] } }\n";
    /// let snapshot = Snapshot::compile(&toml::parse(text, "flags.toml").unwrap(), Mode::Strict, "x").unwrap();
    /// let staff = snapshot.segments().next().unwrap();
    /// assert_eq!(staff.name.as_deref(), Some("staff"));
    /// assert_eq!(staff.constraints[0].operator, "STR_ENDS_WITH");
    /// ```
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.values().map(|(s, _)| s)
    }

    /// The whole set back as a model, flags sorted by name.
    ///
    /// ```
    /// use flags_core::{engine::Mode, format::toml, Snapshot};
    ///
    /// let set = toml::parse("[b]\nrollout = 5\n[a]\n", "flags.toml").unwrap();
    /// let back = Snapshot::compile(&set, Mode::Strict, "flags.toml").unwrap().to_flag_set();
    /// let names: Vec<&str> = back.features.iter().map(|f| f.name.as_str()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// assert_eq!(back.feature("b"), set.feature("b"));
    /// ```
    pub fn to_flag_set(&self) -> FlagSet {
        let mut features: Vec<Feature> = self.features().collect();
        features.sort_by(|a, b| a.name.cmp(&b.name));
        let mut segments: Vec<Segment> = self.segments().cloned().collect();
        segments.sort_by_key(|s| s.id);
        FlagSet {
            version: 2,
            features,
            segments,
        }
    }
}
