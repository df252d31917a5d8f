//! Who may connect their media (WebRTC) to a hearing, and under which name their connection and
//! track files go. The media itself is the `opencourt-media` crate's; this is only the rule.
use super::App;
use crate::app::Caller;
use crate::domain::machine::{authorize, Rejection};
use crate::domain::permissions::media_denial;
use crate::domain::*;
use crate::error::{CoreError, Result};
use crate::store::Decision;

/// A caller allowed to connect to a hearing's media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPeer {
    /// Names their connection and files: their participant id, or `user-<id>` for a clerk who
    /// has not joined.
    pub key: String,
    pub participant_id: Option<ParticipantId>,
    /// In the hearing now (the court, or admitted); otherwise in the waiting room, where nothing
    /// of theirs may reach the hearing or the record.
    pub admitted: bool,
    /// Their name and role, for their tile and their track's speaker label.
    pub display_name: String,
    pub role: Role,
    pub muted: bool,
    /// Why they are muted, for the gap on their track: "muted by the court" or "muted
    /// themselves".
    pub mute_reason: &'static str,
    /// The hearing clock's zero (the room's too).
    pub opened_at: chrono::DateTime<chrono::Utc>,
    /// The log's last sequence number when this was read: `admitted` and `muted` are as of it.
    pub as_of_seq: u64,
}

impl App {
    /// Checks that `caller` may connect to hearing `id`'s media now: participants who joined
    /// (waiting or admitted), the presiding judge and clerks, while the hearing is open. Denials
    /// are logged like every other.
    #[tracing::instrument(name = "hearing", skip_all, fields(hearing = %id))]
    pub async fn media_peer(&self, caller: &Caller, id: HearingId) -> Result<MediaPeer> {
        let (h, as_of_seq, _) = self
            .store
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let (me, presiding) = match caller {
            Caller::Participant {
                hearing_id,
                participant_id,
                ..
            } => {
                if *hearing_id != id {
                    let reason = "the invitation is for another hearing".to_string();
                    return Err(self
                        .log_denial(caller, &h, Action::ConnectMedia, reason, None)
                        .await);
                }
                (h.participant(*participant_id), false)
            }
            Caller::Staff(u) => (h.participant_of_user(u.id), h.presiding_judge == u.id),
        };
        if let Some(reason) = media_denial(caller.role(), presiding, me.map(|p| p.presence)) {
            return Err(self
                .log_denial(caller, &h, Action::ConnectMedia, reason, None)
                .await);
        }
        if !h.state.is_live() {
            return Err(CoreError::FailedPrecondition(format!(
                "the hearing is {}: media connect only while it is open",
                h.state
            )));
        }
        let key = match (me, caller) {
            (Some(p), _) => p.id.to_string(),
            (None, Caller::Staff(u)) => format!("user-{}", u.id),
            (None, Caller::Participant { participant_id, .. }) => participant_id.to_string(),
        };
        let admitted =
            caller.role().is_court() || me.is_some_and(|p| p.presence == Presence::Admitted);
        let display_name = match (me, caller) {
            (Some(p), _) => p.display_name.to_string(),
            (None, Caller::Staff(u)) => u.display_name.to_string(),
            (None, Caller::Participant { .. }) => "participant".to_string(),
        };
        Ok(MediaPeer {
            key,
            participant_id: me.map(|p| p.id),
            admitted,
            display_name,
            role: me.map_or(caller.role(), |p| p.role),
            muted: me.is_some_and(|p| p.muted),
            mute_reason: mute_reason(me.is_some_and(|p| p.court_muted)),
            opened_at: h.opened_at.unwrap_or_else(chrono::Utc::now),
            as_of_seq,
        })
    }
}

impl App {
    /// Participant `pid`'s media connection failed or closed and no new one came within the
    /// reconnect grace: records that they left, disconnected (`Left{disconnected: true}`), as
    /// OpenCourt itself, by the rule for leaving. Nothing when they are no longer in the hearing
    /// (they left, were removed, or it is over).
    pub async fn record_dropped(&self, id: HearingId, pid: ParticipantId) -> Result<()> {
        let leave = Command::Leave {
            reason: Some(Reason::parse("reason", "the media connection was lost").expect("valid")),
            disconnected: true,
        };
        let (_, _, stored) = self
            .store
            .append(id, |h| {
                let now = chrono::Utc::now();
                let present = h
                    .participant(pid)
                    .is_some_and(|p| matches!(p.presence, Presence::Waiting | Presence::Admitted));
                let (hearing, events) = match h.participant(pid) {
                    Some(p) if present && h.state.is_live() => {
                        let out = apply(h, &super::actor_of_participant(p), leave.clone(), now)
                            .map_err(super::rejection)?;
                        (out.hearing, out.events)
                    }
                    _ => (h.clone(), Vec::new()),
                };
                Ok(Decision {
                    now,
                    actor: super::system_actor("OpenCourt media"),
                    hearing,
                    events,
                    side: Vec::new(),
                    value: (),
                })
            })
            .await?;
        self.hub.publish(id, &stored);
        Ok(())
    }

    /// Checks that `caller` may see every participant's peer connection in hearing `id` (the
    /// presiding judge and clerks); a refusal is logged like every other.
    pub async fn may_view_connections(&self, caller: &Caller, id: HearingId) -> Result<()> {
        let (h, _, _) = self
            .store
            .hearing(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("hearing {id} not found")))?;
        let action = Action::ViewConnections;
        let refused = match self.actor_in(caller, &h) {
            Err(reason) => Some(reason),
            Ok(actor) => match authorize(&h, &actor, action, None) {
                Err(Rejection::Denied { reason, .. }) => Some(reason),
                Err(r) => return Err(super::rejection(r)),
                Ok(()) => None,
            },
        };
        match refused {
            Some(reason) => Err(self.log_denial(caller, &h, action, reason, None).await),
            None => Ok(()),
        }
    }
}

/// Why a participant is muted, as the gap on their track gives it: the court muted them
/// (`by_court`), or they muted themselves.
pub fn mute_reason(by_court: bool) -> &'static str {
    if by_court {
        "muted by the court"
    } else {
        "muted themselves"
    }
}
