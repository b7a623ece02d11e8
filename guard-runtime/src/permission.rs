//! Permission names, wildcard matching and typed permissions.
//!
//! A permission is written `resource:verb`, each part lowercase ASCII letters,
//! digits, `_` or `-`, starting with a letter: `orders:write`. On the grant
//! side (roles and scopes) the verb may be `*`: `orders:*` grants every verb
//! of `orders`, and `*` alone grants everything.

/// A permission tied to a type, so that code can demand proof it was checked.
///
/// Declare these with [`permissions!`](crate::permissions); a data-layer
/// function that takes `&Grant<OrdersWrite>` can then only be called from an
/// action that required `"orders:write"`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission type",
    label = "not declared with `guard_runtime::permissions!`",
    note = "declare it: `guard_runtime::permissions! {{ pub OrdersWrite = \"orders:write\"; }}`"
)]
pub trait Permission: Send + Sync + 'static {
    /// The permission's name, as written in `requires = "..."`.
    const NAME: &'static str;
}

/// Declares typed permissions for [`Grant`](crate::Grant).
///
/// Each name is checked against the permission grammar at compile time.
///
/// # Example
///
/// ```
/// guard_runtime::permissions! {
///     /// Change an order.
///     pub OrdersWrite = "orders:write";
///     pub OrdersRead = "orders:read";
/// }
/// use guard_runtime::Permission;
/// assert_eq!(OrdersWrite::NAME, "orders:write");
/// ```
///
/// ```compile_fail
/// guard_runtime::permissions! { pub Bad = "Orders Write"; }
/// ```
#[macro_export]
macro_rules! permissions {
    ($($(#[$meta:meta])* $vis:vis $name:ident = $perm:literal;)*) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        // Evaluated eagerly, so a malformed name fails the build even if
        // nothing reads `NAME` yet.
        const _: () = ::core::assert!(
            $crate::permission::is_valid_name($perm),
            "a permission is written `resource:verb` in lowercase, like \"orders:write\"",
        );
        impl $crate::Permission for $name {
            const NAME: &'static str = $perm;
        }
    )*};
}

/// Whether `name` is a concrete permission: `resource:verb`.
pub const fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut colon = None;
    while i < bytes.len() {
        if bytes[i] == b':' {
            if colon.is_some() {
                return false;
            }
            colon = Some(i);
        }
        i += 1;
    }
    match colon {
        Some(c) => is_segment(bytes, 0, c) && is_segment(bytes, c + 1, bytes.len()),
        None => false,
    }
}

const fn is_segment(bytes: &[u8], start: usize, end: usize) -> bool {
    if start >= end || !bytes[start].is_ascii_lowercase() {
        return false;
    }
    let mut i = start;
    while i < end {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `pattern` is a valid grant: a permission, `resource:*` or `*`.
pub fn is_valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(":*") {
        Some(resource) => is_segment(resource.as_bytes(), 0, resource.len()),
        None => is_valid_name(pattern),
    }
}

/// Whether the grant `pattern` covers the concrete `permission`.
///
/// ```
/// use guard_runtime::permission::covers;
/// assert!(covers("orders:*", "orders:write"));
/// assert!(covers("orders:read", "orders:read"));
/// assert!(!covers("orders:*", "ordersx:write"));
/// assert!(!covers("orders:read", "orders:write"));
/// ```
pub fn covers(pattern: &str, permission: &str) -> bool {
    if pattern == permission || pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        // `orders:*` keeps its colon, so `orders:` only prefixes `orders:verb`.
        Some(prefix) if prefix.ends_with(':') => permission.starts_with(prefix),
        _ => false,
    }
}

/// Used by generated code: whether `name` is among an action's `requires`.
#[doc(hidden)]
pub const fn is_required(name: &str, required: &[&str]) -> bool {
    let mut i = 0;
    while i < required.len() {
        if const_str_eq(name, required[i]) {
            return true;
        }
        i += 1;
    }
    false
}

pub(crate) const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in ["orders:write", "a:b", "service-accounts:rotate_key", "v2:read"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "orders", "orders:", ":write", "Orders:write", "orders:*", "a:b:c", "2x:y", "o rders:w"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert!(is_valid_pattern("orders:*"));
        assert!(is_valid_pattern("*"));
        assert!(!is_valid_pattern("orders*"));
        assert!(!is_valid_pattern("*:write"));
    }

    #[test]
    fn wildcards() {
        assert!(covers("*", "x:y"));
        assert!(!covers("orders:w*", "orders:write"));
        assert!(!covers("orders:write", "orders:writer"));
    }
}
