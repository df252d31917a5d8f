//! Who receives what the room sends back to live participants: the courtroom view goes to the
//! admitted ones, the waiting card to the others, each one's N-1 audio to themselves only.
//! Plain logic over any output type `T` (the room uses [`super::LiveOut`]), so it is tested
//! without GStreamer.
use std::collections::BTreeMap;

use crate::state::ParticipantId;

struct Outlet<T> {
    /// The connection their media goes to; `None` while they are not connected.
    out: Option<T>,
    admitted: bool,
    /// Gets no frame of the view until a keyframe: a decoder cannot start on a delta frame.
    needs_key: bool,
}

pub(crate) struct Fanout<T> {
    outlets: BTreeMap<ParticipantId, Outlet<T>>,
}

impl<T> Default for Fanout<T> {
    fn default() -> Self {
        Self {
            outlets: BTreeMap::new(),
        }
    }
}

impl<T> Fanout<T> {
    /// A live participant's place, in the waiting room and not connected.
    pub fn add(&mut self, id: &ParticipantId) {
        self.outlets.insert(
            id.clone(),
            Outlet {
                out: None,
                admitted: false,
                needs_key: true,
            },
        );
    }

    pub fn has(&self, id: &ParticipantId) -> bool {
        self.outlets.contains_key(id)
    }

    /// Their place is gone; returns their connection's output, if any.
    pub fn remove(&mut self, id: &ParticipantId) -> Option<T> {
        self.outlets.remove(id).and_then(|o| o.out)
    }

    /// Sets (or clears) where their media goes; returns the old output, and whether the view
    /// encoder must make a keyframe now (they start on the view).
    pub fn set_out(&mut self, id: &ParticipantId, out: Option<T>) -> (Option<T>, bool) {
        let Some(o) = self.outlets.get_mut(id) else {
            return (out, false);
        };
        let key = out.is_some() && o.admitted;
        o.needs_key = true;
        (std::mem::replace(&mut o.out, out), key)
    }

    /// Follows the room's state; returns whether the view encoder must make a keyframe now
    /// (a connected participant was just admitted).
    pub fn set_admitted(&mut self, id: &ParticipantId, admitted: bool) -> bool {
        let Some(o) = self.outlets.get_mut(id) else {
            return false;
        };
        let key = admitted && !o.admitted && o.out.is_some();
        if admitted && !o.admitted {
            o.needs_key = true;
        }
        o.admitted = admitted;
        key
    }

    /// Where their own (N-1) audio goes.
    pub fn audio(&self, id: &ParticipantId) -> Option<&T> {
        self.outlets.get(id).and_then(|o| o.out.as_ref())
    }

    /// Whether anyone connected (with an output that `takes` video) is shown the view, and
    /// whether anyone is shown the waiting card: what is not shown need not be encoded.
    pub fn wants(&self, takes: impl Fn(&T) -> bool) -> (bool, bool) {
        let mut view = false;
        let mut card = false;
        for o in self.outlets.values() {
            if o.out.as_ref().is_some_and(&takes) {
                view |= o.admitted;
                card |= !o.admitted;
            }
        }
        (view, card)
    }

    /// Who gets this frame of the view (`key`: it is a keyframe).
    pub fn view(&mut self, key: bool) -> Vec<&T> {
        self.outlets
            .values_mut()
            .filter(|o| o.admitted)
            .filter_map(|o| {
                if key {
                    o.needs_key = false;
                }
                if o.needs_key {
                    None
                } else {
                    o.out.as_ref()
                }
            })
            .collect()
    }

    /// Who gets this frame of the waiting card (every card frame is a keyframe).
    pub fn card(&self) -> Vec<&T> {
        self.outlets
            .values()
            .filter(|o| !o.admitted)
            .filter_map(|o| o.out.as_ref())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ParticipantId {
        ParticipantId::parse(s).unwrap()
    }

    #[test]
    fn the_waiting_see_the_card_and_the_admitted_the_view_from_a_keyframe() {
        let mut f = Fanout::default();
        let (a, b) = (id("a"), id("b"));
        f.add(&a);
        f.add(&b);
        assert_eq!(f.wants(|_| true), (false, false));
        assert_eq!(
            f.set_out(&a, Some("A")),
            (None, false),
            "waiting: no keyframe"
        );
        assert!(!f.set_out(&b, Some("B")).1);
        assert_eq!(f.card(), vec![&"A", &"B"]);
        assert!(f.view(true).is_empty());
        assert!(
            f.set_admitted(&a, true),
            "admitted and connected: a keyframe"
        );
        assert!(!f.set_admitted(&a, true), "no change, no keyframe");
        assert_eq!(f.wants(|_| true), (true, true));
        assert_eq!(f.wants(|o| *o == "B"), (false, true));
        assert_eq!(f.card(), vec![&"B"]);
        assert!(f.view(false).is_empty(), "a delta frame first is not sent");
        assert_eq!(f.view(true), vec![&"A"]);
        assert_eq!(f.view(false), vec![&"A"]);
        assert_eq!(f.audio(&b), Some(&"B"));
    }

    #[test]
    fn a_new_connection_waits_for_a_keyframe_and_a_closed_one_gets_nothing() {
        let mut f = Fanout::default();
        let a = id("a");
        f.add(&a);
        f.set_admitted(&a, false);
        assert!(!f.set_admitted(&a, true), "not connected: no keyframe");
        assert_eq!(f.set_out(&a, Some(1)), (None, true));
        assert!(f.view(false).is_empty());
        assert_eq!(f.view(true), vec![&1]);
        // a reconnection replaces the output and starts again from a keyframe
        assert_eq!(f.set_out(&a, Some(2)), (Some(1), true));
        assert!(f.view(false).is_empty());
        assert_eq!(f.view(true), vec![&2]);
        assert_eq!(f.set_out(&a, None), (Some(2), false));
        assert!(f.view(true).is_empty() && f.audio(&a).is_none() && !f.wants(|_| true).0);
        // stood down: the card again
        f.set_out(&a, Some(3));
        f.set_admitted(&a, false);
        assert_eq!(f.card(), vec![&3]);
        assert_eq!(f.remove(&a), Some(3));
        assert_eq!(
            f.set_out(&a, Some(4)),
            (Some(4), false),
            "unknown: handed back"
        );
    }
}
