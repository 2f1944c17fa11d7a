//! Messages of the audit trail pages: searching a club's trail and "who viewed my data".

/// (key, 日本語, English)
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    ("audit.title", "監査ログ", "Audit log"),
    (
        "audit.lead",
        "このクラブで誰が何をいつ行い、誰が個人情報を閲覧したかの記録です。記録は改ざんを検出できる形で保存され、誰も編集・削除できません。",
        "Who did what in this club and when, and who viewed personal data. Entries are kept tamper-evident; nobody can edit or delete them.",
    ),
    ("audit.person", "人", "Person"),
    ("audit.anyone", "全員", "Anyone"),
    ("audit.action", "操作", "Action"),
    ("audit.from", "開始日", "From"),
    ("audit.to", "終了日", "To"),
    ("audit.search", "検索", "Search"),
    ("audit.when", "日時", "When"),
    ("audit.who", "誰が", "Who"),
    ("audit.target", "対象", "Target"),
    (
        "audit.none",
        "該当する記録はありません。",
        "No entries match.",
    ),
    ("audit.export", "証明付きで書き出す", "Export with proofs"),
    (
        "audit.export_hint",
        "書き出したファイルは tekkan audit verify --export で、サーバーを信用せずに検証できます。",
        "The export can be checked without trusting the server: tekkan audit verify --export.",
    ),
    ("audit.system", "システム", "System"),
    ("audit.unknown", "削除された利用者", "Deleted user"),
    ("transparency.title", "透明性ログ", "Transparency log"),
    (
        "transparency.lead",
        "TEKKAN の操作記録(監査ログ)は、証明書の透明性ログと同じ方式で、サーバーを信用しなくても検証できます。記録はマークルツリーにまとめられ、その状態(チェックポイント)にサーバーの鍵で署名して、ここで公開しています。",
        "TEKKAN's audit log can be checked without trusting the server, the way Certificate Transparency logs are. Entries form a Merkle tree whose state (a checkpoint) the server signs and publishes here.",
    ),
    (
        "transparency.checkpoint",
        "最新のチェックポイント",
        "Newest checkpoint",
    ),
    ("transparency.entries", "記録件数", "Entries"),
    (
        "transparency.none_yet",
        "まだチェックポイントはありません。",
        "No checkpoint yet.",
    ),
    (
        "transparency.keys",
        "署名鍵の履歴",
        "Signing keys, oldest first",
    ),
    (
        "transparency.rotated",
        "前の鍵と相互署名済み",
        "Cross-signed with the previous key",
    ),
    ("transparency.how", "検証のしかた", "How to verify"),
    (
        "transparency.how_lead",
        "チェックポイントを時々保存しておくと、後から記録が巻き戻されたり書き換えられたりしていないことを確かめられます。",
        "Save a checkpoint now and then: it lets you show later that the log was not rolled back or rewritten.",
    ),
    ("viewers.title", "自分の情報を見た人", "Who viewed my data"),
    (
        "viewers.lead",
        "あなたの個人情報や、あなたを含む名簿(連絡先つき)・出欠の集計を閲覧した記録です。",
        "Each time someone viewed your personal details, or a roster with contact details or an attendance report that included you.",
    ),
    (
        "viewers.none",
        "まだ誰も閲覧していません。",
        "Nobody has viewed your data yet.",
    ),
    ("viewers.personal", "個人情報", "Your personal details"),
    (
        "viewers.roster",
        "名簿(連絡先つき)",
        "Roster with contact details",
    ),
    ("viewers.attendance", "出欠の集計", "Attendance report"),
    (
        "signing.failed",
        "パスキーで署名できませんでした。もう一度お試しください。",
        "Could not sign with your passkey. Please try again.",
    ),
    (
        "error.signature_required",
        "この操作にはパスキーでの署名が必要です。",
        "This action must be signed with your passkey.",
    ),
    (
        "error.signature_mismatch",
        "署名した内容と送られた内容が一致しません。",
        "What was signed is not what was sent.",
    ),
    (
        "error.signature_invalid",
        "パスキーの署名が正しくありません。",
        "The passkey signature is not valid.",
    ),
    (
        "error.signature_used_or_expired",
        "この署名は使用済みか期限切れです。もう一度署名してください。",
        "This signature was already used or has expired. Please sign again.",
    ),
    (
        "error.passkey_algorithm_unsupported",
        "このパスキーの方式は操作の署名に使えません。",
        "This passkey's algorithm cannot sign actions.",
    ),
    (
        "error.first_after_second",
        "1つ目のチェックポイントが2つ目より新しくなっています。",
        "The first checkpoint is newer than the second.",
    ),
    (
        "error.from_after_to",
        "開始が終了より後になっています。",
        "The start is after the end.",
    ),
];
