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
            eprintln!("knowmix: error: {err:#}");
            if err.downcast_ref::<crate::error::UsageError>().is_some() {
                2
            } else {
                1
            }
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
