//! Who may read what, and the record of every denial: in the hearing's log when the denial
//! concerns a hearing, in the access-denials table otherwise.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use super::{actor_of_participant, App, Caller};
use crate::domain::events::MediaKind;
use crate::domain::permissions::may_read_case;
use crate::domain::read_policy::{read_access, ReadPath, Reading, Standing};
use crate::domain::*;
use crate::error::{CoreError, Result};

impl App {
    /// Refuses `caller` outside any hearing's log: the denial goes to the access log, at most
    /// `denial_rows_per_minute` rows per caller a minute (the rest are only counted), so that a
    /// token of any kind cannot flood the database with refusals.
    pub(super) async fn deny_outside_hearing(
        &self,
        caller: &Caller,
        action: Action,
        target: &str,
        reason: String,
    ) -> CoreError {
        metrics::counter!("opencourt_denials_total").increment(1);
        let ids = caller.ids();
        if self
            .denials
            .admit(&format!("{ids:?}"), Utc::now().timestamp() / 60)
        {
            if let Err(e) = self.store.insert_denial(ids, action, target, &reason).await {
                tracing::error!(error = %e, "could not log a denial");
            }
        } else {
            metrics::counter!("opencourt_denials_unlogged_total").increment(1);
        }
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

    /// Reads hearing `id` for `caller` through `path`, as the read policy allows: the hearing,
    /// its log's last seq and head, and what the caller reads of it (`Reading::All` or
    /// `Reading::OwnOnly`); a denial otherwise.
    pub(super) async fn read_hearing(
        &self,
        caller: &Caller,
        id: HearingId,
        path: ReadPath,
    ) -> Result<HearingRead> {
        let (hearing, last_seq, head_hash) = self
            .store
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let visibility = self.visibility_of(&hearing).await?;
        let reading = self.check_read(caller, &hearing, visibility, path).await?;
        Ok(HearingRead {
            hearing,
            last_seq,
            head_hash,
            visibility,
            reading,
        })
    }

    pub(super) async fn visibility_of(&self, h: &Hearing) -> Result<Visibility> {
        Ok(self
            .store
            .case(h.case_id)
            .await?
            .ok_or_else(|| CoreError::Internal(format!("hearing {} has no case", h.id)))?
            .visibility)
    }

    /// The read policy's answer for `caller` reading `h` through `path`; a denial is logged in
    /// the hearing's log when the caller has standing there (its participants, its court), in
    /// the access log otherwise.
    pub(super) async fn check_read(
        &self,
        caller: &Caller,
        h: &Hearing,
        visibility: Visibility,
        path: ReadPath,
    ) -> Result<Reading> {
        let standing = standing(caller, h);
        let reading = read_access(standing, path, visibility, h.state.is_final());
        let Reading::Denied(reason) = reading else {
            return Ok(reading);
        };
        let action = match path {
            ReadPath::Watch => Action::Watch,
            ReadPath::VerifyLog => Action::VerifyLog,
            _ => Action::ReadHearing,
        };
        let in_hearing = match standing {
            Standing::Participant { .. } => true,
            Standing::Staff { role, presiding } => presiding || role == Role::Clerk,
            Standing::Outsider => false,
        };
        Err(if in_hearing {
            self.log_denial(caller, h, action, reason, None).await
        } else {
            self.deny_outside_hearing(caller, action, &h.id.to_string(), reason)
                .await
        })
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
        let outsider = match caller {
            Caller::Staff(u) => !u.role.is_court(),
            Caller::Participant { .. } => standing(caller, h) == Standing::Outsider,
        };
        if outsider {
            return self
                .deny_outside_hearing(caller, action, &h.id.to_string(), reason)
                .await;
        }
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

    /// Hearing `id`'s closed media file `file` (a name relative to the hearing's media
    /// directory), for a caller the read policy lets read it: the mix, their own track, or any
    /// track for the court. Only files the log names (its recording segments and tracks) are
    /// found: anything else in the directory is not served.
    pub async fn logged_media_file(
        &self,
        caller: &Caller,
        id: HearingId,
        file: &str,
    ) -> Result<crate::records::MediaFile> {
        let read = self.read_hearing(caller, id, ReadPath::Mix).await?;
        let found = self
            .store
            .media_files(id)
            .await?
            .into_iter()
            .find(|m| m.file == file)
            .ok_or_else(|| CoreError::NotFound(format!("no file {file} in hearing {id}")))?;
        if found.kind != MediaKind::Segment {
            let me = match caller {
                Caller::Participant { participant_id, .. } => Some(*participant_id),
                Caller::Staff(u) => read.hearing.participant_of_user(u.id).map(|p| p.id),
            };
            let path = if me.is_some() && found.participant_id == me {
                ReadPath::OwnTrack
            } else {
                ReadPath::OtherTrack
            };
            self.check_read(caller, &read.hearing, read.visibility, path)
                .await?;
        }
        Ok(found)
    }
}

/// A hearing as the read policy lets a caller read it.
pub(super) struct HearingRead {
    pub hearing: Hearing,
    pub last_seq: u64,
    pub head_hash: String,
    pub visibility: Visibility,
    pub reading: Reading,
}

/// What `caller` is to hearing `h`, for the read policy.
pub(super) fn standing(caller: &Caller, h: &Hearing) -> Standing {
    match caller {
        Caller::Staff(u) => Standing::Staff {
            role: u.role,
            presiding: h.presiding_judge == u.id,
        },
        Caller::Participant {
            hearing_id,
            participant_id,
            ..
        } => match h.participant(*participant_id) {
            Some(p) if *hearing_id == h.id => Standing::Participant {
                role: p.role,
                presence: p.presence,
            },
            _ => Standing::Outsider,
        },
    }
}

/// How many access-log rows each caller may cause per minute; the count starts again each
/// minute, and only this minute's callers are kept.
#[derive(Clone)]
pub(super) struct DenialLimiter {
    per_minute: u32,
    seen: Arc<Mutex<(i64, HashMap<String, u32>)>>,
}

impl DenialLimiter {
    pub(super) fn new(per_minute: u32) -> Self {
        DenialLimiter {
            per_minute,
            seen: Arc::new(Mutex::new((i64::MIN, HashMap::new()))),
        }
    }

    /// Whether `caller`'s denial in `minute` may take a row.
    fn admit(&self, caller: &str, minute: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.0 != minute {
            *seen = (minute, HashMap::new());
        }
        let n = seen.1.entry(caller.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::DenialLimiter;

    #[test]
    fn the_limiter_admits_n_rows_per_caller_per_minute() {
        let l = DenialLimiter::new(2);
        let admitted = |c: &str, m: i64| l.admit(c, m);
        assert!(admitted("a", 1));
        assert!(admitted("a", 1));
        assert!(!admitted("a", 1));
        assert!(admitted("b", 1), "another caller has its own count");
        assert!(admitted("a", 2), "a new minute starts again");
        assert!(admitted("a", 2));
        assert!(!admitted("a", 2));
    }
}
