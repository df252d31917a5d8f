//! Done-when 3: admitting, standing down, muting, showing an exhibit and a stalled participant,
//! all while the room runs, without a glitch for the others. Each party is a sine tone of its
//! own frequency, so the mix can be taken apart again.
mod common;

use std::time::Duration;

use anyhow::Result;
use common::*;
use recorder::state::Event;
use recorder::{Manifest, ParticipantId, Role, Room, RoomConfig, Source};

/// Windows of `power` between `a` and `b` s, excluding 0.3 s around each edge.
fn between(power: &[f64], a: f64, b: f64) -> &[f64] {
    let i = ((a + 0.3) / WIN).round() as usize;
    let j = (((b - 0.3) / WIN).round() as usize).min(power.len());
    &power[i..j]
}
const PRESENT: f64 = 0.002; // a 0.2-amplitude sine is ~0.01
const ABSENT: f64 = 0.0002;

/// When `power` first shows the tone at or after `after` s (a participant is heard once their
/// decoder has started, which a loaded machine delays by over a second), checked to be within
/// three seconds of it.
fn heard_from(power: &[f64], after: f64) -> f64 {
    let first = (after / WIN).round() as usize;
    let i = (first..power.len())
        .find(|&i| power[i] > PRESENT)
        .unwrap_or_else(|| panic!("never heard after {after} s: {power:?}"));
    let t = i as f64 * WIN;
    assert!(t - after <= 3.0, "heard from {t} s, joined at {after} s");
    t
}

/// Windows of `power` from `from` (a time [`heard_from`] gave) to `b` s less 0.3 s.
fn since(power: &[f64], from: f64, b: f64) -> &[f64] {
    between(power, from - 0.3, b)
}

fn all_present(p: &[f64]) -> bool {
    !p.is_empty() && p.iter().all(|x| *x > PRESENT)
}
fn all_absent(p: &[f64]) -> bool {
    !p.is_empty() && p.iter().all(|x| *x < ABSENT)
}

#[test]
fn changes_while_running_do_not_disturb_the_others() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let src = |name: &str, f: u32, secs: f64| -> Result<Source> {
        Ok(Source {
            audio: tone(d, name, f, secs)?,
            video: None,
        })
    };
    let (judge, counsel, witness, late) = (
        ParticipantId::parse("judge")?,
        ParticipantId::parse("counsel")?,
        ParticipantId::parse("witness")?,
        ParticipantId::parse("late")?,
    );
    let exhibit = image(d)?;
    let out = d.join("rec");
    let mut cfg = RoomConfig::new(&out);
    cfg.segment = Duration::from_secs(4);
    cfg.stall_after = Duration::from_secs(1);
    let (room, events) = Room::start(cfg)?;
    room.add(&judge, "Judge", Role::Judge, &src("judge", 440, 30.0)?)?;
    room.add(
        &counsel,
        "Counsel",
        Role::Counsel,
        &src("counsel", 660, 30.0)?,
    )?;
    room.add(
        &witness,
        "Witness",
        Role::Witness,
        &src("witness", 880, 30.0)?,
    )?;
    for p in [&judge, &counsel, &witness] {
        room.admit(p)?;
    }
    // a participant whose media stops after 1 s: they stall, the room goes on
    let late_src = src("late", 1100, 1.0)?;
    wait_until(&room, 2.0);
    room.add(&late, "Late", Role::Party, &late_src)?;
    room.admit(&late)?;
    wait_until(&room, 3.0);
    room.mute_because(&counsel, "muted by the court")?;
    wait_until(&room, 4.0);
    room.show_exhibit("A1", &exhibit)?;
    wait_until(&room, 5.0);
    room.stand_down(&witness)?;
    wait_until(&room, 6.5);
    room.unmute(&counsel)?;
    wait_until(&room, 7.0);
    room.admit(&witness)?;
    wait_until(&room, 8.0);
    room.hide_exhibit()?;
    wait_until(&room, 9.0);
    room.remove(&late)?;
    wait_until(&room, 10.0);
    room.stop()?;

    let evs: Vec<Event> = events.try_iter().collect();
    let errors: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e, Event::MediaError { .. } | Event::RecordingFault { .. }))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let stalled: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Stalled { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        stalled,
        vec!["late"],
        "only the participant whose media stopped stalls"
    );
    for kind in [
        "Muted",
        "Unmuted",
        "StoodDown",
        "ExhibitShown",
        "ExhibitHidden",
        "Removed",
        "Stopped",
    ] {
        assert!(
            evs.iter().any(|e| format!("{e:?}").starts_with(kind)),
            "no {kind} event"
        );
    }

    // Each change is checked from when the room made it (its events' times on the hearing clock),
    // not from when the test asked for it: a slow machine moves both the change and the media.
    let at = |what: &str, pick: &dyn Fn(&Event) -> Option<Duration>| -> f64 {
        evs.iter()
            .find_map(pick)
            .unwrap_or_else(|| panic!("no {what} event"))
            .as_secs_f64()
    };
    let added = |who: &ParticipantId| {
        at("ParticipantAdded", &|e| match e {
            Event::ParticipantAdded { id, at, .. } if id == who => Some(*at),
            _ => None,
        })
    };
    let late_added = added(&late);
    let muted = at("Muted", &|e| match e {
        Event::Muted { at, .. } => Some(*at),
        _ => None,
    });
    let unmuted = at("Unmuted", &|e| match e {
        Event::Unmuted { at, .. } => Some(*at),
        _ => None,
    });
    let stood_down = at("StoodDown", &|e| match e {
        Event::StoodDown { at, .. } => Some(*at),
        _ => None,
    });
    let readmitted = at("witness readmitted", &|e| match e {
        Event::Admitted { id, at } if *id == witness && at.as_secs_f64() > stood_down => Some(*at),
        _ => None,
    });
    let removed = at("Removed", &|e| match e {
        Event::Removed { at, .. } => Some(*at),
        _ => None,
    });
    let stopped = at("Stopped", &|e| match e {
        Event::Stopped { at } => Some(*at),
        _ => None,
    });

    let m = Manifest::load(&out)?.expect("manifest");
    assert!(recorder::verify(&out)?.is_intact());
    // the recording is continuous: segments follow each other and video frames never pause
    let mixes = mix_files(&m);
    let mut covered = 0.0;
    let mut prev_end: Option<f64> = None;
    for f in &mixes {
        let path = out.join(&f.file);
        decodes_cleanly(&path)?;
        let times = video_packet_times(&path)?;
        let start = f.start_ms as f64 / 1000.0;
        let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        assert!(worst < 0.15, "{}: video pauses for {worst:.3} s", f.file);
        if let Some(p) = prev_end {
            assert!(
                (start + times[0] - p).abs() < 0.15,
                "{}: hole before it",
                f.file
            );
        }
        prev_end = Some(start + times.last().unwrap() + 1.0 / 15.0);
        covered += probe(&path)?.duration;
    }
    let span = stopped - mixes[0].start_ms as f64 / 1000.0;
    assert!(
        (covered - span).abs() <= 0.5,
        "recorded {covered} s of {span} s"
    );

    let mix = timeline(&out, &mixes)?;
    let mix_pcm = slice(&mix, 0.0, stopped);
    let judge_in_mix = tone_power(&mix_pcm, 440.0);
    let judge_from = heard_from(&judge_in_mix, added(&judge));
    assert!(
        all_present(since(&judge_in_mix, judge_from, stopped)),
        "the judge is heard without a break: {judge_in_mix:?}"
    );
    let counsel_in_mix = tone_power(&mix_pcm, 660.0);
    let counsel_from = heard_from(&counsel_in_mix, added(&counsel));
    assert!(all_present(since(&counsel_in_mix, counsel_from, muted)));
    assert!(
        all_absent(between(&counsel_in_mix, muted, unmuted)),
        "muted counsel is out of the mix"
    );
    assert!(all_present(between(&counsel_in_mix, unmuted, stopped)));
    let witness_in_mix = tone_power(&mix_pcm, 880.0);
    assert!(
        all_absent(between(&witness_in_mix, stood_down, readmitted)),
        "stood-down witness is out of the mix"
    );
    assert!(all_present(between(&witness_in_mix, readmitted, stopped)));

    let track = |id: &str, f: f64| -> Result<Vec<f64>> {
        let t = timeline(&out, &track_files(&m, id))?;
        Ok(tone_power(&slice(&t, 0.0, stopped), f))
    };
    let c = track("counsel", 660.0)?;
    assert!(
        all_present(since(&c, heard_from(&c, added(&counsel)), muted))
            && all_present(between(&c, unmuted, stopped)),
        "counsel's own track has them while unmuted: {c:?}"
    );
    assert!(
        all_absent(between(&c, muted, unmuted)),
        "nothing of muted counsel is kept on their own track: {c:?}"
    );
    let gaps: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::TrackGap {
                id,
                from,
                to,
                reason,
            } => Some((
                id.as_str(),
                from.as_secs_f64(),
                to.as_secs_f64(),
                reason.as_str(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        gaps,
        [("counsel", muted, unmuted, "muted by the court")],
        "the mute is one cut on counsel's track, with its reason"
    );
    let w = track("witness", 880.0)?;
    assert!(
        all_present(since(&w, heard_from(&w, added(&witness)), stood_down))
            && all_present(between(&w, readmitted, stopped))
    );
    assert!(
        all_absent(between(&w, stood_down, readmitted)),
        "a stood-down witness's track is silent"
    );
    let l = track("late", 1100.0)?;
    // their one second of media
    let late_from = heard_from(&l, late_added);
    assert!(
        all_present(since(&l, late_from, late_from + 1.0)),
        "late joiner's track starts when they join"
    );
    assert!(
        all_absent(between(&l, late_from + 1.2, removed)),
        "stalled: silence filled in"
    );
    let late_files = track_files(&m, "late");
    let late_end = late_files.iter().map(|f| f.end_ms).max().unwrap_or(0);
    assert!(
        late_end as f64 >= (removed - 0.2) * 1000.0,
        "the stalled track goes on until removal, ends at {late_end} ms"
    );
    Ok(())
}
