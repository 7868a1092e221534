//! Blueprints: a value's recipe (its `#[config]` fields) as a value of its own.
//!
//! "Copy the config, not the connection" is also useful without a live value at hand:
//! save the recipe, inspect or edit it, and build from it later. `#[derive(Rebuild)]`
//! with `#[rebuild(blueprint)]` generates the blueprint type (`MatchLoggerBlueprint`
//! for `MatchLogger`: the same shape, config fields only) and implements
//! [`FromBlueprint`]; `#[rebuild(serde)]` also makes the type (de)serialisable through
//! its blueprint (feature `serde`).

use crate::{Rebuild, RebuildError};

/// A type that can be taken apart into its blueprint (config only) and built from one
/// by opening every resource afresh. Derived with `#[rebuild(blueprint)]`.
///
/// # Example
///
/// ```
/// use guardian_core::{Factory, FromBlueprint, Rebuild};
///
/// /// Opens a "connection" that just remembers its address.
/// struct Connect;
/// impl Factory for Connect {
///     type Config = str;
///     type Resource = String;
///     type Error = std::io::Error;
///     fn open(&self, address: &str) -> std::io::Result<String> {
///         Ok(format!("connected to {address}"))
///     }
/// }
///
/// #[derive(Rebuild)]
/// #[rebuild(blueprint)]
/// struct Client {
///     #[config]
///     address: String,
///     #[resource(factory = Connect, from = address)]
///     link: String,
/// }
///
/// let client = Client::from_blueprint(ClientBlueprint { address: "db-1".into() })?;
/// assert_eq!(client.link, "connected to db-1");
///
/// // A copy with edited config is one call: the new value opens its own resource.
/// let other = client.rebuild_with(|blueprint| blueprint.address = "db-2".into())?;
/// assert_eq!(other.link, "connected to db-2");
/// assert_eq!(client.blueprint().address, "db-1");
/// # Ok::<(), guardian_core::RebuildError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no blueprint",
    label = "`{Self}` does not implement `guardian_core::FromBlueprint`",
    note = "add `#[rebuild(blueprint)]` (or `#[rebuild(serde)]`) to the derive of `{Self}`: a blueprint of a type with `#[nested]` fields holds their blueprints"
)]
pub trait FromBlueprint: Rebuild {
    /// The blueprint: the `#[config]` fields (and the nested values' blueprints), in
    /// the type's own shape. A recipe is data, so it is `Clone`: a blueprint that holds
    /// another can copy it.
    type Blueprint: Clone;

    /// Copies the config fields into a blueprint (each is cloned).
    fn blueprint(&self) -> Self::Blueprint;

    /// Builds a value from a blueprint, opening every resource afresh through its
    /// factory's [`open`](crate::Factory::open), in declaration order. All or nothing:
    /// if one fails, the ones already opened are closed and the error names the field.
    /// The blueprint is consumed (its config moves into the value); clone it first if
    /// you need it after a failure.
    fn from_blueprint(blueprint: Self::Blueprint) -> Result<Self, RebuildError>;

    /// Rebuilds with edited config: the blueprint of `self`, changed by `edit`, built
    /// into a new value whose resources are opened from the edited recipe (for
    /// example a branch of a logger that writes to another file).
    fn rebuild_with(&self, edit: impl FnOnce(&mut Self::Blueprint)) -> Result<Self, RebuildError> {
        let mut blueprint = self.blueprint();
        edit(&mut blueprint);
        Self::from_blueprint(blueprint)
    }
}

/// The async counterpart of [`FromBlueprint`], for a type that is
/// [`AsyncRebuild`](crate::AsyncRebuild): derived with `#[rebuild(async, blueprint)]`.
///
/// `from_blueprint` opens every resource at once, as an async rebuild does. serde's
/// `Deserialize` cannot await, so a `#[rebuild(async, serde)]` type is loaded in two
/// steps: deserialize its blueprint, then `Type::from_blueprint(blueprint).await`
/// (the type is `Serialize`; `Deserialize` on it is refused with an error that says
/// so).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no async blueprint",
    label = "`{Self}` does not implement `guardian_core::AsyncFromBlueprint`",
    note = "add `blueprint` (or `serde`) to the `#[rebuild(async, ...)]` of `{Self}`"
)]
pub trait AsyncFromBlueprint: crate::AsyncRebuild {
    /// The blueprint: the `#[config]` fields (and the nested values' blueprints), in
    /// the type's own shape; data, so `Clone`, and `Send` for the future that opens it.
    type Blueprint: Clone + Send;

    /// Copies the config fields into a blueprint (each is cloned).
    fn blueprint(&self) -> Self::Blueprint;

    /// Builds a value from a blueprint, opening every resource afresh, all at once.
    /// All or nothing: if any fails, the ones that opened are closed and the error
    /// lists every failure.
    fn from_blueprint(
        blueprint: Self::Blueprint,
    ) -> impl Future<Output = Result<Self, RebuildError>> + Send;

    /// Rebuilds with edited config (see [`FromBlueprint::rebuild_with`]).
    fn rebuild_with(
        &self,
        edit: impl FnOnce(&mut Self::Blueprint),
    ) -> impl Future<Output = Result<Self, RebuildError>> + Send {
        let mut blueprint = self.blueprint();
        edit(&mut blueprint);
        Self::from_blueprint(blueprint)
    }
}
