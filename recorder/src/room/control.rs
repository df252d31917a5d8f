//! The room's control state behind its lock: the [`RoomState`] it carries out, the media
//! handles of each participant, the exhibit pane, and the mute bookkeeping that turns a
//! muted participant's cut track into [`Event::TrackGap`]s.
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;

use super::build::PartBin;
use super::n1::{Feed, N1Mix};
use crate::health::Health;
use crate::speaker::SpeakerDetector;
use crate::state::{Event, ParticipantId, RoomState};

pub(super) struct PartMedia {
    pub(super) bin: PartBin,
    pub(super) comp_pad: gst::Pad,
    pub(super) mix_pad: gst::Pad,
    /// Hearing time of the participant's stream time zero (when they were added).
    pub(super) offset: Duration,
    /// Open while what they say is heard on the record (see [`RoomConfig::heard`](super::RoomConfig::heard)).
    pub(super) heard: Option<Arc<AtomicBool>>,
}

/// The exhibit pane's branch, its compositor pad, and what it shows.
pub(super) type Pane = (gst::Bin, gst::Pad, crate::exhibit::Shown);

pub(super) struct Control {
    pub(super) state: RoomState,
    pub(super) media: BTreeMap<ParticipantId, PartMedia>,
    /// The exhibit pane, while one is shown.
    pub(super) exhibit: Option<Pane>,
    pub(super) health: Health,
    pub(super) speaker: SpeakerDetector,
    /// Smoothed mean-square level of each participant in the mix.
    pub(super) levels: BTreeMap<ParticipantId, f64>,
    /// Each live participant's N-1 mix, and every (source, listener) feed into them.
    pub(super) n1: BTreeMap<ParticipantId, N1Mix>,
    pub(super) feeds: BTreeMap<(ParticipantId, ParticipantId), Feed>,
    /// Each muted participant: since when (hearing time) and why. Their track is cut meanwhile.
    pub(super) muted_since: BTreeMap<ParticipantId, (Duration, String)>,
}

impl Control {
    /// Follows mutes in `ev` (a mute said for `reason`): a muted participant's track is cut
    /// (nothing of theirs is kept) from their mute to their unmute, removal or the room's stop;
    /// returns each cut that ended, as a [`Event::TrackGap`] for the hearing's log.
    pub(super) fn track_gaps(&mut self, ev: &[Event], reason: &str) -> Vec<Event> {
        let mut gaps = Vec::new();
        let mut gap = |id: &ParticipantId, (from, reason): (Duration, String), to: Duration| {
            gaps.push(Event::TrackGap {
                id: id.clone(),
                from,
                to,
                reason,
            })
        };
        for e in ev {
            match e {
                Event::Muted { id, at } => {
                    self.muted_since
                        .insert(id.clone(), (*at, reason.to_string()));
                }
                Event::Unmuted { id, at } | Event::Removed { id, at } => {
                    if let Some(since) = self.muted_since.remove(id) {
                        gap(id, since, *at);
                    }
                }
                Event::Stopped { at } => {
                    for (id, since) in std::mem::take(&mut self.muted_since) {
                        gap(&id, since, *at);
                    }
                }
                _ => {}
            }
        }
        gaps
    }
}
