//! Every read path against every caller, by role and presence, as `permissions.rs` walks every
//! RPC against every role: GetHearing, WatchHearing (captions and notes), GetCaseRecord,
//! GetTranscript, SearchTranscripts, `/media` (the mix, one's own track, another's track) and
//! VerifyHearingLog, each answered exactly as the read policy's table in hearing-core says.
//! Sequestration: a participant who is invited, waiting, stood down or gone reads nothing of the
//! hearing but their own state. Denials of callers with no standing in the hearing stay out of
//! its log.
use hearing_core::domain::transcript::{Segment, Word};
use hearing_core::domain::{EventPayload, HearingId, ParticipantId, Role};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::{Code, Status};

const SECRET: &str = "the vessel sank in March";
const NOTE: &str = "witness B to be recalled";

/// One caller of the walk.
struct Caller {
    name: &'static str,
    token: String,
    /// The participant whose track is theirs, when they have one.
    own_track: Option<String>,
}

/// What one read gave: `all` (the content), `own` (the caller's own state only), `none` (the
/// call succeeds with nothing of the hearing's content), `no` (PERMISSION_DENIED, 403),
/// `unauth` (UNAUTHENTICATED, 401), `-` (not applicable), or the unexpected answer itself.
fn grpc<T>(r: &Result<T, Status>, ok: impl FnOnce(&T) -> &'static str) -> String {
    match r {
        Ok(v) => ok(v).to_string(),
        Err(s) if s.code() == Code::PermissionDenied => "no".into(),
        Err(s) if s.code() == Code::Unauthenticated => "unauth".into(),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    }
}

fn http(code: u16) -> String {
    match code {
        200 => "all",
        403 => "no",
        401 => "unauth",
        _ => return format!("HTTP {code}"),
    }
    .to_string()
}

/// The whole stream up to the log's `head`, as far as the caller is shown it: `all` when the
/// caption and the note reach them, `own` when only state changes and their own events do.
async fn watched(t: &TestApp, token: &str, hid: &str, head: u64, me: Option<&str>) -> String {
    let mut hs = t.hearings().await;
    let r = hs
        .watch_hearing(authed(
            token,
            pb::WatchHearingRequest {
                hearing_id: hid.into(),
                after_seq: 0,
            },
        ))
        .await;
    let mut st = match r {
        Ok(st) => st.into_inner(),
        Err(e) => return grpc::<()>(&Err(e), |_| unreachable!()),
    };
    let mut events = Vec::new();
    while events.last().map(|e: &pb::HearingEvent| e.seq) != Some(head) {
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), st.message())
            .await
            .expect("the watch stalled before the log's head")
            .expect("watch")
            .expect("the watch ended before the log's head");
        events.push(e);
    }
    use pb::hearing_event::Payload as P;
    let said = |e: &pb::HearingEvent| match &e.payload {
        Some(P::Caption(c)) => c.text == SECRET,
        Some(P::Note(n)) => n.text == NOTE,
        _ => false,
    };
    let theirs_or_state = |e: &pb::HearingEvent| {
        matches!(e.payload, Some(P::StateChanged(_)) | Some(P::Scheduled(_)))
            || me.is_some_and(|me| format!("{:?}", e.payload).contains(me))
    };
    match events.iter().filter(|e| said(e)).count() {
        2 => "all".into(),
        0 if events.iter().all(theirs_or_state) => "own".into(),
        n => format!("{n} of the caption and note, {} events", events.len()),
    }
}

async fn walk(t: &TestApp, s: &Scene, c: &Caller, head: u64, other_track: &str) -> Vec<String> {
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    let mut cases = t.cases().await;
    let mut rec = pb::record_service_client::RecordServiceClient::new(t.channel().await);
    let me = s
        .people
        .iter()
        .find(|(_, _, tok)| *tok == c.token)
        .map(|(_, p, _)| p.id.clone());
    let hearing = hs
        .get_hearing(authed(
            &c.token,
            pb::GetHearingRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await;
    let hearing = grpc(&hearing, |h| {
        let h = h.get_ref();
        match h.participants.len() {
            1 if Some(&h.participants[0].id) == me.as_ref() => "own",
            n if n == s.people.len() + 1 => "all",
            _ => "a roster neither whole nor theirs",
        }
    });
    let watch = watched(t, &c.token, &hid, head, me.as_deref()).await;
    let record = cases
        .get_case_record(authed(
            &c.token,
            pb::GetCaseRecordRequest {
                case_id: s.case.id.clone(),
            },
        ))
        .await;
    let record = grpc(&record, |r| {
        let h = &r.get_ref().hearings[0];
        match (h.events.is_empty(), h.tracks.is_empty(), h.has_transcript) {
            (false, false, true) => "all",
            (true, true, false) => "none",
            _ => "part of the record",
        }
    });
    let transcript = rec
        .get_transcript(authed(
            &c.token,
            pb::GetTranscriptRequest {
                hearing_id: hid.clone(),
                format: pb::TranscriptFormat::Json as i32,
            },
        ))
        .await;
    let transcript = grpc(&transcript, |_| "all");
    let search = rec
        .search_transcripts(authed(
            &c.token,
            pb::SearchTranscriptsRequest {
                query: "vessel sank".into(),
                case_id: String::new(),
                page_size: 0,
            },
        ))
        .await;
    let search = grpc(&search, |r| match r.get_ref().hits.len() {
        0 => "none",
        _ => "all",
    });
    let media = |file: String| {
        let token = c.token.clone();
        let path = format!("/media/{hid}/{file}");
        async move { http(http_get(t.addr, &path, Some(&token)).await.0) }
    };
    let mix = media("recording-0001.mkv".into()).await;
    let own = match &c.own_track {
        Some(p) => media(format!("track-{p}.ogg")).await,
        None => "-".into(),
    };
    let other = media(format!("track-{other_track}.ogg")).await;
    let verify = hs
        .verify_hearing_log(authed(
            &c.token,
            pb::VerifyHearingLogRequest {
                hearing_id: hid.clone(),
            },
        ))
        .await;
    let verify = grpc(&verify, |_| "all");
    vec![
        hearing, watch, record, transcript, search, mix, own, other, verify,
    ]
}

/// A public hearing on the record, with everyone somewhere: counsel and the observer admitted,
/// the prosecutor admitted then stood down, the witness waiting, the party only invited, the
/// expert admitted then gone, the interpreter removed. The clerk has noted, the captioner has
/// captioned, the room has recorded the mix and everyone's track, the transcript is stored; the
/// log ends with going off the record.
async fn hearing_with_everyone_somewhere(t: &TestApp, s: &Scene) -> u64 {
    let hid = HearingId::parse("hearing", &s.hearing.id).unwrap();
    let mut hs = t.hearings().await;
    t.open_on_record(s).await;
    for role in [
        Role::Counsel,
        Role::Observer,
        Role::Prosecutor,
        Role::Expert,
    ] {
        t.join_and_admit(s, role).await;
    }
    let pid = |role: Role| s.participant(role).id.clone();
    hs.stand_down_participant(authed(
        &s.clerk,
        pb::StandDownParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: pid(Role::Prosecutor),
            reason: "to wait outside".into(),
        },
    ))
    .await
    .unwrap();
    hs.leave_hearing(authed(
        s.token(Role::Expert),
        pb::LeaveHearingRequest {
            hearing_id: s.hearing.id.clone(),
            reason: "done".into(),
            disconnected: false,
        },
    ))
    .await
    .unwrap();
    hs.join_hearing(authed(
        s.token(Role::Witness),
        pb::JoinHearingRequest {
            hearing_id: s.hearing.id.clone(),
        },
    ))
    .await
    .unwrap();
    hs.remove_participant(authed(
        &s.judge,
        pb::RemoveParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: pid(Role::Interpreter),
            reason: "disorder".into(),
        },
    ))
    .await
    .unwrap();
    hs.add_note(authed(
        &s.clerk,
        pb::AddNoteRequest {
            hearing_id: s.hearing.id.clone(),
            text: NOTE.into(),
        },
    ))
    .await
    .unwrap();
    t.app
        .add_captions(
            hid,
            vec![EventPayload::Caption {
                participant_id: ParticipantId::parse("p", &pid(Role::Counsel)).ok(),
                speaker: "counsel person (counsel)".into(),
                start_ms: 1000,
                end_ms: 2000,
                text: SECRET.into(),
            }],
        )
        .await
        .unwrap();
    let bytes = |file: &str| format!("the bytes of {file}").into_bytes();
    let mix = "recording-0001.mkv";
    t.logged_media(&s.hearing.id, mix, None, &bytes(mix)).await;
    for (_, p, _) in &s.people {
        let track = format!("track-{}.ogg", p.id);
        t.logged_media(&s.hearing.id, &track, Some(&p.id), &bytes(&track))
            .await;
    }
    let store = t.app.system();
    store.enqueue_job("transcribe", hid, "{}", 3).await.unwrap();
    let job = store
        .claim_job("transcribe", "w", chrono::Duration::seconds(60))
        .await
        .unwrap()
        .expect("the job");
    let segment = Segment {
        start_ms: 1000,
        end_ms: 2000,
        speaker: "counsel person (counsel)".into(),
        text: SECRET.into(),
        words: vec![Word {
            start_ms: 1000,
            end_ms: 1400,
            text: "the".into(),
            p: 0.9,
        }],
    };
    t.app
        .complete_transcription(&job, "w", &sample_transcript(vec![segment]))
        .await
        .unwrap();
    hs.go_off_record(authed(
        &s.judge,
        pb::GoOffRecordRequest {
            hearing_id: s.hearing.id.clone(),
            reason: "recess".into(),
        },
    ))
    .await
    .unwrap()
    .into_inner();
    get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq
}

async fn every_read_by_role_and_presence(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("rp", pb::Visibility::Public).await;
    let other = t.scene("rp-other", pb::Visibility::Public).await;
    let (other_judge, _) = t.staff("judge-rp-2", Role::Judge, "Judge Other").await;
    let (admin, _) = t.staff("admin-rp", Role::Admin, "Admin").await;
    let head = hearing_with_everyone_somewhere(&t, &s).await;

    let staff = |name, token: &str| Caller {
        name,
        token: token.to_string(),
        own_track: None,
    };
    let person = |name, role: Role| Caller {
        name,
        token: s.token(role).to_string(),
        own_track: Some(s.participant(role).id.clone()),
    };
    let callers = [
        staff("presiding judge", &s.judge),
        staff("other judge", &other_judge),
        staff("clerk", &s.clerk),
        staff("admin", &admin),
        person("counsel, admitted", Role::Counsel),
        person("observer, admitted", Role::Observer),
        person("prosecutor, stood down", Role::Prosecutor),
        person("witness, waiting", Role::Witness),
        person("party, invited", Role::Party),
        person("expert, left", Role::Expert),
        person("interpreter, removed", Role::Interpreter),
        staff("another hearing's counsel", other.token(Role::Counsel)),
    ];
    // Hearing, Watch, CaseRecord, Transcript, Search, Mix, OwnTrack, OtherTrack, Verify.
    let sequestered = ["own", "own", "none", "no", "none", "no", "no", "no", "no"];
    let expected: Vec<(&str, [&str; 9])> = vec![
        (
            "presiding judge",
            ["all", "all", "all", "all", "all", "all", "-", "all", "all"],
        ),
        (
            "other judge",
            ["all", "all", "all", "all", "all", "all", "-", "all", "all"],
        ),
        (
            "clerk",
            ["all", "all", "all", "all", "all", "all", "-", "all", "all"],
        ),
        (
            "admin",
            ["no", "no", "none", "no", "no", "no", "-", "no", "all"],
        ),
        (
            "counsel, admitted",
            ["all", "all", "all", "all", "all", "all", "all", "no", "no"],
        ),
        (
            "observer, admitted",
            ["all", "all", "all", "all", "all", "all", "no", "no", "no"],
        ),
        ("prosecutor, stood down", sequestered),
        ("witness, waiting", sequestered),
        ("party, invited", sequestered),
        ("expert, left", sequestered),
        ("interpreter, removed", ["unauth"; 9]),
        (
            "another hearing's counsel",
            ["no", "no", "none", "no", "none", "no", "-", "no", "no"],
        ),
    ];
    let hid = HearingId::parse("hearing", &s.hearing.id).unwrap();
    let log_before = t.app.system().events_after(hid, 0, 1000).await.unwrap();
    let mut got = Vec::new();
    for c in &callers {
        // Another participant's track: counsel's, or (for counsel) the witness's.
        let other_track = if c.own_track.as_deref() == Some(&s.participant(Role::Counsel).id) {
            s.participant(Role::Witness).id.clone()
        } else {
            s.participant(Role::Counsel).id.clone()
        };
        let row = walk(&t, &s, c, head, &other_track).await;
        got.push((c.name, row));
    }
    let expected: Vec<(&str, Vec<String>)> = expected
        .into_iter()
        .map(|(n, row)| (n, row.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(got, expected);

    // The denials of the hearing's own people are in its log; the admin's and the other
    // hearing's counsel's are not (they have no standing in it): those are in the access log.
    let log = t.app.system().events_after(hid, 0, 1000).await.unwrap();
    let denied_by = |name: &str| {
        log[log_before.len()..]
            .iter()
            .filter(|e| e.actor_name == name)
            .count()
    };
    assert!(log[log_before.len()..]
        .iter()
        .all(|e| matches!(e.payload(), Some(EventPayload::Denied { .. }))));
    assert_eq!(
        denied_by("witness person"),
        5,
        "GetTranscript, 3 files, verify"
    );
    assert_eq!(denied_by("Admin"), 0);
    assert_eq!(denied_by(""), 0);
    assert_eq!(denied_by("counsel person"), 2, "another's track, verify");
    t.stop().await;
}

/// A hearing of a sealed case is read by its presiding judge and clerks only; another judge's
/// refusal stays out of its log.
async fn a_sealed_hearing_is_read_by_its_own_court(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("rp-sealed", pb::Visibility::Sealed).await;
    let (other_judge, _) = t.staff("judge-rp-s2", Role::Judge, "Judge Other").await;
    let mut hs = t.hearings().await;
    let get = |token: &str| {
        authed(
            token,
            pb::GetHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        )
    };
    for token in [&s.judge, &s.clerk] {
        hs.get_hearing(get(token)).await.expect("the court reads");
    }
    let before = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq;
    assert_status(
        hs.get_hearing(get(&other_judge)).await,
        Code::PermissionDenied,
        "a sealed hearing is read only by its presiding judge and clerks",
    );
    let after = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq;
    assert_eq!(after, before, "nothing in the sealed hearing's log");
    t.stop().await;
}

/// A caller with no standing is refused as often as they ask, but the access log takes at most
/// the configured number of rows per caller a minute: the rest are only counted.
async fn cross_hearing_denials_are_rate_limited(db: Db) {
    let t = TestApp::start_with(db, |app| app.with_denial_rows_per_minute(3)).await;
    let a = t.scene("rp-a", pb::Visibility::Public).await;
    let b = t.scene("rp-b", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let head = get_hearing(&mut hs, &a.clerk, &a.hearing.id).await.last_seq;
    for _ in 0..10 {
        assert_status(
            hs.get_hearing(authed(
                b.token(Role::Counsel),
                pb::GetHearingRequest {
                    hearing_id: a.hearing.id.clone(),
                },
            ))
            .await,
            Code::PermissionDenied,
            "the invitation is for another hearing",
        );
    }
    assert_eq!(
        get_hearing(&mut hs, &a.clerk, &a.hearing.id).await.last_seq,
        head,
        "nothing in hearing A's log"
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    let rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_denials WHERE target = $1 AND participant_id = $2",
    )
    .bind(&a.hearing.id)
    .bind(&b.participant(Role::Counsel).id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 3);
    t.stop().await;
}

/// The waiting room reads what the court tells it (MessageWaitingRoom, trimmed) and whether the
/// room is locked, live, and still nothing said or noted in the hearing.
async fn the_waiting_room_reads_the_courts_messages(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("waiting", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let mut hs = t.hearings().await;
    t.open(&s).await;
    hs.join_hearing(authed(
        s.token(Role::Witness),
        pb::JoinHearingRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();
    let mut watch = watch_from_start(&mut hs, s.token(Role::Witness), &hid).await;
    let message = |token: &str, text: &str| {
        authed(
            token,
            pb::MessageWaitingRoomRequest {
                hearing_id: hid.clone(),
                text: text.into(),
            },
        )
    };
    // Out of bounds: INVALID_ARGUMENT naming `text`, and nothing in the log.
    let head = get_hearing(&mut hs, &s.clerk, &hid).await.last_seq;
    for bad in ["   ", &"x".repeat(501)] {
        assert_status(
            hs.message_waiting_room(message(&s.clerk, bad)).await,
            Code::InvalidArgument,
            "text",
        );
    }
    assert_status(
        hs.message_waiting_room(message(s.token(Role::Counsel), "hello"))
            .await,
        Code::PermissionDenied,
        "message_waiting_room",
    );
    let after_denial = get_hearing(&mut hs, &s.clerk, &hid).await.last_seq;
    assert_eq!(after_denial, head + 1, "only the denial is logged");

    hs.add_note(authed(
        &s.clerk,
        pb::AddNoteRequest {
            hearing_id: hid.clone(),
            text: NOTE.into(),
        },
    ))
    .await
    .unwrap();
    let sent = hs
        .message_waiting_room(message(&s.judge, "  we start at 10:15 "))
        .await
        .unwrap()
        .into_inner();
    hs.lock_hearing(authed(
        &s.clerk,
        pb::LockHearingRequest {
            hearing_id: hid.clone(),
            locked: true,
            reason: String::new(),
        },
    ))
    .await
    .unwrap();
    use pb::hearing_event::Payload as P;
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(Some(P::RoomLocked(_)))) {
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), watch.message())
            .await
            .expect("the watch stalled")
            .expect("watch")
            .expect("an event");
        seen.push(e.payload);
    }
    assert!(
        seen.contains(&Some(P::WaitingRoomMessage(pb::WaitingRoomMessage {
            text: "we start at 10:15".into()
        }))),
        "{seen:?}"
    );
    assert_eq!(sent.payload, seen.iter().rev().nth(1).cloned().flatten());
    assert!(
        !seen.iter().any(|p| matches!(p, Some(P::Note(_)))),
        "the waiting room read the court's note: {seen:?}"
    );
    t.stop().await;
}

both_dbs!(
    every_read_by_role_and_presence,
    a_sealed_hearing_is_read_by_its_own_court,
    cross_hearing_denials_are_rate_limited,
    the_waiting_room_reads_the_courts_messages
);
