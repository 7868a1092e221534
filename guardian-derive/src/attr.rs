//! Reads the attributes into plain data: a field's `#[config]` or `#[resource(...)]`,
//! and the type's `#[rebuild(...)]`, visible derives, `#[repr(packed)]` and lint
//! attributes. Every mistake (unknown key, duplicate key, missing factory, malformed
//! value) is reported and the reading goes on, as serde's `internals/attr.rs` does.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Member, Path, Token};

use crate::ctxt::Ctxt;

/// What a field's attribute says it is.
pub enum Role {
    Config(ConfigAttr),
    /// Boxed: an expression is large, and most fields are `#[config]`.
    Resource(Box<ResourceAttr>),
    /// `#[nested]`: a value of a type that is itself `Rebuild`.
    Nested,
}

/// `#[config]` or `#[config(shared)]`.
pub struct ConfigAttr {
    pub shared: bool,
}

/// `#[resource(factory = EXPR, from = FIELD)]`.
pub struct ResourceAttr {
    /// `None` only when the attribute was malformed; an error was reported then.
    pub factory: Option<Expr>,
    pub from: Option<Member>,
}

/// The attributes of one field.
pub struct FieldAttrs {
    pub role: Option<Role>,
    /// Where its `#[serde(...)]` attributes are, as indexes into the field's attributes
    /// (`valid` decides whether they are allowed).
    pub serde: Vec<usize>,
}

/// What the attributes of the type (or of a variant) say.
#[derive(Default)]
pub struct TypeAttrs {
    /// The first `Clone` or `Copy` the user derives beside `Rebuild`, in the
    /// `#[derive(...)]` attributes the macro can see (those after `#[derive(Rebuild)]`;
    /// the compiler hides the others, so the generated code also checks this).
    pub derives_clone: Option<Path>,
    /// `#[rebuild(blueprint ...)]` or `#[rebuild(serde)]`.
    pub blueprint: Option<BlueprintAttr>,
    /// `#[repr(packed)]` or `#[repr(packed(N))]`, where `packed` is written.
    pub packed: Option<Span>,
    /// `allow(...)` for each `#[allow(...)]` or `#[expect(...)]`: the generated items
    /// carry them, so a lint the user silenced on the type stays silent in them.
    pub lint_allows: Vec<TokenStream>,
    /// `#[deprecated]`: the generated items allow `deprecated`, as serde's do.
    pub deprecated: bool,
    /// `#[rebuild(async)]`, where `async` is written: derive `AsyncRebuild`.
    pub asynchronous: Option<Span>,
    /// `#[rebuild(async, sequential)]`: open one field after another.
    pub sequential: Option<Span>,
    /// Where its `#[serde(...)]` attributes are, as indexes into its attributes.
    pub serde: Vec<usize>,
}

/// What `#[rebuild(...)]` asks for.
pub struct BlueprintAttr {
    /// `blueprint(name = ...)`; the default is `{Type}Blueprint`.
    pub name: Option<Ident>,
    /// `blueprint(derive(...))`: extra derives for the blueprint type.
    pub derives: Vec<Path>,
    /// `serde`, where it was written.
    pub serde: Option<Span>,
}

const RESOURCE_FORM: &str = "#[resource(factory = MyFactory, from = config_field)]";

/// The name of an attribute whose path is one identifier (`config`, `serde`), read once:
/// comparing an identifier with a string goes through the compiler, once per
/// comparison, which was a measurable part of the derive's cost.
pub fn name(attr: &Attribute) -> Option<String> {
    attr.path().get_ident().map(ToString::to_string)
}

/// Reads a field's `#[config]` / `#[resource]` attributes, and notes its `#[serde]`s.
pub fn field(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut role: Option<Role> = None;
    let mut serde = Vec::new();
    for (index, attr) in attrs.iter().enumerate() {
        let this = match name(attr).as_deref() {
            Some("config") => Role::Config(config(cx, attr)),
            Some("resource") => Role::Resource(Box::new(resource(cx, attr))),
            Some("nested") => {
                nested(cx, attr);
                Role::Nested
            }
            Some("serde") => {
                serde.push(index);
                continue;
            }
            _ => continue,
        };
        if role.is_some() {
            cx.error_spanned_by(
                attr,
                "a field has exactly one role: remove this attribute and keep one of \
                 `#[config]` (copied on rebuild), `#[resource(...)]` (reopened on rebuild) or \
                 `#[nested]` (a `Rebuild` value, rebuilt on rebuild)",
            );
        } else {
            role = Some(this);
        }
    }
    FieldAttrs { role, serde }
}

/// `#[nested]` takes nothing.
fn nested(cx: &Ctxt, attr: &Attribute) {
    if !matches!(attr.meta, syn::Meta::Path(_)) {
        cx.error_spanned_by(
            attr,
            "`#[nested]` takes no arguments: write `#[nested]` on a field whose type is \
             itself `Rebuild` (it is rebuilt and closed with the value)",
        );
    }
}

fn config(cx: &Ctxt, attr: &Attribute) -> ConfigAttr {
    let mut shared: Option<Span> = None;
    match &attr.meta {
        syn::Meta::Path(_) => {}
        syn::Meta::List(_) => {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("shared") {
                    if shared.is_some() {
                        cx.error_spanned_by(&meta.path, "duplicate `shared` in `#[config(...)]`: give it once");
                    }
                    shared = Some(meta.path.span());
                    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                        cx.push(meta.error("`shared` takes no value: write `#[config(shared)]`"));
                        skip_value(meta.input)?;
                    }
                } else {
                    cx.push(meta.error(format!(
                        "unknown key `{}` in `#[config(...)]`: the only key is `shared`, as in `#[config(shared)]`",
                        path_name(&meta.path)
                    )));
                    skip_value(meta.input)?;
                }
                Ok(())
            });
            if let Err(err) = parsed {
                cx.push(err);
            }
        }
        syn::Meta::NameValue(nv) => {
            cx.error_spanned_by(
                nv,
                "`#[config]` takes no value: write `#[config]`, or `#[config(shared)]` for a handle shared on purpose",
            );
        }
    }
    ConfigAttr {
        shared: shared.is_some(),
    }
}

fn resource(cx: &Ctxt, attr: &Attribute) -> ResourceAttr {
    let mut out = ResourceAttr {
        factory: None,
        from: None,
    };
    match &attr.meta {
        syn::Meta::Path(path) => {
            cx.error_spanned_by(
                path,
                format!("`#[resource]` needs a factory: write `{RESOURCE_FORM}`"),
            );
            return out;
        }
        syn::Meta::NameValue(nv) => {
            cx.error_spanned_by(
                nv,
                format!("malformed `#[resource]`: write `{RESOURCE_FORM}`"),
            );
            return out;
        }
        syn::Meta::List(_) => {}
    }
    let mut factory_seen = false;
    let mut from_seen = false;
    let parsed = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("factory") {
            if factory_seen {
                cx.push(meta.error("duplicate `factory` in `#[resource(...)]`: give it once"));
                return skip_value(meta.input);
            }
            factory_seen = true;
            let Some(input) = value(cx, &meta, "factory = MyFactory")? else { return Ok(()) };
            match input.parse::<Expr>() {
                Ok(expr) if input.is_empty() || input.peek(Token![,]) => out.factory = Some(expr),
                Ok(_) => {
                    cx.push(input.error(
                        "expected `,` after the factory expression; if the factory needs more \
                         than a path, a call or a method call, build it in a `fn` or a `const` \
                         and name that",
                    ));
                    skip_value(input)?;
                }
                Err(err) => {
                    cx.push(syn::Error::new(
                        err.span(),
                        "expected an expression giving a `Factory` value, such as `AppendFile` \
                         or `WithRoot::new(\"/var/log\")`; for anything more complex, build it \
                         in a `fn` or a `const` and name that",
                    ));
                    skip_value(input)?;
                }
            }
        } else if meta.path.is_ident("from") {
            if from_seen {
                cx.push(meta.error("duplicate `from` in `#[resource(...)]`: give it once"));
                return skip_value(meta.input);
            }
            from_seen = true;
            let Some(input) = value(cx, &meta, "from = config_field")? else { return Ok(()) };
            match input.parse::<Member>() {
                Ok(member) if input.is_empty() || input.peek(Token![,]) => out.from = Some(member),
                Ok(_) | Err(_) => {
                    cx.push(input.error(
                        "`from` names a `#[config]` field of the same struct or variant: \
                         write `from = field_name`, or `from = 0` for a tuple field",
                    ));
                    skip_value(input)?;
                }
            }
        } else {
            cx.push(meta.error(format!(
                "unknown key `{}` in `#[resource(...)]`: the keys are `factory` and `from`, as in `{RESOURCE_FORM}`",
                path_name(&meta.path)
            )));
            skip_value(meta.input)?;
        }
        Ok(())
    });
    if let Err(err) = parsed {
        cx.push(err);
    }
    if !factory_seen {
        cx.error_spanned_by(
            attr,
            format!("`#[resource(...)]` needs `factory = ...`: write `{RESOURCE_FORM}`"),
        );
    }
    out
}

/// The stream after `key =`, or `None` (with an error recorded) when the `=` is missing.
fn value<'b>(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'b>,
    example: &str,
) -> syn::Result<Option<ParseStream<'b>>> {
    if meta.input.peek(Token![=]) {
        return meta.value().map(Some);
    }
    cx.push(meta.error(format!(
        "`{}` needs a value: write `{example}`",
        path_name(&meta.path)
    )));
    skip_value(meta.input)?;
    Ok(None)
}

/// Skips whatever follows a key (`= value`, `(list)`, or nothing) up to the next `,`.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

fn path_name(path: &Path) -> String {
    let mut name = String::new();
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            name.push_str("::");
        }
        name.push_str(&segment.ident.to_string());
    }
    name
}

/// Where a container attribute was written, for messages and for what it may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Struct,
    Enum,
    Union,
    Variant,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Struct => "the struct",
            Place::Enum => "the enum",
            Place::Union => "the union",
            Place::Variant => "a variant",
        }
    }
}

/// Reads the attributes of the type or of a variant (`place`): `#[rebuild(...)]`, the
/// visible `#[derive(...)]`s, `#[repr(packed)]`, the lint attributes the generated
/// items must carry, and reports `#[config]` or `#[resource]` placed there instead of
/// on a field.
pub fn container(cx: &Ctxt, attrs: &[Attribute], place: Place) -> TypeAttrs {
    let mut out = TypeAttrs::default();
    for (index, attr) in attrs.iter().enumerate() {
        let Some(name) = name(attr) else { continue };
        let name = name.as_str();
        if name == "config" || name == "resource" || name == "nested" {
            cx.error_spanned_by(
                attr,
                format!(
                    "`#[{name}]` goes on a field, not on {}: mark each field with `#[config]`, `{RESOURCE_FORM}` or `#[nested]`",
                    place.describe(),
                ),
            );
        } else if name == "rebuild" {
            if place == Place::Variant {
                cx.error_spanned_by(
                    attr,
                    "`#[rebuild(...)]` goes on the type, not on a variant: write it above the `enum`",
                );
            } else {
                rebuild(cx, attr, &mut out);
            }
        } else if name == "derive" {
            let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
            else {
                continue;
            };
            for path in paths {
                let last = path.segments.last().map(|s| s.ident.to_string());
                if matches!(last.as_deref(), Some("Clone" | "Copy")) && out.derives_clone.is_none()
                {
                    out.derives_clone = Some(path);
                }
            }
        } else if name == "repr" {
            // A malformed `repr` is the compiler's to report.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("packed") {
                    out.packed = Some(meta.path.span());
                }
                skip_value(meta.input)
            });
        } else if name == "allow" {
            out.lint_allows.push(attr.meta.to_token_stream());
        } else if name == "expect" {
            // An expectation on the type need not be fulfilled by every generated item:
            // carry it as an `allow`, which silences without expecting.
            if let syn::Meta::List(list) = &attr.meta {
                let tokens = &list.tokens;
                out.lint_allows.push(quote::quote!(allow(#tokens)));
            }
        } else if name == "deprecated" {
            out.deprecated = true;
        } else if name == "serde" {
            out.serde.push(index);
        }
    }
    out
}

const REBUILD_FORM: &str = "`#[rebuild(blueprint)]`, `#[rebuild(blueprint(name = MyBlueprint, derive(Debug)))]`, `#[rebuild(serde)]`, `#[rebuild(async)]` or `#[rebuild(async, sequential)]`";

/// A flag key of `#[rebuild(...)]` (`async`, `sequential`, `serde`): recorded once,
/// where it was written; a second one or a value is an error.
fn flag(cx: &Ctxt, meta: &ParseNestedMeta, slot: &mut Option<Span>, key: &str) -> syn::Result<()> {
    if slot.is_some() {
        cx.push(meta.error(format!(
            "duplicate `{key}` in `#[rebuild(...)]`: give it once"
        )));
    }
    *slot = Some(meta.path.span());
    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        cx.push(meta.error(format!("`{key}` takes no value: write `#[rebuild({key})]`")));
        skip_value(meta.input)?;
    }
    Ok(())
}

/// `#[rebuild(blueprint)]`, `#[rebuild(blueprint(name = X, derive(Debug)))]`,
/// `#[rebuild(serde)]` (which implies a blueprint), `#[rebuild(async)]`,
/// `#[rebuild(async, sequential)]`, in any combination.
fn rebuild(cx: &Ctxt, attr: &Attribute, out: &mut TypeAttrs) {
    if !matches!(attr.meta, syn::Meta::List(_)) {
        cx.error_spanned_by(
            attr,
            format!("`#[rebuild]` needs a list: write {REBUILD_FORM}"),
        );
        return;
    }
    let parsed = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("async") {
            return flag(cx, &meta, &mut out.asynchronous, "async");
        }
        if meta.path.is_ident("sequential") {
            return flag(cx, &meta, &mut out.sequential, "sequential");
        }
        let is_blueprint = meta.path.is_ident("blueprint");
        if !is_blueprint && !meta.path.is_ident("serde") {
            cx.push(meta.error(format!(
                "unknown key `{}` in `#[rebuild(...)]`: write {REBUILD_FORM}",
                path_name(&meta.path)
            )));
            return skip_value(meta.input);
        }
        let blueprint = out.blueprint.get_or_insert_with(|| BlueprintAttr {
            name: None,
            derives: Vec::new(),
            serde: None,
        });
        if is_blueprint {
            if meta.input.peek(Token![=]) {
                cx.push(meta.error(
                    "write the blueprint's name as `#[rebuild(blueprint(name = MyBlueprint))]`",
                ));
                skip_value(meta.input)?;
            } else if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        let Some(input) = value(cx, &inner, "name = MyBlueprint")? else {
                            return Ok(());
                        };
                        match input.parse::<Ident>() {
                            Ok(ident) if blueprint.name.is_some() => {
                                cx.error_spanned_by(ident, "duplicate `name` in `blueprint(...)`: give it once");
                            }
                            Ok(ident) => blueprint.name = Some(ident),
                            Err(_) => {
                                cx.push(input.error("`name` is the blueprint type's name: write `name = MyBlueprint`"));
                                skip_value(input)?;
                            }
                        }
                    } else if inner.path.is_ident("derive") {
                        if inner.input.peek(syn::token::Paren) {
                            let content;
                            syn::parenthesized!(content in inner.input);
                            match Punctuated::<Path, Token![,]>::parse_terminated(&content) {
                                Ok(paths) => blueprint.derives.extend(paths),
                                Err(err) => cx.push(err),
                            }
                        } else {
                            cx.push(inner.error("write the blueprint's derives as `derive(Debug, PartialEq)`"));
                            skip_value(inner.input)?;
                        }
                    } else {
                        cx.push(inner.error(format!(
                            "unknown key `{}` in `blueprint(...)`: the keys are `name` and `derive`",
                            path_name(&inner.path)
                        )));
                        skip_value(inner.input)?;
                    }
                    Ok(())
                })?;
            }
        } else {
            flag(cx, &meta, &mut blueprint.serde, "serde")?;
        }
        Ok(())
    });
    if let Err(err) = parsed {
        cx.push(err);
    }
}
