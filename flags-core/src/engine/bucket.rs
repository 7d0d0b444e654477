//! Unleash's bucketing: MurmurHash3 (x86, 32-bit) over `"{group}:{id}"`,
//! reduced to `1..=normalizer`.
//!
//! The hash is streamed so the `"{group}:"` prefix can be absorbed once at
//! load time ([`Prefix`]) and each evaluation hashes only the id, with no
//! string formatting and no allocation.

/// The seed Unleash uses for strategy bucketing.
pub(crate) const STRATEGY_SEED: u32 = 0;
/// The seed Unleash uses for variant bucketing.
pub(crate) const VARIANT_SEED: u32 = 86_028_157;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// A MurmurHash3 x86_32 state that can absorb input in pieces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Murmur3 {
    h1: u32,
    tail: u32,
    tail_len: u32,
    total: u32,
}

impl Murmur3 {
    pub(crate) const fn new(seed: u32) -> Self {
        Murmur3 {
            h1: seed,
            tail: 0,
            tail_len: 0,
            total: 0,
        }
    }

    #[inline]
    fn mix_block(&mut self, k: u32) {
        let k1 = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        self.h1 ^= k1;
        self.h1 = self
            .h1
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }

    #[inline]
    pub(crate) fn write(&mut self, mut bytes: &[u8]) {
        self.total = self.total.wrapping_add(bytes.len() as u32);
        // Top up a partial block left by an earlier piece.
        while self.tail_len != 0 && !bytes.is_empty() {
            self.tail |= u32::from(bytes[0]) << (8 * self.tail_len);
            self.tail_len += 1;
            bytes = &bytes[1..];
            if self.tail_len == 4 {
                let k = self.tail;
                self.mix_block(k);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        if bytes.is_empty() {
            return;
        }
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.mix_block(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for (i, b) in chunks.remainder().iter().enumerate() {
            self.tail |= u32::from(*b) << (8 * i);
        }
        self.tail_len = chunks.remainder().len() as u32;
    }

    #[inline]
    pub(crate) fn finish(mut self) -> u32 {
        if self.tail_len != 0 {
            let k1 = self.tail.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
            self.h1 ^= k1;
        }
        let mut h = self.h1 ^ self.total;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        h
    }
}

/// The hash state after `"{group}:"`, computed once when a flag is loaded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefix(Murmur3);

impl Prefix {
    pub(crate) fn new(group: &str, seed: u32) -> Self {
        let mut h = Murmur3::new(seed);
        h.write(group.as_bytes());
        h.write(b":");
        Prefix(h)
    }

    /// `murmur3("{group}:{id}") % normalizer + 1`, Unleash's normalized value.
    #[inline]
    pub(crate) fn normalized(&self, id: &str, normalizer: u32) -> u32 {
        let mut h = self.0;
        h.write(id.as_bytes());
        h.finish() % normalizer.max(1) + 1
    }
}

/// Unleash's `normalizedValue(id, group, normalizer, seed)`.
pub(crate) fn normalized_value(id: &str, group: &str, normalizer: u32, seed: u32) -> u32 {
    Prefix::new(group, seed).normalized(id, normalizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn murmur(bytes: &[u8], seed: u32) -> u32 {
        let mut h = Murmur3::new(seed);
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn murmur3_reference_vectors() {
        // Published test vectors for MurmurHash3_x86_32.
        assert_eq!(murmur(b"", 0), 0);
        assert_eq!(murmur(b"", 1), 0x514E_28B7);
        assert_eq!(murmur(b"", 0xffff_ffff), 0x81F1_6F39);
        assert_eq!(murmur(&[0, 0, 0, 0], 0), 0x2362_F9DE);
        assert_eq!(murmur(b"a", 0x9747_b28c), 0x7FA0_9EA6);
        assert_eq!(murmur(b"aa", 0x9747_b28c), 0x5D21_1726);
        assert_eq!(murmur(b"aaa", 0x9747_b28c), 0x283E_0130);
        assert_eq!(murmur(b"aaaa", 0x9747_b28c), 0x5A97_808A);
        assert_eq!(murmur(b"Hello, world!", 0x9747_b28c), 0x2488_4CBA);
        assert_eq!(
            murmur(b"The quick brown fox jumps over the lazy dog", 0x9747_b28c),
            0x2FA8_26CD
        );
    }

    #[test]
    fn streaming_in_pieces_equals_one_shot() {
        let text = b"some-group-id:user-1234567";
        for split in 0..text.len() {
            let mut h = Murmur3::new(7);
            h.write(&text[..split]);
            h.write(&text[split..]);
            assert_eq!(h.finish(), murmur(text, 7), "split at {split}");
        }
    }

    #[test]
    fn unleash_golden_values() {
        // Values every Unleash SDK agrees on (client-specification / SDK tests).
        assert_eq!(normalized_value("123", "gr1", 100, STRATEGY_SEED), 73);
        assert_eq!(normalized_value("999", "groupX", 100, STRATEGY_SEED), 25);
    }
}
