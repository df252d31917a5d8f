//! The hearing event log: `append` commits a command's new hearing state, participants, events
//! and side writes in one transaction; reading and verifying the hash chain. The hearing and
//! participant rows it loads and writes inside that transaction are written here too, so that
//! `hearings` builds on the log and not the other way round.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::users::{insert_session, Session};
use super::{jobs, media, ms, rows, transcripts, Store};
use crate::domain::events::verify_chain;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::MediaFile;

/// What a hearing command decided: the new hearing (if it changed), the events to append and
/// any side writes, all committed together.
pub struct Decision<T> {
    pub now: DateTime<Utc>,
    pub actor: Actor,
    pub hearing: Hearing,
    pub events: Vec<EventPayload>,
    pub side: Vec<SideWrite>,
    pub value: T,
}

/// Writes that ride in the same transaction as a hearing's events.
#[derive(Clone, Debug)]
pub enum SideWrite {
    /// Marks an invitation code used; fails the whole command if it already was.
    ConsumeInvite {
        participant_id: ParticipantId,
        code_hash: String,
    },
    SetInviteCode {
        participant_id: ParticipantId,
        code_hash: String,
    },
    InsertSession {
        token_hash: String,
        session: Session,
    },
    RevokeSessions {
        participant_id: ParticipantId,
    },
    /// Marks a job done; fails the whole command unless `owner` still holds its lease.
    CompleteJob {
        job_id: String,
        owner: String,
    },
    InsertTranscript {
        transcript_id: String,
        job_id: String,
        hearing_id: HearingId,
        transcript: crate::domain::transcript::Transcript,
    },
    InsertMedia {
        hearing_id: HearingId,
        media: MediaFile,
    },
    /// Deletes an outbox row: the append is the write it was kept for. Fails the whole
    /// append if the row is gone (the write was done already).
    TakeOutbox {
        id: String,
    },
}

impl Store {
    /// Runs a hearing command: loads the hearing (locked), lets `decide` choose the new state and
    /// events, then commits the hearing, participants, events and side writes in one transaction.
    /// Returns only after the commit is durable. `decide` is pure and may run more than once.
    pub async fn append<T>(
        &self,
        id: HearingId,
        mut decide: impl FnMut(&Hearing) -> Result<Decision<T>>,
    ) -> Result<(T, Hearing, Vec<StoredEvent>)> {
        let _w = self.write_guard().await;
        for _attempt in 0..20 {
            let mut tx = self.begin_write().await?;
            let (old, last_seq, head) = load_hearing(&mut tx, id, self.for_update())
                .await?
                .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
            let d = decide(&old)?;
            if d.events.is_empty() && d.side.is_empty() && d.hearing == old {
                return Ok((d.value, old, Vec::new()));
            }
            let mut prev = head.clone();
            let clock = d.hearing.clock_ms(d.now);
            let sealed: Vec<StoredEvent> = d
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let s = StoredEvent::seal(
                        id,
                        last_seq + 1 + i as u64,
                        clock,
                        d.now,
                        &d.actor,
                        e,
                        &prev,
                    );
                    prev = s.hash.clone();
                    s
                })
                .collect();
            let new_last = last_seq + sealed.len() as u64;
            let updated = sqlx::query(
                "UPDATE hearings SET state = $2, opened_at = $3, last_seq = $4, head_hash = $5, \
                 locked = $7 WHERE id = $1 AND last_seq = $6",
            )
            .bind(id.to_string())
            .bind(d.hearing.state.as_str())
            .bind(d.hearing.opened_at.map(ms))
            .bind(new_last as i64)
            .bind(&prev)
            .bind(last_seq as i64)
            .bind(i64::from(d.hearing.locked))
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                // Another node appended first: start over on the new head.
                tx.rollback().await?;
                continue;
            }
            for (i, p) in d.hearing.participants.iter().enumerate() {
                match old.participant(p.id) {
                    None => insert_participant(&mut tx, id, i as i64, p).await?,
                    Some(o) if o != p => update_participant(&mut tx, p).await?,
                    Some(_) => {}
                }
            }
            for w in &d.side {
                side_write(&mut tx, w).await?;
            }
            for e in &sealed {
                insert_event(&mut tx, e).await?;
            }
            tx.commit().await?;
            metrics::counter!("opencourt_events_appended_total").increment(sealed.len() as u64);
            return Ok((d.value, d.hearing, sealed));
        }
        Err(CoreError::Internal(format!(
            "hearing {id}: too much contention appending events"
        )))
    }

    pub async fn events_after(
        &self,
        id: HearingId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        metrics::counter!("opencourt_log_reads_total").increment(1);
        let rows = sqlx::query(
            "SELECT * FROM hearing_events WHERE hearing_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after_seq as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::event).collect()
    }

    /// Recomputes the hearing's hash chain from the database.
    pub async fn verify_log(&self, id: HearingId) -> Result<Verification> {
        let (_, last_seq, head) = self
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let rows = sqlx::query("SELECT * FROM hearing_events WHERE hearing_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        let events: Vec<StoredEvent> = rows.iter().map(rows::event).collect::<Result<_>>()?;
        Ok(verify_chain(&events, last_seq, &head))
    }
}

async fn side_write(tx: &mut Transaction<'_, Any>, w: &SideWrite) -> Result<()> {
    match w {
        SideWrite::ConsumeInvite {
            participant_id,
            code_hash,
        } => {
            let r = sqlx::query(
                "UPDATE participants SET invite_code_hash = NULL, redeemed_at = $3 \
                 WHERE id = $1 AND invite_code_hash = $2",
            )
            .bind(participant_id.to_string())
            .bind(code_hash)
            .bind(ms(Utc::now()))
            .execute(&mut **tx)
            .await?;
            if r.rows_affected() != 1 {
                return Err(CoreError::Unauthenticated(
                    "invitation code is not valid or was already used".into(),
                ));
            }
        }
        SideWrite::SetInviteCode {
            participant_id,
            code_hash,
        } => {
            sqlx::query("UPDATE participants SET invite_code_hash = $2 WHERE id = $1")
                .bind(participant_id.to_string())
                .bind(code_hash)
                .execute(&mut **tx)
                .await?;
        }
        SideWrite::InsertSession {
            token_hash,
            session,
        } => insert_session(tx, token_hash, session).await?,
        SideWrite::CompleteJob { job_id, owner } => jobs::complete_job(tx, job_id, owner).await?,
        SideWrite::TakeOutbox { id } => super::outbox::take(tx, id).await?,
        SideWrite::InsertTranscript {
            transcript_id,
            job_id,
            hearing_id,
            transcript,
        } => {
            transcripts::insert_transcript(tx, transcript_id, job_id, *hearing_id, transcript)
                .await?
        }
        SideWrite::InsertMedia { hearing_id, media } => {
            media::insert_media(tx, *hearing_id, media).await?
        }
        SideWrite::RevokeSessions { participant_id } => {
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE participant_id = $1")
                .bind(participant_id.to_string())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn insert_event(tx: &mut Transaction<'_, Any>, e: &StoredEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO hearing_events (hearing_id, seq, clock_ms, at_ms, actor_participant_id, actor_user_id, \
         actor_role, actor_name, kind, payload, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.hearing_id.to_string())
    .bind(e.seq as i64)
    .bind(e.clock_ms)
    .bind(ms(e.at))
    .bind(&e.actor_participant_id)
    .bind(&e.actor_user_id)
    .bind(&e.actor_role)
    .bind(&e.actor_name)
    .bind(&e.kind)
    .bind(&e.payload)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn load_participants(
    conn: &mut sqlx::AnyConnection,
    id: HearingId,
) -> Result<Vec<Participant>> {
    let rows = sqlx::query("SELECT * FROM participants WHERE hearing_id = $1 ORDER BY position")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(rows::participant).collect()
}

pub(super) async fn load_hearing(
    conn: &mut sqlx::AnyConnection,
    id: HearingId,
    lock: &str,
) -> Result<Option<(Hearing, u64, String)>> {
    // Only the hearing's row is locked, not its case's or judge's.
    let lock = if lock.is_empty() {
        ""
    } else {
        " FOR UPDATE OF h"
    };
    let row: Option<AnyRow> =
        sqlx::query(&format!("{} WHERE h.id = $1{lock}", rows::HEARING_SELECT))
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let (mut h, last_seq, head) = rows::hearing(&row)?;
    h.participants = load_participants(conn, id).await?;
    Ok(Some((h, last_seq, head)))
}

pub(super) async fn insert_participant(
    tx: &mut Transaction<'_, Any>,
    hearing: HearingId,
    position: i64,
    p: &Participant,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO participants (id, hearing_id, position, display_name, role, presence, muted, \
         court_muted, user_id, invite_code_hash, redeemed_at, admitted_before) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10)",
    )
    .bind(p.id.to_string())
    .bind(hearing.to_string())
    .bind(position)
    .bind(p.display_name.as_str())
    .bind(p.role.as_str())
    .bind(p.presence.as_str())
    .bind(i64::from(p.muted))
    .bind(i64::from(p.court_muted))
    .bind(p.user_id.map(|u| u.to_string()))
    .bind(i64::from(p.admitted_before))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn update_participant(
    tx: &mut Transaction<'_, Any>,
    p: &Participant,
) -> Result<()> {
    sqlx::query(
        "UPDATE participants SET presence = $2, muted = $3, court_muted = $4, \
         admitted_before = $5 WHERE id = $1",
    )
    .bind(p.id.to_string())
    .bind(p.presence.as_str())
    .bind(i64::from(p.muted))
    .bind(i64::from(p.court_muted))
    .bind(i64::from(p.admitted_before))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
