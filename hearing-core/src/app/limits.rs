//! Limits a court operator sets against abuse (`opencourt serve --help`, docs/SECURITY.md):
//! failed sign-ins and redemptions back off exponentially per client address and per account or
//! code, password hashing runs a bounded number at a time off the executor, and `WatchHearing`
//! streams are counted per token and per hearing. Every refusal is RESOURCE_EXHAUSTED with a
//! message that names the limit and says when to retry.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::Semaphore;

use super::{App, Caller};
use crate::auth;
use crate::domain::HearingId;
use crate::error::{CoreError, Result};

/// The operator's limits. `Default` is what `opencourt serve` uses without flags.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Failed `Login`/`RedeemInvite` attempts per client address, and per account or code,
    /// before each further attempt waits (`auth-free-failures`).
    pub auth_free_failures: u32,
    /// The first wait after the free failures; it doubles with each further failure
    /// (`auth-backoff-ms`).
    pub auth_backoff: Duration,
    /// The longest wait (`auth-backoff-max-secs`); after twice this without a failure the count
    /// starts again.
    pub auth_backoff_max: Duration,
    /// Argon2 password hashes computed at once, each on a blocking thread with 19 MiB
    /// (`password-hash-concurrency`).
    pub password_hash_concurrency: usize,
    /// Open `WatchHearing` streams per bearer token (`watch-streams-per-token`).
    pub watch_streams_per_token: usize,
    /// Open `WatchHearing` streams per hearing on this node (`watch-streams-per-hearing`).
    pub watch_streams_per_hearing: usize,
    /// How often an open stream checks that its token is still valid (not expired, revoked or
    /// of a disabled account) and ends with UNAUTHENTICATED otherwise (`stream-recheck-secs`).
    pub stream_recheck: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            auth_free_failures: 5,
            auth_backoff: Duration::from_secs(1),
            auth_backoff_max: Duration::from_secs(15 * 60),
            password_hash_concurrency: 2,
            watch_streams_per_token: 16,
            watch_streams_per_hearing: 1000,
            stream_recheck: Duration::from_secs(30),
        }
    }
}

/// At most this many addresses, accounts and codes are remembered with failures; when full,
/// those no longer waiting are forgotten first, and new ones are not tracked until room frees.
const MAX_TRACKED: usize = 100_000;

/// How long a password hash waits for its turn before the caller is told to retry.
const HASH_QUEUE_PATIENCE: Duration = Duration::from_secs(10);

/// The state behind the limits, shared by every clone of an `App`.
pub(super) struct Guards {
    pub(super) limits: Limits,
    failures: Mutex<HashMap<String, Failures>>,
    hashes: Arc<Semaphore>,
    hashers: HashPool,
    watches: Arc<Mutex<HashMap<String, usize>>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    wait_until: Option<Instant>,
}

/// What an attempt is, for the keys it is counted under and the message when refused.
#[derive(Clone, Copy)]
pub(super) enum AttemptKind {
    Login,
    Redeem,
}

impl AttemptKind {
    fn what(self) -> &'static str {
        match self {
            AttemptKind::Login => "sign-in",
            AttemptKind::Redeem => "invitation",
        }
    }
}

impl Guards {
    pub(super) fn new(limits: Limits) -> Self {
        Guards {
            hashes: Arc::new(Semaphore::new(limits.password_hash_concurrency.max(1))),
            hashers: HashPool::new(limits.password_hash_concurrency.max(1)),
            limits,
            failures: Mutex::default(),
            watches: Arc::default(),
        }
    }

    fn keys(kind: AttemptKind, addr: Option<IpAddr>, subject: &str) -> Vec<(String, &'static str)> {
        let what = kind.what();
        let mut keys = vec![(format!("{what} subject {subject}"), "account or code")];
        if let Some(a) = addr {
            keys.push((format!("{what} address {a}"), "client address"));
        }
        keys
    }

    /// Refuses an attempt while any of its keys waits out a backoff.
    pub(super) fn check(
        &self,
        kind: AttemptKind,
        addr: Option<IpAddr>,
        subject: &str,
    ) -> Result<()> {
        let now = Instant::now();
        let map = self.failures.lock().expect("limits lock");
        for (key, scope) in Self::keys(kind, addr, subject) {
            if let Some(until) = map
                .get(&key)
                .and_then(|f| f.wait_until)
                .filter(|u| *u > now)
            {
                let secs = (until - now).as_secs_f64().ceil().max(1.0);
                return Err(CoreError::ResourceExhausted(format!(
                    "too many failed {} attempts from this {scope} (limit auth-free-failures = {}, then exponential backoff): retry in {secs} s",
                    kind.what(),
                    self.limits.auth_free_failures,
                )));
            }
        }
        Ok(())
    }

    /// Counts a failed attempt under each of its keys; past the free ones, each waits
    /// `auth_backoff × 2^(n-1)`, at most `auth_backoff_max`.
    pub(super) fn failed(&self, kind: AttemptKind, addr: Option<IpAddr>, subject: &str) {
        let now = Instant::now();
        let l = &self.limits;
        let mut map = self.failures.lock().expect("limits lock");
        for (key, _) in Self::keys(kind, addr, subject) {
            if !map.contains_key(&key) && map.len() >= MAX_TRACKED {
                map.retain(|_, f| f.wait_until.is_some_and(|u| u > now));
                if map.len() >= MAX_TRACKED {
                    continue;
                }
            }
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                last: now,
                wait_until: None,
            });
            if now.duration_since(f.last) > l.auth_backoff_max * 2 {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
            if f.count > l.auth_free_failures {
                let doublings = (f.count - l.auth_free_failures - 1).min(20);
                let wait = l
                    .auth_backoff
                    .saturating_mul(1 << doublings)
                    .min(l.auth_backoff_max);
                f.wait_until = Some(now + wait);
            }
        }
    }

    /// A successful attempt clears its account's or code's count (not the address's: one good
    /// account must not reset the count of guesses at others).
    pub(super) fn succeeded(&self, kind: AttemptKind, subject: &str) {
        let key = format!("{} subject {subject}", kind.what());
        self.failures.lock().expect("limits lock").remove(&key);
    }

    /// Runs `f` (an Argon2 hash) on one of the hashing threads once one is free.
    pub(super) async fn hash<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(HASH_QUEUE_PATIENCE, self.hashes.clone().acquire_owned())
            .await
            .map_err(|_| {
                CoreError::Unavailable(format!(
                    "every password hashing slot is busy (limit password-hash-concurrency = {}): retry",
                    self.limits.password_hash_concurrency
                ))
            })?
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let out = self.hashers.run(f).await;
        drop(permit);
        out
    }

    /// Takes a place for one `WatchHearing` stream of `token_hash` in hearing `id`, given back
    /// when the returned value is dropped.
    fn watch_permit(&self, token_hash: &str, id: HearingId) -> Result<WatchPermit> {
        let keys = [format!("token {token_hash}"), format!("hearing {id}")];
        let limits = [
            (
                "watch-streams-per-token",
                self.limits.watch_streams_per_token,
            ),
            (
                "watch-streams-per-hearing",
                self.limits.watch_streams_per_hearing,
            ),
        ];
        let mut map = self.watches.lock().expect("limits lock");
        for (key, (name, limit)) in keys.iter().zip(limits) {
            if map.get(key).copied().unwrap_or(0) >= limit {
                return Err(CoreError::ResourceExhausted(format!(
                    "too many open WatchHearing and WatchMedia streams (limit {name} = {limit}): close one first"
                )));
            }
        }
        for key in &keys {
            *map.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(WatchPermit {
            keys,
            watches: self.watches.clone(),
        })
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for Argon2 hashes, so that each 19 MiB work area is reused by the
/// same few threads: on the runtime's blocking pool every new thread would keep its own freed
/// areas, and the server's memory would grow with each hash on a new thread.
struct HashPool {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl HashPool {
    fn new(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    // Err: every `HashPool` (every `App`) is gone: the thread ends.
                    let job = match rx.lock().expect("hash pool lock").recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    job();
                })
                .expect("spawning a hashing thread");
        }
        HashPool { jobs: tx }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // Err: the caller went away; nobody wants the result.
                let _ = tx.send(f());
            }))
            .map_err(|_| CoreError::Internal("the hashing threads are gone".into()))?;
        rx.await
            .map_err(|_| CoreError::Internal("a hashing thread failed".into()))
    }
}

/// One open `WatchHearing` stream's place in the counts.
struct WatchPermit {
    keys: [String; 2],
    watches: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for WatchPermit {
    fn drop(&mut self) {
        let mut map = self.watches.lock().expect("limits lock");
        for key in &self.keys {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

/// A stored hash that matches no password, verified against when the user name is unknown so
/// that an unknown name costs the same Argon2 work as a wrong password.
pub(super) fn dummy_password_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| auth::hash_password(&auth::new_token()).expect("hashing a random password"))
        .clone()
}

impl App {
    /// The limits this server runs with.
    pub fn limits(&self) -> &Limits {
        &self.guards.limits
    }

    /// Runs with `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.guards = Arc::new(Guards::new(limits));
        self
    }

    /// `WatchHearing` for the holder of `token`: counted against the per-token and per-hearing
    /// limits, and ended with UNAUTHENTICATED within `stream_recheck` once the token stops being
    /// valid (logout, an account disabled, expiry).
    pub async fn watch_limited(
        &self,
        caller: &Caller,
        token: &str,
        id: HearingId,
        after_seq: u64,
    ) -> Result<impl Stream<Item = Result<crate::domain::StoredEvent>> + Send + 'static> {
        let permit = self.guards.watch_permit(&auth::secret_hash(token), id)?;
        let events = self.watch(caller, id, after_seq).await?;
        Ok(self.while_token_valid(token, permit, events))
    }

    /// A place for one more server stream of `token` in hearing `id` (`WatchMedia`; WatchHearing
    /// takes its own in `watch_limited`), counted against the same per-token and per-hearing
    /// limits and given back when the returned value is dropped: hold it in the stream.
    pub fn stream_permit(&self, token: &str, id: HearingId) -> Result<impl Send + 'static> {
        self.guards.watch_permit(&auth::secret_hash(token), id)
    }

    /// Passes `inner` through while `token` stays valid; checks it every `stream_recheck` and
    /// ends with the refusal (UNAUTHENTICATED) once it is not. Every server stream opened with a
    /// token goes through this (WatchHearing, WatchMedia), so none outlives its session.
    pub fn while_token_valid<T: Send + 'static, E: From<CoreError> + Send + 'static>(
        &self,
        token: &str,
        hold: impl Send + 'static,
        inner: impl Stream<Item = std::result::Result<T, E>> + Send + 'static,
    ) -> impl Stream<Item = std::result::Result<T, E>> + Send + 'static {
        let app = self.clone();
        let token = token.to_string();
        let every = self.guards.limits.stream_recheck;
        async_stream::stream! {
            let _hold = hold;
            tokio::pin!(inner);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    biased;
                    _ = tick.tick() => {
                        // Only a refused token ends the stream: a database hiccup is not the
                        // caller's fault, so it is checked again at the next tick.
                        if let Err(e @ CoreError::Unauthenticated(_)) = app.authenticate(&token).await {
                            yield Err(e.into());
                            break;
                        }
                    }
                    item = futures::StreamExt::next(&mut inner) => match item {
                        Some(item) => yield item,
                        None => break,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(free: u32) -> Guards {
        Guards::new(Limits {
            auth_free_failures: free,
            auth_backoff: Duration::from_secs(60),
            ..Limits::default()
        })
    }

    #[test]
    fn failures_past_the_free_ones_wait_and_the_message_names_the_limit() {
        let g = guards(3);
        let addr = Some("192.0.2.7".parse().unwrap());
        for _ in 0..3 {
            g.check(AttemptKind::Login, addr, "judge").unwrap();
            g.failed(AttemptKind::Login, addr, "judge");
        }
        g.check(AttemptKind::Login, addr, "judge").unwrap();
        g.failed(AttemptKind::Login, addr, "judge");
        let e = g.check(AttemptKind::Login, addr, "judge").unwrap_err();
        assert!(matches!(e, CoreError::ResourceExhausted(_)), "{e:?}");
        assert!(e.to_string().contains("auth-free-failures = 3"), "{e}");
        // Another account from the same address waits too; the same account from elsewhere too.
        assert!(g.check(AttemptKind::Login, addr, "clerk").is_err());
        assert!(g
            .check(
                AttemptKind::Login,
                Some("192.0.2.8".parse().unwrap()),
                "judge"
            )
            .is_err());
        // Redemptions are counted apart from sign-ins.
        g.check(AttemptKind::Redeem, addr, "code").unwrap();
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let g = guards(1);
        let addr = Some("192.0.2.7".parse().unwrap());
        g.failed(AttemptKind::Login, addr, "judge");
        g.failed(AttemptKind::Login, addr, "judge");
        g.succeeded(AttemptKind::Login, "judge");
        assert!(g.check(AttemptKind::Login, None, "judge").is_ok());
        assert!(g.check(AttemptKind::Login, addr, "judge").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_configured_number_of_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let g = Arc::new(Guards::new(Limits {
            password_hash_concurrency: 2,
            ..Limits::default()
        }));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..8).map(|_| {
            let (g, running, most) = (g.clone(), running.clone(), most.clone());
            async move {
                g.hash(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Long enough for the others to pile up if nothing held them back.
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap()
            }
        });
        futures::future::join_all(jobs).await;
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} hashes ran at once");
    }

    #[test]
    fn watch_permits_are_counted_per_token_and_per_hearing_and_given_back() {
        let g = Guards::new(Limits {
            watch_streams_per_token: 2,
            watch_streams_per_hearing: 3,
            ..Limits::default()
        });
        let (h1, h2) = (HearingId::new(), HearingId::new());
        let a = g.watch_permit("t1", h1).unwrap();
        let _b = g.watch_permit("t1", h2).unwrap();
        let e = g.watch_permit("t1", h1).err().unwrap();
        assert!(e.to_string().contains("watch-streams-per-token = 2"), "{e}");
        drop(a);
        let _c = g.watch_permit("t1", h1).unwrap();
        let _d = g.watch_permit("t2", h1).unwrap();
        let _e = g.watch_permit("t3", h1).unwrap();
        let e = g.watch_permit("t4", h1).err().unwrap();
        assert!(
            e.to_string().contains("watch-streams-per-hearing = 3"),
            "{e}"
        );
    }
}
