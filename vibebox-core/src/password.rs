//! Password hashing with Argon2id.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`). Hashing and
//! verification run on tokio's blocking pool. Verifying for an unknown user does the same work
//! as for a known one, so response times do not reveal whether an account exists.
use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::PasswordHash;
use crate::error::{Error, Result};

/// OWASP's memory cost, in KiB.
const OWASP_M_KIB: u32 = 19_456;
/// OWASP's iteration count.
const OWASP_T: u32 = 2;
/// OWASP's parallelism.
const OWASP_P: u32 = 1;
/// The output length in bytes.
const OUTPUT_LEN: usize = 32;
/// The largest memory cost a stored hash may ask for (1 GiB), so a tampered row cannot make a
/// login exhaust memory.
const MAX_STORED_M_KIB: u32 = 1 << 20;
/// The largest iteration count a stored hash may ask for.
const MAX_STORED_T: u32 = 64;
/// The largest parallelism a stored hash may ask for.
const MAX_STORED_P: u32 = 64;

/// Hashes and verifies passwords with Argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password with these parameters, made on first use; verified against
    /// when there is no stored hash.
    dummy: Arc<OnceLock<Option<String>>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::owasp()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_sync(params: &Params, password: &[u8]) -> Result<String> {
    argon2(params)
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("password hashing failed", Some(Box::new(e) as _)))
}

impl PasswordHasher {
    /// OWASP parameters: m = 19456 KiB, t = 2, p = 1.
    pub fn owasp() -> Self {
        let params = Params::new(OWASP_M_KIB, OWASP_T, OWASP_P, Some(OUTPUT_LEN))
            .unwrap_or_else(|_| Params::default());
        Self::from_params(params)
    }

    fn from_params(params: Params) -> Self {
        Self {
            params,
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// Custom parameters, refused (`InvalidInput`, `argon2`) if weaker than OWASP's: each of
    /// memory (KiB), iterations and parallelism must be at least 19456, 2 and 1.
    pub fn with_params(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        if memory_kib < OWASP_M_KIB || iterations < OWASP_T || parallelism < OWASP_P {
            return Err(Error::invalid(
                "argon2",
                "parameters must be at least m=19456 KiB, t=2, p=1",
            ));
        }
        let params = Params::new(memory_kib, iterations, parallelism, Some(OUTPUT_LEN))
            .map_err(|e| Error::invalid("argon2", format!("parameters are not valid: {e}")))?;
        Ok(Self::from_params(params))
    }

    /// Hashes a password into a PHC string. Errors: `Internal`.
    pub async fn hash(&self, password: &SecretString) -> Result<PasswordHash> {
        let params = self.params.clone();
        let password = password.clone();
        let phc = tokio::task::spawn_blocking(move || {
            hash_sync(&params, password.expose_secret().as_bytes())
        })
        .await
        .map_err(|e| Error::internal("password hashing task failed", Some(Box::new(e) as _)))??;
        Ok(PasswordHash::from_phc(phc))
    }

    /// Verifies a password. With `None` (unknown user or OAuth-only user) it does the same work
    /// against a dummy hash and returns `false`. A malformed stored hash verifies as `false`.
    pub async fn verify(&self, password: &SecretString, hash: Option<&PasswordHash>) -> bool {
        let params = self.params.clone();
        let dummy = Arc::clone(&self.dummy);
        let password = password.clone();
        let stored = hash.map(|h| h.as_phc().to_string());
        tokio::task::spawn_blocking(move || {
            let pw = password.expose_secret().as_bytes();
            match stored {
                Some(stored) => verify_sync(pw, &stored),
                None => {
                    let dummy = dummy.get_or_init(|| {
                        let mut random = [0u8; 32];
                        getrandom::fill(&mut random).ok()?;
                        hash_sync(&params, &random).ok()
                    });
                    match dummy {
                        Some(d) => {
                            let _ = verify_sync(pw, d);
                        }
                        // Could not make a dummy: spend the same effort hashing instead.
                        None => {
                            let _ = hash_sync(&params, pw);
                        }
                    }
                    false
                }
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Whether the hash was made with other parameters (or another algorithm) and should be
    /// replaced at next login. A hash that cannot be parsed also reports `true`.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = phc::PasswordHash::new(hash.as_phc()) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
            return true;
        }
        let Ok(theirs) = Params::try_from(&parsed) else {
            return true;
        };
        theirs.m_cost() != self.params.m_cost()
            || theirs.t_cost() != self.params.t_cost()
            || theirs.p_cost() != self.params.p_cost()
            || theirs.output_len().unwrap_or(OUTPUT_LEN) != OUTPUT_LEN
    }
}

/// Verifies against a PHC string; any parse or algorithm error is `false`.
fn verify_sync(password: &[u8], stored: &str) -> bool {
    match phc::PasswordHash::new(stored) {
        Ok(parsed) => {
            // Only Argon2id hashes are accepted (the argon2 crate would also verify argon2i/d),
            // and absurd stored costs are refused rather than run.
            parsed.algorithm.as_str() == "argon2id"
                && Params::try_from(&parsed).is_ok_and(|p| {
                    p.m_cost() <= MAX_STORED_M_KIB
                        && p.t_cost() <= MAX_STORED_T
                        && p.p_cost() <= MAX_STORED_P
                })
                && Argon2::default().verify_password(password, &parsed).is_ok()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() -> TestResult {
        let h = PasswordHasher::owasp();
        let hash = h.hash(&pw("correct horse battery staple")).await?;
        assert!(
            h.verify(&pw("correct horse battery staple"), Some(&hash))
                .await
        );
        Ok(())
    }

    #[tokio::test]
    async fn wrong_password_fails() -> TestResult {
        let h = PasswordHasher::owasp();
        let hash = h.hash(&pw("right password")).await?;
        assert!(!h.verify(&pw("wrong password"), Some(&hash)).await);
        assert!(!h.verify(&pw(""), Some(&hash)).await);
        Ok(())
    }

    #[tokio::test]
    async fn phc_string_uses_argon2id_with_owasp_params() -> TestResult {
        let hash = PasswordHasher::default().hash(&pw("pw")).await?;
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        Ok(())
    }

    #[tokio::test]
    async fn equal_passwords_get_different_salts() -> TestResult {
        let h = PasswordHasher::owasp();
        let a = h.hash(&pw("same")).await?;
        let b = h.hash(&pw("same")).await?;
        assert_ne!(a.as_phc(), b.as_phc());
        Ok(())
    }

    #[test]
    fn weaker_params_are_refused() -> TestResult {
        for (m, t, p) in [(19_455, 2, 1), (19_456, 1, 1), (19_456, 2, 0), (4096, 3, 1)] {
            let e = PasswordHasher::with_params(m, t, p)
                .err()
                .ok_or_else(|| format!("m={m} t={t} p={p} was accepted"))?;
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert_eq!(e.field(), Some("argon2"));
        }
        assert!(PasswordHasher::with_params(19_456, 2, 1).is_ok());
        assert!(PasswordHasher::with_params(65_536, 3, 2).is_ok());
        Ok(())
    }

    #[tokio::test]
    async fn verify_without_hash_returns_false() {
        let h = PasswordHasher::owasp();
        assert!(!h.verify(&pw("anything"), None).await);
        // The dummy is made once and reused.
        assert!(!h.verify(&pw("anything"), None).await);
        assert!(h.dummy.get().is_some_and(Option::is_some));
    }

    #[tokio::test]
    async fn needs_rehash_detects_other_params() -> TestResult {
        let owasp = PasswordHasher::owasp();
        let stronger = PasswordHasher::with_params(19_456, 3, 1)?;
        let hash = owasp.hash(&pw("pw")).await?;
        assert!(!owasp.needs_rehash(&hash));
        assert!(stronger.needs_rehash(&hash));
        // A hash with other parameters still verifies (its own parameters are used).
        assert!(stronger.verify(&pw("pw"), Some(&hash)).await);
        assert!(owasp.needs_rehash(&PasswordHash::from_phc("not a phc string".into())));
        Ok(())
    }

    #[tokio::test]
    async fn malformed_stored_hash_verifies_false() {
        let h = PasswordHasher::owasp();
        for bad in [
            "",
            "garbage",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                !h.verify(&pw("pw"), Some(&PasswordHash::from_phc(bad.into())))
                    .await,
                "{bad}"
            );
        }
    }
}
