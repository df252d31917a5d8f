//! Who is speaking now: the loudest participant heard in the mix, with hysteresis so that the
//! highlight on their tile neither flickers in a pause nor jumps on a cough. Pure logic; the
//! media layer measures each participant's level where their audio enters the mix.
use std::time::Duration;

use crate::state::{Event, ParticipantId};

/// Louder than this (dBFS, smoothed) is speech.
const SPEAKING_DB: f64 = -40.0;
/// The current speaker keeps the floor until this much quieter than `SPEAKING_DB`…
const RELEASE_DB: f64 = 8.0;
/// …or someone else is this much louder.
const TAKEOVER_DB: f64 = 6.0;

#[derive(Debug, Default)]
pub struct SpeakerDetector {
    current: Option<ParticipantId>,
}

impl SpeakerDetector {
    pub fn current(&self) -> Option<&ParticipantId> {
        self.current.as_ref()
    }

    /// `levels`: smoothed dBFS of each participant heard in the mix (admitted, not muted).
    pub fn update(&mut self, levels: &[(ParticipantId, f64)], at: Duration) -> Option<Event> {
        let loudest = levels
            .iter()
            .filter(|(_, db)| *db >= SPEAKING_DB)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let current_db = self
            .current
            .as_ref()
            .and_then(|c| levels.iter().find(|(id, _)| id == c))
            .map(|(_, db)| *db);
        let next = match (current_db, loudest) {
            (Some(c), Some((id, db)))
                if Some(id) != self.current.as_ref() && *db >= c + TAKEOVER_DB =>
            {
                Some(id.clone())
            }
            (Some(c), _) if c >= SPEAKING_DB - RELEASE_DB => self.current.clone(),
            (_, l) => l.map(|(id, _)| id.clone()),
        };
        if next == self.current {
            return None;
        }
        self.current = next.clone();
        Some(Event::Speaking { id: next, at })
    }
}

/// Smoothed level in dBFS from the previous smoothed power and a new measurement (both as
/// mean square, full scale 1.0).
pub fn smooth(prev_power: f64, power: f64) -> f64 {
    0.6 * prev_power + 0.4 * power
}

pub fn db(power: f64) -> f64 {
    10.0 * power.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ParticipantId {
        ParticipantId::parse(s).unwrap()
    }
    fn speaking(e: Option<Event>) -> Option<Option<String>> {
        e.map(|e| match e {
            Event::Speaking { id, .. } => id.map(|i| i.to_string()),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn floor_is_kept_through_pauses_and_taken_by_a_clearly_louder_voice() {
        let mut d = SpeakerDetector::default();
        let t = Duration::ZERO;
        let (a, b) = (id("a"), id("b"));
        assert_eq!(
            speaking(d.update(&[(a.clone(), -60.0), (b.clone(), -60.0)], t)),
            None
        );
        assert_eq!(
            speaking(d.update(&[(a.clone(), -20.0), (b.clone(), -60.0)], t)),
            Some(Some("a".into()))
        );
        // a short dip in a's level: still a
        assert_eq!(
            speaking(d.update(&[(a.clone(), -45.0), (b.clone(), -60.0)], t)),
            None
        );
        // b only slightly louder: a keeps the floor
        assert_eq!(
            speaking(d.update(&[(a.clone(), -22.0), (b.clone(), -19.0)], t)),
            None
        );
        // b clearly louder: b
        assert_eq!(
            speaking(d.update(&[(a.clone(), -30.0), (b.clone(), -18.0)], t)),
            Some(Some("b".into()))
        );
        // b muted (no longer in the list) and a silent: nobody
        assert_eq!(speaking(d.update(&[(a.clone(), -70.0)], t)), Some(None));
        assert_eq!(d.current(), None);
    }

    #[test]
    fn levels() {
        assert!((db(1.0) - 0.0).abs() < 1e-9);
        assert!((db(0.01) + 20.0).abs() < 1e-9);
        assert!(smooth(0.0, 1.0) > 0.0 && smooth(1.0, 1.0) == 1.0);
    }
}
