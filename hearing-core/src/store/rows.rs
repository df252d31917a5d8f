//! Row ↔ domain mapping. A row that does not map (an unknown role, a malformed id) is corruption
//! and surfaces as an internal error rather than a panic.
use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::domain::*;
use crate::error::{CoreError, Result};

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

fn corrupt(what: &str, value: &str) -> CoreError {
    CoreError::Internal(format!("stored {what} {value:?} is not valid"))
}

pub(crate) fn uuid(row: &AnyRow, col: &str) -> Result<Uuid> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(|_| corrupt(col, &s))
}

pub(crate) fn opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>> {
    let s: Option<String> = row.try_get(col)?;
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => Uuid::parse_str(v).map(Some).map_err(|_| corrupt(col, v)),
    }
}

macro_rules! named {
    ($fn:ident, $ty:ty) => {
        pub(crate) fn $fn(row: &AnyRow, col: &str) -> Result<$ty> {
            let s: String = row.try_get(col)?;
            <$ty>::from_db(&s).ok_or_else(|| corrupt(col, &s))
        }
    };
}
named!(role, Role);
named!(visibility, Visibility);
named!(state, HearingState);
named!(presence, Presence);
named!(media_kind, crate::domain::events::MediaKind);

pub(crate) fn text<T>(
    row: &AnyRow,
    col: &'static str,
    parse: fn(&'static str, &str) -> Result<T>,
) -> Result<T> {
    let s: String = row.try_get(col)?;
    parse(col, &s).map_err(|_| corrupt(col, &s))
}

pub(crate) fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(uuid(row, "id")?),
        username: text(row, "username", Username::parse)?,
        display_name: text(row, "display_name", DisplayName::parse)?,
        role: role(row, "role")?,
    })
}

pub(crate) fn case(row: &AnyRow) -> Result<Case> {
    Ok(Case {
        id: CaseId(uuid(row, "id")?),
        case_number: text(row, "case_number", CaseNumber::parse)?,
        title: text(row, "title", Title::parse)?,
        visibility: visibility(row, "visibility")?,
        created_at: from_ms(row.try_get("created_at")?),
    })
}

pub(crate) fn participant(row: &AnyRow) -> Result<Participant> {
    Ok(Participant {
        id: ParticipantId(uuid(row, "id")?),
        display_name: text(row, "display_name", DisplayName::parse)?,
        role: role(row, "role")?,
        presence: presence(row, "presence")?,
        muted: row.try_get::<i64, _>("muted")? != 0,
        court_muted: row.try_get::<i64, _>("court_muted")? != 0,
        user_id: opt_uuid(row, "user_id")?.map(UserId),
        admitted_before: row.try_get::<i64, _>("admitted_before")? != 0,
    })
}

/// What selects a hearing row with its labels (`hearing` reads them): `h` is the hearing.
pub(crate) const HEARING_SELECT: &str =
    "SELECT h.*, c.case_number AS label_case_number, u.display_name AS label_judge_name \
     FROM hearings h JOIN cases c ON c.id = h.case_id JOIN users u ON u.id = h.presiding_judge_id";

/// A hearing row (selected with `HEARING_SELECT`) without participants, plus its log head
/// (last seq, head hash).
pub(crate) fn hearing(row: &AnyRow) -> Result<(Hearing, u64, String)> {
    let h = Hearing {
        id: HearingId(uuid(row, "id")?),
        case_id: CaseId(uuid(row, "case_id")?),
        title: text(row, "title", Title::parse)?,
        starts_at: from_ms(row.try_get("starts_at")?),
        ends_at: from_ms(row.try_get("ends_at")?),
        state: state(row, "state")?,
        presiding_judge: UserId(uuid(row, "presiding_judge_id")?),
        presiding_participant: ParticipantId(uuid(row, "presiding_participant_id")?),
        opened_at: row.try_get::<Option<i64>, _>("opened_at")?.map(from_ms),
        locked: row.try_get::<i64, _>("locked")? != 0,
        participants: Vec::new(),
        labels: HearingLabels {
            case_number: row.try_get("label_case_number")?,
            presiding_judge_name: row.try_get("label_judge_name")?,
        },
    };
    let last_seq: i64 = row.try_get("last_seq")?;
    Ok((h, last_seq as u64, row.try_get("head_hash")?))
}

pub(crate) fn event(row: &AnyRow) -> Result<StoredEvent> {
    Ok(StoredEvent {
        hearing_id: HearingId(uuid(row, "hearing_id")?),
        seq: row.try_get::<i64, _>("seq")? as u64,
        clock_ms: row.try_get("clock_ms")?,
        at: from_ms(row.try_get("at_ms")?),
        actor_participant_id: row.try_get("actor_participant_id")?,
        actor_user_id: row.try_get("actor_user_id")?,
        actor_role: row.try_get("actor_role")?,
        actor_name: row.try_get("actor_name")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
