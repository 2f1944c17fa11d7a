//! Messages of account protection: throttling, two-step verification, sessions,
//! personal data.

/// (key, 日本語, English)
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "error.rate_limited",
        "短時間にリクエストが多すぎます。しばらくしてからもう一度お試しください。",
        "Too many requests in a short time. Please wait a little and try again.",
    ),
    (
        "error.login_delayed",
        "ログインの失敗が続いたため、少し待ってからもう一度お試しください。",
        "Several sign-in attempts failed. Please wait a moment before trying again.",
    ),
    (
        "error.login_locked",
        "ログインの失敗が多すぎるため、このアカウントへのログインを停止しました。登録済みのメールアドレスであれば、ロック解除のリンクを送りました。パスワードの再設定でも解除できます。",
        "Sign-in to this account is paused after too many failed attempts. If the address is registered, an unlock link was sent to it. Resetting the password also lifts the lock.",
    ),
    (
        "error.unlock_link",
        "このロック解除リンクは期限切れか、すでに使われています。",
        "This unlock link has expired or was already used.",
    ),
    ("unlock.title", "ログインの再開", "Resume signing in"),
    (
        "unlock.lead",
        "このアカウントへのログインを再開します。心当たりのない失敗が続いていた場合は、ログイン後にパスワードを変更してください。",
        "This lets sign-in to your account resume. If the failed attempts were not yours, change your password after signing in.",
    ),
    ("unlock.submit", "ログインを再開する", "Resume signing in"),
    (
        "msg.unlocked",
        "ロックを解除しました。ログインできます。",
        "The lock was lifted. You can sign in.",
    ),
];
