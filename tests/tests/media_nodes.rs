//! At scale: two media nodes (`opencourt serve --no-worker`) and one `opencourt worker` share one
//! PostgreSQL and one media directory. The hearing's room runs on the node that opened it (its
//! lease); a participant who asks the other node is told where the media runs. When that node is
//! killed (-9), the other takes the hearing over once the lease runs out: the recording goes on
//! in the same directory on the same hearing clock, the gap is in the log, commands taken by
//! either node reach the room, and after adjournment the worker's transcript is on the record
//! and `opencourt verify` passes.
use std::path::Path;
use std::time::Duration;

use hearing_core::domain::{EventPayload, HearingId};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;

const PASSWORD: &str = "pw-judge-nodes-0123456789";

fn speak(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    opencourt::cli::loadtest::speech_script(dir, name, 6, &[Some(text)]).expect("espeak-ng and sox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_media_nodes_hearing_is_taken_over_by_another() {
    let mut t = TestApp::start(Db::Postgres).await;
    let s = t.scene("nodes", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let dir = t.dir.path().to_path_buf();
    let data = data_dir_with_tiny_en(&dir);
    let code = t
        .hearings()
        .await
        .invite_participant(authed(
            &s.clerk,
            pb::InviteParticipantRequest {
                hearing_id: hid.clone(),
                display_name: "Counsel Chen".into(),
                role: pb::Role::Counsel as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .code;
    t.stop_server().await;
    let node = |name: &str| {
        ServerProcess::start_with(
            &t.database_url,
            &data,
            &[
                "--node-name",
                name,
                "--media-lease-secs",
                "3",
                "--no-worker",
            ],
        )
    };
    let (a, b) = (node("node-a"), node("node-b"));
    let mut worker = tokio::process::Command::new(opencourt_bin())
        .args(["worker", "--database-url", &t.database_url])
        .arg("--data")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("opencourt worker");

    // Node A opens the hearing: its room, its lease.
    let mut on_a = HearingServiceClient::new(a.channel().await);
    let mut on_b = HearingServiceClient::new(b.channel().await);
    let hearing_req = || pb::OpenHearingRequest {
        hearing_id: hid.clone(),
    };
    on_a.open_hearing(authed(&s.judge, hearing_req()))
        .await
        .unwrap();
    on_a.go_on_record(authed(
        &s.judge,
        pb::GoOnRecordRequest {
            hearing_id: hid.clone(),
        },
    ))
    .await
    .unwrap();
    let judge_login = [
        "--user",
        "judge-nodes",
        "--password-env",
        "OC_TEST_JUDGE_PASSWORD",
        "--hearing",
        &hid,
    ];
    let judge_wav = speak(
        &dir,
        "judge",
        "The court is now in session on the first node.",
    );
    let counsel_wav = speak(
        &dir,
        "counsel",
        "Counsel for the claimant is ready to proceed.",
    );
    let resumed_wav = speak(
        &dir,
        "judge2",
        "We continue on the second node after the failure.",
    );

    // Asking node B for the media: told where it runs.
    let wrong = tokio::process::Command::new(opencourt_bin())
        .args(["bot", "--server", &format!("http://{}", b.addr)])
        .args(["--ice-local-address", "127.0.0.1"])
        .args(judge_login)
        .arg("--audio")
        .arg(&judge_wav)
        .env("OC_TEST_JUDGE_PASSWORD", PASSWORD)
        .env("RUST_LOG", "error")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), wrong)
        .await
        .unwrap()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && said.contains("node-a"), "{said}");

    // On node A: the judge and counsel (admitted through node B's API) speak.
    let mut judge = BotProcess::start("judge@a", a.addr, &judge_login, &judge_wav, PASSWORD);
    judge.until("audio sent ").await;
    let mut counsel = BotProcess::start(
        "counsel@a",
        a.addr,
        &["--invite", &code, "--hearing", &hid],
        &counsel_wav,
        PASSWORD,
    );
    let line = counsel.until("joined as ").await;
    let counsel_id = line["joined as ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    on_b.admit_participant(authed(
        &s.judge,
        pb::AdmitParticipantRequest {
            hearing_id: hid.clone(),
            participant_id: counsel_id.clone(),
        },
    ))
    .await
    .unwrap();
    // counsel's file starts playing as they connect: the judge notes it at once, on the
    // hearing clock the log keeps (a note that comes late only widens the check)
    counsel.until("connected at ").await;
    let connected_ms = on_b
        .add_note(authed(
            &s.judge,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text: "counsel is connected".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .clock_ms;
    counsel.until("audio sent ").await;

    // Node A dies. After its lease (3 s) node B takes the hearing over.
    a.kill9();
    drop((judge, counsel));
    let id = HearingId::parse("id", &hid).unwrap();
    wait_until(
        "node A's media lease to run out",
        Duration::from_secs(60),
        || async {
            let lease = t.app.system().media_lease(id).await.unwrap();
            lease.is_none_or(|l| l.expires_at < chrono::Utc::now().timestamp_millis())
        },
    )
    .await;
    let mut judge = BotProcess::start("judge@b", b.addr, &judge_login, &resumed_wav, PASSWORD);
    judge.until("audio sent ").await;
    let mut watch = watch_from_start(&mut on_b, &s.judge, &hid).await;
    on_b.adjourn_hearing(authed(
        &s.judge,
        pb::AdjournHearingRequest {
            hearing_id: hid.clone(),
            reason: "done".into(),
        },
    ))
    .await
    .unwrap();
    judge.until("done: the hearing ended").await;
    until_transcript_stored(&mut watch).await;
    drop(watch);

    let events = t.app.system().events_after(id, 0, u32::MAX).await.unwrap();
    let gap = mix_gaps(&events).into_iter().next();
    let (from_ms, to_ms, reason) = gap.expect("the takeover's gap in the log");
    assert!(reason.contains("restarted"), "{reason}");
    assert!(to_ms > from_ms, "{from_ms}-{to_ms}");
    // segments from both nodes, on one clock: some end before the gap, some start after it
    let segments: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(EventPayload::MediaClosed {
                kind: hearing_core::domain::events::MediaKind::Segment,
                start_ms,
                end_ms,
                ..
            }) => Some((start_ms, end_ms)),
            _ => None,
        })
        .collect();
    assert!(segments.iter().any(|s| s.1 <= to_ms), "{segments:?}");
    assert!(segments.iter().any(|s| s.0 >= to_ms), "{segments:?}");

    let transcript = t
        .app
        .system()
        .transcript(id)
        .await
        .unwrap()
        .expect("transcript");
    let text = |who: &str| -> String {
        transcript
            .segments
            .iter()
            .filter(|s| s.speaker.starts_with(who))
            .map(|s| s.text.to_lowercase())
            .collect()
    };
    let (judge_said, counsel_said) = (text("Judge Wang"), text("Counsel Chen"));
    for w in ["session", "first"] {
        assert!(judge_said.contains(w), "{w:?} not in {judge_said:?}");
    }
    for w in ["second", "failure"] {
        assert!(judge_said.contains(w), "{w:?} not in {judge_said:?}");
    }
    assert!(counsel_said.contains("claimant"), "{counsel_said:?}");
    // the track node A left open when it died was recovered with its place on the clock:
    // counsel spoke after being admitted, and began within a second of the note that they had
    // connected (both on the hearing clock the log kept)
    let counsel_from = transcript
        .segments
        .iter()
        .find(|s| s.speaker.starts_with("Counsel Chen"))
        .map(|s| s.start_ms as i64)
        .unwrap();
    let admitted_ms = events
        .iter()
        .find(|e| {
            matches!(e.payload(), Some(EventPayload::Admitted { participant_id })
                if participant_id.to_string() == counsel_id)
        })
        .map(|e| e.clock_ms)
        .expect("counsel's admission on the log");
    eprintln!("counsel: admitted {admitted_ms} ms, connected by {connected_ms} ms, transcript from {counsel_from} ms");
    assert!(
        admitted_ms <= counsel_from && counsel_from <= connected_ms + 1_000,
        "the transcript has counsel from {counsel_from} ms; admitted at {admitted_ms} ms, \
         connected by {connected_ms} ms"
    );

    let (ok, said) = verify_hearing(&t.database_url, &data, &hid);
    assert!(ok, "{said}");
    // The worker has done what the test needed; if it already exited, there is nothing to kill.
    let _ = worker.kill().await;
}
