//! Sign-up on a server that sends no e-mail still never tells whether an address is
//! registered: a new address and a taken one get the same answer, and the operators
//! get, in the app, the link to pass on or the note that the address is taken.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::fixture::{invite, operator};
use crate::support::{TestApp, code};

const PW: &str = "a long enough passphrase";

async fn operator_notices(op: &mut crate::support::Client) -> Vec<Value> {
    let (s, v) = op.api(Method::GET, "/api/v1/me/notifications", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["notifications"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mail_a_taken_address_gets_the_same_answer_as_a_new_one() {
    let app = TestApp::builder()
        .open_signup(false)
        .configure(|c| c.accounts.confirm_signup = true)
        .start()
        .await;
    let mut op = operator(&app).await;
    let club = op.create_club("将棋部").await;
    let token = invite(&mut op, &club, "member", false).await;
    let sign_up = |email: &'static str| {
        let (app, token) = (&app, token.clone());
        async move {
            let body = json!({"email": email, "display_name": "新入部員", "password": PW,
                "invitation": token});
            app.client()
                .api(Method::POST, "/api/v1/accounts", Some(body))
                .await
        }
    };

    // The operator's own address is taken; another is new. Same status, same body.
    let taken: &'static str = Box::leak(op.email.clone().into_boxed_str());
    let (s_new, new) = sign_up("shogi.newcomer@example.jp").await;
    let (s_taken, again) = sign_up(taken).await;
    assert_eq!(s_new, StatusCode::ACCEPTED, "{new}");
    assert_eq!((s_taken, &again), (s_new, &new));
    // And the page says the same for both.
    for email in ["shogi.other@example.jp", taken] {
        let mut b = app.client();
        let page = b.get(&format!("/signup?invite={token}")).await;
        let res = b
            .post_form(
                "/signup",
                &page.csrf(),
                &[
                    ("email", email),
                    ("display_name", "新入部員"),
                    ("password", PW),
                    ("invite", &token),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{email}");
        assert!(res.body.contains("id=\"signup-sent\""), "{email}");
    }

    // The operators hold the link for the new address and a note for the taken one.
    let notices = operator_notices(&mut op).await;
    let what = |w: &str| {
        notices
            .iter()
            .filter(|n| n["params"]["what"] == w)
            .cloned()
            .collect::<Vec<_>>()
    };
    let waiting = what("signup_waiting");
    let link = waiting
        .iter()
        .find(|n| n["params"]["email"] == "shogi.newcomer@example.jp")
        .expect("the link waits for the operator")["params"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        what("signup_registered_address")
            .iter()
            .any(|n| n["params"]["email"] == taken),
        "{notices:?}"
    );
    assert!(
        !what("signup_waiting")
            .iter()
            .any(|n| n["params"]["email"] == taken),
        "no link is made for a taken address"
    );

    // Passed on, the link creates the account, which joins the club.
    let body = json!({ "token": link.split("token=").nth(1).unwrap() });
    let confirm = || async {
        app.client()
            .api(Method::POST, "/api/v1/accounts/confirm", Some(body.clone()))
            .await
    };
    let (s, v) = confirm().await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["joined"]["club_id"], club.as_str(), "{v}");
    let (s, v) = confirm().await;
    assert_eq!((s, code(&v)), (StatusCode::GONE, "signup_link"));
    // The taken address's account is untouched.
    let (s, _) = app.log_in(taken, PW).await;
    assert_eq!(s, StatusCode::CREATED);
}
