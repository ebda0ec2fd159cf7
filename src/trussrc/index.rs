//! The hash index of the reader: sections, or one section's keys, by name.
use std::hash::{BuildHasher, RandomState};

use super::work::step;

/// Positions of named items (sections, or one section's keys) by name, hashed with a per-process
/// random key (`RandomState`'s SipHash, so that names cannot be crafted to collide) and sorted by
/// hash: built in one sequential pass and a sort once the items are read, so that a file of
/// 100,000 sections costs no random access per line; a lookup is a binary search. Each entry is
/// one word, the hash's upper half above the position: items whose halves collide are told apart
/// by name, as items whose whole hashes collide would be.
#[derive(Debug, Default)]
pub(super) struct Index {
    sorted: Vec<u64>,
}

impl Index {
    fn entry(hash: u64, pos: usize) -> u64 {
        // A trussrc is at most 1 MiB (and a text over 4 GiB is refused): positions fit in 32 bits.
        (hash & !0xffff_ffff) | pos as u64
    }

    /// Indexes `count` items, named by `name_of`; also the position of the first item, in file
    /// order, whose name an earlier item has (what a reader going line by line would stop at).
    pub(super) fn build<'n>(
        count: usize,
        name_of: impl Fn(usize) -> &'n str,
        hasher: &RandomState,
    ) -> (Self, Option<usize>) {
        let mut sorted: Vec<u64> = (0..count)
            .map(|i| {
                step();
                Self::entry(hasher.hash_one(name_of(i)), i)
            })
            .collect();
        sorted.sort_unstable();
        let high = |e: u64| e >> 32;
        let pos = |e: u64| (e & 0xffff_ffff) as usize;
        let mut repeat: Option<usize> = None;
        let mut run = 0;
        while run < sorted.len() {
            let hash = high(sorted[run]);
            let mut end = run + 1;
            while sorted.get(end).is_some_and(|&e| high(e) == hash) {
                end += 1;
            }
            // A run shares a hash (one name, short of a collision), in file order.
            for j in run + 1..end {
                step();
                let later = pos(sorted[j]);
                let name = name_of(later);
                if sorted[run..j].iter().any(|&e| name_of(pos(e)) == name) {
                    repeat = Some(repeat.map_or(later, |r| r.min(later)));
                    break;
                }
            }
            run = end;
        }
        (Self { sorted }, repeat)
    }

    pub(super) fn find<'n>(
        &self,
        name_of: impl Fn(usize) -> &'n str,
        name: &str,
        hasher: &RandomState,
    ) -> Option<usize> {
        let first = Self::entry(hasher.hash_one(name), 0);
        let start = self.sorted.partition_point(|&e| e < first);
        self.sorted[start..]
            .iter()
            .take_while(|&&e| e >> 32 == first >> 32)
            .map(|&e| (e & 0xffff_ffff) as usize)
            .find(|&i| name_of(i) == name)
    }
}

/// The first key of a section's `count` keys, in file order, that an earlier one repeats.
pub(super) fn repeated_key<'n>(
    count: usize,
    key_of: impl Fn(usize) -> &'n str,
    hasher: &RandomState,
) -> Option<usize> {
    if count <= 16 {
        return (1..count).find(|&j| {
            step();
            (0..j).any(|i| key_of(i) == key_of(j))
        });
    }
    Index::build(count, key_of, hasher).1
}
