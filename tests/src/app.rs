//! The `TestApp`: a real server on an ephemeral port over a fresh database, with real tonic
//! clients; the `Scene` of a scheduled hearing and its people; and the steps of a hearing
//! (open, admit, go on the record, adjourn) and the fixtures a test logs (media files,
//! transcripts).
use std::net::SocketAddr;

use hearing_core::app::App;
use hearing_core::domain::{DisplayName, Role, Username};
use opencourt_proto::v1 as pb;
use pb::auth_service_client::AuthServiceClient;
use pb::case_service_client::CaseServiceClient;
use pb::hearing_service_client::HearingServiceClient;
use tonic::transport::Channel;

use crate::{authed, fresh_database, go_on_record, ts_in, Db};

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
                    validate_only: false,
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
