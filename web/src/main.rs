//! `opencourt`: the server and the command-line tools.
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use hearing_core::app::App;
use hearing_core::domain::{DisplayName, HearingId, Role, Username};

#[derive(Parser)]
#[command(
    name = "opencourt",
    version,
    about = "OpenCourt: online court hearings, recorded and transcribed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the case record lives.
#[derive(Args, Clone)]
struct DbArgs {
    /// Data directory (the SQLite database, media and models live here).
    #[arg(long, env = "OPENCOURT_DATA", default_value = "./data")]
    data: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB. Default: DATA/opencourt.db.
    #[arg(long, env = "OPENCOURT_DATABASE_URL")]
    database_url: Option<String>,
}

impl DbArgs {
    /// The application on the database these arguments name.
    async fn app(&self) -> anyhow::Result<App> {
        let url = match &self.database_url {
            Some(u) => u.clone(),
            None => {
                std::fs::create_dir_all(&self.data)
                    .with_context(|| format!("creating {}", self.data.display()))?;
                format!("sqlite://{}", self.data.join("opencourt.db").display())
            }
        };
        App::connect(&url)
            .await
            .with_context(|| format!("opening the database at {}", redact(&url)))
    }
}

/// The TURN server from `file`, else from `$OPENCOURT_TURN_SERVER`, else none.
fn turn_server(file: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    let url = match file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("turn_server_file: reading {}", f.display()))?,
        ),
        None => std::env::var("OPENCOURT_TURN_SERVER").ok(),
    };
    Ok(url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()))
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API (and /metrics) on one port.
    ///
    /// Example: opencourt serve --listen 127.0.0.1:7400 --demo
    #[command(
        after_help = "Example:\n  opencourt serve --listen 127.0.0.1:7400 --data ./data --demo\n  opencourt serve --database-url postgres://court@db.internal/opencourt"
    )]
    Serve(ServeArgs),
    /// Manage staff accounts.
    #[command(
        subcommand,
        after_help = "Example:\n  echo 's3cret-passw0rd' | opencourt user add --username judge.wang --role judge --display-name 'Judge Wang' --password-stdin"
    )]
    User(UserCommand),
    /// Recompute a hearing's event-log hash chain straight from the database.
    #[command(
        after_help = "Example:\n  opencourt verify --hearing 0193f4c2-7d1e-7c3a-9f00-2b1d4a6e8c10\n\nExit status 0 when the log verifies, 1 when it does not."
    )]
    Verify(VerifyArgs),
    /// Load generator: many hearings at once over real gRPC; reports throughput and event delay.
    #[command(
        after_help = "Example:\n  opencourt bench --hearings 50 --participants 10\n  opencourt bench --hearings 50 --participants 10 --database-url postgres://postgres@127.0.0.1:55432/bench"
    )]
    Bench(opencourt::cli::bench::BenchArgs),
    /// The presiding judge's or a clerk's controls: open, invite, admit, record, adjourn, and
    /// the transcript and recordings on the case record.
    #[command(
        after_help = "Example:\n  export JUDGE_PW=...            # from `make run`\n  opencourt hearing --user judge --password-env JUDGE_PW --hearing HEARING_ID open\n  opencourt hearing --user judge --password-env JUDGE_PW --hearing HEARING_ID admit --all\n  opencourt hearing --user judge --password-env JUDGE_PW --hearing HEARING_ID transcript --format txt"
    )]
    Hearing(opencourt::cli::hearing::HearingArgs),
    /// Whole hearings under load: a real server, N hearings of four WebRTC bots each; reports
    /// CPU per hearing, lost audio, caption delay and transcript delay.
    #[command(
        after_help = "Example:\n  opencourt model fetch tiny.en --data ./data\n  opencourt loadtest --hearings 2 --seconds 60 --data ./data\n\nExit status 1 when audio was lost or the recording fell behind real time."
    )]
    Loadtest(opencourt::cli::loadtest::LoadArgs),
    /// Record a hearing room fed from files (mixed view, per-party tracks, manifest).
    Record(recorder::cli::Args),
    /// Run transcription jobs from the database (on this or another machine).
    #[command(
        after_help = "Example:\n  opencourt worker --database-url postgres://court@db/opencourt --data /var/lib/opencourt"
    )]
    Worker(WorkerArgs),
    /// Queue work for the workers.
    #[command(
        subcommand,
        after_help = "Example:\n  opencourt jobs transcribe --hearing 0193f4c2-7d1e-7c3a-9f00-2b1d4a6e8c10 --track 'Judge Wang (judge)=judge.ogg'"
    )]
    Jobs(JobsCommand),
    /// Fetch or import Whisper models.
    Model(transcriber::cli::ModelArgs),
    /// Transcribe per-participant tracks into one speaker-attributed transcript.
    Transcribe(transcriber::cli::TranscribeArgs),
    /// A participant bot: joins a hearing, waits to be admitted, then sends an audio file as its
    /// microphone over WebRTC (the browser's path) and stays until the hearing ends.
    #[command(
        after_help = "Example:\n  espeak-ng -w witness.wav 'I saw the ship leave at dawn.'\n  opencourt bot --server http://127.0.0.1:7400 --invite K7Q2-MX9D --hearing 0193f4c2-7d1e-7c3a-9f00-2b1d4a6e8c10 --audio witness.wav\n  OPENCOURT_PW=s3cret opencourt bot --user judge.wang --password-env OPENCOURT_PW --hearing 0193f4c2-7d1e-7c3a-9f00-2b1d4a6e8c10 --audio judge.wav --seconds 60\n\nPrints one line per step: joined, admitted, connected, audio sent, done."
    )]
    Bot(opencourt::cli::bot::BotArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OPENCOURT_LISTEN", default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArgs,
    /// Seed (once) a judge, a clerk, a case, a hearing and invitations, and print them.
    #[arg(long)]
    demo: bool,
    /// Do not run transcription jobs in this process (run `opencourt worker` elsewhere).
    #[arg(long)]
    no_worker: bool,
    /// WebRTC: gather ICE candidates only on these local addresses (e.g. 127.0.0.1).
    #[arg(
        long = "ice-local-address",
        env = "OPENCOURT_ICE_LOCAL_ADDRESS",
        value_delimiter = ','
    )]
    ice_local_addresses: Vec<String>,
    /// WebRTC: a STUN server, stun://HOST:PORT.
    #[arg(long, env = "OPENCOURT_STUN_SERVER")]
    stun_server: Option<String>,
    /// WebRTC: a file holding the TURN server, turn://USER:PASSWORD@HOST:PORT (or set it in the
    /// environment variable OPENCOURT_TURN_SERVER). Never on the command line: its password
    /// would show in the process list.
    #[arg(long)]
    turn_server_file: Option<PathBuf>,
    /// This node's name among the nodes sharing a database (default: host:pid).
    #[arg(long, env = "OPENCOURT_NODE_NAME")]
    node_name: Option<String>,
    /// Where clients reach this node (default: the listen address); clients that ask another
    /// node for a hearing whose media runs here are told this address.
    #[arg(long, env = "OPENCOURT_ADVERTISE")]
    advertise: Option<String>,
    /// Seconds a hearing's media lease lasts unrenewed: another node takes over a hearing whose
    /// node died after this long (the gap is logged).
    #[arg(long, default_value_t = 10)]
    media_lease_secs: u64,
    /// Seconds a graceful shutdown (SIGTERM, Ctrl-C) may take: rooms are closed and their files
    /// finalised and logged, watch streams ended, open requests drained; whatever is still
    /// open after this long is cut off.
    #[arg(long, env = "OPENCOURT_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// The language hearings are transcribed in: en (tiny.en), zh or auto (the base model).
    #[arg(long, env = "OPENCOURT_LANGUAGE", default_value = "en", value_parser = ["en", "zh", "auto"])]
    language: String,
    /// Minutes after a hearing's scheduled end during which its invitation codes may still be
    /// redeemed (a hearing that runs late); later codes are refused.
    #[arg(long, env = "OPENCOURT_INVITE_GRACE_MINUTES", default_value_t = 720)]
    invite_grace_minutes: u64,
    /// Serve the browser page's files (index.html, app.js, style.css) from this directory, read
    /// at each request, instead of the copies built into the binary: for working on the page
    /// (`web/app`, `npm run build`) without rebuilding the server.
    #[arg(long, env = "OPENCOURT_UI_DIR")]
    ui_dir: Option<std::path::PathBuf>,
    /// Seconds a participant whose media connection failed or closed (a closed tab, a lost
    /// network) has to connect again before the hearing's log records that they left,
    /// disconnected; a new offer within this time keeps everything as it was.
    #[arg(long, env = "OPENCOURT_RECONNECT_GRACE_SECS", default_value_t = 30)]
    reconnect_grace_secs: u64,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The limits against abuse (docs/SECURITY.md, "Limits").
#[derive(Args)]
struct LimitArgs {
    /// Failed Login/RedeemInvite attempts per client address and per account or code before
    /// each further attempt must wait (RESOURCE_EXHAUSTED).
    #[arg(long, default_value_t = 5)]
    auth_free_failures: u32,
    /// The first wait after the free failures, in milliseconds; doubles with each failure.
    #[arg(long, default_value_t = 1000)]
    auth_backoff_ms: u64,
    /// The longest wait after failed attempts, in seconds.
    #[arg(long, default_value_t = 900)]
    auth_backoff_max_secs: u64,
    /// Argon2 password hashes (19 MiB each) computed at once.
    #[arg(long, default_value_t = 2)]
    password_hash_concurrency: usize,
    /// Open WatchHearing and WatchMedia streams per bearer token.
    #[arg(long, default_value_t = 16)]
    watch_streams_per_token: usize,
    /// Open WatchHearing and WatchMedia streams per hearing on this node.
    #[arg(long, default_value_t = 1000)]
    watch_streams_per_hearing: usize,
    /// How often an open stream re-checks its token (logout, disabled account, expiry), in
    /// seconds.
    #[arg(long, default_value_t = 30)]
    stream_recheck_secs: u64,
    /// Unary calls that take longer end with DEADLINE_EXCEEDED (streams are exempt), seconds.
    #[arg(long, default_value_t = 30)]
    request_timeout_secs: u64,
    /// Unary calls served at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 1024)]
    max_concurrent_requests: usize,
}

impl LimitArgs {
    fn app(&self) -> hearing_core::app::Limits {
        use std::time::Duration;
        hearing_core::app::Limits {
            auth_free_failures: self.auth_free_failures,
            auth_backoff: Duration::from_millis(self.auth_backoff_ms),
            auth_backoff_max: Duration::from_secs(self.auth_backoff_max_secs),
            password_hash_concurrency: self.password_hash_concurrency.max(1),
            watch_streams_per_token: self.watch_streams_per_token,
            watch_streams_per_hearing: self.watch_streams_per_hearing,
            stream_recheck: Duration::from_secs(self.stream_recheck_secs.max(1)),
        }
    }

    fn requests(&self) -> opencourt::server::RequestLimits {
        opencourt::server::RequestLimits {
            timeout: std::time::Duration::from_secs(self.request_timeout_secs.max(1)),
            max_concurrent: self.max_concurrent_requests.max(1),
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account; the password is read from standard input.
    #[command(
        after_help = "Example:\n  echo 's3cret-passw0rd' | opencourt user add --username judge.wang --role judge --display-name 'Judge Wang' --password-stdin"
    )]
    Add(UserAddArgs),
    /// Disable a staff account: every session it has is revoked at once (open streams end) and
    /// it cannot sign in until enabled again. Audited.
    #[command(after_help = "Example:\n  opencourt user disable --username judge.wang")]
    Disable(UserNameArgs),
    /// Enable a disabled staff account again. Audited.
    #[command(after_help = "Example:\n  opencourt user enable --username judge.wang")]
    Enable(UserNameArgs),
}

#[derive(Args)]
struct UserNameArgs {
    #[arg(long)]
    username: String,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum StaffRole {
    Judge,
    Clerk,
    Admin,
}

#[derive(Args)]
struct UserAddArgs {
    #[arg(long)]
    username: String,
    #[arg(long, value_enum)]
    role: StaffRole,
    #[arg(long)]
    display_name: String,
    /// Read the password from standard input (required: passwords never go on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Args)]
struct WorkerArgs {
    #[command(flatten)]
    db: DbArgs,
    /// One model for every job (default: DATA/models/ggml-tiny.en.bin for English, ggml-base.bin otherwise).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Whisper threads (default: one less than the cores).
    #[arg(long)]
    threads: Option<usize>,
    /// How long a claimed job stays this worker's without a renewal.
    #[arg(long, default_value_t = 60)]
    lease_secs: u64,
    /// Run at most one job, then exit.
    #[arg(long)]
    once: bool,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Queue a transcription of a hearing's per-participant tracks.
    #[command(
        after_help = "Example:\n  opencourt jobs transcribe --hearing 0193f4c2-7d1e-7c3a-9f00-2b1d4a6e8c10 \\\n      --track 'Judge Wang (judge)=judge.ogg' --track 'Counsel Chen (counsel)=chen.ogg@1500'"
    )]
    Transcribe(JobsTranscribeArgs),
}

#[derive(Args)]
struct JobsTranscribeArgs {
    #[arg(long)]
    hearing: String,
    /// LABEL=FILE[@OFFSET_MS], once per participant.
    #[arg(long = "track", required = true)]
    tracks: Vec<String>,
    /// en, zh or auto.
    #[arg(long, default_value = "en")]
    language: String,
    #[command(flatten)]
    db: DbArgs,
}

fn worker_options(
    data: &std::path::Path,
    model: Option<PathBuf>,
    threads: Option<usize>,
    lease_secs: u64,
) -> transcriber::worker::WorkerOptions {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    transcriber::worker::WorkerOptions {
        owner: format!("{}:{}", host.trim(), std::process::id()),
        data: data.to_path_buf(),
        model,
        threads: threads.unwrap_or_else(transcriber::cli::default_threads),
        lease: std::time::Duration::from_secs(lease_secs.max(1)),
        poll: std::time::Duration::from_millis(500),
    }
}

#[derive(Args)]
struct VerifyArgs {
    /// The hearing whose record to verify (event chain, media hashes, transcript).
    #[arg(long, required_unless_present = "recording")]
    hearing: Option<String>,
    /// Instead: a recording directory written by `opencourt record` (checks its manifest.json).
    #[arg(long, conflicts_with = "hearing")]
    recording: Option<PathBuf>,
    /// Where the hearing's media files are (default: DATA/media/HEARING when it exists).
    #[arg(long)]
    media: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("OPENCOURT_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_tracing();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve(a) => {
            let app =
                a.db.app()
                    .await?
                    .with_limits(a.limits.app())
                    .with_invite_grace(std::time::Duration::from_secs(a.invite_grace_minutes * 60))
                    .with_reconnect_grace(std::time::Duration::from_secs(a.reconnect_grace_secs));
            if let Some(dir) = a.ui_dir.clone() {
                opencourt::server::ui::serve_from(dir);
            }
            if a.demo {
                opencourt::cli::demo::seed(&app, &a.db.data, &a.listen.to_string()).await?;
            }
            let listener = tokio::net::TcpListener::bind(a.listen)
                .await
                .with_context(|| format!("listening on {}", a.listen))?;
            if !a.no_worker {
                let opts = worker_options(&a.db.data, None, None, 60);
                let worker_app = app.clone();
                tokio::spawn(async move {
                    if let Err(e) =
                        transcriber::worker::run(worker_app, opts, std::future::pending()).await
                    {
                        tracing::error!(error = %e, "in-process transcription worker stopped");
                    }
                });
            }
            let turn_server = turn_server(a.turn_server_file.as_deref())?;
            let bound = listener.local_addr()?;
            println!("opencourt listening on {bound}");
            opencourt::server::serve(
                opencourt::server::Settings {
                    media_dir: Some(a.db.data.join("media")),
                    ice: opencourt_media::IceConfig {
                        local_addresses: a.ice_local_addresses.clone(),
                        stun_server: a.stun_server.clone(),
                        turn_server,
                    },
                    language: a.language.clone(),
                    models: Some(transcriber::model::models_dir(&a.db.data)),
                    rooms_open_with_hearings: true,
                    requests: a.limits.requests(),
                    node: {
                        let mut n = opencourt::server::courtroom::Node::default();
                        if let Some(name) = &a.node_name {
                            n.name = name.clone();
                        }
                        n.address = a
                            .advertise
                            .clone()
                            .unwrap_or_else(|| format!("http://{}", bound));
                        n.lease = std::time::Duration::from_secs(a.media_lease_secs.max(1));
                        n
                    },
                    shutdown_grace: Some(std::time::Duration::from_secs(a.shutdown_grace_secs)),
                },
                app,
                listener,
                shutdown_signal(),
            )
            .await?;
        }
        Command::User(UserCommand::Add(a)) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let role = match a.role {
                StaffRole::Judge => Role::Judge,
                StaffRole::Clerk => Role::Clerk,
                StaffRole::Admin => Role::Admin,
            };
            let app = a.db.app().await?;
            let user = app
                .add_user(
                    Username::parse("username", &a.username)?,
                    DisplayName::parse("display_name", &a.display_name)?,
                    role,
                    password,
                )
                .await?;
            println!(
                "added {} {} ({}) id {}",
                user.role,
                user.username.as_str(),
                user.display_name,
                user.id
            );
        }
        Command::User(UserCommand::Disable(a)) => set_enabled(&a, false).await?,
        Command::User(UserCommand::Enable(a)) => set_enabled(&a, true).await?,
        Command::Bench(a) => bench(a).await?,
        Command::Bot(a) => opencourt::cli::bot::run(a).await?,
        Command::Hearing(a) => opencourt::cli::hearing::run(a).await?,
        Command::Loadtest(a) => {
            let r = opencourt::cli::loadtest::run(a).await?;
            println!(
                "hearings {}  cpu/hearing {:.2} cores  recorded/on-record {:.3}  video {:.1} fps  mix audio {:.3}  track audio {:.3}  captions {} (delay p50 {} ms, p95 {} ms)  transcript {} ms after adjournment  {}",
                r.hearings,
                r.cpu_per_hearing,
                r.recorded_ratio,
                r.recorded_fps,
                r.mix_audio_ratio,
                r.track_ratio,
                r.captions,
                r.caption_p50_ms,
                r.caption_p95_ms,
                r.transcript_ms,
                if r.kept_up() { "KEPT UP" } else { "FELL BEHIND" }
            );
            if !r.kept_up() {
                std::process::exit(1);
            }
        }
        Command::Worker(a) => {
            let app = a.db.app().await?;
            let opts = worker_options(&a.db.data, a.model.clone(), a.threads, a.lease_secs);
            if a.once {
                let engines = transcriber::worker::Engines::default();
                match transcriber::worker::run_one(&app, &opts, &engines).await? {
                    Some(job) => println!("ran job {job}"),
                    None => println!("no job to run"),
                }
            } else {
                println!("worker {} waiting for jobs", opts.owner);
                transcriber::worker::run(app, opts, shutdown_signal()).await?;
            }
        }
        Command::Jobs(JobsCommand::Transcribe(a)) => {
            let id = HearingId::parse("hearing", &a.hearing)?;
            let mut tracks = Vec::new();
            for t in &a.tracks {
                let t: transcriber::pipeline::Track = t.parse()?;
                let path = std::fs::canonicalize(&t.path)
                    .with_context(|| format!("track {}", t.path.display()))?;
                tracks.push(transcriber::worker::TrackSpec {
                    label: t.label,
                    path,
                    offset_ms: t.offset_ms,
                });
            }
            let app = a.db.app().await?;
            let spec = transcriber::worker::JobSpec {
                tracks,
                language: a.language.clone(),
            };
            let job = transcriber::worker::enqueue(&app, id, &spec).await?;
            println!("queued transcription job {job} for hearing {id}");
        }
        // GStreamer state changes and the real-time run stay off the async executor.
        // Model import and transcription are CPU-heavy and blocking: off the async executor.
        Command::Model(args) => {
            return exit_code(
                tokio::task::spawn_blocking(move || transcriber::cli::model(args)).await?,
            )
        }
        Command::Transcribe(args) => {
            return exit_code(
                tokio::task::spawn_blocking(move || transcriber::cli::transcribe(args)).await?,
            )
        }
        Command::Record(args) => {
            tokio::task::spawn_blocking(move || recorder::cli::run(&args)).await??;
        }
        Command::Verify(VerifyArgs {
            recording: Some(dir),
            ..
        }) => {
            let report =
                tokio::task::spawn_blocking(move || recorder::manifest::verify(&dir)).await??;
            for f in &report.changed {
                println!("FAILED: {f}: size or SHA-256 differs from manifest.json");
            }
            for f in &report.missing {
                println!("FAILED: {f}: listed in manifest.json but missing");
            }
            for f in &report.unlisted {
                println!("note: {f} is not listed in manifest.json");
            }
            if !report.is_intact() {
                return Ok(std::process::ExitCode::FAILURE);
            }
            println!("ok: {} files match manifest.json", report.ok.len());
        }
        Command::Verify(a) => {
            let id = HearingId::parse("hearing", a.hearing.as_deref().unwrap_or_default())?;
            let app = a.db.app().await?;
            let media = a.media.clone().or_else(|| {
                let d = a.db.data.join("media").join(id.to_string());
                d.is_dir().then_some(d)
            });
            let (v, problems) = app.verify_record(id, media.as_deref()).await?;
            if !v.ok {
                println!(
                    "FAILED: hearing {id}: first bad event is seq {} ({}); {} events verified before it",
                    v.first_bad_seq.unwrap_or(0),
                    v.problem.unwrap_or_default(),
                    v.events_checked
                );
            }
            for p in &problems {
                println!("FAILED: {p}");
            }
            if !v.ok || !problems.is_empty() {
                return Ok(std::process::ExitCode::FAILURE);
            }
            println!(
                "ok: hearing {id}: {} events verified, head {}{}",
                v.events_checked,
                v.head_hash,
                media
                    .map(|m| format!("; media checked in {}", m.display()))
                    .unwrap_or_default()
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn set_enabled(a: &UserNameArgs, enabled: bool) -> anyhow::Result<()> {
    let username = Username::parse("username", &a.username)?;
    let app = a.db.app().await?;
    let (user, revoked) = app
        .set_account_enabled_as("command line", &username, enabled)
        .await?;
    if enabled {
        println!("enabled {}", user.username.as_str());
    } else {
        println!(
            "disabled {}: {revoked} sessions revoked",
            user.username.as_str()
        );
    }
    Ok(())
}

async fn bench(a: opencourt::cli::bench::BenchArgs) -> anyhow::Result<()> {
    let (h, p) = (a.hearings, a.participants);
    let db = match &a.database_url {
        Some(u) if u.starts_with("postgres") => "postgresql",
        _ => "sqlite",
    };
    let r = opencourt::cli::bench::run(a).await?;
    let secs = r.elapsed.as_secs_f64();
    println!(
        "{db}: {h} hearings x {p} participants: {} rpcs in {secs:.2} s = {:.0} rpc/s; {} events, {} deliveries; \
         commit-to-watcher delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.rpcs,
        r.rpcs as f64 / secs,
        r.events,
        r.deliveries,
        r.p50_ms,
        r.p99_ms,
        r.max_ms
    );
    Ok(())
}

fn exit_code(code: i32) -> anyhow::Result<std::process::ExitCode> {
    Ok(std::process::ExitCode::from(
        u8::try_from(code).unwrap_or(1),
    ))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::turn_server;

    #[test]
    fn the_turn_server_comes_from_its_file_and_a_missing_file_names_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("turn");
        std::fs::write(&f, "turn://court:s3cret@turn.example:3478\n").unwrap();
        assert_eq!(
            turn_server(Some(&f)).unwrap().as_deref(),
            Some("turn://court:s3cret@turn.example:3478")
        );
        let e = turn_server(Some(&dir.path().join("absent"))).unwrap_err();
        assert!(format!("{e:#}").contains("turn_server_file"), "{e:#}");
    }
}
