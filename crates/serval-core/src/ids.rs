//! Identifiers: request ids (UUID v4 text), revision ids, random hex.

use rand::Rng;

/// A random UUID v4 in its canonical text form.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        push_hex(&mut s, *byte);
    }
    s
}

fn push_hex(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.push(DIGITS[(b >> 4) as usize] as char);
    s.push(DIGITS[(b & 0xf) as usize] as char);
}

/// `n` random lowercase letters and digits (API Gateway ids, function URL ids).
pub fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A request id as AWS services return them.
pub fn request_id() -> String {
    uuid_v4()
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_hex(&mut s, *b);
    }
    s
}

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(n * 2);
    let mut chunk = [0u8; 32];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        rng.fill(&mut chunk[..k]);
        for b in &chunk[..k] {
            push_hex(&mut s, *b);
        }
        left -= k;
    }
    s
}

/// A uniformly distributed number in [0, 1).
pub fn random_unit() -> f64 {
    rand::rng().random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        let dashes: Vec<usize> = u.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, vec![8, 13, 18, 23]);
        assert!(u.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn random_hex_has_the_asked_length() {
        for n in [0, 4, 12, 16, 40, 70] {
            let h = random_hex(n);
            assert_eq!(h.len(), 2 * n);
            assert!(h
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        }
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
