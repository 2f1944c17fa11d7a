//! age v1 encryption (C2SP `age-encryption.org/v1`) to X25519 recipients, streaming.
//! The server holds only recipients (public keys); identities (private keys) stay with
//! the operator. Interoperable with the reference `age` tool, which the tests check in
//! both directions.

use std::io::{self, BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::bech32;

const VERSION_LINE: &str = "age-encryption.org/v1";
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// Headers beyond this are refused unread (a hostile file must not exhaust memory).
const MAX_HEADER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AgeError {
    #[error("not an age file or a malformed one: {0}")]
    Malformed(&'static str),
    #[error("not an age key: {0}")]
    BadKey(&'static str),
    #[error("none of the given identities can open this file (wrong decryption key)")]
    NoMatch,
    #[error("the age header's MAC does not match: the header was altered")]
    BadMac,
    #[error("the encrypted payload is corrupted or truncated")]
    BadPayload,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<AgeError> for io::Error {
    fn from(e: AgeError) -> Self {
        match e {
            AgeError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// A public key files are encrypted to (`age1...`).
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient([u8; 32]);

impl Recipient {
    pub fn parse(s: &str) -> Result<Self, AgeError> {
        let (hrp, data) = bech32::decode(s.trim()).ok_or(AgeError::BadKey("bad bech32"))?;
        if hrp != "age" {
            return Err(AgeError::BadKey("a recipient starts with age1"));
        }
        Ok(Self(
            data.try_into()
                .map_err(|_| AgeError::BadKey("wrong length"))?,
        ))
    }

    pub fn encode(&self) -> String {
        bech32::encode("age", &self.0)
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// A private key (`AGE-SECRET-KEY-1...`), as `age-keygen` writes it. Zeroed on drop.
#[derive(Clone)]
pub struct Identity(StaticSecret);

impl Identity {
    pub fn generate() -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *b);
        Self(StaticSecret::from(*b))
    }

    /// Every identity in an identity file's text (comments and blank lines skipped).
    pub fn parse_file(text: &str) -> Result<Vec<Self>, AgeError> {
        let ids = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        match ids.is_empty() {
            true => Err(AgeError::BadKey("no AGE-SECRET-KEY-1 line")),
            false => Ok(ids),
        }
    }

    pub fn parse(s: &str) -> Result<Self, AgeError> {
        let (hrp, data) = bech32::decode(s).ok_or(AgeError::BadKey("bad bech32"))?;
        if hrp != "age-secret-key-" {
            return Err(AgeError::BadKey("an identity starts with AGE-SECRET-KEY-1"));
        }
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
            data.try_into()
                .map_err(|_| AgeError::BadKey("wrong length"))?,
        );
        Ok(Self(StaticSecret::from(*bytes)))
    }

    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(bech32::encode("age-secret-key-", self.0.as_bytes()).to_uppercase())
    }

    pub fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0).to_bytes())
    }
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hkdf::Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut *out);
    out
}

fn header_mac(file_key: &[u8; 16], header: &[u8]) -> Hmac<Sha256> {
    let key = hkdf(&[], file_key, b"header");
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&*key).expect("HMAC takes any key length");
    m.update(header);
    m
}

/// The nonce of STREAM chunk `counter`: 11 bytes big-endian, then the last-chunk flag.
fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// Encrypts everything written to it; [`Encryptor::finish`] writes the last chunk.
pub struct Encryptor<W: Write> {
    out: W,
    aead: ChaCha20Poly1305,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> Encryptor<W> {
    pub fn new(recipients: &[Recipient], mut out: W) -> Result<Self, AgeError> {
        if recipients.is_empty() {
            return Err(AgeError::BadKey("at least one recipient is needed"));
        }
        let mut file_key = Zeroizing::new([0u8; 16]);
        OsRng.fill_bytes(&mut *file_key);
        let mut header = format!("{VERSION_LINE}\n");
        for r in recipients {
            let mut e = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(&mut *e);
            let e = StaticSecret::from(*e);
            let share = PublicKey::from(&e);
            let shared = e.diffie_hellman(&PublicKey::from(r.0));
            if !shared.was_contributory() {
                return Err(AgeError::BadKey("a recipient is a low-order point"));
            }
            let mut salt = share.as_bytes().to_vec();
            salt.extend_from_slice(&r.0);
            let wrap = hkdf(&salt, shared.as_bytes(), X25519_LABEL);
            let mut body = *file_key;
            let tag = ChaCha20Poly1305::new(Key::from_slice(&*wrap))
                .encrypt_in_place_detached(&Nonce::default(), b"", &mut body)
                .map_err(|_| AgeError::Malformed("wrap"))?;
            let mut wrapped = body.to_vec();
            wrapped.extend_from_slice(&tag);
            header.push_str(&format!(
                "-> X25519 {}\n{}\n",
                B64.encode(share.as_bytes()),
                B64.encode(&wrapped)
            ));
        }
        header.push_str("---");
        let mac = header_mac(&file_key, header.as_bytes())
            .finalize()
            .into_bytes();
        header.push_str(&format!(" {}\n", B64.encode(mac)));
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        out.write_all(header.as_bytes())?;
        out.write_all(&nonce)?;
        let key = hkdf(&nonce, &*file_key, b"payload");
        Ok(Self {
            out,
            aead: ChaCha20Poly1305::new(Key::from_slice(&*key)),
            buf: Vec::with_capacity(CHUNK + TAG),
            counter: 0,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let tag = self
            .aead
            .encrypt_in_place_detached(&chunk_nonce(self.counter, last), b"", &mut self.buf)
            .map_err(|_| io::Error::other("chunk encryption failed"))?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&tag)?;
        self.buf.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the last chunk and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < data.len() {
            // A full chunk is sealed only once more data shows it is not the last.
            if self.buf.len() == CHUNK {
                self.seal(false)?;
            }
            let take = (CHUNK - self.buf.len()).min(data.len() - n);
            self.buf.extend_from_slice(&data[n..n + take]);
            n += take;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts an age file; reading past a corrupted or truncated chunk is an error, never
/// silent data.
pub struct Decryptor<R: BufRead> {
    input: R,
    aead: ChaCha20Poly1305,
    enc: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    counter: u64,
    done: bool,
}

struct Stanza {
    args: Vec<String>,
    body: Vec<u8>,
}

fn read_line<R: BufRead>(r: &mut R, header: &mut Vec<u8>) -> Result<String, AgeError> {
    let start = header.len();
    let n = r
        .by_ref()
        .take((MAX_HEADER - start.min(MAX_HEADER)) as u64)
        .read_until(b'\n', header)?;
    if n == 0 || header.last() != Some(&b'\n') {
        return Err(AgeError::Malformed("header ends early"));
    }
    let line = std::str::from_utf8(&header[start..header.len() - 1])
        .map_err(|_| AgeError::Malformed("header is not text"))?;
    Ok(line.to_owned())
}

fn b64(s: &str) -> Result<Vec<u8>, AgeError> {
    B64.decode(s).map_err(|_| AgeError::Malformed("bad base64"))
}

impl<R: BufRead> Decryptor<R> {
    pub fn new(identities: &[Identity], mut input: R) -> Result<Self, AgeError> {
        let mut header = Vec::new();
        if read_line(&mut input, &mut header)? != VERSION_LINE {
            return Err(AgeError::Malformed("not age v1"));
        }
        let mut stanzas = Vec::new();
        let mac_line = loop {
            let mark = header.len();
            let line = read_line(&mut input, &mut header)?;
            if let Some(mac) = line.strip_prefix("--- ") {
                // The MAC covers the header up to and including "---".
                header.truncate(mark + 3);
                break b64(mac)?;
            }
            let Some(rest) = line.strip_prefix("-> ") else {
                return Err(AgeError::Malformed("expected a stanza"));
            };
            let args: Vec<String> = rest.split(' ').map(str::to_owned).collect();
            let mut body = Vec::new();
            loop {
                let l = read_line(&mut input, &mut header)?;
                if l.len() > 64 {
                    return Err(AgeError::Malformed("stanza line too long"));
                }
                body.extend(b64(&l)?);
                if l.len() < 64 {
                    break;
                }
            }
            stanzas.push(Stanza { args, body });
        };
        let file_key = stanzas
            .iter()
            .find_map(|s| unwrap_x25519(s, identities))
            .ok_or(AgeError::NoMatch)?;
        header_mac(&file_key, &header)
            .verify_slice(&mac_line)
            .map_err(|_| AgeError::BadMac)?;
        let mut nonce = [0u8; 16];
        input
            .read_exact(&mut nonce)
            .map_err(|_| AgeError::BadPayload)?;
        let key = hkdf(&nonce, &*file_key, b"payload");
        Ok(Self {
            input,
            aead: ChaCha20Poly1305::new(Key::from_slice(&*key)),
            enc: Vec::with_capacity(CHUNK + TAG + 1),
            plain: Vec::new(),
            pos: 0,
            counter: 0,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        // One byte beyond a full chunk tells whether this chunk is the last.
        while self.enc.len() < CHUNK + TAG + 1 {
            let want = CHUNK + TAG + 1 - self.enc.len();
            let n = (&mut self.input)
                .take(want as u64)
                .read_to_end(&mut self.enc)?;
            if n == 0 {
                break;
            }
        }
        let last = self.enc.len() <= CHUNK + TAG;
        let take = self.enc.len().min(CHUNK + TAG);
        if take < TAG || (last && take == TAG && self.counter > 0) {
            return Err(AgeError::BadPayload.into());
        }
        let mut chunk: Vec<u8> = self.enc.drain(..take).collect();
        let tag = Tag::clone_from_slice(&chunk[chunk.len() - TAG..]);
        chunk.truncate(chunk.len() - TAG);
        self.aead
            .decrypt_in_place_detached(&chunk_nonce(self.counter, last), b"", &mut chunk, &tag)
            .map_err(|_| io::Error::from(AgeError::BadPayload))?;
        self.counter += 1;
        self.plain = chunk;
        self.pos = 0;
        self.done = last;
        Ok(())
    }
}

fn unwrap_x25519(s: &Stanza, identities: &[Identity]) -> Option<Zeroizing<[u8; 16]>> {
    let [kind, share] = &s.args[..] else {
        return None;
    };
    if kind != "X25519" || s.body.len() != 32 {
        return None;
    }
    let share: [u8; 32] = b64(share).ok()?.try_into().ok()?;
    identities.iter().find_map(|id| {
        let shared = id.0.diffie_hellman(&PublicKey::from(share));
        if !shared.was_contributory() {
            return None;
        }
        let mut salt = share.to_vec();
        salt.extend_from_slice(id.recipient().0.as_slice());
        let wrap = hkdf(&salt, shared.as_bytes(), X25519_LABEL);
        let mut key = Zeroizing::new([0u8; 16]);
        key.copy_from_slice(&s.body[..16]);
        let tag = Tag::clone_from_slice(&s.body[16..]);
        ChaCha20Poly1305::new(Key::from_slice(&*wrap))
            .decrypt_in_place_detached(&Nonce::default(), b"", &mut *key, &tag)
            .ok()?;
        Some(key)
    })
}

impl<R: BufRead> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "age_tests.rs"]
mod tests;
