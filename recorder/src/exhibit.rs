//! What the exhibit pane shows: an image as it is, or one page of a PDF rendered to an image
//! first (poppler's `pdftoppm`, from Debian's poppler-utils; the page count from `pdfinfo`).
//! Everything is checked before the room changes: a bad file or page changes nothing.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// An exhibit ready for the pane. A rendered page lives in a temporary directory that goes
/// when this is dropped (the room keeps it while the page is shown).
#[derive(Debug)]
pub struct Shown {
    pub image: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn fail(path: &Path, message: impl Into<String>) -> Error {
    Error::Exhibit {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Whether `file` is a PDF, by its first bytes (not its name).
pub fn is_pdf(file: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 5];
    let mut f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    let n = f.read(&mut head).map_err(|e| Error::io(file, e))?;
    Ok(&head[..n] == b"%PDF-")
}

/// Runs a poppler tool about `file`; its error output names the problem when it fails.
fn poppler(cmd: &mut Command, file: &Path) -> Result<Vec<u8>> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        fail(
            file,
            format!("cannot run {tool} ({e}): install poppler-utils"),
        )
    })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(fail(
            file,
            format!("{tool} failed: {}", why.trim().lines().last().unwrap_or("")),
        ));
    }
    Ok(out.stdout)
}

/// How many pages a PDF has.
pub fn pdf_pages(pdf: &Path) -> Result<u32> {
    let info = poppler(Command::new("pdfinfo").arg(pdf), pdf)?;
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:")?.trim().parse().ok())
        .ok_or_else(|| fail(pdf, "pdfinfo gave no page count"))
}

/// Page `page` (from 1) of `file` as an image: the file itself when it is an image (one page),
/// otherwise the PDF page rendered with `long_side` pixels on its longer side.
pub fn prepare(file: &Path, page: u32, long_side: u32) -> Result<Shown> {
    if !file.is_file() {
        return Err(fail(file, "no such file"));
    }
    if !is_pdf(file)? {
        if page != 1 {
            return Err(fail(
                file,
                format!("page {page} asked, but an image has only page 1"),
            ));
        }
        return Ok(Shown {
            image: file.to_owned(),
            _dir: None,
        });
    }
    let pages = pdf_pages(file)?;
    if page == 0 || page > pages {
        return Err(fail(
            file,
            format!("page {page} asked, but the PDF has pages 1 to {pages}"),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("opencourt-exhibit-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let root = dir.path().join("page");
    let page_s = page.to_string();
    poppler(
        Command::new("pdftoppm")
            .args([
                "-png",
                "-singlefile",
                "-f",
                &page_s,
                "-l",
                &page_s,
                "-scale-to",
            ])
            .arg(long_side.to_string())
            .arg(file)
            .arg(&root),
        file,
    )?;
    let image = root.with_extension("png");
    if !image.is_file() {
        return Err(fail(
            file,
            format!("pdftoppm wrote no image for page {page}"),
        ));
    }
    Ok(Shown {
        image,
        _dir: Some(dir),
    })
}
