//! Stall detection: a present participant whose media stops for `threshold` is stalled until
//! media arrives again. Pure logic; the media layer reports when it last saw a buffer. Only
//! media that started can stall: a participant still connecting has sent nothing to stop.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::state::{Event, ParticipantId};

#[derive(Debug)]
pub struct Health {
    threshold: Duration,
    stalled: BTreeMap<ParticipantId, bool>,
}

impl Health {
    pub fn new(threshold: Duration) -> Self {
        Self {
            threshold,
            stalled: BTreeMap::new(),
        }
    }

    pub fn forget(&mut self, id: &ParticipantId) {
        self.stalled.remove(id);
    }

    /// At hearing time `now`, `id` last delivered media at `last_seen` (`None`: nothing yet).
    pub fn check(
        &mut self,
        id: &ParticipantId,
        last_seen: Option<Duration>,
        now: Duration,
    ) -> Option<Event> {
        let last_seen = last_seen?;
        let was = self.stalled.entry(id.clone()).or_insert(false);
        let is = now.saturating_sub(last_seen) >= self.threshold;
        if is == *was {
            return None;
        }
        *was = is;
        Some(if is {
            Event::Stalled {
                id: id.clone(),
                at: last_seen,
            }
        } else {
            Event::Resumed {
                id: id.clone(),
                at: last_seen,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_then_resume_are_reported_once() {
        let id = ParticipantId::parse("w").unwrap();
        let s = Duration::from_secs;
        let mut h = Health::new(s(2));
        assert_eq!(h.check(&id, Some(s(0)), s(1)), None);
        assert_eq!(
            h.check(&id, Some(s(1)), s(3)),
            Some(Event::Stalled {
                id: id.clone(),
                at: s(1)
            })
        );
        assert_eq!(h.check(&id, Some(s(1)), s(4)), None);
        assert_eq!(
            h.check(&id, Some(s(5)), s(5)),
            Some(Event::Resumed {
                id: id.clone(),
                at: s(5)
            })
        );
        assert_eq!(h.check(&id, Some(s(6)), s(6)), None);
    }

    #[test]
    fn a_participant_who_never_sent_media_is_not_stalled() {
        let id = ParticipantId::parse("w").unwrap();
        let s = Duration::from_secs;
        let mut h = Health::new(s(2));
        assert_eq!(h.check(&id, None, s(60)), None);
        // their first media, long after they were added, is no resumption either
        assert_eq!(h.check(&id, Some(s(60)), s(60)), None);
        assert_eq!(
            h.check(&id, Some(s(60)), s(62)),
            Some(Event::Stalled {
                id: id.clone(),
                at: s(60)
            })
        );
    }
}
