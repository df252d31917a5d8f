//! Editing, deleting or reordering event rows directly in the database makes VerifyHearingLog and
//! `opencourt verify` fail and name the first bad seq; an untouched log verifies.
use std::process::Command;

use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use sqlx::Executor;

const DROP_TRIGGERS_SQLITE: &str =
    "DROP TRIGGER hearing_events_no_update; DROP TRIGGER hearing_events_no_delete;";
const DROP_TRIGGERS_PG: &str = "DROP TRIGGER hearing_events_no_update ON hearing_events;";

async fn verify_rpc(t: &TestApp, s: &Scene) -> pb::VerifyHearingLogResponse {
    t.hearings()
        .await
        .verify_hearing_log(authed(
            &s.clerk,
            pb::VerifyHearingLogRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Runs `opencourt verify` against the test's database; returns (exit code, stdout).
fn verify_cli(t: &TestApp, hearing: &str) -> (Option<i32>, String) {
    let out = Command::new(opencourt_bin())
        .args([
            "verify",
            "--hearing",
            hearing,
            "--database-url",
            &t.database_url,
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("run opencourt verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `opencourt verify` fails (exit status 1) with the one line that says what the RPC says.
#[track_caller]
fn assert_cli_fails_like(t: &TestApp, hearing: &str, v: &pb::VerifyHearingLogResponse) {
    let (code, out) = verify_cli(t, hearing);
    let line = format!(
        "FAILED: hearing {hearing}: first bad event is seq {} ({}); {} events verified before it\n",
        v.first_bad_seq, v.problem, v.events_checked
    );
    assert_eq!((code, out.as_str()), (Some(1), line.as_str()));
}

/// `sql` is refused by the append-only triggers, with their message.
async fn refused(pool: &sqlx::AnyPool, sql: &str) {
    let err = pool.execute(sql).await.expect_err(sql);
    let message = err.as_database_error().map(|e| e.message().to_string());
    assert_eq!(
        message.as_deref(),
        Some("hearing_events is append-only"),
        "{sql}: {err}"
    );
}

async fn tampering_is_detected(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("tamper", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    for i in 0..5 {
        hs.add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: s.hearing.id.clone(),
                text: format!("note {i}"),
            },
        ))
        .await
        .unwrap();
    }
    let good = verify_rpc(&t, &s).await;
    assert!(good.ok && good.first_bad_seq == 0, "{good:?}");
    let n = good.events_checked as i64;
    assert!(n >= 20);
    let (code, out) = verify_cli(&t, &s.hearing.id);
    assert_eq!(
        (code, out),
        (
            Some(0),
            format!(
                "ok: hearing {}: {n} events verified, head {}\n",
                s.hearing.id, good.head_hash
            )
        )
    );

    // The append-only triggers refuse every edit and deletion until someone with database
    // access drops them; the log is as it was.
    let pool = t.app.system().pool();
    let hid = &s.hearing.id;
    let id = hearing_core::domain::HearingId::parse("hearing_id", hid).unwrap();
    let log = t.app.system().events_after(id, 0, 1000).await.unwrap();
    let edit = format!("UPDATE hearing_events SET payload = REPLACE(payload, 'note 2', 'note X') WHERE hearing_id = '{hid}' AND seq = {}", n - 2);
    for sql in [
        edit.clone(),
        format!("UPDATE hearing_events SET seq = seq + 1000 WHERE hearing_id = '{hid}'"),
        format!("DELETE FROM hearing_events WHERE hearing_id = '{hid}' AND seq = {n}"),
        format!("DELETE FROM hearing_events WHERE hearing_id = '{hid}'"),
        "DELETE FROM hearing_events".to_string(),
    ] {
        refused(pool, &sql).await;
    }
    assert_eq!(t.app.system().events_after(id, 0, 1000).await.unwrap(), log);
    let still = verify_rpc(&t, &s).await;
    assert_eq!(
        (still.ok, still.events_checked, &still.head_hash),
        (true, n as u64, &good.head_hash)
    );
    pool.execute(if db == Db::Sqlite {
        DROP_TRIGGERS_SQLITE
    } else {
        DROP_TRIGGERS_PG
    })
    .await
    .unwrap();

    // 1. Edit one payload.
    pool.execute(edit.as_str()).await.unwrap();
    let v = verify_rpc(&t, &s).await;
    assert!(!v.ok);
    assert_eq!(v.first_bad_seq as i64, n - 2, "{v:?}");
    assert_cli_fails_like(&t, hid, &v);
    pool.execute(format!("UPDATE hearing_events SET payload = REPLACE(payload, 'note X', 'note 2') WHERE hearing_id = '{hid}'").as_str())
        .await
        .unwrap();
    assert!(
        verify_rpc(&t, &s).await.ok,
        "restoring the bytes restores the chain"
    );

    // 2. Reorder: swap the seq numbers of two events.
    let swap = format!(
        "UPDATE hearing_events SET seq = -1 WHERE hearing_id = '{hid}' AND seq = 5; \
         UPDATE hearing_events SET seq = 5 WHERE hearing_id = '{hid}' AND seq = 6; \
         UPDATE hearing_events SET seq = 6 WHERE hearing_id = '{hid}' AND seq = -1;"
    );
    pool.execute(swap.as_str()).await.unwrap();
    let v = verify_rpc(&t, &s).await;
    assert_eq!((v.ok, v.first_bad_seq), (false, 5), "{v:?}");
    assert_cli_fails_like(&t, hid, &v);
    pool.execute(swap.as_str()).await.unwrap();
    assert!(verify_rpc(&t, &s).await.ok);

    // 3. Edit a clock value (not the payload).
    pool.execute(format!("UPDATE hearing_events SET clock_ms = clock_ms + 1 WHERE hearing_id = '{hid}' AND seq = 3").as_str())
        .await
        .unwrap();
    let v = verify_rpc(&t, &s).await;
    assert_eq!((v.ok, v.first_bad_seq), (false, 3), "{v:?}");
    assert_cli_fails_like(&t, hid, &v);
    pool.execute(format!("UPDATE hearing_events SET clock_ms = clock_ms - 1 WHERE hearing_id = '{hid}' AND seq = 3").as_str())
        .await
        .unwrap();

    // 4. Delete the last event.
    pool.execute(
        format!("DELETE FROM hearing_events WHERE hearing_id = '{hid}' AND seq = {n}").as_str(),
    )
    .await
    .unwrap();
    let v = verify_rpc(&t, &s).await;
    assert_eq!((v.ok, v.first_bad_seq as i64), (false, n), "{v:?}");
    assert_cli_fails_like(&t, hid, &v);

    // 5. Delete one in the middle.
    pool.execute(
        format!("DELETE FROM hearing_events WHERE hearing_id = '{hid}' AND seq = 7").as_str(),
    )
    .await
    .unwrap();
    let v = verify_rpc(&t, &s).await;
    assert_eq!((v.ok, v.first_bad_seq), (false, 7), "{v:?}");
    assert_cli_fails_like(&t, hid, &v);
    t.stop().await;
}

both_dbs!(tampering_is_detected);
