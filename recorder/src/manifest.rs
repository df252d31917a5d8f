//! `manifest.json`: every closed file with its SHA-256, size, duration and hearing-clock span,
//! the off-record gaps, and the hearing's start in UTC (the hearing clock's zero, so a room
//! restarted on the same directory continues on the same clock). [`verify`] re-hashes.
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const MANIFEST: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileKind {
    /// The mixed recording (video + mixed audio).
    Mix,
    /// One participant's own audio.
    Track { participant: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the output directory.
    pub file: String,
    #[serde(flatten)]
    pub kind: FileKind,
    pub sha256: String,
    pub size: u64,
    pub duration_ms: u64,
    /// Hearing-clock span of the media in the file: it starts playing at `start_ms`.
    pub start_ms: u64,
    pub end_ms: u64,
    /// Open when the recorder was killed; measured and hashed by the next room on this
    /// directory. Its media ends at the kill.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub from_ms: u64,
    pub to_ms: u64,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The hearing clock's zero (RFC 3339, UTC).
    pub hearing_started_utc: String,
    pub files: Vec<FileEntry>,
    pub gaps: Vec<Gap>,
}

impl Manifest {
    pub fn new(hearing_started_utc: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            hearing_started_utc: hearing_started_utc.to_rfc3339(),
            files: Vec::new(),
            gaps: Vec::new(),
        }
    }

    pub fn started(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.hearing_started_utc)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|e| Error::Manifest {
                path: MANIFEST.into(),
                message: format!("hearing_started_utc: {e}"),
            })
    }

    /// The manifest in `dir`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Manifest {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the manifest atomically (temporary file, fsync, rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST);
        let tmp = dir.join(".manifest.json.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| Error::io(&path, e))
    }

    /// The end of the last file on the hearing clock (where a restarted room's gap begins).
    pub fn last_end_ms(&self) -> u64 {
        self.files.iter().map(|f| f.end_ms).max().unwrap_or(0)
    }
}

/// SHA-256 (hex) and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

/// What [`verify`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: Vec<String>,
    /// Listed files whose size or hash differs from the manifest.
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    /// Media files in the directory the manifest does not list (e.g. the file being written
    /// when the process was killed).
    pub unlisted: Vec<String>,
}

impl VerifyReport {
    /// Every listed file is present and unchanged.
    pub fn is_intact(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty()
    }
}

/// Re-hashes every file listed in `dir`'s manifest.
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let m = Manifest::load(dir)?.ok_or_else(|| Error::Manifest {
        path: dir.join(MANIFEST),
        message: "no manifest".into(),
    })?;
    let mut r = VerifyReport::default();
    for f in &m.files {
        let path = dir.join(&f.file);
        if !path.exists() {
            r.missing.push(f.file.clone());
            continue;
        }
        let (sha, size) = hash_file(&path)?;
        if sha == f.sha256 && size == f.size {
            r.ok.push(f.file.clone());
        } else {
            r.changed.push(f.file.clone());
        }
    }
    let listed: std::collections::BTreeSet<&str> =
        m.files.iter().map(|f| f.file.as_str()).collect();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = e
            .map_err(|e| Error::io(dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if (name.ends_with(".mkv") || name.ends_with(".mka")) && !listed.contains(name.as_str()) {
            r.unlisted.push(name);
        }
    }
    r.unlisted.sort();
    Ok(r)
}

pub(crate) fn rel_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_detects_a_changed_a_missing_and_an_unlisted_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut m = Manifest::new(chrono::Utc::now());
        for name in [
            "mix-0000000000.mkv",
            "track-a-0000000000.mka",
            "mix-0000010000.mkv",
        ] {
            std::fs::write(d.join(name), name.as_bytes()).unwrap();
            let (sha256, size) = hash_file(&d.join(name)).unwrap();
            m.files.push(FileEntry {
                file: name.into(),
                kind: FileKind::Mix,
                sha256,
                size,
                duration_ms: 10_000,
                start_ms: 0,
                end_ms: 10_000,
                recovered: false,
            });
        }
        m.save(d).unwrap();
        assert!(verify(d).unwrap().is_intact());
        std::fs::write(d.join("mix-0000000000.mkv"), b"mix-0000000001.mkv").unwrap();
        std::fs::remove_file(d.join("mix-0000010000.mkv")).unwrap();
        std::fs::write(d.join("mix-0000020000.mkv"), b"partial").unwrap();
        let r = verify(d).unwrap();
        assert!(!r.is_intact());
        assert_eq!(r.changed, vec!["mix-0000000000.mkv"]);
        assert_eq!(r.missing, vec!["mix-0000010000.mkv"]);
        assert_eq!(r.unlisted, vec!["mix-0000020000.mkv"]);
        assert_eq!(r.ok, vec!["track-a-0000000000.mka"]);
        let again = Manifest::load(d).unwrap().unwrap();
        assert_eq!(again, m);
    }

    /// No manifest yet is `None`; a manifest that cannot be read is an error naming it, never
    /// taken for "no manifest" (which would start a fresh one over the hearing's files).
    #[test]
    fn load_tells_a_missing_manifest_from_an_unreadable_one() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Manifest::load(dir.path()), Ok(None)));
        std::fs::create_dir(dir.path().join(MANIFEST)).unwrap();
        match Manifest::load(dir.path()) {
            Err(Error::Io { path, .. }) => assert_eq!(path, dir.path().join(MANIFEST)),
            other => panic!("a directory in the manifest's place: {other:?}"),
        }
    }

    /// A restarted room's gap begins where the latest file ends, whatever order they are listed in.
    #[test]
    fn last_end_ms_is_the_latest_end() {
        let mut m = Manifest::new(chrono::Utc::now());
        assert_eq!(m.last_end_ms(), 0);
        for (start_ms, end_ms) in [(0, 10_000), (20_000, 27_500), (10_000, 20_000)] {
            m.files.push(FileEntry {
                file: format!("mix-{start_ms:010}.mkv"),
                kind: FileKind::Mix,
                sha256: String::new(),
                size: 0,
                duration_ms: end_ms - start_ms,
                start_ms,
                end_ms,
                recovered: false,
            });
        }
        assert_eq!(m.last_end_ms(), 27_500);
    }

    /// Size and hash cover the whole file, across reads of the buffer.
    #[test]
    fn hash_file_covers_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mix-0000000000.mkv");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            (hex::encode(Sha256::digest(&bytes)), 200_000)
        );
    }

    /// A report is intact only with nothing changed and nothing missing (unlisted files are the
    /// one being written when the recorder was killed, and do not count).
    #[test]
    fn intact_means_nothing_changed_and_nothing_missing() {
        let one = || vec!["f".to_string()];
        assert!(VerifyReport {
            unlisted: one(),
            ..VerifyReport::default()
        }
        .is_intact());
        assert!(!VerifyReport {
            changed: one(),
            ..VerifyReport::default()
        }
        .is_intact());
        assert!(!VerifyReport {
            missing: one(),
            ..VerifyReport::default()
        }
        .is_intact());
    }

    /// Names in the manifest are relative to its directory.
    #[test]
    fn rel_name_is_relative_to_the_directory() {
        let dir = Path::new("/data/hearing");
        assert_eq!(rel_name(dir, &dir.join("tracks/a.mka")), "tracks/a.mka");
        assert_eq!(
            rel_name(dir, Path::new("/elsewhere/b.mka")),
            "/elsewhere/b.mka"
        );
    }
}
