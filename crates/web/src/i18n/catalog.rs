//! Every user-facing string, in Japanese and English. Keys are dotted by area.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::Lang;

/// (key, 日本語, English)
const MESSAGES: &[(&str, &str, &str)] = &[
    ("roles.title", "役割と権限", "Roles and permissions"),
    (
        "roles.lead",
        "各役割ができることです。サーバーはこの表のとおりに確認します。",
        "What each role may do. The server checks every request against this table.",
    ),
    (
        "roles.owner_note",
        "オーナーを任命できるのはオーナーだけです。クラブには常に1人以上のオーナーがいます。",
        "Only owners make owners, and a club always keeps at least one owner.",
    ),
    ("club.roles", "役割と権限", "Roles"),
    ("perm.view_club", "クラブを見る", "See the club"),
    ("perm.view_roster", "名簿を見る", "See the roster"),
    (
        "perm.edit_club",
        "クラブ設定を変更する",
        "Edit the club's settings",
    ),
    (
        "perm.manage_invitations",
        "招待リンクを作る・無効にする",
        "Create and revoke invitation links",
    ),
    (
        "perm.approve_members",
        "参加リクエストを承認する",
        "Approve join requests",
    ),
    ("perm.change_roles", "役割を変更する", "Change roles"),
    (
        "perm.remove_members",
        "メンバーを除名する",
        "Remove members",
    ),
    (
        "perm.manage_subgroups",
        "グループを管理する",
        "Manage sub-groups",
    ),
    (
        "perm.link_guardians",
        "保護者と生徒を紐付ける",
        "Link guardians to students",
    ),
    (
        "perm.manage_events",
        "予定を作成・変更する",
        "Create and change events",
    ),
    (
        "perm.manage_attendance",
        "出欠を管理する（未回答者・出席率・代理回答）",
        "Manage attendance (non-responders, rates, answering for others)",
    ),
    (
        "perm.post_announcements",
        "お知らせを投稿し既読を確認する",
        "Post announcements and see who read them",
    ),
    ("perm.manage_polls", "アンケートを作成する", "Create polls"),
    (
        "perm.view_audit",
        "監査ログを見る・書き出す",
        "View and export the audit log",
    ),
    ("app.name", "TEKKAN", "TEKKAN"),
    (
        "app.tagline",
        "部活動・サークルの連絡と運営を、安全に。",
        "Run your club or team, and keep its members' data safe.",
    ),
    ("nav.clubs", "マイクラブ", "My clubs"),
    ("nav.login", "ログイン", "Log in"),
    ("nav.logout", "ログアウト", "Log out"),
    ("nav.signup", "新規登録", "Sign up"),
    ("nav.switch_lang", "English", "日本語"),
    ("nav.skip", "本文へ移動", "Skip to content"),
    ("common.save", "保存", "Save"),
    ("common.back", "戻る", "Back"),
    ("common.create", "作成", "Create"),
    ("common.delete", "削除", "Delete"),
    ("common.remove", "外す", "Remove"),
    ("common.add", "追加", "Add"),
    ("common.none", "なし", "None"),
    ("common.yes", "はい", "Yes"),
    ("common.no", "いいえ", "No"),
    ("field.email", "メールアドレス", "E-mail address"),
    ("field.password", "パスワード", "Password"),
    (
        "field.password_hint",
        "8文字以上。長いフレーズがおすすめです。よく使われるパスワードは使えません。",
        "At least 8 characters. A long phrase is best. Common passwords are refused.",
    ),
    ("field.display_name", "表示名", "Display name"),
    ("field.club_name", "クラブ名", "Club name"),
    ("field.description", "説明", "Description"),
    ("field.role", "役割", "Role"),
    ("field.name", "名前", "Name"),
    ("field.kind", "種類", "Kind"),
    ("field.expires_in", "有効期限", "Expires in"),
    ("field.expires_in_hours", "有効期限", "Expires in"),
    ("field.max_uses", "利用可能人数", "Number of uses"),
    (
        "field.requires_approval",
        "参加に役員の承認が必要",
        "Joining needs an officer's approval",
    ),
    ("field.subgroup", "追加するグループ", "Add to sub-group"),
    ("field.member", "メンバー", "Member"),
    ("field.student", "生徒", "Student"),
    ("hours.1", "1時間", "1 hour"),
    ("hours.24", "1日", "1 day"),
    ("hours.168", "7日", "7 days"),
    ("hours.720", "30日", "30 days"),
    ("role.owner", "オーナー", "Owner"),
    ("role.officer", "役員", "Officer"),
    ("role.treasurer", "会計", "Treasurer"),
    ("role.coach", "顧問・コーチ", "Adviser / coach"),
    ("role.member", "部員", "Member"),
    ("role.guardian", "保護者", "Guardian"),
    ("status.pending", "承認待ち", "Waiting for approval"),
    ("status.active", "在籍", "Active"),
    ("status.left", "退部", "Left"),
    ("status.removed", "除名", "Removed"),
    ("status.rejected", "不承認", "Declined"),
    ("kind.grade", "学年", "Year"),
    ("kind.part", "パート", "Section"),
    ("kind.other", "その他", "Other"),
    ("home.title", "ようこそ", "Welcome"),
    (
        "home.lead",
        "出欠、お知らせ、名簿をひとつに。メンバーの情報は厳重に守られます。",
        "Attendance, announcements and the roster in one place, with members' data closely guarded.",
    ),
    ("setup.title", "初期設定", "First-run setup"),
    (
        "setup.lead",
        "このサーバーの運営者アカウントを作成します。このURLは一度だけ使えます。",
        "Create the operator account of this server. This link works once.",
    ),
    (
        "setup.submit",
        "運営者アカウントを作成",
        "Create the operator account",
    ),
    ("signup.title", "新規登録", "Sign up"),
    (
        "signup.closed",
        "新規登録には招待リンクが必要です。クラブの役員に招待を依頼してください。",
        "Signing up needs an invitation link. Ask a club officer to invite you.",
    ),
    (
        "signup.joining",
        "登録後、次のクラブに参加します:",
        "After signing up you will join:",
    ),
    ("signup.submit", "登録する", "Sign up"),
    (
        "signup.have_account",
        "アカウントをお持ちの方はログイン",
        "Already have an account? Log in",
    ),
    ("login.title", "ログイン", "Log in"),
    ("login.submit", "ログイン", "Log in"),
    (
        "login.no_account",
        "アカウントがない方は招待リンクから登録してください。",
        "No account yet? Sign up through an invitation link.",
    ),
    ("clubs.title", "マイクラブ", "My clubs"),
    (
        "clubs.empty",
        "まだクラブに参加していません。招待リンクから参加するか、新しいクラブを作成しましょう。",
        "You are not in any club yet. Join one through an invitation link, or create one.",
    ),
    ("clubs.new", "クラブを作成", "Create a club"),
    (
        "clubs.new_lead",
        "作成したあなたがオーナーになります。",
        "You will be its owner.",
    ),
    ("club.members", "メンバー", "Members"),
    ("club.subgroups", "グループ", "Sub-groups"),
    ("club.invitations", "招待", "Invitations"),
    ("club.settings", "クラブ設定", "Club settings"),
    ("club.my_role", "あなたの役割", "Your role"),
    ("club.member_count", "在籍メンバー", "Active members"),
    ("club.pending_count", "承認待ち", "Waiting for approval"),
    ("club.leave", "このクラブを退部する", "Leave this club"),
    (
        "club.leave_confirm",
        "退部すると、このクラブの情報は見られなくなります。記録は残ります。",
        "After leaving you will no longer see this club. Your records stay.",
    ),
    ("members.title", "メンバー", "Members"),
    ("members.joined", "入部", "Joined"),
    ("members.left", "退部日", "Left"),
    ("members.guardian_of", "保護者として担当", "Guardian of"),
    ("members.guardians", "保護者", "Guardians"),
    ("members.groups", "所属グループ", "Sub-groups"),
    ("members.change_role", "役割を変更", "Change role"),
    ("members.remove", "除名する", "Remove from club"),
    ("members.approve", "承認", "Approve"),
    ("members.reject", "承認しない", "Decline"),
    (
        "members.link_guardian",
        "保護者と生徒を紐付け",
        "Link a guardian to a student",
    ),
    ("members.link", "紐付ける", "Link"),
    ("members.unlink", "紐付けを解除", "Unlink"),
    ("members.former", "以前のメンバー", "Former members"),
    ("members.requests", "参加リクエスト", "Join requests"),
    ("subgroups.title", "グループ", "Sub-groups"),
    (
        "subgroups.empty",
        "グループはまだありません。",
        "No sub-groups yet.",
    ),
    ("subgroups.new", "グループを作成", "Create a sub-group"),
    ("subgroups.rename", "名前を変更", "Rename"),
    ("subgroups.add_member", "メンバーを追加", "Add a member"),
    ("invitations.title", "招待", "Invitations"),
    (
        "invitations.new",
        "招待リンクを作成",
        "Create an invitation link",
    ),
    (
        "invitations.none",
        "招待リンクはまだありません。",
        "No invitation links yet.",
    ),
    (
        "invitations.created",
        "招待リンクを作成しました",
        "Invitation link created",
    ),
    (
        "invitations.shown_once",
        "このリンクは今だけ表示されます。コピーするかQRコードを読み取ってもらってください。",
        "This link is shown only now. Copy it, or let people scan the QR code.",
    ),
    ("invitations.copy", "リンクをコピー", "Copy link"),
    ("invitations.uses", "利用", "Used"),
    ("invitations.expires", "期限", "Expires"),
    ("invitations.revoke", "無効にする", "Revoke"),
    ("invitations.revoked", "無効", "Revoked"),
    ("invitations.expired", "期限切れ", "Expired"),
    ("invitations.used_up", "上限到達", "Used up"),
    ("invitations.active", "有効", "Active"),
    ("join.title", "クラブへの招待", "Invitation to a club"),
    (
        "join.lead",
        "次のクラブに招待されています:",
        "You are invited to join:",
    ),
    ("join.as", "役割", "As"),
    (
        "join.needs_approval",
        "参加には役員の承認が必要です。",
        "An officer will approve your request.",
    ),
    ("join.submit", "参加する", "Join"),
    (
        "join.login_first",
        "参加するにはログインまたは新規登録してください。",
        "Log in or sign up to join.",
    ),
    (
        "join.pending",
        "参加リクエストを送りました。役員の承認をお待ちください。",
        "Your request was sent. An officer will approve it.",
    ),
    ("msg.saved", "保存しました。", "Saved."),
    (
        "msg.joined",
        "クラブに参加しました。",
        "You joined the club.",
    ),
    ("msg.left", "クラブを退部しました。", "You left the club."),
    (
        "msg.pending",
        "参加リクエストを送りました。役員の承認をお待ちください。",
        "Your request to join was sent. An officer will approve it.",
    ),
    (
        "msg.logged_out",
        "ログアウトしました。",
        "You are logged out.",
    ),
    ("error.title", "エラー", "Error"),
    ("error.request_id", "問い合わせ番号", "Request id"),
    (
        "error.bad_request",
        "リクエストの形式が正しくありません。",
        "The request is malformed.",
    ),
    (
        "error.invalid_json",
        "JSONの形式が正しくありません。",
        "The JSON is malformed.",
    ),
    (
        "error.invalid_form",
        "フォームの内容が正しくありません。",
        "The form is malformed.",
    ),
    (
        "error.unsupported_media_type",
        "Content-Type がサポートされていません。",
        "Unsupported content type.",
    ),
    (
        "error.payload_too_large",
        "送信されたデータが大きすぎます。",
        "The request body is too large.",
    ),
    (
        "error.unauthenticated",
        "ログインが必要です。",
        "Please log in.",
    ),
    (
        "error.bad_credentials",
        "メールアドレスまたはパスワードが正しくありません。",
        "Wrong e-mail address or password.",
    ),
    (
        "error.forbidden",
        "この操作を行う権限がありません。",
        "You are not allowed to do this.",
    ),
    (
        "error.csrf",
        "フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてもう一度お試しください。",
        "The form expired or was not sent from this site. Reload the page and try again.",
    ),
    ("error.not_found", "ページが見つかりません。", "Not found."),
    (
        "error.method_not_allowed",
        "この操作はできません。",
        "Method not allowed.",
    ),
    (
        "error.gone",
        "このリンクは期限切れか、無効になっています。",
        "This link has expired or was revoked.",
    ),
    (
        "error.disk_full",
        "サーバーの保存領域がいっぱいのため、保存できませんでした(何も変更されていません)。運営者が対応中です。しばらくしてからもう一度お試しください。",
        "The server's storage is full, so nothing was saved (nothing changed). The operator has been alerted. Please try again later.",
    ),
    (
        "error.reason_required",
        "理由を入力してください(監査ログに残ります)。",
        "Say why (it is kept in the audit log).",
    ),
    (
        "error.idempotency_key_invalid",
        "Idempotency-Key は1〜255文字の英数字・記号で指定してください。",
        "An Idempotency-Key is 1 to 255 visible ASCII characters.",
    ),
    (
        "error.idempotency_key_reused",
        "この Idempotency-Key は別の内容の送信に使われています。新しいキーで送ってください。",
        "This Idempotency-Key was used for another request. Send with a new key.",
    ),
    (
        "error.idempotency_key_in_flight",
        "同じ送信を処理中です。少し待ってからもう一度お試しください。",
        "The same request is still being handled. Try again in a moment.",
    ),
    (
        "error.rotation_in_progress",
        "鍵の更新が別の場所でちょうど行われました。数秒待ってからもう一度お試しください。",
        "The keys were just rotated elsewhere. Wait a few seconds and try again.",
    ),
    (
        "error.session_scope",
        "範囲は all(全員)、club(クラブの全員、club を指定)、account(一人、account を指定)のいずれかです。",
        "The scope is all; club (with club); or account (with account).",
    ),
    (
        "error.read_only",
        "運営者が安全のため一時的に閲覧専用にしています。変更は保存されませんでした。お知らせとステータスページをご確認ください。",
        "The operator has made the service read-only for safety for now. Your change was not saved; see the notice and the status page.",
    ),
    (
        "error.signups_paused",
        "運営者が安全のため新規登録と招待を一時停止しています。しばらくしてからもう一度お試しください。",
        "The operator has paused sign-ups and invitations for safety for now. Please try again later.",
    ),
    (
        "error.writes_held",
        "データが最後に署名された記録より古い状態に戻っていることが見つかったため、運営者が確認するまで変更を受け付けていません(閲覧はできます)。",
        "The data was found older than its last signed record, so changes are paused until the operator has checked (you can still read).",
    ),
    (
        "error.unavailable",
        "データベースに一時的に接続できないため、保存できませんでした(何も変更されていません)。しばらくしてからもう一度お試しください。",
        "The database cannot be reached just now, so nothing was saved (nothing changed). Please try again shortly.",
    ),
    (
        "error.overloaded",
        "混み合っています。しばらくしてからもう一度お試しください。",
        "The server is busy. Please try again shortly.",
    ),
    (
        "error.timeout",
        "処理に時間がかかりすぎました。",
        "The request took too long.",
    ),
    (
        "error.internal",
        "サーバーでエラーが発生しました。",
        "Something went wrong on the server.",
    ),
    (
        "error.signup_closed",
        "新規登録には招待リンクが必要です。",
        "Signing up needs an invitation link.",
    ),
    (
        "error.required",
        "入力してください。",
        "This field is required.",
    ),
    ("error.too_long", "長すぎます。", "Too long."),
    ("error.too_short", "短すぎます。", "Too short."),
    (
        "error.bad_characters",
        "使用できない文字が含まれています。",
        "Contains characters that are not allowed.",
    ),
    ("error.invalid", "正しくありません。", "Not valid."),
    (
        "error.common_password",
        "よく使われている、または推測されやすいパスワードです。別のものにしてください。",
        "This password is too common or too easy to guess. Choose another.",
    ),
    (
        "error.email_taken",
        "このメールアドレスは登録できません。ログインをお試しください。",
        "This e-mail address cannot be registered. Try logging in.",
    ),
    (
        "error.last_owner",
        "最後のオーナーです。先に他のメンバーをオーナーにしてください。",
        "You are the last owner. Make someone else an owner first.",
    ),
    (
        "error.already_member",
        "すでにこのクラブのメンバーです。",
        "You are already a member of this club.",
    ),
    (
        "error.already_pending",
        "参加リクエストは承認待ちです。",
        "Your join request is waiting for approval.",
    ),
    (
        "error.already_revoked",
        "この招待はすでに無効です。",
        "This invitation was already revoked.",
    ),
    (
        "error.already_linked",
        "すでに紐付けられています。",
        "Already linked.",
    ),
    (
        "error.already_in_subgroup",
        "すでにこのグループのメンバーです。",
        "Already in this sub-group.",
    ),
    (
        "error.not_active",
        "在籍中のメンバーではありません。",
        "Not an active member.",
    ),
    (
        "error.not_pending",
        "承認待ちではありません。",
        "Not waiting for approval.",
    ),
    (
        "error.not_a_guardian",
        "保護者の役割のメンバーを選んでください。",
        "Choose a member with the guardian role.",
    ),
    (
        "error.not_a_student",
        "生徒(保護者以外のメンバー)を選んでください。",
        "Choose a student (a member who is not a guardian).",
    ),
    (
        "error.guardian_role_fixed",
        "保護者の役割は変更できません。保護者は招待で追加してください。",
        "The guardian role cannot be switched; invite guardians separately.",
    ),
    ("error.unchanged", "変更はありません。", "Nothing changed."),
    (
        "error.use_leave",
        "自分自身は「退部する」から抜けてください。",
        "To leave yourself, use Leave this club.",
    ),
    (
        "error.too_many_subgroups",
        "グループが多すぎます。",
        "Too many sub-groups.",
    ),
    (
        "error.demo_exists",
        "デモデータはすでにあります。",
        "The demo data is already there.",
    ),
    (
        "error.setup_token",
        "初期設定のURLが無効か、すでに使われています。サーバーを再起動すると新しいURLが表示されます。",
        "The setup link is invalid or was already used. Restart the server to get a new one.",
    ),
    (
        "error.invitation",
        "この招待リンクは期限切れか、無効になっているか、上限に達しています。",
        "This invitation link has expired, was revoked or is used up.",
    ),
];

static TABLE: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> = LazyLock::new(|| {
    MESSAGES
        .iter()
        .chain(super::activities::MESSAGES)
        .chain(super::security::MESSAGES)
        .chain(super::privacy::MESSAGES)
        .chain(super::audit::MESSAGES)
        .chain(super::incidents::MESSAGES)
        .chain(super::breach::MESSAGES)
        .map(|(k, ja, en)| (*k, (*ja, *en)))
        .collect()
});

pub(super) fn lookup(key: &str, lang: Lang) -> Option<&'static str> {
    TABLE.get(key).map(|(ja, en)| match lang {
        Lang::Ja => *ja,
        Lang::En => *en,
    })
}

/// What a missing key renders as: visible, so a test or a reviewer notices.
pub(super) fn leak_key(_key: &str) -> &'static str {
    "[?]"
}

/// All keys, for the completeness test.
pub fn keys() -> impl Iterator<Item = &'static str> {
    MESSAGES
        .iter()
        .chain(super::activities::MESSAGES)
        .chain(super::security::MESSAGES)
        .chain(super::privacy::MESSAGES)
        .chain(super::audit::MESSAGES)
        .chain(super::incidents::MESSAGES)
        .chain(super::breach::MESSAGES)
        .map(|(k, _, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        assert_eq!(TABLE.len(), keys().count(), "duplicate keys");
        for (k, ja, en) in MESSAGES
            .iter()
            .chain(super::super::activities::MESSAGES)
            .chain(super::super::security::MESSAGES)
            .chain(super::super::privacy::MESSAGES)
            .chain(super::super::audit::MESSAGES)
            .chain(super::super::incidents::MESSAGES)
            .chain(super::super::breach::MESSAGES)
        {
            assert!(!ja.is_empty() && !en.is_empty(), "{k}");
        }
    }
}

#[cfg(test)]
mod coverage {
    //! Every key the templates and the code ask for exists, in both languages.
    use std::path::Path;

    use super::super::Tr;

    fn literal_keys(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for pat in ["t.s(\"", "Tr::has(\"", "message(t, \""] {
            for (i, _) in text.match_indices(pat) {
                let rest = &text[i + pat.len()..];
                if let Some(end) = rest.find('"') {
                    out.push(rest[..end].to_owned());
                }
            }
        }
        out
    }

    fn files(dir: &Path, ext: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, ext, out);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }

    /// The codes the application and web errors can carry.
    fn error_codes(root: &Path) -> Vec<String> {
        let mut texts = Vec::new();
        files(&root.join("../app/src"), "rs", &mut texts);
        files(&root.join("src"), "rs", &mut texts);
        files(&root.join("../core/src"), "rs", &mut texts);
        let mut codes = Vec::new();
        for t in &texts {
            for pat in [
                "Conflict(\"",
                "Gone(\"",
                "BadRequest(\"",
                "=> \"",
                "code: \"",
            ] {
                for (i, _) in t.match_indices(pat) {
                    let rest = &t[i + pat.len()..];
                    let end = rest.find('"').unwrap();
                    let c = &rest[..end];
                    if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_') {
                        codes.push(c.to_owned());
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_used_key_is_translated() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        files(&root.join("templates"), "html", &mut texts);
        files(&root.join("src"), "rs", &mut texts);
        let mut keys: Vec<String> = texts
            .iter()
            .flat_map(|t| literal_keys(t))
            .filter(|k| k.contains('.'))
            .collect();
        keys.extend(
            tekkan_core::Role::ALL
                .iter()
                .map(|r| format!("role.{}", r.as_str())),
        );
        keys.extend(
            tekkan_core::MembershipStatus::ALL
                .iter()
                .map(|s| format!("status.{}", s.as_str())),
        );
        keys.extend(
            tekkan_core::SubgroupKind::ALL
                .iter()
                .map(|k| format!("kind.{}", k.as_str())),
        );
        keys.extend([1, 24, 168, 720].iter().map(|h| format!("hours.{h}")));
        keys.extend(
            tekkan_core::AnswerStatus::ALL
                .iter()
                .map(|s| format!("answer.{}", s.as_str())),
        );
        keys.extend(
            tekkan_core::AnsweredAs::ALL
                .iter()
                .map(|s| format!("answered_as.{}", s.as_str())),
        );
        keys.extend(
            ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
                .iter()
                .map(|d| format!("day.{d}")),
        );
        keys.extend((1..=4).map(|i| format!("interval.{i}")));
        keys.extend(tekkan_app::PREF_GROUPS.iter().map(|g| format!("pref.{g}")));
        keys.extend(tekkan_app::CHANNELS.iter().map(|c| format!("channel.{c}")));
        keys.extend(
            [
                "until_before_start",
                "series_too_long",
                "too_many_occurrences",
                "no_occurrences",
                "too_long_event",
            ]
            .iter()
            .map(|c| format!("error.{c}")),
        );
        keys.extend(
            ["active", "revoked", "expired", "used_up"]
                .iter()
                .map(|s| format!("invitations.{s}")),
        );
        keys.extend(
            [
                "saved",
                "joined",
                "left",
                "logged_out",
                "pending",
                "answered",
                "reminded",
            ]
            .iter()
            .map(|m| format!("msg.{m}")),
        );
        keys.extend(
            [
                "email",
                "display_name",
                "password",
                "name",
                "description",
                "role",
                "kind",
                "subgroup",
                "expires_in_hours",
                "max_uses",
                "details",
                "confirm",
                "credential",
            ]
            .iter()
            .map(|f| format!("field.{f}")),
        );
        keys.extend(
            tekkan_core::personal::PersonalField::ALL
                .iter()
                .map(|f| format!("field.{}", f.as_str())),
        );
        let known_not_errors = [
            // Incident categories and states (core::incident), shown through
            // incident.category.* and incident.state.*.
            "unauthorized_access",
            "data_leak",
            "data_loss",
            "ransomware",
            "outage",
            "vulnerability",
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            // Detection rules and alert severities (app::detect), named in alerts.
            "credential_stuffing",
            "password_spraying",
            "failed_logins_account",
            "failed_logins_prefix",
            "forced_browsing",
            "server_errors",
            "bulk_reads",
            "abandoned_second_step",
            "revoked_session_reuse",
            "new_device",
            "integrity_failure",
            "backup_stale",
            "disk_low",
            "critical",
            "warning",
            "unknown",
            // Metric label values (log-in outcomes, request kinds).
            "session",
            "second_step",
            "refused",
            "throttled",
            "error",
            "read",
            "write",
            // Per-address limit policies, as named in the database.
            "login",
            "login_failure",
            "sign_up",
            "reset",
            "export",
            "owner",
            "officer",
            "treasurer",
            "coach",
            "member",
            "guardian",
            "pending",
            "active",
            "left",
            "removed",
            "rejected",
            "grade",
            "part",
            "other",
            "revoked",
            "expired",
            "used_up",
            "ja",
            "en",
            "info",
            "snake_case",
            "password",
            "yes",
            "no",
            "maybe",
            "waitlisted",
            "self",
            "announcement",
            "announcements",
            "changes",
            "reminder",
            "reminders",
            "event_new",
            "event_changed",
            "event_cancelled",
            "waitlist_promoted",
            "occurrence",
            "occurrences",
            // Who may see a personal field, the security notice kind, a passkey's
            // default name.
            "officers",
            "club",
            "nobody",
            "security",
            "passkey",
            // The committed key of a passkey that cannot sign actions.
            "unsupported",
        ];
        keys.extend(
            error_codes(root)
                .into_iter()
                .filter(|c| !known_not_errors.contains(&c.as_str()))
                .filter(|c| !tekkan_core::Permission::ALL.iter().any(|p| p.as_str() == c))
                .filter(|c| {
                    !tekkan_core::personal::PersonalField::ALL
                        .iter()
                        .any(|f| f.as_str() == c)
                })
                // Breach data items and exposures (core::breach): report vocabulary.
                .filter(|c| {
                    !tekkan_core::breach::DataItem::ALL
                        .iter()
                        .any(|i| i.as_str() == c)
                })
                .filter(|c| {
                    !tekkan_core::breach::Exposure::ALL
                        .iter()
                        .any(|e| e.as_str() == c)
                })
                .map(|c| format!("error.{c}")),
        );
        keys.sort();
        keys.dedup();
        let missing: Vec<&String> = keys.iter().filter(|k| !Tr::has(k)).collect();
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
        assert!(keys.len() > 100, "the scan found the keys ({})", keys.len());
    }
}
