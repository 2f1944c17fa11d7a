//! Security e-mails that carry a secret link (unlocking a login, resetting a password,
//! confirming a new e-mail address). They are sent
//! straight to the mail server and never written to the outbox, so that the database
//! holds no live link, only its hash.

use tekkan_core::AccountId;

use crate::App;

/// What the message is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityMail {
    Unlock,
    Reset,
    ConfirmEmail,
    /// The link that creates an account.
    ConfirmSignUp,
    /// Someone tried to sign up with an address that has an account: no link to an
    /// account, only to the password reset page.
    AccountExists,
}

impl SecurityMail {
    fn text(self, ja: bool) -> (&'static str, &'static str) {
        match (self, ja) {
            (Self::Unlock, true) => (
                "ログインを一時停止しました",
                "あなたのアカウントでパスワードの誤りが続いたため、ログインを停止しました。\n\
                 心当たりがある場合は、次のリンクからロックを解除してください(1時間有効、1回限り)。\n\
                 心当たりがない場合は、パスワードを変更し、2段階認証を有効にしてください。",
            ),
            (Self::Unlock, false) => (
                "Sign-in paused on your account",
                "Too many wrong passwords were tried on your account, so signing in was paused.\n\
                 If that was you, lift the lock with this link (valid for one hour, once).\n\
                 If it was not, change your password and turn on two-step verification.",
            ),
            (Self::Reset, true) => (
                "パスワードの再設定",
                "パスワードの再設定が申請されました。次のリンクから新しいパスワードを設定してください\
                 (有効期限は短く、1回限り)。2段階認証を使っている場合は、そのコードも必要です。\n\
                 心当たりがない場合は、このメールを無視してください。パスワードは変わりません。",
            ),
            (Self::Reset, false) => (
                "Reset your password",
                "Someone asked to reset your password. Set a new one with this link (it expires \
                 soon and works once). If you use two-step verification, you will need its code too.\n\
                 If this was not you, ignore this e-mail: your password stays the same.",
            ),
            (Self::ConfirmEmail, true) => (
                "メールアドレスの確認",
                "TEKKAN のログイン用メールアドレスをこのアドレスに変更する申請がありました。\
                 次のリンクで確定してください(24時間以内、1回限り)。\n\
                 心当たりがない場合は、このメールを無視してください。",
            ),
            (Self::ConfirmSignUp, true) => (
                "登録の確認",
                "TEKKAN への登録を受け付けました。次のリンクを開くと登録が完了します(24時間以内、1回限り)。\n\
                 心当たりがない場合は、このメールを無視してください。",
            ),
            (Self::ConfirmSignUp, false) => (
                "Confirm your sign-up",
                "Someone signed up for TEKKAN with this address. Open this link to finish \
                 (within 24 hours, once).\n\
                 If this was not you, ignore this e-mail.",
            ),
            (Self::AccountExists, true) => (
                "登録済みのアドレスです",
                "このアドレスで TEKKAN への登録が申し込まれましたが、すでにアカウントがあります。\
                 ログインしてください。パスワードを忘れた場合は、次のページから再設定できます。\n\
                 心当たりがない場合は、このメールを無視してください。",
            ),
            (Self::AccountExists, false) => (
                "You already have an account",
                "Someone tried to sign up for TEKKAN with this address, which already has an \
                 account. Please sign in; if you forgot your password, reset it here.\n\
                 If this was not you, ignore this e-mail.",
            ),
            (Self::ConfirmEmail, false) => (
                "Confirm your e-mail address",
                "Someone asked to make this the address they sign in to TEKKAN with. Confirm \
                 with this link (within 24 hours, once).\n\
                 If this was not you, ignore this e-mail.",
            ),
        }
    }
}

impl App {
    /// Sends `kind` with `link` to the account, in its language, in the background (a
    /// few tries), so that the request's timing does not depend on the mail server.
    pub(crate) async fn send_security_mail(
        &self,
        account: AccountId,
        to: &str,
        kind: SecurityMail,
        link: String,
    ) {
        if self.delivery().mailer.is_none() {
            tracing::warn!(%account, ?kind, "e-mail is off: security link not sent");
            return;
        }
        let ja = self
            .db()
            .account_lang(account)
            .await
            .map(|l| l != "en")
            .unwrap_or(true);
        self.send_link_mail(to, ja, kind, link);
    }

    /// Like [`App::send_security_mail`], to an address with no account behind it yet.
    pub(crate) fn send_link_mail(&self, to: &str, ja: bool, kind: SecurityMail, link: String) {
        let Some(mailer) = self.delivery().mailer.clone() else {
            tracing::warn!(?kind, "e-mail is off: link not sent");
            return;
        };
        let (subject, intro) = kind.text(ja);
        let subject = format!("[TEKKAN] {subject}");
        let body = format!("{intro}\n\n{link}\n");
        let to = to.to_owned();
        tokio::spawn(async move {
            for wait in [0u64, 5, 30, 120] {
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                match mailer.send(&to, &subject, &body).await {
                    Ok(()) => return,
                    Err(tekkan_notify::SendError::Retry(e)) => {
                        tracing::warn!(?kind, error = %e, "security mail failed, will retry");
                    }
                    Err(e) => {
                        tracing::error!(?kind, error = ?e, "security mail failed");
                        return;
                    }
                }
            }
        });
    }
}
