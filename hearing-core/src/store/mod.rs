//! Storage: one implementation over sqlx's `Any` driver for SQLite and PostgreSQL. All SQL lives
//! in this module; statements use `$N` placeholders, which both backends accept. The only
//! dialect difference is row locking (`FOR UPDATE` on PostgreSQL; SQLite serialises writers).
mod jobs;
mod leases;
mod rows;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use tokio::sync::Mutex;

use crate::domain::events::{verify_chain, GENESIS_HASH};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::{ListPage, MediaFile};
pub(crate) use rows::{from_ms, ms};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; taking turns here avoids busy errors and retries.
    write_lock: Option<Arc<Mutex<()>>>,
}

/// A bearer token's record (the token itself is never stored, only its SHA-256).
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: Option<UserId>,
    pub participant_id: Option<ParticipantId>,
    pub hearing_id: Option<HearingId>,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
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
}

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

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`, and runs migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(CoreError::invalid(
                "database_url",
                "must start with sqlite: or postgres:",
            ));
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 20 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL for concurrent readers; FULL so a commit survives power loss and
                        // kill -9 before it is acknowledged.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let store = Store {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(l) => Some(l.lock().await),
            None => None,
        }
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), where SQLite waits out `busy_timeout` for another connection to let go of it.
    /// A deferred transaction that has read and then writes gets "database is locked" at once
    /// instead: SQLite does not wait there, since waiting could deadlock. That happened when a
    /// write failed and its dropped transaction was still rolling back on its connection while
    /// the next write, on another connection, began.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    // ---- users and sessions ----

    pub async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(user.username.as_str())
        .bind(user.display_name.as_str())
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                CoreError::AlreadyExists(format!("username {} is taken", user.username.as_str()))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// The user and their password hash.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((rows::user(&r)?, r.try_get("password_hash")?)))
            .transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::user(&r)).transpose()
    }

    pub async fn insert_session(&self, token_hash: &str, s: &Session) -> Result<()> {
        let _w = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        insert_session(&mut tx, token_hash, s).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Session {
                user_id: rows::opt_uuid(&r, "user_id")?.map(UserId),
                participant_id: rows::opt_uuid(&r, "participant_id")?.map(ParticipantId),
                hearing_id: rows::opt_uuid(&r, "hearing_id")?.map(HearingId),
                role: rows::role(&r, "role")?,
                expires_at: from_ms(r.try_get("expires_at")?),
                revoked: r.try_get::<i64, _>("revoked")? != 0,
            })
        })
        .transpose()
    }

    // ---- cases ----

    pub async fn insert_case(&self, case: &Case, created_by: UserId) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO cases (id, case_number, title, visibility, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case.id.to_string())
        .bind(case.case_number.as_str())
        .bind(case.title.as_str())
        .bind(case.visibility.as_str())
        .bind(created_by.to_string())
        .bind(ms(case.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                CoreError::AlreadyExists(format!(
                    "case number {} already exists",
                    case.case_number.as_str()
                ))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    pub async fn case(&self, id: CaseId) -> Result<Option<Case>> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::case(&r)).transpose()
    }

    /// Cases newest first. `visible` is the set of visibilities the caller reads everywhere;
    /// `own_case` a case they also read (a participant's own restricted case).
    pub async fn list_cases(
        &self,
        query: &str,
        visible: &[Visibility],
        own_case: Option<CaseId>,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<ListPage<Case>> {
        let pattern = like_pattern(query);
        let vis = |i: usize| visible.get(i).map(|v| v.as_str()).unwrap_or("");
        let (after_t, after_id) = after.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(
            "SELECT * FROM cases \
             WHERE (visibility IN ($1, $2, $3) OR id = $4) \
               AND (LOWER(case_number) LIKE $5 ESCAPE '\\' OR LOWER(title) LIKE $5 ESCAPE '\\') \
               AND (created_at < $6 OR (created_at = $6 AND id < $7) OR $7 = '') \
             ORDER BY created_at DESC, id DESC LIMIT $8",
        )
        .bind(vis(0))
        .bind(vis(1))
        .bind(vis(2))
        .bind(own_case.map(|c| c.to_string()).unwrap_or_default())
        .bind(pattern)
        .bind(after_t)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut items = rows.iter().map(rows::case).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|c| (ms(c.created_at), c.id.to_string()))
        } else {
            None
        };
        Ok(ListPage { items, next })
    }

    pub async fn insert_denial(
        &self,
        caller: (Option<UserId>, Option<ParticipantId>, Role),
        action: Action,
        target: &str,
        reason: &str,
    ) -> Result<()> {
        let _w = self.write_guard().await;
        sqlx::query(
            "INSERT INTO access_denials (id, at_ms, user_id, participant_id, role, action, target, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(ms(Utc::now()))
        .bind(caller.0.map(|u| u.to_string()).unwrap_or_default())
        .bind(caller.1.map(|p| p.to_string()).unwrap_or_default())
        .bind(caller.2.as_str())
        .bind(action.as_str())
        .bind(target)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- hearings ----

    /// Inserts a new hearing with its presiding judge's participant and its first event, after
    /// checking that the judge presides over no other hearing at an overlapping time.
    pub async fn schedule_hearing(
        &self,
        h: &Hearing,
        actor: &Actor,
        event: &EventPayload,
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

    pub async fn list_hearings(
        &self,
        case_id: Option<CaseId>,
        day: Option<(DateTime<Utc>, DateTime<Utc>)>,
        judge: Option<UserId>,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<ListPage<Hearing>> {
        let (from, to) = day
            .map(|(a, b)| (ms(a), ms(b)))
            .unwrap_or((i64::MIN, i64::MAX));
        let (after_t, after_id) = after.unwrap_or((i64::MIN, String::new()));
        let rows = sqlx::query(
            "SELECT * FROM hearings WHERE ($1 = '' OR case_id = $1) AND ($2 = '' OR presiding_judge_id = $2) \
             AND starts_at >= $3 AND starts_at < $4 \
             AND (starts_at > $5 OR (starts_at = $5 AND id > $6) OR $6 = '') \
             ORDER BY starts_at, id LIMIT $7",
        )
        .bind(case_id.map(|c| c.to_string()).unwrap_or_default())
        .bind(judge.map(|j| j.to_string()).unwrap_or_default())
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
                "UPDATE hearings SET state = $2, opened_at = $3, last_seq = $4, head_hash = $5 \
                 WHERE id = $1 AND last_seq = $6",
            )
            .bind(id.to_string())
            .bind(d.hearing.state.as_str())
            .bind(d.hearing.opened_at.map(ms))
            .bind(new_last as i64)
            .bind(&prev)
            .bind(last_seq as i64)
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

    /// The closed media files on a hearing's record, in hearing-clock order.
    pub async fn media_files(&self, id: HearingId) -> Result<Vec<MediaFile>> {
        let rows =
            sqlx::query("SELECT * FROM media_files WHERE hearing_id = $1 ORDER BY start_ms, file")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(MediaFile {
                    file: r.try_get("file")?,
                    kind: if kind == "track" {
                        crate::domain::events::MediaKind::Track
                    } else {
                        crate::domain::events::MediaKind::Segment
                    },
                    participant_id: rows::opt_uuid(r, "participant_id")?.map(ParticipantId),
                    sha256: r.try_get("sha256")?,
                    size: r.try_get::<i64, _>("size")? as u64,
                    duration_ms: r.try_get::<i64, _>("duration_ms")? as u64,
                    start_ms: r.try_get::<i64, _>("start_ms")? as u64,
                    end_ms: r.try_get::<i64, _>("end_ms")? as u64,
                })
            })
            .collect()
    }

    /// The hearings of a case, by start time.
    pub async fn case_hearings(&self, case: CaseId) -> Result<Vec<HearingId>> {
        let rows = sqlx::query("SELECT id FROM hearings WHERE case_id = $1 ORDER BY starts_at, id")
            .bind(case.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(HearingId(rows::uuid(r, "id")?)))
            .collect()
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Sets `key` if it has no value yet; returns whether this call set it.
    pub async fn set_setting_once(&self, key: &str, value: &str) -> Result<bool> {
        let _w = self.write_guard().await;
        match sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

pub(crate) fn like_pattern(query: &str) -> String {
    let q = query.trim().to_lowercase();
    let escaped: String = q
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

async fn load_participants(
    conn: &mut sqlx::AnyConnection,
    id: HearingId,
) -> Result<Vec<Participant>> {
    let rows = sqlx::query("SELECT * FROM participants WHERE hearing_id = $1 ORDER BY position")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(rows::participant).collect()
}

async fn load_hearing(
    conn: &mut sqlx::AnyConnection,
    id: HearingId,
    lock: &str,
) -> Result<Option<(Hearing, u64, String)>> {
    let row: Option<AnyRow> = sqlx::query(&format!("SELECT * FROM hearings WHERE id = $1{lock}"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (mut h, last_seq, head) = rows::hearing(&row)?;
    h.participants = load_participants(conn, id).await?;
    Ok(Some((h, last_seq, head)))
}

async fn insert_participant(
    tx: &mut Transaction<'_, Any>,
    hearing: HearingId,
    position: i64,
    p: &Participant,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO participants (id, hearing_id, position, display_name, role, presence, muted, \
         court_muted, user_id, invite_code_hash, redeemed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn update_participant(tx: &mut Transaction<'_, Any>, p: &Participant) -> Result<()> {
    sqlx::query(
        "UPDATE participants SET presence = $2, muted = $3, court_muted = $4 WHERE id = $1",
    )
    .bind(p.id.to_string())
    .bind(p.presence.as_str())
    .bind(i64::from(p.muted))
    .bind(i64::from(p.court_muted))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_session(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    s: &Session,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, participant_id, hearing_id, role, expires_at, revoked, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash)
    .bind(s.user_id.map(|u| u.to_string()))
    .bind(s.participant_id.map(|p| p.to_string()))
    .bind(s.hearing_id.map(|h| h.to_string()))
    .bind(s.role.as_str())
    .bind(ms(s.expires_at))
    .bind(i64::from(s.revoked))
    .bind(ms(Utc::now()))
    .execute(&mut **tx)
    .await?;
    Ok(())
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
        SideWrite::InsertTranscript {
            transcript_id,
            job_id,
            hearing_id,
            transcript,
        } => jobs::insert_transcript(tx, transcript_id, job_id, *hearing_id, transcript).await?,
        SideWrite::InsertMedia { hearing_id, media } => {
            sqlx::query(
                "INSERT INTO media_files (hearing_id, file, kind, participant_id, sha256, size, duration_ms, start_ms, end_ms, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(hearing_id.to_string())
            .bind(&media.file)
            .bind(match media.kind {
                crate::domain::events::MediaKind::Segment => "segment",
                crate::domain::events::MediaKind::Track => "track",
            })
            .bind(media.participant_id.map(|p| p.to_string()))
            .bind(&media.sha256)
            .bind(media.size as i64)
            .bind(media.duration_ms as i64)
            .bind(media.start_ms as i64)
            .bind(media.end_ms as i64)
            .bind(ms(Utc::now()))
            .execute(&mut **tx)
            .await?;
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

async fn insert_event(tx: &mut Transaction<'_, Any>, e: &StoredEvent) -> Result<()> {
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
