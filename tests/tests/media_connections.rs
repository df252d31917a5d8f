//! The server's side of a participant's media connections, with real WebRTC clients (the media
//! crate's bot) against the in-process server (issue 14): a newer offer from the same
//! participant (another tab or device) replaces the older connection and tells it so, so that
//! its client does not reconnect by itself.
use std::path::Path;
use std::time::Duration;

use hearing_core::domain::Role;
use opencourt_media::BotEvent;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use pb::media_service_client::MediaServiceClient;
use pb::media_signal::Signal;
use tonic::transport::Channel;
use tonic::Code;

/// Generous bound for steps that take seconds here; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(60);

/// One participant's media side: their token, media client and signals stream (shared by all
/// their connections, as it is per participant).
struct Client {
    token: String,
    hearing: String,
    media: MediaServiceClient<Channel>,
    signals: tonic::Streaming<pb::MediaSignal>,
}

impl Client {
    async fn watch(t: &TestApp, token: &str, hid: &str) -> Client {
        let channel = t.channel().await;
        Client {
            token: token.to_string(),
            hearing: hid.to_string(),
            media: MediaServiceClient::new(channel.clone()),
            signals: watch_media(channel, token, hid).await,
        }
    }

    /// A new bot sending `audio` offers a connection; the server answers it.
    async fn offer(&mut self, audio: &Path) -> Offered {
        offer_bot(&mut self.media, &self.token, &self.hearing, audio).await
    }

    /// Exchanges ICE candidates for `c` until the bot says it is connected.
    async fn connect(&mut self, c: &mut Offered) {
        tokio::time::timeout(PATIENCE, async {
            loop {
                tokio::select! {
                    e = c.events.recv() => match e.expect("bot events") {
                        BotEvent::IceCandidate { mline_index, candidate } => {
                            self.media
                                .add_ice_candidate(authed(&self.token, pb::AddIceCandidateRequest {
                                    hearing_id: self.hearing.clone(), mline_index, candidate,
                                }))
                                .await
                                .expect("candidate");
                        }
                        BotEvent::Connected => return,
                        BotEvent::Failed(m) => panic!("media failed: {m}"),
                        BotEvent::AudioFinished { .. } => {}
                    },
                    s = self.signals.message() => match s.expect("signals").expect("a signal") {
                        pb::MediaSignal { session_id, signal: Some(Signal::IceCandidate(ic)) }
                            if session_id == c.session => c.bot.add_ice_candidate(ic.mline_index, &ic.candidate),
                        _ => {}
                    },
                }
            }
        })
        .await
        .expect("the bot did not connect");
    }

    /// The next `ConnectionClosed` of session `session` on the signals stream.
    async fn closed(&mut self, session: &str) -> pb::ConnectionClosed {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let s = self.signals.message().await.expect("signals");
                match s.expect("the signals stream ended") {
                    pb::MediaSignal {
                        session_id,
                        signal: Some(Signal::Closed(c)),
                    } if session_id == session => return c,
                    _ => {}
                }
            }
        })
        .await
        .expect("no ConnectionClosed")
    }
}

async fn stop(c: Offered) {
    tokio::task::spawn_blocking(move || c.bot.stop())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_offer_replaces_the_older_connection_and_says_so() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("replace", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let audio = speech_wav(t.dir.path(), "hello", "Good morning, your honour.");
    t.open_on_record(&s).await;
    t.join_and_admit(&s, Role::Witness).await;
    let mut w = Client::watch(&t, s.token(Role::Witness), &hid).await;

    // The first tab connects; a second tab of the same witness offers.
    let mut first = w.offer(&audio).await;
    w.connect(&mut first).await;
    let mut second = w.offer(&audio).await;
    let replaced = w.closed(&first.session).await;
    assert!(replaced.replaced, "{replaced:?}");
    assert_eq!(replaced.reason, "replaced by a new offer");
    w.connect(&mut second).await;

    // Leaving ends the second one, and that is no replacement.
    t.hearings()
        .await
        .leave_hearing(authed(
            s.token(Role::Witness),
            pb::LeaveHearingRequest {
                hearing_id: hid.clone(),
                reason: String::new(),
                disconnected: false,
            },
        ))
        .await
        .unwrap();
    let left = w.closed(&second.session).await;
    assert!(!left.replaced, "{left:?}");
    stop(first).await;
    stop(second).await;
    t.stop().await;
}

/// The presiding judge and clerks see each participant's connection as the server measures it:
/// connected, media arriving (audio, a bitrate); anyone else is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_court_sees_each_connection_and_its_quality() {
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("quality", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let audio = speech_wav(
        t.dir.path(),
        "long",
        "I saw the ship leave the harbour at dawn, and it did not come back for three days. \
         Nobody on the quay could say where it had gone, and the harbour master wrote nothing.",
    );
    t.open_on_record(&s).await;
    t.join_and_admit(&s, Role::Witness).await;
    t.join_and_admit(&s, Role::Counsel).await;
    let wid = s.participant(Role::Witness).id.clone();
    let mut w = Client::watch(&t, s.token(Role::Witness), &hid).await;
    let mut c = w.offer(&audio).await;
    w.connect(&mut c).await;

    let mut media = MediaServiceClient::new(t.channel().await);
    let ask = |token: &str| {
        authed(
            token,
            pb::GetConnectionsRequest {
                hearing_id: hid.clone(),
            },
        )
    };
    assert_status(
        media.get_connections(ask(s.token(Role::Counsel))).await,
        Code::PermissionDenied,
        "get_connections",
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    wait_until("the witness's connection measured", PATIENCE, || {
        let (mut media, req, seen, wid) = (media.clone(), ask(&s.judge), seen.clone(), wid.clone());
        async move {
            let all = media.get_connections(req).await.unwrap().into_inner();
            let mine = all
                .connections
                .into_iter()
                .find(|p| p.participant_id == wid);
            let done = mine.as_ref().is_some_and(|p| {
                p.state == pb::PeerState::Connected as i32 && p.bitrate_in > 0 && p.has_audio
            });
            *seen.lock().unwrap() = mine;
            done
        }
    })
    .await;
    let p = seen.lock().unwrap().clone().unwrap();
    assert_eq!(p.session_id, c.session);
    assert!(!p.has_video, "the bot sends no video: {p:?}");
    assert!((0.0..=1.0).contains(&p.loss_fraction), "{p:?}");
    let by_clerk = media
        .get_connections(ask(&s.clerk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_clerk.connections.len(), 1, "{by_clerk:?}");
    stop(c).await;
    t.stop().await;
}
