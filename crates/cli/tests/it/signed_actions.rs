//! Actions an officer cannot deny: with a passkey, role changes and announcement
//! publishing and retraction must be signed. The WebAuthn challenge is the SHA-256 of
//! the exact action; Chromium's virtual authenticator signs it; the server refuses a
//! missing, replayed, altered or forged signature; the outside verifier re-checks every
//! signed entry and names the one whose record was changed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tekkan_storage::sql as raw;

use crate::support::cdp::Browser;
use crate::support::fixture::join;
use crate::support::{Client, TestApp, code, tekkan};

const PW: &str = "a long enough passphrase";

/// Step 1 and 2: the options for `kind`, signed in the browser; returns the header value.
pub(crate) async fn sign(
    b: &mut Browser,
    owner: &mut Client,
    club: &str,
    kind: &str,
    target: &str,
    fields: Value,
) -> String {
    let (s, o) = owner
        .api(
            Method::POST,
            &format!("/api/v1/clubs/{club}/signed-actions/options"),
            Some(json!({"kind": kind, "target": target, "fields": fields})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{o}");
    let js = format!(
        "(async () => {{ const c = await navigator.credentials.get({{publicKey: \
         PublicKeyCredential.parseRequestOptionsFromJSON({})}}); \
         return JSON.stringify(c.toJSON()); }})()",
        o["public_key"]
    );
    let cred: Value = serde_json::from_str(b.eval(&js).await.as_str().unwrap()).unwrap();
    B64.encode(json!({"action": o["action"], "credential": cred}).to_string())
}

pub(crate) async fn with_sig(
    c: &mut Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    sig: &str,
) -> (StatusCode, Value) {
    let p = c
        .api_page(method, path, body, &[("tekkan-signature", sig)])
        .await;
    (p.status, p.json())
}

pub(crate) fn verify(dir: &std::path::Path) -> (bool, String) {
    let dir = dir.as_os_str();
    tekkan([
        std::ffi::OsStr::new("audit"),
        "verify".as_ref(),
        "--data-dir".as_ref(),
        dir,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_with_a_passkey_sign_exact_actions_and_the_verifier_rechecks_them() {
    let app = TestApp::start().await;
    let mut owner = app.sign_up("部長", None).await;
    let club = owner.create_club("弓道部").await;
    let (_, m) = join(&app, &mut owner, &club, "member", false).await;
    let role_path = format!("/api/v1/clubs/{club}/members/{m}/role");

    // Before a passkey, the owner acts unsigned, as before.
    let (s, _) = owner
        .api(Method::PUT, &role_path, Some(json!({"role": "coach"})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // The owner adds a passkey in the browser.
    let base = app.base.replace("127.0.0.1", "localhost");
    let mut b = Browser::with_passkey(&base, &owner.email, PW, "部長のスマホ").await;

    // Now unsigned is refused.
    let (s, v) = owner
        .api(Method::PUT, &role_path, Some(json!({"role": "member"})))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "signature_required"));

    // Signed: accepted once, with a receipt; the replay is refused.
    let target = format!("membership:{m}");
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "member.role_change",
        &target,
        json!({"role": "member"}),
    )
    .await;
    let (s, v) = with_sig(
        &mut owner,
        Method::PUT,
        &role_path,
        Some(json!({"role": "member"})),
        &sig,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = with_sig(
        &mut owner,
        Method::PUT,
        &role_path,
        Some(json!({"role": "member"})),
        &sig,
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::GONE, "signature_used_or_expired")
    );

    // Signed for one role, sent with another: refused, and nothing changes.
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "member.role_change",
        &target,
        json!({"role": "coach"}),
    )
    .await;
    let (s, v) = with_sig(
        &mut owner,
        Method::PUT,
        &role_path,
        Some(json!({"role": "officer"})),
        &sig,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "signature_mismatch"));

    // A forged assertion (one byte of the signature) is refused.
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "member.role_change",
        &target,
        json!({"role": "coach"}),
    )
    .await;
    let mut forged: Value = serde_json::from_slice(&B64.decode(&sig).unwrap()).unwrap();
    let mut bytes = B64
        .decode(
            forged["credential"]["response"]["signature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    forged["credential"]["response"]["signature"] = Value::String(B64.encode(bytes));
    let forged = B64.encode(forged.to_string());
    let (s, v) = with_sig(
        &mut owner,
        Method::PUT,
        &role_path,
        Some(json!({"role": "coach"})),
        &forged,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "signature_invalid"));
    // Junk in the header is a clear 400.
    let (s, _) = with_sig(
        &mut owner,
        Method::PUT,
        &role_path,
        Some(json!({"role": "coach"})),
        "%%%",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // From the members page: the form's script signs with the passkey.
    b.goto(&format!("{base}/clubs/{club}/members")).await;
    b.eval(&format!(
        "(() => {{ const f = document.querySelector('form[action$=\"/members/{m}/role\"]'); \
         f.elements.role.value = 'coach'; f.requestSubmit(); return true; }})()"
    ))
    .await;
    let mut signed_roles = 0;
    for _ in 0..100 {
        let mut db = app.raw_db().await;
        signed_roles = raw::scalar::<i64>(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'member.role_change.signed'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if signed_roles == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(signed_roles, 2, "the page's role change was signed");
    let (_, roster) = owner
        .api(Method::GET, &format!("/api/v1/clubs/{club}/members"), None)
        .await;
    let entry = roster["members"]
        .as_array()
        .or(roster.as_array())
        .unwrap()
        .iter()
        .find(|e| e["membership_id"] == m.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["role"], "coach");

    // Publishing and retracting an announcement, signed.
    let base_a = format!("/api/v1/clubs/{club}/announcements");
    let ann = json!({"title": "審査会", "body": "3月9日", "pinned": false, "requires_confirmation": true, "subgroups": []});
    let (s, v) = owner.api(Method::POST, &base_a, Some(ann.clone())).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "signature_required"));
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "announcement.publish",
        &format!("club:{club}"),
        ann.clone(),
    )
    .await;
    let mut altered = ann.clone();
    altered["body"] = json!("3月10日");
    let (s, v) = with_sig(&mut owner, Method::POST, &base_a, Some(altered), &sig).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "signature_mismatch"));
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "announcement.publish",
        &format!("club:{club}"),
        ann.clone(),
    )
    .await;
    let (s, v) = with_sig(&mut owner, Method::POST, &base_a, Some(ann), &sig).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let sig = sign(
        &mut b,
        &mut owner,
        &club,
        "announcement.retract",
        &format!("announcement:{id}"),
        json!({}),
    )
    .await;
    let (s, v) = with_sig(
        &mut owner,
        Method::DELETE,
        &format!("{base_a}/{id}"),
        None,
        &sig,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // The log holds four signed entries; the verifier re-checks each assertion.
    let mut db = app.raw_db().await;
    let signed: Vec<String> =
        raw::scalar("SELECT action FROM audit_log WHERE action LIKE '%.signed' ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    drop(db);
    assert_eq!(
        signed,
        [
            "member.role_change.signed",
            "member.role_change.signed",
            "announcement.post.signed",
            "announcement.delete.signed"
        ]
    );
    let dir = app.stop().await;
    let (ok, text) = verify(dir.path());
    assert!(
        ok && text.contains("4 passkey-signed actions verified"),
        "{text}"
    );

    // Someone with the database file rewrites the signed record (the role it names):
    // the entry no longer matches it, and the verifier says which.
    {
        let mut db = crate::support::raw_db_at(dir.path()).await;
        for s in [
            "DROP TRIGGER signed_actions_no_update",
            "UPDATE signed_actions SET record = replace(record, '\\\"role\\\":\\\"member\\\"', '\\\"role\\\":\\\"owner\\\"')",
        ] {
            crate::support::exec(&mut db, s).await;
        }
        db.close().await.unwrap();
    }
    let (ok, text) = verify(dir.path());
    assert!(
        !ok && text.contains("signed action it commits to is missing or was changed"),
        "{text}"
    );
}
