//! Running window decodes one after another on one Whisper state, or side by side on several.
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use whisper_rs::WhisperState;

use super::Decoded;
use crate::clip;
use crate::error::Result;
/// Decodes each window `next` hands out on `state`, in turn.
pub(super) fn one_by_one<'c>(
    state: &mut WhisperState,
    next: &mut dyn FnMut() -> Result<Option<(Cow<'c, clip::Clip<'c>>, clip::Window)>>,
    decode: &dyn Fn(&mut WhisperState, &clip::Clip, &clip::Window) -> Result<Decoded>,
) -> Result<Vec<(usize, Decoded)>> {
    let mut decoded = Vec::new();
    while let Some((clip, w)) = next()? {
        decoded.push((decoded.len(), decode(state, &clip, &w)?));
    }
    Ok(decoded)
}

/// One window's job: its place in the order, its clip and the window.
type Job<'c> = (usize, Cow<'c, clip::Clip<'c>>, clip::Window);

/// Runs one worker per state, each decoding the next window `next` (on this thread) hands out.
/// Every worker holds the queue's receiver while it runs: once all have stopped (one failed and
/// the others saw `failed`), sending fails and reading stops.
pub(super) fn side_by_side<'c>(
    states: &mut [WhisperState],
    next: &mut dyn FnMut() -> Result<Option<(Cow<'c, clip::Clip<'c>>, clip::Window)>>,
    decode: &(dyn Fn(&mut WhisperState, &clip::Clip, &clip::Window) -> Result<Decoded> + Sync),
) -> Result<Vec<(usize, Decoded)>> {
    let failed = &AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Job<'c>>(states.len());
        let rx = Arc::new(Mutex::new(rx));
        let handles: Vec<_> = states
            .iter_mut()
            .map(|state| {
                let rx = rx.clone();
                scope.spawn(move || -> Result<Vec<(usize, Decoded)>> {
                    let mut decoded = Vec::new();
                    while !failed.load(Ordering::Relaxed) {
                        let Ok((i, clip, w)) = rx.lock().expect("window queue").recv() else {
                            break;
                        };
                        match decode(state, &clip, &w) {
                            Ok(d) => decoded.push((i, d)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(decoded)
                })
            })
            .collect();
        drop(rx);
        let mut read = Ok(());
        for i in 0.. {
            match next() {
                Ok(Some((clip, w))) => {
                    if tx.send((i, clip, w)).is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    read = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let mut decoded = Vec::new();
        for h in handles {
            decoded.extend(h.join().expect("a window decoder panicked")?);
        }
        read.map(|()| decoded)
    })
}
