//! Transcription jobs and the case record: leases, retries without duplicates, GetTranscript in
//! every format, and SearchTranscripts with the visibility rules. (The worker that runs whisper
//! on real audio is tested with the transcriber.)
use chrono::Duration;
use hearing_core::domain::transcript::{Segment, Transcript, Word};
use hearing_core::domain::{HearingId, Role};
use hearing_core::CoreError;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

fn sample() -> Transcript {
    let seg = |speaker: &str, start_ms: u64, text: &str| Segment {
        start_ms,
        end_ms: start_ms + 2000,
        speaker: speaker.into(),
        text: text.into(),
        words: vec![Word {
            start_ms,
            end_ms: start_ms + 400,
            text: text.split_whitespace().next().unwrap_or("").into(),
            p: 0.9,
        }],
    };
    sample_transcript(vec![
        seg(
            "Judge Wang (judge)",
            500,
            "Please state the terms of the charter party.",
        ),
        seg(
            "Counsel Chen (counsel)",
            3_000,
            "The vessel was chartered for twelve months.",
        ),
        seg("Ms. Liu (witness)", 6_000, "合同于三月签订。"),
    ])
}

async fn jobs_and_transcripts(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("rec", pb::Visibility::Restricted).await;
    let store = t.app.system();
    let hid = HearingId::parse("h", &s.hearing.id).unwrap();
    let job_id = store
        .enqueue_job("transcribe", hid, r#"{"tracks":[]}"#, 3)
        .await
        .unwrap();

    // Worker A claims, then "dies": its lease runs out and worker B takes the job over.
    let a = store
        .claim_job("transcribe", "worker-a", Duration::seconds(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.id.as_str(), a.attempts), (job_id.as_str(), 1));
    assert!(
        store
            .claim_job("transcribe", "worker-b", Duration::seconds(30))
            .await
            .unwrap()
            .is_none(),
        "leased jobs are not claimed"
    );
    // B claims as soon as A's lease has run out (2 s; the patience only turns a hang into a
    // failure).
    let b = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            if let Some(b) = store
                .claim_job("transcribe", "worker-b", Duration::seconds(30))
                .await
                .unwrap()
            {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("A's lease never ran out");
    assert_eq!((b.id.as_str(), b.attempts), (job_id.as_str(), 2));
    assert!(
        !store
            .renew_lease(&a.id, "worker-a", chrono::Utc::now())
            .await
            .unwrap(),
        "A lost its lease"
    );
    let transcripts_logged = || async {
        store
            .events_after(hid, 0, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "transcript_stored")
            .count()
    };
    // A wakes up and tries to finish: refused because the lease is B's, and nothing is stored.
    let refused = t
        .app
        .complete_transcription(&a, "worker-a", &sample())
        .await;
    let expected = format!("job {job_id} is no longer leased to worker-a");
    assert!(
        matches!(&refused, Err(CoreError::FailedPrecondition(m)) if *m == expected),
        "{refused:?}"
    );
    assert_eq!(
        store.transcript(hid).await.unwrap(),
        None,
        "A stored nothing"
    );
    assert_eq!(transcripts_logged().await, 0, "A logged nothing");
    assert_eq!(
        store.job(&job_id).await.unwrap().unwrap(),
        hearing_core::records::Job {
            state: "running".into(),
            lease_owner: Some("worker-b".into()),
            error: None,
            ..b.clone()
        },
        "the job is still B's"
    );
    t.app
        .complete_transcription(&b, "worker-b", &sample())
        .await
        .unwrap();
    assert_eq!(store.job(&job_id).await.unwrap().unwrap().state, "done");
    // B's completion once more: refused (the job is done), and the stored transcript unchanged.
    let again = t
        .app
        .complete_transcription(&b, "worker-b", &sample())
        .await;
    let expected = format!("job {job_id} is no longer leased to worker-b");
    assert!(
        matches!(&again, Err(CoreError::FailedPrecondition(m)) if *m == expected),
        "a done job completes once: {again:?}"
    );
    assert_eq!(store.transcript(hid).await.unwrap().unwrap(), sample());
    assert_eq!(transcripts_logged().await, 1, "one transcript in the log");
    // The log records the transcript's hash once, and the whole record verifies.
    let (v, problems) = t.app.verify_record(hid, None).await.unwrap();
    assert!(v.ok && problems.is_empty(), "{v:?} {problems:?}");
    assert!(store
        .claim_job("transcribe", "worker-c", Duration::seconds(30))
        .await
        .unwrap()
        .is_none());

    // GetTranscript in every format, for the case's participants once admitted.
    t.open(&s).await;
    t.join_and_admit(&s, Role::Counsel).await;
    let mut rec = pb::record_service_client::RecordServiceClient::new(t.channel().await);
    let get = |token: &str, format: pb::TranscriptFormat| {
        authed(
            token,
            pb::GetTranscriptRequest {
                hearing_id: s.hearing.id.clone(),
                format: format as i32,
            },
        )
    };
    let json = rec
        .get_transcript(get(s.token(Role::Counsel), pb::TranscriptFormat::Json))
        .await
        .unwrap()
        .into_inner();
    let tr = json.transcript.unwrap();
    assert_eq!(tr.segments.len(), 3);
    assert_eq!(tr.segments[1].speaker, "Counsel Chen (counsel)");
    let back: Transcript = serde_json::from_str(&json.rendered).unwrap();
    assert_eq!(back, sample());
    let vtt = rec
        .get_transcript(get(&s.clerk, pb::TranscriptFormat::Vtt))
        .await
        .unwrap()
        .into_inner()
        .rendered;
    assert!(
        vtt.starts_with("WEBVTT") && vtt.contains("<v Judge Wang (judge)>Please state"),
        "{vtt}"
    );
    let srt = rec
        .get_transcript(get(&s.clerk, pb::TranscriptFormat::Srt))
        .await
        .unwrap()
        .into_inner()
        .rendered;
    assert!(srt.contains("00:00:03,000 --> 00:00:05,000"), "{srt}");
    let txt = rec
        .get_transcript(get(&s.clerk, pb::TranscriptFormat::Txt))
        .await
        .unwrap()
        .into_inner()
        .rendered;
    assert!(
        txt.contains("Case: CV-rec") && txt.contains("COUNSEL CHEN (COUNSEL):"),
        "{txt}"
    );
    assert_status(
        rec.get_transcript(authed(
            &s.clerk,
            pb::GetTranscriptRequest {
                hearing_id: s.hearing.id.clone(),
                format: 9,
            },
        ))
        .await,
        Code::InvalidArgument,
        "format",
    );

    // Search: English words, a Chinese phrase, and visibility.
    let search = |token: &str, q: &str| {
        authed(
            token,
            pb::SearchTranscriptsRequest {
                query: q.into(),
                case_id: String::new(),
                page_size: 0,
            },
        )
    };
    let hits = rec
        .search_transcripts(search(&s.clerk, "chartered"))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].speaker.as_str(), hits[0].start_ms),
        ("Counsel Chen (counsel)", 3_000)
    );
    assert!(
        hits[0].snippet.contains("[chartered]"),
        "{}",
        hits[0].snippet
    );
    let zh = rec
        .search_transcripts(search(&s.clerk, "三月"))
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(zh.len(), 1);
    assert_eq!(zh[0].speaker, "Ms. Liu (witness)");
    assert!(rec
        .search_transcripts(search(&s.clerk, "nonexistentword"))
        .await
        .unwrap()
        .into_inner()
        .hits
        .is_empty());
    // Another hearing's participant cannot see this RESTRICTED case's transcript.
    let other = t.scene("rec-o", pb::Visibility::Public).await;
    assert!(rec
        .search_transcripts(search(other.token(Role::Party), "chartered"))
        .await
        .unwrap()
        .into_inner()
        .hits
        .is_empty());
    assert_status(
        rec.get_transcript(get(other.token(Role::Party), pb::TranscriptFormat::Json))
            .await,
        Code::PermissionDenied,
        "another hearing",
    );
    assert_status(
        rec.search_transcripts(search(&s.clerk, " ")).await,
        Code::InvalidArgument,
        "query",
    );
    t.stop().await;
}

async fn media_hashes_are_logged_and_verified(db: Db) {
    use hearing_core::domain::events::MediaKind;
    use hearing_core::records::MediaFile;
    use sha2::Digest;
    let t = TestApp::start(db).await;
    let s = t.scene("media", pb::Visibility::Public).await;
    let hid = HearingId::parse("h", &s.hearing.id).unwrap();
    let media = t.dir.path().join("media").join(&s.hearing.id);
    std::fs::create_dir_all(&media).unwrap();
    let mut files = Vec::new();
    for (i, name) in ["recording-0001.mkv", "track-counsel.ogg"]
        .iter()
        .enumerate()
    {
        let bytes: Vec<u8> = (0..10_000u32).map(|b| (b * (i as u32 + 3)) as u8).collect();
        std::fs::write(media.join(name), &bytes).unwrap();
        files.push(MediaFile {
            file: name.to_string(),
            kind: if i == 0 {
                MediaKind::Segment
            } else {
                MediaKind::Track
            },
            participant_id: None,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            size: bytes.len() as u64,
            duration_ms: 5_000,
            start_ms: 1_000,
            end_ms: 6_000,
        });
    }
    t.app
        .record_media(hid, &files, &[(6_000, 9_000, "recess".into())])
        .await
        .unwrap();
    let verify = || {
        let out = std::process::Command::new(opencourt_bin())
            .args([
                "verify",
                "--hearing",
                &s.hearing.id,
                "--database-url",
                &t.database_url,
                "--media",
            ])
            .arg(&media)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = verify();
    assert!(ok, "{out}");
    // One byte of a segment changes: verify fails and names the file.
    let path = media.join("recording-0001.mkv");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[5_000] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let (ok, out) = verify();
    assert!(
        !ok && out.contains("recording-0001.mkv") && out.contains("does not match"),
        "{out}"
    );
    t.stop().await;
}

both_dbs!(jobs_and_transcripts, media_hashes_are_logged_and_verified);
