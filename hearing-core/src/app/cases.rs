//! Cases: creating, reading and listing them, and a case's whole record.
use chrono::Utc;

use super::access::standing;
use super::{App, Caller};
use crate::domain::permissions::role_may;
use crate::domain::read_policy::{read_access, ReadPath, Reading};
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::{ListPage, MediaFile};

impl App {
    pub async fn create_case(
        &self,
        caller: &Caller,
        case_number: CaseNumber,
        title: Title,
        visibility: Visibility,
    ) -> Result<Case> {
        if !role_may(caller.role(), Action::CreateCase) || !matches!(caller, Caller::Staff(_)) {
            let why = format!("a {} may not create cases", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::CreateCase, case_number.as_str(), why)
                .await);
        }
        let Caller::Staff(user) = caller else {
            unreachable!()
        };
        let case = Case {
            id: CaseId::new(),
            case_number,
            title,
            visibility,
            created_at: Utc::now(),
        };
        self.store.insert_case(&case, user.id).await?;
        Ok(case)
    }

    pub async fn get_case(&self, caller: &Caller, id: CaseId) -> Result<Case> {
        let case = self
            .store
            .case(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("case {id} not found")))?;
        if !self.can_read_case(caller, &case).await? {
            let why = format!(
                "a {} may not read a {} case",
                caller.role(),
                case.visibility
            );
            return Err(self
                .deny_outside_hearing(caller, Action::ReadHearing, &id.to_string(), why)
                .await);
        }
        Ok(case)
    }

    pub async fn list_cases(
        &self,
        caller: &Caller,
        query: &str,
        limit: u32,
        after: Option<(i64, String)>,
    ) -> Result<ListPage<Case>> {
        let (visible, own_case) = self.reading_scope(caller).await?;
        self.store
            .list_cases(query, &visible, own_case, after, limit)
            .await
    }

    /// A case's whole record, for a caller who may read the case: every hearing is listed, with
    /// its log, media and transcript only where the read policy lets the caller read them.
    pub async fn case_record(
        &self,
        caller: &Caller,
        id: CaseId,
    ) -> Result<(Case, Vec<HearingRecord>)> {
        let case = self.get_case(caller, id).await?;
        let mut out = Vec::new();
        for hid in self.store.case_hearings(id).await? {
            let Some((hearing, last_seq, head_hash)) = self.store.hearing(hid).await? else {
                continue;
            };
            let own = read_access(
                standing(caller, &hearing),
                ReadPath::CaseRecordLog,
                case.visibility,
                hearing.state.is_final(),
            ) == Reading::All;
            let (events, media, transcript_segments) = if own {
                (
                    self.store.events_after(hid, 0, u32::MAX).await?,
                    self.store.media_files(hid).await?,
                    self.store.transcript(hid).await?.map(|t| t.segments.len()),
                )
            } else {
                (Vec::new(), Vec::new(), None)
            };
            out.push(HearingRecord {
                hearing,
                last_seq,
                head_hash,
                events,
                media,
                transcript_segments,
            });
        }
        Ok((case, out))
    }
}

/// One hearing on a case record.
pub struct HearingRecord {
    pub hearing: Hearing,
    pub last_seq: u64,
    pub head_hash: String,
    pub events: Vec<StoredEvent>,
    pub media: Vec<MediaFile>,
    pub transcript_segments: Option<usize>,
}
