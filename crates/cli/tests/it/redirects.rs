//! Redirect targets after a login (`next`) and a language switch (`back`): a table of
//! hostile targets each gets a 303 to a local path on this site, never another host,
//! never a header a browser would read as one, never a 500.

use reqwest::StatusCode;

use crate::support::{Client, TestApp};

/// Targets an attacker would put in a link, as the server receives them after one
/// layer of form decoding (the query string forms are encoded from these).
const HOSTILE: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    " //evil.example",
    "/\u{1}",
    "/%01",
    "/\u{7f}",
    "/%7f",
    "/\u{0}",
    "/\u{85}evil",
    "/\u{a0}evil",
    "/\u{2028}evil",
    "/\u{ff0f}evil.example",
    "/\u{2215}evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "/%252F/evil.example",
    "/%2509/evil.example",
    "/%EF%BC%8Fevil.example",
];

/// The only answers allowed: the default, or the very target when it is a plain local
/// path. Never a second slash or backslash right after the first, never a control.
fn assert_safe(location: &str, target: &str) {
    assert!(
        location == "/clubs" || location == target,
        "{target:?} -> {location:?}"
    );
    let b = location.as_bytes();
    assert!(b[0] == b'/' && b.get(1) != Some(&b'/') && b.get(1) != Some(&b'\\'));
    assert!(b.iter().all(u8::is_ascii_graphic), "{location:?}");
}

/// Posts `fields` to `path` with the CSRF token of a page this client holds; returns
/// where the 303 leads (asserting it is one).
async fn redirect_after(c: &mut Client, path: &str, fields: &[(&str, &str)]) -> String {
    let csrf = c.csrf().await;
    let res = c.post_form(path, &csrf, fields).await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "{fields:?}: {}",
        res.body
    );
    res.location.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_targets_after_login_and_language_switch_stay_on_this_site() {
    let app = TestApp::start().await;
    let user = app.sign_up("Redirect", None).await;
    let login = |next| {
        [
            ("email", user.email.as_str()),
            ("password", "a long enough passphrase"),
            ("next", next),
        ]
    };
    let mut c = app.client();
    for target in HOSTILE {
        // The login page carries only a safe `next` in its form.
        let q: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let page = c.get(&format!("/login?next={q}")).await;
        assert_eq!(page.status, StatusCode::OK, "{target:?}");
        let i = page.body.find("name=\"next\" value=\"").unwrap() + 19;
        let kept = &page.body[i..i + page.body[i..].find('"').unwrap()];
        assert_eq!(kept, "/clubs", "{target:?}");

        // A login whose form names the target directly goes to a safe place, and so
        // does a language switch.
        assert_safe(
            &redirect_after(&mut c, "/login", &login(target)).await,
            target,
        );
        let lang = [("lang", "en"), ("back", target)];
        assert_safe(&redirect_after(&mut c, "/lang", &lang).await, target);
    }

    // A plain local path is kept, query and all.
    let to = redirect_after(&mut c, "/login", &login("/settings?tab=security")).await;
    assert_eq!(to, "/settings?tab=security");
}
