//! Every shape the derive accepts works at run time: named, tuple and unit structs,
//! enums with mixed-role variants, the empty enum, type/lifetime/const generics with
//! where-clauses, factories given as expressions, `from` fields that borrow as the
//! factory's recipe, resources without `from`, `#[config(shared)]`, raw identifiers
//! (also in `from`), `Self` in field types, `#[repr(packed)]`, type parameters named
//! like OS handles, and the user's own types named like them; `#[nested]` fields that
//! are generic, in enum variants and tuple structs, in containers, and recursive.

use std::cell::Cell;
use std::fmt::Debug;
use std::fs::File;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use guardian_core::{CloseFailure, Factory, Rebuild, RebuildError};
use guardian_suite::TempDir;
use guardian_suite::path_factories::{AppendFile, ReadFile};

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------------
// Factories
// ---------------------------------------------------------------------------------

/// Opens `/dev/null` from no config, and may be told to fail opening or closing;
/// its constants are factories given as `const`s.
struct Null {
    opens: bool,
    closes: bool,
}

impl Null {
    const FINE: Null = Null {
        opens: true,
        closes: true,
    };
    const STUCK: Null = Null {
        opens: true,
        closes: false,
    };
    const BROKEN: Null = Null {
        opens: false,
        closes: false,
    };
}

impl Factory for Null {
    type Config = ();
    type Resource = File;
    type Error = io::Error;

    fn open(&self, (): &()) -> io::Result<File> {
        if self.opens {
            File::open("/dev/null")
        } else {
            Err(io::Error::other("refused to open"))
        }
    }

    fn close(&self, file: File) -> io::Result<()> {
        drop(file);
        if self.closes {
            Ok(())
        } else {
            Err(io::Error::other("refused to close"))
        }
    }
}

/// Opens a path relative to a root given to its constructor; its `Config` is `str`.
struct WithRoot {
    root: PathBuf,
}

impl WithRoot {
    fn new(root: &str) -> Self {
        Self { root: root.into() }
    }
}

impl Factory for WithRoot {
    type Config = str;
    type Resource = File;
    type Error = io::Error;

    fn open(&self, name: &str) -> io::Result<File> {
        File::open(self.root.join(name))
    }
}

/// A builder factory: `Opener::new().append()`, usable in a `const`.
struct Opener {
    append: bool,
}

impl Opener {
    const fn new() -> Self {
        Self { append: false }
    }

    const fn append(mut self) -> Self {
        self.append = true;
        self
    }
}

const APPEND: Opener = Opener::new().append();

impl Factory for Opener {
    type Config = Path;
    type Resource = File;
    type Error = io::Error;

    fn open(&self, path: &Path) -> io::Result<File> {
        File::options()
            .create(true)
            .write(true)
            .append(self.append)
            .open(path)
    }
}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// The file a descriptor refers to, as `/proc` names it.
fn target(file: &File) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Whether the descriptor was opened with `O_APPEND`, as `/proc` reports its flags.
fn is_append(file: &File) -> io::Result<bool> {
    const O_APPEND: u32 = 0o2000;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", file.as_raw_fd()))?;
    let flags = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        .ok_or_else(|| io::Error::other("no flags in fdinfo"))?;
    Ok(flags & O_APPEND != 0)
}

fn read_all(file: &mut File) -> io::Result<String> {
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// A file holding its own name, in a fresh directory.
fn named_file(label: &str) -> io::Result<(TempDir, PathBuf)> {
    let dir = TempDir::new(label)?;
    let path = dir.path().join(label);
    std::fs::write(&path, label)?;
    Ok((dir, path))
}

fn is_rebuild<T: Rebuild>() {}

// ---------------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------------

#[derive(Rebuild)]
struct Named {
    #[config]
    path: PathBuf,
    #[resource(factory = ReadFile, from = path)]
    file: File,
}

#[test]
fn named_struct() -> TestResult {
    let (_dir, path) = named_file("named")?;
    let original = Named {
        file: ReadFile.open(&path)?,
        path,
    };
    let mut copy = original.rebuild()?;
    assert_ne!(copy.file.as_raw_fd(), original.file.as_raw_fd());
    assert_eq!(target(&copy.file)?, original.path);
    assert_eq!(read_all(&mut copy.file)?, "named");
    copy.close()?;
    original.close()?;
    Ok(())
}

/// Tuple fields are named by index; `from` may name a later field.
#[derive(Rebuild)]
struct Tuple(
    #[resource(factory = ReadFile, from = 2)] File,
    #[resource(factory = Null::FINE)] File,
    #[config] PathBuf,
);

#[test]
fn tuple_struct() -> TestResult {
    let (_dir, path) = named_file("tuple")?;
    let original = Tuple(ReadFile.open(&path)?, Null::FINE.open(&())?, path);
    let mut copy = original.rebuild()?;
    assert_ne!(copy.0.as_raw_fd(), original.0.as_raw_fd());
    assert_ne!(copy.1.as_raw_fd(), original.1.as_raw_fd());
    assert_eq!(copy.2, original.2);
    assert_eq!(read_all(&mut copy.0)?, "tuple");
    assert_eq!(target(&copy.1)?, Path::new("/dev/null"));
    copy.close()?;
    original.close()?;
    Ok(())
}

#[derive(Rebuild)]
struct Fragile(
    #[resource(factory = Null::STUCK)] File,
    #[resource(factory = Null::BROKEN)] File,
);

#[test]
fn tuple_struct_errors_name_fields_by_index() -> TestResult {
    let original = Fragile(Null::FINE.open(&())?, Null::FINE.open(&())?);
    let err = original.rebuild().err().expect("field 1 cannot open");
    assert_eq!(err.field(), "1");
    assert_eq!(err.type_name(), "Fragile");
    let cleanup = err
        .cleanup()
        .expect("field 0 fails to close in the rollback");
    assert_eq!(cleanup.failures()[0].field(), "0");
    assert_eq!(
        err.to_string(),
        "cannot rebuild `Fragile`: resource field `1` failed to open (and closing what was \
         already opened failed: cannot close `Fragile`: field `0`: refused to close)"
    );

    let err = original.close().expect_err("both fields fail to close");
    let failed: Vec<_> = err.failures().iter().map(CloseFailure::field).collect();
    assert_eq!(failed, ["1", "0"]);
    assert_eq!(
        err.to_string(),
        "cannot close `Fragile`: field `1`: refused to close; field `0`: refused to close"
    );
    Ok(())
}

#[derive(Rebuild, Debug, PartialEq)]
struct Unit;

#[derive(Rebuild, Debug, PartialEq)]
struct EmptyBraces {}

#[test]
fn unit_and_empty_structs() -> TestResult {
    assert_eq!(Unit.rebuild()?, Unit);
    Unit.close()?;
    assert_eq!(EmptyBraces {}.rebuild()?, EmptyBraces {});
    EmptyBraces {}.close()?;
    Ok(())
}

/// Config only: a derive without resources may also be `Clone`.
#[derive(Rebuild, Clone, Debug, PartialEq)]
struct Settings {
    #[config]
    name: String,
    #[config]
    levels: Vec<u8>,
}

#[test]
fn config_only_struct() -> TestResult {
    let original = Settings {
        name: "quiet".into(),
        levels: vec![1, 2],
    };
    let copy = original.rebuild()?;
    assert_eq!(copy, original);
    assert_ne!(copy.levels.as_ptr(), original.levels.as_ptr());
    copy.close()?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------

#[derive(Rebuild)]
enum Source {
    Nothing,
    Bytes(#[config] Vec<u8>),
    Disk {
        #[config]
        path: PathBuf,
        #[resource(factory = ReadFile, from = path)]
        file: File,
    },
    Pinned(
        #[config] PathBuf,
        #[resource(factory = ReadFile, from = 0)] File,
    ),
}

#[test]
fn enum_with_mixed_variants() -> TestResult {
    let (_dir, path) = named_file("enum")?;

    assert!(matches!(Source::Nothing.rebuild()?, Source::Nothing));
    let copy = Source::Bytes(vec![7, 8]).rebuild()?;
    assert!(matches!(&copy, Source::Bytes(bytes) if bytes == &[7, 8]));
    copy.close()?;

    let disk = Source::Disk {
        file: ReadFile.open(&path)?,
        path: path.clone(),
    };
    let Source::Disk { file: original, .. } = &disk else {
        unreachable!()
    };
    match disk.rebuild()? {
        Source::Disk {
            path: copied,
            mut file,
        } => {
            assert_eq!(copied, path);
            assert_ne!(file.as_raw_fd(), original.as_raw_fd());
            assert_eq!(read_all(&mut file)?, "enum");
        }
        _ => panic!("`Disk` rebuilt as another variant"),
    }
    disk.close()?;

    let pinned = Source::Pinned(path.clone(), ReadFile.open(&path)?);
    let Source::Pinned(_, original) = &pinned else {
        unreachable!()
    };
    match pinned.rebuild()? {
        Source::Pinned(copied, mut file) => {
            assert_eq!(copied, path);
            assert_ne!(file.as_raw_fd(), original.as_raw_fd());
            assert_eq!(read_all(&mut file)?, "enum");
        }
        _ => panic!("`Pinned` rebuilt as another variant"),
    }
    pinned.close()?;
    Ok(())
}

#[derive(Rebuild)]
enum Never {}

#[test]
fn empty_enum_implements_rebuild() {
    is_rebuild::<Never>();
    let _: fn(&Never) -> Result<Never, RebuildError> = Never::rebuild;
}

// ---------------------------------------------------------------------------------
// Generics
// ---------------------------------------------------------------------------------

#[derive(Rebuild)]
struct Tagged<'a, T, const N: usize>
where
    T: Debug,
{
    #[config]
    label: &'a str,
    #[config]
    tags: [T; N],
    #[resource(factory = ReadFile, from = path)]
    file: File,
    #[config]
    path: &'a Path,
}

#[test]
fn lifetime_type_and_const_generics() -> TestResult {
    let (_dir, path) = named_file("generics")?;
    let label = String::from("borrowed");
    let original = Tagged {
        label: &label,
        tags: [String::from("x"), String::from("y")],
        file: ReadFile.open(&path)?,
        path: &path,
    };
    let mut copy = original.rebuild()?;
    assert_eq!(copy.label, "borrowed");
    assert_eq!(copy.tags, ["x", "y"]);
    assert_ne!(copy.tags[0].as_ptr(), original.tags[0].as_ptr());
    assert_ne!(copy.file.as_raw_fd(), original.file.as_raw_fd());
    assert_eq!(read_all(&mut copy.file)?, "generics");
    copy.close()?;
    original.close()?;
    Ok(())
}

/// Not `Clone`: only the fields' own `Clone` impls may be required.
#[derive(Debug)]
struct Secret(u32);

#[derive(Rebuild)]
struct Holder<T> {
    #[config]
    kind: PhantomData<T>,
    #[config]
    shared: Arc<T>,
    #[resource(factory = Null::FINE)]
    sink: File,
}

#[test]
fn generic_config_needs_only_the_fields_clone() -> TestResult {
    is_rebuild::<Holder<Secret>>();
    let original = Holder {
        kind: PhantomData,
        shared: Arc::new(Secret(7)),
        sink: Null::FINE.open(&())?,
    };
    let copy = original.rebuild()?;
    assert!(Arc::ptr_eq(&copy.shared, &original.shared));
    assert_eq!(copy.shared.0, 7);
    assert_ne!(copy.sink.as_raw_fd(), original.sink.as_raw_fd());
    copy.close()?;
    original.close()?;
    Ok(())
}

/// The factory is a type parameter, built by `F::default()`.
#[derive(Rebuild)]
struct ByFactory<F>
where
    F: Factory<Config = Path, Resource = File> + Default,
{
    #[config]
    path: PathBuf,
    #[config]
    factory: PhantomData<F>,
    #[resource(factory = F::default(), from = path)]
    file: File,
}

#[test]
fn factory_chosen_by_a_type_parameter() -> TestResult {
    let (_dir, path) = named_file("by-factory")?;
    let original: ByFactory<ReadFile> = ByFactory {
        file: ReadFile.open(&path)?,
        path,
        factory: PhantomData,
    };
    let mut copy = original.rebuild()?;
    assert_eq!(read_all(&mut copy.file)?, "by-factory");
    copy.close()?;
    original.close()?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Factory expressions, `from`, sharing, raw identifiers
// ---------------------------------------------------------------------------------

/// `from` coerces `String` to the factory's `str` config.
#[derive(Rebuild)]
struct Rooted {
    #[config]
    name: String,
    #[resource(factory = WithRoot::new("/dev"), from = name)]
    device: File,
}

#[test]
fn factory_built_by_a_call_with_str_config() -> TestResult {
    let original = Rooted {
        device: WithRoot::new("/dev").open("null")?,
        name: "null".into(),
    };
    let copy = original.rebuild()?;
    assert_eq!(target(&copy.device)?, Path::new("/dev/null"));
    assert_ne!(copy.device.as_raw_fd(), original.device.as_raw_fd());
    copy.close()?;
    original.close()?;
    Ok(())
}

#[derive(Rebuild)]
struct Built {
    #[config]
    path: PathBuf,
    #[resource(factory = Opener::new().append(), from = path)]
    by_method: File,
    #[resource(factory = APPEND, from = path)]
    by_const: File,
    #[resource(factory = Opener::new(), from = path)]
    plain: File,
}

/// The factory expression is what opens the copy: the `append()` call and the `const`
/// give append-mode handles, the plain builder does not.
#[test]
fn factory_built_by_a_method_call_or_a_const() -> TestResult {
    let dir = TempDir::new("built")?;
    let path = dir.path().join("built");
    let original = Built {
        by_method: Opener::new().open(&path)?,
        by_const: Opener::new().open(&path)?,
        plain: Opener::new().open(&path)?,
        path,
    };
    assert!(!is_append(&original.by_method)?);
    let copy = original.rebuild()?;
    assert!(is_append(&copy.by_method)?);
    assert!(is_append(&copy.by_const)?);
    assert!(!is_append(&copy.plain)?);
    copy.close()?;
    original.close()?;
    Ok(())
}

thread_local! {
    static BUILT: Cell<usize> = const { Cell::new(0) };
}

/// Builds a factory, counting how often it is called (per thread: tests run in
/// parallel, each on its own thread).
fn counted_read() -> ReadFile {
    BUILT.set(BUILT.get() + 1);
    ReadFile
}

fn counted_null() -> Null {
    BUILT.set(BUILT.get() + 1);
    Null::FINE
}

#[derive(Rebuild)]
struct CountedFrom {
    #[config]
    path: PathBuf,
    #[resource(factory = counted_read(), from = path)]
    file: File,
}

#[derive(Rebuild)]
struct CountedNoFrom {
    #[resource(factory = counted_null())]
    sink: File,
}

/// The factory expression is evaluated each time it is needed: once per rebuild of
/// the field, once per close.
#[test]
fn factory_expression_is_evaluated_once_per_use() -> TestResult {
    let (_dir, path) = named_file("counted")?;
    let original = CountedFrom {
        file: ReadFile.open(&path)?,
        path,
    };
    assert_eq!(BUILT.get(), 0);
    let copy = original.rebuild()?;
    assert_eq!(BUILT.get(), 1);
    copy.close()?;
    original.close()?;
    assert_eq!(BUILT.get(), 3);
    Ok(())
}

/// The same without `from`.
#[test]
fn factory_expression_without_from_is_evaluated_once_per_use() -> TestResult {
    let original = CountedNoFrom {
        sink: Null::FINE.open(&())?,
    };
    assert_eq!(BUILT.get(), 0);
    let copy = original.rebuild()?;
    assert_eq!(BUILT.get(), 1);
    copy.close()?;
    original.close()?;
    assert_eq!(BUILT.get(), 3);
    Ok(())
}

/// A resource without `from` is opened from `&()`.
#[derive(Rebuild)]
struct Sink {
    #[resource(factory = Null::FINE)]
    null: File,
}

#[test]
fn resource_without_from() -> TestResult {
    let original = Sink {
        null: Null::FINE.open(&())?,
    };
    let copy = original.rebuild()?;
    assert_ne!(copy.null.as_raw_fd(), original.null.as_raw_fd());
    assert_eq!(target(&copy.null)?, Path::new("/dev/null"));
    copy.close()?;
    original.close()?;
    Ok(())
}

/// `#[config(shared)]`: a handle shared on purpose, beside one of the copy's own.
#[derive(Rebuild)]
struct Audited {
    #[config(shared)]
    audit: Arc<Mutex<File>>,
    #[config]
    path: PathBuf,
    #[resource(factory = AppendFile, from = path)]
    own: File,
}

#[test]
fn shared_config_is_shared() -> TestResult {
    let dir = TempDir::new("shared")?;
    let path = dir.path().join("own");
    let original = Audited {
        audit: Arc::new(Mutex::new(AppendFile.open(&dir.path().join("audit"))?)),
        own: AppendFile.open(&path)?,
        path,
    };
    let copy = original.rebuild()?;
    assert!(Arc::ptr_eq(&copy.audit, &original.audit));
    assert_eq!(Arc::strong_count(&original.audit), 2);
    assert_ne!(copy.own.as_raw_fd(), original.own.as_raw_fd());
    // Closing the copy drops its share and nothing else.
    copy.close()?;
    assert_eq!(Arc::strong_count(&original.audit), 1);
    original.close()?;
    Ok(())
}

#[derive(Rebuild)]
struct Raw {
    #[config]
    r#match: String,
    #[resource(factory = Null::BROKEN)]
    r#type: File,
}

#[test]
fn raw_identifiers_are_named_without_prefix() -> TestResult {
    let original = Raw {
        r#match: "final".into(),
        r#type: Null::FINE.open(&())?,
    };
    let err = original.rebuild().err().expect("`type` cannot open");
    assert_eq!(err.field(), "type");
    assert_eq!(
        err.to_string(),
        "cannot rebuild `Raw`: resource field `type` failed to open"
    );
    assert_eq!(original.r#match, "final");
    let err = original.close().expect_err("`type` cannot close");
    assert_eq!(err.failures()[0].field(), "type");
    Ok(())
}

/// `from` compares names without `r#`: the field `r#path` is `from = path`, and the
/// other way round.
#[derive(Rebuild)]
struct RawFrom {
    #[config]
    r#path: PathBuf,
    #[resource(factory = ReadFile, from = path)]
    first: File,
    #[config]
    other: PathBuf,
    #[resource(factory = ReadFile, from = r#other)]
    second: File,
}

#[test]
fn raw_identifiers_in_from_name_the_same_field() -> TestResult {
    let (_dir, path) = named_file("raw-from")?;
    let original = RawFrom {
        first: ReadFile.open(&path)?,
        second: ReadFile.open(&path)?,
        r#path: path.clone(),
        other: path.clone(),
    };
    let copy = original.rebuild()?;
    assert_eq!(target(&copy.first)?, path);
    assert_eq!(target(&copy.second)?, path);
    assert_ne!(copy.first.as_raw_fd(), original.first.as_raw_fd());
    copy.close()?;
    original.close()?;
    Ok(())
}

/// `Self` in the field types of a generic type: the inferred bound is the field's
/// type written out (`Vec<Tree<T>>: Clone`), as `#[derive(Clone)]` needs it.
#[derive(Clone, Debug, PartialEq, Rebuild)]
struct Tree<T> {
    #[config]
    value: T,
    #[config]
    children: Vec<Self>,
}

#[derive(Clone, Debug, PartialEq, Rebuild)]
enum List<T> {
    Cons(#[config] T, #[config] Option<Box<Self>>),
    Nil,
}

#[test]
fn self_in_field_types_of_a_generic_type() -> TestResult {
    let leaf = |value| Tree {
        value,
        children: vec![],
    };
    let tree = Tree {
        value: "root".to_owned(),
        children: vec![leaf("a".to_owned()), leaf("b".to_owned())],
    };
    assert_eq!(tree.rebuild()?, tree);
    let list = List::Cons(
        1_u8,
        Some(Box::new(List::Cons(2, Some(Box::new(List::Nil))))),
    );
    assert_eq!(list.rebuild()?, list);
    Ok(())
}

/// A packed struct's fields cannot be borrowed: its config fields are copied out by
/// value (they must be `Copy`, as for `#[derive(Clone)]`); it may be `Copy` itself,
/// having no resources.
#[derive(Clone, Copy, Debug, PartialEq, Rebuild)]
#[repr(C, packed)]
struct Header {
    #[config]
    tag: u8,
    #[config]
    length: u32,
}

#[derive(Debug, Rebuild)]
#[repr(C, packed(2))]
struct Sample<T: Copy> {
    #[config]
    at: u64,
    #[config]
    value: T,
}

#[test]
fn packed_structs_copy_their_fields_by_value() -> TestResult {
    let header = Header {
        tag: 7,
        length: 1_000_000,
    };
    assert_eq!(header.rebuild()?, header);
    let sample = Sample {
        at: u64::MAX,
        value: -3.5_f64,
    };
    let copy = sample.rebuild()?;
    let (at, value) = (copy.at, copy.value);
    assert_eq!((at, value), (u64::MAX, -3.5));
    Ok(())
}

/// A type parameter is never an OS handle, whatever its name.
#[derive(Rebuild)]
struct Named3<File, Child, Mutex> {
    #[config]
    file: File,
    #[config]
    children: Vec<Child>,
    #[config]
    guard: Option<Mutex>,
}

/// The user's own types named like handles, written by a path from the crate root.
mod fs {
    #[derive(Clone, Debug, PartialEq)]
    pub struct File(pub String);
}

#[derive(Rebuild)]
#[expect(
    unused_qualifications,
    reason = "the path from the crate root is how a type named like a handle is written"
)]
struct OwnFile {
    #[config]
    file: crate::fs::File,
    #[config]
    files: Vec<self::fs::File>,
}

#[test]
fn handle_names_that_are_not_handles() -> TestResult {
    let named = Named3 {
        file: 1_u8,
        children: vec!["c".to_owned()],
        guard: Some(2_u16),
    };
    let copy = named.rebuild()?;
    assert_eq!(
        (copy.file, copy.children, copy.guard),
        (1, vec!["c".to_owned()], Some(2))
    );
    let own = OwnFile {
        file: fs::File("a.pgn".into()),
        files: vec![fs::File("b.pgn".into())],
    };
    let copy = own.rebuild()?;
    assert_eq!((copy.file, copy.files), (own.file, own.files));
    Ok(())
}

// ---------------------------------------------------------------------------------
// Nested fields
// ---------------------------------------------------------------------------------

/// A leaf of the nested shapes: a file read from its path (a missing path fails).
#[derive(Rebuild)]
struct Device {
    #[config]
    path: PathBuf,
    #[resource(factory = ReadFile, from = path)]
    file: File,
}

impl Device {
    fn open(path: &Path) -> io::Result<Self> {
        Ok(Device {
            file: ReadFile.open(path)?,
            path: path.to_owned(),
        })
    }
}

/// A generic nested field: `T: Rebuild` is inferred, as `#[config]` infers `Clone`.
#[derive(Rebuild)]
struct Wrapper<T> {
    #[config]
    label: String,
    #[nested]
    inner: T,
}

/// A generic container of a generic element, and a generic config beside it.
#[derive(Rebuild)]
struct Rack<T, C> {
    #[config]
    tag: C,
    #[nested]
    items: Vec<T>,
}

/// Nested values in enum variants of every style.
#[derive(Rebuild)]
enum Backend {
    Off,
    Local(#[nested] Device),
    Remote {
        #[config]
        name: String,
        #[nested]
        pool: Vec<Device>,
    },
}

/// Tuple fields: a nested field is named by its index in paths.
#[derive(Rebuild)]
struct Pair(#[nested] Device, #[nested] Option<Device>);

/// A recursive type through `Vec<Self>`: no bound is inferred for a field that names
/// `Self` (the impl being defined is what makes it hold).
#[derive(Rebuild)]
struct DeviceTree {
    #[nested]
    here: Device,
    #[nested]
    children: Vec<Self>,
}

#[test]
fn generic_nested_fields_infer_rebuild() -> TestResult {
    let (_dir, path) = named_file("nested-generic")?;
    is_rebuild::<Wrapper<Device>>();
    is_rebuild::<Wrapper<Vec<Option<Device>>>>();
    is_rebuild::<Rack<Device, PhantomData<Cell<u8>>>>();

    let wrapper = Wrapper {
        label: "w".to_owned(),
        inner: vec![Some(Device::open(&path)?), None],
    };
    let mut copy = wrapper.rebuild()?;
    assert_eq!(copy.label, "w");
    let device = copy.inner[0].as_mut().ok_or("the device was rebuilt")?;
    assert_ne!(
        device.file.as_raw_fd(),
        wrapper.inner[0]
            .as_ref()
            .ok_or("a device")?
            .file
            .as_raw_fd()
    );
    assert_eq!(read_all(&mut device.file)?, "nested-generic");
    copy.close()?;
    wrapper.close()?;

    let holder = Rack {
        tag: 7_u8,
        items: vec![Device::open(&path)?, Device::open(&path)?],
    };
    let copy = holder.rebuild()?;
    assert_eq!((copy.tag, copy.items.len()), (7, 2));
    copy.close()?;
    Ok(holder.close()?)
}

#[test]
fn nested_fields_in_enum_variants_and_tuple_structs_name_the_path() -> TestResult {
    let (dir, path) = named_file("nested-enum")?;
    let missing = dir.path().join("missing");
    let mut remote = Backend::Remote {
        name: "r".to_owned(),
        pool: vec![Device::open(&path)?, Device::open(&path)?],
    };
    match remote.rebuild()? {
        Backend::Remote { name, pool } => {
            assert_eq!((name.as_str(), pool.len()), ("r", 2));
            pool.close()?;
        }
        Backend::Off | Backend::Local(_) => return Err("rebuild changed the variant".into()),
    }
    if let Backend::Remote { pool, .. } = &mut remote {
        pool[1].path.clone_from(&missing);
    }
    let err = remote.rebuild().err().ok_or("pool[1] is missing")?;
    assert_eq!(err.path().to_string(), "pool[1].file");
    assert_eq!(
        (err.type_name(), err.variant()),
        ("Backend", Some("Remote"))
    );
    assert_eq!(err.field(), "pool");
    remote.close()?;

    let local = Backend::Local(Device::open(&path)?);
    match local.rebuild()? {
        Backend::Local(device) => device.close()?,
        Backend::Off | Backend::Remote { .. } => return Err("rebuild changed the variant".into()),
    }
    local.close()?;
    assert!(matches!(Backend::Off.rebuild()?, Backend::Off));

    let mut pair = Pair(Device::open(&path)?, Some(Device::open(&path)?));
    pair.rebuild()?.close()?;
    if let Some(second) = &mut pair.1 {
        second.path.clone_from(&missing);
    }
    let err = pair.rebuild().err().ok_or("the second is missing")?;
    assert_eq!(err.path().to_string(), "1.file");
    assert_eq!(err.field(), "1");
    pair.close()?;
    Ok(())
}

#[test]
fn a_recursive_nested_type_rebuilds_every_level() -> TestResult {
    let (_dir, path) = named_file("nested-tree")?;
    let leaf = || -> io::Result<DeviceTree> {
        Ok(DeviceTree {
            here: Device::open(&path)?,
            children: vec![],
        })
    };
    let mut tree = DeviceTree {
        here: Device::open(&path)?,
        children: vec![
            leaf()?,
            DeviceTree {
                here: Device::open(&path)?,
                children: vec![leaf()?],
            },
        ],
    };
    let mut copy = tree.rebuild()?;
    assert_eq!(
        read_all(&mut copy.children[1].children[0].here.file)?,
        "nested-tree"
    );
    copy.close()?;
    tree.children[1].children[0].here.path = PathBuf::from("/nonexistent/leaf");
    let err = tree.rebuild().err().ok_or("the deepest leaf is missing")?;
    assert_eq!(err.path().to_string(), "children[1].children[0].here.file");
    Ok(tree.close()?)
}

/// A generic nested field in a type with a blueprint: the blueprint holds
/// `T`'s blueprint (bounded `T: FromBlueprint`, and `Clone` without `T: Clone`).
#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Envelope<T> {
    #[config]
    label: String,
    #[nested]
    inner: T,
}

#[derive(Rebuild)]
#[rebuild(blueprint)]
struct Page {
    #[config]
    path: PathBuf,
    #[resource(factory = ReadFile, from = path)]
    file: File,
}

#[test]
fn a_generic_nested_field_in_a_type_with_a_blueprint() -> TestResult {
    use guardian_core::FromBlueprint;
    let (_dir, path) = named_file("generic-nested")?;
    let wrapper = Envelope {
        label: "outer".into(),
        inner: Page::from_blueprint(PageBlueprint { path: path.clone() })?,
    };
    let blueprint = wrapper.blueprint();
    let copied = blueprint.clone(); // `Leaf` is not `Clone`; its blueprint is
    let built = Envelope::<Page>::from_blueprint(copied)?;
    assert_eq!(built.label, "outer");
    assert_eq!(target(&built.inner.file)?, path);
    assert_ne!(built.inner.file.as_raw_fd(), wrapper.inner.file.as_raw_fd());
    drop(blueprint);
    built.close()?;
    wrapper.close()?;
    Ok(())
}
