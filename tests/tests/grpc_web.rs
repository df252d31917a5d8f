//! Browsers: grpc-web over plain HTTP/1.1 with CORS, on the same port as gRPC.
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&request).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

/// The value of header `name` (lower case) in the head of a lower-cased HTTP response.
fn header<'a>(res: &'a str, name: &str) -> Option<&'a str> {
    let head = res.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// A comma-separated header value as a set.
fn list(v: &str) -> std::collections::BTreeSet<String> {
    v.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

#[tokio::test]
async fn grpc_web_with_cors() {
    let t = TestApp::start(Db::Sqlite).await;
    t.staff("web-judge", hearing_core::domain::Role::Judge, "Judge Web")
        .await;

    let preflight = String::from(
        "OPTIONS /court.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,x-grpc-web,authorization\r\n\
         Connection: close\r\n\r\n"
    );
    let res = raw(t.addr, preflight.into_bytes()).await.to_lowercase();
    assert!(res.starts_with("http/1.1 200"), "{res}");
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("*"),
        "{res}"
    );
    let allowed = list(header(&res, "access-control-allow-headers").unwrap_or(""));
    for h in ["content-type", "x-grpc-web", "authorization"] {
        assert!(allowed.contains(h), "{h} not allowed: {res}");
    }

    // A grpc-web Login with a wrong password: the status travels in the trailer frame.
    let msg = pb::LoginRequest {
        username: "web-judge".into(),
        password: "wrong-password".into(),
    }
    .encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    body.extend_from_slice(&msg);
    let mut req = format!(
        "POST /court.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let res = raw(t.addr, req).await;
    let lower = res.to_lowercase();
    assert!(lower.starts_with("http/1.1 200"), "{res}");
    assert!(
        lower.contains("content-type: application/grpc-web"),
        "{res}"
    );
    // The browser may read the status headers only if CORS exposes them, all three.
    assert_eq!(
        list(header(&lower, "access-control-expose-headers").unwrap_or("")),
        ["grpc-message", "grpc-status", "grpc-status-details-bin"]
            .map(String::from)
            .into(),
        "{res}"
    );
    // A failure before any message travels "trailers-only", in the headers.
    assert_eq!(header(&lower, "grpc-status"), Some("16"), "{res}");
    assert_eq!(
        header(&lower, "grpc-message"),
        Some("wrong%20username%20or%20password"),
        "{res}"
    );
    t.stop().await;
}

/// A grpc-web response read as it arrives over HTTP/1.1: the head, then the chunked body split
/// into grpc-web frames (flag byte, big-endian length, payload).
struct GrpcWebResponse {
    stream: tokio::net::TcpStream,
    /// Bytes read and not yet decoded.
    raw: Vec<u8>,
    /// The body's bytes decoded from chunks and not yet framed.
    body: Vec<u8>,
    ended: bool,
}

/// How long a frame that is due may take to arrive (milliseconds here; a stall fails).
const FRAME_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

impl GrpcWebResponse {
    /// Sends `msg` to `method` as a grpc-web call and reads the response's head: returns the
    /// status line and the lower-cased headers.
    async fn call(
        addr: std::net::SocketAddr,
        method: &str,
        token: &str,
        msg: &impl Message,
    ) -> (GrpcWebResponse, String) {
        let msg = msg.encode_to_vec();
        let mut body = vec![0u8];
        body.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        body.extend_from_slice(&msg);
        let mut req = format!(
            "POST {method} HTTP/1.1\r\nHost: x\r\nOrigin: http://localhost:5173\r\n\
             Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
             Authorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&req).await.unwrap();
        let mut r = GrpcWebResponse {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            ended: false,
        };
        let end = loop {
            if let Some(i) = r.raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            assert!(r.read_more().await, "the connection closed in the head");
        };
        let head = String::from_utf8_lossy(&r.raw[..end]).to_lowercase();
        r.raw.drain(..end + 4);
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        (r, head)
    }

    /// Reads more bytes; false at the end of the connection.
    async fn read_more(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(FRAME_PATIENCE, self.stream.read(&mut buf))
            .await
            .expect("the response stalled")
            .expect("read");
        self.raw.extend_from_slice(&buf[..n]);
        n > 0
    }

    /// Decodes one more chunk into `body`; false after the last (empty) chunk.
    async fn next_chunk(&mut self) -> bool {
        loop {
            if let Some(nl) = self.raw.windows(2).position(|w| w == b"\r\n") {
                let size = std::str::from_utf8(&self.raw[..nl]).expect("chunk size");
                let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
                if self.raw.len() >= nl + 2 + size + 2 {
                    self.body
                        .extend_from_slice(&self.raw[nl + 2..nl + 2 + size]);
                    assert_eq!(&self.raw[nl + 2 + size..nl + 4 + size], b"\r\n");
                    self.raw.drain(..nl + 4 + size);
                    if size == 0 {
                        self.ended = true;
                    }
                    return size > 0;
                }
            }
            assert!(
                self.read_more().await,
                "the connection closed inside a chunk"
            );
        }
    }

    /// The next grpc-web frame as (flag, payload); `None` once the body has ended.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.body.len() >= 5 {
                let len = u32::from_be_bytes(self.body[1..5].try_into().unwrap()) as usize;
                if self.body.len() >= 5 + len {
                    let flag = self.body[0];
                    let payload = self.body[5..5 + len].to_vec();
                    self.body.drain(..5 + len);
                    return Some((flag, payload));
                }
            }
            if self.ended || !self.next_chunk().await {
                assert!(self.body.is_empty(), "a partial frame at the end");
                return None;
            }
        }
    }

    /// The next frame, which must be a message.
    async fn event(&mut self) -> pb::HearingEvent {
        let (flag, payload) = self.frame().await.expect("a message frame, not the end");
        assert_eq!(
            flag,
            0,
            "a message frame: {}",
            String::from_utf8_lossy(&payload)
        );
        pb::HearingEvent::decode(payload.as_slice()).expect("a HearingEvent")
    }
}

/// WatchHearing over grpc-web from a plain HTTP/1.1 client, as a browser streams it: the log as
/// message frames, a live event as it is committed, and when the server ends the stream (the
/// watcher is removed) a trailer frame carrying grpc-status 0, then the end of the body.
#[tokio::test]
async fn grpc_web_streams_a_watch_with_its_trailers() {
    use hearing_core::domain::Role;
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("web-watch", pb::Visibility::Public).await;
    let mut hs = t.hearings().await;
    // Admitted, the party reads the whole log, as the clerk does (an invited party would see
    // only their own events).
    t.open(&s).await;
    t.join_and_admit(&s, Role::Party).await;
    let log = {
        let mut w = watch_from_start(&mut hs, &s.clerk, &s.hearing.id).await;
        let head = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await.last_seq;
        let mut log = Vec::new();
        while log.len() < head as usize {
            log.push(w.message().await.unwrap().unwrap());
        }
        log
    };

    let (mut web, head) = GrpcWebResponse::call(
        t.addr,
        "/court.v1.HearingService/WatchHearing",
        s.token(Role::Party),
        &pb::WatchHearingRequest {
            hearing_id: s.hearing.id.clone(),
            after_seq: 0,
        },
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains("content-type: application/grpc-web+proto"),
        "{head}"
    );
    assert_eq!(
        header(&head, "grpc-status"),
        None,
        "not trailers-only: {head}"
    );
    // The log so far, event for event as gRPC clients get it.
    for expected in &log {
        assert_eq!(&web.event().await, expected);
    }
    // A live event.
    let note = hs
        .add_note(authed(
            &s.clerk,
            pb::AddNoteRequest {
                hearing_id: s.hearing.id.clone(),
                text: "for the browser".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(web.event().await, note);
    // The server ends the stream: the removal, then the trailers, then the end of the body.
    hs.remove_participant(authed(
        &s.judge,
        pb::RemoveParticipantRequest {
            hearing_id: s.hearing.id.clone(),
            participant_id: s.participant(Role::Party).id.clone(),
            reason: "disorder".into(),
        },
    ))
    .await
    .unwrap();
    let removed = web.event().await;
    assert_eq!(removed.seq, note.seq + 1);
    assert!(
        matches!(
            removed.payload,
            Some(pb::hearing_event::Payload::Removed(_))
        ),
        "{removed:?}"
    );
    let (flag, trailers) = web.frame().await.expect("a trailer frame");
    assert_eq!(flag, 0x80, "the trailer flag");
    let trailers = String::from_utf8(trailers).expect("trailers are text");
    let fields: Vec<(String, String)> = trailers
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').expect("name: value");
            (k.trim().to_lowercase(), v.trim().to_string())
        })
        .collect();
    assert!(
        fields.contains(&("grpc-status".into(), "0".into())),
        "{trailers:?}"
    );
    assert_eq!(web.frame().await, None, "nothing after the trailers");
    t.stop().await;
}

/// The status and the lower-cased headers of a GET.
async fn http_head(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let res = raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
    )
    .await
    .to_lowercase();
    let code = res.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let head = res.split("\r\n\r\n").next().unwrap_or("").to_owned();
    (code, head)
}

/// The browser app is served on the API's port, from the binary itself; nothing else under `/ui`.
#[tokio::test]
async fn the_browser_app_is_served_on_the_same_port() {
    let t = TestApp::start(Db::Sqlite).await;
    let (code, page) = http_get(t.addr, "/", None).await;
    let page = String::from_utf8_lossy(&page);
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("<title>OpenCourt</title>"), "{page}");
    let (code, head) = http_head(t.addr, "/").await;
    assert_eq!(code, 200);
    assert!(
        head.contains("content-security-policy: default-src 'self'"),
        "{head}"
    );
    let (code, js) = http_get(t.addr, "/ui/app.js", None).await;
    assert_eq!(code, 200);
    // The bundled page (web/app), speaking grpc-web with the generated client.
    assert!(String::from_utf8_lossy(&js).contains("application/grpc-web+proto"));
    let (code, config) = http_get(t.addr, "/ui/config.json", None).await;
    assert_eq!(code, 200);
    assert_eq!(String::from_utf8_lossy(&config), r#"{"iceServers":[]}"#);
    for missing in ["/ui/nothing.js", "/ui/../Cargo.toml", "/ui/"] {
        let (code, _) = http_get(t.addr, missing, None).await;
        assert!((400..500).contains(&code), "{missing}: {code}");
    }
    t.stop().await;
}
