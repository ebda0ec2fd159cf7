//! How a place in a text spells the key's characters: raw, percent-, hex- or `\x`/`\u`-encoded,
//! or JSON-escaped; and the run of the key's characters a place spells, for [`super::Scrubber`].

/// How many leading characters of `key` the start of `hay` spells, each in one of its
/// [`spellings`], and the most bytes of `hay` such a spelling takes. Every spelling is followed
/// at once, so a literal `%` or `\\` in the key is read either way.
/// `runs` is where it works, kept from one call to the next.
pub(super) fn encoded_run(hay: &[u8], key: &[u8], runs: &mut Runs) -> (usize, usize) {
    let Runs { at, next } = runs;
    at.clear();
    at.push(0);
    let mut chars = 0;
    for &k in key {
        next.clear();
        for &p in at.iter() {
            spellings(&hay[p..], k, |len| next.push(p + len));
        }
        if next.is_empty() {
            break;
        }
        next.sort_unstable();
        next.dedup();
        std::mem::swap(at, next);
        chars += 1;
    }
    (chars, at.last().copied().unwrap_or(0))
}

/// The two sets of places [`encoded_run`] moves between: a scrub calls it at most places of the
/// text, and would otherwise allocate them each time.
#[derive(Default)]
pub(super) struct Runs {
    at: Vec<usize>,
    next: Vec<usize>,
}

/// Whether the start of `rest` spells the key's character `k` in any of its [`spellings`].
#[cfg(test)]
pub(super) fn spelled(rest: &[u8], k: u8) -> bool {
    let mut any = false;
    spellings(rest, k, |_| any = true);
    any
}

/// The key's offsets by character: those of `b` are `order[bounds[b]..bounds[b + 1]]`.
pub(super) struct KeyIndex {
    order: Vec<usize>,
    bounds: [usize; 257],
}

impl KeyIndex {
    pub(super) fn of(key: &[u8]) -> Self {
        let mut bounds = [0usize; 257];
        for &b in key {
            bounds[usize::from(b) + 1] += 1;
        }
        for b in 0..256 {
            bounds[b + 1] += bounds[b];
        }
        let mut next = bounds;
        let mut order = vec![0; key.len()];
        for (offset, &b) in key.iter().enumerate() {
            order[next[usize::from(b)]] = offset;
            next[usize::from(b)] += 1;
        }
        Self { order, bounds }
    }

    fn offsets(&self, b: u8) -> &[usize] {
        &self.order[self.bounds[usize::from(b)]..self.bounds[usize::from(b) + 1]]
    }
}

/// What the start of some text spells, whatever the key's character: read once per place, where
/// [`spellings`] reads it again for each character.
pub(super) struct Spelled {
    /// The byte itself.
    raw: Option<u8>,
    /// The values of its hex-encoded, percent-encoded, `\xXX` and `\uXXXX` readings.
    encoded: [Option<u32>; 4],
    /// The character after a `\`.
    escaped: Option<u8>,
}

impl Spelled {
    pub(super) fn at(rest: &[u8]) -> Self {
        let hex = |b: u8| char::from(b).to_digit(16);
        let byte = |d: &[u8]| d.iter().try_fold(0u32, |v, &b| hex(b).map(|h| v * 16 + h));
        let from = |len: usize, prefix: &[u8]| {
            (rest.len() >= len && rest.starts_with(prefix))
                .then(|| byte(&rest[prefix.len()..len]))
                .flatten()
        };
        Self {
            raw: rest.first().copied(),
            encoded: [
                from(2, b""),
                from(3, b"%"),
                from(4, b"\\x"),
                from(6, b"\\u"),
            ],
            escaped: (rest.len() >= 2 && rest[0] == b'\\').then(|| rest[1]),
        }
    }

    /// Calls `each` with every offset of the key whose character this place spells in one of
    /// its [`spellings`] (an offset may come twice).
    pub(super) fn offsets(&self, index: &KeyIndex, mut each: impl FnMut(usize)) {
        let mut of = |b: u8| index.offsets(b).iter().for_each(|&offset| each(offset));
        if let Some(raw) = self.raw {
            of(raw);
        }
        // An encoded value spells its character, and a letter's upper case its lower case.
        for value in self.encoded.iter().flatten() {
            if let Ok(b) = u8::try_from(*value) {
                of(b);
                if b.is_ascii_uppercase() {
                    of(b.to_ascii_lowercase());
                }
            }
        }
        if let Some(escaped) = self.escaped.filter(|e| b"\\\"/".contains(e)) {
            of(escaped);
        }
    }
}

/// The length of each spelling of the key's character `k` at the start of `rest`: raw,
/// percent-encoded (`%XX`), hex-encoded (`XX`), escaped as `\xXX` or `\u00XX`, or JSON-escaped
/// (both sides lower-cased).
fn spellings(rest: &[u8], k: u8, mut found: impl FnMut(usize)) {
    let hex = |b: u8| char::from(b).to_digit(16);
    // The byte spelled by the hex digits `d`, when they are all hex digits.
    let byte = |d: &[u8]| d.iter().try_fold(0u32, |v, &b| hex(b).map(|h| v * 16 + h));
    let is_k = |v: Option<u32>| {
        v.is_some_and(|v| v == u32::from(k) || v == u32::from(k.to_ascii_uppercase()))
    };
    if rest.first() == Some(&k) {
        found(1);
    }
    if rest.len() >= 2 && is_k(byte(&rest[..2])) {
        found(2);
    }
    if rest.len() >= 3 && rest[0] == b'%' && is_k(byte(&rest[1..3])) {
        found(3);
    }
    if rest.len() >= 4 && rest.starts_with(b"\\x") && is_k(byte(&rest[2..4])) {
        found(4);
    }
    if rest.len() >= 6 && rest.starts_with(b"\\u") && is_k(byte(&rest[2..6])) {
        found(6);
    }
    if rest.len() >= 2 && rest[0] == b'\\' && rest[1] == k && b"\\\"/".contains(&k) {
        found(2);
    }
}
