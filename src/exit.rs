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
            eprintln!("knowmix: error: {message}");
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

/// Run `work` until it ends or the process gets SIGINT/SIGTERM. On a
/// signal `work` is dropped — which removes its temp and spill files —
/// and [`Interrupted`] is returned (exit code 130).
pub async fn until_interrupted<T, F>(work: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
        _ = term.recv() => Err(Interrupted.into()),
    }
}
