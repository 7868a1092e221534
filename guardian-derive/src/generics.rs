//! The generics walk: which of a type's generic parameters a field's type mentions.
//! A leaf: it imports nothing of this crate.
//!
//! Bound inference asks it which fields need a bound, the blueprint check asks whether
//! every parameter survives in the config fields, and the handle check asks whether a
//! name is a parameter rather than a type. `Self` counts as mentioning every
//! parameter: `Vec<Self>` in `Tree<T>` is `Vec<Tree<T>>`.

use proc_macro2::{TokenStream, TokenTree};
use syn::{
    Expr, GenericArgument, GenericParam, Generics, Ident, Path, PathArguments, ReturnType, Type,
    TypeParamBound,
};

/// A set of generic parameters, by name. Types have few, so a list is fastest; the
/// names are strings because comparing two identifiers goes through the compiler
/// (both are turned into strings, at every comparison).
#[derive(Default)]
pub struct Params {
    /// Type and const parameters (both are named by a path).
    names: Vec<String>,
    /// Lifetime parameters, without the apostrophe.
    lifetimes: Vec<String>,
}

impl Params {
    /// The type parameters of `generics`.
    pub fn types(generics: &Generics) -> Self {
        Params {
            names: generics
                .type_params()
                .map(|param| param.ident.to_string())
                .collect(),
            lifetimes: Vec::new(),
        }
    }

    /// One parameter of any kind.
    pub fn one(param: &GenericParam) -> Self {
        match param {
            GenericParam::Type(param) => Params {
                names: vec![param.ident.to_string()],
                lifetimes: Vec::new(),
            },
            GenericParam::Const(param) => Params {
                names: vec![param.ident.to_string()],
                lifetimes: Vec::new(),
            },
            GenericParam::Lifetime(param) => Params {
                names: Vec::new(),
                lifetimes: vec![param.lifetime.ident.to_string()],
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.lifetimes.is_empty()
    }

    /// Whether `name` names one of the type or const parameters.
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|param| param == name)
    }

    fn has_lifetime(&self, ident: &Ident) -> bool {
        !self.lifetimes.is_empty() && {
            let name = ident.to_string();
            self.lifetimes.contains(&name)
        }
    }

    /// Whether `ident` names a type or const parameter, or is `Self` (which stands for
    /// the type with all its parameters).
    fn names(&self, ident: &Ident) -> bool {
        !self.is_empty() && {
            let name = ident.to_string();
            name == "Self" || self.contains(&name)
        }
    }
}

/// Whether `ty` mentions any of `params` (`Self` mentions all of them).
pub fn mentions(ty: &Type, params: &Params) -> bool {
    !params.is_empty() && ty_mentions(ty, params)
}

/// Whether `ty` mentions `Self`.
pub fn mentions_self(ty: &Type) -> bool {
    let only_self = Params {
        names: Vec::new(),
        lifetimes: vec![String::new()],
    };
    // `Params::names` counts `Self` for any non-empty set; a lifetime without a name
    // matches nothing else.
    ty_mentions(ty, &only_self)
}

fn ty_mentions(ty: &Type, params: &Params) -> bool {
    match ty {
        Type::Path(ty) => {
            ty.qself
                .as_ref()
                .is_some_and(|q| ty_mentions(&q.ty, params))
                || path_mentions(&ty.path, params)
        }
        Type::Reference(ty) => {
            ty.lifetime
                .as_ref()
                .is_some_and(|l| params.has_lifetime(&l.ident))
                || ty_mentions(&ty.elem, params)
        }
        Type::Array(ty) => ty_mentions(&ty.elem, params) || expr_mentions(&ty.len, params),
        Type::Slice(ty) => ty_mentions(&ty.elem, params),
        Type::Ptr(ty) => ty_mentions(&ty.elem, params),
        Type::Paren(ty) => ty_mentions(&ty.elem, params),
        Type::Group(ty) => ty_mentions(&ty.elem, params),
        Type::Tuple(ty) => ty.elems.iter().any(|elem| ty_mentions(elem, params)),
        Type::FnPtr(ty) => {
            ty.inputs.iter().any(|arg| ty_mentions(&arg.ty, params))
                || output_mentions(&ty.output, params)
        }
        Type::TraitObject(ty) => bounds_mention(ty.bounds.iter(), params),
        Type::ImplTrait(ty) => bounds_mention(ty.bounds.iter(), params),
        Type::Macro(ty) => tokens_mention(ty.mac.tokens.clone(), params),
        Type::Verbatim(tokens) => tokens_mention(tokens.clone(), params),
        _ => false,
    }
}

fn path_mentions(path: &Path, params: &Params) -> bool {
    if path.leading_colon.is_none()
        && let Some(first) = path.segments.first()
        && params.names(&first.ident)
    {
        return true;
    }
    path.segments
        .iter()
        .any(|segment| match &segment.arguments {
            PathArguments::None => false,
            PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
                GenericArgument::Type(ty) => ty_mentions(ty, params),
                GenericArgument::Lifetime(lifetime) => params.has_lifetime(&lifetime.ident),
                GenericArgument::Const(expr) => expr_mentions(expr, params),
                GenericArgument::AssocType(assoc) => ty_mentions(&assoc.ty, params),
                GenericArgument::AssocConst(assoc) => expr_mentions(&assoc.value, params),
                GenericArgument::Constraint(constraint) => {
                    bounds_mention(constraint.bounds.iter(), params)
                }
                _ => false,
            }),
            PathArguments::Parenthesized(args) => {
                args.inputs.iter().any(|arg| ty_mentions(&arg.ty, params))
                    || output_mentions(&args.output, params)
            }
        })
}

fn output_mentions(output: &ReturnType, params: &Params) -> bool {
    match output {
        ReturnType::Type(_, ty) => ty_mentions(ty, params),
        ReturnType::Default => false,
    }
}

fn bounds_mention<'b>(
    mut bounds: impl Iterator<Item = &'b TypeParamBound>,
    params: &Params,
) -> bool {
    bounds.any(|bound| match bound {
        TypeParamBound::Trait(bound) => path_mentions(&bound.path, params),
        TypeParamBound::Lifetime(lifetime) => params.has_lifetime(&lifetime.ident),
        _ => false,
    })
}

/// Expressions (array lengths, const arguments) are rare in field types: walk their
/// tokens rather than every expression form.
fn expr_mentions(expr: &Expr, params: &Params) -> bool {
    tokens_mention(quote::ToTokens::to_token_stream(expr), params)
}

fn tokens_mention(tokens: TokenStream, params: &Params) -> bool {
    let mut after_apostrophe = false;
    tokens.into_iter().any(|token| {
        let found = match &token {
            TokenTree::Ident(ident) if after_apostrophe => params.has_lifetime(ident),
            TokenTree::Ident(ident) => params.names(ident),
            TokenTree::Group(group) => tokens_mention(group.stream(), params),
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        };
        after_apostrophe = matches!(&token, TokenTree::Punct(p) if p.as_char() == '\'');
        found
    })
}
