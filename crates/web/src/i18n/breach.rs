//! Messages of the breach pages: the statement form, the computed breach and the
//! drafts' frame (the drafts' own wording is built in the application layer).

/// (key, 日本語, English)
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "breach.title",
        "個人データの漏えい等の報告",
        "Personal data breach report",
    ),
    (
        "breach.open",
        "漏えい等の報告を作成する",
        "Draft the breach report",
    ),
    ("breach.window", "対象期間", "Window"),
    ("breach.from", "開始", "From"),
    ("breach.to", "終了", "To"),
    ("breach.exposure", "漏えい等の態様", "How the data got out"),
    (
        "breach.exposure.access",
        "本サービスを通じた閲覧・出力(乗っ取り、権限の悪用)",
        "Viewed or exported through the service (account takeover, misused role)",
    ),
    (
        "breach.exposure.database_copy",
        "データベースの複製の持ち出し",
        "A copy of the database was taken",
    ),
    (
        "breach.exposure.backup_copy",
        "バックアップの持ち出し",
        "A backup was taken",
    ),
    (
        "breach.entries",
        "監査ログ上の該当操作",
        "Operations in the audit log",
    ),
    (
        "breach.people",
        "データに触れられた本人",
        "People whose data was reached",
    ),
    (
        "breach.people_exposed",
        "本人の数(報告対象)",
        "People to report (unprotected items)",
    ),
    (
        "breach.mandatory",
        "報告・本人通知の義務",
        "Report and notices",
    ),
    ("breach.mandatory_yes", "必要", "Required"),
    (
        "breach.mandatory_no",
        "義務なし(任意の報告は可能)",
        "Not required (a voluntary report is possible)",
    ),
    ("breach.preliminary", "速報の目安", "Preliminary report due"),
    ("breach.final", "確報の期限", "Final report due"),
    ("breach.item", "項目", "Item"),
    ("breach.exposed", "人数", "People"),
    (
        "breach.protected",
        "うち暗号化で保護",
        "Of them protected by encryption",
    ),
    (
        "breach.report",
        "個人情報保護委員会への報告(規則8条1項)の下書き",
        "Draft report to the Commission (rule 8(1))",
    ),
    (
        "breach.notices",
        "本人への通知の下書き",
        "Draft notices to each person",
    ),
    ("breach.print", "印刷する", "Print"),
    ("breach.statement", "期間と範囲", "Window and scope"),
    (
        "breach.actors",
        "対象のアカウント(メールアドレスまたはID、1行に1つ。空欄はすべて)",
        "Accounts in scope (e-mail or id, one per line; empty for anyone)",
    ),
    (
        "breach.prefixes",
        "対象のIPアドレスの前方部分(例 203.0.113. 、1行に1つ)",
        "Address prefixes (such as 203.0.113., one per line)",
    ),
    (
        "breach.malicious",
        "不正の目的をもって行われたおそれがある",
        "Unauthorized intent is suspected",
    ),
    (
        "breach.financial_harm",
        "財産的被害が生じるおそれがある",
        "Financial harm is possible",
    ),
    (
        "breach.key_compromised",
        "暗号鍵も漏えいした",
        "The encryption key went with the data",
    ),
    (
        "breach.secondary_harm",
        "二次被害又はそのおそれ",
        "Secondary harm",
    ),
    (
        "breach.response",
        "本人への対応",
        "What was done for the people",
    ),
    ("breach.publication", "公表の状況", "Publication"),
    ("breach.other", "その他参考となる事項", "Other"),
    ("breach.assess", "集計して下書きを作る", "Compute and draft"),
    (
        "error.not_a_breach",
        "この種類のインシデントは個人データの漏えい等ではありません。",
        "This kind of incident is not a personal data breach.",
    ),
    (
        "error.window_order",
        "期間の開始は終了より前、終了は現在までにしてください。",
        "The window must start before it ends, and end by now.",
    ),
];
