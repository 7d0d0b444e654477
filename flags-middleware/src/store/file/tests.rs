use super::*;

fn store_with(text: &str) -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, text).unwrap();
    let store = FileStore::open(&path).unwrap();
    (dir, store)
}

fn killed(store: &FileStore, name: &str) -> Change {
    let mut f = store.flag_set().feature(name).unwrap().clone();
    f.enabled = false;
    Change::Upsert(f)
}

#[test]
fn a_change_keeps_comments_and_layout() {
    let text = "# Our flags.\n\n[new_checkout_flow]\ndescription = \"New checkout\"  # why\nrollout = 20   # % of users\n\n# The old API.\n[legacy_api]\n";
    let (_dir, store) = store_with(text);
    let mut f = store
        .flag_set()
        .feature("new_checkout_flow")
        .unwrap()
        .clone();
    f.strategies[0].parameters.insert("rollout", "25");
    store.inner.apply(&[Change::Upsert(f)]).unwrap();
    let after = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(after, text.replace("rollout = 20", "rollout = 25"));

    store.inner.apply(&[killed(&store, "legacy_api")]).unwrap();
    let after = std::fs::read_to_string(store.path()).unwrap();
    assert!(
        after.ends_with("# The old API.\n[legacy_api]\nenabled = false\n"),
        "{after}"
    );
    assert!(after.starts_with("# Our flags.\n"));
}

#[cfg(unix)]
#[test]
fn a_linked_flags_file_is_written_through_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, app) = (dir.path().join("repo"), dir.path().join("app"));
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(repo.join("flags.toml"), "[legacy_api]\n").unwrap();
    let link = app.join("flags.toml");
    std::os::unix::fs::symlink(repo.join("flags.toml"), &link).unwrap();
    let store = FileStore::open(&link).unwrap();
    store.inner.apply(&[killed(&store, "legacy_api")]).unwrap();
    // Still a link, and the change is in its target.
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(repo.join("flags.toml")).unwrap(),
        "[legacy_api]\nenabled = false\n"
    );
    // No temporary file left in either directory.
    for d in [&repo, &app] {
        let names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );
    }
}

#[test]
fn enabling_again_flips_the_users_line() {
    let (_dir, store) = store_with("[a]\nenabled = false # off for now\n");
    let mut f = store.flag_set().feature("a").unwrap().clone();
    f.enabled = true;
    store.inner.apply(&[Change::Upsert(f)]).unwrap();
    assert_eq!(
        std::fs::read_to_string(store.path()).unwrap(),
        "[a]\nenabled = true # off for now\n"
    );
}

#[test]
fn create_and_delete_touch_only_their_table() {
    let (_dir, store) = store_with("[a] # keep\nrollout = 5\n\n[b]\nusers = [\"x\"]\n");
    let new = crate::format::toml::parse("[c]\nwhen = { beta = true }\n", "x").unwrap();
    store
        .inner
        .apply(&[
            Change::Upsert(new.features[0].clone()),
            Change::Remove("b".into()),
        ])
        .unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(
        text,
        "[a] # keep\nrollout = 5\n\n[c]\nwhen = { beta = true }\n"
    );
}

#[test]
fn a_hand_edit_not_yet_loaded_blocks_writes() {
    let (_dir, store) = store_with("[a]\n");
    std::fs::write(store.path(), "[a]\nrollout = \n").unwrap();
    let err = store.inner.apply(&[killed(&store, "a")]).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(store.path()).unwrap(),
        "[a]\nrollout = \n"
    );
}

#[test]
fn refresh_sees_outside_edits_and_ignores_bad_and_empty_ones() {
    let (_dir, store) = store_with("[a]\n");
    assert_eq!(store.inner.refresh().unwrap(), None);
    std::fs::write(store.path(), "").unwrap();
    assert!(matches!(store.inner.refresh(), Err(StoreError::Invalid(_))));
    std::fs::write(store.path(), "[a]\nrollout = 500\n").unwrap();
    let Err(StoreError::Invalid(e)) = store.inner.refresh() else {
        panic!("expected an invalid edit")
    };
    assert_eq!(e.errors()[0].line, Some(2));
    assert!(store.flag_set().feature("a").is_some());
    std::fs::write(store.path(), "[b]\n").unwrap();
    let Ok(Some(Update::Replace(set))) = store.inner.refresh() else {
        panic!("expected the new set")
    };
    assert_eq!(set.features[0].name, "b");
    // Our own write is not an outside change.
    store.inner.apply(&[Change::Remove("b".into())]).unwrap();
    assert_eq!(store.inner.refresh().unwrap(), None);
}

#[test]
fn an_empty_file_at_startup_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.toml");
    std::fs::write(&path, " \n").unwrap();
    let err = FileStore::open(&path).unwrap_err();
    assert_eq!(err.errors()[0].source, path.display().to_string());
    assert!(err.to_string().contains("the flags file is empty"), "{err}");
    let store = FileStore::options().allow_empty(true).open(&path).unwrap();
    assert!(store.flag_set().features.is_empty());
    // A comment says "no flags" on purpose.
    std::fs::write(&path, "# no flags yet\n").unwrap();
    assert!(FileStore::open(&path)
        .unwrap()
        .flag_set()
        .features
        .is_empty());
}

#[test]
fn versions_count_on_across_reopening() {
    let (_dir, store) = store_with("[a]\n");
    assert_eq!(store.version(), Some(1));
    store.inner.apply(&[killed(&store, "a")]).unwrap();
    assert_eq!(store.version(), Some(2));
    std::fs::write(store.path(), "[b]\n").unwrap();
    store.inner.refresh().unwrap().unwrap();
    assert_eq!(store.version(), Some(3));
    // A bad edit and a no-op refresh number nothing.
    std::fs::write(store.path(), "[b]\nrollout = 500\n").unwrap();
    assert!(store.inner.refresh().is_err());
    std::fs::write(store.path(), "[b]\n").unwrap();
    assert_eq!(store.inner.refresh().unwrap(), None);
    assert_eq!(store.version(), Some(3));

    let reopened = FileStore::open(store.path()).unwrap();
    assert_eq!(reopened.version(), Some(3));
    // Edited while no process had it open: a new version.
    std::fs::write(store.path(), "[c]\n").unwrap();
    assert_eq!(FileStore::open(store.path()).unwrap().version(), Some(4));
    assert_eq!(FileStore::open(store.path()).unwrap().version(), Some(4));
}

#[test]
fn a_write_touches_only_its_flags_tables() {
    let text: String = (0..1_000)
        .map(|i| format!("# Flag {i}.\n[f{i}]\nrollout = 20 # %\n\n"))
        .collect();
    let (_dir, store) = store_with(&text);
    let mut f = store.flag_set().feature("f500").unwrap().clone();
    f.strategies[0].parameters.insert("rollout", "25");
    store.inner.apply(&[Change::Upsert(f)]).unwrap();
    let on_disk = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(
        on_disk,
        text.replace("[f500]\nrollout = 20", "[f500]\nrollout = 25")
    );
    // The flag's 30 bytes, a few times over; not the 30 kB file.
    let touched = store.inner.lock().touched;
    assert!(touched < 200, "{touched} bytes for one flag");
    store.inner.apply(&[killed(&store, "f999")]).unwrap();
    store.inner.apply(&[Change::Remove("f0".into())]).unwrap();
    assert!(store.inner.lock().touched < 200);
    assert_eq!(
        FileStore::open(store.path()).unwrap().flag_set(),
        store.flag_set()
    );

    // A flag whose tables another flag's split: the whole document.
    let (_dir, store) = store_with("[a]\n[b]\n[a.variants]\nx = 100\n");
    store.inner.apply(&[killed(&store, "a")]).unwrap();
    let on_disk = std::fs::read_to_string(store.path()).unwrap();
    assert_eq!(
        on_disk,
        "[a]\nenabled = false\n[b]\n[a.variants]\nx = 100\n"
    );
    assert!(store.inner.lock().touched >= 3 * on_disk.len());
}

#[test]
fn unusual_shapes_are_rewritten_whole_and_still_read_back() {
    // A user list written as an explicit rule; setting a rollout on it
    // changes the shape, so the flag's table is rewritten.
    let (_dir, store) = store_with(
        "# top\n[a]\n[[a.rules]]\nstrategy = \"userWithId\"\nparameters = { userIds = \"x\" }\n",
    );
    let f = crate::format::toml::parse("[a]\nrollout = 5\n", "x")
        .unwrap()
        .features[0]
        .clone();
    store.inner.apply(&[Change::Upsert(f.clone())]).unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(text.starts_with("# top\n[a]\nrollout = 5\n"), "{text}");
    assert_eq!(store.flag_set().features, vec![f]);
}
