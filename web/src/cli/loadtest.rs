//! `opencourt loadtest`: whole hearings under load. It starts a real `opencourt serve` (SQLite,
//! in-process transcription worker, live captions) as a child process and runs N hearings at
//! once, each with four `opencourt bot` processes (the presiding judge, counsel, a party and a
//! witness) that take turns speaking espeak-ng sentences with their cameras on. The bots send
//! pre-encoded media, so the server's CPU is what is measured. It reports, per run: the server's
//! CPU per hearing, whether any audio was lost or the recording fell behind real time, the delay
//! from the end of a spoken sentence to its live caption, and from adjournment to the complete
//! transcript on the case record.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::authed;
use anyhow::{bail, Context};
use hearing_core::app::App;
use hearing_core::domain::events::MediaKind;
use hearing_core::domain::*;
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::case_service_client::CaseServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::Channel;

#[derive(clap::Args, Clone, Debug)]
pub struct LoadArgs {
    /// Hearings run at once, each with four bots taking turns to speak.
    #[arg(long, default_value_t = 1)]
    pub hearings: usize,
    /// How long the hearings stay on the record once every bot is connected (measured).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// The data directory whose models/ has tiny.en (`opencourt model fetch tiny.en`).
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
    /// Bots send no camera.
    #[arg(long)]
    pub no_video: bool,
}

/// Sentences the four bots say in turn.
const LINES: [(&str, &str); 4] = [
    (
        "judge",
        "The court will now hear the evidence about the shipping contract.",
    ),
    (
        "counsel",
        "Counsel for the claimant asks the court to admit the harbor records.",
    ),
    (
        "party",
        "I am the owner of the vessel and I signed the contract in March.",
    ),
    (
        "witness",
        "I saw the ship leave the harbor at dawn before the storm began.",
    ),
];
/// Seconds per speaking turn.
const TURN_S: u64 = 6;

/// A WAV of `slots` turns of `slot_s` seconds each: the sentence spoken (then silence), or
/// silence. Made with espeak-ng and sox.
pub fn speech_script(
    dir: &Path,
    name: &str,
    slot_s: u64,
    slots: &[Option<&str>],
) -> anyhow::Result<PathBuf> {
    let run = |cmd: &mut std::process::Command| -> anyhow::Result<()> {
        let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
        if !st.success() {
            bail!("{cmd:?} failed");
        }
        Ok(())
    };
    let len = slot_s.to_string();
    let mut parts = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        let part = dir.join(format!("{name}-{i}.wav"));
        match slot {
            Some(text) => {
                let raw = dir.join(format!("{name}-{i}-raw.wav"));
                run(std::process::Command::new("espeak-ng")
                    .args(["-v", "en-us", "-s", "150", "-w"])
                    .arg(&raw)
                    .arg(text))?;
                run(std::process::Command::new("sox")
                    .arg("-V1")
                    .arg(&raw)
                    .arg(&part)
                    .args(["pad", "0", &len, "trim", "0", &len]))?;
            }
            None => run(std::process::Command::new("sox")
                .args(["-n", "-r", "22050", "-c", "1", "-b", "16"])
                .arg(&part)
                .args(["trim", "0", &len]))?,
        }
        parts.push(part);
    }
    let out = dir.join(format!("{name}.wav"));
    run(std::process::Command::new("sox").args(&parts).arg(&out))?;
    Ok(out)
}

/// One run's figures.
#[derive(Debug)]
pub struct LoadReport {
    pub hearings: usize,
    /// Server CPU over the measured window, in cores, per hearing.
    pub cpu_per_hearing: f64,
    /// Recorded (mixed) media over on-record time, lowest of the hearings.
    pub recorded_ratio: f64,
    /// Video frames per second in the mixed recording (the view runs at 15), lowest of the
    /// hearings: an encoder that falls behind drops frames.
    pub recorded_fps: f64,
    /// Opus packets (20 ms each) in the mixed recording over its duration, lowest.
    pub mix_audio_ratio: f64,
    /// Opus packets in a participant's track over the time from their first packet to
    /// adjournment, lowest of all participants: audio lost on the way shows here.
    pub track_ratio: f64,
    pub captions: usize,
    pub caption_p50_ms: i64,
    pub caption_p95_ms: i64,
    /// Adjournment to the transcript on the record, slowest hearing.
    pub transcript_ms: i64,
}

impl LoadReport {
    /// No audio lost and the recording kept up with real time (2 % slack for the first
    /// packets' arrival and the last file's close).
    pub fn kept_up(&self) -> bool {
        self.recorded_ratio >= 0.98
            && self.recorded_fps >= 14.0
            && self.mix_audio_ratio >= 0.98
            && self.track_ratio >= 0.98
    }
}

/// Packets of the first `kind` ("v" or "a") stream in `file`, counted by ffprobe.
fn packets(file: &Path, kind: &str) -> anyhow::Result<u64> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            &format!("{kind}:0"),
            "-count_packets",
        ])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .context("ffprobe (Debian's ffmpeg)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("counting packets in {}: {text:?}", file.display()))
}

fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // fields after the command name (in parentheses): utime is the 14th field, stime the 15th
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
}

struct Bot {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Bot {
    async fn until(&mut self, prefix: &str) -> anyhow::Result<String> {
        tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = self.lines.next_line().await? {
                if line.starts_with(prefix) {
                    return Ok(line);
                }
            }
            bail!("a bot exited before {prefix:?}")
        })
        .await
        .with_context(|| format!("waiting for a bot's {prefix:?}"))?
    }
}

struct Hearing {
    id: String,
    judge: String,
    bots: Vec<Bot>,
    watch: tonic::Streaming<pb::HearingEvent>,
}

pub async fn run(a: LoadArgs) -> anyhow::Result<LoadReport> {
    let models = transcriber::model::models_dir(&a.data);
    if !models
        .join(transcriber::model::ModelName::TinyEn.file_name())
        .is_file()
    {
        bail!(
            "no tiny.en model in {}: run `opencourt model fetch tiny.en --data {}` first",
            models.display(),
            a.data.display()
        );
    }
    let tmp =
        std::env::temp_dir().join(format!("opencourt-load-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&tmp)?;
    std::os::unix::fs::symlink(std::fs::canonicalize(&models)?, tmp.join("models"))?;
    let url = format!("sqlite://{}", tmp.join("load.db").display());
    let app = App::connect(&url).await.context("opening the database")?;
    let password = "load-test-password-0123456789";
    for i in 0..a.hearings {
        app.add_user(
            Username::parse("username", &format!("judge{i}"))?,
            DisplayName::parse("display_name", &format!("Judge {i}"))?,
            Role::Judge,
            password.into(),
        )
        .await?;
    }

    // Media, made once (not measured): each bot's turns, and a camera.
    eprintln!("loadtest: making speech and video");
    let total_s = a.seconds + 40;
    let turns = total_s.div_ceil(TURN_S) as usize;
    let mut wavs = Vec::new();
    for (r, (name, line)) in LINES.iter().enumerate() {
        let slots: Vec<Option<&str>> = (0..turns).map(|t| (t % 4 == r).then_some(*line)).collect();
        wavs.push(speech_script(&tmp, name, TURN_S, &slots)?);
    }
    let video = tmp.join("camera.webm");
    if !a.no_video {
        let st = std::process::Command::new("gst-launch-1.0")
            .args([
                "-q",
                "videotestsrc",
                "pattern=ball",
                &format!("num-buffers={}", total_s * 15),
            ])
            .args(["!", "video/x-raw,width=640,height=360,framerate=15/1"])
            .args([
                "!",
                "vp8enc",
                "deadline=1",
                "cpu-used=8",
                "target-bitrate=500000",
            ])
            .args(["!", "webmmux", "!", "filesink"])
            .arg(format!("location={}", video.display()))
            .status()
            .context("gst-launch-1.0")?;
        if !st.success() {
            bail!("could not make the bots' camera video");
        }
    }

    let exe = std::env::current_exe()?;
    let mut server = tokio::process::Command::new(&exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .arg("--data")
        .arg(&tmp)
        .env("OPENCOURT_ICE_LOCAL_ADDRESS", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting opencourt serve")?;
    let server_pid = server.id().context("server pid")?;
    let mut out = BufReader::new(server.stdout.take().context("stdout")?).lines();
    let addr = loop {
        let line = out.next_line().await?.context("the server exited")?;
        if let Some(a) = line.strip_prefix("opencourt listening on ") {
            break a.trim().to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    let server_url = format!("http://{addr}");
    let channel = Channel::from_shared(server_url.clone())?.connect().await?;

    eprintln!("loadtest: {} hearing(s), 4 bots each", a.hearings);
    let mut hearings = Vec::new();
    for i in 0..a.hearings {
        hearings.push(
            setup(
                &channel,
                i,
                password,
                &server_url,
                &exe,
                &wavs,
                (!a.no_video).then_some(video.as_path()),
            )
            .await?,
        );
    }
    // Everyone connected: the measured window starts.
    for h in &mut hearings {
        for b in &mut h.bots {
            b.until("connected at ").await?;
        }
    }
    let t0 = (Instant::now(), cpu_ticks(server_pid)?);
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    let t1 = (Instant::now(), cpu_ticks(server_pid)?);
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let cores = (t1.1 - t0.1) as f64 / ticks_per_s / (t1.0 - t0.0).as_secs_f64();

    let mut hs = HearingServiceClient::new(channel.clone());
    for h in &hearings {
        hs.adjourn_hearing(authed(
            &h.judge,
            pb::AdjournHearingRequest {
                hearing_id: h.id.clone(),
                reason: "load test over".into(),
            },
        )?)
        .await?;
    }
    for h in &mut hearings {
        let stored = tokio::time::timeout(Duration::from_secs(900), async {
            while let Some(e) = h.watch.message().await? {
                if let Some(pb::hearing_event::Payload::TranscriptStored(_)) = e.payload {
                    return Ok(());
                }
            }
            bail!("the event stream ended")
        })
        .await;
        match stored {
            Ok(r) => r?,
            Err(_) => bail!("no transcript for hearing {} within 15 minutes", h.id),
        }
        for b in &mut h.bots {
            let _ = tokio::time::timeout(Duration::from_secs(20), b.child.wait()).await;
        }
    }

    // The figures, from the hearings' logs.
    let mut report = LoadReport {
        hearings: a.hearings,
        cpu_per_hearing: cores / a.hearings as f64,
        recorded_ratio: f64::MAX,
        recorded_fps: f64::MAX,
        mix_audio_ratio: f64::MAX,
        track_ratio: f64::MAX,
        captions: 0,
        caption_p50_ms: 0,
        caption_p95_ms: 0,
        transcript_ms: 0,
    };
    let mut delays = Vec::new();
    for h in &hearings {
        let id = HearingId::parse("hearing_id", &h.id)?;
        let events = app.system().events_after(id, 0, u32::MAX).await?;
        let at = |want: HearingState| {
            events
                .iter()
                .find(|e| matches!(e.payload(), Some(EventPayload::StateChanged { to, .. }) if to == want))
                .map(|e| e.clock_ms)
        };
        let (on, end) = (
            at(HearingState::OnRecord).unwrap_or(0),
            at(HearingState::Adjourned).unwrap_or(0),
        );
        let dir = tmp.join("media").join(&h.id);
        let (mut recorded, mut frames, mut mix_packets) = (0i64, 0u64, 0u64);
        let mut tracks: std::collections::HashMap<String, (i64, i64, i64)> = Default::default();
        for e in &events {
            match e.payload() {
                Some(EventPayload::MediaClosed {
                    kind: MediaKind::Segment,
                    file,
                    duration_ms,
                    ..
                }) => {
                    recorded += duration_ms as i64;
                    frames += packets(&dir.join(&file), "v")?;
                    mix_packets += packets(&dir.join(&file), "a")?;
                }
                Some(EventPayload::MediaClosed {
                    kind: MediaKind::Track,
                    participant_id: Some(p),
                    file,
                    start_ms,
                    end_ms,
                    ..
                }) => {
                    let t = tracks.entry(p.to_string()).or_insert((i64::MAX, 0, 0));
                    t.0 = t.0.min(start_ms as i64);
                    t.1 = t.1.max(end_ms as i64);
                    // 20 ms Opus packets, as they arrived
                    t.2 += 20 * packets(&dir.join(&file), "a")? as i64;
                }
                Some(EventPayload::Caption { end_ms, .. }) => {
                    delays.push(e.clock_ms - end_ms as i64)
                }
                Some(EventPayload::TranscriptStored { .. }) => {
                    report.transcript_ms = report.transcript_ms.max(e.clock_ms - end)
                }
                _ => {}
            }
        }
        report.recorded_ratio = report
            .recorded_ratio
            .min(recorded as f64 / (end - on).max(1) as f64);
        let secs = (recorded as f64 / 1000.0).max(0.001);
        report.recorded_fps = report.recorded_fps.min(frames as f64 / secs);
        report.mix_audio_ratio = report.mix_audio_ratio.min(mix_packets as f64 * 0.02 / secs);
        if tracks.len() < 4 {
            report.track_ratio = 0.0;
        }
        for (first, _, dur) in tracks.values() {
            // a track runs from its participant's first packet to adjournment
            report.track_ratio = report
                .track_ratio
                .min(*dur as f64 / (end - first).max(1) as f64);
        }
    }
    delays.sort();
    report.captions = delays.len();
    if !delays.is_empty() {
        report.caption_p50_ms = delays[delays.len() / 2];
        report.caption_p95_ms = delays[(delays.len() * 95 / 100).min(delays.len() - 1)];
    }
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(report)
}

/// Schedules hearing `i`, invites three, opens it on the record, starts its four bots and
/// admits the invited ones as they arrive.
async fn setup(
    channel: &Channel,
    i: usize,
    password: &str,
    server: &str,
    exe: &Path,
    wavs: &[PathBuf],
    video: Option<&Path>,
) -> anyhow::Result<Hearing> {
    let judge = AuthServiceClient::new(channel.clone())
        .login(pb::LoginRequest {
            username: format!("judge{i}"),
            password: password.into(),
        })
        .await?
        .into_inner()
        .token;
    let case = CaseServiceClient::new(channel.clone())
        .create_case(authed(
            &judge,
            pb::CreateCaseRequest {
                case_number: format!("LOAD-{}-{i}", uuid::Uuid::new_v4().simple()),
                title: format!("Load test {i}"),
                visibility: pb::Visibility::Public as i32,
            },
        )?)
        .await?
        .into_inner();
    let mut hs = HearingServiceClient::new(channel.clone());
    let now = chrono::Utc::now();
    let ts = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    let h = hs
        .schedule_hearing(authed(
            &judge,
            pb::ScheduleHearingRequest {
                case_id: case.id,
                title: format!("Load hearing {i}"),
                starts_at: Some(ts(now)),
                ends_at: Some(ts(now + chrono::Duration::hours(2))),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    let mut codes = Vec::new();
    for (name, role) in [
        ("Counsel", pb::Role::Counsel),
        ("Party", pb::Role::Party),
        ("Witness", pb::Role::Witness),
    ] {
        codes.push(
            hs.invite_participant(authed(
                &judge,
                pb::InviteParticipantRequest {
                    hearing_id: h.id.clone(),
                    display_name: format!("{name} {i}"),
                    role: role as i32,
                },
            )?)
            .await?
            .into_inner()
            .code,
        );
    }
    hs.open_hearing(authed(
        &judge,
        pb::OpenHearingRequest {
            hearing_id: h.id.clone(),
        },
    )?)
    .await?;
    hs.go_on_record(authed(
        &judge,
        pb::GoOnRecordRequest {
            hearing_id: h.id.clone(),
        },
    )?)
    .await?;
    let mut watch = hs
        .watch_hearing(authed(
            &judge,
            pb::WatchHearingRequest {
                hearing_id: h.id.clone(),
                after_seq: 0,
            },
        )?)
        .await?
        .into_inner();
    // Secrets reach the bots in their environment, never on their command lines.
    let spawn = |who: Vec<String>, invite: &str, wav: &Path| -> anyhow::Result<Bot> {
        let mut cmd = tokio::process::Command::new(exe);
        cmd.args([
            "bot",
            "--server",
            server,
            "--hearing",
            &h.id,
            "--ice-local-address",
            "127.0.0.1",
        ])
        .args(&who)
        .arg("--audio")
        .arg(wav)
        .env("OC_LOAD_PASSWORD", password)
        .env("OC_LOAD_INVITE", invite)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
        if let Some(v) = video {
            cmd.arg("--video").arg(v);
        }
        let mut child = cmd.spawn().context("starting a bot")?;
        let lines = BufReader::new(child.stdout.take().context("bot stdout")?).lines();
        Ok(Bot { child, lines })
    };
    let mut bots = vec![spawn(
        vec![
            "--user".into(),
            format!("judge{i}"),
            "--password-env".into(),
            "OC_LOAD_PASSWORD".into(),
        ],
        "",
        &wavs[0],
    )?];
    for (code, wav) in codes.iter().zip(&wavs[1..]) {
        bots.push(spawn(
            vec!["--invite-env".into(), "OC_LOAD_INVITE".into()],
            code,
            wav,
        )?);
    }
    // admit the three invited as they join
    let mut waiting = 3;
    while waiting > 0 {
        let e = watch.message().await?.context("the event stream ended")?;
        if let Some(pb::hearing_event::Payload::Joined(j)) = e.payload {
            if j.presence() == pb::Presence::Waiting {
                hs.admit_participant(authed(
                    &judge,
                    pb::AdmitParticipantRequest {
                        hearing_id: h.id.clone(),
                        participant_id: j.participant_id,
                    },
                )?)
                .await?;
                waiting -= 1;
            }
        }
    }
    Ok(Hearing {
        id: h.id,
        judge,
        bots,
        watch,
    })
}
