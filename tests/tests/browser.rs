//! The browser app in a real browser: headless Chromium against the real `opencourt serve` (with
//! live captions and its transcription worker on the real tiny.en model). The judge signs in on
//! the page, opens the hearing and presides with its buttons; a witness follows an invitation
//! link, waits, is admitted and speaks through the page's microphone (espeak-ng speech played by
//! Chromium's fake device) over WebRTC. Their words must appear as live captions on the judge's
//! page. A reload rejoins as the same participant; going off the record needs a reason; the judge
//! mutes and unmutes the witness. After the judge adjourns, the transcript on the case record has
//! the witness's words under their name, and the judge's page shows that case record: recordings
//! and both participants' tracks (downloadable), the transcript, the log verified, and a search
//! that finds the witness. A bad invitation code is refused on the page with the server's message.
use std::path::Path;
use std::time::Duration;

use opencourt_proto::v1 as pb;
use opencourt_tests::browser::Browser;
use opencourt_tests::speech::{utterances, words, words_in_order, Tally};
use opencourt_tests::*;
use pb::hearing_service_client::HearingServiceClient;
use serde_json::Value;

const WITNESS: &str = "I saw the ship leave the harbor at dawn before the storm.";

/// Bounds on the witness's words (tiny.en on speech that went through Chromium, Opus and the
/// network, which varies from run to run; the first and last times the phrase is heard are cut
/// off wherever the record opened, paused or the page reloaded). Measured in 23 runs, scored as
/// [`assert_heard`] does: the whole phrase at worst 2 words wrong of 12 (0.167) in the stored
/// transcript, 1 (0.083) in the captions; all the pieces heard together at worst 8 wrong of 22
/// (0.364, a cut-off fragment heard as "Oh, the sh**! The horrible rat dog!"). The bounds: the
/// worst whole phrase and one word more; the worst pieces and about a word and a half more.
const WHOLE: f64 = 3.0 / 12.0;
const PIECES: f64 = 0.43;
/// The fewest words per second of a segment of the witness's speech in the stored transcript:
/// at least 1.04 in 18 runs (one word, "are", over 0.96 s of a cut-off fragment; 1.74 in every
/// other run; espeak-ng speaks 2.5). A region Whisper skipped showed as one word DTW stretched
/// over it ("I" over 2 s: 0.5 a second).
const WORDS_PER_S: f64 = 0.75;

/// The witness's caption lines (one a region of speech, decoded live).
fn witness_lines(captions: &str) -> Vec<&str> {
    captions
        .lines()
        .filter_map(|l| l.strip_prefix("Witness Sun (Witness):"))
        .collect()
}

/// The phrase's word error rate against the part of `heard` it matches best.
fn whole_wer(heard: &str) -> f64 {
    Tally::of_piece(heard, WITNESS).errors as f64 / words(WITNESS).len() as f64
}

/// Checks what was heard of the phrase, `heard` one stretch of speech each: some stretch holds
/// the whole phrase within [`WHOLE`] (the phrase scored against the part of the stretch it
/// matches: a reload restarts the microphone, so the phrase's start can follow its end at
/// once), and all together, each scored against the part of the looping phrase it holds, within
/// [`PIECES`].
fn assert_heard(what: &str, heard: &[&str]) {
    let whole = heard
        .iter()
        .map(|h| whole_wer(h))
        .fold(f64::INFINITY, f64::min);
    let looped = [WITNESS; 3].join(" ");
    let pieces: Tally = heard.iter().map(|h| Tally::of_piece(&looped, h)).sum();
    eprintln!(
        "accuracy, {what}: whole phrase WER {whole:.3}, pieces {} of {} words wrong ({:.3}): {heard:?}",
        pieces.errors,
        pieces.words,
        pieces.rate()
    );
    assert!(
        whole <= WHOLE,
        "{what}: the whole phrase is not heard: {heard:?}"
    );
    assert!(
        pieces.rate() <= PIECES,
        "{what}: {pieces:?} in the pieces heard: {heard:?}"
    );
}

/// The phrase, then 3 s of silence, at 48 kHz: Chromium's fake microphone plays it in a loop.
fn microphone(dir: &Path, name: &str, phrase: Option<&str>) -> std::path::PathBuf {
    let slots: &[Option<&str>] = &[phrase, None];
    let raw =
        opencourt::cli::loadtest::speech_script(dir, name, 5, slots).expect("espeak-ng and sox");
    let out = dir.join(format!("{name}-48k.wav"));
    let st = std::process::Command::new("sox")
        .arg("-V1")
        .arg(&raw)
        .args(["-r", "48000"])
        .arg(&out)
        .status()
        .expect("sox");
    assert!(st.success());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_presides_and_a_witness_speaks_from_the_browser() {
    let mut t = TestApp::start(Db::Sqlite).await;
    let s = t.scene("ui", pb::Visibility::Public).await;
    let hid = s.hearing.id.clone();
    let dir = t.dir.path().to_path_buf();
    let data = data_dir_with_tiny_en(&dir);
    let judge_mic = microphone(&dir, "judge", None);
    let witness_mic = microphone(&dir, "witness", Some(WITNESS));
    let mut hs = t.hearings().await;
    let code = hs
        .invite_participant(authed(
            &s.clerk,
            pb::InviteParticipantRequest {
                hearing_id: hid.clone(),
                display_name: "Witness Sun".into(),
                role: pb::Role::Witness as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .code;
    // The real server takes over from the in-process one, on the same database.
    t.stop_server().await;
    let server = ServerProcess::start(&t.database_url, &data);
    let base = format!("http://{}", server.addr);
    let mut hs = HearingServiceClient::new(server.channel().await);

    // The judge signs in and opens the hearing from the page.
    let mut judge = Browser::open(&format!("{base}/"), Some(&judge_mic)).await;
    judge
        // The form's handler, not only the form: a click before app.js has wired it submits
        // the form natively and reloads the sign-in page (2 runs in 11 waited forever for the
        // hearing list after that).
        .wait_for(
            "document.getElementById('login-form').onsubmit !== null",
            "the page, wired",
        )
        .await;
    judge
        .eval(
            "document.getElementById('username').value = 'judge-ui';
             document.getElementById('password').value = 'pw-judge-ui-0123456789';
             document.querySelector('#login-form button').click(); true",
        )
        .await;
    let preside = format!("document.querySelector('#hearing-list button[data-hearing=\"{hid}\"]')");
    judge.wait_for(&preside, "the hearing in the list").await;
    judge.eval(&format!("{preside}.click(); true")).await;
    judge.wait_text("hearing-state", "scheduled").await;
    judge.click("open-btn").await;
    judge
        .wait_for(
            "document.getElementById('hearing-state').innerText === 'open'
             && document.getElementById('media-state').innerText === 'connected'",
            "the judge in the open hearing, media connected",
        )
        .await;

    // A wrong code is refused on the page, with the server's words; this page is in Chinese.
    let mut stranger = Browser::open(&format!("{base}/?lang=zh#/join/no-such-code"), None).await;
    let refused = stranger
        .wait_for("document.getElementById('status').innerText", "the refusal")
        .await;
    assert!(
        refused.as_str().unwrap_or("").contains("invitation code"),
        "{refused}"
    );
    assert_eq!(
        stranger
            .eval("document.querySelector('#invite-form h2').innerText")
            .await,
        "加入庭审"
    );
    assert_eq!(
        stranger.eval("document.documentElement.lang").await,
        "zh-CN"
    );
    drop(stranger);

    // The witness follows the link and waits; the judge admits them from the roster.
    let mut witness = Browser::open(&format!("{base}/#/join/{code}"), Some(&witness_mic)).await;
    witness
        .wait_for(
            "document.getElementById('my-presence').innerText === 'waiting'
             && document.getElementById('media-state').innerText === 'connected'",
            "the witness waiting, media connected",
        )
        .await;
    let admit = "[...document.querySelectorAll('#roster li')]
        .find(li => li.innerText.includes('Witness Sun'))?.querySelector('button.admit')";
    judge
        .wait_for(admit, "the Admit button for the witness")
        .await;
    judge.eval(&format!("{admit}.click(); true")).await;
    witness.wait_text("my-presence", "admitted").await;
    judge.click("on-record-btn").await;
    judge.wait_text("hearing-state", "on the record").await;

    // The judge sees the courtroom view and the witness's words as live captions.
    judge
        .wait_for(
            "document.getElementById('courtroom').videoWidth === 640",
            "the courtroom view",
        )
        .await;
    let mut captions = String::new();
    // Two of the phrase's repeats on the record, so the transcript has more than one, and the
    // whole phrase among them.
    for _ in 0..120 {
        captions = judge.text("captions").await;
        let lines = witness_lines(&captions);
        if lines.len() >= 2 && lines.iter().any(|l| whole_wer(l) <= WHOLE) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_heard("live captions", &witness_lines(&captions));

    // A reload (a dropped connection, a closed tab) rejoins as the same participant: the code
    // is spent, so the page keeps its token for the tab.
    let me = witness
        .eval("document.querySelector('#roster li') && app.me.id")
        .await;
    witness
        .eval("window.beforeReload = true; location.reload(); true")
        .await;
    witness
        .wait_for(
            "!window.beforeReload && app.me
             && document.getElementById('my-presence').innerText === 'admitted'
             && document.getElementById('media-state').innerText === 'connected'",
            "the witness back, admitted, media connected",
        )
        .await;
    assert_eq!(witness.eval("app.me.id").await, me);
    let hearing = get_hearing(&mut hs, &s.judge, &hid).await;
    let suns: Vec<_> = hearing
        .participants
        .iter()
        .filter(|p| p.display_name == "Witness Sun")
        .collect();
    assert_eq!(suns.len(), 1, "{suns:?}");
    assert_eq!(suns[0].presence(), pb::Presence::Admitted);

    // Off the record takes a reason; without one the page refuses and nothing changes.
    judge.click("off-record-btn").await;
    let refusal = judge.text("status").await;
    assert!(refusal.contains("reason"), "{refusal}");
    let state = |h: &pb::Hearing| h.state();
    assert_eq!(
        state(&get_hearing(&mut hs, &s.judge, &hid).await),
        pb::HearingState::OnRecord
    );
    judge
        .eval(
            "document.getElementById('reason').value = 'recess';
             document.getElementById('off-record-btn').click(); true",
        )
        .await;
    judge.wait_text("hearing-state", "off the record").await;
    judge.click("on-record-btn").await;
    judge.wait_text("hearing-state", "on the record").await;
    // Muting the witness from the roster, and back.
    let row = "[...document.querySelectorAll('#roster li')].find(li => li.innerText.includes('Witness Sun'))";
    judge
        .eval(&format!("{row}.querySelector('button.mute').click(); true"))
        .await;
    judge
        .wait_for(
            &format!("{row}.innerText.includes('muted')"),
            "the witness muted",
        )
        .await;
    let muted = |h: &pb::Hearing| {
        h.participants
            .iter()
            .find(|p| p.display_name == "Witness Sun")
            .map(|p| p.muted)
    };
    assert_eq!(
        muted(&get_hearing(&mut hs, &s.judge, &hid).await),
        Some(true)
    );
    judge
        .eval(&format!("{row}.querySelector('button.mute').click(); true"))
        .await;
    judge
        .wait_for(
            &format!("!{row}.innerText.includes('muted')"),
            "the witness unmuted",
        )
        .await;
    assert_eq!(
        muted(&get_hearing(&mut hs, &s.judge, &hid).await),
        Some(false)
    );

    // The judge adjourns from the page; the transcript lands on the case record.
    let mut watch = watch_from_start(&mut hs, &s.judge, &hid).await;
    judge.click("adjourn-btn").await;
    judge.wait_text("hearing-state", "adjourned").await;
    until_transcript_stored(&mut watch).await;
    let transcript = stored_transcript(server.channel().await, &s.clerk, &hid).await;
    // The phrase's repeats are 5 s or more apart; a pause within one is far shorter.
    let heard = utterances(&transcript, "Witness Sun (Witness)", 2_000);
    eprintln!(
        "transcript: {:#?}",
        transcript
            .segments
            .iter()
            .map(|s| (s.start_ms, s.end_ms, &s.speaker, &s.text))
            .collect::<Vec<_>>()
    );
    for s in transcript
        .segments
        .iter()
        .filter(|s| s.speaker == "Witness Sun (Witness)")
    {
        let rate = words(&s.text).len() as f64 * 1000.0 / (s.end_ms - s.start_ms).max(1) as f64;
        assert!(
            rate >= WORDS_PER_S,
            "{rate:.2} words a second in {s:?}: speech the transcript skipped?"
        );
    }
    let heard: Vec<&str> = heard.iter().map(|u| u.text.as_str()).collect();
    assert_heard("the stored transcript", &heard);
    let said = heard.join(" ");

    // The case record on the judge's page: recordings and both tracks, the transcript to read,
    // the event log verified, and the transcript found by a search.
    judge.click("nav-cases").await;
    let open = format!(
        "document.querySelector('button.open-record[data-case=\"{}\"]')",
        s.case.id
    );
    judge.wait_for(&open, "the case in the list").await;
    judge.eval(&format!("{open}.click(); true")).await;
    let record = format!("document.querySelector('.hearing-record[data-hearing=\"{hid}\"]')");
    judge.wait_for(&record, "the hearing's record").await;
    // The "who" column of the recordings (0) or the tracks (1), one entry a file.
    let who = |table: usize| {
        format!(
            "[...{record}.querySelectorAll('table')[{table}].rows].slice(1)
                .map(r => r.cells[1].innerText)"
        )
    };
    let recordings = judge.eval(&who(0)).await;
    assert!(
        recordings.as_array().is_some_and(|r| !r.is_empty()),
        "{recordings}"
    );
    // A participant's track restarts after the recess: two files each.
    let tracks = judge.eval(&who(1)).await;
    let mut owners: Vec<&str> = tracks
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    owners.sort();
    owners.dedup();
    assert_eq!(
        owners,
        ["Judge Wang (judge)", "Witness Sun (witness)"],
        "{tracks}"
    );
    let status = judge
        .eval(&format!(
            "fetch({record}.querySelector('button.download').dataset.path,
                   {{headers: {{authorization: 'Bearer ' + token}}}}).then(r => r.status)"
        ))
        .await;
    assert_eq!(status, 200, "a recording downloads with the page's token");
    judge
        .eval(&format!(
            "{record}.querySelector('button.read-transcript').click(); true"
        ))
        .await;
    let text = judge
        .wait_for(
            &format!("{record}.querySelector('.transcript').innerText"),
            "the transcript's text",
        )
        .await;
    let text = text.as_str().unwrap_or("");
    // The court transcript names speakers in capitals.
    assert!(text.contains("WITNESS SUN"), "{text}");
    // The page shows the stored transcript's words, all of them, in order.
    assert!(
        words_in_order(&said, text),
        "{said:?} is not on the page:\n{text}"
    );
    judge
        .eval(&format!(
            "{record}.querySelector('button.verify').click(); true"
        ))
        .await;
    let verdict = judge
        .wait_for(
            &format!("{record}.querySelector('.verdict').innerText"),
            "the log's verdict",
        )
        .await;
    assert!(
        verdict.as_str().unwrap_or("").starts_with(" verified"),
        "{verdict}"
    );
    // A word the transcript has, searched for from the page.
    let word = words(WITNESS)
        .into_iter()
        .find(|w| w.len() > 3 && words(&said).contains(w))
        .expect("a word of the phrase in the transcript");
    judge
        .eval(&format!(
            "document.getElementById('search-query').value = {word:?};
             document.querySelector('#search-form button').click(); true"
        ))
        .await;
    let hit = judge
        .wait_for(
            "[...document.querySelectorAll('#search-hits li.hit')].map(li => li.innerText).join('\\n')",
            "a search hit",
        )
        .await;
    assert!(
        hit.as_str().unwrap_or("").contains("Witness Sun"),
        "{word}: {hit}"
    );
    drop(judge);
    drop(witness);
    drop(server);
}
