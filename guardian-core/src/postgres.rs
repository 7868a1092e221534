//! PostgreSQL sessions: a factory that opens a fresh session and applies the session
//! settings of its recipe again (feature `postgres`).
//!
//! [`Postgres`] is a [`Factory`] of synchronous [`postgres::Client`]s.
//! Its recipe, [`PostgresConfig`], is the driver's own [`postgres::Config`]
//! (host, port, user, database, password, `application_name`, `options`) plus a list of
//! session settings (`SET name = value`) applied to every new session.
//!
//! ```no_run
//! use guardian_core::Rebuild;
//! use guardian_core::postgres::{Postgres, PostgresConfig, postgres::Client};
//!
//! #[derive(Rebuild)]
//! struct Tournament {
//!     #[config]
//!     db: PostgresConfig,
//!     #[resource(factory = Postgres::no_tls(), from = db)]
//!     client: Client,
//! }
//!
//! let db: PostgresConfig = "postgres://guardian:secret@127.0.0.1/guardian".parse()?;
//! let db = db
//!     .with_application_name("tournament")
//!     .with_setting("search_path", "league, public");
//! let main = Tournament { client: Postgres::no_tls().open_with(&db)?, db };
//!
//! let mut worker = main.rebuild()?; // a fresh session, same settings
//! let path: String = worker.client.query_one("SHOW search_path", &[])?.get(0);
//! assert_eq!(path, "league, public");
//!
//! worker.close()?;
//! main.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a rebuild gives you
//!
//! A rebuild opens a **fresh session** (a new server process, a new
//! `pg_backend_pid()`) from the config. It sees every committed row, and it starts with
//! what the config holds: the connection parameters (`user`, `dbname`,
//! `application_name`, `options` such as `-c statement_timeout=5s`) and the
//! [session settings](crate::postgres::PostgresConfig::with_setting), re-applied in order.
//!
//! Nothing of the live session's own state carries over:
//!
//! - its open transaction, and the uncommitted writes in it;
//! - its temporary tables (`CREATE TEMP TABLE`);
//! - its prepared statements (a [`Statement`](::postgres::Statement) belongs to the
//!   session that prepared it) and its cursors;
//! - `SET` values changed on it by hand rather than in the config;
//! - its advisory locks and `LISTEN` subscriptions.
//!
//! Put what every session needs in the config, and it will be there after a rebuild.
//!
//! # Closing
//!
//! [`Factory::close`] uses the driver's fallible [`Client::close`](::postgres::Client::close),
//! which tells the server the session ends and reports a failure to do so.
//!
//! # Secrets
//!
//! The password stays in the driver's config, whose `Debug` output redacts it;
//! [`PostgresConfig`]'s `Debug` output and [`PostgresError`]'s messages never show it.
//!
//! This module is compiled with the `postgres` feature.
//!
//! [`PostgresConfig`]: crate::postgres::PostgresConfig
//! [`PostgresError`]: crate::postgres::PostgresError
//! [`Postgres`]: crate::postgres::Postgres

use crate::Factory;
use ::postgres::config::Host;
use ::postgres::tls::{MakeTlsConnect, TlsConnect};
use ::postgres::{Client, NoTls, Socket};
use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The `postgres` version this module is built against, so that your
/// [`Client`] is the one [`Postgres`] opens.
pub use ::postgres;

/// Opens PostgreSQL sessions ([`postgres::Client`]) from a
/// [`PostgresConfig`] and applies its session settings.
///
/// `T` makes the TLS connections: [`NoTls`] for plain TCP and unix sockets, or a
/// connector from `postgres-native-tls` / `postgres-openssl` (cloned for each
/// connection). Use it as
/// `#[resource(factory = Postgres::no_tls(), from = config_field)]`.
#[derive(Clone, Copy, Debug)]
pub struct Postgres<T = NoTls> {
    tls: T,
    check_timeout: Duration,
}

impl Postgres<NoTls> {
    /// A factory of connections without TLS.
    #[must_use]
    pub const fn no_tls() -> Self {
        Self::new(NoTls)
    }
}

impl<T> Postgres<T> {
    /// How long [`check`](Factory::check) waits for the server's answer unless told
    /// otherwise: 5 seconds.
    pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

    /// A factory whose connections use `tls`.
    pub const fn new(tls: T) -> Self {
        Postgres {
            tls,
            check_timeout: Self::DEFAULT_CHECK_TIMEOUT,
        }
    }

    /// Gives [`check`](Factory::check) at most `timeout` for the server's answer.
    ///
    /// A server that went away without closing the connection (a host powered off, a
    /// network cut) answers nothing, and the operating system gives up on the TCP
    /// connection only after many minutes: a check without a bound would hold a
    /// pool's caller that long. A zero duration fails every check.
    #[must_use]
    pub const fn with_check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = timeout;
        self
    }

    /// How long [`check`](Factory::check) waits for the server's answer.
    #[must_use]
    pub const fn check_timeout(&self) -> Duration {
        self.check_timeout
    }
}

/// A factory of connections with `T`'s default TLS connector and the default check
/// timeout.
impl<T: Default> Default for Postgres<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> Postgres<T>
where
    T: MakeTlsConnect<Socket> + Clone + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    /// Opens a session from `config` and applies its settings: the same as
    /// [`Factory::open`], callable without importing the trait.
    pub fn open_with(&self, config: &PostgresConfig) -> Result<Client, PostgresError> {
        let mut client = config.driver.connect(self.tls.clone()).map_err(|source| {
            PostgresError::new(PostgresOp::Connect, Some(config), None, source)
        })?;
        for (name, value) in &config.settings {
            // `set_config(name, value, false)` is `SET name = value` with the value
            // passed as a parameter, so it needs no quoting.
            if let Err(source) = client.execute(SET_CONFIG, &[name, value]) {
                let err = PostgresError::new(
                    PostgresOp::Configure,
                    Some(config),
                    Some(name.clone()),
                    source,
                );
                // The session is useless without its settings; a failure to close it
                // as well would add nothing to the error above.
                let _ = client.close();
                return Err(err);
            }
        }
        Ok(client)
    }
}

/// Applies one session setting: `SET name = value` with the name and the value passed
/// as parameters, so neither needs quoting. Shared with the async factory.
pub(crate) const SET_CONFIG: &str = "SELECT pg_catalog.set_config($1, $2, false)";

impl<T> Factory for Postgres<T>
where
    T: MakeTlsConnect<Socket> + Clone + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    type Config = PostgresConfig;
    type Resource = Client;
    type Error = PostgresError;

    /// Opens a session and applies the config's settings. A rebuild calls this too
    /// (through the default [`reopen`](Factory::reopen)): the new session shares no
    /// state with the live one (see the [module docs](self#what-a-rebuild-gives-you)).
    fn open(&self, config: &PostgresConfig) -> Result<Client, PostgresError> {
        self.open_with(config)
    }

    /// Sends an empty query and waits for the answer, at most the
    /// [check timeout](Postgres::with_check_timeout)
    /// ([`Client::is_valid`](::postgres::Client::is_valid)). It fails when the session is
    /// over (the server ended it: a restart, `pg_terminate_backend`, an idle timeout;
    /// the socket failed) or the server does not answer in time; the driver's error is
    /// the cause. One round trip; the server parses nothing.
    fn check(&self, client: &mut Client) -> Result<(), PostgresError> {
        client
            .is_valid(self.check_timeout)
            .map_err(|source| PostgresError::new(PostgresOp::Check, None, None, source))
    }

    /// Ends the session with [`Client::close`] and reports its error.
    fn close(&self, client: Client) -> Result<(), PostgresError> {
        client
            .close()
            .map_err(|source| PostgresError::new(PostgresOp::Close, None, None, source))
    }
}

/// The recipe of a PostgreSQL session: the driver's connection config and the
/// session settings applied to every new session.
///
/// A builder: each `with_*` method takes the config by value and returns it changed,
/// and the getter of the same name without `with_` reads the setting back.
///
/// ```
/// use guardian_core::postgres::{PostgresConfig, postgres};
///
/// let config: PostgresConfig = "postgres://ada:hunter2@db.example/league".parse()?;
/// let config = config
///     .with_application_name("league-worker")
///     .with_setting("statement_timeout", "5s")
///     .with_setting("search_path", "league, public");
///
/// assert_eq!(config.application_name(), Some("league-worker"));
/// assert_eq!(config.settings()[0], ("statement_timeout".to_owned(), "5s".to_owned()));
/// assert_eq!(config.driver().get_dbname(), Some("league"));
/// assert!(!format!("{config:?}").contains("hunter2"));
/// # Ok::<(), postgres::Error>(())
/// ```
#[derive(Clone)]
pub struct PostgresConfig {
    driver: ::postgres::Config,
    settings: Vec<(String, String)>,
}

impl PostgresConfig {
    /// Wraps the driver's config, with no session settings of its own.
    #[must_use]
    pub fn new(driver: ::postgres::Config) -> Self {
        Self {
            driver,
            settings: Vec::new(),
        }
    }

    /// Sets the `application_name` connection parameter, which the server shows in
    /// `pg_stat_activity` and its logs.
    #[must_use]
    pub fn with_application_name(mut self, name: &str) -> Self {
        self.driver.application_name(name);
        self
    }

    /// Adds a session setting, applied to every new session as `SET name = value`
    /// (through `set_config(name, value, false)`), after connecting, in the order
    /// added.
    #[must_use]
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// The `application_name` connection parameter, if set.
    #[must_use]
    pub fn application_name(&self) -> Option<&str> {
        self.driver.get_application_name()
    }

    /// The driver's config.
    #[must_use]
    pub fn driver(&self) -> &::postgres::Config {
        &self.driver
    }

    /// The driver's config, to change what this type has no method for.
    pub fn driver_mut(&mut self) -> &mut ::postgres::Config {
        &mut self.driver
    }

    /// The session settings, as `(name, value)` pairs in the order they are applied.
    #[must_use]
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// Where sessions connect, for messages: `user@host:port/dbname`, without the
    /// password.
    #[must_use]
    pub fn server(&self) -> String {
        let d = &self.driver;
        let hosts: Vec<String> = d
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let host = match host {
                    Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    Host::Unix(dir) => dir.display().to_string(),
                };
                // The driver takes one port for all hosts, or one per host.
                let port = match d.get_ports() {
                    [] => 5432,
                    [port] => *port,
                    ports => ports.get(i).copied().unwrap_or(5432),
                };
                format!("{host}:{port}")
            })
            .collect();
        let hosts = if hosts.is_empty() {
            "(no host)".to_owned()
        } else {
            hosts.join(",")
        };
        format!(
            "{}@{hosts}/{}",
            d.get_user().unwrap_or("(no user)"),
            d.get_dbname().or(d.get_user()).unwrap_or("(no database)")
        )
    }
}

impl From<::postgres::Config> for PostgresConfig {
    fn from(driver: ::postgres::Config) -> Self {
        Self::new(driver)
    }
}

/// Parses a connection string, a URL (`postgres://user:pw@host:port/db`) or
/// `key=value` pairs, as [`postgres::Config`] does.
impl FromStr for PostgresConfig {
    type Err = ::postgres::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self::new)
    }
}

/// Shows the driver's config (its password redacted) and the settings.
// Written by hand, not derived, because it must never show the password: the driver's
// own `Debug` redacts it, and a field added here later is not shown until someone
// decides it may be.
impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("driver", &self.driver)
            .field("settings", &self.settings)
            .finish()
    }
}

/// What a PostgreSQL factory was doing when it failed; see [`PostgresError::op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PostgresOp {
    /// Connecting and logging in.
    Connect,
    /// Applying a session setting of the config.
    Configure,
    /// Ending a session.
    Close,
    /// Checking that a session still works (`check`).
    Check,
}

/// A PostgreSQL session failed to open, take its settings, or close. It names the
/// operation and the server (never the password); the driver's error is its
/// [`source`](Error::source) (the crate's [rule for errors](crate#errors)).
///
/// `Debug` is derived: no field holds the password (the server is kept as
/// [`PostgresConfig::server`] writes it).
#[derive(Debug)]
pub struct PostgresError {
    op: PostgresOp,
    server: Option<String>,
    setting: Option<String>,
    source: ::postgres::Error,
}

impl PostgresError {
    #[cold]
    pub(crate) fn new(
        op: PostgresOp,
        config: Option<&PostgresConfig>,
        setting: Option<String>,
        source: ::postgres::Error,
    ) -> Self {
        Self {
            op,
            server: config.map(PostgresConfig::server),
            setting,
            source,
        }
    }

    /// What was being done.
    #[must_use]
    pub fn op(&self) -> PostgresOp {
        self.op
    }

    /// The server, as `user@host:port/dbname` (unknown when closing: a client does
    /// not keep its config).
    #[must_use]
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The session setting that failed, for [`PostgresOp::Configure`].
    #[must_use]
    pub fn setting(&self) -> Option<&str> {
        self.setting.as_deref()
    }

    /// The driver's error. Always `Some` today; an `Option`, as in every family, so
    /// that a refusal of guardian's own (one without a driver error) can be added
    /// without breaking callers.
    #[must_use]
    pub fn driver_error(&self) -> Option<&::postgres::Error> {
        Some(&self.source)
    }
}

impl fmt::Display for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = self.server.as_deref().unwrap_or("(unknown)");
        match self.op {
            PostgresOp::Connect => write!(f, "cannot connect to PostgreSQL as `{server}`"),
            PostgresOp::Configure => write!(
                f,
                "cannot apply session setting `{}` on PostgreSQL as `{server}`",
                self.setting.as_deref().unwrap_or_default()
            ),
            PostgresOp::Close => f.write_str("cannot close a PostgreSQL session"),
            PostgresOp::Check => f.write_str("a PostgreSQL session failed its check"),
        }
    }
}

impl Error for PostgresError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
