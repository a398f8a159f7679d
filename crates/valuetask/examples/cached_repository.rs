//! .NET's `GetDataAsync` pattern for real: a repository behind `dyn`, an in-memory cache in
//! front of an embedded SQL database (SQLite, bundled: no system library), the database
//! queried on tokio's blocking pool. The same cache and database behind an `#[async_trait]`
//! trait, side by side.
//!
//! A lookup that hits the cache completes synchronously: as a `#[value_task]` method it returns
//! a ready value task and allocates nothing; as an `#[async_trait]` method it boxes a future on
//! every call. A miss suspends on the database in both.
//!
//! ```sh
//! cargo run --release --example cached_repository
//! cargo run --release --example cached_repository -- --lookups 20000 --hit-ratio 0.5
//! cargo run --release --example cached_repository --features stats   # and the advisor
//! ```
//!
//! With `stats`, every `#[value_task]` call is counted (a thread-local counter), in every
//! measured run, and `#[async_trait]`'s calls are not: the comparison is the run without it.
//!
//! The database lives in a file in a fresh temporary directory, removed at the end.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use valuetask::value_task;

use support::{allocations, progress, Args, CountingAllocator};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::PROCESS;

/// Rows of the hot set: the ones the cache keeps.
const HOT: u64 = 1_000;
/// Rows outside it: always looked up in the database.
const COLD: u64 = 10_000;
/// Connections to the database (each used by one blocking-pool job at a time).
const CONNECTIONS: usize = 4;
/// Measured rounds per version; the best is reported.
const ROUNDS: usize = 5;

/// An account as the service hands it out: small and `Copy`, so a hit copies it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Account {
    id: u64,
    balance: i64,
    /// The owner's name, UTF-8, zero-padded.
    owner: [u8; 16],
}

impl Account {
    fn owner(&self) -> &str {
        let len = self.owner.iter().position(|&b| b == 0).unwrap_or(16);
        std::str::from_utf8(&self.owner[..len]).unwrap_or("?")
    }
}

/// `name`, zero-padded into 16 bytes (longer names are cut).
fn owner_bytes(name: &str) -> [u8; 16] {
    let mut owner = [0; 16];
    let len = name.len().min(16);
    owner[..len].copy_from_slice(&name.as_bytes()[..len]);
    owner
}

#[derive(Debug)]
struct RepoError(String);

impl std::fmt::Display for RepoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RepoError {}

type Lookup = Result<Option<Account>, RepoError>;

/// The repository as a service author writes it with valuetask.
#[value_task]
trait Repository: Send + Sync {
    async fn get(&self, id: u64) -> Lookup;
    async fn put(&self, account: Account) -> Result<(), RepoError>;
}

/// The same trait with `async-trait`.
#[async_trait]
trait BoxedRepository: Send + Sync {
    async fn get(&self, id: u64) -> Lookup;
    async fn put(&self, account: Account) -> Result<(), RepoError>;
}

/// SQLite, each query a job on tokio's blocking pool.
struct Database {
    connections: Vec<Arc<Mutex<Connection>>>,
    next: AtomicUsize,
}

impl Database {
    fn open(path: &Path) -> rusqlite::Result<Self> {
        let connections = (0..CONNECTIONS)
            .map(|_| {
                let c = Connection::open(path)?;
                c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
                c.busy_timeout(Duration::from_secs(5))?;
                Ok(Arc::new(Mutex::new(c)))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        connections[0].lock().unwrap().execute_batch(
            "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL)",
        )?;
        Ok(Database {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    fn connection(&self) -> Arc<Mutex<Connection>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        Arc::clone(&self.connections[i])
    }

    async fn load(&self, id: u64) -> Lookup {
        let connection = self.connection();
        let row = tokio::task::spawn_blocking(move || {
            connection
                .lock()
                .unwrap()
                .prepare_cached("SELECT owner, balance FROM accounts WHERE id = ?1")?
                .query_row([id as i64], |row| {
                    Ok(Account {
                        id,
                        owner: owner_bytes(&row.get::<_, String>(0)?),
                        balance: row.get(1)?,
                    })
                })
                .optional()
        })
        .await
        .map_err(|e| RepoError(format!("database job failed: {e}")))?
        .map_err(|e| RepoError(format!("query of {id} failed: {e}")))?;
        Ok(row)
    }

    async fn store(&self, account: &Account) -> Result<(), RepoError> {
        let connection = self.connection();
        let (id, owner, balance) = (account.id, account.owner().to_string(), account.balance);
        tokio::task::spawn_blocking(move || {
            connection.lock().unwrap().execute(
                "INSERT OR REPLACE INTO accounts (id, owner, balance) VALUES (?1, ?2, ?3)",
                rusqlite::params![id as i64, owner, balance],
            )
        })
        .await
        .map_err(|e| RepoError(format!("database job failed: {e}")))?
        .map_err(|e| RepoError(format!("insert of {id} failed: {e}")))?;
        Ok(())
    }
}

/// The cache in front: a table of the hot set (ids below `HOT`), each entry filled once by
/// the first load or store of its account; every other id is a miss. Reading an entry is one
/// load, so lookups on different threads do not contend.
struct CachedRepository {
    cache: Box<[OnceLock<Account>]>,
    database: Database,
}

impl CachedRepository {
    fn new(database: Database) -> Self {
        CachedRepository {
            cache: (0..HOT).map(|_| OnceLock::new()).collect(),
            database,
        }
    }

    fn cached(&self, id: u64) -> Option<Account> {
        self.cache.get(id as usize)?.get().copied()
    }

    fn admit(&self, account: Account) {
        if let Some(entry) = self.cache.get(account.id as usize) {
            let _ = entry.set(account);
        }
    }

    fn cached_count(&self) -> usize {
        self.cache.iter().filter(|e| e.get().is_some()).count()
    }
}

#[value_task]
impl Repository for CachedRepository {
    async fn get(&self, id: u64) -> Lookup {
        if let Some(hit) = self.cached(id) {
            return Ok(Some(hit));
        }
        let loaded = self.database.load(id).await?;
        if let Some(account) = loaded {
            self.admit(account);
        }
        Ok(loaded)
    }

    async fn put(&self, account: Account) -> Result<(), RepoError> {
        self.database.store(&account).await?;
        self.admit(account);
        Ok(())
    }
}

#[async_trait]
impl BoxedRepository for CachedRepository {
    async fn get(&self, id: u64) -> Lookup {
        if let Some(hit) = self.cached(id) {
            return Ok(Some(hit));
        }
        let loaded = self.database.load(id).await?;
        if let Some(account) = loaded {
            self.admit(account);
        }
        Ok(loaded)
    }

    async fn put(&self, account: Account) -> Result<(), RepoError> {
        self.database.store(&account).await?;
        self.admit(account);
        Ok(())
    }
}

/// One version of the repository as the workload sees it.
#[derive(Clone)]
enum Version {
    ValueTask(Arc<dyn Repository>),
    AsyncTrait(Arc<dyn BoxedRepository>),
}

impl Version {
    fn name(&self) -> &'static str {
        match self {
            Version::ValueTask(_) => "#[value_task]",
            Version::AsyncTrait(_) => "#[async_trait]",
        }
    }

    async fn get(&self, id: u64) -> Lookup {
        match self {
            Version::ValueTask(r) => r.get(id).await,
            Version::AsyncTrait(r) => r.get(id).await,
        }
    }
}

fn account(id: u64) -> Account {
    Account {
        id,
        owner: owner_bytes(&format!("owner-{id}")),
        balance: (id as i64) * 7 - 3,
    }
}

/// Whether `found` is what `account(id)` stored (checked without allocating, so the
/// allocation counts are the repository's).
fn is_account(found: &Account, id: u64) -> bool {
    found.id == id
        && found.balance == (id as i64) * 7 - 3
        && found.owner().strip_prefix("owner-") == Some(itoa(id, &mut [0; 20]))
}

/// `n` in decimal, in `buf`.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits")
}

/// The id of lookup `i`: a hit (an id of the hot set) with probability `hit_ratio`, else a
/// miss (a cold id), from a fixed pseudo-random sequence per task.
fn pick(state: &mut u64, hit_ratio: f64) -> u64 {
    // xorshift64*
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
    if unit < hit_ratio {
        r % HOT
    } else {
        HOT + r % COLD
    }
}

/// What one run measured.
struct Run {
    lookups: u64,
    hits: u64,
    elapsed: Duration,
    allocations: u64,
}

/// `lookups` lookups from `tasks` tasks; every result is checked against what was stored.
/// Allocations and time are counted from when every task is spawned and waiting to when the
/// last one is done, so the spawns are not counted as the lookups'.
async fn run(version: &Version, lookups: u64, tasks: u64, hit_ratio: f64, seed: u64) -> Run {
    let spawned = Arc::new(tokio::sync::Barrier::new(tasks as usize + 1));
    let go = Arc::new(tokio::sync::Barrier::new(tasks as usize + 1));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let version = version.clone();
        let share = lookups / tasks + u64::from(t < lookups % tasks);
        let (spawned, go) = (spawned.clone(), go.clone());
        handles.push(tokio::spawn(async move {
            spawned.wait().await;
            go.wait().await;
            let mut state = seed ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut hits = 0;
            for _ in 0..share {
                let id = pick(&mut state, hit_ratio);
                let found = version.get(id).await.expect("lookup failed");
                let found = found.unwrap_or_else(|| panic!("account {id} is missing"));
                assert!(
                    is_account(&found, id),
                    "account {id} read back wrong: {found:?}"
                );
                hits += u64::from(id < HOT);
            }
            hits
        }));
    }
    spawned.wait().await;
    let before = allocations();
    let start = Instant::now();
    go.wait().await;
    let mut hits = 0;
    for handle in handles {
        hits += handle.await.expect("a lookup task panicked");
    }
    Run {
        lookups,
        hits,
        elapsed: start.elapsed(),
        allocations: allocations() - before,
    }
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "valuetask-cached-repository-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keep_faster(best: &mut Option<Run>, run: Run) {
    if best.as_ref().is_none_or(|b| run.elapsed < b.elapsed) {
        *best = Some(run);
    }
}

fn per(count: u64, of: u64) -> f64 {
    count as f64 / of.max(1) as f64
}

fn main() {
    let args = Args::from_env(
        "cached_repository",
        "[--lookups N] [--hit-ratio R] [--tasks N] [--threads N]",
    );
    let lookups: u64 = args.get("--lookups", 200_000, |&n| {
        (n >= 100)
            .then_some(())
            .ok_or("at least 100 lookups".to_string())
    });
    let hit_ratio: f64 = args.get("--hit-ratio", 0.95, |&r| {
        (0.0..=1.0)
            .contains(&r)
            .then_some(())
            .ok_or("a share between 0 and 1".to_string())
    });
    let tasks: u64 = args.get("--tasks", 8, |&n| {
        (1..=1024)
            .contains(&n)
            .then_some(())
            .ok_or("1 to 1024 tasks".to_string())
    });
    let threads: usize = args.get("--threads", 2, |&n| {
        (1..=256)
            .contains(&n)
            .then_some(())
            .ok_or("1 to 256 threads".to_string())
    });

    let dir = TempDir::new().expect("cannot create a temporary directory");
    let database = Database::open(&dir.0.join("accounts.db")).expect("cannot open the database");
    let repository = Arc::new(CachedRepository::new(database));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("cannot start tokio");
    let value_task = Version::ValueTask(repository.clone());
    let async_trait = Version::AsyncTrait(repository.clone());

    runtime.block_on(async {
        // Fill the database through the repository's `put`, from several tasks.
        let total = HOT + COLD;
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut fillers = Vec::new();
        for t in 0..tasks {
            let repository = repository.clone();
            let done = done.clone();
            fillers.push(tokio::spawn(async move {
                let mut id = t;
                while id < total {
                    // The hot set through one version's `put`, the rest through the other's.
                    if id < HOT {
                        Repository::put(&*repository, account(id)).await
                    } else {
                        BoxedRepository::put(&*repository, account(id)).await
                    }
                    .expect("put failed");
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 500 == 0 || n == total {
                        progress("filling the database", n, total);
                    }
                    id += tasks;
                }
            }));
        }
        for filler in fillers {
            filler.await.expect("a filler task panicked");
        }
        assert_eq!(repository.cached_count() as u64, HOT);

        // Warm both versions (pools, the runtime, the database's pages), then measure.
        for version in [&value_task, &async_trait] {
            run(version, 20_000.min(lookups), tasks, hit_ratio, 1).await;
        }
        println!(
            "{lookups} lookups per run, {:.0}% hits, {tasks} tasks on {threads} threads, best of {ROUNDS} runs",
            hit_ratio * 100.0
        );
        println!(
            "{:<15} {:>12} {:>14} {:>14} {:>11} {:>12}",
            "version", "lookups/s", "allocs/lookup", "hits only/s", "allocs/hit", "allocs/miss"
        );
        // Rounds alternate the versions, so a noisy moment costs both alike; each version's
        // best round is reported.
        let versions = [&value_task, &async_trait];
        let mut mixed: [Option<Run>; 2] = [None, None];
        let mut hits: [Option<Run>; 2] = [None, None];
        let mut misses: [Option<Run>; 2] = [None, None];
        let miss_phase = (lookups / 20).clamp(100, 5_000);
        #[cfg(feature = "stats")]
        let mut advice = None;
        for round in 0..ROUNDS {
            progress("measuring, round", round as u64, ROUNDS as u64);
            for (v, version) in versions.iter().enumerate() {
                let seed = 7 + round as u64;
                // The advisor sees the first mixed run alone: the hit ratio it reports is
                // the workload's, not one of the hits-only and misses-only phases'.
                #[cfg(feature = "stats")]
                let advised = round == 0 && v == 0;
                #[cfg(feature = "stats")]
                if advised {
                    valuetask::stats::reset();
                }
                keep_faster(&mut mixed[v], run(version, lookups, tasks, hit_ratio, seed).await);
                #[cfg(feature = "stats")]
                if advised {
                    advice = Some(valuetask::stats::report());
                }
                keep_faster(&mut hits[v], run(version, lookups / 2, tasks, 1.0, seed).await);
                keep_faster(&mut misses[v], run(version, miss_phase, tasks, 0.0, seed).await);
            }
        }
        progress("measuring, round", ROUNDS as u64, ROUNDS as u64);
        let mut best = Vec::new();
        for (v, version) in versions.iter().enumerate() {
            let (mixed, hits, misses) = (
                mixed[v].as_ref().expect("measured"),
                hits[v].as_ref().expect("measured"),
                misses[v].as_ref().expect("measured"),
            );
            assert_eq!(hits.hits, hits.lookups);
            assert_eq!(misses.hits, 0);
            let rate = mixed.lookups as f64 / mixed.elapsed.as_secs_f64();
            println!(
                "{:<15} {:>12.0} {:>14.3} {:>14.0} {:>11.4} {:>12.1}",
                version.name(),
                rate,
                per(mixed.allocations, mixed.lookups),
                hits.lookups as f64 / hits.elapsed.as_secs_f64(),
                per(hits.allocations, hits.lookups),
                per(misses.allocations, misses.lookups),
            );
            best.push((rate, hits.lookups as f64 / hits.elapsed.as_secs_f64()));
        }
        println!(
            "#[value_task] against #[async_trait]: {:.2}x the lookups per second, {:.2}x on hits alone",
            best[0].0 / best[1].0,
            best[0].1 / best[1].1,
        );
        #[cfg(feature = "stats")]
        println!(
            "(with `stats` on, the #[value_task] figures include counting every call: compare without it)\n\nThe stats advisor on the first measured run of the mixed workload ({:.0}% hits):\n{}",
            hit_ratio * 100.0,
            advice.expect("measured")
        );
    });

    #[cfg(not(feature = "stats"))]
    println!("\n(run with `--features stats` for the advisor's report)");
    drop(runtime);
    drop(repository);
    drop(dir);
}
