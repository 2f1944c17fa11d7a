//! Messages of personal details and privacy rights (APPI).

/// (key, 日本語, English)
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    ("personal.title", "個人情報", "Personal details"),
    (
        "personal.lead",
        "入力した内容は暗号化して保存されます。空にして保存すると削除されます。",
        "What you enter is stored encrypted. Save a field empty to delete it.",
    ),
    ("personal.phone", "電話番号", "Phone"),
    ("personal.address", "住所", "Address"),
    ("personal.birth_date", "生年月日", "Date of birth"),
    ("personal.school", "学校", "School"),
    ("personal.grade", "学年", "Year"),
    (
        "personal.guardian_contact",
        "保護者の連絡先",
        "Guardian's contact",
    ),
    (
        "personal.health_notes",
        "健康・アレルギーのメモ(要配慮個人情報)",
        "Health and allergy notes (sensitive)",
    ),
    (
        "personal.phone_visibility",
        "電話番号を見せる相手",
        "Who sees my phone",
    ),
    (
        "personal.address_visibility",
        "住所を見せる相手",
        "Who sees my address",
    ),
    ("visibility.officers", "役員のみ", "Officers only"),
    ("visibility.club", "クラブのメンバー", "Club members"),
    ("visibility.nobody", "自分のみ", "No one"),
    (
        "personal.officers_only",
        "生年月日・学校・学年・保護者の連絡先・健康メモは、役員と、つながっている保護者だけが見られます。",
        "Birth date, school, year, guardian contact and health notes are seen only by officers and your linked guardians.",
    ),
    ("personal.save", "保存", "Save"),
    (
        "personal.consent_needed",
        "年齢の条件により、保護者の同意が記録されるまで、生年月日以外は保存できません。保護者にクラブで同意してもらってください。",
        "Because of your age, only your date of birth is kept until a linked guardian consents. Ask your guardian to consent in the club.",
    ),
    (
        "error.guardian_consent_required",
        "保護者の同意が記録されるまで、この情報は保存できません。",
        "This cannot be kept until a linked guardian has consented.",
    ),
    (
        "privacy.title",
        "データとプライバシー",
        "Your data and privacy",
    ),
    (
        "privacy.reauth_first",
        "ダウンロードと退会には、直前の本人確認が必要です。",
        "Downloading and deleting need a fresh check of who you are.",
    ),
    (
        "privacy.export",
        "データのダウンロード",
        "Download your data",
    ),
    (
        "privacy.export_lead",
        "TEKKAN があなたについて保存しているすべてのデータを、JSON と CSV の ZIP ファイルでダウンロードできます。",
        "Download everything TEKKAN keeps about you, as JSON and CSV in a ZIP file.",
    ),
    ("privacy.download", "ダウンロード", "Download"),
    ("privacy.correct", "訂正", "Correct your details"),
    ("privacy.request", "運営者への申し出", "Ask the operator"),
    ("privacy.kind", "内容", "Request"),
    (
        "privacy.kind_stop_use",
        "利用停止(個人情報をほかの人に見せない)",
        "Stop using my data (no one else sees my details)",
    ),
    (
        "privacy.kind_correction",
        "訂正の依頼",
        "Ask for a correction",
    ),
    ("privacy.kind_other", "その他", "Other"),
    ("privacy.details", "詳細", "Details"),
    ("privacy.send", "送信", "Send"),
    (
        "privacy.delete",
        "退会してデータを削除",
        "Delete my account and data",
    ),
    (
        "privacy.delete_lead",
        "アカウントと個人情報を削除します。暗号鍵を破棄するため、バックアップからも読めなくなります。出欠などのクラブの記録は、名前のない形で残ります。",
        "Your account and personal details are deleted. Their encryption key is destroyed, so not even backups can be read. Club records such as attendance stay, without your name.",
    ),
    (
        "privacy.delete_confirm",
        "元に戻せないことを理解しました",
        "I understand this cannot be undone",
    ),
    (
        "msg.privacy_requested",
        "申し出を受け付けました。",
        "Your request was received.",
    ),
    (
        "msg.account_deleted",
        "アカウントを削除しました。ご利用ありがとうございました。",
        "Your account was deleted. Thank you for using TEKKAN.",
    ),
    (
        "error.sole_owner",
        "メンバーのいるクラブの唯一のオーナーです。先にオーナーをほかの人に引き継いでください。",
        "You are the only owner of a club that still has members. Hand the club over first.",
    ),
];
