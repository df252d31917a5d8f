//! `opencourt bench`: a load generator. It starts a real server on an ephemeral port over the
//! chosen database and drives many hearings at once through real gRPC clients: every participant
//! redeems an invitation, watches the hearing's events, joins and is admitted, and the judge adds
//! notes. It reports RPC throughput and the delay from an event's commit to its delivery to each
//! watcher.
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::authed;
use anyhow::Context;
use chrono::Utc;
use futures::future::try_join_all;
use hearing_core::app::{App, Caller};
use hearing_core::domain::*;
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use tokio::sync::Mutex;
use tonic::transport::Channel;

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Hearings run at once.
    #[arg(long, default_value_t = 50)]
    pub hearings: usize,
    /// Participants per hearing, the presiding judge included.
    #[arg(long, default_value_t = 10)]
    pub participants: usize,
    /// Notes the judge adds in each hearing once everyone is in.
    #[arg(long, default_value_t = 10)]
    pub notes: usize,
    /// Database to run on (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
}

pub struct Report {
    pub rpcs: u64,
    pub elapsed: Duration,
    pub events: u64,
    pub deliveries: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<Report> {
    let tmp = tempfile_dir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.join("bench.db").display()));
    let app = App::connect(&url)
        .await
        .context("opening the bench database")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(
        crate::server::Settings::default(),
        app.clone(),
        listener,
        async {
            let _ = stop_rx.await;
        },
    ));

    // Set-up (not measured): a judge per hearing, cases, hearings, invitations.
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let password = "bench-password".to_string();
    let mut plans = Vec::new();
    eprintln!(
        "bench: setting up {} hearings x {} participants",
        args.hearings, args.participants
    );
    for i in 0..args.hearings {
        let judge = app
            .add_user(
                Username::parse("username", &format!("bj{}-{i}", &run_id[..8]))?,
                DisplayName::parse("display_name", &format!("Judge {i}"))?,
                Role::Judge,
                password.clone(),
            )
            .await?;
        let as_judge = Caller::Staff(judge.clone());
        let case = app
            .create_case(
                &as_judge,
                CaseNumber::parse("case_number", &format!("B-{}-{i}", &run_id[..8]))?,
                Title::parse("title", "Bench case")?,
                Visibility::Public,
            )
            .await?;
        let now = Utc::now();
        let h = app
            .schedule_hearing(
                &as_judge,
                case.id,
                Title::parse("title", "Bench")?,
                now,
                now + chrono::Duration::hours(1),
                None,
            )
            .await?;
        let mut codes = Vec::new();
        for p in 1..args.participants {
            let role = [
                Role::Counsel,
                Role::Party,
                Role::Witness,
                Role::Prosecutor,
                Role::Interpreter,
            ][p % 5];
            let (_, code) = app
                .invite(
                    &as_judge,
                    h.id,
                    DisplayName::parse("display_name", &format!("P{p}"))?,
                    role,
                )
                .await?;
            codes.push(code);
        }
        app.command(&as_judge, h.id, |_| machine::Command::Open)
            .await?;
        plans.push((judge.username.as_str().to_string(), h.id.to_string(), codes));
    }

    let endpoint = Channel::from_shared(format!("http://{addr}"))?;
    let rpcs = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let start = Instant::now();
    eprintln!("bench: running");
    let hearings = plans.into_iter().map(|(judge, hid, codes)| {
        let (endpoint, rpcs, latencies, password) = (
            endpoint.clone(),
            rpcs.clone(),
            latencies.clone(),
            password.clone(),
        );
        let notes = args.notes;
        async move {
            run_hearing(
                endpoint, judge, password, hid, codes, notes, rpcs, latencies,
            )
            .await
        }
    });
    let events_per_hearing = try_join_all(hearings).await?;
    let elapsed = start.elapsed();
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&tmp);

    let mut l = latencies.lock().await.clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok(Report {
        rpcs: rpcs.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
        events: events_per_hearing.iter().sum(),
        deliveries: l.len(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: l.last().copied().unwrap_or(0.0),
    })
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("opencourt-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// One hearing: everyone watches, joins and is admitted, the judge adds notes; every watcher
/// reads until it has seen the final note. Returns the number of events the run appended.
#[allow(clippy::too_many_arguments)]
async fn run_hearing(
    endpoint: tonic::transport::Endpoint,
    judge: String,
    password: String,
    hid: String,
    codes: Vec<String>,
    notes: usize,
    rpcs: Arc<std::sync::atomic::AtomicU64>,
    latencies: Arc<Mutex<Vec<f64>>>,
) -> anyhow::Result<u64> {
    use std::sync::atomic::Ordering::Relaxed;
    let count = || rpcs.fetch_add(1, Relaxed);
    // Each person has their own connection, as real clients do (one HTTP/2 connection carries
    // a limited number of concurrent streams, and every watcher holds one open).
    let ch = endpoint.connect().await?;
    let mut auth = AuthServiceClient::new(ch.clone());
    let mut hs = HearingServiceClient::new(ch.clone());
    let jt = auth
        .login(pb::LoginRequest {
            username: judge,
            password,
        })
        .await?
        .into_inner()
        .token;
    count();
    let mut tokens = vec![jt.clone()];
    for code in codes {
        tokens.push(
            auth.redeem_invite(pb::RedeemInviteRequest { code })
                .await?
                .into_inner()
                .token,
        );
        count();
    }
    // Measure live delivery only: watchers start at the head, after the invitations are redeemed.
    let start_seq = hs
        .get_hearing(authed(
            &jt,
            pb::GetHearingRequest {
                hearing_id: hid.clone(),
            },
        )?)
        .await?
        .into_inner()
        .last_seq;
    count();
    let last_note = format!("final note of {hid}");
    // Watchers first, from the current head, so they see every event of the run.
    let mut watchers = Vec::new();
    for t in &tokens {
        let mut own = HearingServiceClient::new(endpoint.connect().await?);
        let mut st = own
            .watch_hearing(authed(
                t,
                pb::WatchHearingRequest {
                    hearing_id: hid.clone(),
                    after_seq: start_seq,
                },
            )?)
            .await?
            .into_inner();
        count();
        let (latencies, last_note) = (latencies.clone(), last_note.clone());
        watchers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(e) = st.message().await? {
                let at = e.at.map(|t| t.seconds as f64 * 1e3 + t.nanos as f64 / 1e6).unwrap_or(0.0);
                let now = Utc::now();
                mine.push(now.timestamp_millis() as f64 + f64::from(now.timestamp_subsec_nanos() % 1_000_000) / 1e6 - at);
                if matches!(&e.payload, Some(pb::hearing_event::Payload::Note(n)) if n.text == last_note) {
                    break;
                }
            }
            latencies.lock().await.extend(mine);
            anyhow::Ok(())
        }));
    }
    for t in &tokens {
        let p = hs
            .join_hearing(authed(
                t,
                pb::JoinHearingRequest {
                    hearing_id: hid.clone(),
                },
            )?)
            .await?
            .into_inner();
        count();
        if p.presence == pb::Presence::Waiting as i32 {
            hs.admit_participant(authed(
                &jt,
                pb::AdmitParticipantRequest {
                    hearing_id: hid.clone(),
                    participant_id: p.id,
                },
            )?)
            .await?;
            count();
        }
    }
    for i in 0..notes {
        let text = if i + 1 == notes {
            last_note.clone()
        } else {
            format!("note {i}")
        };
        hs.add_note(authed(
            &jt,
            pb::AddNoteRequest {
                hearing_id: hid.clone(),
                text,
            },
        )?)
        .await?;
        count();
    }
    for w in watchers {
        tokio::time::timeout(Duration::from_secs(120), w)
            .await
            .context("a watcher stalled")???;
    }
    let end = hs
        .get_hearing(authed(&jt, pb::GetHearingRequest { hearing_id: hid })?)
        .await?
        .into_inner()
        .last_seq;
    count();
    Ok(end - start_seq)
}
