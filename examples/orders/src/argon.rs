//! argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane) over memory that
//! is allocated once per hashing slot and then reused.
//!
//! Allocating and freeing 19 MiB per login looks harmless, but glibc raises
//! its mmap threshold after the first such free and from then on serves
//! these blocks from per-thread arenas that keep them: 500 logins at once
//! left a peak of ~800 MB although only four ran at a time. Reused
//! buffers keep the peak at one buffer per slot.

use std::sync::Mutex;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The working memory of one argon2 run.
pub struct Memory(Box<[Block]>);

/// Buffers not in use. A run takes one only inside a hashing slot, so there
/// are never more buffers than slots.
static FREE: Mutex<Vec<Memory>> = Mutex::new(Vec::new());

/// A free buffer, or a new one.
pub fn take() -> Memory {
    let kept = FREE.lock().ok().and_then(|mut free| free.pop());
    kept.unwrap_or_else(|| Memory(vec![Block::default(); Params::default().block_count()].into_boxed_slice()))
}

/// Returns `memory` for the next run.
pub fn give_back(memory: Memory) {
    if let Ok(mut free) = FREE.lock() {
        free.push(memory);
    }
}

/// Hashes `password` with the default parameters and a fresh 16-byte salt
/// into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(memory: &mut Memory, password: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, &mut memory.0[..])
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, compared in constant
/// time. A string that does not parse, or whose parameters need more memory
/// than a buffer holds, verifies as "no": fail closed.
pub fn verify(memory: &mut Memory, password: &[u8], phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else { return false };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else { return false };
    let Ok(version) = stored.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&stored) else { return false };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else { return false };
    let mut out = vec![0u8; expected.as_ref().len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut out,
        &mut memory.0[..],
    );
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == *expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    use argon2::Argon2;

    use super::{give_back, hash, take, verify};

    #[test]
    fn hashes_verify_both_ways_with_the_crates_own_functions() {
        let mut memory = take();
        let ours = hash(&mut memory, b"alice-pass").expect("hash");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(verify(&mut memory, b"alice-pass", &ours));
        assert!(!verify(&mut memory, b"alice-pasS", &ours));
        assert!(Argon2::default().verify_password(b"alice-pass", ours.as_str()).is_ok());
        let theirs = Argon2::default().hash_password(b"bob-pass").expect("hash").to_string();
        assert!(verify(&mut memory, b"bob-pass", &theirs));
        assert!(!verify(&mut memory, b"alice-pass", &theirs));
        for garbage in
            ["", "x", "$argon2id$v=19$m=19456,t=2,p=1$", "$argon2id$v=19$m=999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA"]
        {
            assert!(!verify(&mut memory, b"x", garbage), "{garbage}");
        }
        give_back(memory);
    }
}
