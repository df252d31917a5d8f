//! Staff accounts, login, redeeming an invitation, and resolving a bearer token to its caller.
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::limits::{self, AttemptKind};
use super::{actor_of_participant, rejection, App, Caller};
use crate::auth;
use crate::domain::machine::{self, Command};
use crate::domain::permissions::role_may;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::store::{Decision, Session, SideWrite};

impl App {
    pub async fn add_user(
        &self,
        username: Username,
        display_name: DisplayName,
        role: Role,
        password: String,
    ) -> Result<User> {
        if !role.is_staff() {
            return Err(CoreError::invalid(
                "role",
                "staff accounts are judge, clerk or admin",
            ));
        }
        if password.chars().count() < 8 {
            return Err(CoreError::invalid(
                "password",
                "must be at least 8 characters",
            ));
        }
        let hash = self
            .guards
            .hash(move || auth::hash_password(&password))
            .await??;
        let user = User {
            id: UserId::new(),
            username,
            display_name,
            role,
        };
        self.store.insert_user(&user, &hash).await?;
        Ok(user)
    }

    /// Signs a staff member in. Failures back off per client `addr` and per user name
    /// (`Limits`); an unknown name costs the same Argon2 work as a wrong password, so the two
    /// cannot be told apart by time.
    pub async fn login(
        &self,
        addr: Option<IpAddr>,
        username: &str,
        password: &str,
    ) -> Result<(String, User, DateTime<Utc>)> {
        let bad = || CoreError::Unauthenticated("wrong username or password".into());
        let name = username.trim().to_lowercase();
        self.guards.check(AttemptKind::Login, addr, &name)?;
        let found = self.store.user_by_username(username.trim()).await?;
        let password = password.to_string();
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let ok = self
            .guards
            .hash(move || {
                let hash = hash.unwrap_or_else(limits::dummy_password_hash);
                auth::verify_password(&password, &hash)
            })
            .await?;
        let Some(user) = user.filter(|_| ok) else {
            self.guards.failed(AttemptKind::Login, addr, &name);
            return Err(bad());
        };
        self.guards.succeeded(AttemptKind::Login, &name);
        if self.store.user_disabled(user.id).await? {
            return Err(CoreError::Unauthenticated(
                "the account is disabled: ask an administrator".into(),
            ));
        }
        let token = auth::new_token();
        let expires_at = Utc::now() + self.staff_token_ttl;
        let session = Session {
            user_id: Some(user.id),
            participant_id: None,
            hearing_id: None,
            role: user.role,
            expires_at,
            revoked: false,
        };
        self.store
            .insert_session(&auth::secret_hash(&token), &session)
            .await?;
        Ok((token, user, expires_at))
    }

    /// Redeems a one-time code for a token bound to the participant's hearing and role. A code
    /// is refused once used, once its participant was removed, once a new one was issued for
    /// them, and after the hearing's scheduled end plus the invitation grace.
    /// Failures back off per client `addr` and per code (`Limits`).
    pub async fn redeem_invite(
        &self,
        addr: Option<IpAddr>,
        code: &str,
    ) -> Result<(String, Participant, HearingId, DateTime<Utc>)> {
        let code_hash = auth::secret_hash(code);
        self.guards.check(AttemptKind::Redeem, addr, &code_hash)?;
        let Some((hearing_id, pid)) = self.store.invite(&code_hash).await? else {
            self.guards.failed(AttemptKind::Redeem, addr, &code_hash);
            return Err(CoreError::Unauthenticated(
                "invitation code is not valid or was already used".into(),
            ));
        };
        let token = auth::new_token();
        let token_hash = auth::secret_hash(&token);
        let expires_at = Utc::now() + self.participant_token_ttl;
        let grace = chrono::Duration::from_std(self.invite_grace)
            .map_err(|e| CoreError::Internal(format!("invitation grace: {e}")))?;
        let (p, hearing, events) = self
            .store
            .append(hearing_id, |h| {
                let expired = h.ends_at + grace;
                if Utc::now() > expired {
                    return Err(CoreError::Unauthenticated(format!(
                        "the invitation expired at {} (the hearing's scheduled end plus {} min)",
                        expired.format("%Y-%m-%d %H:%M UTC"),
                        grace.num_minutes()
                    )));
                }
                let p = h
                    .participant(pid)
                    .ok_or_else(|| CoreError::NotFound(format!("participant {pid} not found")))?;
                let actor = actor_of_participant(p);
                let out = machine::apply(h, &actor, Command::RedeemInvite, Utc::now())
                    .map_err(rejection)?;
                Ok(Decision {
                    now: Utc::now(),
                    actor,
                    hearing: out.hearing,
                    events: out.events,
                    side: vec![
                        SideWrite::ConsumeInvite {
                            participant_id: pid,
                            code_hash: code_hash.clone(),
                        },
                        SideWrite::InsertSession {
                            token_hash: token_hash.clone(),
                            session: Session {
                                user_id: None,
                                participant_id: Some(pid),
                                hearing_id: Some(hearing_id),
                                role: p.role,
                                expires_at,
                                revoked: false,
                            },
                        },
                    ],
                    value: p.clone(),
                })
            })
            .await?;
        self.hub.publish(hearing.id, &events);
        Ok((token, p, hearing_id, expires_at))
    }

    /// Ends the session of `token` (it stops working at once, open streams within
    /// `Limits::stream_recheck`).
    pub async fn logout(&self, token: &str) -> Result<()> {
        self.authenticate(token).await?;
        self.store.revoke_session(&auth::secret_hash(token)).await?;
        Ok(())
    }

    /// An administrator enables or disables the staff account `username`. Disabling revokes
    /// every session of the account at once and refuses its sign-ins; the change is audited.
    /// Returns the account and how many sessions were revoked.
    pub async fn set_account_enabled(
        &self,
        caller: &Caller,
        username: &Username,
        enabled: bool,
    ) -> Result<(User, u64)> {
        let admin = match caller {
            Caller::Staff(u) if role_may(u.role, Action::SetAccountEnabled) => u,
            _ => {
                // Refused outside any hearing: kept in the access log like other such denials.
                let why = "only an administrator may enable or disable accounts".to_string();
                return Err(self
                    .deny_outside_hearing(caller, Action::SetAccountEnabled, username.as_str(), why)
                    .await);
            }
        };
        if admin.username == *username && !enabled {
            return Err(CoreError::invalid(
                "username",
                "an administrator cannot disable their own account",
            ));
        }
        let actor = format!("admin {}", admin.username.as_str());
        self.set_account_enabled_as(&actor, username, enabled).await
    }

    /// Enables or disables `username` on behalf of `actor` (the command line), with no caller
    /// to check: for `opencourt user disable|enable`, run by whoever holds the database.
    pub async fn set_account_enabled_as(
        &self,
        actor: &str,
        username: &Username,
        enabled: bool,
    ) -> Result<(User, u64)> {
        let (user, _) = self
            .store
            .user_by_username(username.as_str())
            .await?
            .ok_or_else(|| {
                CoreError::NotFound(format!("no account is named {}", username.as_str()))
            })?;
        let revoked = self.store.set_user_enabled(user.id, enabled, actor).await?;
        tracing::info!(user = %user.id, enabled, revoked, %actor, "account enabled state changed");
        Ok((user, revoked))
    }

    /// Resolves a bearer token to its caller.
    pub async fn authenticate(&self, token: &str) -> Result<Caller> {
        Ok(self.authenticate_until(token).await?.0)
    }

    /// Who a token belongs to, for a page that kept it (a reload, a second tab): the staff
    /// account, or the invited participant as they are now in their hearing; and when the
    /// token expires.
    pub async fn who_am_i(&self, token: &str) -> Result<(WhoAmI, DateTime<Utc>)> {
        let (caller, expires) = self.authenticate_until(token).await?;
        let who = match caller {
            Caller::Staff(user) => WhoAmI::Staff(user),
            Caller::Participant {
                hearing_id,
                participant_id,
                ..
            } => {
                let gone = || CoreError::Unauthenticated("the participant no longer exists".into());
                let (h, _, _) = self.store.hearing(hearing_id).await?.ok_or_else(gone)?;
                let p = h.participant(participant_id).cloned().ok_or_else(gone)?;
                WhoAmI::Participant(hearing_id, p)
            }
        };
        Ok((who, expires))
    }

    /// The staff accounts (only `role`'s, if given), sorted by display name, each with whether
    /// it is enabled: for judges, clerks and administrators (e.g. the judges a clerk may name
    /// when scheduling).
    pub async fn list_staff(
        &self,
        caller: &Caller,
        role: Option<Role>,
    ) -> Result<Vec<(User, bool)>> {
        if !matches!(caller, Caller::Staff(_)) || !role_may(caller.role(), Action::ListStaff) {
            let why = format!("a {} may not list staff accounts", caller.role());
            return Err(self
                .deny_outside_hearing(caller, Action::ListStaff, "", why)
                .await);
        }
        if let Some(r) = role.filter(|r| !r.is_staff()) {
            return Err(CoreError::invalid(
                "role",
                format!("{r} is not a staff role (judge, clerk or admin)"),
            ));
        }
        let mut staff = self.store.staff(role).await?;
        staff.sort_by(|(a, _), (b, _)| {
            (a.display_name.as_str(), a.username.as_str())
                .cmp(&(b.display_name.as_str(), b.username.as_str()))
        });
        Ok(staff)
    }

    /// The caller a bearer token belongs to and when the token expires.
    async fn authenticate_until(&self, token: &str) -> Result<(Caller, DateTime<Utc>)> {
        let bad = |why: &str| CoreError::Unauthenticated(why.to_string());
        let session = self
            .store
            .session(&auth::secret_hash(token))
            .await?
            .ok_or_else(|| bad("the token is not valid"))?;
        if session.revoked {
            return Err(bad("the token was revoked"));
        }
        if session.expires_at <= Utc::now() {
            return Err(bad("the token has expired"));
        }
        match (session.user_id, session.participant_id, session.hearing_id) {
            (Some(uid), _, _) => {
                let user = self
                    .store
                    .user(uid)
                    .await?
                    .ok_or_else(|| bad("the account no longer exists"))?;
                Ok((Caller::Staff(user), session.expires_at))
            }
            (None, Some(participant_id), Some(hearing_id)) => Ok((
                Caller::Participant {
                    hearing_id,
                    participant_id,
                    role: session.role,
                },
                session.expires_at,
            )),
            _ => Err(bad("the token is not valid")),
        }
    }
}

/// Who a bearer token belongs to (`App::who_am_i`).
#[derive(Clone, Debug)]
pub enum WhoAmI {
    Staff(User),
    Participant(HearingId, Participant),
}
