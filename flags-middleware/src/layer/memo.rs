//! [`Memo`]: one request's first answer per flag, in the order asked.
//!
//! A handler asks a handful of flags, usually from one thread; but a
//! `FlagContext` is `Sync` and its clones may ask at once, and they must get
//! one answer per flag (a flag bucketed at random must not answer twice).
//! So the first [`INLINE`] answers are each one `AtomicU64` holding the
//! flag's id and its packed answer, claimed in the order asked with a
//! compare-and-swap: asking again is a few loads, asking first one CAS, and
//! no lock is taken. Two threads that decide the same flag at once both
//! race for the same slot (every claim passes the earlier ones), and the
//! loser takes the winner's answer.
//!
//! Names the snapshot does not know (typos), and answers past the inline
//! ones, go to a list under a mutex; an unknown name's inline slot then
//! points into that list, so the order asked is kept.

use std::cell::OnceCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use foldhash::HashMap;

use crate::engine::{Decision, FlagId};

/// How many answers are kept without a lock.
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
    /// For an unknown flag: its position in the list of unknown names.
    unknown: u32,
    /// Whether an inline slot points at this entry (so reading in order
    /// meets it there, not after the inline ones).
    inline: bool,
}

const EMPTY: Entry = Entry {
    id: None,
    answer: Answer::Forced(0),
    unknown: 0,
    inline: true,
};

// An inline slot: 0 is free. Otherwise the low `Decision::BITS` bits are
// the answer (a packed decision, or the forced index), then a bit for
// "forced", a bit for "see the locked list" (the low bits are then the
// entry's position in it), and the flag's id + 1 above those.
const FORCED: u64 = 1 << Decision::BITS;
const LISTED: u64 = FORCED << 1;
const ID_SHIFT: u32 = Decision::BITS + 2;
const PAYLOAD: u64 = FORCED - 1;

/// The answers of one request.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    inline: [AtomicU64; INLINE],
    listed: Mutex<Listed>,
}

/// What does not fit inline.
#[derive(Debug, Default)]
struct Listed {
    entries: Vec<Entry>,
    /// Names of flags the snapshot does not know, as asked.
    unknown: Vec<Box<str>>,
    /// Where each flag's entry is, made once the list is long enough that
    /// a scan would make a request asking hundreds of flags quadratic.
    /// Boxed, so a memo that never needs it (nearly all) stays small.
    index: Option<Box<Index>>,
}

/// Positions in [`Listed::entries`]: by id, or by name for unknown flags.
#[derive(Debug, Default)]
struct Index {
    known: HashMap<FlagId, usize>,
    unknown: HashMap<Box<str>, usize>,
}

/// Entries scanned before they are indexed.
const SCANNED: usize = 16;

impl Memo {
    /// The request's answer for `flag` (`id` in the snapshot, if known),
    /// and whether this was the first time it was asked; `decide` makes
    /// the answer the first time (it may run on two threads at once; one
    /// answer is kept).
    #[inline]
    pub(crate) fn answer(
        &self,
        id: Option<FlagId>,
        flag: &str,
        decide: impl Fn() -> Answer,
    ) -> (Answer, bool) {
        let Some(key) = id.and_then(inline_key) else {
            return self.answer_listed(id, flag, None, &decide);
        };
        let mut mine = None;
        for slot in &self.inline {
            let mut seen = slot.load(Ordering::Acquire);
            if seen == 0 {
                let (answer, bits) = *mine.get_or_insert_with(|| {
                    let answer = decide();
                    (answer, pack(answer))
                });
                match slot.compare_exchange(0, key | bits, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return (answer, true),
                    Err(now) => seen = now,
                }
            }
            if seen & !(FORCED | PAYLOAD) == key {
                return (unpack(seen), false);
            }
        }
        self.answer_listed(id, flag, mine.map(|(answer, _)| answer), &decide)
    }

    /// [`Memo::answer`] for an unknown name, or past the inline slots.
    #[cold]
    fn answer_listed(
        &self,
        id: Option<FlagId>,
        flag: &str,
        decided: Option<Answer>,
        decide: &dyn Fn() -> Answer,
    ) -> (Answer, bool) {
        let mut listed = self.listed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = listed.position(id, flag) {
            return (listed.entries[at].answer, false);
        }
        let answer = decided.unwrap_or_else(decide);
        let mut entry = Entry {
            id,
            answer,
            unknown: 0,
            inline: false,
        };
        if id.is_none() {
            entry.unknown = u32::try_from(listed.unknown.len()).unwrap_or(u32::MAX);
            listed.unknown.push(flag.into());
        }
        listed.index_next(id, flag);
        let position = listed.entries.len() as u64;
        // Point an inline slot at an unknown name's entry while there is
        // one free, so it is read in the order asked. (A known flag only
        // gets here with every slot taken.)
        if id.is_none() && position <= PAYLOAD {
            entry.inline = self.inline.iter().any(|slot| {
                slot.compare_exchange(0, LISTED | position, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            });
        }
        listed.entries.push(entry);
        (answer, true)
    }

    /// Every answer so far, for settling the request.
    pub(crate) fn read(&self) -> Read<'_> {
        let mut inline = [0; INLINE];
        for (copy, slot) in inline.iter_mut().zip(&self.inline) {
            *copy = slot.load(Ordering::Acquire);
        }
        // The locked list only matters when something went there.
        let listed = (inline.iter().any(|v| v & LISTED != 0) || inline[INLINE - 1] != 0)
            .then(|| self.listed.lock().unwrap_or_else(PoisonError::into_inner));
        Read {
            inline,
            listed,
            decoded: OnceCell::new(),
        }
    }
}

/// The memo as it was when read.
pub(crate) struct Read<'a> {
    inline: [u64; INLINE],
    listed: Option<MutexGuard<'a, Listed>>,
    /// The inline answers decoded, on the first [`Read::iter`]: a request
    /// event walks them several times.
    decoded: OnceCell<([Entry; INLINE], usize)>,
}

impl Read<'_> {
    /// Whether nothing was asked.
    pub(crate) fn is_empty(&self) -> bool {
        self.inline[0] == 0
    }

    /// Every answer, in the order asked.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        let (inline, len) = self.decoded.get_or_init(|| {
            let mut out = ([EMPTY; INLINE], 0);
            for stored in self.in_slots() {
                out.0[out.1] = stored.entry();
                out.1 += 1;
            }
            out
        });
        inline[..*len].iter().chain(self.past_slots())
    }

    /// The answers for known flags, in the order asked, still packed: for
    /// counting, which keys its counters by the packed answer and decodes
    /// one only the first time a thread meets it.
    pub(crate) fn known(&self) -> impl Iterator<Item = Known> + '_ {
        let in_slots = self.in_slots().filter_map(|stored| match stored {
            Stored::Packed(known) => Some(known),
            Stored::Listed(entry) => Known::of(entry),
        });
        in_slots.chain(self.past_slots().filter_map(Known::of))
    }

    /// The answers the inline slots hold, in the order asked.
    fn in_slots(&self) -> impl Iterator<Item = Stored<'_>> + '_ {
        let listed = self.listed_entries();
        self.inline
            .iter()
            .take_while(|v| **v != 0)
            .filter_map(move |&v| match v & LISTED {
                0 => Some(Stored::Packed(Known {
                    id: FlagId::from_bits(((v >> ID_SHIFT) - 1) as u32),
                    bits: v & (FORCED | PAYLOAD),
                })),
                _ => listed.get((v & PAYLOAD) as usize).map(Stored::Listed),
            })
    }

    /// The listed answers no inline slot points at (asked once the slots
    /// were full), in the order asked.
    fn past_slots(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.listed_entries().iter().filter(|e| !e.inline)
    }

    fn listed_entries(&self) -> &[Entry] {
        self.listed.as_deref().map_or(&[], |l| &l.entries)
    }

    /// The name an unknown flag was asked by (`None` for a known one).
    pub(crate) fn unknown_name(&self, entry: &Entry) -> Option<&str> {
        self.listed.as_deref()?.unknown_name(entry)
    }
}

/// One answer as an inline slot holds it.
enum Stored<'a> {
    /// In the slot itself.
    Packed(Known),
    /// In the locked list (an unknown name's).
    Listed(&'a Entry),
}

impl Stored<'_> {
    fn entry(&self) -> Entry {
        match self {
            Stored::Packed(known) => known.entry(),
            Stored::Listed(entry) => **entry,
        }
    }
}

/// A known flag's answer as [`Read::known`] gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Known {
    pub(crate) id: FlagId,
    /// The packed answer: equal bits, equal answers.
    pub(crate) bits: u64,
}

impl Known {
    /// A listed entry's answer, if its flag is known.
    fn of(entry: &Entry) -> Option<Known> {
        let id = entry.id?;
        Some(Known {
            id,
            bits: pack(entry.answer),
        })
    }

    /// Whether the engine decided it (rather than a forced flag).
    pub(crate) fn decided(&self) -> bool {
        self.bits & FORCED == 0
    }

    /// The whole entry.
    pub(crate) fn entry(&self) -> Entry {
        Entry {
            id: Some(self.id),
            answer: unpack(self.bits),
            ..EMPTY
        }
    }
}

impl Listed {
    /// Where the entry for `flag` (`id` in the snapshot, if known) is.
    fn position(&self, id: Option<FlagId>, flag: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            return match id {
                Some(id) => index.known.get(&id).copied(),
                None => index.unknown.get(flag).copied(),
            };
        }
        self.entries.iter().position(|e| match id {
            Some(_) => e.id == id,
            None => e.id.is_none() && self.unknown_name(e) == Some(flag),
        })
    }

    /// Indexes the entry about to be pushed (and, the first time, every
    /// entry before it) once the list is past [`SCANNED`].
    fn index_next(&mut self, id: Option<FlagId>, flag: &str) {
        if self.index.is_none() && self.entries.len() >= SCANNED {
            let mut index = Index::default();
            for (at, e) in self.entries.iter().enumerate() {
                match (e.id, self.unknown_name(e)) {
                    (Some(id), _) => index.known.insert(id, at),
                    (None, Some(name)) => index.unknown.insert(name.into(), at),
                    (None, None) => None,
                };
            }
            self.index = Some(Box::new(index));
        }
        let at = self.entries.len();
        if let Some(index) = &mut self.index {
            match id {
                Some(id) => index.known.insert(id, at),
                None => index.unknown.insert(flag.into(), at),
            };
        }
    }

    fn unknown_name(&self, entry: &Entry) -> Option<&str> {
        match entry.id {
            Some(_) => None,
            None => self.unknown.get(entry.unknown as usize).map(|n| &**n),
        }
    }
}

/// The id bits of an inline slot for flag `id`, if it fits.
fn inline_key(id: FlagId) -> Option<u64> {
    let plus_one = u64::from(id.to_bits()) + 1;
    (plus_one < 1 << (64 - ID_SHIFT)).then_some(plus_one << ID_SHIFT)
}

fn pack(answer: Answer) -> u64 {
    match answer {
        Answer::Decided(d) => d.to_bits(),
        Answer::Forced(i) => FORCED | u64::from(i),
    }
}

fn unpack(slot: u64) -> Answer {
    let payload = slot & PAYLOAD;
    if slot & FORCED != 0 {
        Answer::Forced(payload as u32)
    } else {
        Answer::Decided(Decision::from_bits(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forced(i: u32) -> impl Fn() -> Answer {
        move || Answer::Forced(i)
    }

    #[test]
    fn unknown_names_keep_their_order_past_the_inline_slots() {
        let memo = Memo::default();
        assert!(memo.read().is_empty());
        let names: Vec<String> = (0..INLINE + 3).map(|i| format!("f{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(
                memo.answer(None, name, forced(i as u32)),
                (Answer::Forced(i as u32), true)
            );
        }
        for (i, name) in names.iter().enumerate() {
            let again = memo.answer(None, name, forced(99));
            assert_eq!(again, (Answer::Forced(i as u32), false), "{name}");
        }
        let read = memo.read();
        let order: Vec<&str> = read.iter().filter_map(|e| read.unknown_name(e)).collect();
        assert_eq!(order, names);
    }

    #[test]
    fn known_and_unknown_flags_read_in_the_order_asked() {
        let memo = Memo::default();
        let id = FlagId::from_bits;
        let asks: Vec<(Option<FlagId>, String)> = (0..INLINE + 4)
            .map(|i| {
                let known = i % 3 != 1;
                (known.then(|| id(i as u32 * 10)), format!("n{i}"))
            })
            .collect();
        for (i, (flag, name)) in asks.iter().enumerate() {
            assert!(memo.answer(*flag, name, forced(i as u32)).1);
            // Asked again: the first answer, not a new one.
            assert_eq!(
                memo.answer(*flag, name, forced(999)),
                (Answer::Forced(i as u32), false)
            );
        }
        let read = memo.read();
        let seen: Vec<(Option<FlagId>, Answer)> = read.iter().map(|e| (e.id, e.answer)).collect();
        let want: Vec<(Option<FlagId>, Answer)> = asks
            .iter()
            .enumerate()
            .map(|(i, (flag, _))| (*flag, Answer::Forced(i as u32)))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn past_the_scanned_entries_answers_come_from_the_index() {
        let memo = Memo::default();
        // Known and unknown flags, well past the inline slots and the
        // entries scanned before the list is indexed.
        let asks: Vec<(Option<FlagId>, String)> = (0..INLINE + 10 * SCANNED)
            .map(|i| {
                (
                    (i % 4 != 3).then(|| FlagId::from_bits(i as u32)),
                    format!("n{i}"),
                )
            })
            .collect();
        for (i, (flag, name)) in asks.iter().enumerate() {
            assert!(memo.answer(*flag, name, forced(i as u32)).1, "{name}");
        }
        // Asked again in another order: every first answer, none new.
        for (i, (flag, name)) in asks.iter().enumerate().rev() {
            let again = memo.answer(*flag, name, forced(9_999));
            assert_eq!(again, (Answer::Forced(i as u32), false), "{name}");
        }
        assert!(memo.listed.lock().unwrap().index.is_some());
        let read = memo.read();
        let seen: Vec<Option<FlagId>> = read.iter().map(|e| e.id).collect();
        assert_eq!(seen, asks.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    }

    #[test]
    fn threads_asking_at_once_get_one_answer() {
        for _ in 0..200 {
            let memo = Memo::default();
            let answers: Vec<Answer> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|t| {
                        let memo = &memo;
                        scope.spawn(move || {
                            // Each thread asks a different flag first, then the shared one.
                            memo.answer(Some(FlagId::from_bits(100 + t)), "own", forced(t));
                            memo.answer(Some(FlagId::from_bits(7)), "shared", forced(1000 + t))
                                .0
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
            let read = memo.read();
            let shared: Vec<Entry> = read
                .iter()
                .copied()
                .filter(|e| e.id == Some(FlagId::from_bits(7)))
                .collect();
            assert_eq!(shared.len(), 1);
            assert_eq!(shared[0].answer, answers[0]);
        }
    }

    #[test]
    fn decisions_keep_every_field() {
        let flags = crate::Flags::from_unleash_json(
            r#"{"features": [{"name": "f", "enabled": true,
                "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "default"}}],
                "variants": [{"name": "blue", "weight": 1000}]}]}"#,
        )
        .unwrap();
        let snapshot = flags.snapshot();
        let id = snapshot.lookup("f");
        // No id at all: a random roll, which the decision records.
        let decision = snapshot.decide(id, &crate::Context::new());
        assert!(decision.random && decision.enabled);
        let memo = Memo::default();
        assert_eq!(
            memo.answer(id, "f", || Answer::Decided(decision)),
            (Answer::Decided(decision), true)
        );
        let entry = *memo.read().iter().next().unwrap();
        assert_eq!((entry.id, entry.answer), (id, Answer::Decided(decision)));
    }
}
