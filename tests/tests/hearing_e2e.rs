//! A whole hearing over WebRTC, end to end: the real `opencourt serve` (with its in-process
//! transcription worker and the real tiny.en model) and four real `opencourt bot` processes — the
//! presiding judge signed in with a password, counsel, a party and a witness invited — sending
//! espeak-ng speech. The witness waits until admitted; a recess goes off the record in the middle
//! while the party speaks; the witness's connection drops for 5 s and comes back. After
//! adjournment the case record must have: a playable recording of the on-record time and not the
//! recess, four participants' tracks, and a transcript with each speaker's words under their name,
//! starting between times the server logged around when they were spoken, and the recess's words
//! nowhere; `opencourt verify` passes, and fails once one byte of a segment changes.
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hearing_core::domain::events::MediaKind;
use hearing_core::domain::{EventPayload, HearingId, HearingState};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;
use tonic::transport::Channel;

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);
/// Each bot's file is a sequence of slots of this many seconds, each a phrase or silence.
const SLOT_S: u64 = 8;
/// The presiding judge's password (`TestApp::staff`).
const PASSWORD: &str = "pw-judge-e2e-0123456789";

const JUDGE: &str =
    "This court is now in session. We will hear the application about the shipping log.";
const COUNSEL: &str = "We ask the court to accept the shipping records as evidence.";
const PARTY_BEFORE: &str = "I am the owner of the vessel and I signed the contract in March.";
const PARTY_RECESS: &str = "During the break we should order lunch and coffee.";
const PARTY_AFTER: &str = "After the recess I confirm that the cargo was insured.";
const WITNESS: &str = "I saw the ship leave the harbor at dawn before the storm.";

fn script(dir: &Path, name: &str, slots: &[Option<&str>]) -> PathBuf {
    opencourt::cli::loadtest::speech_script(dir, name, SLOT_S, slots).expect("espeak-ng and sox")
}

async fn invite(
    hs: &mut HearingServiceClient<Channel>,
    s: &Scene,
    name: &str,
    role: pb::Role,
) -> String {
    hs.invite_participant(authed(
        &s.clerk,
        pb::InviteParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            display_name: name.into(),
            role: role as i32,
        },
    ))
    .await
    .unwrap()
    .into_inner()
    .code
}

/// When a phrase began, on the hearing clock the log keeps: no earlier than `from_ms`, a server
/// event that must precede it, and no later than `by_ms` (a note taken once the bot said its file
/// was playing, plus the phrase's place in the file, plus 1 s).
#[derive(Clone, Copy, Debug)]
struct Bounds {
    from_ms: i64,
    by_ms: i64,
}

/// What `speaker` said in the phrase's slot — segments from 1 s before `b.from_ms` to the end of
/// the slot that starts by `b.by_ms` less 1 s — and when their first segment there began.
fn spoken(t: &pb::Transcript, speaker: &str, b: Bounds) -> (String, Option<i64>) {
    let mut text = String::new();
    let mut first = None;
    let slot_ms = SLOT_S as i64 * 1000;
    for s in &t.segments {
        let start = s.start_ms as i64;
        if s.speaker == speaker && start >= b.from_ms - 1_000 && start < b.by_ms + slot_ms - 2_000 {
            first.get_or_insert(start);
            text.push_str(&s.text);
            text.push(' ');
        }
    }
    (text, first)
}

/// Bounds on each phrase's word error rate and on all six together (tiny.en on espeak-ng speech
/// through Opus and the network, which varies from run to run). Measured in three runs: one
/// phrase at worst 4 words wrong of 10 (0.4, the party's "the cargo was" heard as "the car got
/// one"; counsel's 4 of 11 twice), all six at worst 11 of 74 (0.149; 0.135 the other full run).
/// A phrase may have one word more wrong than the worst seen, all six together three more.
const PHRASE_WER: f64 = 0.5;
const OVERALL_WER: f64 = 0.19;

/// What `speaker` said in the slot of `phrase` bounded by `b`: the errors against it, and where
/// their first segment there began.
fn said(
    t: &pb::Transcript,
    speaker: &str,
    phrase: &str,
    b: Bounds,
) -> (speech::Tally, Option<i64>) {
    let (text, first) = spoken(t, speaker, b);
    let tally = speech::Tally::of(phrase, &text);
    eprintln!(
        "accuracy, {speaker} from {first:?} ms (bounds {}-{} ms): WER {:.3} ({} of {}): {text}",
        b.from_ms,
        b.by_ms,
        tally.rate(),
        tally.errors,
        tally.words
    );
    (tally, first)
}

fn playable(path: &Path) -> bool {
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(path)
        .output()
        .expect("gst-discoverer-1.0");
    out.status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_hearing_over_webrtc_lands_on_the_case_record() {
    let mut t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("e2e", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let dir = t.dir.path().to_path_buf();
    let data = data_dir_with_tiny_en(&dir);
    let slot = |n: u64| Duration::from_secs(n * SLOT_S);
    let judge_wav = script(&dir, "judge", &[Some(JUDGE)]);
    let counsel_wav = script(&dir, "counsel", &[Some(COUNSEL)]);
    let party_wav = script(
        &dir,
        "party",
        &[
            Some(PARTY_BEFORE),
            None,
            Some(PARTY_RECESS),
            None,
            Some(PARTY_AFTER),
        ],
    );
    let witness_wav = script(&dir, "witness", &[Some(WITNESS)]);

    // The real server takes over from the in-process one, on the same database.
    let mut hs = t.hearings().await;
    let codes = [
        invite(&mut hs, &s, "Counsel Chen", pb::Role::Counsel).await,
        invite(&mut hs, &s, "Party Zhao", pb::Role::Party).await,
        invite(&mut hs, &s, "Witness Sun", pb::Role::Witness).await,
    ];
    t.stop_server().await;
    let server = ServerProcess::start(&t.database_url, &data);
    let mut hs = HearingServiceClient::new(server.channel().await);
    let judge_req = |hid: &str| pb::OpenHearingRequest {
        hearing_id: hid.to_string(),
    };
    hs.open_hearing(authed(&s.judge, judge_req(&hid)))
        .await
        .unwrap();
    hs.go_on_record(authed(
        &s.judge,
        pb::GoOnRecordRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;

    // When a bot says its file is playing, the judge notes it at once through the API; the note's
    // clock_ms is on the hearing clock the log keeps, so each phrase is checked against times the
    // server logged, never the bots' wall clocks. The note can only come after the file started
    // playing, so it bounds the speech from above, and a note that comes late only widens that
    // bound (it cannot make a correct transcript fail).
    let hs_note = hs.clone();
    let note = |text: &str| {
        let mut hs = hs_note.clone();
        let req = authed(
            &s.judge,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: text.into(),
            },
        );
        async move { hs.add_note(req).await.unwrap().into_inner().clock_ms }
    };
    let judge_login = [
        "--user",
        "judge-e2e",
        "--password-env",
        "OC_TEST_JUDGE_PASSWORD",
    ];
    let mut judge = BotProcess::start(
        "judge",
        server.addr,
        &[&judge_login[..], &["--hearing", &hid]].concat(),
        &judge_wav,
        PASSWORD,
    );
    judge.connected().await;
    let judge_noted = note("the judge is connected").await;
    let mut counsel = BotProcess::start(
        "counsel",
        server.addr,
        &["--invite", &codes[0], "--hearing", &hid],
        &counsel_wav,
        PASSWORD,
    );
    let mut party = BotProcess::start(
        "party",
        server.addr,
        &["--invite", &codes[1], "--hearing", &hid],
        &party_wav,
        PASSWORD,
    );
    let mut witness = BotProcess::start(
        "witness",
        server.addr,
        &[
            "--invite",
            &codes[2],
            "--hearing",
            &hid,
            "--drop-after",
            "10",
            "--drop-for",
            "5",
        ],
        &witness_wav,
        PASSWORD,
    );
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for b in [&mut counsel, &mut party, &mut witness] {
            let line = b.until("joined as ").await;
            assert!(line.ends_with("(PRESENCE_WAITING)"), "{line}");
            ids.push(
                line["joined as ".len()..]
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        ids
    };
    let hs_admit = hs.clone();
    let admit = |id: &str| {
        let mut hs = hs_admit.clone();
        let req = authed(
            &s.judge,
            pb::AdmitParticipantRequest {
                hearing_id: hid.clone(),
                participant_id: id.to_string(),
            },
        );
        async move { hs.admit_participant(req).await.unwrap() }
    };
    admit(&ids[0]).await;
    admit(&ids[1]).await;
    counsel.connected().await;
    let counsel_noted = note("counsel is connected").await;
    let party_at = party.connected().await;
    let party_noted = note("the party is connected").await;

    // The recess: off the record while the party says slot 2, back on before slot 4.
    tokio::time::sleep_until(
        tokio::time::Instant::now() + until(party_at + slot(1) + Duration::from_secs(3)),
    )
    .await;
    hs.go_off_record(authed(
        &s.judge,
        pb::GoOffRecordRequest {
            hearing_id: hid.clone(),
            reason: "recess".into(),
        },
    ))
    .await
    .unwrap();
    tokio::time::sleep_until(
        tokio::time::Instant::now() + until(party_at + slot(3) + Duration::from_secs(4)),
    )
    .await;
    hs.go_on_record(authed(
        &s.judge,
        pb::GoOnRecordRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();

    // The witness has waited all along; admitted now, speaks, drops for 5 s, comes back.
    admit(&ids[2]).await;
    witness.until("admitted").await;
    witness.connected().await;
    let witness_noted = note("the witness is connected").await;
    witness.until("dropped the connection").await;
    witness.until("reconnected").await;
    let witness_again = witness.connected().await;
    let witness_again_noted = note("the witness is connected again").await;
    tokio::time::sleep_until(
        tokio::time::Instant::now() + until(witness_again.max(party_at + slot(5)) + slot(1)),
    )
    .await;

    hs.adjourn_hearing(authed(
        &s.judge,
        pb::AdjournHearingRequest {
            hearing_id: hid.clone(),
            reason: "evidence heard".into(),
        },
    ))
    .await
    .unwrap();
    for b in [&mut judge, &mut counsel, &mut party, &mut witness] {
        b.until("done: the hearing ended").await;
        let st = tokio::time::timeout(PATIENCE, b.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(st.success(), "{} exited with {st}", b.name);
    }

    // The transcript lands on the case record (the in-process worker, real whisper).
    let id = HearingId::parse("id", &hid).unwrap();
    until_transcript_stored(&mut watch).await;
    drop(watch);

    let events = t.app.system().events_after(id, 0, u32::MAX).await.unwrap();
    let state_at = |want: HearingState, nth: usize| {
        events
            .iter()
            .filter(|e| matches!(e.payload(), Some(EventPayload::StateChanged { to, .. }) if to == want))
            .nth(nth)
            .map(|e| e.clock_ms)
            .unwrap_or_else(|| panic!("no {want:?} #{nth}"))
    };
    let (on1, off, on2, end) = (
        state_at(HearingState::OnRecord, 0),
        state_at(HearingState::OffRecord, 0),
        state_at(HearingState::OnRecord, 1),
        state_at(HearingState::Adjourned, 0),
    );
    let media: Vec<_> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventPayload::MediaClosed {
                kind,
                file,
                participant_id,
                start_ms,
                end_ms,
                duration_ms,
                ..
            }) => Some((
                kind,
                file,
                participant_id,
                start_ms as i64,
                end_ms as i64,
                duration_ms as i64,
            )),
            _ => None,
        })
        .collect();
    let media_dir = data.join("media").join(&hid);

    // The recording: playable segments covering the on-record time, none of the recess.
    let segments: Vec<_> = media.iter().filter(|m| m.0 == MediaKind::Segment).collect();
    assert!(!segments.is_empty());
    let mut recorded = 0;
    for (_, file, _, start, stop, dur) in &segments {
        assert!(playable(&media_dir.join(file)), "{file} is not playable");
        assert!(
            *stop <= off + 500 || *start >= on2 - 500,
            "{file} ({start}-{stop} ms) is in the recess {off}-{on2}"
        );
        recorded += dur;
    }
    let on_record = (off - on1) + (end - on2);
    assert!(
        (recorded - on_record).abs() <= 1_500,
        "{recorded} ms recorded, {on_record} ms on the record"
    );
    // never a hole in the recording while on the record (the witness's drop included)
    let mut spans: Vec<(i64, i64)> = segments.iter().map(|m| (m.3, m.4)).collect();
    spans.sort();
    for w in spans.windows(2) {
        let hole = w[1].0 - w[0].1;
        assert!(
            hole <= 500 || (w[0].1 <= off + 500 && w[1].0 >= on2 - 500),
            "a hole in the recording: {w:?}"
        );
    }

    // the recess is a gap in the recording, with its reason, in the log
    assert!(
        events.iter().any(|e| matches!(e.payload(),
            Some(EventPayload::RecordingGap { from_ms, to_ms, reason, .. })
                if reason == "recess" && (from_ms as i64 - off).abs() <= 500 && (to_ms as i64 - on2).abs() <= 500)),
        "no RecordingGap for the recess"
    );

    // Four participants' tracks, none in the recess.
    let tracks: std::collections::BTreeSet<String> = media
        .iter()
        .filter(|m| m.0 == MediaKind::Track)
        .map(|m| {
            assert!(
                m.4 <= off + 500 || m.3 >= on2 - 500,
                "{} is in the recess",
                m.1
            );
            assert!(playable(&media_dir.join(&m.1)), "{} is not playable", m.1);
            m.2.expect("a participant's track").to_string()
        })
        .collect();
    assert_eq!(tracks.len(), 4, "{tracks:?}");
    for id in &ids {
        assert!(tracks.contains(id), "no track for {id}");
    }

    // The transcript: each phrase under its speaker, starting between two times the server
    // logged; the recess nowhere.
    let transcript = stored_transcript(server.channel().await, &s.clerk, &hid).await;
    let admitted = |who: &str| {
        events
            .iter()
            .find(|e| {
                matches!(e.payload(), Some(EventPayload::Admitted { participant_id })
                    if participant_id.to_string() == who)
            })
            .map(|e| e.clock_ms)
            .unwrap_or_else(|| panic!("no Admitted for {who} on the log"))
    };
    let slot_ms = |n: i64| n * SLOT_S as i64 * 1000;
    // From below: a bot's file starts playing no sooner than the server admits it (the judge,
    // staff without a participant entry, no sooner than the hearing went on the record, just
    // before the judge's bot started), and plays in real time. The witness's file starts again
    // when they reconnect, after their own 10 s before the drop and 5 s away.
    // From above: the note taken when the bot said its file was playing, plus the phrase's place
    // in the file, plus 1 s.
    let within = |from_ms: i64, noted_ms: i64, offset_ms: i64| Bounds {
        from_ms,
        by_ms: noted_ms + offset_ms + 1_000,
    };
    let phrases = [
        ("Judge Wang (Judge)", JUDGE, within(on1, judge_noted, 0)),
        (
            "Counsel Chen (Counsel)",
            COUNSEL,
            within(admitted(&ids[0]), counsel_noted, 0),
        ),
        (
            "Party Zhao (Party)",
            PARTY_BEFORE,
            within(admitted(&ids[1]), party_noted, 0),
        ),
        (
            "Party Zhao (Party)",
            PARTY_AFTER,
            within(admitted(&ids[1]) + slot_ms(4), party_noted, slot_ms(4)),
        ),
        (
            "Witness Sun (Witness)",
            WITNESS,
            within(admitted(&ids[2]), witness_noted, 0),
        ),
        (
            "Witness Sun (Witness)",
            WITNESS,
            within(admitted(&ids[2]) + 15_000, witness_again_noted, 0),
        ),
    ];
    // All measured first, so a failure shows every phrase's figures.
    let heard: Vec<_> = phrases
        .iter()
        .map(|&(who, phrase, b)| said(&transcript, who, phrase, b))
        .collect();
    let overall: speech::Tally = heard.iter().map(|h| h.0).sum();
    eprintln!(
        "accuracy, overall: WER {:.3} ({} of {})",
        overall.rate(),
        overall.errors,
        overall.words
    );
    let listed: Vec<_> = transcript
        .segments
        .iter()
        .map(|s| (s.start_ms, s.end_ms, &s.speaker, &s.text))
        .collect();
    for (&(who, phrase, b), (tally, first)) in phrases.iter().zip(&heard) {
        assert!(
            first.is_some_and(|f| b.from_ms <= f && f <= b.by_ms),
            "{who}: {phrase:?} starts at {first:?} ms, not in {b:?}\nsegments: {listed:#?}"
        );
        assert!(
            tally.rate() <= PHRASE_WER,
            "{who} in {b:?}: {tally:?} in {phrase:?}\nsegments: {listed:#?}"
        );
    }
    assert!(
        overall.rate() <= OVERALL_WER,
        "{overall:?} of the spoken words wrong"
    );
    let all: String = transcript
        .segments
        .iter()
        .map(|s| s.text.to_lowercase() + " ")
        .collect();
    for w in ["lunch", "coffee", "break"] {
        assert!(
            !all.contains(w),
            "the recess's {w:?} is in the transcript: {all}"
        );
    }
    for seg in &transcript.segments {
        assert!(
            (seg.end_ms as i64) <= off + 500 || (seg.start_ms as i64) >= on2 - 500,
            "a transcript segment in the recess: {seg:?}"
        );
    }

    // Live captions: each speaker's words reached watchers during the hearing, none of the
    // recess's. (The delays are printed for the record, never asserted.)
    let adjourned_seq = events
        .iter()
        .find(|e| {
            matches!(
                e.payload(),
                Some(EventPayload::StateChanged {
                    to: HearingState::Adjourned,
                    ..
                })
            )
        })
        .map(|e| e.seq)
        .unwrap();
    let captions: Vec<_> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventPayload::Caption {
                speaker,
                start_ms,
                end_ms,
                text,
                ..
            }) => Some((
                e.seq,
                e.clock_ms,
                speaker,
                start_ms as i64,
                end_ms as i64,
                text,
            )),
            _ => None,
        })
        .collect();
    for who in [
        "Judge Wang (Judge)",
        "Counsel Chen (Counsel)",
        "Party Zhao (Party)",
        "Witness Sun (Witness)",
    ] {
        assert!(
            captions.iter().any(|c| c.2 == who && c.0 < adjourned_seq),
            "no live caption from {who} before adjournment: {captions:#?}"
        );
    }
    for c in &captions {
        let text = c.5.to_lowercase();
        assert!(
            !text.contains("lunch") && !text.contains("coffee"),
            "a caption from the recess: {c:?}"
        );
        assert!(
            c.4 <= off + 500 || c.3 >= on2 - 500,
            "a caption in the recess: {c:?}"
        );
    }
    let mut delays: Vec<i64> = captions.iter().map(|c| c.1 - c.4).collect();
    delays.sort();
    let stored_at = events
        .iter()
        .find(|e| matches!(e.payload(), Some(EventPayload::TranscriptStored { .. })))
        .map(|e| e.clock_ms)
        .unwrap();
    eprintln!(
        "captions: {} (delay after the last word: median {} ms, max {} ms); transcript stored {} ms after adjournment",
        captions.len(),
        delays[delays.len() / 2],
        delays[delays.len() - 1],
        stored_at - end
    );

    // The witness kept their identity and role through the drop: still admitted, one join.
    let h = get_hearing(&mut hs, &s.judge, &hid).await;
    let w = h
        .participants
        .iter()
        .find(|p| p.id == ids[2])
        .expect("the witness");
    assert_eq!(w.role(), pb::Role::Witness);
    let joins = events
        .iter()
        .filter(|e| matches!(e.payload(), Some(EventPayload::Joined { participant_id, .. }) if participant_id.to_string() == ids[2]))
        .count();
    assert_eq!(joins, 1, "the witness joined again instead of reconnecting");

    // verify: the chain, every file's hash, the transcript; one byte changed is caught.
    let (ok, out) = verify_hearing(&t.database_url, &data, &hid);
    assert!(ok, "verify failed on an untouched record:\n{out}");
    let victim = media_dir.join(&segments[0].1);
    let mut bytes = std::fs::read(&victim).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(&victim, &bytes).unwrap();
    let (ok, out) = verify_hearing(&t.database_url, &data, &hid);
    assert!(!ok, "verify passed with a changed segment:\n{out}");
    assert!(out.contains(segments[0].1.as_str()), "{out}");
    server.kill9();
}

/// How long from now until `t` (zero when past).
fn until(t: DateTime<Utc>) -> Duration {
    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}
