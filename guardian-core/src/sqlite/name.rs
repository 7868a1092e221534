//! What SQLite makes of a database name and open flags: which database a connection
//! reaches, whether a second connection reaches the same one, and the name with a
//! relative file path pinned.
//!
//! This follows, step by step, the SQLite that `rusqlite` bundles (3.54): `openDatabase`
//! (a private-cache flag clears the shared-cache flag), `sqlite3ParseUri` (the URI
//! grammar: authority, percent-escapes, `%00`, `#`, options in order, the last one
//! winning, names and values compared case-sensitively), `sqlite3BtreeOpen` (an empty
//! name is a temporary database and never shared; an in-memory database shares its
//! cache only when named by a URI) and the `memdb` VFS's `memdbOpen` (a name of more
//! than one character starting with `/` or `\` is shared by the process). The tests
//! check each form against SQLite itself: a second connection opened by hand sees the
//! data, or does not.
//!
//! Two settings of the C library are outside what this module can see, and are
//! assumed at their defaults in the bundled build: URI names are on
//! (`SQLITE_USE_URI=1`: a name starting with `file:` is a URI with or without
//! `SQLITE_OPEN_URI`), and the process-wide shared cache is off
//! (`sqlite3_enable_shared_cache`). Changing either takes `unsafe` calls into
//! `rusqlite::ffi`; with the shared cache on, some names read here as private would
//! be shared, so a rebuild is refused that could have been allowed (never the
//! reverse).

use rusqlite::OpenFlags;
use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// The database a name and open flags reach.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// A file, through one of SQLite's own file VFSes; the path is decoded from the
    /// URI, and relative if the name is.
    File(PathBuf),
    /// An in-memory database that every connection of the process opening the same
    /// name reaches, as long as one of them is open.
    SharedMemory,
    /// A database of one connection's own, created empty when it opens.
    Private(Private),
    /// A VFS that is not one of SQLite's own (registered by the program, or by no
    /// one): whether it shares anything is unknown.
    UnknownVfs(String),
    /// A name SQLite refuses to open (an authority other than `localhost`, an unknown
    /// `mode` or `cache` value, a mode the flags forbid): opening reports SQLite's
    /// own error.
    Invalid,
}

/// Which kind of connection-private database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Private {
    Memory,
    Temporary,
}

impl Private {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Private::Memory => "a private in-memory database",
            Private::Temporary => "a private temporary database",
        }
    }
}

/// The VFSes SQLite registers on Unix and Windows that keep a database in a file
/// named by the path (the others of `sqlite3_os_init`, on every platform).
const FILE_VFSES: &[&[u8]] = &[
    b"unix",
    b"unix-none",
    b"unix-dotfile",
    b"unix-excl",
    b"unix-posix",
    b"unix-flock",
    b"unix-afp",
    b"unix-nfs",
    b"unix-proxy",
    b"unix-namedsem",
    b"win32",
    b"win32-longpath",
    b"win32-none",
    b"win32-longpath-none",
];

/// Reads `name` and `flags` as SQLite does when it opens a connection.
pub(super) fn target(name: &Path, flags: OpenFlags) -> Target {
    let bytes = name.as_os_str().as_encoded_bytes();
    let mut flags = flags;
    // openDatabase: a private-cache flag wins over a shared-cache flag (a `cache=`
    // option of the URI then overrides both).
    if flags.contains(OpenFlags::SQLITE_OPEN_PRIVATE_CACHE) {
        flags.remove(OpenFlags::SQLITE_OPEN_SHARED_CACHE);
    }
    let (file, vfs, uri) = match bytes.strip_prefix(b"file:") {
        Some(rest) => match parse_uri(rest, &mut flags) {
            Some(Uri { file, vfs }) => (Cow::Owned(file), vfs, true),
            None => return Target::Invalid,
        },
        None => (Cow::Borrowed(bytes), None, false),
    };
    let shared = flags.contains(OpenFlags::SQLITE_OPEN_SHARED_CACHE);
    let memory = *file == *b":memory:" || flags.contains(OpenFlags::SQLITE_OPEN_MEMORY);
    if file.is_empty() {
        // sqlite3BtreeOpen: an empty name is never a candidate for a shared cache.
        return Target::Private(if memory {
            Private::Memory
        } else {
            Private::Temporary
        });
    }
    if memory {
        // The pager keeps the database in memory whatever the VFS; it shares its
        // cache only when named by a URI.
        return if uri && shared {
            Target::SharedMemory
        } else {
            Target::Private(Private::Memory)
        };
    }
    match vfs.as_deref() {
        None => Target::File(path_from_bytes(&file)),
        Some(vfs) if FILE_VFSES.contains(&vfs) => Target::File(path_from_bytes(&file)),
        // A shared cache is found by name (the memdb VFS does not change it); without
        // one, memdbOpen shares a store only under a name of two or more characters
        // starting with a slash or a backslash.
        Some(b"memdb") if shared || (file.len() > 1 && matches!(file[0], b'/' | b'\\')) => {
            Target::SharedMemory
        }
        Some(b"memdb") => Target::Private(Private::Memory),
        Some(vfs) => Target::UnknownVfs(String::from_utf8_lossy(vfs).into_owned()),
    }
}

/// A `file:` URI as SQLite reads it: the decoded file name and the VFS it names.
struct Uri {
    file: Vec<u8>,
    vfs: Option<Vec<u8>>,
}

/// `sqlite3ParseUri` (without `SQLITE_ALLOW_URI_AUTHORITY`, as `rusqlite` builds it)
/// on what follows `file:`; updates `flags` from the `mode` and `cache` options.
/// `None` where SQLite refuses the URI.
fn parse_uri(uri: &[u8], flags: &mut OpenFlags) -> Option<Uri> {
    let at = |i: usize| uri.get(i).copied().unwrap_or(0);
    let mut i = 0;
    if uri.starts_with(b"//") {
        // The authority runs to the next `/` (not to `?` or `#`); it may only be
        // empty or `localhost`.
        let end = uri[2..]
            .iter()
            .position(|&c| c == b'/')
            .map_or(uri.len(), |p| p + 2);
        let authority = &uri[2..end];
        if !authority.is_empty() && authority != b"localhost" {
            return None;
        }
        i = end;
    }

    // The decoded file name, then each option's name and value, separated by NULs
    // exactly as SQLite lays them out. States: 0 the file name, 1 an option's name,
    // 2 its value.
    let mut out = Vec::with_capacity(uri.len() + 2);
    let mut state = 0;
    while at(i) != 0 && at(i) != b'#' {
        let mut c = at(i);
        i += 1;
        if c == b'%' && at(i).is_ascii_hexdigit() && at(i + 1).is_ascii_hexdigit() {
            let octet = (hex(at(i)) << 4) | hex(at(i + 1));
            i += 2;
            if octet == 0 {
                // `%00` drops the rest of the current file name, option name or value.
                loop {
                    let c = at(i);
                    let ends = c == 0
                        || c == b'#'
                        || (state == 0 && c == b'?')
                        || (state == 1 && (c == b'=' || c == b'&'))
                        || (state == 2 && c == b'&');
                    if ends {
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            // A decoded `?`, `&` or `=` is a character of the name, not a separator.
            c = octet;
        } else if state == 1 && (c == b'&' || c == b'=') {
            if out.last() == Some(&0) {
                // An option with an empty name is ignored, up to the next `&`.
                while at(i) != 0 && at(i) != b'#' && at(i - 1) != b'&' {
                    i += 1;
                }
                continue;
            }
            if c == b'&' {
                // A name without `=`: its value is empty.
                out.push(0);
            } else {
                state = 2;
            }
            c = 0;
        } else if (state == 0 && c == b'?') || (state == 2 && c == b'&') {
            c = 0;
            state = 1;
        }
        out.push(c);
    }
    if state == 1 {
        out.push(0);
    }

    let mut parts = out.split(|&b| b == 0);
    let file = parts.next().unwrap_or_default().to_vec();
    let mut vfs = None;
    while let Some(name) = parts.next().filter(|name| !name.is_empty()) {
        let value = parts.next().unwrap_or_default();
        match name {
            b"vfs" => vfs = Some(value.to_vec()),
            b"cache" => {
                let cache = match value {
                    b"shared" => OpenFlags::SQLITE_OPEN_SHARED_CACHE,
                    b"private" => OpenFlags::SQLITE_OPEN_PRIVATE_CACHE,
                    _ => return None,
                };
                flags.remove(
                    OpenFlags::SQLITE_OPEN_SHARED_CACHE | OpenFlags::SQLITE_OPEN_PRIVATE_CACHE,
                );
                flags.insert(cache);
            }
            b"mode" => {
                let mode = match value {
                    b"ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
                    b"rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
                    b"rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                    b"memory" => OpenFlags::SQLITE_OPEN_MEMORY,
                    _ => return None,
                };
                let mask = OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_MEMORY;
                // SQLite compares the bits as numbers: a URI may not ask for more
                // access than the flags give.
                let asked = (mode - OpenFlags::SQLITE_OPEN_MEMORY).bits();
                if asked > (*flags & mask).bits() {
                    return None;
                }
                flags.remove(mask);
                flags.insert(mode);
            }
            _ => {}
        }
    }
    Some(Uri { file, vfs })
}

/// `c` as a percent-escape.
fn escape(c: u8) -> [u8; 3] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xf)]]
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Why a name could not be pinned.
#[derive(Debug)]
pub(super) enum PinError {
    /// The working directory could not be read.
    WorkingDir(io::Error),
    /// A relative `file:` URI on a system where guardian does not write file URIs.
    #[cfg(not(unix))]
    RelativeUri,
}

/// `name` with its relative file path made absolute against the working directory,
/// if `name` opens a file at a relative path under `flags`; `None` otherwise (an
/// absolute path, an in-memory or temporary name, a name SQLite refuses).
pub(super) fn pin(name: &Path, flags: OpenFlags) -> Result<Option<PathBuf>, PinError> {
    let Target::File(file) = target(name, flags) else {
        return Ok(None);
    };
    let relative = !file.as_os_str().as_encoded_bytes().starts_with(b"/") && !file.is_absolute();
    if !relative {
        return Ok(None);
    }
    let bytes = name.as_os_str().as_encoded_bytes();
    match bytes.strip_prefix(b"file:") {
        None => std::path::absolute(name)
            .map(Some)
            .map_err(PinError::WorkingDir),
        Some(rest) => pin_uri(rest),
    }
}

/// `file:` + the working directory, percent-encoded where SQLite would read it as
/// syntax, + `/` + the relative URI as written (its options untouched). A relative
/// file URI has no authority (an authority is followed by `/` or by nothing), so
/// the result is the same URI with an absolute path.
#[cfg(unix)]
fn pin_uri(rest: &[u8]) -> Result<Option<PathBuf>, PinError> {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::env::current_dir().map_err(PinError::WorkingDir)?;
    let dir = dir.as_os_str().as_bytes();
    let mut uri = b"file:".to_vec();
    for &c in dir.strip_suffix(b"/").unwrap_or(dir) {
        match c {
            b'%' | b'?' | b'#' => uri.extend(escape(c)),
            _ => uri.push(c),
        }
    }
    uri.push(b'/');
    uri.extend_from_slice(rest);
    Ok(Some(path_from_bytes(&uri)))
}

#[cfg(not(unix))]
fn pin_uri(_rest: &[u8]) -> Result<Option<PathBuf>, PinError> {
    Err(PinError::RelativeUri)
}

/// `file:NAME?mode=memory&cache=shared` with every byte of `name` other than
/// letters, digits, `-`, `.`, `_` and `~` percent-encoded, so that SQLite reads back
/// exactly `name`.
pub(super) fn shared_memory_uri(name: &str) -> String {
    let mut uri = String::from("file:");
    for c in name.bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            uri.push(char::from(c));
        } else {
            uri.extend(escape(c).map(char::from));
        }
    }
    uri.push_str("?mode=memory&cache=shared");
    uri
}

/// The full path SQLite's unix VFS makes of the absolute path `path` now
/// (`unixFullPathname`): element by element, `.` dropped, `..` removing the element
/// before it as text, each symbolic link replaced by its target as it is met. `None`
/// where SQLite would fail (too many links, an element it cannot inspect), or for a
/// relative path.
#[cfg(unix)]
pub(super) fn full_path(path: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let path = path.as_os_str().as_bytes();
    if !path.starts_with(b"/") {
        return None;
    }
    let mut out = Vec::with_capacity(path.len());
    let mut links = 0;
    append_all(&mut out, path, &mut links)?;
    (out.len() >= 2).then(|| path_from_bytes(&out))
}

#[cfg(unix)]
fn append_all(out: &mut Vec<u8>, path: &[u8], links: &mut u32) -> Option<()> {
    for element in path.split(|&c| c == b'/').filter(|e| !e.is_empty()) {
        append_one(out, element, links)?;
    }
    Some(())
}

#[cfg(unix)]
fn append_one(out: &mut Vec<u8>, element: &[u8], links: &mut u32) -> Option<()> {
    use std::os::unix::ffi::OsStrExt;
    /// SQLite's `SQLITE_MAX_SYMLINK`.
    const MAX_LINKS: u32 = 200;
    if element == b"." {
        return Some(());
    }
    if element == b".." {
        if out.len() > 1 {
            let cut = out.iter().rposition(|&c| c == b'/').unwrap_or(0);
            out.truncate(cut);
        }
        return Some(());
    }
    out.push(b'/');
    out.extend_from_slice(element);
    let here = path_from_bytes(out);
    match std::fs::symlink_metadata(&here) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(_) => return None,
        Ok(meta) if meta.file_type().is_symlink() => {
            *links += 1;
            if *links > MAX_LINKS {
                return None;
            }
            let target = std::fs::read_link(&here).ok()?;
            let target = target.as_os_str().as_bytes();
            if target.starts_with(b"/") {
                out.clear();
            } else {
                out.truncate(out.len() - element.len() - 1);
            }
            append_all(out, target, links)?;
        }
        Ok(_) => {}
    }
    Some(())
}
