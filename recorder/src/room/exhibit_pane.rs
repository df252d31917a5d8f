//! The exhibit pane: an image or a PDF page shown beside the participants, swapped in as a
//! branch at the compositor without stopping the media.
use std::path::Path;
use std::sync::MutexGuard;

use gstreamer::prelude::*;

use super::control::{Control, Pane};
use super::{build, Inner, Room};
use crate::error::{Error, Result};
use crate::layout::layout;
use crate::state::{Command, Event};

impl Room {
    /// Shows an image (PNG or JPEG) or the first page of a PDF in the exhibit pane.
    pub fn show_exhibit(&self, name: &str, file: &Path) -> Result<()> {
        self.show_exhibit_page(name, file, 1)
    }

    /// Shows page `page` (from 1) of a PDF, rendered to an image, in the exhibit pane (an image
    /// has only page 1). A missing file or page is an error and changes nothing.
    pub fn show_exhibit_page(&self, name: &str, file: &Path, page: u32) -> Result<()> {
        let inner = &self.inner;
        // rendered at the view's size; the pane scales it down, keeping its shape
        let side = inner.cfg.width.max(inner.cfg.height).max(1) as u32;
        let shown = crate::exhibit::prepare(file, page, side)?;
        let mut c = inner.control.lock().expect("control lock");
        c.state
            .apply(Command::ShowExhibit { name: name.into() }, inner.now())?;
        let pane = layout(
            c.state.in_view().len(),
            true,
            inner.cfg.width,
            inner.cfg.height,
        )
        .exhibit
        .expect("a layout with an exhibit has a pane");
        let (bin, ghost) = build::exhibit(&shown.image, pane.w, pane.h)?;
        inner.core.pipeline.add(&bin)?;
        let pad = inner
            .core
            .compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Gst("compositor pad".into()))?;
        pad.set_property_from_str("sizing-policy", "keep-aspect-ratio");
        ghost.set_offset(inner.now().saturating_sub(inner.ctx.offset).as_nanos() as i64);
        ghost
            .link(&pad)
            .map_err(|e| Error::Gst(format!("link exhibit: {e:?}")))?;
        build::start_branch(&bin)?;
        let old = c.exhibit.replace((bin, pad, shown));
        let ev = inner.transition(&mut c, Command::ShowExhibit { name: name.into() })?;
        settle(inner, c, old, ev)
    }

    pub fn hide_exhibit(&self) -> Result<()> {
        let inner = &self.inner;
        let mut c = inner.control.lock().expect("control lock");
        let ev = inner.transition(&mut c, Command::HideExhibit)?;
        let old = c.exhibit.take();
        settle(inner, c, old, ev)
    }
}

/// After the pane changed under the lock `c`: lays the view out, unlocks, takes the pane that was
/// there (`old`) out of the pipeline, then sends `ev`.
fn settle(
    inner: &Inner,
    c: MutexGuard<'_, Control>,
    old: Option<Pane>,
    ev: Vec<Event>,
) -> Result<()> {
    inner.apply_layout(&c);
    drop(c);
    if let Some((b, p, _shown)) = old {
        build::remove_branch(&inner.core.pipeline, &b, &[(&inner.core.compositor, &p)])?;
    }
    inner.emit_all(ev);
    Ok(())
}
