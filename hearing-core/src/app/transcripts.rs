//! Transcripts on the case record: reading one, searching them, and storing a finished one.
use super::access::standing;
use super::{system_actor, App, Caller};
use crate::domain::read_policy::{read_access, ReadPath, Reading};
use crate::domain::transcript::{transcript_sha256, Transcript};
use crate::domain::transcript_export::Heading;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::records::{Job, SearchHit};
use crate::store::{SearchScope, SideWrite};

/// The kind of job that makes a hearing's transcript (the transcriber's worker claims it).
pub const TRANSCRIBE_JOB: &str = "transcribe";

impl App {
    /// A hearing's transcript with the case number and hearing title for its heading.
    pub async fn transcript(
        &self,
        caller: &Caller,
        id: HearingId,
    ) -> Result<(Transcript, Heading)> {
        let h = self
            .read_hearing(caller, id, ReadPath::Transcript)
            .await?
            .hearing;
        let Some(t) = self.store.transcript(id).await? else {
            // a transcription that failed for good says so, with its last error, so the clerk
            // knows to act instead of waiting
            return Err(match self.store.latest_job(id, TRANSCRIBE_JOB).await? {
                Some(j) if j.state == "failed" => CoreError::FailedPrecondition(format!(
                    "hearing {id}'s transcription failed after {} attempts: {}",
                    j.attempts,
                    j.error.as_deref().unwrap_or("no error was recorded")
                )),
                Some(j) => CoreError::NotFound(format!(
                    "hearing {id} has no transcript yet (its transcription is {})",
                    j.state
                )),
                None => CoreError::NotFound(format!("hearing {id} has no transcript yet")),
            });
        };
        let case = self.store.case(h.case_id).await?;
        let heading = Heading {
            case: case.map(|c| format!("{} {}", c.case_number.as_str(), c.title)),
            hearing: Some(format!(
                "{} ({})",
                h.title,
                h.starts_at.format("%Y-%m-%d %H:%M UTC")
            )),
        };
        Ok((t, heading))
    }

    /// Transcript segments matching `query`, in cases the caller may read.
    pub async fn search_transcripts(
        &self,
        caller: &Caller,
        query: &str,
        case: Option<CaseId>,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        if query.trim().is_empty() {
            return Err(CoreError::invalid("query", "is required"));
        }
        if crate::store::search_terms(query).is_empty() {
            return Err(CoreError::invalid("query", "has no words to search for"));
        }
        if let Some(c) = case {
            self.get_case(caller, c).await?;
        }
        let scope = self.search_scope(caller).await?;
        self.store
            .search_transcripts(query, case, &scope, limit)
            .await
    }

    /// The hearings whose transcripts `caller` searches: the same the read policy lets them
    /// read with GetTranscript.
    async fn search_scope(&self, caller: &Caller) -> Result<SearchScope> {
        use Visibility::*;
        Ok(match caller {
            Caller::Staff(u) => match u.role {
                Role::Clerk => SearchScope {
                    visible: vec![Public, Restricted, Sealed],
                    ..SearchScope::default()
                },
                // A judge reads sealed hearings only where they preside.
                Role::Judge => SearchScope {
                    visible: vec![Public, Restricted],
                    presided_by: Some(u.id),
                    ..SearchScope::default()
                },
                role => {
                    let why =
                        format!("a {role} administers accounts and does not read transcripts");
                    return Err(self
                        .deny_outside_hearing(caller, Action::ReadHearing, "search", why)
                        .await);
                }
            },
            // Their own hearing, when GetTranscript lets them read it now: nothing else (an
            // invitation is to one hearing, as GetTranscript is).
            Caller::Participant { hearing_id, .. } => {
                let include = match self.store.hearing(*hearing_id).await? {
                    Some((h, _, _)) => {
                        let visibility = self.visibility_of(&h).await?;
                        let reading = read_access(
                            standing(caller, &h),
                            ReadPath::Transcript,
                            visibility,
                            h.state.is_final(),
                        );
                        (reading == Reading::All).then_some(h.id)
                    }
                    None => None,
                };
                SearchScope {
                    visible: Vec::new(),
                    exclude_hearing: Some(*hearing_id),
                    include_hearing: include,
                    presided_by: None,
                }
            }
        })
    }

    /// Stores a finished transcription on the case record, marks its job done and logs the
    /// transcript's hash in the hearing's log, all in one transaction, and only while `owner`
    /// still holds the job's lease. Returns the transcript id.
    pub async fn complete_transcription(
        &self,
        job: &Job,
        owner: &str,
        transcript: &Transcript,
    ) -> Result<String> {
        let tid = uuid::Uuid::now_v7().to_string();
        let event = EventPayload::TranscriptStored {
            transcript_id: tid.clone(),
            sha256: transcript_sha256(transcript),
            segments: transcript.segments.len() as u64,
        };
        let side = vec![
            SideWrite::CompleteJob {
                job_id: job.id.clone(),
                owner: owner.to_string(),
            },
            SideWrite::InsertTranscript {
                transcript_id: tid.clone(),
                job_id: job.id.clone(),
                hearing_id: job.hearing_id,
                transcript: transcript.clone(),
            },
        ];
        self.append_events(
            job.hearing_id,
            system_actor("transcription worker"),
            vec![event],
            side,
        )
        .await?;
        Ok(tid)
    }
}

/// The text around the first match of any query term, with the match in [brackets]. Terms
/// match as the search does (ASCII case folded, punctuation at their ends dropped), and the
/// cut is made between characters, never inside one.
pub fn snippet(text: &str, query: &str) -> String {
    // ASCII folding keeps every byte offset, so a match in `lower` is one in `text`.
    let lower = text.to_ascii_lowercase();
    let found = crate::store::search_terms(query)
        .iter()
        .filter_map(|w| lower.find(w.as_str()).map(|i| (i, w.len())))
        .min();
    let chars: Vec<char> = text.chars().collect();
    let Some((byte_at, byte_len)) = found else {
        return chars.iter().take(160).collect();
    };
    let at = text[..byte_at].chars().count();
    let len = text[byte_at..byte_at + byte_len].chars().count();
    let from = at.saturating_sub(60);
    let to = (at + len + 60).min(chars.len());
    let s = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    format!(
        "{}{}[{}]{}{}",
        if from > 0 { "…" } else { "" },
        s(from, at),
        s(at, at + len),
        s(at + len, to),
        if to < chars.len() { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::snippet;

    /// A query term whose lower case is shorter than itself (the Kelvin sign "K" folds to a
    /// one-byte "k") once cut the text at the term's own byte length, inside the Chinese
    /// character after the match, and the panic dropped the connection.
    #[test]
    fn a_term_that_changes_length_when_folded_cuts_between_characters() {
        assert_eq!(snippet("k中文", "\u{212A} 中"), "k[中]文");
        assert_eq!(snippet("\u{212A}中文", "\u{212A}"), "[\u{212A}]中文");
        assert_eq!(snippet("合同ABC公司", "abc公司"), "合同[ABC公司]");
    }
}
