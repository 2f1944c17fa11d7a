//! Sign-up confirmed by e-mail: when the server can send mail, an account is created
//! only once the link sent to its address is followed. Both a new address and one that
//! already has an account get the same answer after the same work; only the mail
//! differs (a link, or a note pointing to password reset). A server that sends no mail
//! answers the same way, and hands both to its operators in the app instead: the link,
//! to pass on to the person, or the note that the address is registered. Only with
//! `accounts.confirm_signup = false` is sign-up immediate (and a taken address then
//! shows; that setting is for closed test servers).

use tekkan_core::{DisplayName, Email};
use tekkan_storage::{PendingSignup, now_ms};

use crate::actor::event;
use crate::auth::{NewSession, PreparedAccount};
use crate::notify::{Notice, NoticeKind, notify};
use crate::security_mail::SecurityMail;
use crate::{App, AppError, JoinOutcome, Origin, Result, hash_token, random_token};

const SIGNUP_LINK_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// What a sign-up led to.
#[derive(Debug)]
pub enum SignUp {
    /// Created at once (no e-mail on this server).
    Session(NewSession, Option<JoinOutcome>),
    /// A link went to the address (or a note, if it has an account): check your mail.
    CheckEmail,
}

impl App {
    /// Records a sign-up and mails its link; the answer does not depend on whether the
    /// address already has an account.
    pub(crate) async fn sign_up_by_mail(
        &self,
        new: PreparedAccount,
        invitation: Option<&str>,
        origin: &Origin,
    ) -> Result<SignUp> {
        let now = now_ms();
        let existing = self.db().account_by_email(new.email.as_str()).await?;
        let token = random_token();
        let mut tx = self.db().begin().await?;
        if existing.is_none() {
            let pending = PendingSignup {
                email: new.email.as_str().to_owned(),
                display_name: new.name.as_str().to_owned(),
                password_hash: new.phc.clone(),
                invitation_hash: invitation.map(hash_token),
            };
            tx.insert_pending_signup(&hash_token(&token), &pending, now, now + SIGNUP_LINK_TTL_MS)
                .await?;
        }
        let ev = event(
            existing.as_ref().map(|a| a.id),
            None,
            origin,
            None,
            "account.signup_requested",
            "signup".into(),
            &existing.is_some(),
        );
        let base = &self.settings().base_url;
        let confirm = format!("{base}/signup/confirm?token={token}");
        if self.delivery().mailer.is_some() {
            tx.commit(vec![ev]).await?;
            match existing {
                Some(a) => {
                    let link = format!("{base}/password-reset");
                    self.send_security_mail(a.id, &a.email, SecurityMail::AccountExists, link)
                        .await;
                }
                None => {
                    self.send_link_mail(
                        new.email.as_str(),
                        true,
                        SecurityMail::ConfirmSignUp,
                        confirm,
                    );
                }
            }
            return Ok(SignUp::CheckEmail);
        }
        // No mail: the operators are handed the link, or the note. Both cases write one
        // notice per operator, so they take the same work.
        let params = match &existing {
            Some(_) => serde_json::json!({
                "what": "signup_registered_address",
                "email": new.email.as_str(),
            }),
            None => serde_json::json!({
                "what": "signup_waiting",
                "email": new.email.as_str(),
                "link": confirm,
            }),
        };
        let operators = tx.operator_accounts().await?;
        let n = Notice {
            kind: NoticeKind::Security,
            club: None,
            params,
            url: "/notifications".into(),
        };
        notify(&mut tx, self.channels(), operators, None, &n, now).await?;
        tx.commit(vec![ev]).await?;
        tracing::warn!(
            "e-mail is off: a sign-up waits for an operator to pass its link on (see the operators' notifications)"
        );
        Ok(SignUp::CheckEmail)
    }

    /// Follows a sign-up link: the account is created (joining the club it was invited
    /// to, if any) and a session opened. The link works once.
    pub async fn confirm_sign_up(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<(NewSession, Option<JoinOutcome>)> {
        self.refuse_if(crate::containment::Switch::SignupsPaused)?;
        self.limit(crate::limits::IpPolicy::SignUp, origin).await?;
        let now = now_ms();
        let mut tx = self.db().begin().await?;
        let Some(p) = tx.consume_pending_signup(&hash_token(token), now).await? else {
            return Err(AppError::Gone("signup_link"));
        };
        // Checked at sign-up; parsed again because the row came from storage.
        let new = PreparedAccount {
            email: Email::parse(&p.email)?,
            name: DisplayName::parse(&p.display_name)?,
            phc: p.password_hash,
        };
        let mut events = Vec::new();
        let (session, joined) = self
            .create_member(
                &mut tx,
                &new,
                p.invitation_hash.as_deref(),
                origin,
                now,
                &mut events,
            )
            .await?;
        tx.commit(events).await?;
        Ok((session, joined))
    }
}
