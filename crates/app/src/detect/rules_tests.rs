//! Each rule replayed against a controlled clock: it fires once when its threshold is
//! crossed inside its window, not before, not again while the attack goes on, and again
//! after a quiet spell.

use super::*;

const S: i64 = 1_000;
const T0: i64 = 1_800_000_000_000;

fn rules() -> Rules {
    Rules::new(Thresholds::default())
}

#[test]
fn credential_stuffing_is_20_accounts_from_one_prefix_in_60_seconds() {
    let mut r = rules();
    let mut fired = Vec::new();
    // 19 accounts in 57 s from addresses of one /24: nothing yet.
    for i in 0..19 {
        fired.extend(r.failed_login(
            &format!("acct{i}"),
            "203.0.113.0/24",
            &format!("pw{i}"),
            T0 + i * 3 * S,
        ));
    }
    assert!(
        fired.iter().all(|f| f.rule != Rule::CredentialStuffing),
        "{fired:?}"
    );
    // The 20th within the minute fires, once.
    let f = r.failed_login("acct19", "203.0.113.0/24", "pw19", T0 + 58 * S);
    let stuffing: Vec<_> = f
        .iter()
        .filter(|f| f.rule == Rule::CredentialStuffing)
        .collect();
    assert_eq!(stuffing.len(), 1);
    assert_eq!(stuffing[0].subject, "203.0.113.0/24");
    assert_eq!(stuffing[0].count, 20);
    assert!(stuffing[0].enforce);
    assert_eq!(Rule::CredentialStuffing.appsensor(), "AE1");
    // More of the same attack does not fire again.
    for i in 20..40 {
        let f = r.failed_login(&format!("acct{i}"), "203.0.113.0/24", "x", T0 + 59 * S);
        assert!(f.iter().all(|f| f.rule != Rule::CredentialStuffing));
    }
    // The same 20 accounts spread over 2 minutes never reach 20 in a minute.
    let mut r = rules();
    for i in 0..20 {
        let f = r.failed_login(&format!("acct{i}"), "198.51.100.0/24", "x", T0 + i * 6 * S);
        assert!(
            f.iter().all(|f| f.rule != Rule::CredentialStuffing),
            "at {i}"
        );
    }
    // One account tried 20 times is not stuffing (it is failed logins on one account).
    let mut r = rules();
    let mut all = Vec::new();
    for i in 0..20 {
        all.extend(r.failed_login("same", "192.0.2.0/24", "x", T0 + i * S));
    }
    assert!(all.iter().all(|f| f.rule != Rule::CredentialStuffing));
    assert_eq!(
        all.iter()
            .filter(|f| f.rule == Rule::FailedLoginsAccount)
            .count(),
        1
    );
}

#[test]
fn stuffing_fires_again_after_a_quiet_spell() {
    let mut r = rules();
    let count = |r: &mut Rules, base: i64| {
        (0..20)
            .flat_map(|i| r.failed_login(&format!("a{i}"), "203.0.113.0/24", "x", base + i * S))
            .filter(|f| f.rule == Rule::CredentialStuffing)
            .count()
    };
    assert_eq!(count(&mut r, T0), 1);
    // Two minutes later the window has emptied; a new wave is a new detection.
    assert_eq!(count(&mut r, T0 + 180 * S), 1);
}

#[test]
fn spraying_is_one_wrong_password_against_10_accounts_in_10_minutes() {
    let mut r = rules();
    let mut sprayed = 0;
    for i in 0..10 {
        // From ten different networks, a minute apart: only the password links them.
        let f = r.failed_login(
            &format!("victim{i}"),
            &format!("10.{i}.0.0/24"),
            "Summer2026!",
            T0 + i * 60 * S,
        );
        sprayed += f
            .iter()
            .filter(|f| f.rule == Rule::PasswordSpraying)
            .count();
        if i < 9 {
            assert_eq!(sprayed, 0, "fired early at {i}");
        }
    }
    assert_eq!(sprayed, 1);
    // Ten different wrong passwords against ten accounts are not spraying.
    let mut r = rules();
    let f: Vec<_> = (0..10)
        .flat_map(|i| {
            r.failed_login(
                &format!("v{i}"),
                "10.0.0.0/24",
                &format!("p{i}"),
                T0 + i * S,
            )
        })
        .collect();
    assert!(f.iter().all(|f| f.rule != Rule::PasswordSpraying));
    // The same password against 10 accounts over 11 minutes is not within the window.
    let mut r = rules();
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.failed_login(&format!("v{i}"), "10.0.0.0/24", "same", T0 + i * 73 * S))
        .collect();
    assert!(f.iter().all(|f| f.rule != Rule::PasswordSpraying));
}

#[test]
fn failed_logins_per_account_and_per_prefix() {
    let mut r = rules();
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.failed_login("owner", &format!("10.{i}.0.0/24"), "x", T0 + i * 50 * S))
        .collect();
    let account: Vec<_> = f
        .iter()
        .filter(|f| f.rule == Rule::FailedLoginsAccount)
        .collect();
    assert_eq!(account.len(), 1);
    assert_eq!(Rule::FailedLoginsAccount.appsensor(), "AE2");
    let mut r = rules();
    let f: Vec<_> = (0..50)
        .flat_map(|i| {
            r.failed_login(
                &format!("a{}", i % 3),
                "2001:db8:1:2::/64",
                "x",
                T0 + i * 10 * S,
            )
        })
        .collect();
    assert_eq!(
        f.iter()
            .filter(|f| f.rule == Rule::FailedLoginsPrefix)
            .count(),
        1
    );
    assert!(f.iter().all(|f| f.rule != Rule::CredentialStuffing));
}

#[test]
fn forced_browsing_needs_many_refusals_across_many_objects() {
    let mut r = rules();
    // Ten refusals of the same object: a broken link, not browsing.
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.denied("acct", "/clubs/x", T0 + i * S))
        .collect();
    assert!(f.is_empty());
    let mut r = rules();
    let mut f = Vec::new();
    for i in 0..10 {
        f.extend(r.denied("acct", &format!("/api/v1/clubs/{}", i % 5), T0 + i * 20 * S));
    }
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule.appsensor(), "ACE3");
    // Spread over more than five minutes: never ten at once.
    let mut r = rules();
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.denied("b", &format!("/o/{i}"), T0 + i * 40 * S))
        .collect();
    assert!(f.is_empty());
}

#[test]
fn a_burst_of_server_errors() {
    let mut r = rules();
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.server_error(T0 + i * 29 * S))
        .collect();
    assert_eq!(f.len(), 1);
    let f: Vec<_> = (0..10)
        .flat_map(|i| r.server_error(T0 + 3_600 * S + i * 40 * S))
        .collect();
    assert!(f.is_empty(), "nine at most in any five minutes");
}

#[test]
fn notify_only_and_off_are_configuration() {
    let mut t = Thresholds::default();
    t.notify_only.insert(Rule::CredentialStuffing);
    t.off.insert(Rule::FailedLoginsAccount);
    let mut r = Rules::new(t);
    let f: Vec<_> = (0..20)
        .flat_map(|i| r.failed_login(&format!("a{}", i), "203.0.113.0/24", "x", T0 + i * S))
        .collect();
    let s = f
        .iter()
        .find(|f| f.rule == Rule::CredentialStuffing)
        .unwrap();
    assert!(!s.enforce);
    let mut r = Rules::new({
        let mut t = Thresholds::default();
        t.off.insert(Rule::FailedLoginsAccount);
        t
    });
    let f: Vec<_> = (0..12)
        .flat_map(|i| r.failed_login("one", "x", "x", T0 + i * S))
        .collect();
    assert!(f.iter().all(|f| f.rule != Rule::FailedLoginsAccount));
}

#[test]
fn prefixes_are_24_and_64() {
    assert_eq!(prefix(Some("203.0.113.77")), "203.0.113.0/24");
    assert_eq!(prefix(Some("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
    assert_eq!(prefix(Some("::ffff:192.0.2.9")), "192.0.2.0/24");
    assert_eq!(prefix(Some("nonsense")), "unknown");
    assert_eq!(prefix(None), "unknown");
}

#[test]
fn bulk_reads_are_30_distinct_reads_of_peoples_data_by_one_account_in_10_minutes() {
    let mut r = rules();
    // Looking at the same roster again and again is not scraping.
    for i in 0..100 {
        assert!(
            r.sensitive_read("account:a", "roster.read club:x", T0 + i * S)
                .is_empty()
        );
    }
    // An officer's normal day: 29 people's fields over an hour never fire.
    for i in 0..29 {
        let what = format!("personal.read account:{i}");
        assert!(
            r.sensitive_read("account:a", &what, T0 + i * 120 * S)
                .is_empty()
        );
    }
    // Scraping: 30 people within ten minutes fires once, for that account only.
    let mut fired = Vec::new();
    for i in 0..40 {
        let what = format!("personal.read account:{i}");
        fired.extend(r.sensitive_read("account:b", &what, T0 + i * 10 * S));
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].rule, fired[0].subject.as_str(), fired[0].count),
        (Rule::BulkReads, "account:b", 30)
    );
    assert_eq!(fired[0].rule.appsensor(), "UT2");
    // After a quiet spell, scraping again fires again.
    let later = T0 + 3 * 3_600 * S;
    let again: Vec<_> = (0..30)
        .flat_map(|i| r.sensitive_read("account:b", &format!("p {i}"), later + i * S))
        .collect();
    assert_eq!(again.len(), 1);
}

#[test]
fn the_servers_own_state_fires_once_when_it_goes_wrong() {
    let mut r = rules();
    let none: Vec<String> = Vec::new();
    let day = 24 * 3_600;
    // Healthy: a backup 25 h old, 50% of the disk free.
    assert!(
        r.system(&none, Some(25 * 3_600), Some((50, 100)), T0)
            .is_empty()
    );
    // A file probe failing is no integrity matter; the audit chain is.
    let files = vec!["files".to_owned()];
    assert!(r.system(&files, None, None, T0 + S).is_empty());
    let chain = vec!["audit_chain".to_owned(), "files".to_owned()];
    let f = r.system(&chain, None, None, T0 + 2 * S);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule, f[0].subject.as_str()),
        (Rule::IntegrityFailure, "audit_chain")
    );
    assert_eq!(f[0].rule.appsensor(), "SYS1");
    // Still failing: not again. Passing, then failing again: again.
    assert!(r.system(&chain, None, None, T0 + 3 * S).is_empty());
    assert!(r.system(&none, None, None, T0 + 4 * S).is_empty());
    assert_eq!(r.system(&chain, None, None, T0 + 5 * S).len(), 1);
    // No backup for 26 hours and a minute; 9% of the disk free.
    let f = r.system(
        &none,
        Some(day + 2 * 3_600 + 60),
        Some((9, 100)),
        T0 + 6 * S,
    );
    let which: Vec<Rule> = f.iter().map(|f| f.rule).collect();
    assert_eq!(which, [Rule::BackupStale, Rule::DiskLow]);
    assert_eq!(f[0].count, 26, "hours");
    assert_eq!(f[1].count, 9, "per cent free");
    // Backups not scheduled, or the disk not yet sampled: nothing to say.
    let mut r = rules();
    assert!(r.system(&none, None, None, T0).is_empty());
}

#[test]
fn an_abandoned_second_step_fires_once_per_account_in_10_minutes() {
    let mut r = rules();
    let f = r.abandoned_second_step("account:a", 2, T0);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule.appsensor(), f[0].count), ("UT1", 2));
    // More abandoned tries of the same account within ten minutes: the same alert.
    assert!(
        r.abandoned_second_step("account:a", 0, T0 + 5 * 60 * S)
            .is_empty()
    );
    assert_eq!(
        r.abandoned_second_step("account:b", 0, T0 + 5 * 60 * S)
            .len(),
        1
    );
    // After ten quiet minutes, again.
    assert_eq!(
        r.abandoned_second_step("account:a", 0, T0 + 16 * 60 * S)
            .len(),
        1
    );
}

#[test]
fn a_replayed_revoked_token_and_a_new_device_fire_each_time() {
    let mut r = rules();
    let f = r.revoked_session("account:a", Some("dev"), T0);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule.appsensor(), f[0].device.as_deref()),
        ("SE4", Some("dev"))
    );
    assert_eq!(f[0].rule.severity(), Severity::Critical);
    assert_eq!(r.revoked_session("account:a", None, T0 + S).len(), 1);
    let f = r.new_device("account:a", T0);
    assert_eq!(
        (f[0].rule.appsensor(), f[0].rule.severity()),
        ("AE13", Severity::Info)
    );
    let mut quiet = Thresholds::default();
    quiet.off.insert(Rule::NewDevice);
    assert!(Rules::new(quiet).new_device("account:a", T0).is_empty());
}
