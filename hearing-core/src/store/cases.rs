//! Cases, their keyset-paged list, and the hearings each holds.

use super::search::{self, search_terms};
use super::{is_unique_violation, ms, rows, Store};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::ListPage;

impl Store {
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
        let terms = search_terms(query);
        let matches = self
            .backend
            .all_terms_like(&["case_number", "title"], terms.len(), 8);
        let vis = |i: usize| visible.get(i).map(|v| v.as_str()).unwrap_or("");
        let (after_t, after_id) = after.unwrap_or((i64::MAX, String::new()));
        let sql = format!(
            "SELECT * FROM cases \
             WHERE (visibility IN ($1, $2, $3) OR id = $4) AND {matches} \
               AND (created_at < $5 OR (created_at = $5 AND id < $6) OR $6 = '') \
             ORDER BY created_at DESC, id DESC LIMIT $7"
        );
        let mut q = sqlx::query(&sql)
            .bind(vis(0))
            .bind(vis(1))
            .bind(vis(2))
            .bind(own_case.map(|c| c.to_string()).unwrap_or_default())
            .bind(after_t)
            .bind(after_id)
            .bind(i64::from(limit) + 1);
        for t in &terms {
            q = q.bind(search::like_pattern(t));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut items = rows.iter().map(rows::case).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|c| (ms(c.created_at), c.id.to_string()))
        } else {
            None
        };
        Ok(ListPage { items, next })
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
}
