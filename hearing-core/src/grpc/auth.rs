//! AuthService: logging in and redeeming an invitation, who a token is, the staff accounts.
use opencourt_proto::v1 as pb;
use pb::auth_service_server::AuthService;
use tonic::{Request, Response};

use super::convert::{self, ts};
use super::{Res, Services};
use crate::app::WhoAmI;
use crate::domain::Username;
use crate::error::{CoreError, Result};

/// A login request, checked.
struct Login {
    username: String,
    password: String,
}

impl TryFrom<pb::LoginRequest> for Login {
    type Error = CoreError;

    fn try_from(r: pb::LoginRequest) -> Result<Self> {
        if r.username.is_empty() {
            return Err(CoreError::invalid("username", "is required"));
        }
        if r.password.is_empty() || r.password.len() > 1024 {
            return Err(CoreError::invalid(
                "password",
                "is required (at most 1024 bytes)",
            ));
        }
        Ok(Login {
            username: r.username,
            password: r.password,
        })
    }
}

/// An invitation code, checked.
struct InviteCode(String);

impl TryFrom<pb::RedeemInviteRequest> for InviteCode {
    type Error = CoreError;

    fn try_from(r: pb::RedeemInviteRequest) -> Result<Self> {
        if r.code.trim().is_empty() || r.code.len() > 128 {
            return Err(CoreError::invalid(
                "code",
                "is required (at most 128 characters)",
            ));
        }
        Ok(InviteCode(r.code))
    }
}

#[tonic::async_trait]
impl AuthService for Services {
    #[tracing::instrument(name = "rpc", skip_all, fields(method = "WhoAmI"))]
    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Res<pb::WhoAmIResponse> {
        let (who, expires) = self.app.who_am_i(super::bearer(&req)?).await?;
        let (user, participant) = match who {
            WhoAmI::Staff(u) => (Some(convert::user(&u)), None),
            WhoAmI::Participant(h, p) => (None, Some(convert::participant(h, &p))),
        };
        Ok(Response::new(pb::WhoAmIResponse {
            user,
            participant,
            expires_at: Some(ts(expires)),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "ListStaff"))]
    async fn list_staff(&self, req: Request<pb::ListStaffRequest>) -> Res<pb::ListStaffResponse> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let role = (r.role != pb::Role::Unspecified as i32)
            .then(|| convert::role_from("role", r.role))
            .transpose()?;
        let staff = self.app.list_staff(&caller, role).await?;
        Ok(Response::new(pb::ListStaffResponse {
            staff: staff
                .iter()
                .map(|(u, enabled)| pb::StaffMember {
                    user: Some(convert::user(u)),
                    enabled: *enabled,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "Login"))]
    async fn login(&self, req: Request<pb::LoginRequest>) -> Res<pb::LoginResponse> {
        let addr = super::client_addr(&req);
        let r = Login::try_from(req.into_inner())?;
        let (token, user, expires) = self.app.login(addr, &r.username, &r.password).await?;
        Ok(Response::new(pb::LoginResponse {
            token,
            user: Some(convert::user(&user)),
            expires_at: Some(ts(expires)),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "RedeemInvite"))]
    async fn redeem_invite(
        &self,
        req: Request<pb::RedeemInviteRequest>,
    ) -> Res<pb::RedeemInviteResponse> {
        let addr = super::client_addr(&req);
        let InviteCode(code) = req.into_inner().try_into()?;
        let (token, p, hearing, expires) = self.app.redeem_invite(addr, &code).await?;
        Ok(Response::new(pb::RedeemInviteResponse {
            token,
            participant: Some(convert::participant(hearing, &p)),
            expires_at: Some(ts(expires)),
        }))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "Logout"))]
    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Res<pb::LogoutResponse> {
        self.app.logout(super::bearer(&req)?).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    #[tracing::instrument(name = "rpc", skip_all, fields(method = "SetAccountEnabled"))]
    async fn set_account_enabled(
        &self,
        req: Request<pb::SetAccountEnabledRequest>,
    ) -> Res<pb::SetAccountEnabledResponse> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let username = Username::parse("username", &r.username)?;
        let (user, revoked) = self
            .app
            .set_account_enabled(&caller, &username, r.enabled)
            .await?;
        Ok(Response::new(pb::SetAccountEnabledResponse {
            user: Some(convert::user(&user)),
            sessions_revoked: revoked,
        }))
    }
}
