//! Flag name → position, without storing the names twice.
//!
//! The table holds only positions (4 bytes a flag); a lookup compares the
//! name against the flag stored at the position. Cloning it is a plain copy
//! of half a megabyte for 100,000 flags, so a one-flag change stays cheap.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use super::compile::CompiledFlag;

/// Positions of flags in a snapshot's flag list, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

type Flags = [Arc<CompiledFlag>];

#[inline]
fn named<'a>(flags: &'a Flags, name: &'a str) -> impl Fn(&u32) -> bool + 'a {
    move |&i| flags.get(i as usize).is_some_and(|f| f.is_named(name))
}

impl Index {
    pub(crate) fn with_capacity(n: usize) -> Index {
        Index {
            table: HashTable::with_capacity(n),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    #[inline]
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    /// The position of `name` in `flags`.
    #[inline]
    pub(crate) fn get(&self, name: &str, flags: &Flags) -> Option<u32> {
        self.table
            .find(self.hash(name), named(flags, name))
            .copied()
    }

    /// The flag named `name`.
    #[inline]
    pub(crate) fn flag<'a>(&self, name: &str, flags: &'a Flags) -> Option<&'a Arc<CompiledFlag>> {
        let i = *self.table.find(self.hash(name), named(flags, name))?;
        flags.get(i as usize)
    }

    /// Records that `flags[pos]` is named `name`; `false` if the name is
    /// already taken (the index is then unchanged).
    pub(crate) fn insert(&mut self, name: &str, pos: u32, flags: &Flags) -> bool {
        let hash = self.hash(name);
        if self.table.find(hash, named(flags, name)).is_some() {
            return false;
        }
        let hasher = &self.hasher;
        self.table.insert_unique(hash, pos, |&i| {
            flags
                .get(i as usize)
                .map_or(0, |f| hasher.hash_one(f.name()))
        });
        true
    }

    /// Forgets `name` (still in `flags`), returning its position.
    pub(crate) fn remove(&mut self, name: &str, flags: &Flags) -> Option<u32> {
        let entry = self.table.find_entry(self.hash(name), named(flags, name));
        entry.ok().map(|e| e.remove().0)
    }

    /// `name` moved from position `from` to `to`.
    pub(crate) fn moved(&mut self, name: &str, from: u32, to: u32) {
        if let Some(slot) = self.table.find_mut(self.hash(name), |&i| i == from) {
            *slot = to;
        }
    }
}
