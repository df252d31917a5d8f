//! CaseService: creating, reading and listing cases, and a case's whole record.
use opencourt_proto::v1 as pb;
use pb::case_service_server::CaseService;
use tonic::{Request, Response};

use super::convert;
use super::{Res, Services};
use crate::domain::*;
use crate::error::{CoreError, Result};

/// A CreateCase request, checked.
struct NewCase {
    number: CaseNumber,
    title: Title,
    visibility: Visibility,
}

impl TryFrom<pb::CreateCaseRequest> for NewCase {
    type Error = CoreError;

    fn try_from(r: pb::CreateCaseRequest) -> Result<Self> {
        Ok(NewCase {
            number: CaseNumber::parse("case_number", &r.case_number)?,
            title: Title::parse("title", &r.title)?,
            visibility: convert::visibility_from("visibility", r.visibility)?,
        })
    }
}

/// A ListCases request, checked.
struct CaseQuery {
    query: String,
    size: u32,
    after: Option<(i64, String)>,
}

impl TryFrom<pb::ListCasesRequest> for CaseQuery {
    type Error = CoreError;

    fn try_from(r: pb::ListCasesRequest) -> Result<Self> {
        Ok(CaseQuery {
            query: convert::search_query(r.query)?,
            size: convert::page_size(r.page_size)?,
            after: convert::parse_page_token(&r.page_token)?,
        })
    }
}

#[tonic::async_trait]
impl CaseService for Services {
    #[tracing::instrument(name = "rpc", skip_all, fields(method = "CreateCase"))]
    async fn create_case(&self, req: Request<pb::CreateCaseRequest>) -> Res<pb::Case> {
        let caller = self.caller(&req).await?;
        let r = NewCase::try_from(req.into_inner())?;
        let c = self
            .app
            .create_case(&caller, r.number, r.title, r.visibility)
            .await?;
        Ok(Response::new(convert::case(&c)))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "GetCase"))]
    async fn get_case(&self, req: Request<pb::GetCaseRequest>) -> Res<pb::Case> {
        let caller = self.caller(&req).await?;
        let id = CaseId::parse("id", &req.get_ref().id)?;
        Ok(Response::new(convert::case(
            &self.app.get_case(&caller, id).await?,
        )))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "ListCases"))]
    async fn list_cases(&self, req: Request<pb::ListCasesRequest>) -> Res<pb::ListCasesResponse> {
        let caller = self.caller(&req).await?;
        let r = CaseQuery::try_from(req.into_inner())?;
        let page = self
            .app
            .list_cases(&caller, &r.query, r.size, r.after)
            .await?;
        Ok(Response::new(pb::ListCasesResponse {
            cases: page.items.iter().map(convert::case).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "GetCaseRecord"))]
    async fn get_case_record(&self, req: Request<pb::GetCaseRecordRequest>) -> Res<pb::CaseRecord> {
        let caller = self.caller(&req).await?;
        let id = CaseId::parse("case_id", &req.get_ref().case_id)?;
        let (case, hearings) = self.app.case_record(&caller, id).await?;
        Ok(Response::new(pb::CaseRecord {
            case: Some(convert::case(&case)),
            hearings: hearings.iter().map(convert::hearing_record).collect(),
        }))
    }
}
