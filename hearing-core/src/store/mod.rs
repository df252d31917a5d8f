//! Storage: one implementation over sqlx's `Any` driver for SQLite and PostgreSQL. All SQL lives
//! in this module, one file per table group; statements use `$N` placeholders, which both
//! backends accept. Each backend has its own migrations (`migrations/sqlite`,
//! `migrations/postgres`). Where the dialects differ, the code says so: row locking (`FOR UPDATE`
//! and `SKIP LOCKED` on PostgreSQL; SQLite writers take turns behind one lock and `BEGIN
//! IMMEDIATE`) and full-text search (FTS5 on SQLite, `tsvector` on PostgreSQL).
//!
//! - `users`: staff accounts, bearer-token sessions, denials outside any hearing;
//! - `cases`: cases and their hearings' ids;
//! - `hearings`: hearings and their participants;
//! - `log`: the hearing event log — `append` (a command's events and side writes in one
//!   transaction), reading and verifying it;
//! - `media`: closed media files on the case record;
//! - `jobs`: durable jobs and their leases;
//! - `transcripts`: stored transcripts and full-text search over them;
//! - `search`: a search query as SQL that finds the same rows on both databases;
//! - `leases`: which node runs a hearing's media;
//! - `outbox`: writes into the record retried until they succeed;
//! - `settings`: write-once settings;
//! - `rows`: row ↔ domain mapping.
mod cases;
mod hearings;
mod jobs;
mod leases;
mod log;
mod media;
mod outbox;
mod rows;
mod search;
mod settings;
mod transcripts;
mod users;

pub use log::{Decision, SideWrite};
pub use search::search_terms;
pub use transcripts::SearchScope;
pub use users::Session;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::Mutex;

use crate::error::{CoreError, Result};
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
}
