//! Hearings and their participants: scheduling (with the judge's clash check), reading,
//! listing, and loading one inside a transaction.
use chrono::Utc;
use sqlx::Row;

use super::log::{insert_event, insert_participant, load_hearing, load_participants};
use super::{ms, rows, Store};
use crate::domain::events::GENESIS_HASH;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::{HearingFilter, ListPage};

impl Store {
    /// Inserts a new hearing with its presiding judge's participant and its first event, after
    /// checking that the judge presides over no other hearing at an overlapping time. With
    /// `validate_only`, only the check runs (in the same transaction, which is then dropped).
    pub async fn schedule_hearing(
        &self,
        h: &Hearing,
        actor: &Actor,
        event: &EventPayload,
        validate_only: bool,
    ) -> Result<()> {
        let _w = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        // Serialise scheduling per judge on PostgreSQL so two overlapping requests cannot both pass.
        sqlx::query(&format!(
            "SELECT id FROM users WHERE id = $1{}",
            self.for_update()
        ))
        .bind(h.presiding_judge.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let clash = sqlx::query(
            "SELECT id, title FROM hearings WHERE presiding_judge_id = $1 \
             AND state NOT IN ('adjourned', 'cancelled') AND starts_at < $2 AND ends_at > $3 \
             ORDER BY starts_at LIMIT 1",
        )
        .bind(h.presiding_judge.to_string())
        .bind(ms(h.ends_at))
        .bind(ms(h.starts_at))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = clash {
            let id: String = row.try_get("id")?;
            let title: String = row.try_get("title")?;
            return Err(CoreError::FailedPrecondition(format!(
                "the judge already presides over hearing {id} ({title:?}) at an overlapping time"
            )));
        }
        if validate_only {
            tx.rollback().await?;
            return Ok(());
        }
        let sealed = StoredEvent::seal(h.id, 1, 0, Utc::now(), actor, event, GENESIS_HASH);
        sqlx::query(
            "INSERT INTO hearings (id, case_id, title, starts_at, ends_at, state, presiding_judge_id, \
             presiding_participant_id, opened_at, last_seq, head_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 1, $9, $10)",
        )
        .bind(h.id.to_string())
        .bind(h.case_id.to_string())
        .bind(h.title.as_str())
        .bind(ms(h.starts_at))
        .bind(ms(h.ends_at))
        .bind(h.state.as_str())
        .bind(h.presiding_judge.to_string())
        .bind(h.presiding_participant.to_string())
        .bind(&sealed.hash)
        .bind(ms(Utc::now()))
        .execute(&mut *tx)
        .await?;
        for (i, p) in h.participants.iter().enumerate() {
            insert_participant(&mut tx, h.id, i as i64, p).await?;
        }
        insert_event(&mut tx, &sealed).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn hearing(&self, id: HearingId) -> Result<Option<(Hearing, u64, String)>> {
        let mut conn = self.pool.acquire().await?;
        load_hearing(&mut conn, id, "").await
    }

    /// One page of the hearings `f` selects, in its order, after the page token's
    /// (start, id); keyset paging, so a page is the same whatever was scheduled since.
    pub async fn list_hearings(
        &self,
        f: &HearingFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<ListPage<Hearing>> {
        let from = f.starts_after.map(ms).unwrap_or(i64::MIN);
        let to = f.starts_before.map(ms).unwrap_or(i64::MAX);
        let (after_t, after_id) = after.unwrap_or((0, String::new()));
        // The same statement both ways: only the comparison past the token and the order turn.
        let (past, order) = if f.newest_first {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let rows = sqlx::query(&format!(
            "{} WHERE ($1 = '' OR h.case_id = $1) AND ($2 = '' OR h.presiding_judge_id = $2) \
             AND h.starts_at >= $3 AND h.starts_at < $4 \
             AND ($6 = '' OR h.starts_at {past} $5 OR (h.starts_at = $5 AND h.id {past} $6)) \
             ORDER BY h.starts_at {order}, h.id {order} LIMIT $7",
            rows::HEARING_SELECT
        ))
        .bind(f.case_id.map(|c| c.to_string()).unwrap_or_default())
        .bind(f.judge.map(|j| j.to_string()).unwrap_or_default())
        .bind(from)
        .bind(to)
        .bind(after_t)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut conn = self.pool.acquire().await?;
        for r in rows.iter().take(limit as usize) {
            let (mut h, _, _) = rows::hearing(r)?;
            h.participants = load_participants(&mut conn, h.id).await?;
            items.push(h);
        }
        let next = (rows.len() > limit as usize)
            .then(|| {
                items
                    .last()
                    .map(|h: &Hearing| (ms(h.starts_at), h.id.to_string()))
            })
            .flatten();
        Ok(ListPage { items, next })
    }

    /// Whether `participant` belongs to a hearing of `case`.
    pub async fn participant_hearing(
        &self,
        participant: ParticipantId,
    ) -> Result<Option<(HearingId, CaseId)>> {
        let row = sqlx::query(
            "SELECT h.id AS hearing_id, h.case_id AS case_id FROM participants p \
             JOIN hearings h ON h.id = p.hearing_id WHERE p.id = $1",
        )
        .bind(participant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                HearingId(rows::uuid(&r, "hearing_id")?),
                CaseId(rows::uuid(&r, "case_id")?),
            ))
        })
        .transpose()
    }

    /// The participant an unused invitation code (hashed) belongs to.
    pub async fn invite(&self, code_hash: &str) -> Result<Option<(HearingId, ParticipantId)>> {
        let row =
            sqlx::query("SELECT id, hearing_id FROM participants WHERE invite_code_hash = $1")
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok((
                HearingId(rows::uuid(&r, "hearing_id")?),
                ParticipantId(rows::uuid(&r, "id")?),
            ))
        })
        .transpose()
    }
}
