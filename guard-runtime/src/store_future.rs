//! The future a store call returns: a value already at hand, or a boxed
//! future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::BoxFuture;

/// What a store or resolver call returns.
///
/// An in-process store has its answer at once: [`StoreFuture::ready`] hands
/// it over with no allocation, which is most of what an in-process lookup
/// costs. A network store waits: [`StoreFuture::new`] boxes its `async`
/// block, like any object-safe async trait method.
///
/// ```
/// use guard_runtime::{StoreError, StoreFuture};
///
/// fn in_process(found: bool) -> StoreFuture<'static, Result<bool, StoreError>> {
///     StoreFuture::ready(Ok(found))
/// }
///
/// fn over_the_network() -> StoreFuture<'static, Result<bool, StoreError>> {
///     StoreFuture::new(async { Ok(true) })
/// }
/// # let _ = (in_process(true), over_the_network());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct StoreFuture<'a, T>(State<'a, T>);

enum State<'a, T> {
    Ready(Option<T>),
    Waiting(BoxFuture<'a, T>),
}

impl<'a, T> StoreFuture<'a, T> {
    /// A value already at hand.
    pub fn ready(value: T) -> Self {
        StoreFuture(State::Ready(Some(value)))
    }

    /// A future to wait on (boxed).
    pub fn new(future: impl Future<Output = T> + Send + 'a) -> Self {
        StoreFuture(State::Waiting(Box::pin(future)))
    }

    /// The value, if it is already at hand (made by [`StoreFuture::ready`]
    /// and not yet polled); otherwise the future itself, unchanged, to await.
    ///
    /// Lets a caller that only maps a store's answer skip boxing a future of
    /// its own when the store answered at once.
    ///
    /// ```
    /// use guard_runtime::StoreFuture;
    ///
    /// assert_eq!(StoreFuture::ready(7).into_ready().ok(), Some(7));
    /// assert!(StoreFuture::new(async { 7 }).into_ready().is_err());
    /// ```
    pub fn into_ready(self) -> Result<T, Self> {
        match self.0 {
            State::Ready(Some(value)) => Ok(value),
            state => Err(StoreFuture(state)),
        }
    }
}

impl<'a, T> From<BoxFuture<'a, T>> for StoreFuture<'a, T> {
    fn from(future: BoxFuture<'a, T>) -> Self {
        StoreFuture(State::Waiting(future))
    }
}

// Never pinned structurally: the value is moved out whole, and the boxed
// future is pinned by its box.
impl<T> Unpin for StoreFuture<'_, T> {}

impl<T> Future for StoreFuture<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match &mut self.0 {
            State::Ready(value) => Poll::Ready(value.take().expect("`StoreFuture` polled after completion")),
            State::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> std::fmt::Debug for StoreFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            State::Ready(_) => "StoreFuture::Ready",
            State::Waiting(_) => "StoreFuture::Waiting",
        })
    }
}
