use std::io::{Read, Write};

use super::*;

fn seal(r: &[Recipient], plain: &[u8]) -> Vec<u8> {
    let mut e = Encryptor::new(r, Vec::new()).expect("header");
    e.write_all(plain).expect("write");
    e.finish().expect("finish")
}

fn open(ids: &[Identity], sealed: &[u8]) -> Result<Vec<u8>, AgeError> {
    let mut d = Decryptor::new(ids, sealed)?;
    let mut out = Vec::new();
    d.read_to_end(&mut out).map_err(|e| match e.into_inner() {
        Some(inner) => match inner.downcast::<AgeError>() {
            Ok(a) => *a,
            Err(other) => AgeError::Io(io::Error::other(other)),
        },
        None => AgeError::BadPayload,
    })?;
    Ok(out)
}

#[test]
fn round_trips_at_every_chunk_boundary_and_to_several_recipients() {
    let (a, b) = (Identity::generate(), Identity::generate());
    let recipients = [a.recipient(), b.recipient()];
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let sealed = seal(&recipients, &plain);
        assert_eq!(
            open(std::slice::from_ref(&a), &sealed).expect("a"),
            plain,
            "{len}"
        );
        assert_eq!(
            open(std::slice::from_ref(&b), &sealed).expect("b"),
            plain,
            "{len}"
        );
    }
}

#[test]
fn keys_survive_their_text_form() {
    let id = Identity::generate();
    let text = format!(
        "# created: now\n# public key: {:?}\n{}\n",
        id.recipient(),
        *id.encode()
    );
    let back = Identity::parse_file(&text).expect("parse");
    assert_eq!(back[0].recipient(), id.recipient());
    let r = Recipient::parse(&id.recipient().encode()).expect("recipient");
    assert_eq!(r, id.recipient());
    assert!(Recipient::parse(&id.encode()).is_err());
    assert!(Identity::parse(&id.recipient().encode()).is_err());
}

#[test]
fn wrong_key_altered_header_and_damaged_payload_are_refused() {
    let id = Identity::generate();
    let plain = vec![42u8; 3 * CHUNK];
    let sealed = seal(&[id.recipient()], &plain);
    assert!(matches!(
        open(&[Identity::generate()], &sealed),
        Err(AgeError::NoMatch)
    ));
    // A byte of the header's stanza: the file key no longer unwraps, or the MAC fails.
    let mut h = sealed.clone();
    h[40] ^= 1;
    assert!(open(std::slice::from_ref(&id), &h).is_err());
    // The MAC itself.
    let mac_at = sealed.windows(4).position(|w| w == b"--- ").expect("mac") + 5;
    let mut m = sealed.clone();
    m[mac_at] ^= 1;
    assert!(matches!(
        open(std::slice::from_ref(&id), &m),
        Err(AgeError::BadMac | AgeError::Malformed(_))
    ));
    // A payload byte, the tail, a whole final chunk, or a chunk boundary cut.
    let mut p = sealed.clone();
    let last = p.len() - 1;
    p[last - 100] ^= 1;
    assert!(matches!(
        open(std::slice::from_ref(&id), &p),
        Err(AgeError::BadPayload)
    ));
    let header_len = sealed.len() - 3 * (CHUNK + TAG);
    for cut in [1, TAG, CHUNK + TAG] {
        let t = &sealed[..sealed.len() - cut];
        assert!(
            matches!(
                open(std::slice::from_ref(&id), t),
                Err(AgeError::BadPayload)
            ),
            "cut {cut}"
        );
    }
    let boundary = &sealed[..header_len + 2 * (CHUNK + TAG)];
    assert!(matches!(
        open(std::slice::from_ref(&id), boundary),
        Err(AgeError::BadPayload)
    ));
    // Appended data.
    let mut longer = sealed.clone();
    longer.extend_from_slice(&[0; 5]);
    assert!(open(std::slice::from_ref(&id), &longer).is_err());
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let id = Identity::generate();
    for g in [
        &b""[..],
        b"age-encryption.org/v1\n",
        b"hello\n",
        b"age-encryption.org/v1\n-> X25519 !!\n",
    ] {
        assert!(open(std::slice::from_ref(&id), g).is_err());
    }
    let huge = format!("age-encryption.org/v1\n-> a {}\n", "b".repeat(MAX_HEADER));
    assert!(open(std::slice::from_ref(&id), huge.as_bytes()).is_err());
}

/// The reference `age` tool (installed by scripts/install-test-deps) opens what we seal,
/// and we open what it seals: the format is age, not something like it.
#[test]
fn the_reference_age_tool_agrees_both_ways() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("dir");
    let id = Identity::generate();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{}\n", *id.encode())).expect("key");
    let plain: Vec<u8> = (0..(2 * CHUNK + 77)).map(|i| (i % 253) as u8).collect();
    let ours = dir.path().join("ours.age");
    std::fs::write(&ours, seal(&[id.recipient()], &plain)).expect("write");
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(&key_file)
        .arg(&ours)
        .output()
        .expect("the age tool (scripts/install-test-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, plain, "age opened our file");
    let mut child = Command::new("age")
        .args(["-r", &id.recipient().encode()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("age");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&plain)
        .expect("pipe");
    let theirs = child.wait_with_output().expect("age");
    assert!(theirs.status.success());
    assert_eq!(
        open(std::slice::from_ref(&id), &theirs.stdout).expect("ours opens theirs"),
        plain
    );
    // A key made by age-keygen works here too.
    let out = Command::new("age-keygen").output().expect("age-keygen");
    let text = String::from_utf8(out.stdout).expect("text");
    let ids = Identity::parse_file(&text).expect("age-keygen's file parses");
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("public key line");
    assert_eq!(ids[0].recipient().encode(), public);
}
