//! The writes into the record after a room's file closes (its hash into the log, the
//! transcription job) and what a room reports (faults, gaps, stalls) are kept in a durable outbox and retried until they succeed: here the
//! database refuses each once (a trigger, as a failing database would), and each still lands,
//! once, when the outbox is drained after the database recovers.
use hearing_core::domain::events::MediaKind;
use hearing_core::domain::HearingId;
use hearing_core::records::MediaFile;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use sqlx::Row;
use transcriber::worker::{JobSpec, TrackSpec};

/// Makes every insert into `table` whose `kind` is one of `kinds` fail, until [`heal`].
async fn break_inserts(t: &TestApp, table: &str, kinds: &[&str]) {
    let pool = t.app.system().pool();
    let kinds = kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let statements = match t.db {
        Db::Sqlite => vec![format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.kind IN ({kinds}) \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        Db::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
            ),
            format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW \
                 WHEN (NEW.kind IN ({kinds})) EXECUTE FUNCTION refuse_{table}()"
            ),
        ],
    };
    for s in statements {
        sqlx::query(&s).execute(pool).await.unwrap();
    }
}

async fn heal(t: &TestApp, table: &str) {
    let pool = t.app.system().pool();
    let s = match t.db {
        Db::Sqlite => format!("DROP TRIGGER refuse_{table}"),
        Db::Postgres => format!("DROP TRIGGER refuse_{table} ON {table}"),
    };
    sqlx::query(&s).execute(pool).await.unwrap();
}

/// (attempts, last error) of each outbox entry.
async fn outbox(t: &TestApp) -> Vec<(i64, Option<String>)> {
    sqlx::query("SELECT attempts, last_error FROM outbox ORDER BY created_at")
        .fetch_all(t.app.system().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("attempts"), r.get("last_error")))
        .collect()
}

async fn count(t: &TestApp, sql: &str, hearing: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(hearing)
        .fetch_one(t.app.system().pool())
        .await
        .unwrap()
}

async fn a_failed_write_into_the_record_is_retried_until_it_lands(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("outbox", pb::Visibility::Public).await;
    let hid = HearingId::parse("hearing_id", &s.hearing.id).unwrap();
    let file = MediaFile {
        file: "mix-0000000000.mkv".into(),
        kind: MediaKind::Segment,
        participant_id: None,
        sha256: "ab".repeat(32),
        size: 1234,
        duration_ms: 2000,
        start_ms: 0,
        end_ms: 2000,
    };
    let spec = JobSpec {
        tracks: vec![TrackSpec {
            label: "Judge Wang (judge)".into(),
            path: t.dir.path().join("track.mka"),
            offset_ms: 0,
        }],
        language: "en".into(),
    };
    let logged =
        "SELECT COUNT(*) FROM hearing_events WHERE hearing_id = $1 AND kind = 'media_closed'";
    let queued = "SELECT COUNT(*) FROM jobs WHERE hearing_id = $1 AND kind = 'transcribe'";

    // The database refuses both writes: they are kept, with why they failed.
    break_inserts(&t, "hearing_events", &["media_closed"]).await;
    break_inserts(&t, "jobs", &["transcribe"]).await;
    opencourt::server::courtroom::outbox::media_closed(&t.app, hid, &file).await;
    opencourt::server::courtroom::outbox::transcription(&t.app, hid, &spec).await;
    assert_eq!(count(&t, logged, &s.hearing.id).await, 0);
    assert_eq!(count(&t, queued, &s.hearing.id).await, 0);
    let kept = outbox(&t).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    for (attempts, error) in &kept {
        assert!(*attempts >= 1, "{kept:?}");
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("injected failure")),
            "{kept:?}"
        );
    }

    // The database recovers: the next drain does both, once each.
    heal(&t, "hearing_events").await;
    heal(&t, "jobs").await;
    let later = chrono::Utc::now() + chrono::Duration::minutes(10);
    opencourt::server::courtroom::outbox::drain_once(&t.app, later)
        .await
        .unwrap();
    opencourt::server::courtroom::outbox::drain_once(&t.app, later)
        .await
        .unwrap();
    assert_eq!(outbox(&t).await, vec![]);
    assert_eq!(count(&t, logged, &s.hearing.id).await, 1);
    assert_eq!(count(&t, queued, &s.hearing.id).await, 1);
    let events = t.app.system().events_after(hid, 0, u32::MAX).await.unwrap();
    assert!(
        events.iter().any(|e| e.payload.contains(&file.sha256)),
        "the file's hash is in the log"
    );
    assert!(t.app.verify_record(hid, None).await.unwrap().1.is_empty());
    t.stop().await;
}

/// What a room reports for the record (a fault, the gap it left, a stall) goes through the
/// outbox too: the pump of a room, fed the room's events, while the database refuses each
/// write; once it recovers, every one lands once.
async fn a_gap_fault_or_stall_the_database_refuses_lands_once_later(db: Db) {
    use recorder::manifest::FileKind;
    use std::time::Duration;
    let t = TestApp::start(db).await;
    let s = t.scene("outbox-gap", pb::Visibility::Public).await;
    let hid = HearingId::parse("hearing_id", &s.hearing.id).unwrap();
    let kinds = ["recording_fault", "recording_gap", "media_stalled"];
    break_inserts(&t, "hearing_events", &kinds).await;
    let (tx, rx) = std::sync::mpsc::channel();
    let judge =
        recorder::ParticipantId::parse(&s.participant(hearing_core::domain::Role::Witness).id)
            .unwrap();
    for ev in [
        recorder::Event::RecordingFault {
            file: "mix-0000000000.mkv".into(),
            kind: FileKind::Mix,
            at: Duration::from_secs(3),
            message: "No space left on device".into(),
        },
        recorder::Event::RecordingLost {
            kind: FileKind::Mix,
            from: Duration::from_secs(3),
            to: Duration::from_secs(5),
            reason: "writing mix-0000000000.mkv failed".into(),
        },
        recorder::Event::Stalled {
            id: judge,
            at: Duration::from_secs(4),
        },
        recorder::Event::Stopped {
            at: Duration::from_secs(6),
        },
    ] {
        tx.send(ev).unwrap();
    }
    drop(tx);
    let (app, dir, rt) = (
        t.app.clone(),
        t.dir.path().to_path_buf(),
        tokio::runtime::Handle::current(),
    );
    tokio::task::spawn_blocking(move || {
        opencourt::server::courtroom::pump::run(app, "node-a", hid, dir, "en".into(), rt, rx)
    })
    .await
    .unwrap();
    let logged = |kind: &str| {
        format!("SELECT COUNT(*) FROM hearing_events WHERE hearing_id = $1 AND kind = '{kind}'")
    };
    for kind in kinds {
        assert_eq!(count(&t, &logged(kind), &s.hearing.id).await, 0, "{kind}");
    }
    assert_eq!(outbox(&t).await.len(), 3, "each refused write is kept");

    heal(&t, "hearing_events").await;
    let later = chrono::Utc::now() + chrono::Duration::minutes(10);
    for _ in 0..2 {
        opencourt::server::courtroom::outbox::drain_once(&t.app, later)
            .await
            .unwrap();
    }
    assert_eq!(outbox(&t).await, vec![]);
    for kind in kinds {
        assert_eq!(count(&t, &logged(kind), &s.hearing.id).await, 1, "{kind}");
    }
    assert!(t.app.verify_record(hid, None).await.unwrap().1.is_empty());
    t.stop().await;
}

both_dbs!(
    a_failed_write_into_the_record_is_retried_until_it_lands,
    a_gap_fault_or_stall_the_database_refuses_lands_once_later,
);
