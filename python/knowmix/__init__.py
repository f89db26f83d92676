"""knowmix from Python: a thin layer over the ``knowmix`` binary that ships in
this package's wheel.

The work is all done by the binary (the same bytes as on the command line);
this package finds it, builds its arguments, and turns its failures into
:class:`KnowmixError`. Nothing outside the standard library is imported here:
:mod:`knowmix.ray` and :mod:`knowmix.kfp` import Ray and KFP when used.

>>> import knowmix
>>> manifest = knowmix.mix("output/step_03", "output/step_04")  # doctest: +SKIP
>>> [cut["file"] for cut in manifest["cuts"]]  # doctest: +SKIP
['combined_cut_5x.jsonl']
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from knowmix._find import ENV_VAR, find_binary

__all__ = ["KnowmixError", "binary", "run", "mix", "read_manifest"]

#: A local path or a URL such as ``s3://bucket/prefix``.
PathLike = Union[str, "os.PathLike[str]"]

_ERROR_PREFIX = "knowmix: error: "


class KnowmixError(RuntimeError):
    """A ``knowmix`` run failed.

    ``message`` is the CLI's one-line error (without the ``knowmix: error:``
    prefix), ``returncode`` its exit code (1 failure, 2 usage, 130
    interrupted; negative: killed by that signal), ``stderr`` everything it
    wrote there, ``args`` the command line after the binary.
    """

    def __init__(
        self,
        message: str,
        returncode: Optional[int] = None,
        stderr: str = "",
        argv: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.stderr = stderr
        self.argv = list(argv)

    def __reduce__(self) -> Any:
        # Keep every field across pickling (Ray, multiprocessing).
        return (type(self), (self.message, self.returncode, self.stderr, self.argv))


def binary() -> Path:
    """The ``knowmix`` binary this package runs.

    ``$KNOWMIX_BINARY`` when set, else the binary installed with the wheel
    (the environment's scripts folder), else ``knowmix`` on ``PATH``.
    Raises :class:`KnowmixError` when there is none.
    """
    found = find_binary()
    if found is None:
        raise KnowmixError(
            "the knowmix binary was not found: install the wheel "
            f"(`pip install knowmix`), put knowmix on PATH, or set {ENV_VAR}"
        )
    if not found.is_file():
        raise KnowmixError(f"{ENV_VAR} names {str(found)!r}, which is not a file")
    return found


def error_message(stderr: str, returncode: int) -> str:
    """The one-line reason of a failed run, taken from its stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(_ERROR_PREFIX):
            return line[len(_ERROR_PREFIX) :]
    for line in lines:  # clap's own usage errors: "error: unexpected argument ..."
        if line.startswith("error: "):
            return line[len("error: ") :]
    if returncode < 0:
        return f"knowmix was killed by signal {-returncode}"
    return lines[-1] if lines else f"knowmix exited with status {returncode}"


def _pump(source: IO[str], keep: List[str], echo: Optional[IO[str]]) -> None:
    for line in source:
        keep.append(line)
        if echo is not None:
            echo.write(line)
            echo.flush()


def run(
    args: Sequence[PathLike],
    *,
    check: bool = True,
    stream: bool = False,
    cwd: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
    die_with_parent: bool = False,
) -> "subprocess.CompletedProcess[str]":
    """Run ``knowmix ARGS...`` and return the finished process.

    stdin is empty (give knowmix files, and ``-o FILE`` for large outputs);
    stdout and stderr are captured as text; with ``stream=True`` they are
    also copied, line by line as they come, to ``sys.stdout`` and
    ``sys.stderr`` (so a notebook shows knowmix's logs). With ``check`` (the
    default) a non-zero exit raises :class:`KnowmixError` carrying the CLI's
    message. Interrupting Python (Ctrl-C) stops knowmix, which removes its
    partial output. ``die_with_parent`` (Linux) has the kernel stop knowmix
    if the calling thread's process dies first, as a Ray worker on a lost
    node does, so no orphan keeps writing while the shard reruns elsewhere.
    """
    argv = [os.fspath(a) for a in args]
    command = [str(binary()), *argv]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env=None if env is None else dict(env),
        preexec_fn=_parent_death_signal() if die_with_parent else None,
    )
    out: List[str] = []
    err: List[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    reader = threading.Thread(
        target=_pump, args=(proc.stderr, err, sys.stderr if stream else None), daemon=True
    )
    reader.start()
    try:
        _pump(proc.stdout, out, sys.stdout if stream else None)
        returncode = proc.wait()
    except BaseException:
        proc.terminate()  # knowmix cleans up its temporary files on SIGTERM
        proc.wait()
        raise
    finally:
        reader.join()
        proc.stdout.close()
        proc.stderr.close()
    stdout, stderr = "".join(out), "".join(err)
    if check and returncode != 0:
        raise KnowmixError(error_message(stderr, returncode), returncode, stderr, argv)
    return subprocess.CompletedProcess(command, returncode, stdout, stderr)


def _parent_death_signal() -> Any:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``); ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork
    pr_set_pdeathsig = 1

    def set_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_signal


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def option_args(
    *,
    cut_sizes: Union[None, str, Iterable[int]] = None,
    qa_per_doc: Optional[int] = None,
    tokenizer: Optional[PathLike] = None,
    seed: Optional[int] = None,
    gpt_oss: Optional[bool] = None,
    threads: Optional[int] = None,
    columns: Union[None, Mapping[str, str], Iterable[str]] = None,
    **more: Any,
) -> List[str]:
    """Command-line flags for ``mix`` options; ``None`` leaves an option to the
    CLI (flags, then environment, then ``.env``, then defaults).

    ``cut_sizes`` is ``"5,50"`` or ``[5, 50]``; ``columns`` maps logical
    names to file columns (``{"document": "summarized_document"}``). Other
    keywords become flags: ``on_error="skip"`` is ``--on-error=skip``,
    ``force=True`` is ``--force`` (``False`` leaves it out), a list repeats
    the flag.
    """
    args: List[str] = []
    if cut_sizes is not None:
        text = cut_sizes if isinstance(cut_sizes, str) else ",".join(str(c) for c in cut_sizes)
        args.append(f"--cut-sizes={text}")
    if gpt_oss is not None:
        args.append(f"--gpt-oss={'true' if gpt_oss else 'false'}")
    if columns is not None:
        pairs = columns.items() if isinstance(columns, Mapping) else None
        items = [f"{k}={v}" for k, v in pairs] if pairs is not None else list(columns)
        args += [f"--column={item}" for item in items]
    plain = {"qa_per_doc": qa_per_doc, "tokenizer": tokenizer, "seed": seed, "threads": threads}
    for name, value in {**plain, **more}.items():
        if value is None or value is False:
            continue
        if value is True:
            args.append(_flag(name))
        else:
            values = value if isinstance(value, (list, tuple)) else [value]
            args += [f"{_flag(name)}={_text(v)}" for v in values]
    return args


def _text(value: Any) -> str:
    return os.fspath(value) if isinstance(value, (str, os.PathLike)) else str(value)


def is_url(location: PathLike) -> bool:
    """Whether ``location`` is a URL (``s3://...``) rather than a local path."""
    return "://" in os.fspath(location)


def read_manifest(output: PathLike) -> Dict[str, Any]:
    """The parsed ``training_mix/manifest.json`` of a finished run in
    ``output`` (a local path, or ``s3://`` read with boto3 and the ``AWS_*``
    variables knowmix uses)."""
    location = os.fspath(output).rstrip("/") + "/training_mix/manifest.json"
    try:
        if not is_url(location):
            return json.loads(Path(location).read_text(encoding="utf-8"))
        return json.loads(_read_object(location))
    except KnowmixError:
        raise
    except Exception as exc:  # missing, unreadable, not JSON: one error type for callers
        raise KnowmixError(f"cannot read the manifest {location}: {exc}") from exc


def _read_object(url: str) -> bytes:
    scheme, _, rest = url.partition("://")
    if scheme != "s3":
        raise KnowmixError(f"cannot read {url}: only local paths and s3:// are supported")
    try:
        import boto3  # only for s3:// outputs
    except ImportError as exc:
        raise KnowmixError(f"reading {url} needs boto3 (pip install boto3)") from exc
    bucket, _, key = rest.partition("/")
    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def mix(
    input: PathLike,
    output: PathLike,
    *,
    cut_sizes: Union[None, str, Iterable[int]] = None,
    qa_per_doc: Optional[int] = None,
    tokenizer: Optional[PathLike] = None,
    seed: Optional[int] = None,
    gpt_oss: Optional[bool] = None,
    threads: Optional[int] = None,
    columns: Union[None, Mapping[str, str], Iterable[str]] = None,
    **more: Any,
) -> Dict[str, Any]:
    """Run ``knowmix mix`` on the step-03 folder ``input``, writing
    ``output/training_mix/combined_cut_{N}x.jsonl`` for every feasible cut,
    and return the parsed ``manifest.json`` (``"cuts"``: file, samples and
    tokens per cut; ``"infeasible_cuts"``; inputs, parameters, tokenizer).

    Options left ``None`` are decided by the CLI: flags, then environment
    variables (``CUT_SIZES``, ``QA_PER_DOC``, ``TOKENIZER_MODEL``, ``SEED``,
    ``SAVE_GPT_OSS_FORMAT``), then a ``.env`` file, then defaults. Other
    keywords map to flags (``on_error="skip"``, ``compress="zstd"``,
    ``force=True``, ``quiet=True``); see :func:`option_args`. knowmix's logs
    are copied to ``sys.stderr``. Raises :class:`KnowmixError` on failure.
    """
    args = [f"--input={os.fspath(input)}", f"--output={os.fspath(output)}"]
    args.insert(0, "mix")
    args += option_args(
        cut_sizes=cut_sizes,
        qa_per_doc=qa_per_doc,
        tokenizer=tokenizer,
        seed=seed,
        gpt_oss=gpt_oss,
        threads=threads,
        columns=columns,
        **more,
    )
    run(args, stream=True)
    return read_manifest(output)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("knowmix")
    except Exception:  # running from a source tree without an install
        return "0+unknown"


__version__ = _version()
