//! Helpers for the end-to-end tests, all re-exported here: the `TestApp` and its scenes
//! (`app`), the databases and `both_dbs!` (`db`), client calls (`client`), the real binary as a
//! process (`process`), test audio (`audio`).
mod app;
mod audio;
pub mod browser;
mod client;
mod db;
mod process;
pub mod speech;

pub use app::*;
pub use audio::*;
pub use client::*;
pub use db::*;
pub use process::*;

/// Waits until `cond` holds, checking every 50 ms; panics naming `what` after `patience`. The
/// patience is generous (a loaded machine is slow) and is never what a test asserts.
pub async fn wait_until<F, Fut>(what: &str, patience: std::time::Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(patience, async {
        while !cond().await {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "waited {patience:?} for {what}");
}
