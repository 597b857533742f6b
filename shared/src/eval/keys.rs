//! ARM ids as map keys (hashed and compared case-insensitively, borrowed from the inventory),
//! the fast hasher the engine's maps use, and `NONE`, the index of nothing.
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// No index (a join that found nothing).
pub(crate) const NONE: u32 = u32::MAX;

/// An ARM id as a map key: hashed and compared case-insensitively (ARM ids are), and borrowed
/// from the inventory, so joins allocate nothing. The hash is computed once, when the key is
/// made (in parallel with the `parallel` feature), so inserting and looking up touch the text
/// of the id only to confirm a match.
#[derive(Debug, Clone)]
pub(crate) struct Ci<'a> {
    hash: u64,
    id: Cow<'a, str>,
}

impl<'a> Ci<'a> {
    pub(crate) fn new(id: &'a str) -> Self {
        let id = trim_id(id);
        Ci {
            hash: ci_hash(id),
            id: Cow::Borrowed(id),
        }
    }
    pub(crate) fn owned(id: Cow<'a, str>) -> Self {
        match id {
            Cow::Borrowed(b) => Self::new(b),
            Cow::Owned(o) => {
                let id = trim_id(&o).to_string();
                Ci {
                    hash: ci_hash(&id),
                    id: Cow::Owned(id),
                }
            }
        }
    }
}

/// The case-insensitive hash of an id: its bytes lower-cased eight at a time.
fn ci_hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    let b = id.as_bytes();
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h.add(ascii_lower8(u64::from_le_bytes(
            c.try_into().expect("8 bytes"),
        )));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h.add(ascii_lower8(u64::from_le_bytes(w)));
    }
    h.add(b.len() as u64);
    // spread the entropy to the low bits too (the table indexes by them)
    let x = h.0;
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 32)
}

/// `id.trim().trim_end_matches('/')`, without scanning ids that need no trimming.
fn trim_id(id: &str) -> &str {
    match (id.as_bytes().first(), id.as_bytes().last()) {
        (Some(f), Some(&l)) if f.is_ascii_graphic() && l.is_ascii_graphic() && l != b'/' => id,
        _ => id.trim().trim_end_matches('/'),
    }
}

impl PartialEq for Ci<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.hash == o.hash && (self.id == o.id || self.id.eq_ignore_ascii_case(&o.id))
    }
}

impl Eq for Ci<'_> {}

impl std::hash::Hash for Ci<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

/// `to_ascii_lowercase` of each of the eight bytes of `x` at once (other bytes unchanged).
fn ascii_lower8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HIGH;
    // the high bit of each byte of `from_a` is set when its low seven bits are >= 'A', of
    // `past_z` when they are > 'Z' (no carry crosses bytes: 0x7f + 0x3f < 0x100)
    let from_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let past_z = low7 + (0x80 - u64::from(b'Z') - 1) * ONES;
    let upper = from_a & !past_z & !x & HIGH;
    x | (upper >> 2)
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(crate) type FxSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

pub(crate) fn fx_map<K, V>(capacity: usize) -> FxMap<K, V> {
    FxMap::with_capacity_and_hasher(capacity, Default::default())
}

/// The Firefox/rustc hash: fast for short keys; the keys here are not attacker-chosen per
/// request (the inventory is the caller's own), and a collision only costs time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_lower8_is_to_ascii_lowercase() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = *b"aZ/9-_.Q";
                bytes[pos] = b;
                let want: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
                let got = ascii_lower8(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(&got[..], &want[..], "byte {b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn ids_join_case_insensitively() {
        let a = Ci::new("/subscriptions/S/resourceGroups/RG/providers/x/NIC-1");
        let b = Ci::new(" /subscriptions/s/resourcegroups/rg/providers/X/nic-1/ ");
        assert_eq!(a, b);
        let mut m: FxMap<Ci<'_>, u32> = fx_map(1);
        m.insert(a, 1);
        assert_eq!(m.get(&b), Some(&1));
        assert_eq!(trim_id("abc/"), "abc");
        assert_eq!(trim_id("\u{a0}abc\u{a0}"), "abc");
    }
}
