//! After a crash: the files that were open when the process died are complete up to the kill
//! (Matroska clusters are written as they fill) but not in the manifest. A room started on the
//! same directory measures, hashes and lists them, marked `recovered`.
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::{Error, Result};
use crate::manifest::{hash_file, FileEntry, FileKind, Manifest};

/// Parses `mix-<ms>.mkv` / `track-<id>-<ms>.mka` into its kind and start.
pub fn parse_name(name: &str) -> Option<(FileKind, u64)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let (rest, ms) = stem.rsplit_once('-')?;
    let ms: u64 = ms.parse().ok()?;
    match (rest, ext) {
        ("mix", "mkv") => Some((FileKind::Mix, ms)),
        (r, "mka") => r.strip_prefix("track-").map(|id| {
            (
                FileKind::Track {
                    participant: id.to_owned(),
                },
                ms,
            )
        }),
        _ => None,
    }
}

/// The end of the last frame in a Matroska file (its time), read to the end by GStreamer.
pub fn media_end(path: &Path) -> Result<Duration> {
    let p = gst::parse::launch("filesrc name=src ! matroskademux ! fakesink name=sink sync=false")?
        .downcast::<gst::Pipeline>()
        .map_err(|_| Error::Gst("not a pipeline".into()))?;
    let by = |n: &str| p.by_name(n).ok_or_else(|| Error::Gst(format!("no {n}")));
    by("src")?.set_property("location", path.to_string_lossy().as_ref());
    let end = Arc::new(AtomicU64::new(0));
    let e = end.clone();
    by("sink")?
        .static_pad("sink")
        .ok_or_else(|| Error::Gst("fakesink pad".into()))?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                if let Some(pts) = b.pts() {
                    let d = b.duration().unwrap_or(gst::ClockTime::ZERO);
                    e.fetch_max((pts + d).nseconds(), Ordering::Relaxed);
                }
            }
            gst::PadProbeReturn::Ok
        });
    p.set_state(gst::State::Playing)?;
    let msg = p.bus().expect("bus").timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    p.set_state(gst::State::Null)?;
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(Duration::from_nanos(end.load(Ordering::Relaxed))),
        Some(gst::MessageView::Error(err)) => {
            Err(Error::Gst(format!("{}: {}", path.display(), err.error())))
        }
        _ => Err(Error::Gst(format!("{}: timed out", path.display()))),
    }
}

/// Lists every recorder file in `dir` that the manifest does not, as recovered.
pub fn recover(dir: &Path, m: &mut Manifest) -> Result<Vec<FileEntry>> {
    let listed: std::collections::BTreeSet<String> =
        m.files.iter().map(|f| f.file.clone()).collect();
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = e
            .map_err(|e| Error::io(dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some((kind, start_ms)) = parse_name(&name) else {
            continue;
        };
        if listed.contains(&name) {
            continue;
        }
        let path = dir.join(&name);
        let end = media_end(&path)?;
        let (sha256, size) = hash_file(&path)?;
        found.push(FileEntry {
            file: name,
            kind,
            sha256,
            size,
            duration_ms: end.as_millis() as u64,
            start_ms,
            end_ms: start_ms + end.as_millis() as u64,
            recovered: true,
        });
    }
    found.sort_by(|a, b| (a.start_ms, &a.file).cmp(&(b.start_ms, &b.file)));
    m.files.extend(found.iter().cloned());
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            parse_name("mix-0000012000.mkv"),
            Some((FileKind::Mix, 12_000))
        );
        assert_eq!(
            parse_name("track-judge-ada-0000000500.mka"),
            Some((
                FileKind::Track {
                    participant: "judge-ada".into()
                },
                500
            ))
        );
        assert_eq!(parse_name("manifest.json"), None);
        assert_eq!(parse_name("mix-12.mka"), None);
    }
}
