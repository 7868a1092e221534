//! PostgreSQL: the async counterpart of [`crate::postgres`] (feature
//! `tokio-postgres`), opening [`PostgresSession`]s of the `tokio-postgres` driver from
//! the same [`PostgresConfig`].

use std::fmt;

use ::tokio::task::JoinHandle;
use ::tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use ::tokio_postgres::{Client, NoTls, Socket};

use crate::AsyncFactory;
use crate::postgres::{PostgresConfig, PostgresError, PostgresOp, SET_CONFIG};

/// The `tokio-postgres` version this module is built against, so that your
/// [`Client`] is the one a [`PostgresSession`] holds.
pub use ::tokio_postgres;

/// Opens async PostgreSQL sessions ([`PostgresSession`]) from a [`PostgresConfig`] and
/// applies its session settings, as the blocking [`postgres::Postgres`] does.
///
/// A rebuild opens a fresh session (a new server process) with the config's
/// connection parameters and settings, and nothing of the live session's own state:
/// see [what a rebuild gives you](crate::postgres#what-a-rebuild-gives-you), which
/// holds here word for word. `T` makes the TLS connections, as for the blocking
/// factory: [`NoTls`], or a connector of `postgres-native-tls` / `postgres-openssl`.
///
/// The driver's connection (the task that reads and writes the socket) is spawned on
/// the current tokio runtime and owned by the session: closing the session ends it
/// and reports its error. [`check`](AsyncFactory::check) runs `SELECT 1`.
///
/// The recipe's driver config is the blocking driver's (`postgres::Config`); each
/// open copies every connection parameter of it into a `tokio_postgres::Config`
/// (both drivers have the same parameters). Its notice callback is the blocking
/// driver's alone: notices of an async session go to the `log` crate, as
/// `tokio-postgres` sends them.
///
/// ```no_run
/// use guardian_core::AsyncFactory;
/// use guardian_core::postgres::PostgresConfig;
/// use guardian_core::tokio::Postgres;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let db: PostgresConfig = "postgres://guardian:secret@127.0.0.1/guardian".parse()?;
/// let db = db.with_setting("search_path", "league, public");
/// let live = Postgres::no_tls().open(&db).await?;
/// let copy = Postgres::no_tls().reopen(&db, &live).await?; // a fresh session
/// let row = copy.client().query_one("SHOW search_path", &[]).await?;
/// assert_eq!(row.get::<_, String>(0), "league, public");
/// Postgres::no_tls().close(copy).await?;
/// Postgres::no_tls().close(live).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
///
/// [`postgres::Postgres`]: crate::postgres::Postgres
#[derive(Clone, Copy, Debug, Default)]
pub struct Postgres<T = NoTls> {
    tls: T,
}

impl Postgres<NoTls> {
    /// A factory of sessions without TLS.
    #[must_use]
    pub const fn no_tls() -> Self {
        Postgres { tls: NoTls }
    }
}

impl<T> Postgres<T> {
    /// A factory whose sessions use `tls`.
    pub const fn new(tls: T) -> Self {
        Postgres { tls }
    }
}

impl<T> AsyncFactory for Postgres<T>
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    type Config = PostgresConfig;
    type Resource = PostgresSession;
    type Error = PostgresError;

    /// Connects, spawns the driver's connection task, and applies the config's
    /// settings. A rebuild calls this too (through the default
    /// [`reopen`](AsyncFactory::reopen)).
    fn open(
        &self,
        config: &PostgresConfig,
    ) -> impl Future<Output = Result<PostgresSession, PostgresError>> + Send {
        let tls = self.tls.clone();
        async move {
            let driver = driver_config(config.driver());
            let (client, connection) = driver.connect(tls).await.map_err(|source| {
                PostgresError::new(PostgresOp::Connect, Some(config), None, source)
            })?;
            let session = PostgresSession {
                client,
                connection: ::tokio::spawn(connection),
            };
            for (name, value) in config.settings() {
                if let Err(source) = session.client.execute(SET_CONFIG, &[name, value]).await {
                    let err = PostgresError::new(
                        PostgresOp::Configure,
                        Some(config),
                        Some(name.clone()),
                        source,
                    );
                    // The session is useless without its settings; a failure to close
                    // it as well would add nothing to the error above.
                    let _ = session.end().await;
                    return Err(err);
                }
            }
            Ok(session)
        }
    }

    /// Runs `SELECT 1` on the session.
    async fn check(&self, session: &mut PostgresSession) -> Result<(), PostgresError> {
        match session.client.batch_execute("SELECT 1").await {
            Ok(()) => Ok(()),
            Err(source) => Err(PostgresError::new(PostgresOp::Check, None, None, source)),
        }
    }

    /// Ends the session (see [`PostgresSession`]) and reports the connection's error.
    fn close(
        &self,
        session: PostgresSession,
    ) -> impl Future<Output = Result<(), PostgresError>> + Send {
        session.end()
    }
}

/// An async PostgreSQL session: the driver's [`Client`] and the task that runs its
/// connection, which the session owns.
///
/// `tokio-postgres` splits a session in two: the client, which sends queries, and the
/// connection, a future that must be polled for the client to get any answer, and
/// that ends with the session's error, if any (the server went away, the socket
/// failed). The factory spawns the connection on the runtime it opens on, and keeps
/// its [`JoinHandle`] here, so the connection lives exactly as long as the session,
/// and its error is not lost:
///
/// - **Closing** ([`Postgres`]'s [`close`](AsyncFactory::close)) drops the client,
///   which makes the connection tell the server that the session ends (`Terminate`)
///   and finish; then it waits for the task and reports its error as a
///   [`PostgresError`] of operation [`PostgresOp::Close`], whenever it happened (a
///   connection that failed an hour ago is reported now). If the task panicked, the
///   panic goes on in the closing task. If the task was dropped because its runtime
///   shut down, its socket was closed with it, and closing has nothing to report.
/// - **Dropping** the session without closing it drops the client: the task still
///   ends the session and finishes on its own, but its error is lost (the Guardian
///   Rule: close it).
pub struct PostgresSession {
    client: Client,
    connection: JoinHandle<Result<(), ::tokio_postgres::Error>>,
}

impl PostgresSession {
    /// The driver's client: queries, transactions, prepared statements.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The driver's client, mutably (for [`Client::transaction`]).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Whether the connection task has ended (the session is over: closed by the
    /// server, or failed), without waiting.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.connection.is_finished()
    }

    async fn end(self) -> Result<(), PostgresError> {
        let PostgresSession { client, connection } = self;
        drop(client);
        match connection.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(PostgresError::new(PostgresOp::Close, None, None, source)),
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Never aborted: cancelled means its runtime shut down and dropped it.
                Err(_) => Ok(()),
            },
        }
    }
}

impl fmt::Debug for PostgresSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSession")
            .field("closed", &self.client.is_closed())
            .field("connection_finished", &self.connection.is_finished())
            .finish_non_exhaustive()
    }
}

/// The blocking driver's config, as the async driver's: every connection parameter,
/// copied through the getters both drivers share.
pub(crate) fn driver_config(from: &::postgres::Config) -> ::tokio_postgres::Config {
    use ::tokio_postgres::config::Host;

    let mut to = ::tokio_postgres::Config::new();
    if let Some(user) = from.get_user() {
        to.user(user);
    }
    if let Some(password) = from.get_password() {
        to.password(password);
    }
    if let Some(dbname) = from.get_dbname() {
        to.dbname(dbname);
    }
    if let Some(options) = from.get_options() {
        to.options(options);
    }
    if let Some(name) = from.get_application_name() {
        to.application_name(name);
    }
    to.ssl_mode(from.get_ssl_mode());
    to.ssl_negotiation(from.get_ssl_negotiation());
    for host in from.get_hosts() {
        match host {
            Host::Tcp(name) => to.host(name),
            #[cfg(unix)]
            Host::Unix(dir) => to.host_path(dir),
        };
    }
    for address in from.get_hostaddrs() {
        to.hostaddr(*address);
    }
    for port in from.get_ports() {
        to.port(*port);
    }
    if let Some(timeout) = from.get_connect_timeout() {
        to.connect_timeout(*timeout);
    }
    if let Some(timeout) = from.get_tcp_user_timeout() {
        to.tcp_user_timeout(*timeout);
    }
    to.keepalives(from.get_keepalives());
    to.keepalives_idle(from.get_keepalives_idle());
    if let Some(interval) = from.get_keepalives_interval() {
        to.keepalives_interval(interval);
    }
    if let Some(retries) = from.get_keepalives_retries() {
        to.keepalives_retries(retries);
    }
    to.target_session_attrs(from.get_target_session_attrs());
    to.channel_binding(from.get_channel_binding());
    to.load_balance_hosts(from.get_load_balance_hosts());
    to
}

#[cfg(test)]
mod tests {
    use super::driver_config;

    /// Every parameter survives the copy: both configs parse the same text, and the
    /// async driver's config compares every field (`PartialEq`), the password and
    /// the ones its `Debug` does not show included.
    #[test]
    fn the_copy_keeps_every_parameter() {
        for text in [
            "postgres://ada:pw@db1:5433,db2:5434/league?application_name=app&options=-c%20x%3D1\
             &sslmode=disable&connect_timeout=7&tcp_user_timeout=3&keepalives=0\
             &keepalives_idle=11&keepalives_interval=5&keepalives_retries=4\
             &target_session_attrs=read-write&channel_binding=require&load_balance_hosts=random\
             &hostaddr=10.0.0.1,10.0.0.2",
            "host=/run/postgresql,db3 port=1,2 user=grace dbname=x sslnegotiation=direct sslmode=require",
            "",
        ] {
            let blocking: ::postgres::Config = text.parse().expect(text);
            let direct: ::tokio_postgres::Config = text.parse().expect(text);
            assert!(direct != ::tokio_postgres::Config::new() || text.is_empty());
            assert!(driver_config(&blocking) == direct, "{text}: {direct:?}");
        }
    }
}
