//! `/metrics`: the Prometheus text names each RPC by method and status code, and its counters
//! and gauges move with the calls made. (A file of its own: the metrics recorder is global to the
//! test process, so no other test may make calls beside this one.)
use std::collections::BTreeMap;
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

/// Every sample of `/metrics`: `name{labels}` → value.
async fn scrape(t: &TestApp) -> BTreeMap<String, f64> {
    let (code, body) = http_get(t.addr, "/metrics", None).await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).expect("utf-8");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
            (
                series.to_string(),
                value.parse().unwrap_or_else(|_| panic!("{l:?}")),
            )
        })
        .collect()
}

fn rpc(method: &str, code: Code) -> String {
    format!(
        "opencourt_rpc_total{{method=\"/court.v1.{method}\",code=\"{}\"}}",
        code as i32
    )
}

/// How much each of `series` moved from `before` to `after` (absent counts as 0).
fn moved(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    series: &[&str],
) -> Vec<(String, f64)> {
    series
        .iter()
        .map(|s| {
            let v = |m: &BTreeMap<String, f64>| m.get(*s).copied().unwrap_or(0.0);
            (s.to_string(), v(after) - v(before))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_calls_made() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("metrics", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let before = scrape(&t).await;
    // The scene's own calls are already there, under their method and code.
    assert_eq!(before.get(&rpc("AuthService/Login", Code::Ok)), Some(&2.0));
    assert_eq!(
        before.get(&rpc("HearingService/InviteParticipant", Code::Ok)),
        Some(&7.0)
    );

    let note = |token: &str, text: &str| {
        authed(
            token,
            pb::AddNoteRequest {
                hearing_id: s.hearing.id.clone(),
                text: text.into(),
            },
        )
    };
    for i in 0..3 {
        hs.add_note(note(&s.clerk, &format!("note {i}")))
            .await
            .expect("note");
    }
    assert_status(
        hs.add_note(note(s.token(Role::Party), "not mine to add"))
            .await,
        Code::PermissionDenied,
        "a party may not add_note",
    );
    assert_status(
        hs.get_hearing(authed(
            &s.clerk,
            pb::GetHearingRequest {
                hearing_id: "not-an-id".into(),
            },
        ))
        .await,
        Code::InvalidArgument,
        "hearing_id",
    );
    let mut watch = watch_from_start(&mut hs, &s.clerk, &s.hearing.id).await;
    tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .expect("first event")
        .expect("watch")
        .expect("an event");

    let after = scrape(&t).await;
    let series = [
        rpc("HearingService/AddNote", Code::Ok),
        rpc("HearingService/AddNote", Code::PermissionDenied),
        rpc("HearingService/GetHearing", Code::InvalidArgument),
        "opencourt_denials_total".to_string(),
        // Three notes and the denial, each an event in the hearing's log.
        "opencourt_events_appended_total".to_string(),
        "opencourt_watchers".to_string(),
    ];
    let names: Vec<&str> = series.iter().map(String::as_str).collect();
    assert_eq!(
        moved(&before, &after, &names),
        names
            .iter()
            .map(|s| s.to_string())
            .zip([3.0, 1.0, 1.0, 1.0, 4.0, 1.0])
            .collect::<Vec<_>>(),
        "{after:#?}"
    );

    // The server ends a watch (its participant is removed): the call is counted with its code,
    // and the gauge comes back down.
    let mut party = watch_from_start(&mut hs, s.token(Role::Party), &s.hearing.id).await;
    hs.remove_participant(authed(
        &s.judge,
        pb::RemoveParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: s.participant(Role::Party).id.clone(),
            reason: "disorder".into(),
        },
    ))
    .await
    .expect("remove");
    tokio::time::timeout(Duration::from_secs(30), async {
        while party.message().await.expect("party watch").is_some() {}
    })
    .await
    .expect("the removed participant's watch did not end");
    drop(watch);
    let done = rpc("HearingService/WatchHearing", Code::Ok);
    let back = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let now = scrape(&t).await;
            let counted = now.get(&done).copied().unwrap_or(0.0);
            let watchers = |m: &BTreeMap<String, f64>| m.get("opencourt_watchers").copied();
            if counted >= 1.0 && watchers(&now).unwrap_or(0.0) == watchers(&before).unwrap_or(0.0) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let back = match back {
        Ok(m) => m,
        Err(_) => panic!(
            "no ended watch counted, or watchers left: {:#?}",
            scrape(&t).await
        ),
    };
    assert_eq!(moved(&before, &back, &[&done]), [(done.clone(), 1.0)]);
    t.stop().await;
}
