//! The async PostgreSQL factory (`guardian_core::tokio::Postgres`) on a real server
//! (`GUARDIAN_PG_URL`, which `bash .ci/with-postgres CMD` provides), on tokio's
//! multi-threaded runtime: a rebuild is a fresh session with the config's settings,
//! the connection task's error comes out of `close`, `check` sees a dead session, and
//! neither closed nor cancelled rebuilds leave a session or a descriptor behind.
//!
//! As in `postgres_factories.rs`, the tests that need the server are `#[ignore]`d;
//! CI runs them next to a server with
//! `bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace`.
#![cfg(feature = "tokio-postgres")]

use std::error::Error as _;
use std::time::Duration;

use guardian_core::postgres::{PostgresConfig, PostgresOp};
use guardian_core::tokio::{Postgres, PostgresSession};
use guardian_core::{AsyncFactory, AsyncRebuild, Rebuild};
use guardian_suite::pg::session::{observer, pid, sessions_named};
use guardian_suite::pg::{app_name, server};
use guardian_suite::{TestResult, alone, open_fd_count, runtime, shared};

#[derive(Rebuild)]
#[rebuild(async)]
struct League {
    #[config]
    db: PostgresConfig,
    #[resource(factory = Postgres::no_tls(), from = db)]
    session: PostgresSession,
}

impl League {
    async fn open(db: PostgresConfig) -> TestResult<Self> {
        Ok(League {
            session: Postgres::no_tls().open(&db).await?,
            db,
        })
    }
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn a_rebuild_is_a_fresh_session_with_the_settings_of_the_config() -> TestResult {
    let _shared = shared();
    let db = server("fresh")?.with_setting("search_path", "league, public");
    runtime()?.block_on(async {
        let league = League::open(db).await?;
        let copy = tokio::spawn(async move {
            let copy = league.rebuild().await;
            (league, copy)
        });
        let (league, copy) = copy.await?;
        let copy = copy?;
        assert_ne!(pid(&league.session).await?, pid(&copy.session).await?);
        let path: String = copy
            .session
            .client()
            .query_one("SHOW search_path", &[])
            .await?
            .get(0);
        assert_eq!(path, "league, public");
        // Session state stays with its session: a temporary table is not seen.
        league
            .session
            .client()
            .batch_execute("CREATE TEMP TABLE scratch(x int)")
            .await?;
        assert!(
            copy.session
                .client()
                .batch_execute("SELECT * FROM scratch")
                .await
                .is_err()
        );
        copy.close().await?;
        league.close().await?;
        Ok(())
    })
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn a_setting_the_server_refuses_fails_the_open_and_leaves_no_session() -> TestResult {
    let _shared = shared();
    let app = app_name("refused");
    let db = server("refused")?.with_setting("no_such_setting", "1");
    runtime()?.block_on(async {
        let watcher = observer(&db).await?;
        let err = Postgres::no_tls().open(&db).await.unwrap_err();
        assert_eq!(err.op(), PostgresOp::Configure);
        assert_eq!(err.setting(), Some("no_such_setting"));
        assert!(err.source().is_some());
        assert_eq!(sessions_named(&watcher, &app, 0).await?, 0);
        Postgres::no_tls().close(watcher).await?;
        Ok(())
    })
}

/// The server ends a session: `check` fails, and `close` reports the connection
/// task's error, which happened before `close` was called.
#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn check_fails_and_close_reports_a_session_the_server_ended() -> TestResult {
    let _shared = shared();
    let db = server("terminated")?;
    runtime()?.block_on(async {
        let mut league = League::open(db.clone()).await?;
        Postgres::no_tls().check(&mut league.session).await?;
        let victim = pid(&league.session).await?;
        let watcher = observer(&db).await?;
        let terminated: bool = watcher
            .client()
            .query_one("SELECT pg_terminate_backend($1)", &[&victim])
            .await?
            .get(0);
        assert!(terminated);
        for _ in 0..1000 {
            if league.session.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            league.session.is_finished(),
            "the connection task still runs"
        );
        let err = Postgres::no_tls()
            .check(&mut league.session)
            .await
            .unwrap_err();
        assert_eq!(err.op(), PostgresOp::Check);
        let err = league.close().await.unwrap_err();
        let failure = &err.failures()[0];
        assert_eq!(failure.field(), "session");
        let cause = failure
            .error()
            .downcast_ref::<guardian_core::postgres::PostgresError>()
            .ok_or("a PostgresError")?;
        assert_eq!(cause.op(), PostgresOp::Close);
        assert!(cause.driver_error().is_some());
        Postgres::no_tls().close(watcher).await?;
        Ok(())
    })
}

/// Hundreds of rebuilds, closed or cut short by a timeout at every stage of the
/// login: afterwards the server has no session of this test and the process has its
/// descriptors.
#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn closed_and_cancelled_rebuilds_leave_no_session_and_no_descriptor() -> TestResult {
    let _alone = alone();
    let app = app_name("leaks");
    let db = server("leaks")?;
    runtime()?.block_on(async {
        let watcher = observer(&db).await?;
        let league = League::open(db).await?;
        let baseline = open_fd_count()?;
        let mut took = Vec::with_capacity(200);
        for _ in 0..200 {
            let start = std::time::Instant::now();
            let copy = league.rebuild().await?;
            took.push(start.elapsed());
            copy.close().await?;
        }
        // The limits spread over 0 to 1.5 times the median login measured here, so
        // that most rebuilds are cut at some stage however fast this server is.
        took.sort();
        let span = took[took.len() / 2] * 3 / 2;
        let mut cancelled = 0;
        for i in 0..400_u32 {
            let limit = span * (i % 100) / 100;
            match tokio::time::timeout(limit, league.rebuild()).await {
                Err(_) => cancelled += 1,
                Ok(copy) => copy?.close().await?,
            }
        }
        assert!(cancelled > 100, "only {cancelled} rebuilds were cut short");
        // Only the original's session is left, once the cancelled ones have ended.
        assert_eq!(sessions_named(&watcher, &app, 1).await?, 1);
        let mut now = open_fd_count()?;
        for _ in 0..1000 {
            if now == baseline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            now = open_fd_count()?;
        }
        assert_eq!(now, baseline, "descriptors leaked");
        league.close().await?;
        assert_eq!(sessions_named(&watcher, &app, 0).await?, 0);
        Postgres::no_tls().close(watcher).await?;
        Ok(())
    })
}
