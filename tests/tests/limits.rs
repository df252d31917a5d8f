//! The operator's limits against abuse, and ending sessions: failed sign-ins and redemptions
//! back off, WatchHearing streams are bounded per token, unary calls are bounded in time and
//! number while streams are not, logout and disabling an account revoke tokens at once and end
//! open streams.
use std::time::Duration;

use hearing_core::app::Limits;
use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

/// How long an open stream may take to notice a revoked token: the re-check runs every 100 ms
/// here, so this only turns a stream that never ends into a failure.
const PATIENCE: Duration = Duration::from_secs(20);

fn quick_recheck(app: hearing_core::app::App) -> hearing_core::app::App {
    app.with_limits(Limits {
        stream_recheck: Duration::from_millis(100),
        ..Limits::default()
    })
}

/// Reads `watch` until it ends with an error, which is returned.
async fn until_ended<T>(watch: &mut tonic::Streaming<T>) -> tonic::Status {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended without an error"),
                Err(s) => return s,
            }
        }
    })
    .await
    .expect("the stream of a revoked token did not end")
}

fn login(username: &str, password: &str) -> pb::LoginRequest {
    pb::LoginRequest {
        username: username.into(),
        password: password.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_back_off_per_address_and_account() {
    let t = TestApp::start(Db::Sqlite).await;
    let (_, judge) = t.staff("judge.back", Role::Judge, "Judge Back").await;
    let mut auth = t.auth().await;
    let mut codes = Vec::new();
    for _ in 0..20 {
        let r = auth.login(login("judge.back", "not the password")).await;
        codes.push(code_of(&r));
        if let Err(s) = &r {
            if s.code() == Code::ResourceExhausted {
                assert!(
                    s.message().contains("auth-free-failures = 5"),
                    "{}",
                    s.message()
                );
                assert!(s.message().contains("retry in"), "{}", s.message());
            }
        }
    }
    assert_eq!(
        codes[..5],
        [Code::Unauthenticated; 5],
        "the free failures are answered as usual"
    );
    assert!(
        codes.contains(&Code::ResourceExhausted),
        "20 wrong passwords in a row were never slowed down: {codes:?}"
    );
    // While it waits, even the right password is refused: guessing gains nothing.
    assert_status(
        auth.login(login(
            "judge.back",
            &format!("pw-{}-0123456789", judge.username),
        ))
        .await,
        Code::ResourceExhausted,
        "auth-free-failures",
    );
    // The address waits too: another account (even one that does not exist) from it.
    assert_status(
        auth.login(login("nobody.here", "whatever-password")).await,
        Code::ResourceExhausted,
        "client address",
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_redemptions_back_off() {
    let t = TestApp::start(Db::Sqlite).await;
    let mut auth = t.auth().await;
    let mut codes = Vec::new();
    for i in 0..20 {
        let r = auth
            .redeem_invite(pb::RedeemInviteRequest {
                code: format!("guess-{i:05}"),
            })
            .await;
        codes.push(code_of(&r));
    }
    assert_eq!(codes[..5], [Code::Unauthenticated; 5]);
    assert!(
        codes.contains(&Code::ResourceExhausted),
        "20 guessed codes in a row were never slowed down: {codes:?}"
    );
    assert_status(
        auth.redeem_invite(pb::RedeemInviteRequest {
            code: "one-more-guess".into(),
        })
        .await,
        Code::ResourceExhausted,
        "invitation",
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_are_bounded_per_token() {
    let t = TestApp::start_with(Db::Sqlite, |app| {
        app.with_limits(Limits {
            watch_streams_per_token: 3,
            ..Limits::default()
        })
    })
    .await;
    let s = t.scene("wlimit", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(watch_from_start(&mut hs, &s.clerk, &s.hearing.id).await);
    }
    let over = hs
        .watch_hearing(authed(
            &s.clerk,
            pb::WatchHearingRequest {
                hearing_id: s.hearing.id.clone(),
                after_seq: 0,
            },
        ))
        .await;
    assert_status(over, Code::ResourceExhausted, "watch-streams-per-token = 3");
    // Another token is counted apart.
    let _judge = watch_from_start(&mut hs, &s.judge, &s.hearing.id).await;
    // A closed stream gives its place back.
    drop(open.pop());
    wait_until("a closed stream's place to free", PATIENCE, || {
        let mut hs = hs.clone();
        let (token, id) = (s.clerk.clone(), s.hearing.id.clone());
        async move {
            hs.watch_hearing(authed(
                &token,
                pb::WatchHearingRequest {
                    hearing_id: id,
                    after_seq: 0,
                },
            ))
            .await
            .is_ok()
        }
    })
    .await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_calls_are_bounded_in_time_but_streams_are_not() {
    use hearing_core::app::Caller;
    use hearing_core::domain::machine::Command;
    use hearing_core::domain::*;
    // A timeout shorter than any Argon2 hash: every Login outlasts it.
    let t = TestApp::start_with_requests(
        Db::Sqlite,
        |app| app,
        opencourt::server::RequestLimits {
            timeout: Duration::from_millis(1),
            max_concurrent: 256,
        },
    )
    .await;
    let judge = t
        .app
        .add_user(
            Username::parse("username", "judge.slow").unwrap(),
            DisplayName::parse("display_name", "Judge Slow").unwrap(),
            Role::Judge,
            "pw-judge-slow-0123".into(),
        )
        .await
        .unwrap();
    assert_status(
        t.auth()
            .await
            .login(login("judge.slow", "pw-judge-slow-0123"))
            .await,
        Code::DeadlineExceeded,
        "request-timeout",
    );
    // A stream outlives the timeout: events committed after it opened still arrive. (The
    // set-up goes straight to the application: every unary call over the wire times out.) The
    // timeout bounds the time to a call's response headers, so a stream's body is never cut;
    // streams are also exempt outright, so that opening one on a slow database is not refused.
    let (token, _, _) = t
        .app
        .login(None, "judge.slow", "pw-judge-slow-0123")
        .await
        .unwrap();
    let caller = Caller::Staff(judge);
    let case = t
        .app
        .create_case(
            &caller,
            CaseNumber::parse("case_number", "CV-SLOW-1").unwrap(),
            Title::parse("title", "Slow v. Fast").unwrap(),
            Visibility::Public,
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let hearing = t
        .app
        .schedule_hearing(
            &caller,
            case.id,
            Title::parse("title", "Mention").unwrap(),
            now + chrono::Duration::hours(1),
            now + chrono::Duration::hours(2),
            None,
        )
        .await
        .unwrap();
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &token, &hearing.id.to_string()).await;
    let first = watch
        .message()
        .await
        .expect("first event")
        .expect("an event");
    t.app
        .command(&caller, hearing.id, |_| Command::Open)
        .await
        .unwrap();
    let opened = tokio::time::timeout(PATIENCE, async {
        loop {
            let e = watch
                .message()
                .await
                .expect("the stream lives on")
                .expect("an event");
            if e.seq > first.seq {
                return e;
            }
        }
    })
    .await
    .expect("the event committed after the stream opened");
    assert!(opened.seq > first.seq);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_calls_over_the_concurrency_limit_are_refused() {
    let t = TestApp::start_with_requests(
        Db::Sqlite,
        |app| app,
        opencourt::server::RequestLimits {
            timeout: Duration::from_secs(60),
            max_concurrent: 1,
        },
    )
    .await;
    let (_, _) = t.staff("clerk.busy", Role::Clerk, "Clerk Busy").await;
    // Eight sign-ins at once, each an Argon2 hash: with one slot, some are turned away.
    let calls = (0..8).map(|_| {
        let channel = t.channel();
        async move {
            pb::auth_service_client::AuthServiceClient::new(channel.await)
                .login(login("clerk.busy", "pw-clerk.busy-0123456789"))
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let refused: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|s| s.code() == Code::ResourceExhausted)
        .collect();
    assert!(
        !refused.is_empty(),
        "eight calls at once with one slot all ran"
    );
    assert!(
        refused[0].message().contains("max-concurrent-requests"),
        "{}",
        refused[0].message()
    );
    assert!(results.iter().any(|r| r.is_ok()), "no call got the slot");
    t.stop().await;
}

async fn logout_revokes_the_token_and_ends_its_streams(db: Db) {
    let t = TestApp::start_with(db, quick_recheck).await;
    let s = t.scene("logout", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.clerk, &s.hearing.id).await;
    t.auth()
        .await
        .logout(authed(&s.clerk, pb::LogoutRequest {}))
        .await
        .expect("logout");
    let r = hs
        .get_hearing(authed(
            &s.clerk,
            pb::GetHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await;
    assert_status(r, Code::Unauthenticated, "revoked");
    let ended = until_ended(&mut watch).await;
    assert_eq!(ended.code(), Code::Unauthenticated, "{}", ended.message());
    // The judge's session is untouched.
    get_hearing(&mut hs, &s.judge, &s.hearing.id).await;
    t.stop().await;
}

async fn disabling_an_account_revokes_every_session_and_refuses_sign_in(db: Db) {
    let t = TestApp::start_with(db, quick_recheck).await;
    let s = t.scene("disable", pb::Visibility::Public).await;
    let (admin, _) = t.staff("admin.one", Role::Admin, "Admin One").await;
    let username = "judge-disable";
    let password = format!("pw-{username}-0123456789");
    let mut auth = t.auth().await;
    let second = auth
        .login(login(username, &password))
        .await
        .expect("a second session")
        .into_inner()
        .token;
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &s.judge, &s.hearing.id).await;

    // Only an administrator may disable an account.
    assert_status(
        auth.set_account_enabled(authed(
            &s.clerk,
            pb::SetAccountEnabledRequest {
                username: username.into(),
                enabled: false,
            },
        ))
        .await,
        Code::PermissionDenied,
        "administrator",
    );
    get_hearing(&mut hs, &s.judge, &s.hearing.id).await;
    // The refusal is in the access log, like other denials outside a hearing.
    let denied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM access_denials WHERE action = 'set_account_enabled' AND target = $1",
    )
    .bind(username)
    .fetch_one(t.app.system().pool())
    .await
    .unwrap();
    assert_eq!(denied, 1);

    let r = auth
        .set_account_enabled(authed(
            &admin,
            pb::SetAccountEnabledRequest {
                username: username.into(),
                enabled: false,
            },
        ))
        .await
        .expect("disable")
        .into_inner();
    assert_eq!(r.sessions_revoked, 2);
    for token in [&s.judge, &second] {
        let r = hs
            .get_hearing(authed(
                token,
                pb::GetHearingRequest {
                    hearing_id: s.hearing.id.clone(),
                },
            ))
            .await;
        assert_status(r, Code::Unauthenticated, "revoked");
    }
    assert_status(
        auth.login(login(username, &password)).await,
        Code::Unauthenticated,
        "disabled",
    );
    let ended = until_ended(&mut watch).await;
    assert_eq!(ended.code(), Code::Unauthenticated, "{}", ended.message());

    // The change is audited; enabling again lets the judge sign in.
    let store = hearing_core::store::Store::connect(&t.database_url)
        .await
        .unwrap();
    let user = store.user_by_username(username).await.unwrap().unwrap().0;
    let audit = store.account_audit(user.id).await.unwrap();
    assert_eq!(
        audit,
        [("disabled".to_string(), "admin admin.one".to_string(), 2)]
    );
    auth.set_account_enabled(authed(
        &admin,
        pb::SetAccountEnabledRequest {
            username: username.into(),
            enabled: true,
        },
    ))
    .await
    .expect("enable");
    auth.login(login(username, &password))
        .await
        .expect("sign in once enabled");
    t.stop().await;
}

async fn an_expired_token_ends_its_stream(db: Db) {
    let t = TestApp::start_with(db, |app| {
        quick_recheck(app).with_token_ttls(Duration::from_secs(4), Duration::from_secs(3600))
    })
    .await;
    let s = t.scene("expiry", pb::Visibility::Public).await;
    let (clerk, _) = t.staff("clerk.brief", Role::Clerk, "Clerk Brief").await;
    let mut hs = t.hearings().await;
    let mut watch = watch_from_start(&mut hs, &clerk, &s.hearing.id).await;
    let ended = until_ended(&mut watch).await;
    assert_eq!(ended.code(), Code::Unauthenticated, "{}", ended.message());
    assert!(ended.message().contains("expired"), "{}", ended.message());
    t.stop().await;
}

async fn a_media_stream_ends_when_its_token_is_revoked(db: Db) {
    let t = TestApp::start_with(db, quick_recheck).await;
    let s = t.scene("media-logout", pb::Visibility::Public).await;
    t.open_on_record(&s).await;
    let mut signals = watch_media(t.channel().await, &s.judge, &s.hearing.id).await;
    t.auth()
        .await
        .logout(authed(&s.judge, pb::LogoutRequest {}))
        .await
        .expect("logout");
    let ended = until_ended(&mut signals).await;
    assert_eq!(ended.code(), Code::Unauthenticated, "{}", ended.message());
    assert!(ended.message().contains("revoked"), "{}", ended.message());
    t.stop().await;
}

/// WatchMedia streams count with WatchHearing streams against the token's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_streams_count_against_the_token_limit() {
    let t = TestApp::start_with(Db::Sqlite, |app| {
        app.with_limits(Limits {
            watch_streams_per_token: 2,
            ..Limits::default()
        })
    })
    .await;
    let s = t.scene("media-limit", pb::Visibility::Public).await;
    t.open_on_record(&s).await;
    let mut hs = t.hearings().await;
    let _events = watch_from_start(&mut hs, &s.judge, &s.hearing.id).await;
    let _signals = watch_media(t.channel().await, &s.judge, &s.hearing.id).await;
    let over = pb::media_service_client::MediaServiceClient::new(t.channel().await)
        .watch_media(authed(
            &s.judge,
            pb::WatchMediaRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await;
    assert_status(over, Code::ResourceExhausted, "watch-streams-per-token = 2");
    t.stop().await;
}

/// The value of counter `name` on the server's `/metrics` (0 before its first increment).
async fn counter(t: &TestApp, name: &str) -> f64 {
    let (_, body) = http_get(t.addr, "/metrics", None).await;
    String::from_utf8(body)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_watchers_of_a_hearing_share_one_reader_of_the_log() {
    use hearing_core::domain::machine::Command;
    let t = TestApp::start_with(Db::Sqlite, |app| {
        app.with_watch_poll(Duration::from_millis(50))
    })
    .await;
    let s = t.scene("tail", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    let mut watchers = Vec::new();
    let tokens: Vec<String> = [s.judge.clone(), s.clerk.clone()]
        .into_iter()
        .chain(s.people.iter().map(|p| p.2.clone()))
        .collect();
    for token in tokens.iter().chain(&tokens) {
        watchers.push(watch_from_start(&mut hs, token, &s.hearing.id).await);
    }
    let n = watchers.len();
    wait_until("the tail to read the log", PATIENCE, || async {
        counter(&t, "opencourt_log_tail_reads_total").await >= 3.0
    })
    .await;
    let (tail_a, reads_a) = (
        counter(&t, "opencourt_log_tail_reads_total").await,
        counter(&t, "opencourt_log_reads_total").await,
    );
    wait_until("ten more tail reads", PATIENCE, || async {
        counter(&t, "opencourt_log_tail_reads_total").await >= tail_a + 10.0
    })
    .await;
    let (tail_b, reads_b) = (
        counter(&t, "opencourt_log_tail_reads_total").await,
        counter(&t, "opencourt_log_reads_total").await,
    );
    // One read per poll for the hearing, whatever the number of watchers (each watcher polling
    // on its own would read {n} times per poll).
    assert!(
        reads_b - reads_a <= (tail_b - tail_a) + 2.0,
        "{n} idle watchers read the log {} times while the tail read it {} times",
        reads_b - reads_a,
        tail_b - tail_a
    );
    // What another node appends (here: another App on the same database, with its own hub)
    // still reaches every watcher, through the tail.
    let other = hearing_core::app::App::new(
        hearing_core::store::Store::connect(&t.database_url)
            .await
            .unwrap(),
    );
    let judge = other.authenticate(&s.judge).await.unwrap();
    let hid = hearing_core::domain::HearingId::parse("hearing_id", &s.hearing.id).unwrap();
    let (_, appended) = other.command(&judge, hid, |_| Command::Open).await.unwrap();
    let seq = appended.last().unwrap().seq;
    for w in &mut watchers {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let e = w.message().await.unwrap().expect("an event");
                if e.seq >= seq {
                    return;
                }
            }
        })
        .await
        .expect("another node's event reached the watcher");
    }
    t.stop().await;
}

both_dbs!(
    logout_revokes_the_token_and_ends_its_streams,
    disabling_an_account_revokes_every_session_and_refuses_sign_in,
    an_expired_token_ends_its_stream,
    a_media_stream_ends_when_its_token_is_revoked,
);
