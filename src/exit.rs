//! Exit codes and how errors reach the terminal: 0 success, 1 failure,
//! 2 usage; a broken pipe on stdout ends quietly like other Unix tools.

/// Print `result`'s error (if any) on stderr and return the process exit code.
pub fn report(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(err) => {
            if is_broken_pipe(&err) {
                return 0;
            }
            // One line, whatever the causes say: logs and scripts grep it.
            let message = one_line(&err);
            log_line(&format!("knowmix: error: {message}"));
            if err.downcast_ref::<crate::error::UsageError>().is_some() {
                2
            } else if err.downcast_ref::<Interrupted>().is_some() {
                130
            } else {
                1
            }
        }
    }
}

/// Write `line` and a newline on stderr, ignoring failure: a log that
/// cannot be written (a closed pipe, `2>/dev/full`) must never abort the
/// work, so logs are best effort and the exit code reflects the job.
pub fn log_line(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|()| err.write_all(b"\n"));
}

/// The error and its causes on one line, skipping a cause whose words an
/// outer message already quotes.
fn one_line(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error returned when SIGINT or SIGTERM stops a command.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; no output was written and temporary files were removed")]
pub struct Interrupted;

/// Run `work` until it ends or the process gets SIGINT/SIGTERM, and on a
/// signal return [`Interrupted`] (exit code 130) at once. The listeners are
/// registered before the work starts, so no signal is missed, and the work
/// runs on a task of its own, so a stretch of CPU-bound code in it (a
/// tokenizer's tables being built) cannot delay the answer. On a signal
/// the task is aborted and given a moment to be dropped at its next await,
/// which removes its temp and spill files; one stuck longer is left to the
/// process exit (a killed run's files are removed by the next run).
pub async fn until_interrupted<T, F>(work: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut task = tokio::spawn(work);
    tokio::select! {
        biased;
        _ = int.recv() => {}
        _ = term.recv() => {}
        joined = &mut task => {
            return match joined {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(anyhow::anyhow!("the work was cancelled: {e}")),
            };
        }
    }
    task.abort();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    Err(Interrupted.into())
}
