//! Search finds the same rows on SQLite and PostgreSQL: transcripts (SearchTranscripts) and
//! cases (ListCases) over mixed-case, multi-word, punctuated and mixed Latin/Chinese queries.
//! Case is folded for ASCII letters only, every term must match, punctuation at a term's ends
//! is dropped and `%`, `_` and `\` match themselves.
use chrono::Duration;
use hearing_core::domain::transcript::{Segment, Transcript};
use hearing_core::domain::HearingId;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

/// Segment texts by their start (ms).
const SEGMENTS: [(u64, &str); 7] = [
    (0, "The ABC公司 contract was signed in March."),
    (3_000, "abc公司的律师 objected, Your Honour."),
    (6_000, "合同于三月签订。ABC公司没有付款。"),
    (
        9_000,
        "The vessel, Chartered for TWELVE months, was half loaded.",
    ),
    (12_000, "Objection overruled; the charter stands."),
    (15_000, "百分之五十即50%由公司承担。"),
    // What `50%由公司` would match if `%` were a wildcard.
    (18_000, "5000由公司支付。"),
];

fn transcript() -> Transcript {
    sample_transcript(
        SEGMENTS
            .iter()
            .map(|(start_ms, text)| Segment {
                start_ms: *start_ms,
                end_ms: start_ms + 2_000,
                speaker: "Judge Wang (judge)".into(),
                text: (*text).into(),
                words: Vec::new(),
            })
            .collect(),
    )
}

async fn search(
    t: &TestApp,
    token: &str,
    query: &str,
) -> Result<Vec<pb::SearchHit>, tonic::Status> {
    let mut rec = pb::record_service_client::RecordServiceClient::new(t.channel().await);
    rec.search_transcripts(authed(
        token,
        pb::SearchTranscriptsRequest {
            query: query.into(),
            case_id: String::new(),
            page_size: 0,
        },
    ))
    .await
    .map(|r| r.into_inner().hits)
}

async fn case_numbers(t: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut cases = t.cases().await;
    let mut found: Vec<String> = cases
        .list_cases(authed(
            token,
            pb::ListCasesRequest {
                query: query.into(),
                page_size: 100,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list cases")
        .into_inner()
        .cases
        .into_iter()
        .map(|c| c.case_number)
        .collect();
    found.sort();
    found
}

async fn search_parity(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("srch", pb::Visibility::Public).await;

    // The scene's hearing gets the transcript, through a job as the worker stores it.
    let store = t.app.system();
    let hid = HearingId::parse("h", &s.hearing.id).unwrap();
    store
        .enqueue_job("transcribe", hid, r#"{"tracks":[]}"#, 3)
        .await
        .unwrap();
    let job = store
        .claim_job("transcribe", "worker", Duration::seconds(60))
        .await
        .unwrap()
        .expect("the job is claimed");
    t.app
        .complete_transcription(&job, "worker", &transcript())
        .await
        .unwrap();

    let starts = |hits: &[pb::SearchHit]| hits.iter().map(|h| h.start_ms).collect::<Vec<_>>();
    let queries: [(&str, &[u64]); 9] = [
        // Mixed Latin/Chinese, whatever the case of the Latin letters.
        ("ABC公司", &[0, 3_000, 6_000]),
        ("abc公司", &[0, 3_000, 6_000]),
        // Several terms: all must match, wherever they are.
        ("abc公司 CONTRACT", &[0]),
        ("contract abc公司", &[0]),
        // Punctuation at a term's ends (Chinese and Latin) is not part of it.
        ("“ABC公司”， 三月。", &[6_000]),
        // Latin words only: the full-text index, mixed case and punctuation.
        ("Chartered, twelve!", &[9_000]),
        ("CHARTER", &[12_000]),
        // `%` matches itself, not anything.
        ("50%由公司", &[15_000]),
        ("abc公司 nowhere", &[]),
    ];
    for (query, want) in queries {
        let hits = search(&t, &s.clerk, query).await.unwrap();
        assert_eq!(starts(&hits), want, "{db:?}: {query:?}");
    }

    // The snippet cuts between Chinese characters and brackets the match as it is written.
    let hits = search(&t, &s.clerk, "abc公司 没有").await.unwrap();
    assert_eq!(starts(&hits), [6_000], "{db:?}");
    assert_eq!(hits[0].snippet, "合同于三月签订。[ABC公司]没有付款。");

    // A query of punctuation only has nothing to search for.
    assert_status(
        search(&t, &s.clerk, " ，。!? ").await,
        Code::InvalidArgument,
        "query",
    );

    // Cases: case numbers and titles, the same rules.
    let mut client = t.cases().await;
    for (number, title) in [
        ("CV-2026-ABC", "ABC公司 v. Harbour Shipping Co., Ltd."),
        ("cv-2026-007", "Li v. 50% Holdings_Ltd"),
        ("CV-2026-500", "Wang v. 5000 Holdings-Ltd"),
        ("CV-2026-EM", "Émile v. Harbour Shipping"),
    ] {
        client
            .create_case(authed(
                &s.judge,
                pb::CreateCaseRequest {
                    case_number: number.into(),
                    title: title.into(),
                    visibility: pb::Visibility::Public as i32,
                },
            ))
            .await
            .expect("create case");
    }
    let all = [
        "CV-2026-500",
        "CV-2026-ABC",
        "CV-2026-EM",
        "CV-srch",
        "cv-2026-007",
    ];
    let case_queries: [(&str, &[&str]); 9] = [
        ("abc公司", &["CV-2026-ABC"]),
        (
            "HARBOUR shipping",
            &["CV-2026-ABC", "CV-2026-EM", "CV-srch"],
        ),
        ("Harbour, Co.", &["CV-2026-ABC"]),
        ("cv-2026-abc", &["CV-2026-ABC"]),
        // `_` matches itself: "Holdings-Ltd" is not "holdings_ltd".
        ("50% holdings_ltd", &["cv-2026-007"]),
        ("Émile", &["CV-2026-EM"]),
        // Only ASCII letters are folded, on both databases alike.
        ("émile", &[]),
        ("", &all),
        ("，", &all),
    ];
    for (query, want) in case_queries {
        assert_eq!(
            case_numbers(&t, &s.clerk, query).await,
            want,
            "{db:?}: {query:?}"
        );
    }
    t.stop().await;
}

both_dbs!(search_parity);
