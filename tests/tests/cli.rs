//! The binary as a user runs it: `--help` with examples, `user add`, `serve --demo` seeding once.
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use opencourt_proto::v1 as pb;
use opencourt_tests::*;

/// `opencourt ARGS --help`: exits 0; returns its output.
fn help(args: &[String]) -> String {
    let out = Command::new(opencourt_bin())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} --help: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// The subcommands a help text lists under "Commands:" (without clap's own `help`).
fn commands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// Every subcommand's `--help` exits 0 and shows, under "Example:" or "Examples:", a command
/// line that runs that very subcommand. The list comes from `opencourt --help`, so a new
/// subcommand is checked without touching this test; the leaves of the command groups (user,
/// jobs, model) are checked as well.
#[test]
fn every_command_has_help_with_an_example() {
    let top = commands(&help(&[]));
    assert_eq!(
        top,
        [
            "serve",
            "user",
            "verify",
            "bench",
            "hearing",
            "loadtest",
            "record",
            "worker",
            "jobs",
            "model",
            "transcribe",
            "bot"
        ],
        "the subcommands changed: check this list"
    );
    let mut pending: Vec<Vec<String>> = top.into_iter().map(|c| vec![c]).collect();
    let mut checked = Vec::new();
    while let Some(args) = pending.pop() {
        let text = help(&args);
        let invocation = format!("opencourt {}", args.join(" "));
        let examples: Vec<&str> = text
            .lines()
            .skip_while(|l| !matches!(*l, "Example:" | "Examples:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert!(
            examples.iter().any(|l| l.contains(&invocation)),
            "{invocation} --help shows no example of {invocation}:\n{text}"
        );
        // A group's leaves (`opencourt user add`), not a command's own actions.
        if text.contains(&format!("Usage: {invocation} <COMMAND>")) {
            for c in commands(&text) {
                let mut sub = args.clone();
                sub.push(c);
                pending.push(sub);
            }
        }
        checked.push(invocation);
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "opencourt bench",
            "opencourt bot",
            "opencourt hearing",
            "opencourt jobs",
            "opencourt jobs transcribe",
            "opencourt loadtest",
            "opencourt model",
            "opencourt model fetch",
            "opencourt model import",
            "opencourt record",
            "opencourt serve",
            "opencourt transcribe",
            "opencourt user",
            "opencourt user add",
            "opencourt verify",
            "opencourt worker"
        ]
    );
}

#[test]
fn bad_arguments_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(opencourt_bin())
        .args(["verify", "--hearing", "nope", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hearing: \"nope\" is not a valid id"), "{err}");
}

fn user_add(data: &std::path::Path, username: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(opencourt_bin())
        .args([
            "user",
            "add",
            "--username",
            username,
            "--role",
            "clerk",
            "--display-name",
            "Clerk Li",
            "--password-stdin",
            "--data",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_add_then_login_and_demo_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = user_add(dir.path(), "clerk.li", "a-long-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = user_add(dir.path(), "clerk.li", "a-long-password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("username clerk.li is taken"));
    let short = user_add(dir.path(), "clerk.two", "short");
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: must be at least 8"));

    // serve --demo prints credentials that work, and seeds only once.
    let run_demo = || {
        let mut child = Command::new(opencourt_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--demo", "--data"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut text = String::new();
        let addr = loop {
            let line = lines.next().unwrap().unwrap();
            if let Some(a) = line.strip_prefix("opencourt listening on ") {
                break a.to_string();
            }
            text.push_str(&line);
            text.push('\n');
        };
        (child, addr, text)
    };
    let (mut child, addr, text) = run_demo();
    assert!(text.contains("demo data seeded"), "{text}");
    let password = text
        .lines()
        .find(|l| l.starts_with("judge:"))
        .and_then(|l| l.split("password ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let ch = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let login = pb::auth_service_client::AuthServiceClient::new(ch.clone())
        .login(pb::LoginRequest {
            username: "judge".into(),
            password,
        })
        .await
        .unwrap()
        .into_inner();
    let cases = pb::case_service_client::CaseServiceClient::new(ch)
        .list_cases(authed(&login.token, pb::ListCasesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cases.cases.len(), 1);
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, _, text) = run_demo();
    assert!(text.contains("already seeded"), "{text}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `opencourt record` (a real pipeline) then `opencourt verify --recording`: intact, then one
/// changed byte is caught.
#[test]
fn verify_catches_a_changed_recording() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("judge.wav");
    let st = Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg("The court is in session.")
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.path().join("rec");
    let rec = Command::new(opencourt_bin())
        .args(["record", "--seconds", "3", "--party"])
        .arg(format!("Judge Wang:judge={}", wav.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let verify = || {
        let o = Command::new(opencourt_bin())
            .args(["verify", "--recording"])
            .arg(&out)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (ok, text) = verify();
    assert!(ok, "{text}");
    let media = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "mkv" || x == "webm"))
        .expect("a recording segment");
    let mut bytes = std::fs::read(&media).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&media, &bytes).unwrap();
    let (ok, text) = verify();
    assert!(!ok && text.contains("differs"), "{text}");
}
