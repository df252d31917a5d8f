//! Staff accounts, bearer-token sessions (only the token's SHA-256 is stored), and denials of
//! actions outside any hearing.
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::{from_ms, is_unique_violation, ms, rows, Store};
use crate::domain::*;
use crate::error::{CoreError, Result};

impl Store {
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

    /// Every staff account (only `role`'s, if given), each with whether it is enabled.
    pub async fn staff(&self, role: Option<Role>) -> Result<Vec<(User, bool)>> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE role IN ('judge', 'clerk', 'admin') \
             AND ($1 = '' OR role = $1)",
        )
        .bind(role.map(Role::as_str).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((rows::user(r)?, r.try_get::<i64, _>("disabled")? == 0)))
            .collect()
    }

    /// Whether the account was disabled (`set_user_enabled`).
    pub async fn user_disabled(&self, id: UserId) -> Result<bool> {
        let row = sqlx::query("SELECT disabled FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("disabled"))
            .transpose()?
            .is_some_and(|d| d != 0))
    }

    /// Enables or disables the account `id`; disabling revokes every session it has, in the
    /// same transaction. Writes the change to `account_audit` as done by `actor`; returns how
    /// many sessions were revoked.
    pub async fn set_user_enabled(&self, id: UserId, enabled: bool, actor: &str) -> Result<u64> {
        let _w = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(!enabled))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(CoreError::NotFound(format!("user {id} not found")));
        }
        let revoked = if enabled {
            0
        } else {
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        sqlx::query(
            "INSERT INTO account_audit (id, at_ms, actor, user_id, action, sessions_revoked) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(ms(Utc::now()))
        .bind(actor)
        .bind(id.to_string())
        .bind(if enabled { "enabled" } else { "disabled" })
        .bind(i64::try_from(revoked).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// The account audit trail of `id`, oldest first: (action, actor, sessions revoked).
    pub async fn account_audit(&self, id: UserId) -> Result<Vec<(String, String, u64)>> {
        let rows = sqlx::query(
            "SELECT action, actor, sessions_revoked FROM account_audit WHERE user_id = $1 ORDER BY at_ms, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("action")?,
                    r.try_get("actor")?,
                    u64::try_from(r.try_get::<i64, _>("sessions_revoked")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Revokes one session (a logout); false when there was no such live session.
    pub async fn revoke_session(&self, token_hash: &str) -> Result<bool> {
        let _w = self.write_guard().await;
        let n =
            sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = $1 AND revoked = 0")
                .bind(token_hash)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n > 0)
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

pub(super) async fn insert_session(
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
