//! RecordService: transcripts on the case record.
use opencourt_proto::v1 as pb;
use pb::record_service_server::{RecordService, RecordServiceServer};
use tonic::{Request, Response, Status};

use super::{hearing_id, Services, MAX_REQUEST_BYTES};
use crate::app::snippet;
use crate::domain::transcript::Transcript;
use crate::domain::transcript_export::{render, Format};
use crate::domain::CaseId;
use crate::error::CoreError;

impl Services {
    pub fn record(&self) -> RecordServiceServer<Self> {
        RecordServiceServer::new(Services {
            app: self.app.clone(),
        })
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

#[tonic::async_trait]
impl RecordService for Services {
    async fn get_transcript(
        &self,
        req: Request<pb::GetTranscriptRequest>,
    ) -> Result<Response<pb::GetTranscriptResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let id = hearing_id(&r.hearing_id)?;
        let (format, content_type) = match pb::TranscriptFormat::try_from(r.format) {
            Ok(pb::TranscriptFormat::Unspecified | pb::TranscriptFormat::Json) => {
                (Format::Json, "application/json")
            }
            Ok(pb::TranscriptFormat::Vtt) => (Format::Vtt, "text/vtt"),
            Ok(pb::TranscriptFormat::Srt) => (Format::Srt, "application/x-subrip"),
            Ok(pb::TranscriptFormat::Txt) => (Format::Txt, "text/plain; charset=utf-8"),
            Err(_) => {
                return Err(
                    CoreError::invalid("format", format!("unknown format {}", r.format)).into(),
                )
            }
        };
        let (t, heading) = self.app.transcript(&caller, id).await?;
        Ok(Response::new(pb::GetTranscriptResponse {
            transcript: Some(transcript(&r.hearing_id, &t)),
            rendered: render(&t, format, &heading),
            content_type: content_type.into(),
        }))
    }

    async fn search_transcripts(
        &self,
        req: Request<pb::SearchTranscriptsRequest>,
    ) -> Result<Response<pb::SearchTranscriptsResponse>, Status> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        if r.query.chars().count() > 200 {
            return Err(CoreError::invalid("query", "is longer than 200 characters").into());
        }
        let case = (!r.case_id.is_empty())
            .then(|| CaseId::parse("case_id", &r.case_id))
            .transpose()?;
        let size = super::convert::page_size(r.page_size)?;
        let hits = self
            .app
            .search_transcripts(&caller, &r.query, case, size)
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
