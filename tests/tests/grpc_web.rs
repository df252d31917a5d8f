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
    assert!(String::from_utf8_lossy(&js).contains("MediaService/Offer"));
    let (code, config) = http_get(t.addr, "/ui/config.json", None).await;
    assert_eq!(code, 200);
    assert_eq!(String::from_utf8_lossy(&config), r#"{"iceServers":[]}"#);
    for missing in ["/ui/nothing.js", "/ui/../Cargo.toml", "/ui/"] {
        let (code, _) = http_get(t.addr, missing, None).await;
        assert!((400..500).contains(&code), "{missing}: {code}");
    }
    t.stop().await;
}
