//! Lower-case hex, as patdesk writes hashes, MACs and signatures, and reads them back.

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The `length` bytes that `text` spells in hex (either case); `None` for anything else.
pub fn decode(text: &str, length: usize) -> Option<Vec<u8>> {
    if text.len() != length * 2 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn hex_goes_both_ways_and_refuses_what_is_not_hex() {
        assert_eq!(encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(decode("00abFF", 3), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(decode("00ab", 3), None);
        assert_eq!(decode("zz", 1), None);
        assert_eq!(decode("é1", 1), None);
    }
}
