//! Events, occurrences, answers (出欠), the personal schedule and attendance reports.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tekkan_app::{AnswerInput, Details, EventInput, OccurrenceView, TimesInput, report_csv};
use tekkan_core::jiff::Timestamp;
use tekkan_core::{
    AccountId, AnswerStatus, AnsweredAs, ClubId, EventId, MembershipId, OccurrenceId, SubgroupId,
};
use tekkan_storage::{Answer, Event, Occurrence, ScheduleRow, Tally};

use super::{Named, named};
use crate::AppState;
use crate::error::WebResult;
use crate::extract::{ApiJson, Ids, Params};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me/schedule", schedule)
        .get("/api/v1/clubs/{club}/occurrences", calendar)
        .post("/api/v1/clubs/{club}/events", create)
        .get("/api/v1/clubs/{club}/events/{event}", show_event)
        .put("/api/v1/clubs/{club}/events/{event}", update_event)
        .post("/api/v1/clubs/{club}/events/{event}/cancel", cancel_event)
        .get("/api/v1/clubs/{club}/occurrences/{occurrence}", show)
        .put("/api/v1/clubs/{club}/occurrences/{occurrence}", update)
        .post(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/cancel",
            cancel,
        )
        .put(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/answers/{member}",
            answer,
        )
        .post(
            "/api/v1/clubs/{club}/occurrences/{occurrence}/remind",
            remind,
        )
        .get("/api/v1/clubs/{club}/attendance", report)
        .get("/api/v1/clubs/{club}/attendance.csv", report_csv_file)
}

/// An instant as RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[derive(Serialize)]
pub struct OccurrenceRes {
    id: OccurrenceId,
    event_id: EventId,
    club_id: ClubId,
    title: String,
    place: String,
    bring: String,
    notes: String,
    starts_at: String,
    ends_at: String,
    meet_at: Option<String>,
    deadline_at: String,
    capacity: Option<i64>,
    /// Changed on its own, apart from its series.
    detached: bool,
    cancelled: bool,
}

impl From<&Occurrence> for OccurrenceRes {
    fn from(o: &Occurrence) -> Self {
        Self {
            id: o.id,
            event_id: o.event_id,
            club_id: o.club_id,
            title: o.title.clone(),
            place: o.place.clone(),
            bring: o.bring.clone(),
            notes: o.notes.clone(),
            starts_at: rfc3339(o.starts_at),
            ends_at: rfc3339(o.ends_at),
            meet_at: o.meet_at.map(rfc3339),
            deadline_at: rfc3339(o.deadline_at),
            capacity: o.capacity,
            detached: o.detached,
            cancelled: o.cancelled_at.is_some(),
        }
    }
}

#[derive(Serialize)]
struct EventRes {
    id: EventId,
    club_id: ClubId,
    title: String,
    place: String,
    bring: String,
    notes: String,
    timezone: String,
    rrule: Option<String>,
    capacity: Option<i64>,
    reminders: Vec<i64>,
    subgroups: Vec<SubgroupId>,
    cancelled: bool,
    occurrences: Vec<OccurrenceRes>,
}

fn event_res(e: Event, occ: &[Occurrence]) -> EventRes {
    EventRes {
        id: e.id,
        club_id: e.club_id,
        title: e.title,
        place: e.place,
        bring: e.bring,
        notes: e.notes,
        timezone: e.timezone,
        rrule: e.rrule,
        capacity: e.capacity,
        reminders: e.reminders,
        subgroups: e.targets,
        cancelled: e.cancelled_at.is_some(),
        occurrences: occ.iter().map(OccurrenceRes::from).collect(),
    }
}

#[derive(Serialize)]
struct TallyRes {
    yes: i64,
    no: i64,
    maybe: i64,
    waitlisted: i64,
}

impl From<Tally> for TallyRes {
    fn from(t: Tally) -> Self {
        Self {
            yes: t.yes,
            no: t.no,
            maybe: t.maybe,
            waitlisted: t.waitlisted,
        }
    }
}

#[derive(Serialize)]
struct AnswerRes {
    membership_id: MembershipId,
    status: AnswerStatus,
    comment: String,
    decide_by: Option<String>,
    answered_by: AccountId,
    answered_as: AnsweredAs,
    answered_at: String,
}

impl From<&Answer> for AnswerRes {
    fn from(a: &Answer) -> Self {
        Self {
            membership_id: a.membership_id,
            status: a.status,
            comment: a.comment.clone(),
            decide_by: a.decide_by.clone(),
            answered_by: a.answered_by,
            answered_as: a.answered_as,
            answered_at: rfc3339(a.answered_at),
        }
    }
}

#[derive(Serialize)]
struct NamedAnswer {
    display_name: String,
    #[serde(flatten)]
    answer: AnswerRes,
}

#[derive(Serialize)]
struct MineRes {
    membership_id: MembershipId,
    display_name: String,
    answer: Option<AnswerRes>,
}

#[derive(Serialize)]
struct OccurrenceDetail {
    occurrence: OccurrenceRes,
    timezone: String,
    recurring: bool,
    tally: TallyRes,
    answers: Vec<NamedAnswer>,
    mine: Vec<MineRes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    non_responders: Option<Vec<Named>>,
}

fn detail(v: OccurrenceView) -> OccurrenceDetail {
    OccurrenceDetail {
        occurrence: (&v.occurrence).into(),
        timezone: v.event.timezone,
        recurring: v.event.rrule.is_some(),
        tally: v.tally.into(),
        answers: v
            .answers
            .iter()
            .map(|(a, n)| NamedAnswer {
                display_name: n.clone(),
                answer: a.into(),
            })
            .collect(),
        mine: v
            .mine
            .iter()
            .map(|(m, n, a)| MineRes {
                membership_id: *m,
                display_name: n.clone(),
                answer: a.as_ref().map(AnswerRes::from),
            })
            .collect(),
        non_responders: v.non_responders.map(named),
    }
}

#[derive(Serialize)]
struct ScheduleRes {
    occurrence: OccurrenceRes,
    club_name: String,
    membership_id: MembershipId,
    display_name: String,
    is_self: bool,
    status: Option<AnswerStatus>,
    comment: Option<String>,
    tally: TallyRes,
}

impl From<ScheduleRow> for ScheduleRes {
    fn from(r: ScheduleRow) -> Self {
        Self {
            occurrence: (&r.occurrence).into(),
            club_name: r.club_name,
            membership_id: r.member,
            display_name: r.member_name,
            is_self: r.is_self,
            status: r.answer.as_ref().map(|a| a.0),
            comment: r.answer.map(|a| a.1),
            tally: r.tally.into(),
        }
    }
}

#[derive(Deserialize)]
struct ScheduleQ {
    /// How many days ahead (default 42, at most 400).
    days: Option<i64>,
    limit: Option<i64>,
}

async fn schedule(
    State(st): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<ScheduleQ>,
) -> WebResult<Json<Vec<ScheduleRes>>> {
    let rows = st
        .app
        .schedule(&a, q.days.unwrap_or(42), q.limit.unwrap_or(50))
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize)]
struct RangeQ {
    from: Option<String>,
    to: Option<String>,
}

async fn calendar(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    Params(q): Params<RangeQ>,
) -> WebResult<Json<Vec<OccurrenceRes>>> {
    let v = st
        .app
        .calendar(&a, club, q.from.as_deref(), q.to.as_deref())
        .await?;
    Ok(Json(v.iter().map(OccurrenceRes::from).collect()))
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    ApiJson(r): ApiJson<EventInput>,
) -> WebResult<(StatusCode, Json<EventRes>)> {
    let (e, o) = st.app.create_event(&a, club, &r).await?;
    Ok((StatusCode::CREATED, Json(event_res(e, &o))))
}

async fn show_event(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, EventId)>,
) -> WebResult<Json<EventRes>> {
    let (e, o) = st.app.event(&a, club, id).await?;
    Ok(Json(event_res(e, &o)))
}

#[derive(Deserialize)]
struct EventUpdate {
    #[serde(flatten)]
    details: Details,
    #[serde(default)]
    reminders: Vec<i64>,
}

#[derive(Serialize)]
struct Changed {
    changed: usize,
}

async fn update_event(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, EventId)>,
    ApiJson(r): ApiJson<EventUpdate>,
) -> WebResult<Json<Changed>> {
    let changed = st
        .app
        .update_event(&a, club, id, &r.details, &r.reminders)
        .await?;
    Ok(Json(Changed { changed }))
}

async fn cancel_event(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, EventId)>,
) -> WebResult<Json<Changed>> {
    let changed = st.app.cancel_event(&a, club, id).await?;
    Ok(Json(Changed { changed }))
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Json<OccurrenceDetail>> {
    Ok(Json(detail(st.app.occurrence_view(&a, club, id).await?)))
}

#[derive(Deserialize)]
struct OccurrenceUpdate {
    #[serde(flatten)]
    details: Details,
    #[serde(flatten)]
    times: TimesInput,
}

async fn update(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
    ApiJson(r): ApiJson<OccurrenceUpdate>,
) -> WebResult<Json<OccurrenceRes>> {
    let o = st
        .app
        .update_occurrence(&a, club, id, &r.details, &r.times)
        .await?;
    Ok(Json((&o).into()))
}

async fn cancel(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<StatusCode> {
    st.app.cancel_occurrence(&a, club, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn answer(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id, member)): Ids<(ClubId, OccurrenceId, MembershipId)>,
    ApiJson(r): ApiJson<AnswerInput>,
) -> WebResult<Json<AnswerRes>> {
    let ans = st.app.answer(&a, club, id, member, &r).await?;
    Ok(Json((&ans).into()))
}

#[derive(Serialize)]
struct Reminded {
    notified: usize,
}

async fn remind(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Json<Reminded>> {
    let notified = st.app.remind_now(&a, club, id).await?;
    Ok(Json(Reminded { notified }))
}

#[derive(Deserialize)]
struct PeriodQ {
    from: String,
    to: String,
}

async fn report(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    Params(q): Params<PeriodQ>,
) -> WebResult<Json<tekkan_app::Report>> {
    Ok(Json(
        st.app.attendance_report(&a, club, &q.from, &q.to).await?,
    ))
}

async fn report_csv_file(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids(club): Ids<ClubId>,
    Params(q): Params<PeriodQ>,
    p: crate::extract::PageCtx,
) -> WebResult<Response> {
    let r = st.app.attendance_report(&a, club, &q.from, &q.to).await?;
    let t = p.t;
    let csv = report_csv(
        &r,
        &[
            t.s("attendance.col_name"),
            t.s("attendance.col_targeted"),
            t.s("attendance.col_yes"),
            t.s("attendance.col_no"),
            t.s("attendance.col_maybe"),
            t.s("attendance.col_unanswered"),
            t.s("attendance.col_attended"),
            t.s("attendance.col_rate"),
        ],
    );
    let mut res = csv.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!(
        "attachment; filename=\"attendance-{}-{}.csv\"",
        r.from, r.to
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
