//! The media supervisor never gives up: PostgreSQL stops in the middle of an on-record hearing
//! for longer than the pool waits for a connection (30 s), so every read of the hearing's log
//! fails, then starts again. The room keeps recording meanwhile; afterwards a mute, going off
//! the record and adjournment all reach the room, the judge finds a note of the outage in the
//! log, and `opencourt verify` passes.
//!
//! PostgreSQL only: the test runs its own cluster (scripts/pg.sh, in a temp dir) so that it can
//! stop it without touching the shared one. It is skipped, saying so, when
//! OPENCOURT_TEST_POSTGRES_URL is unset (`make test` sets it, so CI runs it).
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearing_core::domain::events::MediaKind;
use hearing_core::domain::{EventPayload, HearingId, HearingState, Role};
use opencourt_proto::v1 as pb;
use opencourt_tests::*;

/// Longer than the pool's 30 s acquire timeout: every reader of the log gets an error.
const OUTAGE: Duration = Duration::from_secs(35);

/// A PostgreSQL cluster of this test's own, stopped (and kept) on drop.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

fn pg_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

impl Cluster {
    /// Starts (or, after `stop`, restarts) the cluster; returns its URL.
    fn start(dir: &Path, port: u16) -> String {
        let out = std::process::Command::new(pg_sh())
            .arg("start")
            .arg(dir)
            .arg(port.to_string())
            .output()
            .expect("scripts/pg.sh");
        assert!(
            out.status.success(),
            "PostgreSQL did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn new() -> (Cluster, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = Self::start(dir.path(), 56_321);
        let port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL");
        (Cluster { dir, port }, url)
    }

    fn stop(&self) {
        let ok = std::process::Command::new(pg_sh())
            .arg("stop")
            .arg(self.dir.path())
            .status()
            .expect("scripts/pg.sh")
            .success();
        assert!(ok, "PostgreSQL did not stop");
    }

    /// Starts it again on the same port (the server's URL stays right).
    fn restart(&self, url: &str) {
        let again = Self::start(self.dir.path(), self.port);
        assert_eq!(again, url, "PostgreSQL came back on another port");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort, also while a failing test unwinds.
        let _ = std::process::Command::new(pg_sh())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_postgres_restart_mute_off_record_and_adjournment_reach_the_room() {
    if std::env::var_os("OPENCOURT_TEST_POSTGRES_URL").is_none() {
        eprintln!("pg_restart: skipped, OPENCOURT_TEST_POSTGRES_URL is unset (run `make test`)");
        return;
    }
    let (pg, url) = Cluster::new();
    let media = tempfile::tempdir().expect("tempdir");
    let t = TestApp::start_on(Db::Postgres, url.clone(), media, |a| a).await;
    let s = t.scene("restart", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let id = HearingId::parse("id", &hid).unwrap();
    let wid = s.participant(Role::Witness).id.clone();
    let dir = t.dir.path().to_path_buf();
    let before = speech_wav(&dir, "before", "I saw the ship leave the harbour at dawn.");
    // Silence first: the court mutes the witness as they connect, before they speak.
    let muted = opencourt::cli::loadtest::speech_script(
        &dir,
        "muted",
        5,
        &[
            None,
            Some("This is said while the court has muted me, so nobody may hear it."),
            Some("Nothing of it may be kept in the recording of this hearing at all."),
        ],
    )
    .expect("espeak-ng and sox");
    // The witness's session token travels in the variable BotProcess sets.
    let witness = |name: &str, audio: &Path| {
        let args = ["--token-env", "OC_TEST_JUDGE_PASSWORD", "--hearing", &hid];
        BotProcess::start(name, t.addr, &args, audio, s.token(Role::Witness))
    };

    let mut hs = t.hearings().await;
    t.open_on_record(&s).await;
    let mut w = witness("witness", &before);
    w.until("joined as ").await;
    hs.admit_participant(authed(
        &s.judge,
        pb::AdmitParticipantRequest {
            hearing_id: hid.clone(),
            participant_id: wid.clone(),
        },
    ))
    .await
    .expect("admit");
    w.until("audio sent ").await;

    // The database goes away for longer than any reader waits, and comes back.
    pg.stop();
    tokio::time::sleep(OUTAGE).await;
    pg.restart(&url);

    // The witness connects again; the court mutes them at once (after their connection took
    // its state, so only the supervisor can bring the mute to the room).
    drop(w);
    let mut w = witness("witness again", &muted);
    w.until("connected at ").await;
    hs.mute_participant(authed(
        &s.judge,
        pb::MuteParticipantRequest {
            hearing_id: hid.clone(),
            participant_id: wid.clone(),
            muted: true,
        },
    ))
    .await
    .expect("mute after the restart");
    w.until("audio sent ").await;
    hs.go_off_record(authed(
        &s.judge,
        pb::GoOffRecordRequest {
            hearing_id: hid.clone(),
            reason: "recess after the restart".into(),
        },
    ))
    .await
    .expect("off the record");
    tokio::time::sleep(Duration::from_secs(1)).await;
    go_on_record(&mut hs, &s.judge, &hid).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    t.adjourn(&s).await;
    // The witness's bot sees the adjournment in the log and ends…
    w.until("done: the hearing ended").await;
    // …and adjournment reached the room: it stopped, and gave up its lease once every file was
    // closed and logged (without the supervisor, it records on and keeps the lease).
    wait_until("the room to stop", Duration::from_secs(60), || async {
        t.app.system().media_lease(id).await.unwrap().is_none()
    })
    .await;

    let events = t.app.system().events_after(id, 0, u32::MAX).await.unwrap();
    let payloads: Vec<_> = events.iter().filter_map(|e| e.payload()).collect();
    // The judge was told the room could not follow the log for a while.
    assert!(
        payloads
            .iter()
            .any(|p| matches!(p, EventPayload::Note { text }
            if text.starts_with("the media node could not read the hearing's log"))),
        "no note of the outage in the log"
    );
    // Off the record reached the room: the recording has the recess as a gap, with its reason.
    assert!(
        payloads.iter().any(
            |p| matches!(p, EventPayload::RecordingGap { reason, from_ms, to_ms, participant_id: None }
            if reason == "recess after the restart" && to_ms > from_ms)
        ),
        "no recess gap in the log"
    );
    // Adjournment queued the transcription of the witness's track.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.database_url).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE hearing_id = $1")
        .bind(&hid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "the transcription was not queued");

    // The mute reached the room: the mix of the first stretch on the record (up to the recess)
    // holds what the witness said before, not what they said muted.
    let off_ms = events
        .iter()
        .find(|e| {
            matches!(e.payload(), Some(EventPayload::StateChanged { to, .. })
                if to == HearingState::OffRecord)
        })
        .map(|e| e.clock_ms as u64)
        .expect("off the record in the log");
    let mix: f64 = payloads
        .iter()
        .filter_map(|p| match p {
            EventPayload::MediaClosed {
                kind: MediaKind::Segment,
                file,
                end_ms,
                ..
            } if *end_ms <= off_ms + 1000 => {
                Some(voiced_seconds(&dir.join("media").join(&hid).join(file)))
            }
            _ => None,
        })
        .sum();
    let (a, b) = (voiced_seconds(&before), voiced_seconds(&muted));
    assert!(
        b > 1.5 * a,
        "the muted speech must outweigh the rest: {a} {b}"
    );
    assert!(
        mix < a + 0.5 * b,
        "the mix holds the muted speech: {mix:.2} s voiced; before {a:.2}, muted {b:.2}"
    );
    assert!(
        mix > 0.7 * a,
        "the mix lacks what was said before: {mix:.2} s voiced; before {a:.2}"
    );

    let (ok, said) = verify_hearing(&t.database_url, &dir, &hid);
    assert!(ok, "{said}");
    drop(pool);
    t.stop().await;
}
