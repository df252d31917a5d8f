//! `opencourt bot`: a participant that joins a hearing over the API, waits to be admitted, then
//! connects over WebRTC through the MediaService exactly as a browser does and sends an audio
//! file as its microphone. It stays connected, silent, until the hearing ends, it is removed, or
//! `--seconds` pass. It prints one line per step on stdout (tests and rehearsals follow them);
//! `connected at <UTC>` says when the file started playing. `--drop-after` rehearses a network
//! loss: the connection vanishes without a goodbye and the bot reconnects after `--drop-for`,
//! sending its file again from the start.
use std::path::PathBuf;
use std::time::Duration;

use super::authed;
use anyhow::{bail, Context};
use clap::Args;
use opencourt_media::{Bot, BotEvent, BotOptions, IceConfig};
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use pb::media_service_client::MediaServiceClient;
use tokio::sync::mpsc;
use tonic::transport::Channel;

/// No `Debug`: the invitation code must never be printed.
#[derive(Args)]
pub struct BotArgs {
    /// The server's URL.
    #[arg(
        long,
        env = "OPENCOURT_SERVER",
        default_value = "http://127.0.0.1:7400"
    )]
    pub server: String,
    /// UNSAFE, kept for tests on one machine: a one-time invitation code on the command line,
    /// where the process list shows it (a warning is printed). Use --invite-env.
    #[arg(long, required_unless_present_any = ["user", "token_env", "invite_env"], conflicts_with_all = ["user", "token_env", "invite_env"])]
    pub invite: Option<String>,
    /// The environment variable holding a one-time invitation code (for invited participants).
    #[arg(long, conflicts_with_all = ["user", "token_env"])]
    pub invite_env: Option<String>,
    /// The environment variable holding a session token already issued (an invitation
    /// redeemed, or a staff sign-in), instead of --invite or --user.
    #[arg(long, conflicts_with = "user")]
    pub token_env: Option<String>,
    /// A staff username (judge or clerk); the password comes from --password-env.
    #[arg(long, requires = "password_env")]
    pub user: Option<String>,
    /// The environment variable holding the staff password.
    #[arg(long)]
    pub password_env: Option<String>,
    /// The hearing to join.
    #[arg(long)]
    pub hearing: String,
    /// The audio file to send as the microphone (anything GStreamer decodes: WAV, Ogg, MP3…).
    #[arg(long)]
    pub audio: PathBuf,
    /// A VP8 video in WebM to send as the camera, as it is (no re-encoding), e.g. made with
    /// `gst-launch-1.0 videotestsrc num-buffers=900 ! video/x-raw,width=640,height=360,framerate=15/1 ! vp8enc deadline=1 ! webmmux ! filesink location=cam.webm`.
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Leave after this many seconds (default: stay until the hearing ends or the bot is removed).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Gather ICE candidates only on these local addresses (e.g. 127.0.0.1 on one machine).
    #[arg(
        long = "ice-local-address",
        env = "OPENCOURT_ICE_LOCAL_ADDRESS",
        value_delimiter = ','
    )]
    pub ice_local_addresses: Vec<String>,
    /// Rehearse a dropped connection: this many seconds after connecting, the media connection
    /// vanishes (no goodbye to the server)…
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// …and the bot reconnects after this many seconds, keeping its identity and role.
    #[arg(long, default_value_t = 5, requires = "drop_after")]
    pub drop_for: u64,
    /// Save what the server sends (Ogg Opus audio, WebM VP8 video, untranscoded) into this
    /// directory, one numbered pair of files per connection.
    #[arg(long)]
    pub save_received: Option<PathBuf>,
}

/// Why the bot stops.
enum End {
    Hearing(String),
    Removed,
    Time,
    Failed(String),
}

pub async fn run(a: BotArgs) -> anyhow::Result<()> {
    let channel = Channel::from_shared(a.server.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", a.server))?;
    let mut auth = AuthServiceClient::new(channel.clone());
    let invite = match (&a.invite, &a.invite_env) {
        (Some(code), _) => {
            eprintln!(
                "warning: --invite puts the invitation code on the command line, where other users of this machine can read it; use --invite-env"
            );
            Some(code.clone())
        }
        (None, Some(var)) => {
            Some(std::env::var(var).with_context(|| format!("invite_env: reading ${var}"))?)
        }
        (None, None) => None,
    };
    let token = match (&invite, &a.user) {
        _ if a.token_env.is_some() => {
            let var = a.token_env.as_deref().unwrap_or_default();
            std::env::var(var).with_context(|| format!("reading ${var}"))?
        }
        (Some(code), _) => {
            auth.redeem_invite(pb::RedeemInviteRequest { code: code.clone() })
                .await
                .context("redeeming the invitation")?
                .into_inner()
                .token
        }
        (None, Some(user)) => {
            let var = a.password_env.as_deref().unwrap_or_default();
            let password = std::env::var(var).with_context(|| format!("reading ${var}"))?;
            auth.login(pb::LoginRequest {
                username: user.clone(),
                password,
            })
            .await
            .context("signing in")?
            .into_inner()
            .token
        }
        (None, None) => {
            bail!("give --invite CODE, --user NAME --password-env VAR or --token-env VAR")
        }
    };
    let hearing = a.hearing.clone();
    let mut hs = HearingServiceClient::new(channel.clone());
    let me = hs
        .join_hearing(authed(
            &token,
            pb::JoinHearingRequest {
                hearing_id: hearing.clone(),
            },
        )?)
        .await
        .context("joining the hearing")?
        .into_inner();
    println!("joined as {} ({})", me.id, me.presence().as_str_name());
    let mut events = hs
        .watch_hearing(authed(
            &token,
            pb::WatchHearingRequest {
                hearing_id: hearing.clone(),
                after_seq: 0,
            },
        )?)
        .await
        .context("watching the hearing")?
        .into_inner();
    let deadline = a
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let sleep_until = |d: Option<tokio::time::Instant>| async move {
        match d {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };

    // The waiting room: wait to be admitted.
    let mut admitted = me.presence() == pb::Presence::Admitted;
    while !admitted {
        let e = tokio::select! {
            e = events.message() => e.context("watching the hearing")?,
            _ = sleep_until(deadline) => return finish(End::Time),
        };
        let Some(e) = e else {
            bail!("the server ended the hearing's event stream")
        };
        match hearing_end(&e, &me.id) {
            Some(end) => return finish(end),
            None => {
                admitted |= matches!(&e.payload, Some(pb::hearing_event::Payload::Admitted(p)) if p.participant_id == me.id)
            }
        }
    }
    println!("admitted");

    // Media, as a browser does it: watch the server's signals, offer, trickle candidates.
    let mut media = MediaServiceClient::new(channel);
    let mut signals = media
        .watch_media(authed(
            &token,
            pb::WatchMediaRequest {
                hearing_id: hearing.clone(),
            },
        )?)
        .await
        .context("watching media signals")?
        .into_inner();
    let ice = IceConfig {
        local_addresses: a.ice_local_addresses.clone(),
        ..Default::default()
    };
    let files = Files {
        audio: a.audio.clone(),
        camera: a.video.clone(),
        save: a.save_received.clone(),
    };
    let mut conn = Some(connect(&mut media, &token, &hearing, &files, &ice).await?);
    let mut drop_at: Option<tokio::time::Instant> = None;
    let mut rejoin_at: Option<tokio::time::Instant> = None;
    let mut dropped_once = false;

    let mut media_open = true;
    let end = loop {
        let session = conn.as_ref().map(|c| c.session.clone()).unwrap_or_default();
        tokio::select! {
            e = async { conn.as_mut().expect("guarded").events.recv().await }, if conn.is_some() => match e {
                Some(BotEvent::IceCandidate { mline_index, candidate }) => {
                    media
                        .add_ice_candidate(authed(&token, pb::AddIceCandidateRequest {
                            hearing_id: hearing.clone(), mline_index, candidate,
                        })?)
                        .await
                        .context("sending an ICE candidate")?;
                }
                Some(BotEvent::Connected) => {
                    println!("connected at {}", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                    if let (Some(after), false) = (a.drop_after, dropped_once) {
                        drop_at = Some(tokio::time::Instant::now() + Duration::from_secs(after));
                    }
                }
                Some(BotEvent::AudioFinished { seconds }) => println!("audio sent {seconds:.2} s"),
                Some(BotEvent::Failed(m)) => break End::Failed(m),
                None => break End::Failed("the media pipeline stopped".into()),
            },
            _ = sleep_until(drop_at), if drop_at.is_some() => {
                drop_at = None;
                dropped_once = true;
                if let Some(c) = conn.take() {
                    let bot = std::sync::Arc::try_unwrap(c.bot).ok();
                    tokio::task::spawn_blocking(move || bot.map(Bot::stop)).await?;
                }
                println!("dropped the connection for {} s", a.drop_for);
                rejoin_at = Some(tokio::time::Instant::now() + Duration::from_secs(a.drop_for));
            },
            _ = sleep_until(rejoin_at), if rejoin_at.is_some() => {
                rejoin_at = None;
                conn = Some(connect(&mut media, &token, &hearing, &files, &ice).await?);
                media_open = true;
                println!("reconnected");
            },
            s = signals.message(), if media_open => match s.context("watching media signals")? {
                Some(s) if s.session_id == session || s.session_id.is_empty() => match s.signal {
                    Some(pb::media_signal::Signal::IceCandidate(c)) => {
                        if let Some(c2) = &conn { c2.bot.add_ice_candidate(c.mline_index, &c.candidate) }
                    }
                    Some(pb::media_signal::Signal::Closed(c)) => {
                        println!("media closed: {}", c.reason);
                        media_open = false;
                    }
                    None => {}
                },
                Some(_) => {}
                None => media_open = false,
            },
            e = events.message() => match e.context("watching the hearing")? {
                Some(e) => if let Some(end) = hearing_end(&e, &me.id) { break end },
                None => break End::Failed("the server ended the hearing's event stream".into()),
            },
            _ = sleep_until(deadline) => break End::Time,
        }
    };
    // When the hearing ended, the server closes our connection after finishing our track: wait
    // for that (briefly) so whoever started us knows the track is complete when we exit.
    if media_open && matches!(end, End::Hearing(_) | End::Removed) {
        let wait = async {
            while let Ok(Some(s)) = signals.message().await {
                if let Some(pb::media_signal::Signal::Closed(c)) = s.signal {
                    println!("media closed: {}", c.reason);
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
    }
    if matches!(end, End::Time) {
        let _ = hs
            .leave_hearing(authed(
                &token,
                pb::LeaveHearingRequest {
                    hearing_id: hearing.clone(),
                    reason: String::new(),
                    disconnected: false,
                },
            )?)
            .await;
    }
    let bot = conn.and_then(|c| std::sync::Arc::try_unwrap(c.bot).ok());
    tokio::task::spawn_blocking(move || bot.map(Bot::stop)).await?;
    finish(end)
}

/// What the bot sends and where it saves what it receives.
#[derive(Clone)]
struct Files {
    audio: PathBuf,
    camera: Option<PathBuf>,
    save: Option<PathBuf>,
}

/// One media connection: the bot's pipeline, its events, and the server's session for it.
struct Conn {
    bot: std::sync::Arc<Bot>,
    events: mpsc::UnboundedReceiver<BotEvent>,
    session: String,
}

/// Offers a new connection sending `files` (audio, and video if any) and applies the answer.
async fn connect(
    media: &mut MediaServiceClient<Channel>,
    token: &str,
    hearing: &str,
    files: &Files,
    ice: &IceConfig,
) -> anyhow::Result<Conn> {
    let (tx, events) = mpsc::unbounded_channel();
    let (files, ice) = (files.clone(), ice.clone());
    let (bot, offer) = tokio::task::spawn_blocking(move || -> anyhow::Result<(Bot, String)> {
        let bot = Bot::start(
            &files.audio,
            &ice,
            &BotOptions {
                save_received: files.save,
                video: false,
                camera_file: files.camera,
            },
            tx,
        )?;
        let offer = bot.offer()?;
        Ok((bot, offer))
    })
    .await??;
    let bot = std::sync::Arc::new(bot);
    let answer = media
        .offer(authed(
            token,
            pb::OfferRequest {
                hearing_id: hearing.to_string(),
                sdp: offer,
            },
        )?)
        .await
        .context("offering media")?
        .into_inner();
    let b = bot.clone();
    let sdp = answer.sdp.clone();
    tokio::task::spawn_blocking(move || b.accept_answer(&sdp)).await??;
    Ok(Conn {
        bot,
        events,
        session: answer.session_id,
    })
}

/// Whether event `e` ends the bot's part: the hearing ended or the bot was removed.
fn hearing_end(e: &pb::HearingEvent, me: &str) -> Option<End> {
    use pb::hearing_event::Payload;
    match &e.payload {
        Some(Payload::StateChanged(s))
            if matches!(
                s.to(),
                pb::HearingState::Adjourned | pb::HearingState::Cancelled
            ) =>
        {
            Some(End::Hearing(s.to().as_str_name().to_string()))
        }
        Some(Payload::Removed(r)) if r.participant_id == me => Some(End::Removed),
        _ => None,
    }
}

fn finish(end: End) -> anyhow::Result<()> {
    match end {
        End::Hearing(state) => println!("done: the hearing ended ({state})"),
        End::Removed => println!("done: removed from the hearing"),
        End::Time => println!("done: time is up"),
        End::Failed(m) => bail!("media failed: {m}"),
    }
    Ok(())
}
