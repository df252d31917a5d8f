//! The transcription job worker. Jobs are durable rows in the control plane's database: the
//! worker claims one with a lease, renews the lease while whisper runs, and stores the transcript
//! (with its hash in the hearing's log) in the same transaction that marks the job done — only
//! while it still holds the lease. A worker killed mid-job loses nothing: its lease runs out, the
//! next worker takes the job over, and the transcript is stored exactly once.
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearing_core::app::App;
use hearing_core::domain::HearingId;
use hearing_core::records::Job;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::engine::{Engine, Language};
use crate::error::{Error, Result};
use crate::model::{self, ModelName};
use crate::pipeline::{self, Options, Track};
use crate::transcript::Transcript;
use crate::vad::VadParams;

pub const JOB_KIND: &str = hearing_core::app::TRANSCRIBE_JOB;
/// How many times a transcription job is tried before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 5;

/// A transcription job's input, stored as JSON in the job row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub tracks: Vec<TrackSpec>,
    /// "en", "zh" or "auto".
    pub language: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSpec {
    /// The speaker as the transcript names them (name and role).
    pub label: String,
    pub path: PathBuf,
    /// Where the track starts on the hearing clock.
    pub offset_ms: u64,
}

impl JobSpec {
    fn language(&self) -> Result<Language> {
        match self.language.as_str() {
            "en" => Ok(Language::En),
            "zh" => Ok(Language::Zh),
            "auto" => Ok(Language::Auto),
            other => Err(Error::Invalid(format!(
                "language {other:?} is not en, zh or auto"
            ))),
        }
    }
}

/// Queues a transcription of `spec` for `hearing`; returns the job id.
pub async fn enqueue(app: &App, hearing: HearingId, spec: &JobSpec) -> Result<String> {
    spec.language()?;
    if spec.tracks.is_empty() {
        return Err(Error::Invalid(
            "a transcription job needs at least one track".into(),
        ));
    }
    let json = serde_json::to_string(spec).expect("job specs serialise");
    Ok(app
        .system()
        .enqueue_job(JOB_KIND, hearing, &json, MAX_ATTEMPTS)
        .await?)
}

#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// This worker's name in job leases (host and process).
    pub owner: String,
    /// Where `opencourt model fetch` put the models.
    pub data: PathBuf,
    /// A model for every job, instead of tiny.en for English and base otherwise.
    pub model: Option<PathBuf>,
    pub threads: usize,
    pub lease: Duration,
    /// How long to wait before looking for work again when there is none.
    pub poll: Duration,
}

/// Runs jobs until `shutdown` completes.
pub async fn run(app: App, opts: WorkerOptions, shutdown: impl Future<Output = ()>) -> Result<()> {
    let engines = Engines::default();
    tokio::pin!(shutdown);
    loop {
        match run_one(&app, &opts, &engines).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "transcription worker"),
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(opts.poll) => {}
        }
    }
}

/// Loaded models, shared by the jobs this worker runs.
#[derive(Clone, Default)]
pub struct Engines(Arc<Mutex<HashMap<PathBuf, Arc<Engine>>>>);

impl Engines {
    /// The model at `path`, loaded once.
    pub fn get(&self, path: &PathBuf) -> Result<Arc<Engine>> {
        if let Some(e) = self.0.lock().expect("engines").get(path) {
            return Ok(e.clone());
        }
        let e = Arc::new(Engine::load(path)?);
        self.0
            .lock()
            .expect("engines")
            .insert(path.clone(), e.clone());
        Ok(e)
    }
}

/// Claims and runs one job; `None` when there was none to run.
pub async fn run_one(app: &App, opts: &WorkerOptions, engines: &Engines) -> Result<Option<String>> {
    let lease = chrono::Duration::from_std(opts.lease).unwrap_or(chrono::Duration::seconds(60));
    let Some(job) = app.system().claim_job(JOB_KIND, &opts.owner, lease).await? else {
        return Ok(None);
    };
    // One span per job: every line about it (the worker's, the lease's, whisper's thread)
    // carries the job and its hearing.
    let span = tracing::info_span!("job", job = %job.id, hearing = %job.hearing_id);
    run_claimed(app, opts, engines, &job)
        .instrument(span)
        .await?;
    Ok(Some(job.id))
}

async fn run_claimed(app: &App, opts: &WorkerOptions, engines: &Engines, job: &Job) -> Result<()> {
    tracing::info!(attempt = job.attempts, "transcription job claimed");
    let renewer = renew_lease(app.clone(), job.id.clone(), opts.owner.clone(), opts.lease);
    let result = transcribe_job(job, opts, engines).await;
    renewer.abort();
    match result {
        Ok(t) => {
            let tid = app.complete_transcription(job, &opts.owner, &t).await?;
            tracing::info!(transcript = %tid, segments = t.segments.len(), "transcript stored");
        }
        Err(e) => {
            tracing::warn!(error = %e, "transcription job failed");
            app.system()
                .fail_job(&job.id, &opts.owner, &e.to_string())
                .await?;
        }
    }
    Ok(())
}

fn renew_lease(
    app: App,
    job: String,
    owner: String,
    lease: Duration,
) -> tokio::task::JoinHandle<()> {
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = chrono::Utc::now()
                    + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
                match app.system().renew_lease(&job, &owner, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("lease lost; another worker owns the job now");
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not renew the lease"),
                }
            }
        }
        .instrument(span),
    )
}

async fn transcribe_job(job: &Job, opts: &WorkerOptions, engines: &Engines) -> Result<Transcript> {
    let spec: JobSpec = serde_json::from_str(&job.spec)
        .map_err(|e| Error::Invalid(format!("job {}: spec: {e}", job.id)))?;
    let language = spec.language()?;
    let model_path = opts.model.clone().unwrap_or_else(|| {
        let name = if language == Language::En {
            ModelName::TinyEn
        } else {
            ModelName::Base
        };
        model::models_dir(&opts.data).join(name.file_name())
    });
    let tracks: Vec<Track> = spec
        .tracks
        .iter()
        .map(|t| Track {
            label: t.label.clone(),
            path: t.path.clone(),
            offset_ms: t.offset_ms,
        })
        .collect();
    let (engines, threads) = (engines.clone(), opts.threads);
    // Decoding and inference are CPU-bound: a blocking thread, never the async executor.
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _job = span.enter();
        let engine = engines.get(&model_path)?;
        let options = Options {
            language,
            threads,
            vad: VadParams::default(),
        };
        pipeline::run(&engine, &tracks, &options, &|_| {})
    })
    .await
    .map_err(|e| Error::Whisper(format!("worker thread: {e}")))?
}
