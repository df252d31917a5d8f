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
            "opencourt user disable",
            "opencourt user enable",
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

/// `opencourt user disable|enable NAME` on the server's database: the account's sessions end
/// at once and it cannot sign in until enabled again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_disable_revokes_sessions_and_enable_restores_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = user_add(dir.path(), "clerk.off", "a-long-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("sqlite://{}", dir.path().join("opencourt.db").display());
    let app = hearing_core::app::App::new(hearing_core::store::Store::connect(&url).await.unwrap());
    let (token, _, _) = app
        .login(None, "clerk.off", "a-long-password")
        .await
        .unwrap();
    let run = |what: &str| {
        Command::new(opencourt_bin())
            .args(["user", what, "--username", "clerk.off", "--data"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run("disable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "disabled clerk.off: 1 sessions revoked"
    );
    let e = app.authenticate(&token).await.unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    let e = app
        .login(None, "clerk.off", "a-long-password")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("disabled"), "{e}");
    assert!(run("enable").status.success());
    app.login(None, "clerk.off", "a-long-password")
        .await
        .expect("signs in once enabled");
    let nobody = Command::new(opencourt_bin())
        .args(["user", "disable", "--username", "no.one", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no account is named no.one"));
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

/// The events appended to `hid`'s log after `seen`, as (actor, payload); moves `seen` on.
async fn appended(
    t: &TestApp,
    hid: hearing_core::domain::HearingId,
    seen: &mut u64,
) -> Vec<(String, hearing_core::domain::EventPayload)> {
    let new = t.app.system().events_after(hid, *seen, 1000).await.unwrap();
    *seen += new.len() as u64;
    new.iter()
        .map(|e| (e.actor_name.clone(), e.payload().expect("a known event")))
        .collect()
}

/// `opencourt hearing` as the presiding judge against a real server: each action prints its one
/// line, and its effect is in the hearing's log (and nothing else is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hearing_command_runs_a_hearing() {
    use hearing_core::domain::{EventPayload, HearingId, HearingState, ParticipantId, Role};
    let t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("cli", pb::Visibility::Public).await;
    let hid = HearingId::parse("hearing_id", &s.hearing.id).unwrap();
    let server = format!("http://{}", t.addr);
    // The scene's judge: `TestApp::staff` gives each account this password.
    let password = "pw-judge-cli-0123456789";
    let hearing = |args: &[&str]| {
        let mut c = tokio::process::Command::new(opencourt_bin());
        c.args(["hearing", "--server", &server, "--user", "judge-cli"])
            .args([
                "--password-env",
                "OC_TEST_JUDGE_PW",
                "--hearing",
                &s.hearing.id,
            ])
            .args(args)
            .env("OC_TEST_JUDGE_PW", password)
            .env("RUST_LOG", "error");
        async move {
            let out = c.output().await.expect("run opencourt hearing");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let mut seen = t
        .app
        .system()
        .events_after(hid, 0, 1000)
        .await
        .unwrap()
        .len() as u64;
    let ok = |line: &str| (Some(0), format!("{line}\n"), String::new());
    let judge = || "Judge Wang".to_string();
    let state = |from, to, reason: Option<&str>| EventPayload::StateChanged {
        from,
        to,
        reason: reason.map(String::from),
    };

    assert_eq!(hearing(&["open"]).await, ok("opened"));
    let events = appended(&t, hid, &mut seen).await;
    assert_eq!(
        events,
        [(
            judge(),
            state(HearingState::Scheduled, HearingState::Open, None)
        )]
    );

    // Three participants come to the waiting room.
    let mut hs = t.hearings().await;
    for role in [Role::Counsel, Role::Witness, Role::Party] {
        hs.join_hearing(authed(
            s.token(role),
            pb::JoinHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await
        .expect("join");
    }
    seen += 3;
    let pid = |role| s.participant(role).id.clone();

    // `show`: the title and state, then one line per participant as GetHearing has them.
    let h = get_hearing(&mut hs, &s.clerk, &s.hearing.id).await;
    let mut expected = format!("{}  HEARING_STATE_OPEN\n", h.title);
    for p in &h.participants {
        expected += &format!(
            "  {}  {:<28} {:<18} {}{}\n",
            p.id,
            p.display_name,
            p.role().as_str_name(),
            p.presence().as_str_name(),
            if p.muted { " (muted)" } else { "" }
        );
    }
    assert_eq!(h.participants.len(), 8);
    assert_eq!(hearing(&["show"]).await, (Some(0), expected, String::new()));
    assert_eq!(
        appended(&t, hid, &mut seen).await,
        [],
        "show changes nothing"
    );

    let counsel = pid(Role::Counsel);
    assert_eq!(
        hearing(&["admit", &counsel]).await,
        ok(&format!("admitted {counsel}"))
    );
    let admitted = |role| EventPayload::Admitted {
        participant_id: ParticipantId::parse("p", &pid(role)).unwrap(),
    };
    let events = appended(&t, hid, &mut seen).await;
    assert_eq!(events, [(judge(), admitted(Role::Counsel))]);
    // --all admits whoever waits, in the order GetHearing lists them.
    let waiting: Vec<String> = h
        .participants
        .iter()
        .filter(|p| p.id == pid(Role::Witness) || p.id == pid(Role::Party))
        .map(|p| p.id.clone())
        .collect();
    let lines: String = waiting.iter().map(|p| format!("admitted {p}\n")).collect();
    assert_eq!(
        hearing(&["admit", "--all"]).await,
        (Some(0), lines, String::new())
    );
    let events = appended(&t, hid, &mut seen).await;
    let by_id = |id: &String| EventPayload::Admitted {
        participant_id: ParticipantId::parse("p", id).unwrap(),
    };
    assert_eq!(
        events,
        waiting
            .iter()
            .map(|p| (judge(), by_id(p)))
            .collect::<Vec<_>>()
    );

    // An invitation: one line with the participant and a code that works.
    let (code, out, err) = hearing(&["invite", "--name", "Dr. Sun", "--role", "expert"]).await;
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let (p, invite) = out
        .strip_prefix("participant ")
        .and_then(|r| r.trim_end().split_once("  code "))
        .unwrap_or_else(|| panic!("{out:?}"));
    let redeemed = t
        .auth()
        .await
        .redeem_invite(pb::RedeemInviteRequest {
            code: invite.to_string(),
        })
        .await
        .expect("the printed code redeems")
        .into_inner();
    assert_eq!(redeemed.participant.expect("participant").id, p);
    let events = appended(&t, hid, &mut seen).await;
    let p = ParticipantId::parse("p", p).unwrap();
    assert_eq!(
        events.first(),
        Some(&(
            judge(),
            EventPayload::Invited {
                participant_id: p,
                display_name: "Dr. Sun".into(),
                role: Role::Expert,
            }
        ))
    );
    assert_eq!(events.len(), 2, "the invitation, then its redemption");

    assert_eq!(hearing(&["on-record"]).await, ok("on the record"));
    let events = appended(&t, hid, &mut seen).await;
    assert_eq!(
        events,
        [(
            judge(),
            state(HearingState::Open, HearingState::OnRecord, None)
        )]
    );
    assert_eq!(
        hearing(&["off-record", "--reason", "short recess"]).await,
        ok("off the record")
    );
    let events = appended(&t, hid, &mut seen).await;
    assert_eq!(
        events,
        [(
            judge(),
            state(
                HearingState::OnRecord,
                HearingState::OffRecord,
                Some("short recess")
            )
        )]
    );
    assert_eq!(
        hearing(&["adjourn", "--reason", "concluded"]).await,
        ok("adjourned")
    );
    let events = appended(&t, hid, &mut seen).await;
    assert_eq!(
        events,
        [(
            judge(),
            state(
                HearingState::OffRecord,
                HearingState::Adjourned,
                Some("concluded")
            )
        )]
    );

    // Refusals: exit status 1, one error line naming the reason, nothing in the log.
    let (code, out, err) = hearing(&["on-record"]).await;
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert!(
        err.starts_with("error: ") && err.contains("hearing is adjourned"),
        "{err}"
    );
    let (code, out, err) = hearing(&["invite", "--name", "X", "--role", "judge"]).await;
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert!(
        err.contains("--role \"judge\": not an invitable role"),
        "{err}"
    );
    let (code, _, err) = {
        let mut c = tokio::process::Command::new(opencourt_bin());
        c.args(["hearing", "--server", &server, "--user", "judge-cli"])
            .args([
                "--password-env",
                "OC_TEST_JUDGE_PW",
                "--hearing",
                &s.hearing.id,
            ])
            .arg("show")
            .env("OC_TEST_JUDGE_PW", "a-wrong-password")
            .env("RUST_LOG", "error");
        let out = c.output().await.unwrap();
        (
            out.status.code(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(1));
    assert!(
        err.contains("signing in") && err.contains("wrong username or password"),
        "{err}"
    );
    assert_eq!(
        appended(&t, hid, &mut seen).await,
        [],
        "refused commands change nothing"
    );
    t.stop().await;
}
