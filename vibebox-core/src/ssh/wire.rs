//! The SSH wire format of a public key blob (RFC 4253 §6.6, RFC 5656 §3.1, OpenSSH
//! PROTOCOL.u2f): a string naming the algorithm, then the algorithm's fields.

use super::KeyAlgorithm;

/// Smallest RSA modulus accepted, in bits.
pub(super) const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (OpenSSH's own limit).
pub(super) const RSA_MAX_BITS: usize = 16384;

/// Why a blob was refused: the reason shown with the `public_key` field.
pub(super) type Refusal = &'static str;

/// Reads SSH strings (a big-endian u32 length, then that many bytes) off the front of a blob.
pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The next string. Errors: the blob ends before it does.
    pub(super) fn string(&mut self) -> Result<&'a [u8], Refusal> {
        const TRUNCATED: Refusal = "key data is truncated";
        let (len, rest) = self.0.split_at_checked(4).ok_or(TRUNCATED)?;
        let len: [u8; 4] = len.try_into().map_err(|_| TRUNCATED)?;
        let len = usize::try_from(u32::from_be_bytes(len)).map_err(|_| TRUNCATED)?;
        let (s, rest) = rest.split_at_checked(len).ok_or(TRUNCATED)?;
        self.0 = rest;
        Ok(s)
    }

    /// Succeeds when nothing follows.
    pub(super) fn end(&self) -> Result<(), Refusal> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("key data has trailing bytes")
        }
    }
}

/// The number of significant bits of an SSH mpint (big-endian, possibly with leading zeros).
pub(super) fn mpint_bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        Some(i) => (n.len() - i - 1) * 8 + (8 - n[i].leading_zeros() as usize),
        None => 0,
    }
}

/// Reads the algorithm name at the front of a blob. Errors: truncated, or a type that is not
/// accepted.
pub(super) fn algorithm_of(blob: &[u8]) -> Result<KeyAlgorithm, Refusal> {
    let name = Reader::new(blob).string()?;
    std::str::from_utf8(name)
        .ok()
        .and_then(KeyAlgorithm::from_name)
        .ok_or(UNSUPPORTED)
}

/// The refusal of a key type that is not accepted.
pub(super) const UNSUPPORTED: Refusal = "key type must be ssh-ed25519, ecdsa-sha2-nistp256, \
     ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ssh-ed25519@openssh.com, \
     sk-ecdsa-sha2-nistp256@openssh.com or ssh-rsa (at least 2048 bits)";

/// Checks that `blob` is a well-formed key of type `algorithm`: the embedded name matches, and
/// the fields are those of the type with nothing after them.
pub(super) fn check_blob(algorithm: KeyAlgorithm, blob: &[u8]) -> Result<(), Refusal> {
    let mut r = Reader::new(blob);
    if r.string()? != algorithm.name().as_bytes() {
        return Err("key data is of another type than the line names");
    }
    match algorithm {
        KeyAlgorithm::Ed25519 | KeyAlgorithm::SkEd25519 => {
            if r.string()?.len() != 32 {
                return Err("an Ed25519 key must be 32 bytes");
            }
        }
        KeyAlgorithm::Rsa => {
            let e = r.string()?;
            let n = r.string()?;
            if mpint_bits(e) < 2 || e.len() > 8 {
                return Err("the RSA public exponent is malformed");
            }
            let bits = mpint_bits(n);
            if bits < RSA_MIN_BITS {
                return Err("RSA keys must have at least 2048 bits");
            }
            if bits > RSA_MAX_BITS {
                return Err("RSA keys must have at most 16384 bits");
            }
        }
        KeyAlgorithm::EcdsaP256
        | KeyAlgorithm::EcdsaP384
        | KeyAlgorithm::EcdsaP521
        | KeyAlgorithm::SkEcdsaP256 => {
            let (curve, coordinate) = algorithm.curve().ok_or(UNSUPPORTED)?;
            if r.string()? != curve.as_bytes() {
                return Err("the ECDSA curve does not match the key type");
            }
            let point = r.string()?;
            if point.len() != 1 + 2 * coordinate || point.first() != Some(&4) {
                return Err("the ECDSA point must be uncompressed and of the curve's size");
            }
        }
    }
    if algorithm.is_security_key() {
        r.string()
            .map_err(|_| "a security key must name its application")?;
    }
    r.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_bits_count_from_the_first_set_bit() {
        assert_eq!(mpint_bits(&[]), 0);
        assert_eq!(mpint_bits(&[0, 0]), 0);
        assert_eq!(mpint_bits(&[1]), 1);
        assert_eq!(mpint_bits(&[0, 0x80, 0]), 16);
        assert_eq!(mpint_bits(&[0x01, 0x00, 0x01]), 17);
    }

    #[test]
    fn a_length_past_the_end_is_truncated_not_a_panic() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1]);
        assert_eq!(r.string(), Err("key data is truncated"));
        let mut r = Reader::new(&[0, 0]);
        assert_eq!(r.string(), Err("key data is truncated"));
    }
}
