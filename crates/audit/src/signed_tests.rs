//! Signed notes, receipts and key successions: genuine ones verify, any change breaks
//! them, and keys are only accepted through a chain of signatures.

use super::*;

fn signer(n: u8) -> Signer {
    Signer::new("club.example.jp/audit", &[n; 32])
}

fn cp() -> Checkpoint {
    Checkpoint {
        size: 42,
        root: [7; 32],
        ts_ms: 1_790_000_000_000,
    }
}

#[test]
fn a_signed_checkpoint_opens_with_its_key_only() {
    let s = signer(1);
    let note = s.sign_checkpoint(&cp());
    assert!(note.starts_with("club.example.jp/audit\n42\n"));
    let opened = open_checkpoint(&note, &[s.public()]).unwrap();
    assert_eq!(opened.checkpoint, cp());
    assert_eq!(
        open_checkpoint(&note, &[signer(2).public()]),
        Err(SignError::UnknownKey("checkpoint"))
    );
    // Any changed line of the body breaks the signature.
    for (from, to) in [("\n42\n", "\n43\n"), ("time 1790", "time 1791")] {
        let forged = note.replacen(from, to, 1);
        assert_eq!(
            open_checkpoint(&forged, &[s.public()]),
            Err(SignError::BadSignature("checkpoint"))
        );
    }
    assert!(open_checkpoint("junk", &[s.public()]).is_err());
}

#[test]
fn public_keys_round_trip_and_reject_junk() {
    // Many seeds, so that base64 with '+' and '/' in the key is covered.
    for n in 0..=255u8 {
        let k = signer(n).public();
        assert_eq!(PublicKey::parse(&k.encode()).unwrap(), k);
    }
    let k = signer(3).public();
    let text = k.encode();
    let wrong_id = text.replacen('+', "+0", 1);
    assert!(PublicKey::parse(&wrong_id).is_err());
    assert!(PublicKey::parse("nothing").is_err());
}

#[test]
fn receipts_verify_and_detect_any_change() {
    let s = signer(4);
    let r = s.receipt(9, &[5; 32]);
    let parsed = Receipt::parse(&r.encode()).unwrap();
    assert_eq!(parsed, r);
    parsed.verify(&[s.public()]).unwrap();
    let mut moved = r.clone();
    moved.index = 10;
    assert_eq!(
        moved.verify(&[s.public()]),
        Err(SignError::BadSignature("receipt"))
    );
    let mut other = r.clone();
    other.leaf[0] ^= 1;
    assert!(other.verify(&[s.public()]).is_err());
    assert_eq!(
        r.verify(&[signer(5).public()]),
        Err(SignError::UnknownKey("receipt"))
    );
    assert!(Receipt::parse("v1.x.y").is_err());
}

#[test]
fn rotated_keys_are_accepted_through_their_succession_both_ways() {
    let (a, b, c) = (signer(10), signer(11), signer(12));
    let rec = |prev: Option<&Signer>, this: &Signer| KeyRecord {
        key: this.public(),
        by_previous: prev.map(|p| p.sign_succession(&p.public(), &this.public())),
        by_this: prev.map(|p| this.sign_succession(&p.public(), &this.public())),
    };
    let history = vec![rec(None, &a), rec(Some(&a), &b), rec(Some(&b), &c)];
    // Trusting the first key leads forward; trusting the last leads back.
    for trusted in [a.public(), c.public(), b.public()] {
        let acc = accepted_keys(&[trusted], &history);
        assert_eq!(acc.len(), 3);
    }
    // A key appended by someone without the previous key is not accepted, even with
    // its own signature.
    let mallory = signer(66);
    let mut forged = history.clone();
    forged.push(KeyRecord {
        key: mallory.public(),
        by_previous: Some(mallory.sign_succession(&c.public(), &mallory.public())),
        by_this: Some(mallory.sign_succession(&c.public(), &mallory.public())),
    });
    let acc = accepted_keys(&[a.public()], &forged);
    assert!(!acc.contains(&mallory.public()));
    // Nor a succession whose previous-key signature is missing.
    let mut unsigned = history.clone();
    unsigned[2].by_previous = None;
    assert_eq!(accepted_keys(&[a.public()], &unsigned).len(), 2);
}

#[test]
fn promises_verify_tie_to_their_leaf_and_detect_any_change() {
    let s = signer(5);
    let event = crate::Event {
        actor_account: Some("a".into()),
        actor_session: None,
        club: Some("c".into()),
        action: "attendance.answer".into(),
        target: "answer:x".into(),
        change_digest: [3; 32],
        ip: None,
        user_agent: None,
    };
    // Placed later at position 8 after an entry with hash [9; 32].
    let entry = crate::Entry::next(Some((7, [9; 32])), 1_790_000_000_000, event);
    let p = s.promise(&entry.content_hash(), entry.ts_ms, 5_000);
    let text = p.encode();
    assert!(text.starts_with("v2."));
    let parsed = Promise::parse(&text).unwrap();
    assert_eq!(parsed, p);
    parsed.verify(&[s.public()]).unwrap();
    assert_eq!(
        AnyReceipt::parse(&text).unwrap(),
        AnyReceipt::Promised(p.clone())
    );
    assert_eq!(
        parsed.leaf_at(entry.seq, &entry.prev_hash),
        entry.leaf_hash()
    );
    // At another position or after another entry it is another leaf.
    assert_ne!(
        parsed.leaf_at(entry.seq + 1, &entry.prev_hash),
        entry.leaf_hash()
    );
    assert_ne!(parsed.leaf_at(entry.seq, &[8; 32]), entry.leaf_hash());
    for change in [
        |p: &mut Promise| p.content[0] ^= 1,
        |p: &mut Promise| p.ts_ms += 1,
        |p: &mut Promise| p.mmd_ms += 1,
    ] {
        let mut forged = p.clone();
        change(&mut forged);
        assert_eq!(
            forged.verify(&[s.public()]),
            Err(SignError::BadSignature("receipt"))
        );
    }
    assert_eq!(
        p.verify(&[signer(6).public()]),
        Err(SignError::UnknownKey("receipt"))
    );
    for junk in ["v2.x", "v2.00.1.2.3.4", "v3.a.b.c.d.e"] {
        assert!(Promise::parse(junk).is_err());
    }
    let v1 = s.receipt(1, &[5; 32]);
    assert_eq!(
        AnyReceipt::parse(&v1.encode()).unwrap(),
        AnyReceipt::Placed(v1)
    );
}
