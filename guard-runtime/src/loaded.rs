//! The object the guard checked, handed to the body: read once, acted on
//! as checked.
//!
//! A resolver that reads the whole object for the tenant and owner check
//! attaches it to its [`ObjectMeta`](crate::ObjectMeta) with
//! [`with_object`](crate::ObjectMeta::with_object); an action takes it as a
//! `Loaded<T>` parameter (or reads it with
//! [`Authorized::loaded`](crate::Authorized::loaded)). The body then needs
//! no second read, and there is no gap between what was checked and what
//! the body uses.

use std::any::Any;
use std::sync::Arc;

/// The application's object a resolver loaded, of a type only the resolver
/// and the action know. Cloning shares it.
#[derive(Clone)]
pub struct AnyObject {
    value: Arc<dyn Any + Send + Sync>,
    /// For `Debug` and for the error when an action asks for another type.
    type_name: &'static str,
}

impl AnyObject {
    /// Wraps `value`.
    pub fn new<T: Send + Sync + 'static>(value: T) -> Self {
        AnyObject { value: Arc::new(value), type_name: std::any::type_name::<T>() }
    }

    /// The object, if it is a `T`.
    pub fn downcast_ref<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    /// The object's type, as the compiler names it.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn downcast<T: Send + Sync + 'static>(self) -> Result<Arc<T>, AnyObject> {
        let type_name = self.type_name;
        self.value.downcast().map_err(|value| AnyObject { value, type_name })
    }
}

impl std::fmt::Debug for AnyObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyObject({})", self.type_name)
    }
}

/// The same object, not an equal one: the objects' types need no `PartialEq`.
impl PartialEq for AnyObject {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.value, &other.value)
    }
}

impl Eq for AnyObject {}

/// The object the action names, exactly as the guard checked its tenant
/// and owner: a parameter of an action with `owner = "..."` or
/// `tenant = "..."` whose resolver attaches a `T`
/// ([`ObjectMeta::with_object`](crate::ObjectMeta::with_object)).
///
/// Only the guard builds one. If the resolver attached no `T` (another
/// type, or nothing), the request is refused with 503 `unavailable` and the
/// body does not run: a mismatch between resolver and action is a bug, and
/// the guard fails closed rather than let the body read the object again.
///
/// ```compile_fail
/// let forged: guard_runtime::Loaded<String> =
///     guard_runtime::Loaded { only_the_guard_loads_this: std::sync::Arc::new(String::new()) };
/// ```
pub struct Loaded<T> {
    // Private, and named for the compiler's error when someone tries to
    // build one by hand.
    only_the_guard_loads_this: Arc<T>,
}

impl<T> Loaded<T> {
    /// The object, shared.
    pub fn into_arc(self) -> Arc<T> {
        self.only_the_guard_loads_this
    }

    /// The object itself: moved out when the guard holds no other copy (the
    /// parameter took it out of the proof), cloned otherwise.
    pub fn into_inner(self) -> T
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.only_the_guard_loads_this)
    }
}

impl<T> std::ops::Deref for Loaded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.only_the_guard_loads_this
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Loaded").field(&*self.only_the_guard_loads_this).finish()
    }
}

/// Takes the `T` the resolver attached out of `object`; `None` (and an
/// error in the log) if it attached none or another type.
pub(crate) fn take<T: Send + Sync + 'static>(object: Option<&mut crate::ObjectMeta>) -> Option<Loaded<T>> {
    let Some(meta) = object else {
        tracing::error!(target: "guard::gate", "`Loaded` asked of an action that loaded no object; denying");
        return None;
    };
    match meta.object.take().map(AnyObject::downcast::<T>) {
        Some(Ok(value)) => Some(Loaded { only_the_guard_loads_this: value }),
        Some(Err(other)) => {
            tracing::error!(
                target: "guard::gate",
                attached = other.type_name(),
                wanted = std::any::type_name::<T>(),
                "the resolver attached another type than the action's `Loaded<T>`; denying"
            );
            meta.object = Some(other);
            None
        }
        None => {
            tracing::error!(
                target: "guard::gate",
                wanted = std::any::type_name::<T>(),
                "the resolver attached no object (`ObjectMeta::with_object`) for the action's `Loaded<T>`; denying"
            );
            None
        }
    }
}
