//! Rules that span several attributes or fields. Every rule records its errors in the
//! `Ctxt` and goes on, so all mistakes are reported together.

use syn::Member;

use crate::ast::{Data, Field, Input, Variant, member_name, same_member};
use crate::attr::Role;
use crate::ctxt::Ctxt;
use crate::generics::{self, Params};
use crate::handles;

pub fn check(cx: &Ctxt, input: &Input) {
    if let Data::Union(union) = &input.data {
        cx.error_spanned_by(
            union.union_token,
            "`Rebuild` cannot be derived for a union: the macro cannot tell which field is \
             live, so it can neither copy nor reopen it; use a struct or an enum",
        );
        return;
    }
    check_derives(cx, input);
    check_blueprint(cx, input);
    if let (None, Some(sequential)) = (&input.attrs.asynchronous, &input.attrs.sequential) {
        cx.push(syn::Error::new(
            *sequential,
            "`sequential` orders the opens of an async rebuild: write \
             `#[rebuild(async, sequential)]` (a blocking rebuild always opens one field \
             after another)",
        ));
    }
    let params = Params::types(input.generics);
    for variant in input.variants() {
        for field in &variant.fields {
            check_role(cx, field);
            check_resource_from(cx, variant, field);
            check_config_handle(cx, field, &params);
            check_packed(cx, input, field);
        }
    }
}

/// `Clone` or `Copy` derived in an attribute the macro can see, on a type with
/// resources. (The generated code refuses them wherever they come from; this gives the
/// message earlier and once.) A type without resources may be `Clone` and `Copy`: its
/// `rebuild()` is a clone, and there is nothing to double-book or to close.
fn check_derives(cx: &Ctxt, input: &Input) {
    if !input.has_resources() {
        return;
    }
    if let Some(path) = &input.attrs.derives_clone {
        cx.error_spanned_by(
            path,
            format!(
                "`{}` has `#[resource]` fields, so it must not be `Clone` or `Copy`: a clone \
                 would share or duplicate its live handles. Remove this derive and copy the \
                 value with `rebuild()`, which opens a resource of its own for the copy",
                input.name()
            ),
        );
    }
}

/// A packed struct's fields cannot be borrowed, and `rebuild()` lends each live
/// resource to `Factory::reopen`.
fn check_packed(cx: &Ctxt, input: &Input, field: &Field) {
    if input.attrs.packed.is_none() || !field.is_live() {
        return;
    }
    let attr = field
        .original
        .attrs
        .iter()
        .find(|attr| attr.path().is_ident("resource") || attr.path().is_ident("nested"));
    let message = "a `#[repr(packed)]` struct cannot hold `#[resource]` or `#[nested]` \
                   fields: `rebuild()` lends each live value by reference (to \
                   `Factory::reopen`, to `Rebuild::rebuild`), and a field of a packed struct \
                   cannot be borrowed. Remove `#[repr(packed)]`, or keep the packed data in a \
                   `#[config]` field of its own packed type";
    match attr {
        Some(attr) => cx.error_spanned_by(attr, message),
        None => cx.push(syn::Error::new(field.span(), message)),
    }
}

fn check_role(cx: &Ctxt, field: &Field) {
    if field.attrs.role.is_none() {
        cx.push(syn::Error::new(
            field.span(),
            format!(
                "field `{}` has no role: mark it `#[config]` (copied on rebuild), \
                 `#[resource(factory = ..., from = ...)]` (reopened on rebuild) or \
                 `#[nested]` (a `Rebuild` value, rebuilt on rebuild)",
                field.name()
            ),
        ));
    }
}

fn check_resource_from(cx: &Ctxt, variant: &Variant, field: &Field) {
    let Some(Role::Resource(resource)) = &field.attrs.role else {
        return;
    };
    let Some(from) = &resource.from else { return };
    let place = match variant.ident {
        Some(ident) => format!("variant `{ident}`"),
        None => "this struct".to_owned(),
    };
    match variant.field(from) {
        None => cx.error_spanned_by(
            from,
            format!(
                "`from = {}` names no field of {place}: {}",
                member_name(from),
                config_fields(variant)
            ),
        ),
        Some(target) if same_member(&target.member, &field.member) => cx.error_spanned_by(
            from,
            format!(
                "`from = {}` names this resource field itself: name the `#[config]` field that \
                 holds its recipe (a path, an address)",
                member_name(from)
            ),
        ),
        Some(target) => match &target.attrs.role {
            Some(Role::Resource(_) | Role::Nested) => cx.error_spanned_by(
                from,
                format!(
                    "`from = {}` names a live field: a resource is opened from a \
                     `#[config]` field (its recipe), never from another resource or a \
                     `#[nested]` value",
                    member_name(from)
                ),
            ),
            // `#[config]`: fine. No role: already reported on that field.
            Some(Role::Config(_)) | None => {}
        },
    }
}

/// What `from` could name instead: the `#[config]` fields of the same body.
fn config_fields(variant: &Variant) -> String {
    let names: Vec<String> = variant
        .fields
        .iter()
        .filter(|field| field.is_config())
        .map(|field| format!("`{}`", field.name()))
        .collect();
    let index_hint = if variant
        .fields
        .iter()
        .any(|field| matches!(field.member, Member::Unnamed(_)))
    {
        " (tuple fields are named by their index)"
    } else {
        ""
    };
    match names.as_slice() {
        [] => "it has no `#[config]` field; add one that holds the resource's recipe (a path, an address) and name it".to_owned(),
        [one] => format!("name its `#[config]` field {one}{index_hint}"),
        many => format!("name one of its `#[config]` fields: {}{index_hint}", many.join(", ")),
    }
}

fn check_config_handle(cx: &Ctxt, field: &Field, params: &Params) {
    let Some(Role::Config(config)) = &field.attrs.role else {
        return;
    };
    if config.shared {
        return;
    }
    let Some(found) = handles::find(field.ty, params) else {
        return;
    };
    let own_type_hint = match &found.maybe_own {
        Some(written) => format!(
            " (if `{written}` is a type of your own, write its path from your crate's root, \
             e.g. `crate::{written}`)"
        ),
        None => String::new(),
    };
    let message = match &found.shared_by {
        Some(pointer) => format!(
            "`#[config]` field `{field}` shares one `{name}` ({what}) through `{pointer}`: every \
             rebuild would use the same one, a double booking. Mark the field \
             `#[resource(factory = ..., from = ...)]` so that each rebuild opens its own, or \
             `#[config(shared)]` if sharing is intended{own_type_hint}",
            field = field.name(),
            name = found.name,
            what = found.what,
        ),
        None => format!(
            "`#[config]` field `{field}` holds `{name}`, {what}: a live handle cannot be copied. \
             Mark the field `#[resource(factory = ..., from = ...)]` so that each rebuild opens \
             its own{own_type_hint}",
            field = field.name(),
            name = found.name,
            what = found.what,
        ),
    };
    cx.push(syn::Error::new(found.span, message));
}

fn check_blueprint(cx: &Ctxt, input: &Input) {
    let wants_serde = input
        .attrs
        .blueprint
        .as_ref()
        .is_some_and(|attr| attr.serde.is_some());
    let misplaced = |attr: &syn::Attribute| {
        cx.error_spanned_by(
            attr,
            "`#[serde(...)]` applies to the blueprint that `#[rebuild(serde)]` serialises: \
             add `#[rebuild(serde)]` to the type, or remove this attribute",
        );
    };
    if !wants_serde {
        for &index in &input.attrs.serde {
            misplaced(&input.original_attrs[index]);
        }
    }
    for variant in input.variants() {
        if !wants_serde {
            for &index in &variant.serde {
                misplaced(&variant.attrs[index]);
            }
        }
        for field in &variant.fields {
            for &index in &field.attrs.serde {
                let attr = &field.original.attrs[index];
                if field.is_resource() {
                    cx.error_spanned_by(
                        attr,
                        "a `#[resource]` field is never serialised (the blueprint holds only the \
                         config, and loading reopens the resource): remove `#[serde(...)]`",
                    );
                } else if !wants_serde {
                    misplaced(attr);
                }
            }
        }
    }
    let Some(attr) = &input.attrs.blueprint else {
        return;
    };
    if let Some(span) = attr.serde
        && !cfg!(feature = "serde")
    {
        cx.push(syn::Error::new(
            span,
            "`#[rebuild(serde)]` needs guardian-core's `serde` feature: \
             `guardian-core = { version = \"0.1\", features = [\"serde\"] }`",
        ));
    }
    // The blueprint holds only config fields, so every generic parameter must appear
    // in one of them.
    for param in &input.generics.params {
        let what = match param {
            syn::GenericParam::Type(_) => "type parameter",
            syn::GenericParam::Lifetime(_) => "lifetime",
            syn::GenericParam::Const(_) => "const parameter",
        };
        let one = Params::one(param);
        if !input.fields().any(|field| {
            (field.is_config() || field.is_nested()) && generics::mentions(field.ty, &one)
        }) {
            cx.error_spanned_by(
                param,
                format!(
                    "the blueprint holds only `#[config]` and `#[nested]` fields, and none of them \
                     uses {what} `{}`: use it in a config field (e.g. `PhantomData`), or drop \
                     `#[rebuild(blueprint)]` / `#[rebuild(serde)]`",
                    quote::ToTokens::to_token_stream(param)
                ),
            );
        }
    }
}
