//! A PDF exhibit in a running room: page 1, then page 2, in the recording's exhibit pane as
//! rendered; a page the PDF does not have is refused and changes nothing. And the checks before
//! it: pages rendered at the size asked, bad pages, broken PDFs and images refused by name.
mod common;

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Result};
use common::*;
use recorder::exhibit;
use recorder::layout::layout;
use recorder::state::Event;
use recorder::{Manifest, RoomConfig};

/// Mean (r, g, b) of a 40x40 square at (x, y) in the frame at `t` seconds of `video`.
fn colour_at(video: &Path, t: f64, x: i32, y: i32) -> Result<(f64, f64, f64)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &t.to_string(), "-i"])
        .arg(video)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("crop=40:40:{}:{}", x - 20, y - 20),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()?;
    ensure!(
        out.status.success() && out.stdout.len() == 40 * 40 * 3,
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = (40 * 40) as f64;
    let sum = |k: usize| {
        out.stdout
            .iter()
            .skip(k)
            .step_by(3)
            .map(|v| f64::from(*v))
            .sum::<f64>()
            / n
    };
    Ok((sum(0), sum(1), sum(2)))
}

#[test]
fn pages_of_a_pdf_are_shown_as_rendered_and_a_missing_page_changes_nothing() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path();
    let exhibit = red_green_pdf(d, "contract.pdf")?;
    let out = d.join("rec");
    let cfg = RoomConfig::new(&out);
    let (w, h) = (cfg.width, cfg.height);
    let (room, events) = room_with_a_judge(d, cfg, 10.0)?;
    // Each step comes a while after the room made the one before (its events' times on the
    // hearing clock), and the frames are read between them: a slow machine moves both.
    let patience = std::time::Duration::from_secs(30);
    let room_did = |what: &str| -> (String, f64) {
        let (e, _) = next_event(&events, what, patience, |e| {
            matches!(e, Event::ExhibitShown { .. } | Event::ExhibitHidden { .. })
        });
        match e {
            Event::ExhibitShown { name, at } => (name, at.as_secs_f64()),
            Event::ExhibitHidden { at } => ("hidden".into(), at.as_secs_f64()),
            _ => unreachable!("picked above"),
        }
    };
    let after = |t: f64| wait_until(&room, t);
    after(1.0);
    room.show_exhibit_page("P1", &exhibit, 1)?;
    let (p1, page1) = room_did("ExhibitShown P1");
    after(page1 + 1.5);
    let refused = room
        .show_exhibit_page("P5", &exhibit, 5)
        .unwrap_err()
        .to_string();
    let refused_at = room.now().as_secs_f64();
    assert!(
        refused.contains("contract.pdf") && refused.contains("pages 1 to 2"),
        "{refused}"
    );
    after(refused_at + 1.5);
    room.show_exhibit_page("P2", &exhibit, 2)?;
    let (p2, page2) = room_did("ExhibitShown P2");
    after(page2 + 2.0);
    room.hide_exhibit()?;
    let (_, hidden) = room_did("ExhibitHidden");
    after(hidden + 1.0);
    room.stop()?;
    // nothing else was shown (the refused page 5 least of all)
    let more: Vec<Event> = events
        .try_iter()
        .filter(|e| matches!(e, Event::ExhibitShown { .. }))
        .collect();
    assert_eq!((p1.as_str(), p2.as_str(), more), ("P1", "P2", vec![]));

    let m = Manifest::load(&out)?.expect("manifest");
    let mix = mix_files(&m);
    assert_eq!(mix.len(), 1, "{:?}", m.files);
    let video = out.join(&mix[0].file);
    let start = mix[0].start_ms as f64 / 1000.0;
    let pane = layout(1, true, w, h).exhibit.expect("a pane");
    let (cx, cy) = (pane.x + pane.w / 2, pane.y + pane.h / 2);
    // page 1 is red (also after the refused page 5), page 2 green, then the pane is gone
    let red = |(r, g, b): (f64, f64, f64)| r > 180.0 && g < 60.0 && b < 60.0;
    let green = |(r, g, b): (f64, f64, f64)| g > 180.0 && r < 60.0 && b < 60.0;
    for t in [(page1 + refused_at) / 2.0, (refused_at + page2) / 2.0] {
        let c = colour_at(&video, t - start, cx, cy)?;
        assert!(red(c), "page 1 at {t} s: {c:?}");
    }
    let t = (page2 + hidden) / 2.0;
    let c = colour_at(&video, t - start, cx, cy)?;
    assert!(green(c), "page 2 at {t} s: {c:?}");
    let t = hidden + 0.8;
    let c = colour_at(&video, t - start, cx, cy)?;
    assert!(
        !green(c) && !red(c),
        "an exhibit still shown at {t} s, after hiding: {c:?}"
    );
    Ok(())
}

#[test]
fn a_pdf_page_is_rendered_and_bad_pages_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let file = red_green_pdf(d.path(), "exhibit.pdf").unwrap();
    assert!(exhibit::is_pdf(&file).unwrap());
    assert_eq!(exhibit::pdf_pages(&file).unwrap(), 2);
    let shown = exhibit::prepare(&file, 2, 400).unwrap();
    let png = std::fs::read(&shown.image).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // 612 x 792 scaled to 400 on the long side
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert!(h == 400 && (309..=310).contains(&w), "{w} x {h}");
    let dir = shown.image.parent().unwrap().to_owned();
    drop(shown);
    assert!(!dir.exists(), "the rendered page is removed with it");

    for (page, want) in [(3, "pages 1 to 2"), (0, "pages 1 to 2")] {
        let e = exhibit::prepare(&file, page, 400).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("exhibit.pdf"), "{e}");
    }
    let broken = d.path().join("broken.pdf");
    std::fs::write(&broken, b"%PDF-1.4\nnot really").unwrap();
    let e = exhibit::prepare(&broken, 1, 400).unwrap_err().to_string();
    assert!(
        e.contains("broken.pdf") && e.contains("pdfinfo failed"),
        "{e}"
    );
}

#[test]
fn an_image_is_shown_as_it_is_and_has_one_page() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("photo.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\n").unwrap();
    assert_eq!(exhibit::prepare(&file, 1, 400).unwrap().image, file);
    let e = exhibit::prepare(&file, 2, 400).unwrap_err().to_string();
    assert!(e.contains("only page 1"), "{e}");
    let e = exhibit::prepare(&d.path().join("missing.pdf"), 1, 400)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no such file"), "{e}");
}
