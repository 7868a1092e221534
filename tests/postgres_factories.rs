//! The PostgreSQL factory on a real server (`GUARDIAN_PG_URL`, which
//! `bash .ci/with-postgres CMD` provides): rebuilt sessions are fresh and independent,
//! the config's settings are re-applied, close is reported, nothing leaks.
//!
//! The tests that need the server are `#[ignore]`d, so a plain `cargo test` lists them
//! as ignored instead of passing them unseen (in this suite, `#[ignore]` means "needs
//! the PostgreSQL server"). CI runs them next to a server with
//! `bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace`; run that
//! way, a missing `GUARDIAN_PG_URL` fails them.
#![cfg(feature = "postgres")]

use guardian_core::Rebuild;
use guardian_core::postgres::postgres::{self, Client, NoTls};
use guardian_core::postgres::{Postgres, PostgresConfig, PostgresError, PostgresOp};
use guardian_suite::pg::{app_name, server};
use guardian_suite::{TestResult, alone, open_fd_count, shared};
use std::time::Duration;

#[derive(Rebuild)]
struct Tournament {
    #[config]
    db: PostgresConfig,
    #[resource(factory = Postgres::no_tls(), from = db)]
    client: Client,
}

impl Tournament {
    fn open(db: PostgresConfig) -> Result<Self, PostgresError> {
        Ok(Tournament {
            client: Postgres::no_tls().open_with(&db)?,
            db,
        })
    }
}

fn count(client: &mut Client, table: &str) -> TestResult<i64> {
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0))
}

fn pid(client: &mut Client) -> TestResult<i32> {
    Ok(client.query_one("SELECT pg_backend_pid()", &[])?.get(0))
}

fn show(client: &mut Client, setting: &str) -> TestResult<String> {
    Ok(client.query_one(&format!("SHOW {setting}"), &[])?.get(0))
}

/// A session that only watches the others, under a name of its own.
fn observer(db: &PostgresConfig) -> Result<Client, PostgresError> {
    let mut config = db.driver().clone();
    config.application_name("guardian_observer");
    Postgres::no_tls().open_with(&PostgresConfig::new(config))
}

/// The server's sessions named `app`, waiting (up to 10 s) for the count to reach
/// `expected`: a session the client has closed leaves `pg_stat_activity` when its
/// server process has finished exiting, a moment later. A session that is really
/// left open never leaves, and the count returned then is not `expected`.
fn sessions_named(watcher: &mut Client, app: &str, expected: i64) -> TestResult<i64> {
    let mut n = -1;
    for _ in 0..1000 {
        n = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )?
            .get(0);
        if n == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(n)
}

#[test]
fn debug_output_and_errors_never_show_the_password() -> TestResult {
    let _shared = shared();
    let secret = "s3cret-Pw-1729";
    for text in [
        format!("postgres://ada:{secret}@db.example:5433/league"),
        format!("host=db.example port=5433 user=ada password={secret} dbname=league"),
    ] {
        let config: PostgresConfig = text.parse()?;
        let config = config.with_setting("search_path", "league");
        let debug = format!("{config:?}");
        assert!(!debug.contains(secret), "{debug}");
        // Not vacuous: the rest of the config is shown.
        for shown in ["ada", "league", "5433", "search_path"] {
            assert!(debug.contains(shown), "{debug} lacks {shown}");
        }
        assert_eq!(config.server(), "ada@db.example:5433/league");
    }

    // A failed connection: to a port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config: PostgresConfig =
        format!("postgres://ada:{secret}@127.0.0.1:{port}/league").parse()?;
    let err = Postgres::no_tls()
        .open_with(&config)
        .err()
        .expect("nothing listens there");
    assert_eq!(err.op(), PostgresOp::Connect);
    assert_eq!(
        err.server(),
        Some(format!("ada@127.0.0.1:{port}/league").as_str())
    );
    let driver = err.driver_error().ok_or("the driver's error")?;
    let shown = format!("{err} {err:?} {driver}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn a_rebuild_is_a_fresh_independent_session() -> TestResult {
    let _shared = shared();
    let db = server("sessions")?;
    let table = app_name("sessions_game");
    let mut main = Tournament::open(db)?;
    main.client.batch_execute(&format!(
        "DROP TABLE IF EXISTS {table};
         CREATE TABLE {table}(id serial PRIMARY KEY, white text, black text);
         INSERT INTO {table}(white, black) VALUES ('Ada', 'Grace');"
    ))?;

    let mut copy = main.rebuild()?;
    assert_ne!(
        pid(&mut main.client)?,
        pid(&mut copy.client)?,
        "a new server session"
    );
    assert_eq!(
        count(&mut copy.client, &table)?,
        1,
        "committed rows are shared"
    );

    // An uncommitted write in one session is invisible to the other, until commit.
    let mut tx = main.client.transaction()?;
    tx.execute(
        &format!("INSERT INTO {table}(white, black) VALUES ('Alan', 'Ada')"),
        &[],
    )?;
    let in_tx: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0);
    assert_eq!(in_tx, 2);
    assert_eq!(
        count(&mut copy.client, &table)?,
        1,
        "the copy must not see an open transaction"
    );
    tx.commit()?;
    assert_eq!(count(&mut copy.client, &table)?, 2);

    // Session state does not carry over to a rebuild: temp tables, hand-made SETs.
    main.client
        .batch_execute("CREATE TEMP TABLE draft(x int); SET lock_timeout = '17s';")?;
    assert_eq!(show(&mut main.client, "lock_timeout")?, "17s");
    let mut late = main.rebuild()?;
    assert!(
        count(&mut late.client, "draft").is_err(),
        "a temp table is per session"
    );
    assert_ne!(
        show(&mut late.client, "lock_timeout")?,
        "17s",
        "a hand-made SET is per session"
    );

    main.client.batch_execute(&format!("DROP TABLE {table}"))?;
    late.close()?;
    copy.close()?;
    main.close()?;
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn the_configs_session_settings_are_reapplied() -> TestResult {
    let _shared = shared();
    let db = server("settings")?;
    let app = app_name("settings");
    let mut db = db
        .with_setting("statement_timeout", "4321ms")
        .with_setting("search_path", "guardian_nowhere, public");
    db.driver_mut().options("-c lock_timeout=1234ms");
    let main = Tournament::open(db)?;
    let mut watcher = observer(&main.db)?;

    // The control: a session from the bare URL has none of these.
    let mut plain = PostgresConfig::new(std::env::var("GUARDIAN_PG_URL")?.parse()?)
        .driver()
        .connect(NoTls)?;
    assert_ne!(show(&mut plain, "statement_timeout")?, "4321ms");
    assert_ne!(show(&mut plain, "search_path")?, "guardian_nowhere, public");
    assert_ne!(show(&mut plain, "lock_timeout")?, "1234ms");
    assert_ne!(show(&mut plain, "application_name")?, app);
    plain.close()?;

    let mut copy = main.rebuild()?;
    let copy_pid = pid(&mut copy.client)?;
    assert_eq!(show(&mut copy.client, "statement_timeout")?, "4321ms");
    assert_eq!(
        show(&mut copy.client, "search_path")?,
        "guardian_nowhere, public"
    );
    assert_eq!(show(&mut copy.client, "lock_timeout")?, "1234ms");
    // The server itself reports the rebuilt session under the configured name.
    let seen: String = watcher
        .query_one(
            "SELECT application_name FROM pg_stat_activity WHERE pid = $1",
            &[&copy_pid],
        )?
        .get(0);
    assert_eq!(seen, app);

    copy.close()?;
    main.close()?;
    watcher.close()?;
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn a_setting_that_fails_is_named_and_its_session_closed() -> TestResult {
    let _shared = shared();
    let db = server("bad_setting")?;
    let app = app_name("bad_setting");
    let db = db
        .with_setting("search_path", "public")
        .with_setting("no_such_setting", "1");
    let mut watcher = observer(&db)?;
    let err = Postgres::no_tls()
        .open_with(&db)
        .err()
        .expect("the server rejects an unknown setting");
    assert_eq!(err.op(), PostgresOp::Configure);
    assert_eq!(err.setting(), Some("no_such_setting"));
    let server = err.server().expect("the server is named");
    assert!(server.contains("@127.0.0.1:"), "{server}");
    assert!(err.to_string().contains("`no_such_setting`"), "{err}");
    assert!(
        err.driver_error()
            .and_then(postgres::Error::as_db_error)
            .is_some(),
        "the server's own error"
    );
    // The factory closes the session it could not configure; the driver's `Drop` would
    // close it too, so this checks only what a user relies on: no session is left.
    assert_eq!(
        sessions_named(&mut watcher, &app, 0)?,
        0,
        "no session is left behind"
    );
    watcher.close()?;
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn close_ends_the_session_and_reports_failure() -> TestResult {
    let _shared = shared();
    let db = server("close")?;
    let app = app_name("close");
    let mut watcher = observer(&db)?;
    let mut main = Tournament::open(db.clone())?;
    let main_pid = pid(&mut main.client)?;
    assert_eq!(sessions_named(&mut watcher, &app, 1)?, 1);
    main.close()?;
    assert_eq!(
        sessions_named(&mut watcher, &app, 0)?,
        0,
        "the session ended"
    );

    // A real failure: the server ends the session under the client's feet (as an
    // administrator, a failover or a crash would); closing then reports it.
    let mut doomed = Tournament::open(db)?;
    let doomed_pid = pid(&mut doomed.client)?;
    assert_ne!(doomed_pid, main_pid);
    let killed: bool = watcher
        .query_one("SELECT pg_terminate_backend($1)", &[&doomed_pid])?
        .get(0);
    assert!(killed);
    let err = doomed
        .close()
        .expect_err("the session was already ended by the server");
    let [failure] = err.failures() else {
        panic!("one failure expected: {err:?}")
    };
    assert_eq!(failure.field(), "client");
    let cause = failure
        .error()
        .downcast_ref::<PostgresError>()
        .expect("the factory's error");
    assert_eq!(cause.op(), PostgresOp::Close);
    watcher.close()?;
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn no_session_or_descriptor_leaks_after_1000_rebuild_and_close_cycles() -> TestResult {
    let _alone = alone();
    let db = server("leak")?;
    let app = app_name("leak");
    let mut watcher = observer(&db)?;
    let main = Tournament::open(db)?;

    let cycle = || -> TestResult {
        let mut copy = main.rebuild()?;
        let _ = pid(&mut copy.client)?;
        copy.close()?;
        Ok(())
    };
    cycle()?; // the first cycle may set up what the driver keeps for the process
    let steady = open_fd_count()?;
    for i in 0..1000 {
        if i == 0 {
            // Not vacuous: both counts see a live copy.
            let copy = main.rebuild()?;
            assert!(
                open_fd_count()? > steady,
                "a live session holds descriptors"
            );
            assert_eq!(sessions_named(&mut watcher, &app, 2)?, 2);
            copy.close()?;
        } else {
            cycle()?;
        }
    }
    assert_eq!(
        open_fd_count()?,
        steady,
        "descriptors leaked over 1,000 cycles"
    );
    assert_eq!(
        sessions_named(&mut watcher, &app, 1)?,
        1,
        "server sessions leaked over 1,000 cycles (only the original should remain)"
    );

    main.close()?;
    assert_eq!(sessions_named(&mut watcher, &app, 0)?, 0);
    watcher.close()?;
    Ok(())
}

#[test]
#[ignore = "needs GUARDIAN_PG_URL (bash .ci/with-postgres cargo test --all-features --tests -- --ignored --skip inside_a_network_namespace)"]
fn check_passes_a_live_session_and_fails_one_the_server_ended() -> TestResult {
    use guardian_core::Factory;

    let _shared = shared();
    let db = server("check")?;
    let mut watcher = observer(&db)?;
    let factory = Postgres::no_tls().with_check_timeout(Duration::from_secs(2));
    assert_eq!(factory.check_timeout(), Duration::from_secs(2));
    assert_eq!(
        Postgres::no_tls().check_timeout(),
        Postgres::<NoTls>::DEFAULT_CHECK_TIMEOUT
    );
    let mut client = factory.open(&db)?;
    factory.check(&mut client)?;
    factory.check(&mut client)?; // and again: the check leaves the session as it was
    let victim = pid(&mut client)?;
    let killed: bool = watcher
        .query_one("SELECT pg_terminate_backend($1)", &[&victim])?
        .get(0);
    assert!(killed);
    let err = factory
        .check(&mut client)
        .expect_err("the server ended the session");
    assert_eq!(err.op(), PostgresOp::Check);
    assert!(err.driver_error().is_some(), "the driver's error: {err:?}");
    assert!(std::error::Error::source(&err).is_some());
    drop(client);
    watcher.close()?;
    Ok(())
}
