//! Secrets: argon2id password hashes, bearer tokens and one-time invitation codes. Tokens and
//! codes are stored only as SHA-256 hashes, so a copy of the database grants nothing.
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{CoreError, Result};

/// Hashes a password with argon2id (CPU-heavy: call from a blocking thread).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("hashing a password: {e}")))
}

/// Checks a password against a stored hash (CPU-heavy: call from a blocking thread).
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh bearer token: 256 random bits.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("oct_{}", hex::encode(b))
}

/// A fresh invitation code: 160 random bits, in groups of five for reading aloud.
pub fn new_invite_code() -> String {
    let mut b = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut b);
    let h = hex::encode(b);
    h.as_bytes()
        .chunks(5)
        .map(|c| std::str::from_utf8(c).expect("hex is ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of a token or code. Codes are compared without dashes or case.
pub fn secret_hash(secret: &str) -> String {
    let normal: String = secret
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_codes_are_long_and_unique() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        let a = new_invite_code();
        assert_ne!(a, new_invite_code());
        assert_eq!(a.replace('-', "").len() * 4, 160);
        assert_eq!(
            secret_hash(&a),
            secret_hash(&a.to_uppercase().replace('-', ""))
        );
    }
}
