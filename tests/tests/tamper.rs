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

/// Runs `opencourt verify` against the test's database; returns (success, stdout).
fn verify_cli(t: &TestApp, hearing: &str) -> (bool, String) {
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
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
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
    let (ok, out) = verify_cli(&t, &s.hearing.id);
    assert!(ok, "{out}");

    // The append-only triggers refuse edits until someone with database access drops them.
    let pool = t.app.store.pool();
    let hid = &s.hearing.id;
    let edit = format!("UPDATE hearing_events SET payload = REPLACE(payload, 'note 2', 'note X') WHERE hearing_id = '{hid}' AND seq = {}", n - 2);
    assert!(
        pool.execute(edit.as_str()).await.is_err(),
        "triggers must refuse updates"
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
    let (ok, out) = verify_cli(&t, hid);
    assert!(!ok && out.contains(&format!("seq {}", n - 2)), "{out}");
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
    assert!(verify_cli(&t, hid).1.contains("seq 5"));
    pool.execute(swap.as_str()).await.unwrap();
    assert!(verify_rpc(&t, &s).await.ok);

    // 3. Edit a clock value (not the payload).
    pool.execute(format!("UPDATE hearing_events SET clock_ms = clock_ms + 1 WHERE hearing_id = '{hid}' AND seq = 3").as_str())
        .await
        .unwrap();
    assert_eq!(verify_rpc(&t, &s).await.first_bad_seq, 3);
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

    // 5. Delete one in the middle.
    pool.execute(
        format!("DELETE FROM hearing_events WHERE hearing_id = '{hid}' AND seq = 7").as_str(),
    )
    .await
    .unwrap();
    let v = verify_rpc(&t, &s).await;
    assert_eq!((v.ok, v.first_bad_seq), (false, 7), "{v:?}");
    let (ok, out) = verify_cli(&t, hid);
    assert!(!ok && out.contains("seq 7"), "{out}");
    t.stop().await;
}

both_dbs!(tampering_is_detected);
