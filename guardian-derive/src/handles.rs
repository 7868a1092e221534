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
use syn::{GenericArgument, Path, PathArguments, Type};

use crate::generics::Params;

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
    /// The path as written (`File`, `fs::File`), when it may name the user's own type:
    /// written bare, or under a module name (`fs`, `sync`) that the user's crate may
    /// have too. `None` under a crate's own path (`std::fs::File`, `::tokio::...`).
    pub maybe_own: Option<String>,
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

/// Modules of std (first path segment, as in `use std::fs; fs::File`) under which the
/// names of [`HANDLES`] are handles. A user's crate may have a module of the same name,
/// so a path starting here may be the user's own type: the message says how to write it.
const STD_MODULES: &[&str] = &["fs", "net", "process", "sync", "os", "fd", "io", "unix"];

/// Crates (first path segment) under which the names of [`HANDLES`] are handles.
const HANDLE_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
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

/// The first live handle inside `ty`, if any. A name in `params` (the type's own
/// generic parameters) is never a handle, whatever it is called.
pub fn find(ty: &Type, params: &Params) -> Option<Found> {
    Walk { params }.ty(ty, None)
}

struct Walk<'p> {
    params: &'p Params,
}

impl Walk<'_> {
    fn ty(&self, ty: &Type, shared_by: Option<&str>) -> Option<Found> {
        match ty {
            Type::Path(ty) => {
                if let Some(qself) = &ty.qself
                    && let Some(found) = self.ty(&qself.ty, shared_by)
                {
                    return Some(found);
                }
                self.path(&ty.path, shared_by)
            }
            Type::Reference(ty) => self.ty(&ty.elem, shared_by.or(Some("&"))),
            Type::Array(ty) => self.ty(&ty.elem, shared_by),
            Type::Slice(ty) => self.ty(&ty.elem, shared_by),
            Type::Ptr(ty) => self.ty(&ty.elem, shared_by.or(Some("*"))),
            Type::Paren(ty) => self.ty(&ty.elem, shared_by),
            Type::Group(ty) => self.ty(&ty.elem, shared_by),
            Type::Tuple(ty) => ty.elems.iter().find_map(|elem| self.ty(elem, shared_by)),
            _ => None,
        }
    }

    fn path(&self, path: &Path, shared_by: Option<&str>) -> Option<Found> {
        let last = path.segments.last()?;
        let single = path.segments.len() == 1 && path.leading_colon.is_none();
        let name = last.ident.to_string();
        if single && self.params.contains(&name) {
            return None;
        }
        if let Some((what, maybe_own)) = classify(path, &name) {
            return Some(Found {
                span: last.ident.span(),
                what,
                shared_by: shared_by.map(str::to_owned),
                maybe_own: maybe_own.then(|| written(path)),
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
                    GenericArgument::Type(ty) => self.ty(ty, inner_shared),
                    GenericArgument::AssocType(assoc) => self.ty(&assoc.ty, inner_shared),
                    _ => None,
                }),
                PathArguments::Parenthesized(_) | PathArguments::None => None,
            })
    }
}

/// What the handle at the end of `path` is, and whether the path may name the user's
/// own type instead (see [`Found::maybe_own`]).
fn classify(path: &Path, name: &str) -> Option<(&'static str, bool)> {
    let single = path.segments.len() == 1;
    let first = match path.segments.first() {
        // One segment: the first is the last, already read.
        _ if single => name.to_owned(),
        Some(segment) => segment.ident.to_string(),
        None => String::new(),
    };
    let own_module = path.leading_colon.is_none() && STD_MODULES.contains(&first.as_str());
    if let Some((_, what)) = HANDLES.iter().find(|(handle, _)| *handle == name)
        && (single || own_module || HANDLE_CRATES.contains(&first.as_str()))
    {
        return Some((what, single || own_module));
    }
    if !single
        && let Some((_, _, what)) = QUALIFIED_HANDLES
            .iter()
            .find(|(krate, handle, _)| *krate == first && *handle == name)
    {
        return Some((what, false));
    }
    None
}

/// `fs::File` for the path `fs::File<..>`: the segments, without generic arguments.
fn written(path: &Path) -> String {
    let mut out = String::new();
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    out
}
