//! A deadpool pool of guardian async factories (`guardian_core::deadpool`): on TCP
//! sockets, a connection the server closed is found by `recycle` and replaced, one past
//! its age is reopened and the old one shut down, and a pool dropped without
//! `close_pool` still closes its connections on the runtime; on a real PostgreSQL
//! server (`GUARDIAN_PG_URL`), every session gets the recipe's settings, a killed
//! backend is found by `recycle`, its failed close reaches the close-error hook, and no
//! session is left on the server once the pool is closed or dropped.
//!
//! As in `postgres_factories.rs`, the tests that need the server are `#[ignore]`d; CI
//! runs them next to a server with
//! `bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace`.
//! The tests that set the process-wide close-error hook hold `alone()`.
#![cfg(feature = "deadpool")]

use std::time::Duration;

use guardian_core::deadpool::{Manager, Pool, close_pool};
use guardian_core::net::{NetError, NetOp, TcpConfig};
use guardian_core::tokio::TcpConnect;
use guardian_suite::{TestResult, runtime, shared};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// Waits (at most 10 s) for the client to shut `peer` down: its read gives
/// end-of-stream.
async fn sees_end_of_stream(peer: &mut TcpStream) -> TestResult {
    let mut byte = [0; 1];
    let read = tokio::time::timeout(Duration::from_secs(10), peer.read(&mut byte)).await??;
    assert_eq!(read, 0, "end-of-stream, not data");
    Ok(())
}

#[test]
fn a_connection_the_server_closed_is_found_by_recycle_and_replaced() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = TcpConfig::from(listener.local_addr()?);
        let pool: Pool<TcpConnect> = Pool::builder(Manager::new(TcpConnect, server))
            .max_size(1)
            .build()?;
        let conn = pool.get().await?;
        let (first, first_peer) = listener.accept().await?;
        assert_eq!(conn.local_addr()?, first_peer);
        drop(conn);

        drop(first); // the server hangs up on the idle connection
        tokio::time::sleep(Duration::from_millis(50)).await;
        let conn = pool.get().await?; // recycle: end-of-stream; closed; a new one
        let (mut second, second_peer) = listener.accept().await?;
        assert_eq!(conn.local_addr()?, second_peer);
        assert_ne!(first_peer, second_peer);
        assert_eq!(pool.status().size, 1);
        drop(conn);

        close_pool(&pool).await?;
        sees_end_of_stream(&mut second).await?;
        assert!(pool.is_closed());
        Ok(())
    })
}

#[test]
fn a_connection_past_its_age_is_reopened_and_the_old_one_closed() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = TcpConfig::from(listener.local_addr()?);
        let manager = Manager::new(TcpConnect, server).with_max_age(Duration::from_millis(100));
        assert_eq!(manager.max_age(), Some(Duration::from_millis(100)));
        let pool: Pool<TcpConnect> = Pool::builder(manager).max_size(1).build()?;

        let conn = pool.get().await?;
        let (mut first, first_peer) = listener.accept().await?;
        drop(conn);
        let conn = pool.get().await?; // young: checked and handed out again
        assert_eq!(conn.local_addr()?, first_peer);
        drop(conn);

        tokio::time::sleep(Duration::from_millis(150)).await;
        let conn = pool.get().await?; // past its age: reopened in place
        let (mut second, second_peer) = listener.accept().await?;
        assert_eq!(conn.local_addr()?, second_peer);
        sees_end_of_stream(&mut first).await?; // the old one was shut down
        drop(conn);
        let conn = pool.get().await?; // the new one is young again
        assert_eq!(conn.local_addr()?, second_peer);
        drop(conn);

        close_pool(&pool).await?;
        sees_end_of_stream(&mut second).await?;
        Ok(())
    })
}

#[test]
fn a_pool_dropped_without_close_pool_closes_its_connections_on_the_runtime() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = TcpConfig::from(listener.local_addr()?);
        let pool: Pool<TcpConnect> = Pool::builder(Manager::new(TcpConnect, server))
            .max_size(2)
            .build()?;
        let held = (pool.get().await?, pool.get().await?);
        let (mut a, _) = listener.accept().await?;
        let (mut b, _) = listener.accept().await?;
        drop(held);
        drop(pool); // deadpool drops the idle connections; each is closed on the runtime
        sees_end_of_stream(&mut a).await?;
        sees_end_of_stream(&mut b).await?;
        Ok(())
    })
}

#[test]
fn a_connection_taken_out_of_the_pool_is_the_programs_to_close() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = TcpConfig::from(listener.local_addr()?);
        let pool: Pool<TcpConnect> = Pool::builder(Manager::new(TcpConnect, server))
            .max_size(1)
            .build()?;
        let conn = pool.get().await?;
        let (mut peer, _) = listener.accept().await?;
        let pooled = guardian_core::deadpool::Object::take(conn);
        assert_eq!(pool.status().size, 0, "it left the pool");
        let stream = pooled.into_inner();
        guardian_core::AsyncFactory::close(&TcpConnect, stream).await?;
        sees_end_of_stream(&mut peer).await?;
        close_pool(&pool).await?;
        Ok(())
    })
}

/// A check that fails is the factory's error, returned by `recycle` to deadpool
/// (which drops it): the pool's caller never sees it, it gets a new connection.
#[test]
fn the_check_error_is_the_factorys() -> TestResult {
    let _shared = shared();
    runtime()?.block_on(async {
        use deadpool::managed::Manager as _;
        use guardian_core::deadpool::deadpool;

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let manager = Manager::new(TcpConnect, TcpConfig::from(listener.local_addr()?));
        let mut conn = manager.create().await?;
        let (peer, _) = listener.accept().await?;
        let metrics = deadpool::managed::Metrics::default();
        manager.recycle(&mut conn, &metrics).await?;
        drop(peer);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Err(deadpool::managed::RecycleError::Backend(error)) =
            manager.recycle(&mut conn, &metrics).await
        else {
            return Err("the recycle of a connection the server closed fails".into());
        };
        let error: NetError = error;
        assert_eq!(error.op(), NetOp::Check);
        drop(conn); // emptied by the failed recycle: nothing left to close
        Ok(())
    })
}

#[cfg(feature = "tokio-postgres")]
mod postgres {
    use guardian_core::deadpool::{Manager, Pool, close_pool, deadpool};
    use guardian_core::postgres::{PostgresError, PostgresOp};
    use guardian_core::tokio::{Postgres, PostgresSession};
    use guardian_core::{AsyncFactory, CloseError, set_close_error_hook, take_close_error_hook};
    use guardian_suite::pg::session::{observer, pid, sessions_named};
    use guardian_suite::pg::{app_name, server};
    use guardian_suite::runtime;
    use guardian_suite::{TestResult, alone, shared};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    /// What the close-error hook heard of one error: the type it names, and each
    /// failure's path and operation (the hook is lent the error, so it keeps these).
    type Heard = Arc<Mutex<Vec<(String, Vec<(String, Option<PostgresOp>)>)>>>;

    fn listen() -> Heard {
        let heard: Heard = Arc::default();
        let sink = Arc::clone(&heard);
        set_close_error_hook(Box::new(move |error: &CloseError| {
            let failures = error
                .failures()
                .iter()
                .map(|f| {
                    let op = f
                        .error()
                        .downcast_ref::<PostgresError>()
                        .map(PostgresError::op);
                    (f.path().to_string(), op)
                })
                .collect();
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((error.type_name().to_owned(), failures));
        }));
        heard
    }

    async fn show(session: &PostgresSession, setting: &str) -> TestResult<String> {
        Ok(session
            .client()
            .query_one(&format!("SHOW {setting}"), &[])
            .await?
            .get(0))
    }

    #[test]
    #[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
    fn every_session_has_the_settings_and_none_is_left_after_close_pool() -> TestResult {
        let _shared = shared();
        let app = app_name("settings");
        let db = server("settings")?
            .with_setting("search_path", "league, public")
            .with_setting("statement_timeout", "7s");
        runtime()?.block_on(async {
            let watcher = observer(&db).await?;
            let pool: Pool<Postgres> = Pool::builder(Manager::new(Postgres::no_tls(), db))
                .max_size(3)
                .build()?;
            let sessions = [pool.get().await?, pool.get().await?, pool.get().await?];
            let mut pids = Vec::new();
            for session in &sessions {
                assert_eq!(show(session, "search_path").await?, "league, public");
                assert_eq!(show(session, "statement_timeout").await?, "7s");
                pids.push(pid(session).await?);
            }
            pids.sort_unstable();
            pids.dedup();
            assert_eq!(pids.len(), 3, "three sessions");
            assert_eq!(sessions_named(&watcher, &app, 3).await?, 3);
            drop(sessions);

            close_pool(&pool).await?;
            assert_eq!(
                sessions_named(&watcher, &app, 0).await?,
                0,
                "every session ended"
            );
            assert!(matches!(
                pool.get().await,
                Err(deadpool::managed::PoolError::Closed)
            ));
            Postgres::no_tls().close(watcher).await?;
            Ok(())
        })
    }

    #[test]
    #[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
    fn no_session_is_left_after_the_pool_is_dropped() -> TestResult {
        let _shared = shared();
        let app = app_name("dropped");
        let db = server("dropped")?;
        runtime()?.block_on(async {
            let watcher = observer(&db).await?;
            let pool: Pool<Postgres> = Pool::builder(Manager::new(Postgres::no_tls(), db))
                .max_size(2)
                .build()?;
            let held = (pool.get().await?, pool.get().await?);
            assert_eq!(sessions_named(&watcher, &app, 2).await?, 2);
            drop(held);
            drop(pool); // closed on the runtime, one task each
            assert_eq!(sessions_named(&watcher, &app, 0).await?, 0);
            Postgres::no_tls().close(watcher).await?;
            Ok(())
        })
    }

    #[test]
    #[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
    fn a_killed_backend_is_found_by_recycle_and_its_failed_close_reaches_the_hook() -> TestResult {
        let _alone = alone();
        let heard_by_hook = listen();
        let app = app_name("killed");
        let db = server("killed")?.with_setting("search_path", "league, public");
        let outcome = runtime()?.block_on(async {
            let watcher = observer(&db).await?;
            let pool: Pool<Postgres> = Pool::builder(Manager::new(Postgres::no_tls(), db))
                .max_size(1)
                .build()?;
            let session = pool.get().await?;
            let victim = pid(&session).await?;
            let killed: bool = watcher
                .client()
                .query_one("SELECT pg_terminate_backend($1)", &[&victim])
                .await?
                .get(0);
            assert!(killed);
            for _ in 0..1000 {
                if session.is_finished() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(session.is_finished(), "the server ended the session");
            drop(session); // back to the pool, dead

            let session = pool.get().await?; // recycle: check fails; closed; a new one
            assert_ne!(pid(&session).await?, victim);
            assert_eq!(show(&session, "search_path").await?, "league, public");
            assert_eq!(pool.status().size, 1);
            // Heard before `get` returned: recycle awaited the close.
            assert_eq!(
                heard_by_hook
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len(),
                1
            );

            // The same, on the last resort: the new session's backend killed too, and
            // the pool dropped without `close_pool`; `Pooled`'s drop closes it on the
            // runtime, and the failure reaches the hook a moment later.
            let victim = pid(&session).await?;
            let killed: bool = watcher
                .client()
                .query_one("SELECT pg_terminate_backend($1)", &[&victim])
                .await?
                .get(0);
            assert!(killed);
            for _ in 0..1000 {
                if session.is_finished() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            drop(session);
            drop(pool);
            for _ in 0..1000 {
                if heard_by_hook
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len()
                    == 2
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(sessions_named(&watcher, &app, 0).await?, 0);
            Postgres::no_tls().close(watcher).await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
        let _ = take_close_error_hook();
        outcome?;

        let heard_now =
            std::mem::take(&mut *heard_by_hook.lock().unwrap_or_else(PoisonError::into_inner));
        assert_eq!(heard_now.len(), 2, "one failed close each: {heard_now:?}");
        assert_eq!(heard_now[0], heard_now[1], "reported alike");
        let (type_name, failures) = &heard_now[0];
        assert!(
            type_name
                .starts_with("deadpool::managed::pool::Pool<guardian_core::deadpool::Manager<"),
            "{type_name}"
        );
        assert!(type_name.contains("Postgres"), "{type_name}");
        assert_eq!(
            failures.as_slice(),
            [("connection".to_owned(), Some(PostgresOp::Close))]
        );
        Ok(())
    }
}
