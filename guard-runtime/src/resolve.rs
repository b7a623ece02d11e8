//! Loading the tenant and owner of the object an action names.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use crate::loaded::AnyObject;
use crate::{StoreError, StoreFuture};

/// The authorization facts of one object.
///
/// The tenant and owner are shared strings: a resolver that keeps its
/// objects in memory (a map, a cache in front of a database) hands out a
/// copy of one for two reference-count increments, not two allocations per
/// request (plus the attributes map's, if it has entries). Build them from
/// `&str` or `String` with `.into()`, which copies the text once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The tenant the object belongs to.
    pub tenant: Arc<str>,
    /// The owning principal's id, if any (see [`Principal::owner_id`](crate::Principal::owner_id)).
    pub owner: Option<Arc<str>>,
    /// Further facts for custom checks (workflow state, environment).
    pub attributes: HashMap<String, String>,
    /// The application's object itself, if the resolver read it whole
    /// ([`with_object`](ObjectMeta::with_object)): the body gets it as a
    /// [`Loaded<T>`](crate::Loaded) parameter instead of reading it again.
    pub object: Option<AnyObject>,
}

impl ObjectMeta {
    /// An object of `tenant` owned by `owner`.
    pub fn owned(tenant: impl Into<Arc<str>>, owner: impl Into<Arc<str>>) -> Self {
        ObjectMeta { tenant: tenant.into(), owner: Some(owner.into()), attributes: HashMap::new(), object: None }
    }

    /// Attaches the object the resolver read, for the action body: an action
    /// that takes `Loaded<T>` gets exactly this value, the one whose tenant
    /// and owner the guard checked.
    pub fn with_object<T: Send + Sync + 'static>(mut self, object: T) -> Self {
        self.object = Some(AnyObject::new(object));
        self
    }

    /// The attached object, if it is a `T`.
    pub fn object_as<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.object.as_ref().and_then(AnyObject::downcast_ref)
    }

    /// Adds an attribute for custom checks.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// Loads an object's [`ObjectMeta`] by the key the request names.
///
/// `Ok(None)` means "no such object" and answers 404; so does an object of
/// another tenant or owner, with the identical body. An `Err` answers 503.
///
/// The answer is a [`StoreFuture`]: an in-process resolver answers with
/// [`StoreFuture::ready`] (no allocation), one that must wait with
/// [`StoreFuture::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard resolver",
    label = "expected a `guard_runtime::Resolver`",
    note = "implement `Resolver`, or wrap an async closure with `guard_runtime::resolve::from_fn`"
)]
pub trait Resolver: Send + Sync + 'static {
    /// The object under `key` (a path parameter or input field, as text).
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>>;
}

/// A [`Resolver`] from an async closure.
///
/// Each call boxes the closure's future. A resolver whose answer is at hand
/// (an in-process map) can implement [`Resolver`] with
/// [`StoreFuture::ready`] instead, which allocates nothing.
///
/// ```
/// use guard_runtime::{resolve, ObjectMeta};
/// let r = resolve::from_fn(|key: String| async move {
///     Ok((key == "1").then(|| ObjectMeta::owned("acme", "alice")))
/// });
/// # let _ = r;
/// ```
pub fn from_fn<F, Fut>(f: F) -> FnResolver<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<ObjectMeta>, StoreError>> + Send + 'static,
{
    FnResolver(f)
}

/// See [`from_fn`].
#[derive(Clone, Debug)]
pub struct FnResolver<F>(F);

impl<F, Fut> Resolver for FnResolver<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<ObjectMeta>, StoreError>> + Send + 'static,
{
    fn resolve<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Result<Option<ObjectMeta>, StoreError>> {
        StoreFuture::new((self.0)(key.to_owned()))
    }
}

/// The resolvers of an app, by resource name (`"orders"`).
#[derive(Clone, Default)]
pub struct Resolvers {
    by_resource: HashMap<String, Arc<dyn Resolver>>,
}

impl std::fmt::Debug for Resolvers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_resource.keys()).finish()
    }
}

impl Resolvers {
    /// No resolvers: only actions without `owner`/`tenant` can be mounted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the resolver of `resource`.
    pub fn with(mut self, resource: impl Into<String>, resolver: impl Resolver) -> Self {
        self.by_resource.insert(resource.into(), Arc::new(resolver));
        self
    }

    pub(crate) fn get(&self, resource: &str) -> Option<Arc<dyn Resolver>> {
        self.by_resource.get(resource).cloned()
    }
}

/// The type of an input field that `owner = "..."` names: anything with a
/// string form (`Display`), which is the object's key. Implemented for every
/// such type; there is nothing to implement.
#[diagnostic::on_unimplemented(
    message = "`owner` names an input field of type `{Self}`, which cannot name an object",
    label = "`owner` needs a field with a string form: a `String`, an integer, any `Display` type",
    note = "an object key is always present: make the field a `String` (not an `Option`), or name a route parameter instead"
)]
pub trait OwnerKey {
    /// The key, as text.
    #[doc(hidden)]
    fn object_key(&self) -> Option<std::string::String>;
}

#[diagnostic::do_not_recommend]
impl<T: core::fmt::Display + ?Sized> OwnerKey for T {
    fn object_key(&self) -> Option<std::string::String> {
        Some(self.to_string())
    }
}

/// The type of an input field that `tenant = "..."` names: anything with a
/// string form (`Display`). Implemented for every such type.
#[diagnostic::on_unimplemented(
    message = "`tenant` names an input field of type `{Self}`, which cannot name an object",
    label = "`tenant` needs a field with a string form: a `String`, an integer, any `Display` type",
    note = "an object key is always present: make the field a `String` (not an `Option`), or name a route parameter instead"
)]
pub trait TenantKey {
    /// The key, as text.
    #[doc(hidden)]
    fn object_key(&self) -> Option<std::string::String>;
}

#[diagnostic::do_not_recommend]
impl<T: core::fmt::Display + ?Sized> TenantKey for T {
    fn object_key(&self) -> Option<std::string::String> {
        Some(self.to_string())
    }
}

/// Declares a wrapper through which generated code reads the input field
/// `owner`/`tenant` names: it derefs to the input, and its name is what the
/// compiler prints when the field does not exist ("no field `order_id` on
/// type `owner_names_a_route_parameter_or_an_input_field_of<'_, Input>`").
macro_rules! field_reader {
    ($name:ident) => {
        #[allow(non_camel_case_types)]
        /// How `#[action]` reads the input field `owner`/`tenant` names: it
        /// derefs to the input, and its name is what the compiler prints
        /// when the input has no such field. Not for use in your code.
        pub struct $name<'a, T>(&'a T);

        impl<'a, T> $name<'a, T> {
            /// Wraps the decoded input.
            pub fn new(input: &'a T) -> Self {
                $name(input)
            }
        }

        impl<T> core::ops::Deref for $name<'_, T> {
            type Target = T;

            fn deref(&self) -> &T {
                self.0
            }
        }
    };
}

field_reader!(owner_names_a_route_parameter_or_an_input_field_of);
field_reader!(tenant_names_a_route_parameter_or_an_input_field_of);
