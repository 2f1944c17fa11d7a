//! What the verifiable audit log costs, measured (`cargo bench -p tekkan-cli --bench audit`):
//!
//! 1. Attendance answers through the application (the most frequent write), audited
//!    with the checkpointer signing every second (30 times the default rate), against the same answers with the
//!    audit chain switched off (a benchmark-only build feature of the storage crate).
//!    Rounds alternate between the two, each on a fresh data directory.
//! 2. The outside verifier over 1,000,000 entries: every entry hash and link, the Merkle
//!    tree, and the roots of 100 signed checkpoints.

use std::time::{Duration, Instant};

use tekkan_app::{AnswerInput, App, BenchSession, Origin, ScaleOptions};
use tekkan_audit::merkle::Frontier;
use tekkan_audit::signed::{Checkpoint, KeyRecord, Signer};
use tekkan_audit::{Entry, Event};
use tekkan_cli::config::Config;
use tekkan_core::Reply;

/// Answers per round: about ten seconds' worth, so that a round holds several
/// checkpoints (a one-second round would hold none after the first).
const ANSWERS: usize = 20_000;
const ROUNDS: usize = 5;

/// A fresh data directory with two generated clubs; the configuration, the opened
/// application and one member's session.
async fn seeded(dir: &std::path::Path) -> (Config, App, BenchSession) {
    tekkan_cli::install_crypto_provider();
    let mut cfg = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    cfg.accounts.enforce_mfa = false;
    cfg.server.listen = "127.0.0.1:0".parse().expect("addr");
    let (app, _, _) = tekkan_cli::open_app(&cfg).await.expect("open");
    let seeded = app
        .seed_scale(&ScaleOptions {
            clubs: 2,
            sessions: 4,
            seed: 7,
        })
        .await
        .expect("seed");
    let session = seeded.sessions[0].clone();
    (cfg, app, session)
}

async fn answers_per_second(audited: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, app, s) = seeded(dir.path()).await;
    if !audited {
        app.db().set_unaudited_for_benchmarks();
    }
    let signed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let checkpoints = (audited && !checkpoints_off()).then(|| {
        let app: App = app.clone();
        let signed = signed.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Ok(Some(_)) = app.checkpoint().await {
                    signed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
    });
    let actor = app
        .authenticate(&s.token, Origin::default())
        .await
        .expect("authenticate")
        .expect("session");
    let started = Instant::now();
    for i in 0..ANSWERS {
        let input = AnswerInput {
            status: if i % 2 == 0 { Reply::Yes } else { Reply::No },
            comment: String::new(),
            decide_by: None,
        };
        app.answer(&actor, s.club, s.occurrence, s.member, &input)
            .await
            .expect("answer");
    }
    let rate = ANSWERS as f64 / started.elapsed().as_secs_f64();
    if let Some(t) = checkpoints {
        t.abort();
    }
    if audited {
        let n = signed.load(std::sync::atomic::Ordering::Relaxed);
        // The round must have carried the checkpointer's load, not dodged it.
        assert!(
            n >= 3 || checkpoints_off(),
            "only {n} checkpoints were signed during the round"
        );
        println!("  {n} checkpoints signed during the round");
        // Everything written was covered and verifies.
        let t = Instant::now();
        let c = app.checkpoint().await.expect("checkpoint");
        if checkpoints_off() {
            let took = t.elapsed();
            println!(
                "  one checkpoint over the round's {ANSWERS} entries: {:.0} ms, {:.1} µs per entry",
                took.as_secs_f64() * 1e3,
                took.as_secs_f64() * 1e6 / ANSWERS as f64
            );
        }
        assert!(c.is_some() || app.db().latest_checkpoint().await.expect("read").is_some());
    }
    app.db().close().await;
    rate
}

/// The same answers as people send them: `PUT .../answers/{member}` over loopback HTTP
/// to the real server, whose checkpointer signs every second (30 times its default).
async fn http_answers_per_second(audited: bool, answers: usize, checkpoint_ms: u64) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut cfg, app, s) = seeded(dir.path()).await;
    app.db().close().await;
    cfg.scheduler.checkpoint_ms = checkpoint_ms;
    let running = tekkan_cli::start(
        &cfg,
        &tekkan_cli::ServeOptions::default(),
        std::future::pending(),
    )
    .await
    .expect("start");
    if !audited {
        running.app.db().set_unaudited_for_benchmarks();
    }
    let url = format!(
        "{}/api/v1/clubs/{}/occurrences/{}/answers/{}",
        running.base_url, s.club, s.occurrence, s.member
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    for i in 0..answers {
        let status = if i % 2 == 0 { "yes" } else { "no" };
        let r = client
            .put(&url)
            .bearer_auth(&s.token)
            .json(&serde_json::json!({ "status": status }))
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{}", r.status());
    }
    let rate = answers as f64 / started.elapsed().as_secs_f64();
    running.stop().await.expect("stop");
    rate
}

/// `ROUNDS` rounds of `run(audited)` and `run(unaudited)`, alternating which goes first
/// so that drift of the host hits both alike; the medians (audited, unaudited).
fn rounds(what: &str, mut run: impl FnMut(bool) -> f64) -> (f64, f64) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for audited in order {
            if std::env::var("BENCH_ONLY").is_ok_and(|v| v != audited.to_string()) {
                continue;
            }
            let r = run(audited);
            println!("{what} round {round}: audited={audited}: {r:.0} answers/s");
            if audited { on.push(r) } else { off.push(r) }
        }
    }
    (median_or_zero(on), median_or_zero(off))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn verify_million() -> (Duration, Duration) {
    const N: u64 = 1_000_000;
    let signer = Signer::new("bench/tekkan-audit", &[1; 32]);
    let mut entries: Vec<Entry> = Vec::with_capacity(N as usize);
    let mut tree = Frontier::default();
    let mut notes = Vec::new();
    let build = Instant::now();
    for i in 1..=N {
        let ev = Event {
            actor_account: Some(format!("{:032x}", i * 7919)),
            actor_session: Some(format!("{:032x}", i * 104_729)),
            club: Some(format!("{:032x}", i % 1000)),
            action: "attendance.answer".into(),
            target: format!("occurrence:{:032x}/member:{:032x}", i % 5000, i % 30_000),
            change_digest: Event::digest(&i.to_be_bytes()),
            ip: Some("192.0.2.10".into()),
            user_agent: Some("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)".into()),
        };
        let prev = entries.last().map(|e| (e.seq, e.hash));
        let e = Entry::next(prev, 1_790_000_000_000 + i as i64, ev);
        tree.push(e.leaf_hash());
        entries.push(e);
        if i % (N / 100) == 0 {
            notes.push(signer.sign_checkpoint(&Checkpoint {
                size: i,
                root: tree.root(),
                ts_ms: i as i64,
            }));
        }
    }
    let built = build.elapsed();
    let history = [KeyRecord {
        key: signer.public(),
        by_previous: None,
        by_this: None,
    }];
    let started = Instant::now();
    let report = tekkan_audit::log::verify_log(
        entries,
        &notes,
        &history,
        &[signer.public()],
        notes.last().map(String::as_str),
    )
    .expect("verifies");
    let took = started.elapsed();
    assert_eq!(report.entries, N);
    (took, built)
}

/// `cargo bench -p tekkan-cli --bench audit [-- PART...]`, PART one of `writes` (in
/// process), `http`, `verify` (all three when none is named), or `steady` (HTTP at the
/// default checkpoint rate over a minute per round). `nocp` turns the in-process
/// checkpointer off, to separate its share. `BENCH_ONLY=true` (or `false`) runs only the
/// audited (or unaudited) rounds, so that `perf record` can profile one side at a time.
fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let named = |p: &str| args.iter().any(|a| a == p);
    let all = !["writes", "http", "verify", "steady"]
        .iter()
        .any(|p| named(p));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if named("steady") {
        // The default checkpoint rate in a steady state, 80,000 answers (over a minute)
        // per round, so that checkpoints every 30 s run inside each round.
        let (a, u) = rounds("http steady", |audited| {
            rt.block_on(http_answers_per_second(audited, 80_000, 30_000))
        });
        println!(
            "HTTP answers/s over a minute, default checkpoints, median of {ROUNDS}: audited {a:.0}, unaudited {u:.0}: {:.1} %",
            100.0 * a / u
        );
    }
    if all || named("writes") {
        let (a, u) = rounds("in process", |audited| {
            rt.block_on(answers_per_second(audited))
        });
        println!(
            "answers/s, median of {ROUNDS}: audited with checkpoints {a:.0}, unaudited {u:.0}: {:.1} %",
            100.0 * a / u
        );
    }
    if all || named("http") {
        let (a, u) = rounds("http", |audited| {
            let every = if checkpoints_off() { 60_000 } else { 1000 };
            rt.block_on(http_answers_per_second(audited, ANSWERS, every))
        });
        println!(
            "HTTP answers/s, median of {ROUNDS}: audited {a:.0}, unaudited {u:.0}: {:.1} %",
            100.0 * a / u
        );
    }
    if all || named("verify") {
        let mut times = Vec::new();
        for _ in 0..3 {
            let (took, built) = verify_million();
            println!(
                "verify 1,000,000 entries: {:.2} s (building them took {:.2} s)",
                took.as_secs_f64(),
                built.as_secs_f64()
            );
            times.push(took.as_secs_f64());
        }
        println!(
            "verify 1,000,000 entries, median of 3: {:.2} s",
            median(times)
        );
    }
}

/// `-- nocp`: no checkpointer during the rounds.
fn checkpoints_off() -> bool {
    std::env::args().any(|a| a == "nocp")
}

fn median_or_zero(v: Vec<f64>) -> f64 {
    if v.is_empty() { 0.0 } else { median(v) }
}
