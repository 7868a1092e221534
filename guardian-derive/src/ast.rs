//! A borrowed model of the derive input. It keeps references into the `syn` tree so
//! that every later error can point at the user's tokens.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Attribute, DeriveInput, Fields, Generics, Ident, Member, Type};

use crate::attr::{self, FieldAttrs, Place, TypeAttrs};
use crate::ctxt::Ctxt;

pub struct Input<'a> {
    pub ident: &'a Ident,
    pub vis: &'a syn::Visibility,
    /// The type's own attributes (`#[serde(...)]` and docs are forwarded to the
    /// blueprint).
    pub original_attrs: &'a [Attribute],
    pub generics: &'a Generics,
    pub attrs: TypeAttrs,
    pub data: Data<'a>,
}

pub enum Data<'a> {
    /// A struct is modelled as one variant with no name.
    Struct(Variant<'a>),
    Enum(Vec<Variant<'a>>),
    /// Unions are refused (in `valid`); nothing of them is modelled.
    Union(&'a syn::DataUnion),
}

/// A struct's body or an enum variant.
pub struct Variant<'a> {
    /// `None` for a struct.
    pub ident: Option<&'a Ident>,
    /// A variant's own attributes (empty for a struct, whose are the type's).
    pub attrs: &'a [Attribute],
    /// Where the variant's `#[serde(...)]` attributes are, as indexes into `attrs`.
    pub serde: Vec<usize>,
    pub style: Style,
    pub fields: Vec<Field<'a>>,
}

/// How a body's fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Named,
    Tuple,
    Unit,
}

pub struct Field<'a> {
    pub original: &'a syn::Field,
    /// `name` or `0`, as written in patterns, field accesses and struct expressions.
    pub member: Member,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
}

impl<'a> Input<'a> {
    pub fn from_syn(cx: &Ctxt, node: &'a DeriveInput) -> Self {
        let place = match node.data {
            syn::Data::Struct(_) => Place::Struct,
            syn::Data::Enum(_) => Place::Enum,
            syn::Data::Union(_) => Place::Union,
        };
        let mut attrs = attr::container(cx, &node.attrs, place);
        let data = match &node.data {
            syn::Data::Struct(data) => Data::Struct(Variant::from_syn(cx, None, &[], &data.fields)),
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        let own = attr::container(cx, &variant.attrs, Place::Variant);
                        // A deprecated variant is named by the generated code too.
                        attrs.deprecated |= own.deprecated;
                        let mut body = Variant::from_syn(
                            cx,
                            Some(&variant.ident),
                            &variant.attrs,
                            &variant.fields,
                        );
                        body.serde = own.serde;
                        body
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => Data::Union(data),
        };
        Input {
            ident: &node.ident,
            vis: &node.vis,
            original_attrs: &node.attrs,
            generics: &node.generics,
            attrs,
            data,
        }
    }

    /// Every struct body or variant, in declaration order.
    pub fn variants(&self) -> &[Variant<'a>] {
        match &self.data {
            Data::Struct(variant) => std::slice::from_ref(variant),
            Data::Enum(variants) => variants,
            Data::Union(_) => &[],
        }
    }

    /// Every field of every body, in declaration order.
    pub fn fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.variants().iter().flat_map(|variant| &variant.fields)
    }

    /// Whether any field is a resource.
    pub fn has_resources(&self) -> bool {
        self.fields().any(Field::is_resource)
    }

    /// Whether any field is live, a resource or a nested value: something `close`
    /// must hand on.
    pub fn has_live(&self) -> bool {
        self.fields().any(Field::is_live)
    }

    /// The type's name as messages and errors spell it (`r#type` as `type`).
    pub fn name(&self) -> String {
        self.ident.unraw().to_string()
    }
}

impl<'a> Variant<'a> {
    fn from_syn(
        cx: &Ctxt,
        ident: Option<&'a Ident>,
        attrs: &'a [Attribute],
        fields: &'a Fields,
    ) -> Self {
        let style = match fields {
            Fields::Named(_) => Style::Named,
            Fields::Unnamed(_) => Style::Tuple,
            Fields::Unit => Style::Unit,
        };
        let fields = fields
            .iter()
            .zip(fields.members())
            .map(|(original, member)| Field {
                original,
                member,
                ty: &original.ty,
                attrs: attr::field(cx, &original.attrs),
            })
            .collect();
        Variant {
            ident,
            attrs,
            serde: Vec::new(),
            style,
            fields,
        }
    }

    /// The field `member` names, comparing names without `r#` (`from = path` names
    /// the field `r#path`).
    pub fn field(&self, member: &Member) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|field| same_member(&field.member, member))
    }
}

impl Field<'_> {
    pub fn is_resource(&self) -> bool {
        self.resource().is_some()
    }

    pub fn is_config(&self) -> bool {
        matches!(self.attrs.role, Some(attr::Role::Config(_)))
    }

    pub fn is_nested(&self) -> bool {
        matches!(self.attrs.role, Some(attr::Role::Nested))
    }

    /// A resource or a nested value: opened (or rebuilt) and closed, never cloned.
    pub fn is_live(&self) -> bool {
        self.is_resource() || self.is_nested()
    }

    /// The field's `#[resource(...)]`, if that is its role.
    pub fn resource(&self) -> Option<&attr::ResourceAttr> {
        match &self.attrs.role {
            Some(attr::Role::Resource(resource)) => Some(resource),
            _ => None,
        }
    }

    /// The field's name as errors and `RebuildError::field` spell it: `log`, or `0`.
    pub fn name(&self) -> String {
        member_name(&self.member)
    }

    /// Where to point an error about the whole field: its name, or its type for a
    /// tuple field.
    pub fn span(&self) -> Span {
        match &self.original.ident {
            Some(ident) => ident.span(),
            None => crate::span::of_type(self.ty),
        }
    }
}

/// A member as messages spell it: `log` (without `r#`), or `0`.
pub fn member_name(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.unraw().to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// Whether two members name the same field (`r#path` and `path` do).
pub fn same_member(a: &Member, b: &Member) -> bool {
    match (a, b) {
        (Member::Named(a), Member::Named(b)) => a.unraw() == b.unraw(),
        (Member::Unnamed(a), Member::Unnamed(b)) => a.index == b.index,
        _ => false,
    }
}
