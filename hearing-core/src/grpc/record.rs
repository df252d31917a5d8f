//! RecordService: transcripts on the case record.
use opencourt_proto::v1 as pb;
use pb::record_service_server::{RecordService, RecordServiceServer};
use tonic::{Request, Response, Status};

use super::convert::{hearing_id, page_size, search_query};
use super::{Services, MAX_REQUEST_BYTES};
use crate::app::snippet;
use crate::domain::transcript::Transcript;
use crate::domain::transcript_export::{render, Format};
use crate::domain::{CaseId, HearingId};
use crate::error::CoreError;

impl Services {
    pub fn record(&self) -> RecordServiceServer<Self> {
        RecordServiceServer::new(self.clone_for_server())
            .max_decoding_message_size(MAX_REQUEST_BYTES)
    }
}

fn transcript(hearing: &str, t: &Transcript) -> pb::Transcript {
    pb::Transcript {
        hearing_id: hearing.to_string(),
        language: t.language.clone(),
        model_name: t.model.name.clone(),
        model_sha256: t.model.sha256.clone(),
        duration_ms: t.duration_ms,
        segments: t
            .segments
            .iter()
            .map(|s| pb::TranscriptSegment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                speaker: s.speaker.clone(),
                text: s.text.clone(),
                words: s
                    .words
                    .iter()
                    .map(|w| pb::TranscriptWord {
                        start_ms: w.start_ms,
                        end_ms: w.end_ms,
                        text: w.text.clone(),
                        p: w.p,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A GetTranscript request, checked.
struct TranscriptRequest {
    id: HearingId,
    /// As the client wrote it, to answer with.
    hearing_id: String,
    format: Format,
    content_type: &'static str,
}

impl TryFrom<pb::GetTranscriptRequest> for TranscriptRequest {
    type Error = CoreError;

    fn try_from(r: pb::GetTranscriptRequest) -> Result<Self, CoreError> {
        let id = hearing_id(&r.hearing_id)?;
        let (format, content_type) = match pb::TranscriptFormat::try_from(r.format) {
            Ok(pb::TranscriptFormat::Unspecified | pb::TranscriptFormat::Json) => {
                (Format::Json, "application/json")
            }
            Ok(pb::TranscriptFormat::Vtt) => (Format::Vtt, "text/vtt"),
            Ok(pb::TranscriptFormat::Srt) => (Format::Srt, "application/x-subrip"),
            Ok(pb::TranscriptFormat::Txt) => (Format::Txt, "text/plain; charset=utf-8"),
            Err(_) => {
                return Err(CoreError::invalid(
                    "format",
                    format!("unknown format {}", r.format),
                ))
            }
        };
        Ok(TranscriptRequest {
            id,
            hearing_id: r.hearing_id,
            format,
            content_type,
        })
    }
}

/// A SearchTranscripts request, checked.
struct TranscriptSearch {
    query: String,
    case: Option<CaseId>,
    size: u32,
}

impl TryFrom<pb::SearchTranscriptsRequest> for TranscriptSearch {
    type Error = CoreError;

    fn try_from(r: pb::SearchTranscriptsRequest) -> Result<Self, CoreError> {
        Ok(TranscriptSearch {
            query: search_query(r.query)?,
            case: (!r.case_id.is_empty())
                .then(|| CaseId::parse("case_id", &r.case_id))
                .transpose()?,
            size: page_size(r.page_size)?,
        })
    }
}

#[tonic::async_trait]
impl RecordService for Services {
    #[tracing::instrument(name = "rpc", skip_all, fields(method = "GetTranscript", hearing = tracing::field::Empty))]
    async fn get_transcript(
        &self,
        req: Request<pb::GetTranscriptRequest>,
    ) -> Result<Response<pb::GetTranscriptResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = TranscriptRequest::try_from(req.into_inner())?;
        super::in_hearing(r.id);
        let (t, heading) = self.app.transcript(&caller, r.id).await?;
        Ok(Response::new(pb::GetTranscriptResponse {
            transcript: Some(transcript(&r.hearing_id, &t)),
            rendered: render(&t, r.format, &heading),
            content_type: r.content_type.into(),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "SearchTranscripts", hearing = tracing::field::Empty))]
    async fn search_transcripts(
        &self,
        req: Request<pb::SearchTranscriptsRequest>,
    ) -> Result<Response<pb::SearchTranscriptsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = TranscriptSearch::try_from(req.into_inner())?;
        let hits = self
            .app
            .search_transcripts(&caller, &r.query, r.case, r.size)
            .await?;
        Ok(Response::new(pb::SearchTranscriptsResponse {
            hits: hits
                .into_iter()
                .map(|h| pb::SearchHit {
                    hearing_id: h.hearing_id.to_string(),
                    case_id: h.case_id.to_string(),
                    case_number: h.case_number,
                    start_ms: h.start_ms,
                    end_ms: h.end_ms,
                    speaker: h.speaker,
                    snippet: snippet(&h.text, &r.query),
                })
                .collect(),
        }))
    }
}
