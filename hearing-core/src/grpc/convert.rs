//! Proto ↔ domain, in one place. Incoming values are validated here and fail with
//! INVALID_ARGUMENT naming the field.
use chrono::{DateTime, TimeZone, Utc};
use opencourt_proto::v1 as pb;

use crate::app::HearingRecord;
use crate::domain::events::MediaKind;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::MediaFile;

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_ts(field: &'static str, t: Option<prost_types::Timestamp>) -> Result<DateTime<Utc>> {
    let t = t.ok_or_else(|| CoreError::invalid(field, "is required"))?;
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(CoreError::invalid(field, "has out-of-range nanos"));
    }
    Utc.timestamp_opt(t.seconds, t.nanos as u32)
        .single()
        .filter(|d| (2000..=2200).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| CoreError::invalid(field, "is not a time between the years 2000 and 2200"))
}

pub fn role_from(field: &'static str, v: i32) -> Result<Role> {
    use pb::Role as R;
    Ok(
        match R::try_from(v).map_err(|_| CoreError::invalid(field, format!("unknown role {v}")))? {
            R::Unspecified => return Err(CoreError::invalid(field, "is required")),
            R::Judge => Role::Judge,
            R::Clerk => Role::Clerk,
            R::Admin => Role::Admin,
            R::Prosecutor => Role::Prosecutor,
            R::Counsel => Role::Counsel,
            R::Party => Role::Party,
            R::Witness => Role::Witness,
            R::Expert => Role::Expert,
            R::Interpreter => Role::Interpreter,
            R::Observer => Role::Observer,
            R::System => return Err(CoreError::invalid(field, "the system role cannot be given")),
        },
    )
}

pub fn role_to(r: Role) -> i32 {
    use pb::Role as R;
    (match r {
        Role::Judge => R::Judge,
        Role::Clerk => R::Clerk,
        Role::Admin => R::Admin,
        Role::Prosecutor => R::Prosecutor,
        Role::Counsel => R::Counsel,
        Role::Party => R::Party,
        Role::Witness => R::Witness,
        Role::Expert => R::Expert,
        Role::Interpreter => R::Interpreter,
        Role::Observer => R::Observer,
        Role::System => R::System,
    }) as i32
}

pub fn visibility_from(field: &'static str, v: i32) -> Result<Visibility> {
    use pb::Visibility as V;
    match V::try_from(v)
        .map_err(|_| CoreError::invalid(field, format!("unknown visibility {v}")))?
    {
        V::Unspecified => Err(CoreError::invalid(
            field,
            "is required (PUBLIC, RESTRICTED or SEALED)",
        )),
        V::Public => Ok(Visibility::Public),
        V::Restricted => Ok(Visibility::Restricted),
        V::Sealed => Ok(Visibility::Sealed),
    }
}

fn visibility_to(v: Visibility) -> i32 {
    use pb::Visibility as V;
    (match v {
        Visibility::Public => V::Public,
        Visibility::Restricted => V::Restricted,
        Visibility::Sealed => V::Sealed,
    }) as i32
}

pub fn state_to(s: HearingState) -> i32 {
    use pb::HearingState as S;
    (match s {
        HearingState::Scheduled => S::Scheduled,
        HearingState::Open => S::Open,
        HearingState::OnRecord => S::OnRecord,
        HearingState::OffRecord => S::OffRecord,
        HearingState::Adjourned => S::Adjourned,
        HearingState::Cancelled => S::Cancelled,
    }) as i32
}

fn presence_to(p: Presence) -> i32 {
    use pb::Presence as P;
    (match p {
        Presence::Invited => P::Invited,
        Presence::Waiting => P::Waiting,
        Presence::Admitted => P::Admitted,
        Presence::Left => P::Left,
        Presence::Removed => P::Removed,
        Presence::Disconnected => P::Disconnected,
    }) as i32
}

pub fn user(u: &User) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        username: u.username.as_str().into(),
        display_name: u.display_name.to_string(),
        role: role_to(u.role),
    }
}

pub fn case(c: &Case) -> pb::Case {
    pb::Case {
        id: c.id.to_string(),
        case_number: c.case_number.as_str().into(),
        title: c.title.to_string(),
        visibility: visibility_to(c.visibility),
        created_at: Some(ts(c.created_at)),
    }
}

pub fn participant(hearing: HearingId, p: &Participant) -> pb::Participant {
    pb::Participant {
        id: p.id.to_string(),
        hearing_id: hearing.to_string(),
        display_name: p.display_name.to_string(),
        role: role_to(p.role),
        presence: presence_to(p.presence),
        muted: p.muted,
        user_id: p.user_id.map(|u| u.to_string()).unwrap_or_default(),
    }
}

pub fn hearing(h: &Hearing, last_seq: u64, head_hash: &str) -> pb::Hearing {
    pb::Hearing {
        id: h.id.to_string(),
        case_id: h.case_id.to_string(),
        title: h.title.to_string(),
        starts_at: Some(ts(h.starts_at)),
        ends_at: Some(ts(h.ends_at)),
        state: state_to(h.state),
        presiding_judge_id: h.presiding_judge.to_string(),
        presiding_participant_id: h.presiding_participant.to_string(),
        participants: h
            .participants
            .iter()
            .map(|p| participant(h.id, p))
            .collect(),
        opened_at: h.opened_at.map(ts),
        last_seq,
        head_hash: head_hash.to_string(),
        locked: h.locked,
        case_number: h.labels.case_number.clone(),
        presiding_judge_name: h.labels.presiding_judge_name.clone(),
    }
}

fn media_file(hearing: HearingId, m: &MediaFile) -> pb::MediaFile {
    pb::MediaFile {
        kind: m.kind.as_str().into(),
        file: m.file.clone(),
        participant_id: m.participant_id.map(|p| p.to_string()).unwrap_or_default(),
        sha256: m.sha256.clone(),
        size: m.size,
        duration_ms: m.duration_ms,
        start_ms: m.start_ms,
        end_ms: m.end_ms,
        download_path: format!("/media/{hearing}/{}", m.file),
    }
}

/// One hearing on a case record, its recordings and tracks apart.
pub fn hearing_record(h: &HearingRecord) -> pb::HearingRecord {
    let media = |kind: MediaKind| -> Vec<pb::MediaFile> {
        h.media
            .iter()
            .filter(|m| m.kind == kind)
            .map(|m| media_file(h.hearing.id, m))
            .collect()
    };
    pb::HearingRecord {
        hearing: Some(hearing(&h.hearing, h.last_seq, &h.head_hash)),
        events: h.events.iter().map(event).collect(),
        recordings: media(MediaKind::Segment),
        tracks: media(MediaKind::Track),
        has_transcript: h.transcript_segments.is_some(),
        transcript_segments: h.transcript_segments.unwrap_or(0) as u32,
    }
}

pub fn event(e: &StoredEvent) -> pb::HearingEvent {
    use pb::hearing_event::Payload as P;
    let pid = |p: ParticipantId| p.to_string();
    let payload = e.payload().map(|p| match p {
        EventPayload::Scheduled {
            case_id,
            title,
            starts_at_ms,
            ends_at_ms,
            presiding_judge_id,
        } => P::Scheduled(pb::HearingScheduled {
            case_id: case_id.to_string(),
            title,
            starts_at: Some(ts(crate::store::from_ms(starts_at_ms))),
            ends_at: Some(ts(crate::store::from_ms(ends_at_ms))),
            presiding_judge_id: presiding_judge_id.to_string(),
        }),
        EventPayload::Invited {
            participant_id,
            display_name,
            role,
        } => P::Invited(pb::ParticipantInvited {
            participant_id: pid(participant_id),
            display_name,
            role: role_to(role),
        }),
        EventPayload::InviteRedeemed { participant_id } => P::InviteRedeemed(pb::InviteRedeemed {
            participant_id: pid(participant_id),
        }),
        EventPayload::InviteReissued { participant_id } => P::InviteReissued(pb::InviteReissued {
            participant_id: pid(participant_id),
        }),
        EventPayload::StateChanged { from, to, reason } => P::StateChanged(pb::StateChanged {
            from: state_to(from),
            to: state_to(to),
            reason: reason.unwrap_or_default(),
        }),
        EventPayload::Joined {
            participant_id,
            presence,
        } => P::Joined(pb::ParticipantJoined {
            participant_id: pid(participant_id),
            presence: presence_to(presence),
        }),
        EventPayload::Left {
            participant_id,
            reason,
            disconnected,
        } => P::Left(pb::ParticipantLeft {
            participant_id: pid(participant_id),
            reason: reason.unwrap_or_default(),
            disconnected,
        }),
        EventPayload::Admitted { participant_id } => P::Admitted(pb::ParticipantAdmitted {
            participant_id: pid(participant_id),
        }),
        EventPayload::StoodDown {
            participant_id,
            reason,
        } => P::StoodDown(pb::ParticipantStoodDown {
            participant_id: pid(participant_id),
            reason: reason.unwrap_or_default(),
        }),
        EventPayload::Removed {
            participant_id,
            reason,
        } => P::Removed(pb::ParticipantRemoved {
            participant_id: pid(participant_id),
            reason,
        }),
        EventPayload::Muted {
            participant_id,
            muted,
        } => P::Muted(pb::ParticipantMuted {
            participant_id: pid(participant_id),
            muted,
        }),
        EventPayload::Note { text } => P::Note(pb::NoteAdded { text }),
        EventPayload::Denied {
            action,
            reason,
            target_participant_id,
        } => P::Denied(pb::ActionDenied {
            action,
            reason,
            target_participant_id: target_participant_id.map(pid).unwrap_or_default(),
        }),
        EventPayload::MediaClosed {
            kind,
            file,
            participant_id,
            sha256,
            size,
            duration_ms,
            start_ms,
            end_ms,
        } => P::MediaClosed(pb::MediaClosed {
            kind: kind.as_str().into(),
            file,
            participant_id: participant_id.map(pid).unwrap_or_default(),
            sha256,
            size,
            duration_ms,
            start_ms,
            end_ms,
        }),
        EventPayload::RecordingGap {
            from_ms,
            to_ms,
            reason,
            participant_id,
        } => P::RecordingGap(pb::RecordingGap {
            from_ms,
            to_ms,
            reason,
            participant_id: participant_id.map(pid).unwrap_or_default(),
        }),
        EventPayload::MediaStalled {
            participant_id,
            media_id,
            since_ms,
        } => P::MediaStalled(pb::MediaStalled {
            participant_id: participant_id.map(pid).unwrap_or_default(),
            since_ms,
            media_id,
        }),
        EventPayload::MediaResumed {
            participant_id,
            media_id,
            at_ms,
        } => P::MediaResumed(pb::MediaResumed {
            participant_id: participant_id.map(pid).unwrap_or_default(),
            at_ms,
            media_id,
        }),
        EventPayload::TranscriptStored {
            transcript_id,
            sha256,
            segments,
        } => P::TranscriptStored(pb::TranscriptStored {
            transcript_id,
            sha256,
            segments,
        }),
        EventPayload::RecordingFault {
            file,
            at_ms,
            message,
            participant_id,
        } => P::RecordingFault(pb::RecordingFault {
            file,
            at_ms,
            message,
            participant_id: participant_id.map(pid).unwrap_or_default(),
        }),
        EventPayload::Caption {
            participant_id,
            speaker,
            start_ms,
            end_ms,
            text,
        } => P::Caption(pb::Caption {
            participant_id: participant_id.map(|p| p.to_string()).unwrap_or_default(),
            speaker,
            start_ms,
            end_ms,
            text,
        }),
        EventPayload::RoomLocked { locked, reason } => P::RoomLocked(pb::RoomLocked {
            locked,
            reason: reason.unwrap_or_default(),
        }),
        EventPayload::WaitingRoomMessage { text } => {
            P::WaitingRoomMessage(pb::WaitingRoomMessage { text })
        }
    });
    pb::HearingEvent {
        hearing_id: e.hearing_id.to_string(),
        seq: e.seq,
        clock_ms: e.clock_ms,
        at: Some(ts(e.at)),
        actor: Some(pb::Actor {
            participant_id: e.actor_participant_id.clone(),
            user_id: e.actor_user_id.clone(),
            role: Role::from_db(&e.actor_role)
                .map(role_to)
                .unwrap_or_default(),
            display_name: e.actor_name.clone(),
        }),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
        payload,
    }
}

/// Keyset page tokens: opaque to clients, `<sort key>:<id>` inside.
pub fn page_token(next: Option<(i64, String)>) -> String {
    next.map(|(k, id)| hex::encode(format!("{k}:{id}")))
        .unwrap_or_default()
}

pub fn parse_page_token(s: &str) -> Result<Option<(i64, String)>> {
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || CoreError::invalid("page_token", "is not a token this server issued");
    let raw = String::from_utf8(hex::decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let (k, id) = raw.split_once(':').ok_or_else(bad)?;
    uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((k.parse().map_err(|_| bad())?, id.to_string())))
}

/// A search or filter text: at most 200 characters.
pub fn search_query(q: String) -> Result<String> {
    if q.chars().count() > 200 {
        return Err(CoreError::invalid("query", "is longer than 200 characters"));
    }
    Ok(q)
}

pub fn hearing_id(s: &str) -> Result<HearingId> {
    HearingId::parse("hearing_id", s)
}

pub fn participant_id(s: &str) -> Result<ParticipantId> {
    ParticipantId::parse("participant_id", s)
}

pub fn page_size(v: u32) -> Result<u32> {
    match v {
        0 => Ok(20),
        1..=100 => Ok(v),
        _ => Err(CoreError::invalid("page_size", "must be between 1 and 100")),
    }
}
