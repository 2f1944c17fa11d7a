//! Collects the audit entries a request wrote, so that the response can carry signed
//! receipts for them. A task-local list: only writes made by the request's own task are
//! collected (work it hands to other tasks is not the request's action).

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static WRITTEN: RefCell<Vec<crate::Written>>;
}

/// Runs `f` and returns, with its output, every audit entry it committed.
pub async fn collect<F: Future>(f: F) -> (F::Output, Vec<crate::Written>) {
    WRITTEN
        .scope(RefCell::new(Vec::new()), async {
            let out = f.await;
            let written = WRITTEN.with(|w| w.take());
            (out, written)
        })
        .await
}

/// Called after a commit: remembers the entries when a collector is listening.
pub(crate) fn record(entries: &[crate::Written]) {
    let _ = WRITTEN.try_with(|w| w.borrow_mut().extend_from_slice(entries));
}
