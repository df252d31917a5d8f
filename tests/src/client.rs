//! Calls as a client makes them: requests carrying a token, the calls a test needs to succeed,
//! reading a hearing's log until an event, and checking a refusal's status.
use std::net::SocketAddr;

use opencourt_proto::v1 as pb;
use pb::hearing_service_client::HearingServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

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

pub fn code_of<T>(r: &Result<T, Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// A plain HTTP/1.1 GET (for `/media` and `/metrics`): returns (status, body).
pub async fn http_get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    opencourt::cli::hearing::http_get(&addr.to_string(), path, token)
        .await
        .expect("HTTP GET")
}
