//! The whole-log verifier against each way a log can be falsified, including by
//! someone holding the server's own signing key.

use super::*;
use crate::Event;
use crate::merkle::Frontier;
use crate::signed::{Checkpoint, Signer};

fn event(n: u64, tag: &str) -> Event {
    Event {
        actor_account: Some(format!("acct{n}")),
        actor_session: None,
        club: Some("club".into()),
        action: "test.act".into(),
        target: format!("{tag}:{n}"),
        change_digest: Event::digest(&n.to_be_bytes()),
        ip: None,
        user_agent: None,
    }
}

fn chain(n: u64, tag_from: u64) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for i in 1..=n {
        let prev = out.last().map(|e| (e.seq, e.hash));
        let tag = if i >= tag_from { "rewritten" } else { "thing" };
        out.push(Entry::next(
            prev,
            1_700_000_000_000 + i as i64,
            event(i, tag),
        ));
    }
    out
}

fn sign_at(s: &Signer, entries: &[Entry], sizes: &[u64]) -> Vec<String> {
    sizes
        .iter()
        .map(|&size| {
            let mut f = Frontier::default();
            for e in &entries[..size as usize] {
                f.push(e.leaf_hash());
            }
            s.sign_checkpoint(&Checkpoint {
                size,
                root: f.root(),
                ts_ms: size as i64,
            })
        })
        .collect()
}

fn key() -> Signer {
    Signer::new("test/tekkan-audit", &[9; 32])
}

fn history() -> Vec<KeyRecord> {
    vec![KeyRecord {
        key: key().public(),
        by_previous: None,
        by_this: None,
    }]
}

#[test]
fn an_intact_log_verifies_against_all_its_checkpoints() {
    let log = chain(20, u64::MAX);
    let cps = sign_at(&key(), &log, &[5, 12, 20]);
    let r = verify_log(
        log.clone(),
        &cps,
        &history(),
        &[key().public()],
        Some(&cps[1]),
    )
    .unwrap();
    assert_eq!((r.entries, r.checkpoints, r.signed_size), (20, 3, 20));
    // Entries written after the newest checkpoint are fine.
    let more = chain(25, u64::MAX);
    verify_log(more, &cps, &history(), &[key().public()], None).unwrap();
}

#[test]
fn each_falsification_is_named() {
    let log = chain(20, u64::MAX);
    let cps = sign_at(&key(), &log, &[5, 12, 20]);
    let trusted = [key().public()];
    let run = |entries: Vec<Entry>, cps: &[String], saved: Option<&str>| {
        verify_log(entries, cps, &history(), &trusted, saved)
    };

    let mut altered = log.clone();
    altered[6].event.target = "thing:evil".into();
    assert_eq!(run(altered, &cps, None), Err(LogError::Altered { seq: 7 }));

    let mut deleted = log.clone();
    deleted.remove(9);
    assert_eq!(
        run(deleted, &cps, None),
        Err(LogError::Missing {
            expected: 10,
            found: 11
        })
    );

    let mut reordered = log.clone();
    reordered.swap(3, 4);
    reordered[3].seq = 4;
    reordered[4].seq = 5;
    assert_eq!(
        run(reordered, &cps, None),
        Err(LogError::BrokenLink { seq: 4 })
    );

    assert_eq!(
        run(log[..15].to_vec(), &cps, None),
        Err(LogError::Truncated {
            entries: 15,
            signed: 20
        })
    );

    // An older copy is consistent with itself; only a checkpoint saved since shows it.
    let old_cps = &cps[..2];
    run(log[..12].to_vec(), old_cps, None).unwrap();
    assert_eq!(
        run(log[..12].to_vec(), old_cps, Some(&cps[2])),
        Err(LogError::RolledBack {
            saved: 20,
            entries: 12
        })
    );

    // The server's own key re-signs a rewritten history: every link and checkpoint of
    // the new log holds, but the checkpoint an auditor saved does not.
    let rewritten = chain(20, 8);
    let new_cps = sign_at(&key(), &rewritten, &[5, 12, 20]);
    run(rewritten.clone(), &new_cps, None).unwrap();
    assert_eq!(
        run(rewritten.clone(), &new_cps, Some(&cps[1])),
        Err(LogError::Rewritten { size: 12 })
    );
    // And the old signed checkpoints do not fit it.
    assert_eq!(
        run(rewritten, &cps, None),
        Err(LogError::CheckpointMismatch { size: 12 })
    );

    // A checkpoint signed by a key nobody trusts.
    let other = Signer::new("test/tekkan-audit", &[10; 32]);
    let forged = sign_at(&other, &log, &[20]);
    assert!(matches!(
        run(log.clone(), &forged, None),
        Err(LogError::Checkpoint { index: 0, .. })
    ));
}
