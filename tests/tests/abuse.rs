//! 10,000 malformed or hostile requests against a real `opencourt serve` on this machine (a
//! bounded loop, never another host): unknown methods, oversized and truncated gRPC messages,
//! floods of sign-ins, redemptions and watch streams. Afterwards the server still answers, has
//! not panicked, keeps `/metrics` to a bounded number of series, and a legitimate hearing — from
//! another client address — still runs: a case, a hearing, an invitation redeemed, the hearing
//! opened, joined, the participant admitted and a note kept. The server's resident memory
//! before and after is printed (and bounded generously); docs/BENCHMARKS.md has the figures.
use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hearing_core::app::App;
use hearing_core::domain::{DisplayName, Role, Username};
use hearing_core::store::Store;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::auth_service_client::AuthServiceClient;
use pb::case_service_client::CaseServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

/// The attacker's address and the court's (both loopback: the limits count them apart).
const ATTACKER: &str = "127.0.0.1";
const COURT: &str = "127.0.0.2";
/// Requests in flight at once during the flood.
const CONCURRENCY: usize = 16;
const PASSWORD: &str = "pw-legit-0123456789";

struct Server {
    child: std::process::Child,
    addr: SocketAddr,
    stderr: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Best effort: a failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str, data: &std::path::Path) -> Server {
    let stderr = data.join("server.stderr");
    let mut child = std::process::Command::new(opencourt_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--no-worker"])
        .args(["--database-url", database_url])
        .arg("--data")
        .arg(data)
        .env("OPENCOURT_ICE_LOCAL_ADDRESS", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn opencourt serve");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").expect("stdout");
        if let Some(a) = line.strip_prefix("opencourt listening on ") {
            break a.trim().parse().expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        stderr,
    }
}

/// A channel to `addr` whose connections come from `from`.
async fn channel_from(addr: SocketAddr, from: &str) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .local_address(Some(from.parse::<IpAddr>().unwrap()))
        .connect()
        .await
        .expect("connect")
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// One raw gRPC POST to `path` with `body` as the whole request body (framing included, or
/// not): what a hostile client can send that a generated stub never would.
async fn raw_call(channel: Channel, path: String, body: Vec<u8>) -> Code {
    use tower::ServiceExt;
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://court.test{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(http_body_util::Full::new(
            tonic::codegen::Bytes::from(body),
        )))
        .unwrap();
    match channel.oneshot(req).await {
        Err(_) => Code::Unavailable,
        Ok(res) => {
            let status = |h: &http::HeaderMap| {
                h.get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(Code::from_i32)
            };
            if let Some(c) = status(res.headers()) {
                return c;
            }
            use http_body_util::BodyExt;
            match res.into_body().collect().await {
                Ok(b) => b.trailers().and_then(status).unwrap_or(Code::Unknown),
                Err(_) => Code::Unavailable,
            }
        }
    }
}

/// The watch streams the flood keeps open.
type Held = std::sync::Arc<std::sync::Mutex<Vec<tonic::Streaming<pb::HearingEvent>>>>;

/// A gRPC frame: uncompressed, with the length it claims (which may be a lie).
fn frame(claimed_len: u32, bytes: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8];
    f.extend_from_slice(&claimed_len.to_be_bytes());
    f.extend_from_slice(bytes);
    f
}

/// The i-th hostile request of `total`; returns the gRPC code it was answered with and a label.
async fn hostile(
    i: usize,
    channel: Channel,
    participant_token: String,
    hearing_id: String,
    held: Held,
) -> (&'static str, Code) {
    let code_of = |r: Result<Code, tonic::Status>| match r {
        Ok(c) => c,
        Err(s) => s.code(),
    };
    match i % 10 {
        // unknown methods, under court.v1 and elsewhere
        0 | 1 => {
            let path = match i % 3 {
                0 => format!("/court.v1.AuthService/Guess{i}"),
                1 => format!("/court.v1.NoSuchService{i}/Login"),
                _ => format!("/evil.v{i}/x"),
            };
            (
                "unknown method",
                raw_call(channel, path, frame(0, &[])).await,
            )
        }
        // oversized messages (a 100 KiB password; the limit is 64 KiB)
        2 | 3 => {
            let r = AuthServiceClient::new(channel)
                .login(pb::LoginRequest {
                    username: "judge.target".into(),
                    password: "x".repeat(100 * 1024),
                })
                .await;
            ("oversized", code_of(r.map(|_| Code::Ok)))
        }
        // truncated frames, and frames of garbage
        4 | 5 => {
            let (path, body) = match i % 4 {
                0 => ("/court.v1.AuthService/Login", frame(4096, b"\x0a\x05judge")),
                1 => ("/court.v1.HearingService/WatchHearing", vec![0, 0, 0]),
                2 => (
                    "/court.v1.HearingService/AddNote",
                    frame(6, b"\x0a\xff\xff\xff\xff\x0f"),
                ),
                _ => ("/court.v1.AuthService/RedeemInvite", {
                    let mut f = frame(8, b"\xde\xad\xbe\xef\xde\xad\xbe\xef");
                    f[0] = 1; // "compressed", with no compression agreed
                    f
                }),
            };
            (
                "truncated or garbage",
                raw_call(channel, path.into(), body).await,
            )
        }
        // sign-in flood: the target account and names that do not exist
        6 | 7 => {
            let username = if i.is_multiple_of(2) {
                "judge.target".to_string()
            } else {
                format!("nobody.{i}")
            };
            let r = AuthServiceClient::new(channel)
                .login(pb::LoginRequest {
                    username,
                    password: format!("guess-{i}"),
                })
                .await;
            ("sign-in flood", code_of(r.map(|_| Code::Ok)))
        }
        // redemption flood
        8 => {
            let r = AuthServiceClient::new(channel)
                .redeem_invite(pb::RedeemInviteRequest {
                    code: format!("{i:040x}"),
                })
                .await;
            ("redemption flood", code_of(r.map(|_| Code::Ok)))
        }
        // watch flood: a real participant's token (bounded per token), and made-up tokens
        _ => {
            let token = if i % 20 == 9 {
                participant_token
            } else {
                format!("oct_{i:064x}")
            };
            let r = HearingServiceClient::new(channel)
                .watch_hearing(authed(
                    &token,
                    pb::WatchHearingRequest {
                        hearing_id,
                        after_seq: 0,
                    },
                ))
                .await;
            // An accepted stream is read once and then held open until the flood ends.
            let r = match r {
                Ok(s) => {
                    let mut s = s.into_inner();
                    let _ = s.message().await;
                    held.lock().unwrap().push(s);
                    Ok(Code::Ok)
                }
                Err(e) => Err(e),
            };
            ("watch flood", code_of(r))
        }
    }
}

/// The judge's token, signed in from the court's channel.
async fn judge_token(court: &Channel) -> String {
    AuthServiceClient::new(court.clone())
        .login(pb::LoginRequest {
            username: "judge.legit".into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("the judge signs in")
        .into_inner()
        .token
}

/// A public case and a hearing at `at_hour` from now, with one invited person of `role` whose
/// invitation is redeemed: (hearing, that person's token).
async fn hearing_with_one_invited(
    court: &Channel,
    judge: &str,
    tag: &str,
    at_hour: i64,
    role: pb::Role,
) -> (pb::Hearing, String) {
    let case = CaseServiceClient::new(court.clone())
        .create_case(authed(
            judge,
            pb::CreateCaseRequest {
                case_number: format!("CV-{tag}"),
                title: "Zhang v. Harbour Shipping".into(),
                visibility: pb::Visibility::Public as i32,
            },
        ))
        .await
        .expect("create case")
        .into_inner();
    let mut hs = HearingServiceClient::new(court.clone());
    let hearing = hs
        .schedule_hearing(authed(
            judge,
            pb::ScheduleHearingRequest {
                case_id: case.id,
                title: "Mention".into(),
                starts_at: Some(ts_in(at_hour)),
                ends_at: Some(ts_in(at_hour + 1)),
                judge_id: String::new(),
                validate_only: false,
            },
        ))
        .await
        .expect("schedule")
        .into_inner();
    let invite = hs
        .invite_participant(authed(
            judge,
            pb::InviteParticipantRequest {
                hearing_id: hearing.id.clone(),
                display_name: format!("{role:?} {tag}"),
                role: role as i32,
            },
        ))
        .await
        .expect("invite")
        .into_inner();
    let token = AuthServiceClient::new(court.clone())
        .redeem_invite(pb::RedeemInviteRequest { code: invite.code })
        .await
        .expect("redeem")
        .into_inner()
        .token;
    (hearing, token)
}

/// The court's own hearing, from its own address: everything a hearing needs still works.
async fn legitimate_hearing(court: Channel, tag: &str, at_hour: i64) {
    let judge = judge_token(&court).await;
    let (hearing, counsel) =
        hearing_with_one_invited(&court, &judge, tag, at_hour, pb::Role::Counsel).await;
    let mut hs = HearingServiceClient::new(court.clone());
    let id = || hearing.id.clone();
    hs.open_hearing(authed(&judge, pb::OpenHearingRequest { hearing_id: id() }))
        .await
        .expect("open");
    let joined = hs
        .join_hearing(authed(
            &counsel,
            pb::JoinHearingRequest { hearing_id: id() },
        ))
        .await
        .expect("join")
        .into_inner();
    hs.admit_participant(authed(
        &judge,
        pb::AdmitParticipantRequest {
            hearing_id: id(),
            participant_id: joined.id,
        },
    ))
    .await
    .expect("admit");
    let mut watch = watch_from_start(&mut hs, &judge, &hearing.id).await;
    hs.add_note(authed(
        &judge,
        pb::AddNoteRequest {
            hearing_id: id(),
            text: format!("{tag}: the court sat"),
        },
    ))
    .await
    .expect("note");
    let noted = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(e) = watch.message().await.expect("watch") {
            if matches!(&e.payload, Some(pb::hearing_event::Payload::Note(n)) if n.text.contains(tag))
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(noted, Ok(true), "the note reached the judge's watch");
    hs.adjourn_hearing(authed(
        &judge,
        pb::AdjournHearingRequest {
            hearing_id: id(),
            reason: "done".into(),
        },
    ))
    .await
    .expect("adjourn");
}

/// The `opencourt_rpc_total` series bound: every court.v1 method plus `unknown`, times the 17
/// gRPC codes.
fn rpc_series_bound() -> usize {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(opencourt_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let methods: usize = set
        .file
        .iter()
        .flat_map(|f| f.service.iter())
        .map(|s| s.method.len())
        .sum();
    (methods + 1) * 17
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_leave_the_court_working() {
    const REQUESTS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("opencourt.db").display());
    {
        let app = App::new(Store::connect(&database_url).await.unwrap());
        for (name, role) in [("judge.legit", Role::Judge), ("judge.target", Role::Judge)] {
            app.add_user(
                Username::parse("username", name).unwrap(),
                DisplayName::parse("display_name", "Judge").unwrap(),
                role,
                PASSWORD.into(),
            )
            .await
            .unwrap();
        }
    }
    let server = start_server(&database_url, dir.path());
    let court = channel_from(server.addr, COURT).await;
    let attacker = channel_from(server.addr, ATTACKER).await;

    // A hearing the attacker holds a real participant token of, to flood with watches.
    let judge = judge_token(&court).await;
    let (target, participant_token) =
        hearing_with_one_invited(&court, &judge, "TARGET", 1, pb::Role::Observer).await;
    let target_hearing = target.id;
    legitimate_hearing(court.clone(), "before", 3).await;

    // Two rounds of half the requests each: memory that grows in the first round but not in
    // the second is the allocator keeping what it used once, not a leak.
    let pid = server.child.id();
    let rss_before = vm_rss_kib(pid);
    let started = Instant::now();
    let held = Held::default();
    let mut by_kind: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut rss_rounds = Vec::new();
    let mut answered = 0;
    for round in [0..REQUESTS / 2, REQUESTS / 2..REQUESTS] {
        let mut results = futures::stream::iter(round)
            .map(|i| {
                hostile(
                    i,
                    attacker.clone(),
                    participant_token.clone(),
                    target_hearing.clone(),
                    held.clone(),
                )
            })
            .buffer_unordered(CONCURRENCY);
        while let Some((kind, code)) = results.next().await {
            *by_kind.entry((kind, format!("{code:?}"))).or_default() += 1;
            answered += 1;
        }
        rss_rounds.push(vm_rss_kib(pid));
    }
    let took = started.elapsed();
    let (rss_mid, rss_after) = (rss_rounds[0], rss_rounds[1]);
    let watches_held = held.lock().unwrap().len();
    held.lock().unwrap().clear();
    assert_eq!(answered, REQUESTS);

    // Still answering, and the court's hearing still runs end to end.
    legitimate_hearing(court.clone(), "after", 5).await;

    let (status, metrics) = http_get(server.addr, "/metrics", None).await;
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    let series = metrics
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    let rpc_series = metrics
        .lines()
        .filter(|l| l.starts_with("opencourt_rpc_total{"))
        .count();

    println!(
        "abuse: {REQUESTS} hostile requests in {:.1} s ({CONCURRENCY} at once)",
        took.as_secs_f64()
    );
    for ((kind, code), n) in &by_kind {
        println!("abuse:   {kind:<22} {code:<18} {n}");
    }
    println!(
        "abuse: server VmRSS {rss_before} KiB before, {rss_mid} KiB after {} requests, {rss_after} KiB after {REQUESTS}",
        REQUESTS / 2
    );
    println!("abuse: watch streams held open at the end of the flood: {watches_held}");
    println!(
        "abuse: /metrics {series} series, of which opencourt_rpc_total {rpc_series} (bound {})",
        rpc_series_bound()
    );

    // Every flood met its limit.
    for (kind, code) in [
        ("sign-in flood", "ResourceExhausted"),
        ("redemption flood", "ResourceExhausted"),
        ("watch flood", "ResourceExhausted"),
        ("oversized", "InvalidArgument"),
        ("truncated or garbage", "InvalidArgument"),
    ] {
        assert!(
            by_kind.contains_key(&(kind, code.to_string())),
            "no {kind} request was answered {code}: {by_kind:?}"
        );
    }
    assert!(rpc_series <= rpc_series_bound(), "{rpc_series} rpc series");
    // Everything but the RPC counters is a fixed set of series (a few dozen).
    assert!(series <= rpc_series_bound() + 200, "{series} series");
    assert!(
        rss_after < rss_before + 512 * 1024,
        "resident memory grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert!(
        rss_after < rss_mid + 64 * 1024,
        "resident memory kept growing: {rss_mid} KiB after the first round, {rss_after} KiB after the second"
    );
    let stderr = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(
        !stderr.contains("panicked"),
        "the server panicked:\n{stderr}"
    );
}
