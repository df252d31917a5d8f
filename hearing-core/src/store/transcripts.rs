//! Transcripts on the case record, stored in the transaction that completes their job, and
//! full-text search over their segments.
use chrono::Utc;
use sqlx::Row;

use super::search::{fts5_query, has_cjk, like_pattern, search_terms};
use super::{ms, rows, Backend, Store};
use crate::domain::transcript::{Segment, Transcript, Word};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::SearchHit;

/// Which hearings' transcripts a search reads: those of cases of the `visible` visibilities
/// except `exclude_hearing`, plus `include_hearing` and every hearing `presided_by` presides.
#[derive(Clone, Debug, Default)]
pub struct SearchScope {
    pub visible: Vec<Visibility>,
    pub exclude_hearing: Option<HearingId>,
    pub include_hearing: Option<HearingId>,
    pub presided_by: Option<UserId>,
}

impl Store {
    pub async fn transcript(&self, hearing: HearingId) -> Result<Option<Transcript>> {
        let Some(head) = sqlx::query("SELECT * FROM transcripts WHERE hearing_id = $1")
            .bind(hearing.to_string())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let tid: String = head.try_get("id")?;
        let rows = sqlx::query("SELECT start_ms, end_ms, speaker, text, words FROM transcript_segments WHERE transcript_id = $1 ORDER BY idx")
            .bind(&tid)
            .fetch_all(&self.pool)
            .await?;
        let mut segments = Vec::with_capacity(rows.len());
        for r in &rows {
            let words: String = r.try_get("words")?;
            let words: Vec<Word> = serde_json::from_str(&words).map_err(|e| {
                CoreError::Internal(format!("transcript {tid}: stored words unreadable: {e}"))
            })?;
            segments.push(Segment {
                start_ms: r.try_get::<i64, _>("start_ms")? as u64,
                end_ms: r.try_get::<i64, _>("end_ms")? as u64,
                speaker: r.try_get("speaker")?,
                text: r.try_get("text")?,
                words,
            });
        }
        Ok(Some(Transcript {
            language: head.try_get("language")?,
            model: crate::domain::transcript::ModelInfo {
                name: head.try_get("model_name")?,
                sha256: head.try_get("model_sha256")?,
            },
            duration_ms: head.try_get::<i64, _>("duration_ms")? as u64,
            segments,
        }))
    }

    /// Segments matching `query` in the hearings `scope` lets the caller read, optionally
    /// within one case.
    pub async fn search_transcripts(
        &self,
        query: &str,
        case: Option<CaseId>,
        scope: &SearchScope,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        let terms = search_terms(query);
        // The patterns bound after the fixed parameters ($1-$8), from $9 on.
        let mut patterns = Vec::new();
        let matcher = if terms.is_empty() {
            // Nothing to look for (the app refuses such a query): no hits.
            "1 = 0".to_string()
        } else if terms.iter().any(|t| has_cjk(t)) {
            // Neither FTS5's unicode61 nor the 'simple' configuration splits Chinese into words:
            // every term matches as a substring.
            patterns = terms.iter().map(|t| like_pattern(t)).collect();
            self.backend.all_terms_like(&["s.text"], terms.len(), 9)
        } else {
            patterns.push(match self.backend {
                Backend::Sqlite => fts5_query(&terms),
                Backend::Postgres => terms.join(" "),
            });
            match self.backend {
                Backend::Sqlite => {
                    "s.rowid IN (SELECT rowid FROM transcript_fts WHERE transcript_fts MATCH $9)"
                }
                Backend::Postgres => "s.tsv @@ plainto_tsquery('simple', $9)",
            }
            .to_string()
        };
        let vis = |i: usize| scope.visible.get(i).map(|v| v.as_str()).unwrap_or("");
        let id = |h: Option<HearingId>| h.map(|h| h.to_string()).unwrap_or_default();
        let sql = format!(
            "SELECT h.id AS hearing_id, c.id AS case_id, c.case_number AS case_number, s.start_ms AS start_ms, \
             s.end_ms AS end_ms, s.speaker AS speaker, s.text AS text \
             FROM transcript_segments s JOIN transcripts t ON t.id = s.transcript_id \
             JOIN hearings h ON h.id = t.hearing_id JOIN cases c ON c.id = h.case_id \
             WHERE {matcher} \
               AND ((c.visibility IN ($1, $2, $3) AND h.id <> $4) OR h.id = $5 OR h.presiding_judge_id = $6) \
               AND ($7 = '' OR c.id = $7) \
             ORDER BY h.starts_at DESC, s.start_ms LIMIT $8"
        );
        let mut q = sqlx::query(&sql)
            .bind(vis(0))
            .bind(vis(1))
            .bind(vis(2))
            .bind(id(scope.exclude_hearing))
            .bind(id(scope.include_hearing))
            .bind(scope.presided_by.map(|u| u.to_string()).unwrap_or_default())
            .bind(case.map(|c| c.to_string()).unwrap_or_default())
            .bind(i64::from(limit));
        for p in patterns {
            q = q.bind(p);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    hearing_id: HearingId(rows::uuid(r, "hearing_id")?),
                    case_id: CaseId(rows::uuid(r, "case_id")?),
                    case_number: r.try_get("case_number")?,
                    start_ms: r.try_get::<i64, _>("start_ms")? as u64,
                    end_ms: r.try_get::<i64, _>("end_ms")? as u64,
                    speaker: r.try_get("speaker")?,
                    text: r.try_get("text")?,
                })
            })
            .collect()
    }
}

pub(super) async fn insert_transcript(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tid: &str,
    job_id: &str,
    hearing: HearingId,
    t: &Transcript,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO transcripts (id, hearing_id, job_id, language, model_name, model_sha256, duration_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tid)
    .bind(hearing.to_string())
    .bind(job_id)
    .bind(&t.language)
    .bind(&t.model.name)
    .bind(&t.model.sha256)
    .bind(t.duration_ms as i64)
    .bind(ms(Utc::now()))
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            CoreError::AlreadyExists(format!("hearing {hearing} already has a transcript"))
        }
        _ => e.into(),
    })?;
    for (i, s) in t.segments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO transcript_segments (transcript_id, idx, start_ms, end_ms, speaker, text, words) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tid)
        .bind(i as i64)
        .bind(s.start_ms as i64)
        .bind(s.end_ms as i64)
        .bind(&s.speaker)
        .bind(&s.text)
        .bind(serde_json::to_string(&s.words).expect("words serialise"))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
