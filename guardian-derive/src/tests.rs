//! The expansion as a plain function over `proc_macro2` tokens, driven with thousands
//! of generated inputs, valid and mangled: the macro must never panic, and every input
//! the compiler could hand it gives either code that parses as items or errors that
//! point into the input.
//!
//! `GUARDIAN_FUZZ_CASES` (default 4000) and `GUARDIAN_FUZZ_SEED` run it longer or
//! elsewhere; a failure prints the seed and the input.

// The input generator favours readable `push_str(&format!(..))` over `write!`.
#![allow(clippy::format_push_string)]

use std::panic;

use proc_macro2::{TokenStream, TokenTree};

use crate::derive;

/// xorshift64*: deterministic, dependency-free, good enough to pick grammar rules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &[
    "path", "log", "moves", "db", "r#type", "__field0", "__open1", "self_", "x",
];
const TYPES: &[&str] = &[
    "PathBuf",
    "String",
    "u8",
    "Vec<String>",
    "File",
    "std::fs::File",
    "Option<TcpStream>",
    "Arc<Mutex<File>>",
    "Box<dyn Fn()>",
    "T",
    "Vec<T>",
    "[T; N]",
    "&'a str",
    "(u8, File)",
    "chess::File",
    "<T as Trait>::Assoc",
    "PhantomData<T>",
    "fn(u8) -> u8",
    "impl Trait",
];
const FACTORIES: &[&str] = &[
    "AppendFile",
    "WithRoot::new(\"/var/log\")",
    "factories::READ",
    "Factory::<u8>::default()",
    "make()",
    "self.factory",
    "42",
    "",
    "|| 1",
    "{ AppendFile }",
    "a, b",
    "\"append\"",
];
const ATTRS: &[&str] = &[
    "#[config]",
    "#[config(shared)]",
    "#[config(shared, shared)]",
    "#[config(deep)]",
    "#[config = 1]",
    "#[config(shared = yes)]",
    "#[resource]",
    "#[resource = AppendFile]",
    "#[resource()]",
    "#[resource(from = path)]",
    "#[resource(factory)]",
    "#[resource(factory = F, factory = F)]",
    "#[resource(factory = F, from = path, from = log)]",
    "#[resource(factory = F, from = \"path\")]",
    "#[resource(factory = F, from = 0)]",
    "#[resource(factory = F, from = 7)]",
    "#[resource(factory = F, from = path, retries = 3)]",
    "#[resource(factory = F, from = path, extra(1, 2))]",
    "#[doc = \"docs\"]",
    "#[allow(dead_code)]",
    "#[resource(factory = F, from = a::b)]",
    "#[resource(factory = F,)]",
    "#[resource(,)]",
];

fn resource_attr(rng: &mut Rng) -> String {
    let factory = rng.pick(FACTORIES);
    if rng.chance(30) {
        format!("#[resource(factory = {factory})]")
    } else {
        format!(
            "#[resource(factory = {factory}, from = {})]",
            rng.pick(&["path", "0", "1", "log", "missing"])
        )
    }
}

fn field(rng: &mut Rng, named: bool, index: usize) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(3) {
        if rng.chance(40) {
            out.push_str(&resource_attr(rng));
        } else {
            out.push_str(rng.pick(ATTRS));
        }
        out.push(' ');
    }
    if rng.chance(20) {
        out.push_str("pub ");
    }
    if named {
        let name = rng.pick(NAMES);
        out.push_str(&format!("{name}{index}: "));
        if rng.chance(10) {
            // An exact name, so `from = path` sometimes resolves.
            out = out.replace(&format!("{name}{index}"), rng.pick(&["path", "log"]));
        }
    }
    out.push_str(rng.pick(TYPES));
    out
}

fn fields(rng: &mut Rng) -> String {
    let count = rng.below(5);
    match rng.below(3) {
        0 => {
            let body: Vec<String> = (0..count).map(|i| field(rng, true, i)).collect();
            format!("{{ {} }}", body.join(", "))
        }
        1 => {
            let body: Vec<String> = (0..count).map(|i| field(rng, false, i)).collect();
            format!("({})", body.join(", "))
        }
        _ => String::new(),
    }
}

fn generics(rng: &mut Rng) -> (String, String) {
    let params = match rng.below(4) {
        0 => "",
        1 => "<T>",
        2 => "<'a, T: Clone + 'a, const N: usize>",
        _ => "<T = u8>",
    };
    let clause = if rng.chance(30) {
        "where T: Default"
    } else {
        ""
    };
    (params.to_owned(), clause.to_owned())
}

fn input(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(2) {
        out.push_str(rng.pick(&[
            "#[derive(Clone)]",
            "#[derive(Copy, Debug)]",
            "#[config]",
            "#[repr(C)]",
            "/// doc\n",
        ]));
    }
    let (params, clause) = generics(rng);
    match rng.below(6) {
        0..=2 => {
            let body = fields(rng);
            let semi = if body.starts_with('{') { "" } else { ";" };
            if body.starts_with('(') {
                out.push_str(&format!("struct S{params} {body} {clause}{semi}"));
            } else {
                out.push_str(&format!("struct S{params} {clause} {body}{semi}"));
            }
        }
        3 | 4 => {
            let variants: Vec<String> = (0..rng.below(4))
                .map(|i| {
                    let attr = if rng.chance(10) { rng.pick(ATTRS) } else { "" };
                    let body = fields(rng);
                    let discriminant = if body.is_empty() && rng.chance(20) {
                        " = 3"
                    } else {
                        ""
                    };
                    format!("{attr} V{i} {body}{discriminant}")
                })
                .collect();
            out.push_str(&format!(
                "enum E{params} {clause} {{ {} }}",
                variants.join(", ")
            ));
        }
        _ => out.push_str(&format!("union U{params} {clause} {{ a: u32, b: f32 }}")),
    }
    out
}

/// Deletes, duplicates, swaps or inserts tokens at the top level and inside groups.
fn mangle(rng: &mut Rng, tokens: TokenStream) -> TokenStream {
    let mut list: Vec<TokenTree> = tokens.into_iter().collect();
    for _ in 0..=rng.below(3) {
        if list.is_empty() {
            break;
        }
        let at = rng.below(list.len());
        match rng.below(5) {
            0 => {
                list.remove(at);
            }
            1 => {
                let copy = list[at].clone();
                list.insert(at, copy);
            }
            2 => {
                let other = rng.below(list.len());
                list.swap(at, other);
            }
            3 => {
                let junk: TokenStream = rng
                    .pick(&[
                        "#", "=", ",", "::", "0", "\"s\"", "config", "resource", "()", "[]", "{}",
                        "'a", "<", ">",
                    ])
                    .parse()
                    .unwrap_or_default();
                for (i, token) in junk.into_iter().enumerate() {
                    list.insert(at + i, token);
                }
            }
            _ => {
                if let TokenTree::Group(group) = &list[at] {
                    let inner = mangle(rng, group.stream());
                    let mut new = proc_macro2::Group::new(group.delimiter(), inner);
                    new.set_span(group.span());
                    list[at] = TokenTree::Group(new);
                }
            }
        }
    }
    list.into_iter().collect()
}

/// The spans of every `compile_error!` in `output`.
fn error_spans(output: &TokenStream, found: &mut Vec<proc_macro2::Span>) {
    let tokens: Vec<TokenTree> = output.clone().into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                if matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    found.push(ident.span());
                }
            }
            TokenTree::Group(group) => error_spans(&group.stream(), found),
            _ => {}
        }
    }
}

#[test]
fn never_panics_and_always_answers() {
    let cases: usize = std::env::var("GUARDIAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let seed: u64 = std::env::var("GUARDIAN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6775_6172_6469_616e);
    let mut rng = Rng(seed | 1);
    let (mut derive_inputs, mut with_code, mut with_errors) = (0, 0, 0);
    for case in 0..cases {
        let source = input(&mut rng);
        let Ok(tokens) = source.parse::<TokenStream>() else {
            continue;
        };
        let tokens = if rng.chance(50) {
            mangle(&mut rng, tokens)
        } else {
            tokens
        };
        let shown = tokens.to_string();
        let output = panic::catch_unwind(|| derive(tokens.clone())).unwrap_or_else(|_| {
            panic!("case {case} (seed {seed}): the macro panicked on:\n{shown}")
        });
        // The compiler only hands a derive what parses as a struct, enum or union;
        // for those the answer must be items, and every error must point into the input.
        if syn::parse2::<syn::DeriveInput>(tokens).is_err() {
            continue;
        }
        derive_inputs += 1;
        let parsed = syn::parse2::<syn::File>(output.clone());
        assert!(
            parsed.is_ok(),
            "case {case} (seed {seed}): output is not items: {:?}\ninput: {shown}\noutput: {output}",
            parsed.err()
        );
        let mut spans = Vec::new();
        error_spans(&output, &mut spans);
        if spans.is_empty() {
            with_code += 1;
            assert!(
                output.to_string().contains("Rebuild for"),
                "case {case}: no impl for:\n{shown}"
            );
        } else {
            with_errors += 1;
            for span in spans {
                assert!(
                    span.byte_range().end > 0,
                    "case {case} (seed {seed}): an error without a span for:\n{shown}\noutput: {output}"
                );
            }
        }
    }
    // The generator must exercise both outcomes, or this test proves nothing.
    assert!(
        derive_inputs > cases / 2,
        "only {derive_inputs} of {cases} inputs were derive inputs"
    );
    assert!(
        with_code > cases / 20,
        "only {with_code} inputs expanded to code"
    );
    assert!(
        with_errors > cases / 20,
        "only {with_errors} inputs gave errors"
    );
}

#[test]
fn a_valid_input_expands_without_errors() {
    let input: TokenStream = "struct MatchLogger {
        #[config] path: PathBuf,
        #[config] moves: Vec<String>,
        #[resource(factory = AppendFile, from = path)] log: File,
    }"
    .parse()
    .expect("valid tokens");
    let output = derive(input).to_string();
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains(":: guardian_core :: Rebuild for MatchLogger"),
        "{output}"
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    let input: TokenStream = "struct S {
        no_role: u8,
        #[config] handle: File,
        #[resource(from = missing)] no_factory: File,
        #[resource(factory = F, bogus = 1)] unknown_key: File,
    }"
    .parse()
    .expect("valid tokens");
    let mut spans = Vec::new();
    error_spans(&derive(input), &mut spans);
    // no role; live handle; missing factory; `from` names nothing; unknown key.
    assert_eq!(spans.len(), 5);
}

#[test]
fn serde_without_the_feature_is_one_clear_error() {
    let input: TokenStream = "#[rebuild(serde)] struct S { #[config] path: PathBuf }"
        .parse()
        .expect("valid tokens");
    let output = derive(input).to_string();
    if cfg!(feature = "serde") {
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("Deserialize"), "{output}");
    } else {
        let mut spans = Vec::new();
        error_spans(&derive(output.parse().unwrap_or_default()), &mut spans);
        assert!(
            output.contains("needs guardian-core's `serde` feature"),
            "{output}"
        );
        assert_eq!(output.matches("compile_error").count(), 1, "{output}");
    }
}
