//! Going off and on the record: the open files close at the switch, and the gap between is
//! written into the manifest.
use super::Room;
use crate::error::Result;
use crate::manifest::Gap;
use crate::state::{Command, RecordState};

impl Room {
    /// Goes off the record: the open files close at this moment, nothing is written until
    /// [`Room::on_record`].
    pub fn off_record(&self, reason: &str) -> Result<()> {
        self.record(Command::OffRecord {
            reason: reason.into(),
        })
    }

    pub fn on_record(&self, reason: &str) -> Result<()> {
        self.record(Command::OnRecord {
            reason: reason.into(),
        })
    }

    fn record(&self, cmd: Command) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let before = c.state.record.clone();
        let ev = inner.transition(&mut c, cmd)?;
        inner.apply_layout(&c);
        inner.outputs.lock().expect("outputs lock").switches = c.state.switches.clone();
        let on = c.state.is_on_record();
        let at = inner.now();
        if let (RecordState::Off { since, reason }, RecordState::On { since: resumed }) =
            (before, &c.state.record)
        {
            // The gap ends at the switch the media layer routes buffers by, not at `at`, which
            // is read a little later: the first buffer of the new segment may come before `at`.
            let mut m = inner.ctx.manifest.lock().expect("manifest lock");
            m.gaps.push(Gap {
                from_ms: since.as_millis() as u64,
                to_ms: resumed.as_millis() as u64,
                reason,
            });
            m.save(&inner.ctx.dir)?;
        }
        drop(c);
        if on {
            // the new segment starts on a keyframe at once instead of waiting for one
            inner.request_keyframe(at);
        }
        inner.emit_all(ev);
        Ok(())
    }
}
