//! Who may read what, and the record of every denial: in the hearing's log when the denial
//! concerns a hearing, in the access-denials table otherwise.
use super::{actor_of_participant, App, Caller};
use crate::domain::permissions::{may_read_case, role_may};
use crate::domain::*;
use crate::error::{CoreError, Result};

impl App {
    pub(super) async fn deny_outside_hearing(
        &self,
        caller: &Caller,
        action: Action,
        target: &str,
        reason: String,
    ) -> CoreError {
        if let Err(e) = self
            .store
            .insert_denial(caller.ids(), action, target, &reason)
            .await
        {
            tracing::error!(error = %e, "could not log a denial");
        }
        metrics::counter!("opencourt_denials_total").increment(1);
        CoreError::PermissionDenied(reason)
    }

    /// Whether the caller may read `case` (PUBLIC: anyone; RESTRICTED: staff and the case's
    /// participants; SEALED: judges and clerks).
    pub(super) async fn can_read_case(&self, caller: &Caller, case: &Case) -> Result<bool> {
        let is_case_participant = match caller {
            Caller::Staff(_) => false,
            Caller::Participant { participant_id, .. } => self
                .store
                .participant_hearing(*participant_id)
                .await?
                .is_some_and(|(_, c)| c == case.id),
        };
        Ok(may_read_case(
            caller.role(),
            is_case_participant,
            case.visibility,
        ))
    }

    /// What a caller reads across cases (lists, search): the visibilities they read everywhere,
    /// plus, for an invited participant, their own case unless it is sealed.
    pub(super) async fn reading_scope(
        &self,
        caller: &Caller,
    ) -> Result<(Vec<Visibility>, Option<CaseId>)> {
        let visible = [
            Visibility::Public,
            Visibility::Restricted,
            Visibility::Sealed,
        ]
        .into_iter()
        .filter(|v| may_read_case(caller.role(), false, *v))
        .collect();
        let own_case = match caller {
            Caller::Participant { participant_id, .. } => {
                match self.store.participant_hearing(*participant_id).await? {
                    Some((_, c)) => self
                        .store
                        .case(c)
                        .await?
                        .filter(|c| c.visibility != Visibility::Sealed)
                        .map(|c| c.id),
                    None => None,
                }
            }
            Caller::Staff(_) => None,
        };
        Ok((visible, own_case))
    }

    /// The caller as an actor in hearing `h`, or a denial when they have no standing in it.
    pub(super) fn actor_in(
        &self,
        caller: &Caller,
        h: &Hearing,
    ) -> std::result::Result<Actor, String> {
        match caller {
            Caller::Staff(u) => {
                let p = h.participant_of_user(u.id);
                Ok(Actor {
                    participant_id: p.map(|p| p.id),
                    user_id: Some(u.id),
                    role: u.role,
                    display_name: u.display_name.to_string(),
                })
            }
            Caller::Participant {
                hearing_id,
                participant_id,
                ..
            } => {
                if *hearing_id != h.id {
                    return Err("the invitation is for another hearing".into());
                }
                let p = h
                    .participant(*participant_id)
                    .ok_or_else(|| "not a participant of this hearing".to_string())?;
                Ok(actor_of_participant(p))
            }
        }
    }

    /// Checks read access to a hearing (GetHearing, WatchHearing, VerifyHearingLog).
    pub(super) async fn read_hearing(
        &self,
        caller: &Caller,
        id: HearingId,
        action: Action,
    ) -> Result<(Hearing, u64, String)> {
        let (h, last, head) = self
            .store
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let denied = match caller {
            _ if !role_may(caller.role(), action) => {
                Some(format!("a {} may not {}", caller.role(), action.as_str()))
            }
            Caller::Participant { hearing_id, .. } if *hearing_id != id => {
                Some("the invitation is for another hearing".to_string())
            }
            Caller::Participant { .. } => None,
            Caller::Staff(_) => {
                let case = self
                    .store
                    .case(h.case_id)
                    .await?
                    .ok_or_else(|| CoreError::Internal(format!("hearing {id} has no case")))?;
                (!self.can_read_case(caller, &case).await?).then(|| {
                    format!(
                        "a {} may not read a {} case",
                        caller.role(),
                        case.visibility
                    )
                })
            }
        };
        if let Some(reason) = denied {
            return Err(self.log_denial(caller, &h, action, reason, None).await);
        }
        Ok((h, last, head))
    }

    /// Appends an `ActionDenied` event to the hearing's log and returns PERMISSION_DENIED.
    #[tracing::instrument(name = "hearing", skip_all, fields(hearing = %h.id, action = action.as_str()))]
    pub(super) async fn log_denial(
        &self,
        caller: &Caller,
        h: &Hearing,
        action: Action,
        reason: String,
        target: Option<ParticipantId>,
    ) -> CoreError {
        metrics::counter!("opencourt_denials_total").increment(1);
        let actor = self.actor_in(caller, h).unwrap_or_else(|_| {
            let (user_id, participant_id, role) = caller.ids();
            Actor {
                participant_id,
                user_id,
                role,
                display_name: match caller {
                    Caller::Staff(u) => u.display_name.to_string(),
                    Caller::Participant { .. } => String::new(),
                },
            }
        });
        let payload = EventPayload::Denied {
            action: action.as_str().to_string(),
            reason: reason.clone(),
            target_participant_id: target,
        };
        let logged = self
            .append_events(h.id, actor, vec![payload], Vec::new())
            .await;
        if let Err(e) = logged {
            tracing::error!(error = %e, "could not log a denial");
        }
        CoreError::PermissionDenied(reason)
    }

    /// Whether `caller` may read hearing `id`'s media (the same rule as GetHearing).
    pub async fn may_read_media(&self, caller: &Caller, id: HearingId) -> Result<()> {
        self.read_hearing(caller, id, Action::ReadHearing)
            .await
            .map(|_| ())
    }

    /// Hearing `id`'s closed media file `file` (a name relative to the hearing's media
    /// directory), for a caller who may read the hearing's media. Only files the log names (its
    /// recording segments and tracks) are found: anything else in the directory is not served.
    pub async fn logged_media_file(
        &self,
        caller: &Caller,
        id: HearingId,
        file: &str,
    ) -> Result<crate::records::MediaFile> {
        self.may_read_media(caller, id).await?;
        self.store
            .media_files(id)
            .await?
            .into_iter()
            .find(|m| m.file == file)
            .ok_or_else(|| CoreError::NotFound(format!("no file {file} in hearing {id}")))
    }
}
