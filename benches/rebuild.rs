//! Wall-clock cost of `rebuild()`: the derived method against the same work written
//! by hand, on a config-only struct, a struct with one `AppendFile`, a struct with
//! three resources, and a composed struct (`#[nested]` values in a `Vec` and an
//! `Option`, seven descriptors over three levels). Each iteration is one rebuild plus the drop of the copy (which
//! frees its heap data and, for the file structs, `close(2)`s its descriptors).
//!
//! `one_file/derived_then_close` adds `close()` to each iteration (`AppendFile::close`
//! syncs the data: `fdatasync`, then `close`), to show what closing costs.
//!
//! `cargo bench -p guardian-benches --bench rebuild`; `-- --test` runs every case once
//! without timing.

mod common;

use std::hint::black_box;

use common::{Composed, Config8, OneFile, Scratch, ThreeResources};
use criterion::{Criterion, criterion_group, criterion_main};
use guardian_core::Rebuild;

fn config8(c: &mut Criterion) {
    let value = Config8::sample();
    let mut group = c.benchmark_group("config8");
    group.bench_function("derived", |b| {
        b.iter(|| black_box(black_box(&value).rebuild().unwrap()));
    });
    group.bench_function("hand", |b| {
        b.iter(|| black_box(common::hand_config8(black_box(&value)).unwrap()));
    });
    group.finish();
}

fn one_file(c: &mut Criterion) {
    let scratch = Scratch::new("criterion-one");
    let value = OneFile::open(scratch.path()).unwrap();
    let mut group = c.benchmark_group("one_file");
    group.bench_function("derived", |b| {
        b.iter(|| black_box(black_box(&value).rebuild().unwrap()));
    });
    group.bench_function("hand", |b| {
        b.iter(|| black_box(common::hand_one_file(black_box(&value)).unwrap()));
    });
    // What `close()` adds: `AppendFile::close` syncs (fdatasync), then the drop closes.
    group.bench_function("derived_then_close", |b| {
        b.iter(|| black_box(&value).rebuild().unwrap().close().unwrap());
    });
    group.finish();
    value.close().unwrap();
}

fn three_resources(c: &mut Criterion) {
    let scratch = Scratch::new("criterion-three");
    let value = ThreeResources::open(scratch.path()).unwrap();
    let mut group = c.benchmark_group("three_resources");
    group.bench_function("derived", |b| {
        b.iter(|| black_box(black_box(&value).rebuild().unwrap()));
    });
    group.bench_function("hand", |b| {
        b.iter(|| black_box(common::hand_three_resources(black_box(&value)).unwrap()));
    });
    group.finish();
    value.close().unwrap();
}

fn composed(c: &mut Criterion) {
    let scratch = Scratch::new("criterion-composed");
    let value = Composed::open(scratch.path()).unwrap();
    let mut group = c.benchmark_group("composed");
    group.bench_function("derived", |b| {
        b.iter(|| black_box(black_box(&value).rebuild().unwrap()));
    });
    group.bench_function("hand", |b| {
        b.iter(|| black_box(common::hand_composed(black_box(&value)).unwrap()));
    });
    group.finish();
    value.close().unwrap();
}

criterion_group!(benches, config8, one_file, three_resources, composed);
criterion_main!(benches);
