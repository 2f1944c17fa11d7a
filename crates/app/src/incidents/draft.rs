//! The paperwork of a breach, drafted from the computed breach and the incident: the
//! report to the Personal Information Protection Commission with the nine items of
//! 個人情報保護法施行規則 8条1項, and the notice to each person (規則10条: 概要, 項目,
//! 原因, 二次被害又はそのおそれの有無及びその内容, その他参考となる事項). Both are
//! drafts: the operator reads, corrects and files them; nothing is sent from here.

use serde::Serialize;
use tekkan_core::breach::{DataItem, Exposure, MANY_PEOPLE};
use tekkan_core::{IncidentId, jiff};

use super::breach::{AffectedPerson, Breach};
use crate::actor::Actor;
use crate::{App, Result};

/// One numbered item of the report, or one section of a notice.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: &'static str,
    pub title_en: &'static str,
    pub body: String,
    pub body_en: String,
}

/// The notice to one person.
#[derive(Debug, Clone, Serialize)]
pub struct PersonNotice {
    pub account: String,
    pub name: String,
    pub sections: Vec<Section>,
}

/// Everything the operator's breach pages and the JSON show.
#[derive(Debug, Clone, Serialize)]
pub struct BreachDraft {
    pub breach: Breach,
    pub title: String,
    pub category: String,
    pub category_label: (&'static str, &'static str),
    pub aware_at: i64,
    pub detected_at: i64,
    /// The reasons a report is mandatory, in words (empty when none applies).
    pub reasons: Vec<(&'static str, &'static str)>,
    /// The nine items of 規則8条1項, in order.
    pub report: Vec<Section>,
    pub notices: Vec<PersonNotice>,
}

/// A time as people in Japan read it: 2026年12月7日 23時30分.
pub fn jst(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| Some(t.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").ok()?)))
        .map(|z| z.strftime("%Y年%-m月%-d日 %H時%M分").to_string())
        .unwrap_or_default()
}

/// The same time for English readers: 7 Dec 2026, 23:30 JST.
pub fn jst_en(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| Some(t.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").ok()?)))
        .map(|z| z.strftime("%-d %b %Y, %H:%M JST").to_string())
        .unwrap_or_default()
}

/// "1 person", "2 people".
fn people(n: usize) -> String {
    match n {
        1 => "1 person".into(),
        n => format!("{n} people"),
    }
}

fn or_pending(s: &str) -> (String, String) {
    match s.trim() {
        "" => ("調査中".into(), "Under investigation.".into()),
        t => (t.to_owned(), t.to_owned()),
    }
}

fn labels(items: &[DataItem]) -> (String, String) {
    let ja: Vec<&str> = items.iter().map(|i| i.label().0).collect();
    let en: Vec<&str> = items.iter().map(|i| i.label().1).collect();
    (ja.join("、"), en.join(", "))
}

fn how(exposure: Exposure) -> (&'static str, &'static str) {
    match exposure {
        Exposure::Access => (
            "本サービスを通じた閲覧・出力",
            "viewing or export through the service",
        ),
        Exposure::DatabaseCopy => (
            "データベースの複製の持ち出し",
            "a copy of the database taken",
        ),
        Exposure::BackupCopy => ("バックアップの持ち出し", "a backup taken"),
    }
}

fn section(
    title: &'static str,
    title_en: &'static str,
    (body, body_en): (String, String),
) -> Section {
    Section {
        title,
        title_en,
        body,
        body_en,
    }
}

fn reasons(b: &Breach) -> Vec<(&'static str, &'static str)> {
    let c = b.cases;
    [
        (
            c.sensitive,
            "要配慮個人情報が含まれる（規則7条1号）",
            "special care-required information (rule 7(1))",
        ),
        (
            c.financial,
            "財産的被害が生じるおそれがある（規則7条2号）",
            "possible financial harm (rule 7(2))",
        ),
        (
            c.malicious,
            "不正の目的をもって行われたおそれがある（規則7条3号）",
            "possible unauthorized intent (rule 7(3))",
        ),
        (
            c.many_people,
            "本人の数が1,000人を超える（規則7条4号）",
            "more than 1,000 people (rule 7(4))",
        ),
    ]
    .into_iter()
    .filter(|r| r.0)
    .map(|r| (r.1, r.2))
    .collect()
}

fn overview(d: &BreachDraft) -> (String, String) {
    let b = &d.breach;
    let (via, via_en) = how(b.exposure);
    (
        format!(
            "{}、{}（{}）を認知した（発生・検知 {}）。{}から{}までの間に、{}により個人データが第三者に閲覧された、又はそのおそれがある。監査ログで確認した該当操作は{}件。",
            jst(d.aware_at),
            d.title,
            d.category_label.0,
            jst(d.detected_at),
            jst(b.from_ms),
            jst(b.to_ms),
            via,
            b.entries
        ),
        format!(
            "On {} we became aware of \"{}\" ({}; detected {}). Between {} and {}, personal data was or may have been seen by others through {}. The audit log shows {} such {}.",
            jst_en(d.aware_at),
            d.title,
            d.category_label.1,
            jst_en(d.detected_at),
            jst_en(b.from_ms),
            jst_en(b.to_ms),
            via_en,
            b.entries,
            if b.entries == 1 {
                "operation"
            } else {
                "operations"
            }
        ),
    )
}

fn items_text(b: &Breach) -> (String, String) {
    let line = |ja: bool| {
        b.items
            .iter()
            .map(|i| match (ja, i.protected) {
                (true, 0) => format!("{}（{}人）", i.label, i.exposed),
                (true, p) => format!(
                    "{}（{}人、うち暗号化により保護 {}人）",
                    i.label,
                    i.exposed + p,
                    p
                ),
                (false, 0) => format!("{} ({})", i.label_en, people(i.exposed)),
                (false, p) => format!(
                    "{} ({}, {p} of them protected by encryption)",
                    i.label_en,
                    people(i.exposed + p)
                ),
            })
            .collect::<Vec<_>>()
    };
    (line(true).join("\n"), line(false).join("\n"))
}

fn other(d: &BreachDraft) -> (String, String) {
    let b = &d.breach;
    let mut ja = Vec::new();
    let mut en = Vec::new();
    match d.reasons.is_empty() {
        true => {
            ja.push(format!(
                "報告義務の類型（規則7条各号）には該当しない見込み（本人の数 {} 人、閾値 {} 人）。",
                b.people_exposed, MANY_PEOPLE
            ));
            en.push("None of the four mandatory cases (rule 7) seems to apply.".to_owned());
        }
        false => {
            ja.push(format!(
                "報告対象: {}。",
                d.reasons.iter().map(|r| r.0).collect::<Vec<_>>().join("、")
            ));
            en.push(format!(
                "Mandatory because: {}.",
                d.reasons.iter().map(|r| r.1).collect::<Vec<_>>().join("; ")
            ));
        }
    }
    if b.exemption_applies {
        ja.push("一部の項目は高度な暗号化（AES-256-GCM、鍵はデータベースと別に保管）により保護されており、鍵の漏えいは確認されていないため、当該項目は本人の数及び報告対象の判断から除いた。".into());
        en.push("Some items stayed under strong encryption (AES-256-GCM, keys kept apart from the database) whose key did not leak; they are left out of the count and of the cases.".into());
    }
    let dl = &b.deadlines;
    ja.push(format!(
        "速報の目安: {}〜{}。確報の期限: {}（認知から{}日以内）。",
        jst(dl.preliminary_soon),
        jst(dl.preliminary_by),
        jst(dl.final_by),
        dl.final_days
    ));
    en.push(format!(
        "Preliminary report due around {} to {}; final report by {} ({} days from awareness).",
        jst_en(dl.preliminary_soon),
        jst_en(dl.preliminary_by),
        jst_en(dl.final_by),
        dl.final_days
    ));
    if let o @ [_, ..] = b.statement.other.trim().as_bytes() {
        let o = String::from_utf8_lossy(o).into_owned();
        ja.push(o.clone());
        en.push(o);
    }
    (ja.join("\n"), en.join("\n"))
}

fn report(d: &BreachDraft, cause: &str, prevention: &str) -> Vec<Section> {
    let b = &d.breach;
    let st = &b.statement;
    vec![
        section("1. 概要", "1. Summary", overview(d)),
        section(
            "2. 漏えい等が発生し、又は発生したおそれがある個人データの項目",
            "2. Data items",
            items_text(b),
        ),
        section(
            "3. 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
            "3. Number of people",
            (
                format!(
                    "{}人（データに触れられた本人 {}人のうち、保護されていない項目がある本人）",
                    b.people_exposed, b.people
                ),
                format!(
                    "{} (of {} whose data was reached, those with an unprotected item)",
                    people(b.people_exposed),
                    b.people
                ),
            ),
        ),
        section("4. 原因", "4. Cause", or_pending(cause)),
        section(
            "5. 二次被害又はそのおそれの有無及びその内容",
            "5. Secondary harm",
            or_pending(&st.secondary_harm),
        ),
        section(
            "6. 本人への対応の実施状況",
            "6. What was done for the people",
            or_pending(&st.response),
        ),
        section(
            "7. 公表の実施状況",
            "7. Publication",
            or_pending(&st.publication),
        ),
        section(
            "8. 再発防止のための措置",
            "8. Recurrence prevention",
            or_pending(prevention),
        ),
        section("9. その他参考となる事項", "9. Other", other(d)),
    ]
}

fn notice(d: &BreachDraft, p: &AffectedPerson, cause: &str) -> PersonNotice {
    let b = &d.breach;
    let (items, items_en) = labels(&p.exposed);
    let (safe, safe_en) = labels(&p.protected);
    let (mut it, mut it_en) = (items, items_en);
    if !p.protected.is_empty() {
        it.push_str(&format!(
            "\n（次の項目は暗号化により保護されています: {safe}）"
        ));
        it_en.push_str(&format!(
            "\n(These stayed protected by encryption: {safe_en})"
        ));
    }
    let (via, via_en) = how(b.exposure);
    PersonNotice {
        account: p.account.clone(),
        name: p.name.clone(),
        sections: vec![
            section(
                "概要",
                "What happened",
                (
                    format!("{}様の個人データが、{}から{}までの間に{}により第三者に閲覧された、又はそのおそれがあります（{}）。", p.name, jst(b.from_ms), jst(b.to_ms), via, d.title),
                    format!("Your personal data may have been seen by others between {} and {} through {} ({}).", jst_en(b.from_ms), jst_en(b.to_ms), via_en, d.title),
                ),
            ),
            section("対象となった個人データの項目", "Your data concerned", (it, it_en)),
            section("原因", "Cause", or_pending(cause)),
            section("二次被害又はそのおそれの有無及びその内容", "Secondary harm", or_pending(&b.statement.secondary_harm)),
            section(
                "その他参考となる事項",
                "What you can do",
                (
                    "不審なメールや連絡にご注意ください。パスワードを使い回している場合は変更し、パスキーまたは二段階認証の設定をおすすめします。お問い合わせはサービスの運営者までご連絡ください。".into(),
                    "Watch for suspicious e-mails or calls. If you reuse your password, change it, and consider a passkey or two-step sign-in. Contact the operator of the service with any question.".into(),
                ),
            ),
        ],
    }
}

impl App {
    /// The breach of incident `id` with its drafts.
    pub async fn breach_draft(&self, actor: Option<&Actor>, id: IncidentId) -> Result<BreachDraft> {
        let breach = self.breach(actor, id).await?;
        let incident = self.incident(actor, id).await?;
        let mut d = BreachDraft {
            reasons: reasons(&breach),
            breach,
            title: incident.title.clone(),
            category: incident.category.clone(),
            category_label: tekkan_core::incident::Category::parse(&incident.category)
                .map(|c| c.label())
                .unwrap_or(("その他", "other")),
            aware_at: incident.aware_at,
            detected_at: incident.detected_at,
            report: Vec::new(),
            notices: Vec::new(),
        };
        d.report = report(&d, &incident.cause, &incident.prevention);
        d.notices = d
            .breach
            .affected
            .iter()
            .filter(|p| !p.exposed.is_empty())
            .map(|p| notice(&d, p, &incident.cause))
            .collect();
        Ok(d)
    }
}
