//! Helpers for the recorder's tests: real media made with espeak-ng, sox and ffmpeg, and
//! measurements read back with ffprobe, ffmpeg and gst-discoverer-1.0.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use recorder::manifest::{FileEntry, FileKind, Manifest};
use recorder::state::Event;
use recorder::{ParticipantId, Role, Room, RoomConfig, Source};

pub fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Speech (espeak-ng) that starts `at` seconds into a WAV file `total` seconds long.
pub fn speech(dir: &Path, name: &str, text: &str, at: f64, total: f64) -> Result<PathBuf> {
    let raw = dir.join(format!("{name}-raw.wav"));
    run(Command::new("espeak-ng").arg("-w").arg(&raw).arg(text))?;
    let len: f64 = run(Command::new("soxi").arg("-D").arg(&raw))?
        .trim()
        .parse()?;
    assert!(at + len < total, "speech {len} s does not fit");
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "48000", "-c", "1"])
        .arg(&out)
        .args(["pad", &at.to_string(), &(total - at - len).to_string()]))?;
    Ok(out)
}

/// Where the speech in `speech()` output lies: (start, end) in seconds of the file.
pub fn speech_span(wav: &Path) -> Result<(f64, f64)> {
    let pcm = decode(wav)?;
    let w = windows(&pcm);
    let loud: Vec<usize> = (0..w.len()).filter(|i| w[*i] > LOUD).collect();
    let (a, b) = (
        *loud.first().context("no speech")?,
        *loud.last().context("no speech")?,
    );
    Ok((a as f64 * WIN, (b + 1) as f64 * WIN))
}

/// A sine tone of `secs` seconds.
pub fn tone(dir: &Path, name: &str, freq: u32, secs: f64) -> Result<PathBuf> {
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .args(["-n", "-r", "48000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args([
            "synth",
            &secs.to_string(),
            "sine",
            &freq.to_string(),
            "vol",
            "0.2",
        ]))?;
    Ok(out)
}

pub fn image(dir: &Path) -> Result<PathBuf> {
    let out = dir.join("exhibit.png");
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=navy:s=800x600",
            "-frames:v",
            "1",
        ])
        .arg(&out))?;
    Ok(out)
}

/// Sample rate of decoded audio in these tests.
pub const RATE: usize = 16_000;
/// Analysis window, seconds.
pub const WIN: f64 = 0.1;
/// RMS (full scale 1.0) above which a window has sound; silence from Opus is far below.
pub const LOUD: f64 = 0.01;

/// Decodes any audio file to mono f32 at [`RATE`].
pub fn decode(path: &Path) -> Result<Vec<f32>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "s16le", "-ac", "1", "-ar", &RATE.to_string(), "-"])
        .output()?;
    if !out.status.success() {
        bail!(
            "ffmpeg {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out
        .stdout
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect())
}

/// RMS of each [`WIN`] window.
pub fn windows(pcm: &[f32]) -> Vec<f64> {
    let n = (RATE as f64 * WIN) as usize;
    pcm.chunks(n)
        .map(|c| (c.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
        .collect()
}

/// Power of `freq` Hz in each window (Goertzel), normalised so a full-scale sine is ~0.25.
pub fn tone_power(pcm: &[f32], freq: f64) -> Vec<f64> {
    let n = (RATE as f64 * WIN) as usize;
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / RATE as f64).cos();
    pcm.chunks(n)
        .map(|c| {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for x in c {
                let s = f64::from(*x) + k * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            (s1 * s1 + s2 * s2 - k * s1 * s2) / (c.len() as f64).powi(2)
        })
        .collect()
}

/// The whole timeline of an output (mixed audio or one participant's track) on the hearing
/// clock: each file's audio placed at its `start_ms`. `None` where no file covers.
pub fn timeline(dir: &Path, files: &[&FileEntry]) -> Result<Vec<Option<f32>>> {
    let end = files.iter().map(|f| f.end_ms).max().unwrap_or(0) as usize;
    let mut t = vec![None; end * RATE / 1000 + RATE];
    for f in files {
        let pcm = decode(&dir.join(&f.file))?;
        let at = f.start_ms as usize * RATE / 1000;
        for (i, x) in pcm.iter().enumerate() {
            if let Some(slot) = t.get_mut(at + i) {
                *slot = Some(*x);
            }
        }
    }
    Ok(t)
}

/// Samples of a timeline between `a` and `b` seconds (uncovered counts as silence).
pub fn slice(t: &[Option<f32>], a: f64, b: f64) -> Vec<f32> {
    let (a, b) = (
        (a * RATE as f64) as usize,
        ((b * RATE as f64) as usize).min(t.len()),
    );
    t[a.min(b)..b].iter().map(|x| x.unwrap_or(0.0)).collect()
}

pub fn rms(pcm: &[f32]) -> f64 {
    (pcm.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

pub fn track_files<'a>(m: &'a Manifest, id: &str) -> Vec<&'a FileEntry> {
    m.files
        .iter()
        .filter(|f| matches!(&f.kind, FileKind::Track { participant } if participant == id))
        .collect()
}

pub fn mix_files(m: &Manifest) -> Vec<&FileEntry> {
    m.files.iter().filter(|f| f.kind == FileKind::Mix).collect()
}

/// What ffprobe says about a file: (codec, width, height) per stream and the duration.
pub struct Probe {
    pub streams: Vec<(String, String, i64, i64)>,
    pub duration: f64,
}

pub fn probe(path: &Path) -> Result<Probe> {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path))?;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    let streams = v["streams"]
        .as_array()
        .context("streams")?
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").to_owned(),
                s["codec_name"].as_str().unwrap_or("").to_owned(),
                s["width"].as_i64().unwrap_or(0),
                s["height"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let duration = v["format"]["duration"]
        .as_str()
        .context("duration")?
        .parse()?;
    Ok(Probe { streams, duration })
}

/// gst-discoverer-1.0 can open and fully parse the file.
pub fn discoverable(path: &Path) -> Result<()> {
    let out = run(Command::new("gst-discoverer-1.0").arg(path))?;
    if !out.contains("Duration") || out.contains("An error was encountered") {
        bail!("gst-discoverer on {}: {out}", path.display());
    }
    Ok(())
}

/// Decodes every packet of a file to the end: a damaged file fails here.
pub fn decodes_cleanly(path: &Path) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// End (seconds, file time) of the last packet of every stream: what a player can play, even
/// in a file whose index was never written.
pub fn last_packet_end(path: &Path) -> Result<f64> {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    let mut end: f64 = 0.0;
    for line in out.lines() {
        let mut it = line.split(',');
        let pts: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let dur: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        end = end.max(pts + dur);
    }
    Ok(end)
}

/// The hearing-clock start (ms) in a recorder file name (`mix-0000012000.mkv`).
pub fn start_ms_of(name: &str) -> u64 {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    stem.rsplit('-')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a recorder file name")
}

/// Video packet times (seconds, file time) of the first video stream.
pub fn video_packet_times(path: &Path) -> Result<Vec<f64>> {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path))?;
    let mut v: Vec<f64> = out
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// A PDF of US-letter pages, each filled with one colour (r, g, b in 0..=1).
pub fn pdf(colours: &[(f32, f32, f32)]) -> Vec<u8> {
    let n = colours.len();
    let mut objs = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 3 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ];
    for (i, (r, g, b)) in colours.iter().enumerate() {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R >>",
            4 + 2 * i
        ));
        let content = format!("{r} {g} {b} rg 0 0 612 792 re f");
        objs.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .bytes(),
    );
    out
}

/// Sleeps until the room's clock reaches `t` seconds.
pub fn wait_until(room: &Room, t: f64) {
    while room.now().as_secs_f64() < t {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A room on `cfg` with one participant, the presiding judge, admitted and playing a 440 Hz
/// tone of `secs` seconds.
pub fn room_with_a_judge(
    dir: &Path,
    cfg: RoomConfig,
    secs: f64,
) -> Result<(Room, std::sync::mpsc::Receiver<Event>)> {
    let (room, events) = Room::start(cfg)?;
    let judge = ParticipantId::parse("judge")?;
    room.add(
        &judge,
        "Judge",
        Role::Judge,
        &Source {
            audio: tone(dir, "judge", 440, secs)?,
            video: None,
        },
    )?;
    room.admit(&judge)?;
    Ok((room, events))
}

/// `dir/name`: a two-page PDF, page 1 red and page 2 green.
pub fn red_green_pdf(dir: &Path, name: &str) -> Result<PathBuf> {
    let file = dir.join(name);
    std::fs::write(&file, pdf(&[(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]))?;
    Ok(file)
}

/// Waits until `cond` holds, checking every 20 ms; fails naming `what` after `patience`. The
/// patience is generous (a loaded machine is slow) and is never the thing a test asserts.
pub fn wait_for(what: &str, patience: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + patience;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {patience:?} for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The room's next event that `want` picks, with every event before it; fails naming `what`
/// after `patience`.
pub fn next_event(
    events: &std::sync::mpsc::Receiver<Event>,
    what: &str,
    patience: std::time::Duration,
    want: impl Fn(&Event) -> bool,
) -> (Event, Vec<Event>) {
    let deadline = std::time::Instant::now() + patience;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match events.recv_timeout(left) {
            Ok(e) if want(&e) => return (e, before),
            Ok(e) => before.push(e),
            Err(e) => panic!("no event {what} after {patience:?} ({e}); before it: {before:?}"),
        }
    }
}

/// Runs a pipeline that ends in `appsink name=out` to its end; every sample it gave.
pub fn samples_of(desc: &str) -> Result<Vec<gstreamer::Sample>> {
    use gstreamer::prelude::*;
    let pipeline = gstreamer::parse::launch(desc)?
        .downcast::<gstreamer::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gstreamer_app::AppSink>()
        .unwrap();
    pipeline.set_state(gstreamer::State::Playing)?;
    let mut samples = Vec::new();
    while let Ok(s) = sink.pull_sample() {
        samples.push(s);
    }
    pipeline.set_state(gstreamer::State::Null)?;
    Ok(samples)
}
