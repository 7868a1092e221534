//! The catalogue of live OS handles that must never be a `#[config]` field, and the
//! walk that finds one anywhere inside a field's type (`Option<File>`,
//! `Arc<Mutex<File>>`, `Vec<(String, TcpStream)>`, `&File`).
//!
//! This is a syntactic check: a proc macro sees tokens, not resolved types. It is
//! written to avoid false alarms on users' own types with common names: a name that
//! is ambiguous (`Connection`, `Client`) counts only under a known crate's path, and a
//! qualified path counts only when it starts at a known crate. A handle hidden behind
//! a type alias escapes this check, but not the `Clone` requirement of `#[config]`
//! fields, which every raw handle fails.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{GenericArgument, Path, PathArguments, Type};

/// A live handle found inside a config field's type.
pub struct Found {
    /// The handle's type name, as written (`File`, `Mutex`).
    pub name: String,
    /// What it is, for the message ("an open file").
    pub what: &'static str,
    /// Where it is written.
    pub span: Span,
    /// The shared pointer or reference it sits behind (`Arc`, `Rc`, `&`), if any:
    /// cloning that shares the one handle, a double booking.
    pub shared_by: Option<String>,
    /// Whether the name was written bare, so it may be the user's own type.
    pub bare: bool,
}

/// Handles whose names are distinctive enough to recognise written bare, or under
/// any of the crates in [`HANDLE_CRATES`].
const HANDLES: &[(&str, &str)] = &[
    ("File", "an open file"),
    ("TcpStream", "a TCP connection"),
    ("TcpListener", "a listening TCP socket"),
    ("UdpSocket", "a UDP socket"),
    ("UnixStream", "a Unix-socket connection"),
    ("UnixListener", "a listening Unix socket"),
    ("UnixDatagram", "a Unix datagram socket"),
    ("OwnedFd", "an owned file descriptor"),
    ("OwnedHandle", "an owned OS handle"),
    ("OwnedSocket", "an owned socket"),
    ("PipeReader", "a pipe"),
    ("PipeWriter", "a pipe"),
    ("Child", "a child process"),
    ("ChildStdin", "a child process's stdin pipe"),
    ("ChildStdout", "a child process's stdout pipe"),
    ("ChildStderr", "a child process's stderr pipe"),
    ("Mutex", "a lock"),
    ("RwLock", "a lock"),
    ("ReentrantMutex", "a lock"),
    ("Condvar", "a condition variable"),
    ("Barrier", "a barrier"),
    ("PgConnection", "a PostgreSQL connection"),
    ("SqliteConnection", "an SQLite connection"),
    ("MysqlConnection", "a MySQL connection"),
    ("MySqlConnection", "a MySQL connection"),
    ("PooledConnection", "a pooled database connection"),
];

/// Crates (first path segment) under which the names of [`HANDLES`] are handles.
const HANDLE_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "fs",
    "net",
    "process",
    "sync",
    "os",
    "fd",
    "io",
    "unix",
    "tokio",
    "async_std",
    "smol",
    "parking_lot",
    "spin",
    "mio",
    "socket2",
    "nix",
    "rustix",
    "fs_err",
    "cap_std",
    "os_pipe",
    "diesel",
    "sqlx",
    "r2d2",
    "deadpool",
    "bb8",
    "rusqlite",
];

/// Handles whose names are too common to recognise bare: only under these crates.
const QUALIFIED_HANDLES: &[(&str, &str, &str)] = &[
    ("rusqlite", "Connection", "an SQLite connection"),
    ("sqlite", "Connection", "an SQLite connection"),
    ("duckdb", "Connection", "a DuckDB connection"),
    ("postgres", "Client", "a PostgreSQL connection"),
    ("tokio_postgres", "Client", "a PostgreSQL connection"),
    ("mysql", "Conn", "a MySQL connection"),
    ("mysql_async", "Conn", "a MySQL connection"),
    ("redis", "Connection", "a Redis connection"),
    ("sqlx", "Connection", "a database connection"),
    ("rusqlite", "Transaction", "an SQLite transaction"),
    ("postgres", "Transaction", "a PostgreSQL transaction"),
];

/// Shared pointers: cloning one shares what it points to.
const SHARED_POINTERS: &[&str] = &["Arc", "Rc"];

/// The first live handle inside `ty`, if any.
pub fn find(ty: &Type) -> Option<Found> {
    walk(ty, None)
}

fn walk(ty: &Type, shared_by: Option<&str>) -> Option<Found> {
    match ty {
        Type::Path(ty) => {
            if let Some(qself) = &ty.qself
                && let Some(found) = walk(&qself.ty, shared_by)
            {
                return Some(found);
            }
            walk_path(&ty.path, shared_by)
        }
        Type::Reference(ty) => walk(&ty.elem, shared_by.or(Some("&"))),
        Type::Array(ty) => walk(&ty.elem, shared_by),
        Type::Slice(ty) => walk(&ty.elem, shared_by),
        Type::Ptr(ty) => walk(&ty.elem, shared_by.or(Some("*"))),
        Type::Paren(ty) => walk(&ty.elem, shared_by),
        Type::Group(ty) => walk(&ty.elem, shared_by),
        Type::Tuple(ty) => ty.elems.iter().find_map(|elem| walk(elem, shared_by)),
        _ => None,
    }
}

fn walk_path(path: &Path, shared_by: Option<&str>) -> Option<Found> {
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    if let Some(what) = classify(path, &name) {
        return Some(Found {
            span: last.ident.span(),
            what,
            shared_by: shared_by.map(str::to_owned),
            bare: path.segments.len() == 1 && path.leading_colon.is_none(),
            name,
        });
    }
    let inner_shared = if SHARED_POINTERS.contains(&name.as_str()) {
        shared_by.or(Some(name.as_str()))
    } else {
        shared_by
    };
    path.segments
        .iter()
        .find_map(|segment| match &segment.arguments {
            PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(ty) => walk(ty, inner_shared),
                GenericArgument::AssocType(assoc) => walk(&assoc.ty, inner_shared),
                _ => None,
            }),
            PathArguments::Parenthesized(_) | PathArguments::None => None,
        })
}

fn classify(path: &Path, name: &str) -> Option<&'static str> {
    let first = path
        .segments
        .first()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    let single = path.segments.len() == 1;
    if let Some((_, what)) = HANDLES.iter().find(|(handle, _)| *handle == name)
        && (single || HANDLE_CRATES.contains(&first.as_str()))
    {
        return Some(what);
    }
    if !single
        && let Some((_, _, what)) = QUALIFIED_HANDLES
            .iter()
            .find(|(krate, handle, _)| *krate == first && *handle == name)
    {
        return Some(what);
    }
    None
}

/// Where a type is written, for errors about it: its first token. (A span over the
/// whole type needs `Span::join`, which stable compilers do not provide to proc
/// macros; and `syn`'s `Spanned` would print the type into tokens to find out, once
/// per call, which is most of the expansion's own cost.)
pub fn type_span(ty: &Type) -> Span {
    match ty {
        Type::Path(ty) => match (&ty.qself, &ty.path.leading_colon, ty.path.segments.first()) {
            (Some(qself), _, _) => qself.lt_token.span,
            (None, Some(colon), _) => colon.spans[0],
            (None, None, Some(segment)) => segment.ident.span(),
            (None, None, None) => ty.span(),
        },
        Type::Reference(ty) => ty.and_token.span,
        Type::Array(ty) => ty.bracket_token.span.open(),
        Type::Slice(ty) => ty.bracket_token.span.open(),
        Type::Tuple(ty) => ty.paren_token.span.open(),
        Type::Paren(ty) => ty.paren_token.span.open(),
        Type::Ptr(ty) => ty.star_token.span,
        _ => ty.span(),
    }
}
