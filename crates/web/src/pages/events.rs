//! Club calendar pages: the calendar, creating events, an occurrence with its answers
//! (出欠), the attendance report, and the notification list. My schedule, and answering,
//! are in [`super::schedule`].

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tekkan_app::{Details, EventInput, OccurrenceView, RepeatInput, TimesInput};
use tekkan_core::{ClubId, EventId, OccurrenceId, Permission, Reply, ValidationError};
use tekkan_storage::{Notification, Occurrence, Subgroup};

use super::form::{Pairs, all, get, refusal, subgroups, with_status};
use super::{render, see_other};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::extract::{Ids, PageCtx, PageForm, Params};
use crate::routes::Routes;
use crate::session::Auth;

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", notifications)
        .post("/notifications/read", read_all)
        .get("/clubs/{club}/events", calendar)
        .get("/clubs/{club}/events/new", new_form)
        .post("/clubs/{club}/events", create)
        .post("/clubs/{club}/events/{event}/cancel", cancel_event)
        .get("/clubs/{club}/occurrences/{occurrence}", show)
        .post("/clubs/{club}/occurrences/{occurrence}/edit", edit)
        .post("/clubs/{club}/occurrences/{occurrence}/cancel", cancel)
        .post("/clubs/{club}/occurrences/{occurrence}/remind", remind)
        .get("/clubs/{club}/attendance", attendance)
}

/// An optional whole number from a form field; empty means none.
fn opt_num(f: &Pairs, k: &'static str) -> Result<Option<i64>, WebError> {
    match get(f, k).trim() {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| tekkan_app::AppError::from(ValidationError::Invalid { field: k }).into()),
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    p: PageCtx,
    list: Vec<(Notification, String)>,
}

/// A notification's message in the reader's language.
pub fn notice_text(p: &PageCtx, n: &Notification) -> String {
    tekkan_app::notice_text(&n.kind, &n.params, p.lang == "ja")
}

async fn notifications(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
) -> WebResult<Response> {
    let (list, _) = st.app.inbox(&a, 100).await?;
    let list = list
        .into_iter()
        .map(|n| {
            let text = notice_text(&p, &n);
            (n, text)
        })
        .collect();
    Ok(render(&NotificationsPage { p, list })?.into_response())
}

async fn read_all(State(st): State<AppState>, Auth(a): Auth) -> WebResult<Response> {
    st.app.mark_read(&a, None).await?;
    Ok(see_other("/notifications"))
}

#[derive(Template)]
#[template(path = "events.html")]
struct CalendarPage {
    p: PageCtx,
    club: ClubId,
    zone: String,
    list: Vec<Occurrence>,
    can_manage: bool,
    can_report: bool,
}

async fn calendar(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    let o = st.app.club_overview(&a, club).await?;
    let list = st.app.calendar(&a, club, None, None).await?;
    Ok(render(&CalendarPage {
        p,
        club,
        zone: o.club.timezone.clone(),
        list,
        can_manage: o.me.role.allows(Permission::ManageEvents),
        can_report: o.me.role.allows(Permission::ManageAttendance),
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "event_form.html")]
struct EventFormPage {
    p: PageCtx,
    club: ClubId,
    f: Pairs,
    subgroups: Vec<Subgroup>,
    days: [&'static str; 7],
    error: Option<String>,
}

impl EventFormPage {
    fn v(&self, k: &str) -> &str {
        get(&self.f, k)
    }
    fn has(&self, k: &str, v: &str) -> bool {
        self.f.iter().any(|(key, val)| key == k && val == v)
    }
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

async fn new_form(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
) -> WebResult<Response> {
    st.app.authorize(&a, club, Permission::ManageEvents).await?;
    let subgroups = st.app.subgroup_list(&a, club).await?;
    let f = vec![
        ("deadline_before_min".to_owned(), "1440".to_owned()),
        ("reminders".to_owned(), "1440".to_owned()),
    ];
    Ok(render(&EventFormPage {
        p,
        club,
        f,
        subgroups,
        days: DAYS,
        error: None,
    })?
    .into_response())
}

fn event_input(f: &Pairs) -> Result<EventInput, WebError> {
    let reminders = all(f, "reminders")
        .into_iter()
        .map(|s| {
            s.parse().map_err(|_| {
                tekkan_app::AppError::from(ValidationError::Invalid { field: "reminders" }).into()
            })
        })
        .collect::<Result<_, WebError>>()?;
    let repeat = (get(f, "repeat") == "weekly").then(|| RepeatInput {
        freq: "weekly".into(),
        interval: get(f, "interval").parse().ok(),
        by_day: all(f, "by_day").into_iter().map(str::to_owned).collect(),
        until: get(f, "until").to_owned(),
    });
    Ok(EventInput {
        details: details(f)?,
        times: times(f)?,
        reminders,
        subgroups: subgroups(f)?,
        repeat,
    })
}

fn details(f: &Pairs) -> Result<Details, WebError> {
    Ok(Details {
        title: get(f, "title").into(),
        place: get(f, "place").into(),
        bring: get(f, "bring").into(),
        notes: get(f, "notes").into(),
        capacity: opt_num(f, "capacity")?,
    })
}

fn times(f: &Pairs) -> Result<TimesInput, WebError> {
    Ok(TimesInput {
        starts_at: get(f, "starts_at").into(),
        ends_at: get(f, "ends_at").into(),
        meet_before_min: opt_num(f, "meet_before_min")?,
        deadline_before_min: opt_num(f, "deadline_before_min")?,
    })
}

async fn create(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    let r = match event_input(&f) {
        Ok(input) => st
            .app
            .create_event(&a, club, &input)
            .await
            .map_err(WebError::from),
        Err(e) => Err(e),
    };
    match r {
        Ok((_, occ)) => match occ.first() {
            Some(o) => Ok(see_other(&format!(
                "/clubs/{club}/occurrences/{}?msg=saved",
                o.id
            ))),
            None => Ok(see_other(&format!("/clubs/{club}/events"))),
        },
        Err(e) => {
            let (status, error) = refusal(&p, e)?;
            let subgroups = st.app.subgroup_list(&a, club).await?;
            let page = EventFormPage {
                p,
                club,
                f,
                subgroups,
                days: DAYS,
                error: Some(error),
            };
            Ok(with_status(render(&page)?, status))
        }
    }
}

async fn cancel_event(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, EventId)>,
) -> WebResult<Response> {
    st.app.cancel_event(&a, club, id).await?;
    Ok(see_other(&format!("/clubs/{club}/events?msg=saved")))
}

#[derive(Template)]
#[template(path = "occurrence.html")]
struct OccurrencePage {
    p: PageCtx,
    club: ClubId,
    v: OccurrenceView,
    comments: Vec<tekkan_storage::Comment>,
    comment_action: String,
    replies: [Reply; 3],
    today: String,
    now: i64,
    /// For those who manage attendance: the list with the roll call.
    roll: Option<tekkan_app::RollCall>,
}

impl OccurrencePage {
    fn came(&self, l: &tekkan_app::RollCallLine) -> bool {
        super::roll_call::came(l)
    }
    fn answered(&self, l: &tekkan_app::RollCallLine, rep: &Reply) -> bool {
        super::roll_call::answered(l, rep)
    }
}

async fn show(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Response> {
    let v = st.app.occurrence_view(&a, club, id).await?;
    let comments = st
        .app
        .comments(&a, club, tekkan_app::Parent::Occurrence(id))
        .await?;
    let today = p.t.input_value(tekkan_storage::now_ms(), &v.event.timezone);
    let roll = match v.can_manage_attendance {
        true => Some(st.app.roll_call(&a, club, id).await?),
        false => None,
    };
    Ok(render(&OccurrencePage {
        p,
        club,
        v,
        comments,
        comment_action: format!("/clubs/{club}/occurrences/{id}/comments"),
        replies: super::schedule::REPLIES,
        today: today.get(..10).unwrap_or_default().to_owned(),
        now: tekkan_storage::now_ms(),
        roll,
    })?
    .into_response())
}

fn back(club: ClubId, id: OccurrenceId) -> Response {
    see_other(&format!("/clubs/{club}/occurrences/{id}?msg=saved"))
}

async fn edit(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
    PageForm(f): PageForm<Pairs>,
) -> WebResult<Response> {
    st.app
        .update_occurrence(&a, club, id, &details(&f)?, &times(&f)?)
        .await?;
    Ok(back(club, id))
}

async fn cancel(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Response> {
    st.app.cancel_occurrence(&a, club, id).await?;
    Ok(back(club, id))
}

async fn remind(
    State(st): State<AppState>,
    Auth(a): Auth,
    Ids((club, id)): Ids<(ClubId, OccurrenceId)>,
) -> WebResult<Response> {
    st.app.remind_now(&a, club, id).await?;
    Ok(see_other(&format!(
        "/clubs/{club}/occurrences/{id}?msg=reminded"
    )))
}

#[derive(Template)]
#[template(path = "attendance.html")]
struct AttendancePage {
    p: PageCtx,
    club: ClubId,
    r: tekkan_app::Report,
}

#[derive(serde::Deserialize)]
struct PeriodQ {
    from: Option<String>,
    to: Option<String>,
}

async fn attendance(
    State(st): State<AppState>,
    Auth(a): Auth,
    p: PageCtx,
    Ids(club): Ids<ClubId>,
    Params(q): Params<PeriodQ>,
) -> WebResult<Response> {
    // Default: the Japanese school year so far (April to today).
    let today = p.t.input_value(tekkan_storage::now_ms(), "Asia/Tokyo");
    let today = today.get(..10).unwrap_or("2026-01-01").to_owned();
    let year: i32 = today[..4].parse().unwrap_or(2026);
    let month: i32 = today[5..7].parse().unwrap_or(1);
    let start_year = if month >= 4 { year } else { year - 1 };
    let from = q.from.unwrap_or(format!("{start_year}-04-01"));
    let to = q.to.unwrap_or(today);
    let r = st.app.attendance_report(&a, club, &from, &to).await?;
    Ok(render(&AttendancePage { p, club, r })?.into_response())
}
