//! [`Memo`]: one request's first answer per flag, in the order asked.
//!
//! A handler asks a handful of flags, so the first [`INLINE`] answers live
//! in a fixed array inside the request state (no allocation of their own)
//! and a lookup is a scan of a few `Copy` entries; only a request that asks
//! more spills to a `Vec`. Names the snapshot does not know (typos) are kept
//! apart, since only they need an owned string.

use crate::engine::{Decision, FlagId};

/// How many answers fit without allocating.
pub(crate) const INLINE: usize = 8;

/// An engine decision, or an index into the request's forced flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Decided(Decision),
    Forced(u32),
}

/// The first answer for one flag in this request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// `None` for a flag the snapshot does not know.
    pub(crate) id: Option<FlagId>,
    pub(crate) answer: Answer,
    /// For an unknown flag: its position in [`Memo::unknown`].
    unknown: u32,
}

const EMPTY: Entry = Entry {
    id: None,
    answer: Answer::Forced(0),
    unknown: 0,
};

/// The answers of one request.
#[derive(Debug)]
pub(crate) struct Memo {
    len: usize,
    inline: [Entry; INLINE],
    spilled: Vec<Entry>,
    /// Names of flags the snapshot does not know, as asked.
    unknown: Vec<Box<str>>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            len: 0,
            inline: [EMPTY; INLINE],
            spilled: Vec::new(),
            unknown: Vec::new(),
        }
    }
}

impl Memo {
    /// Whether nothing was asked.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every answer, in the order asked.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.inline[..self.len.min(INLINE)]
            .iter()
            .chain(&self.spilled)
    }

    /// The answer for flag `id` (or, unknown, named `flag`), if asked before.
    #[inline]
    pub(crate) fn find(&self, id: Option<FlagId>, flag: &str) -> Option<Answer> {
        let inline = &self.inline[..self.len.min(INLINE)];
        match id {
            // The usual case: a known flag among the inline entries, found
            // by comparing ids only.
            Some(_) => inline
                .iter()
                .chain(&self.spilled)
                .find(|e| e.id == id)
                .map(|e| e.answer),
            None => inline
                .iter()
                .chain(&self.spilled)
                .find(|e| e.id.is_none() && self.unknown_name(e) == Some(flag))
                .map(|e| e.answer),
        }
    }

    /// Records the first answer for a flag.
    pub(crate) fn push(&mut self, id: Option<FlagId>, flag: &str, answer: Answer) {
        let mut entry = Entry { answer, ..EMPTY };
        entry.id = id;
        if id.is_none() {
            entry.unknown = u32::try_from(self.unknown.len()).unwrap_or(u32::MAX);
            self.unknown.push(flag.into());
        }
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = entry,
            None => self.spilled.push(entry),
        }
        self.len += 1;
    }

    /// The name an unknown flag was asked by (`None` for a known one).
    pub(crate) fn unknown_name(&self, entry: &Entry) -> Option<&str> {
        match entry.id {
            Some(_) => None,
            None => self.unknown.get(entry.unknown as usize).map(|n| &**n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_spill_past_the_inline_ones_in_order() {
        let mut memo = Memo::default();
        assert!(memo.is_empty());
        let names: Vec<String> = (0..INLINE + 3).map(|i| format!("f{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(memo.find(None, name), None);
            memo.push(None, name, Answer::Forced(i as u32));
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(
                memo.find(None, name),
                Some(Answer::Forced(i as u32)),
                "{name}"
            );
        }
        let order: Vec<&str> = memo.iter().filter_map(|e| memo.unknown_name(e)).collect();
        assert_eq!(order, names);
    }
}
