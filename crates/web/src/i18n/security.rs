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
    ("mfa.code_title", "確認コード", "Verification code"),
    (
        "mfa.code_lead",
        "認証アプリに表示されている6桁のコードを入力してください。",
        "Enter the 6-digit code shown in your authenticator app.",
    ),
    ("mfa.code", "確認コード", "Code"),
    (
        "mfa.recovery_hint",
        "アプリを使えないときは、リカバリーコードを入力できます。",
        "If you cannot use the app, enter one of your recovery codes instead.",
    ),
    ("security.title", "セキュリティ", "Security"),
    (
        "security.required",
        "あなたの役割では2段階認証が必須です。設定するまで、ほかの操作はできません。",
        "Your role requires two-step verification. Set it up to continue.",
    ),
    (
        "security.totp",
        "2段階認証(認証アプリ)",
        "Two-step verification (authenticator app)",
    ),
    ("security.totp_on", "有効です。", "On."),
    (
        "security.totp_off",
        "まだ設定されていません。",
        "Not set up yet.",
    ),
    (
        "security.codes_left",
        "残りのリカバリーコード",
        "Recovery codes left",
    ),
    (
        "security.codes_once",
        "リカバリーコードです。表示は今回限りです。安全な場所に保管してください。各コードは1回だけ使えます。",
        "Your recovery codes. They are shown only now: keep them somewhere safe. Each works once.",
    ),
    (
        "security.reauth_lead",
        "設定を変更する前に、本人確認のためパスワードを入力してください。",
        "Confirm it is you: enter your password before changing these settings.",
    ),
    ("security.reauth", "本人確認", "Confirm"),
    (
        "security.scan",
        "認証アプリでQRコードを読み取り、表示されたコードを入力してください。",
        "Scan the QR code with your authenticator app, then enter the code it shows.",
    ),
    ("security.secret", "手入力用のキー", "Key for manual entry"),
    ("security.confirm", "有効にする", "Turn on"),
    (
        "security.start",
        "2段階認証を設定する",
        "Set up two-step verification",
    ),
    (
        "security.new_codes",
        "リカバリーコードを作り直す",
        "Make new recovery codes",
    ),
    (
        "security.remove",
        "2段階認証をオフにする",
        "Turn off two-step verification",
    ),
    ("settings.security", "セキュリティ", "Security"),
    (
        "error.bad_code",
        "コードが正しくないか、すでに使われています。",
        "The code is wrong or was already used.",
    ),
    (
        "error.reauth_required",
        "この変更には本人確認が必要です。パスワードをもう一度入力してください。",
        "This change needs you to confirm it is you: enter your password again.",
    ),
    (
        "error.mfa_setup_required",
        "あなたの役割では2段階認証が必須です。設定画面で有効にしてください。",
        "Your role requires two-step verification. Turn it on in the security settings.",
    ),
    (
        "error.second_step",
        "確認の期限が切れました。もう一度ログインしてください。",
        "The sign-in expired. Please sign in again.",
    ),
    (
        "error.totp_exists",
        "2段階認証はすでに有効です。",
        "Two-step verification is already on.",
    ),
    (
        "error.totp_not_started",
        "先に2段階認証の設定を始めてください。",
        "Start setting up two-step verification first.",
    ),
    (
        "error.mfa_required",
        "あなたの役割では2段階認証をオフにできません。",
        "Your role does not allow turning two-step verification off.",
    ),
];
