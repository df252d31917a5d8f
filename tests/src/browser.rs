//! Debian's Chromium, headless, driven over the DevTools protocol: the browser app's tests open
//! pages, read them and click in them as a user would. Camera and microphone are Chromium's fake
//! devices; the microphone can play a WAV file (it loops), so a page speaks known words.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous bound for a page to get somewhere; never asserted as a time.
const PATIENCE: Duration = Duration::from_secs(90);

/// One headless Chromium with one page.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The DevTools session attached to the page.
    session: Option<String>,
}

impl Browser {
    /// Starts Chromium on `url`; `microphone` is a WAV file the page's microphone plays.
    /// The flags are the ones found to work for WebRTC on one machine (loopback candidates, no
    /// mDNS names; media/README.md, "WebRTC on one machine") and keep Chromium off the network
    /// (the test machine has none).
    pub async fn open(url: &str, microphone: Option<&Path>) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
        if let Some(wav) = microphone {
            let wav = wav.canonicalize().expect("microphone file");
            cmd.arg(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ));
        }
        let child = cmd
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium (Debian package chromium; make test installs it)");
        // Chromium writes the port it chose, and its browser target's path, here once DevTools
        // listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let endpoint = poll("Chromium's DevTools port", || {
            let text = std::fs::read_to_string(&port_file).ok()?;
            let mut lines = text.lines();
            let port: u16 = lines.next()?.trim().parse().ok()?;
            let path = lines.next()?.trim().to_owned();
            Some(format!("ws://127.0.0.1:{port}{path}"))
        })
        .await;
        let (ws, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("DevTools websocket");
        let mut browser = Browser {
            child,
            _profile: profile,
            ws,
            next_id: 0,
            session: None,
        };
        // The page Chromium opened on `url`; commands then go to it through one session.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let target = loop {
            let targets = browser.call("Target.getTargets", json!({})).await;
            let page = targets["targetInfos"].as_array().and_then(|ts| {
                ts.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["targetId"].as_str().map(str::to_owned))
            });
            if let Some(p) = page {
                break p;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Chromium opened no page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().map(str::to_owned);
        browser
    }

    /// One DevTools command (to the page once attached); its result. Fails the test if no
    /// answer comes.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut call = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            call["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(call.to_string()))
            .await
            .expect("send to DevTools");
        let reply = tokio::time::timeout(PATIENCE, async {
            loop {
                let msg = self
                    .ws
                    .next()
                    .await
                    .expect("DevTools closed")
                    .expect("DevTools read");
                let Message::Text(text) = msg else { continue };
                let reply: Value = serde_json::from_str(&text).expect("DevTools JSON");
                if reply["id"] == id {
                    return reply;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("Chromium did not answer {method}"));
        if let Some(e) = reply.get("error") {
            panic!("{method}: {e}");
        }
        reply["result"].clone()
    }

    /// Evaluates `js` in the page (awaiting a promise it returns); its value as JSON. A thrown
    /// exception fails the test with the page's message.
    pub async fn eval(&mut self, js: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{js}: {}", e["exception"]["description"]);
        }
        r["result"]["value"].clone()
    }

    /// Clicks the element with id `id`.
    pub async fn click(&mut self, id: &str) {
        self.eval(&format!("document.getElementById({id:?}).click(); true"))
            .await;
    }

    /// Waits until the element with id `id` reads exactly `text`.
    pub async fn wait_text(&mut self, id: &str, text: &str) {
        let js = format!("document.getElementById({id:?}).innerText === {text:?}");
        self.wait_for(&js, &format!("#{id} to read {text:?}")).await;
    }

    /// The text of the element with id `id` ("" if there is none).
    pub async fn text(&mut self, id: &str) -> String {
        let js = format!("(document.getElementById({id:?}) || {{innerText: ''}}).innerText");
        self.eval(&js).await.as_str().unwrap_or("").to_owned()
    }

    /// Polls the expression `js` until it is truthy (one that throws, on a page still loading,
    /// is not yet); returns its value. Fails after a long while, saying `what` and what the page
    /// shows.
    pub async fn wait_for(&mut self, js: &str, what: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let guarded =
            format!("(() => {{ try {{ return ({js}); }} catch (e) {{ return null; }} }})()");
        loop {
            let v = self.eval(&guarded).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            if tokio::time::Instant::now() > deadline {
                let page = self
                    .eval("document.body ? document.body.innerText : ''")
                    .await;
                panic!(
                    "waited for {what}; the page shows:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Best effort on the way out (a test may be failing): an error here has nowhere to go.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
