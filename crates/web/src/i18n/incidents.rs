//! Messages of incidents: the banner, the status page, their states and categories.

/// (key, 日本語, English)
pub(super) const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "alerts.down",
        "警告: 運営者に届く通知経路がありません。検知があっても誰にも届きません。[alerts] の Webhook、メール、またはプッシュ通知を設定し、テスト送信してください。",
        "Warning: no alert channel reaches the operator. Detections reach no one. Set up an [alerts] webhook, e-mail or push, and send a test.",
    ),
    (
        "error.address_blocked",
        "このネットワークからのパスワードでのログインは、不審なアクセスが続いたため一時的に止めています。以前ログインした端末かパスキーでログインするか、時間をおいてお試しください。",
        "Password sign-in from this network is paused for now after suspicious attempts. Use a device you signed in on before, or a passkey, or try again later.",
    ),
    (
        "incident.banner",
        "運営からのお知らせ:",
        "Notice from the operator:",
    ),
    ("incident.details", "詳しく見る", "Details"),
    ("incident.state.investigating", "調査中", "Investigating"),
    (
        "incident.state.identified",
        "原因を特定",
        "Cause identified",
    ),
    ("incident.state.monitoring", "経過観察中", "Monitoring"),
    ("incident.state.resolved", "解決", "Resolved"),
    (
        "incident.category.unauthorized_access",
        "不正アクセス",
        "Unauthorized access",
    ),
    ("incident.category.data_leak", "情報の漏えい", "Data leak"),
    (
        "incident.category.data_loss",
        "データの滅失・毀損",
        "Data loss",
    ),
    (
        "incident.category.ransomware",
        "ランサムウェア",
        "Ransomware",
    ),
    ("incident.category.outage", "サービスの停止・障害", "Outage"),
    ("incident.category.vulnerability", "脆弱性", "Vulnerability"),
    ("incident.category.other", "その他", "Other"),
    (
        "status.title",
        "稼働状況とお知らせ",
        "Service status and notices",
    ),
    (
        "status.all_clear",
        "現在、対応中の障害やインシデントはありません。",
        "No incident or outage is being handled now.",
    ),
    ("status.open", "対応中", "Being handled"),
    ("status.past", "過去のお知らせ", "Past notices"),
    (
        "status.none_past",
        "過去のお知らせはありません。",
        "No past notices.",
    ),
    ("status.cause", "原因", "Cause"),
    ("status.prevention", "再発防止策", "Preventing it again"),
    ("status.published", "公開", "Published"),
    ("status.resolved_at", "解決", "Resolved"),
    (
        "status.feeds",
        "このページは Atom フィードと JSON でも読めます:",
        "This page as a feed and as data:",
    ),
    ("status.generated", "更新時刻", "As of"),
    (
        "error.aware_before_detected",
        "気づいた時刻は発生・検知の時刻より後で、現在より前にしてください。",
        "The time you became aware must come after detection, and not in the future.",
    ),
    (
        "error.incident_resolved",
        "このインシデントは解決済みです。新しい事象は新しいインシデントとして記録してください。",
        "This incident is resolved. Record anything new as a new incident.",
    ),
    (
        "error.incident_state_backwards",
        "状態は 調査中 → 原因を特定 → 経過観察中 → 解決 の順にしか進められません。",
        "States only move forward: investigating, identified, monitoring, resolved.",
    ),
    (
        "error.resolve_needs_cause_and_prevention",
        "解決にするには、原因と再発防止策を記入してください。",
        "To resolve it, record its cause and how it is prevented from recurring.",
    ),
];
