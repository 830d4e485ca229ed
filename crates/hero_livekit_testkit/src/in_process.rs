//! A service served by a task of the test's own runtime.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`InProcess::stop`] waits for the service to wind down.
const STOP_BOUND: Duration = Duration::from_secs(30);

/// The shutdown future handed to a service's `serve`/`run`: ready when the test stops the
/// service or drops its handle.
pub struct StopSignal(oneshot::Receiver<()>);

impl Future for StopSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// A running service task. Dropping it asks the service to stop (like SIGTERM stops the binary);
/// [`InProcess::stop`] also waits for it and returns what it returned.
pub struct InProcess<T> {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> InProcess<T> {
    /// Spawns `serve(stop_signal)` on the current runtime, e.g.
    /// `InProcess::spawn(|stop| booted.serve(stop))`.
    pub fn spawn<F, Fut>(serve: F) -> InProcess<T>
    where
        F: FnOnce(StopSignal) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        InProcess {
            stop: Some(tx),
            task: Some(tokio::spawn(serve(StopSignal(rx)))),
        }
    }

    /// Stops the service and returns its result (it must wind down within 30 s).
    pub async fn stop(mut self) -> T {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().expect("stopped once");
        tokio::time::timeout(STOP_BOUND, task)
            .await
            .expect("the service did not stop within 30 s")
            .expect("the service task panicked")
    }

    /// Whether the task has ended by itself.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Drop for InProcess<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
