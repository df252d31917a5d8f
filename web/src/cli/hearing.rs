//! `opencourt hearing`: the presiding judge's or a clerk's controls from a terminal, over the
//! same gRPC API a browser uses — open, invite, admit, go on and off the record, adjourn, and
//! read what landed on the case record (recordings, tracks, transcript).
use std::path::PathBuf;

use super::authed;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::case_service_client::CaseServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use pb::record_service_client::RecordServiceClient;
use tonic::transport::Channel;

#[derive(Args, Debug)]
pub struct HearingArgs {
    /// The server's URL.
    #[arg(
        long,
        env = "OPENCOURT_SERVER",
        default_value = "http://127.0.0.1:7400"
    )]
    pub server: String,
    /// A staff username (the presiding judge, or a clerk).
    #[arg(long)]
    pub user: String,
    /// The environment variable holding the password.
    #[arg(long)]
    pub password_env: String,
    /// The hearing.
    #[arg(long)]
    pub hearing: String,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// State and participants (with their ids and presence).
    Show,
    /// Open the waiting room (the room's media starts).
    Open,
    /// Invite someone; prints their one-time code.
    Invite {
        #[arg(long)]
        name: String,
        /// prosecutor, counsel, party, witness, expert, interpreter or observer
        #[arg(long)]
        role: String,
    },
    /// Admit a participant from the waiting room, or every one waiting with --all.
    Admit {
        participant: Option<String>,
        #[arg(long, conflicts_with = "participant")]
        all: bool,
    },
    /// Go on the record (recording and transcription start).
    OnRecord,
    /// Go off the record (a recess): nothing is recorded or transcribed until back on.
    OffRecord {
        #[arg(long)]
        reason: String,
    },
    /// End the hearing; the transcript follows within seconds.
    Adjourn {
        #[arg(long, default_value = "adjourned")]
        reason: String,
    },
    /// The hearing's transcript: txt, vtt, srt or json.
    Transcript {
        #[arg(long, default_value = "txt")]
        format: String,
    },
    /// The recordings and tracks on the case record (with hashes), downloaded into --out.
    Record {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn role(s: &str) -> anyhow::Result<pb::Role> {
    Ok(match s {
        "prosecutor" => pb::Role::Prosecutor,
        "counsel" => pb::Role::Counsel,
        "party" => pb::Role::Party,
        "witness" => pb::Role::Witness,
        "expert" => pb::Role::Expert,
        "interpreter" => pb::Role::Interpreter,
        "observer" => pb::Role::Observer,
        other => bail!("--role {other:?}: not an invitable role (prosecutor, counsel, party, witness, expert, interpreter, observer)"),
    })
}

pub async fn run(a: HearingArgs) -> anyhow::Result<()> {
    let channel = Channel::from_shared(a.server.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", a.server))?;
    let password =
        std::env::var(&a.password_env).with_context(|| format!("reading ${}", a.password_env))?;
    let token = AuthServiceClient::new(channel.clone())
        .login(pb::LoginRequest {
            username: a.user.clone(),
            password,
        })
        .await
        .context("signing in")?
        .into_inner()
        .token;
    let mut hs = HearingServiceClient::new(channel.clone());
    let id = a.hearing.clone();
    let get = |hs: &mut HearingServiceClient<Channel>| {
        let req = authed(
            &token,
            pb::GetHearingRequest {
                hearing_id: id.clone(),
            },
        );
        let mut hs = hs.clone();
        async move { Ok::<_, anyhow::Error>(hs.get_hearing(req?).await?.into_inner()) }
    };
    match a.action {
        Action::Show => {
            let h = get(&mut hs).await?;
            println!("{}  {}", h.title, h.state().as_str_name());
            for p in h.participants {
                println!(
                    "  {}  {:<28} {:<18} {}{}",
                    p.id,
                    p.display_name,
                    p.role().as_str_name(),
                    p.presence().as_str_name(),
                    if p.muted { " (muted)" } else { "" }
                );
            }
        }
        Action::Open => {
            hs.open_hearing(authed(&token, pb::OpenHearingRequest { hearing_id: id })?)
                .await?;
            println!("opened");
        }
        Action::Invite { name, role: r } => {
            let r = hs
                .invite_participant(authed(
                    &token,
                    pb::InviteParticipantRequest {
                        hearing_id: id,
                        display_name: name,
                        role: role(&r)? as i32,
                    },
                )?)
                .await?
                .into_inner();
            let p = r.participant.unwrap_or_default();
            println!("participant {}  code {}", p.id, r.code);
        }
        Action::Admit { participant, all } => {
            let ids: Vec<String> = match (participant, all) {
                (Some(p), _) => vec![p],
                (None, true) => get(&mut hs)
                    .await?
                    .participants
                    .into_iter()
                    .filter(|p| p.presence() == pb::Presence::Waiting)
                    .map(|p| p.id)
                    .collect(),
                (None, false) => bail!("give a participant id, or --all"),
            };
            for p in ids {
                hs.admit_participant(authed(
                    &token,
                    pb::AdmitParticipantRequest {
                        hearing_id: id.clone(),
                        participant_id: p.clone(),
                    },
                )?)
                .await?;
                println!("admitted {p}");
            }
        }
        Action::OnRecord => {
            hs.go_on_record(authed(&token, pb::GoOnRecordRequest { hearing_id: id })?)
                .await?;
            println!("on the record");
        }
        Action::OffRecord { reason } => {
            hs.go_off_record(authed(
                &token,
                pb::GoOffRecordRequest {
                    hearing_id: id,
                    reason,
                },
            )?)
            .await?;
            println!("off the record");
        }
        Action::Adjourn { reason } => {
            hs.adjourn_hearing(authed(
                &token,
                pb::AdjournHearingRequest {
                    hearing_id: id,
                    reason,
                },
            )?)
            .await?;
            println!("adjourned");
        }
        Action::Transcript { format } => {
            let format = match format.as_str() {
                "json" => pb::TranscriptFormat::Json,
                "vtt" => pb::TranscriptFormat::Vtt,
                "srt" => pb::TranscriptFormat::Srt,
                "txt" => pb::TranscriptFormat::Txt,
                other => bail!("--format {other:?}: use txt, vtt, srt or json"),
            };
            let t = RecordServiceClient::new(channel)
                .get_transcript(authed(
                    &token,
                    pb::GetTranscriptRequest {
                        hearing_id: id,
                        format: format as i32,
                    },
                )?)
                .await?
                .into_inner();
            print!("{}", t.rendered);
        }
        Action::Record { out } => {
            let h = get(&mut hs).await?;
            let rec = CaseServiceClient::new(channel)
                .get_case_record(authed(
                    &token,
                    pb::GetCaseRecordRequest { case_id: h.case_id },
                )?)
                .await?
                .into_inner();
            let Some(hr) = rec
                .hearings
                .into_iter()
                .find(|r| r.hearing.as_ref().is_some_and(|h| h.id == id))
            else {
                bail!("hearing {id} is not on its case's record");
            };
            for f in hr.recordings.iter().chain(&hr.tracks) {
                println!(
                    "{:<8} {:<48} {:>8.1} s  sha256 {}  {}",
                    f.kind,
                    f.file,
                    f.duration_ms as f64 / 1000.0,
                    f.sha256,
                    f.download_path
                );
                if let Some(dir) = &out {
                    let to = dir.join(&f.file);
                    download(&a.server, &token, &f.download_path, &to).await?;
                    let got =
                        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&to)?));
                    if got != f.sha256 {
                        bail!(
                            "{}: downloaded SHA-256 {got} is not the record's {}",
                            to.display(),
                            f.sha256
                        );
                    }
                }
            }
            println!(
                "transcript: {}",
                if hr.has_transcript {
                    format!("{} segments", hr.transcript_segments)
                } else {
                    "not yet".into()
                }
            );
        }
    }
    Ok(())
}

/// GETs `path` with the bearer token into `to`.
async fn download(
    server: &str,
    token: &str,
    path: &str,
    to: &std::path::Path,
) -> anyhow::Result<()> {
    let host = server.trim_start_matches("http://").trim_end_matches('/');
    let (status, body) = http_get(host, path, Some(token)).await?;
    if status != 200 {
        bail!(
            "GET {path}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(to, &body)?;
    Ok(())
}

/// A plain HTTP/1.1 GET on the API's port (`/media`, `/metrics`): (status, body), a chunked
/// body reassembled.
pub async fn http_get(
    host: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("a malformed HTTP response")?;
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")?;
    let body = &buf[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let nl = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a malformed chunk")?;
        let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl])?.trim(), 16)?;
        if n == 0 || rest.len() < nl + 2 + n {
            break;
        }
        out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
        rest = &rest[(nl + 4 + n).min(rest.len())..];
    }
    Ok((status, out))
}
