//! Participants coming, going and changing: branches built and linked into the running room
//! (file-fed or live), admitted, muted, removed, and where a live one's return media goes.
use gstreamer::prelude::*;

use super::build::{self, LiveIn, PartBin};
use super::control::PartMedia;
use super::live_out::{self, LiveOut};
use super::n1::{self, Feed};
use super::outputs::{Output, Which};
use super::sinks::{connect_sink, tap_heard};
use super::{speaker_label, Room, RoomConfig, Source};
use crate::error::{Error, Result};
use crate::manifest::FileKind;
use crate::state::{Command, ParticipantId, Role};
use crate::writer::StreamKind;

impl Room {
    /// Adds a participant fed from files (bots, tests, the CLI), in the waiting room.
    pub fn add(&self, id: &ParticipantId, name: &str, role: Role, src: &Source) -> Result<()> {
        self.attach(id, name, role, false, |cfg, bin, label| {
            build::participant(cfg, bin, label, &src.audio, src.video.as_deref())
        })
        .map(|_| ())
    }

    /// Adds a participant fed live (WebRTC), in the waiting room: push their Opus (and, with
    /// `video`, VP8) into the returned [`LiveIn`], which stays valid across reconnections.
    pub fn add_live(
        &self,
        id: &ParticipantId,
        name: &str,
        role: Role,
        video: bool,
    ) -> Result<LiveIn> {
        let mut live = None;
        self.attach(id, name, role, true, |cfg, bin, label| {
            let (pb, l) = build::live_participant(cfg, bin, label, video)?;
            live = Some(l);
            Ok(pb)
        })?;
        live.ok_or_else(|| Error::Gst("live participant not built".into()))
    }

    /// Builds a participant's branch with `make` and links it into the running room.
    /// `live`: its buffers carry the room's running time already (stamped on arrival); a
    /// file-fed branch starts at stream time zero and is shifted to now.
    fn attach(
        &self,
        id: &ParticipantId,
        name: &str,
        role: Role,
        live: bool,
        make: impl FnOnce(&RoomConfig, &str, &str) -> Result<PartBin>,
    ) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let cmd = Command::Add {
            id: id.clone(),
            name: name.into(),
            role,
        };
        // validate before building anything
        c.state.apply(cmd.clone(), inner.now())?;
        let label = format!("{name} — {}", role.label());
        let pb = make(&inner.cfg, &format!("p-{id}"), &label)?;
        let pipeline = &inner.core.pipeline;
        pipeline.add(&pb.bin)?;
        let comp_pad = inner
            .core
            .compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("compositor pad".into()))?;
        let mix_pad = inner
            .core
            .audiomixer
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("audiomixer pad".into()))?;
        comp_pad.set_property("alpha", 0.0f64);
        mix_pad.set_property("mute", true);
        pb.track.set_open(false);
        let offset = if live {
            inner.ctx.offset
        } else {
            // joining a running room: their stream time zero is now on the room's clock
            let offset = inner.now();
            let rt = offset.saturating_sub(inner.ctx.offset).as_nanos() as i64;
            pb.video_out.set_offset(rt);
            // shifted before the tee, so the mix and their own track both get it
            if let Some(p) = pb.bin.by_name("seen").and_then(|e| e.static_pad("src")) {
                p.set_offset(rt);
            }
            offset
        };
        pb.audio_out
            .link(&mix_pad)
            .map_err(|e| Error::Gst(format!("link audio: {e:?}")))?;
        pb.video_out
            .link(&comp_pad)
            .map_err(|e| Error::Gst(format!("link video: {e:?}")))?;
        inner.outputs.lock().expect("outputs lock").tracks.insert(
            id.clone(),
            Output::new(
                FileKind::Track {
                    participant: id.to_string(),
                },
                vec![StreamKind::Audio],
                inner.cfg.segment,
            ),
        );
        connect_sink(inner, &pb.track_sink, Which::Track(id.clone()), 0);
        let heard = match (&inner.cfg.heard, live) {
            (Some(tx), true) => Some(tap_heard(
                &pb,
                tx.clone(),
                id.clone(),
                speaker_label(name, role),
                inner.ctx.offset,
            )?),
            _ => None,
        };
        build::start_branch(&pb.bin)?;
        let ctl = &mut *c;
        // everyone else's voice into their N-1 mix (live participants have one), theirs into
        // every other N-1 mix
        for (to, mix) in &ctl.n1 {
            ctl.feeds
                .insert((id.clone(), to.clone()), Feed::link(&pb.bin, mix)?);
        }
        if live {
            let mix = n1::n1_mix(&format!("n1-{id}"))?;
            pipeline.add(&mix.bin)?;
            inner.sends.lock().expect("sends lock").add(id);
            live_out::connect_n1(&mix.sink, &inner.sends, id.clone());
            build::start_branch(&mix.bin)?;
            for (from, m) in &ctl.media {
                ctl.feeds
                    .insert((from.clone(), id.clone()), Feed::link(&m.bin.bin, &mix)?);
            }
            ctl.n1.insert(id.clone(), mix);
        }
        let media = PartMedia {
            bin: pb,
            comp_pad,
            mix_pad,
            offset,
            heard,
        };
        c.media.insert(id.clone(), media);
        let ev = inner.transition(&mut c, cmd)?;
        inner.apply_layout(&c);
        drop(c);
        inner.emit_all(ev);
        Ok(())
    }

    fn simple(&self, cmd: Command) -> Result<()> {
        self.simple_because(cmd, "muted")
    }

    /// [`Room::simple`]; a mute among its events is for `reason`.
    fn simple_because(&self, cmd: Command, reason: &str) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let mut ev = inner.transition(&mut c, cmd)?;
        let gaps = c.track_gaps(&ev, reason);
        ev.extend(gaps);
        inner.apply_layout(&c);
        drop(c);
        inner.emit_all(ev);
        Ok(())
    }

    pub fn admit(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::Admit(id.clone()))
    }
    pub fn stand_down(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::StandDown(id.clone()))
    }
    pub fn mute(&self, id: &ParticipantId) -> Result<()> {
        self.mute_because(id, "muted")
    }
    /// Mutes `id`: out of the mix, the captions and their own track (cut until they are
    /// unmuted, which then emits the cut as [`Event::TrackGap`](crate::state::Event::TrackGap) with `reason`).
    pub fn mute_because(&self, id: &ParticipantId, reason: &str) -> Result<()> {
        self.simple_because(Command::Mute(id.clone()), reason)
    }
    pub fn unmute(&self, id: &ParticipantId) -> Result<()> {
        self.simple(Command::Unmute(id.clone()))
    }

    /// Takes the participant out of the room: their track files are closed.
    pub fn remove(&self, id: &ParticipantId) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let mut ev = inner.transition(&mut c, Command::Remove(id.clone()))?;
        let gaps = c.track_gaps(&ev, "");
        ev.extend(gaps);
        c.health.forget(id);
        c.levels.remove(id);
        let media = c.media.remove(id);
        // their feeds go first, in both directions, while every bin still runs
        let feeds: Vec<_> = c
            .feeds
            .keys()
            .filter(|(from, to)| from == id || to == id)
            .cloned()
            .collect();
        for key in feeds {
            let f = c.feeds.remove(&key).expect("listed above");
            if let Some(mix) = c.n1.get(&key.1) {
                f.release_listener(mix);
            }
            if let Some(m) = c.media.get(&key.0) {
                f.release_source(&m.bin.bin);
            }
        }
        let mix = c.n1.remove(id);
        inner.sends.lock().expect("sends lock").remove(id);
        inner.apply_layout(&c);
        drop(c);
        if let Some(mix) = mix {
            n1::remove_mix(&inner.core.pipeline, &mix)?;
        }
        if let Some(mut out) = inner
            .outputs
            .lock()
            .expect("outputs lock")
            .tracks
            .remove(id)
        {
            out.finish(&inner.ctx, inner.now());
        }
        if let Some(m) = media {
            build::remove_branch(
                &inner.core.pipeline,
                &m.bin.bin,
                &[
                    (&inner.core.compositor, &m.comp_pad),
                    (&inner.core.audiomixer, &m.mix_pad),
                ],
            )?;
        }
        inner.emit_all(ev);
        Ok(())
    }

    /// Sends `id`'s N-1 mix and the view (or, while they wait, the waiting card) to `out`,
    /// their current connection; `None` when it closes (set it before stopping the
    /// connection's pipeline). Only for live participants ([`Room::add_live`]).
    pub fn set_live_out(&self, id: &ParticipantId, out: Option<LiveOut>) -> Result<()> {
        let inner = &self.inner;
        let mut sends = inner.sends.lock().expect("sends lock");
        if !sends.has(id) {
            return Err(Error::Invalid(format!("{id} is not a live participant")));
        }
        let (_old, key) = sends.set_out(id, out);
        let (view, card) = sends.wants(LiveOut::takes_video);
        drop(sends);
        live_out::update(&inner.core, view, card, key);
        Ok(())
    }
}
