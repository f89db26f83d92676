"""A real S3-compatible server for the storage tests: moto's server mode.

`moto_server` (PyPI `moto[server]`) runs on 127.0.0.1 on a free port, with
authentication enforced (`INITIAL_NO_AUTH_ACTION_COUNT`: the first three
requests, which create an IAM user allowed `s3:*` and its access key, are
the only unauthenticated ones), so a wrong key is refused as AWS would. The
fixture creates one bucket and gives the AWS_* variables that point knowmix
at the server; the server is stopped when the tests end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
BUCKET = "knowmix-test"
REGION = "us-east-1"
ALLOW_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


def knowmix_binary() -> str:
    """The binary under test: $KNOWMIX_BINARY, else target/release/knowmix."""
    binary = os.environ.get("KNOWMIX_BINARY") or str(REPO / "target/release/knowmix")
    if not Path(binary).is_file():
        pytest.fail(f"{binary}: no knowmix binary; run `cargo build --release` first")
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_server_command() -> str:
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.is_file() else shutil.which("moto_server")
    if not found:
        pytest.fail("moto_server not found; install python/requirements-test.txt")
    return found


@dataclass
class S3Server:
    """A running moto server with one bucket and a user allowed to use it."""

    endpoint: str
    key_id: str
    secret: str
    bucket: str = BUCKET

    def client(self, secret: str | None = None):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=secret or self.secret,
        )

    def env(self, **overrides: str) -> dict[str, str]:
        """The process environment for knowmix, pointed at this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.key_id,
            AWS_SECRET_ACCESS_KEY=self.secret,
            AWS_REGION=REGION,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ALLOW_HTTP="true",
        )
        env.update(overrides)
        return env

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def upload_tree(self, local: Path, prefix: str) -> str:
        """Upload every file under `local` to `prefix`; the prefix's URL."""
        s3 = self.client()
        for path in sorted(local.rglob("*")):
            if path.is_file():
                key = f"{prefix}/{path.relative_to(local).as_posix()}"
                s3.upload_file(str(path), self.bucket, key)
        return self.url(prefix)

    def put(self, key: str, body: bytes) -> str:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=body)
        return self.url(key)

    def get(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def open_uploads(self) -> list[str]:
        listed = self.client().list_multipart_uploads(Bucket=self.bucket)
        return [u["Key"] for u in listed.get("Uploads", [])]


def wait_until_listening(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"moto_server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"moto_server did not listen on port {port} within {timeout} s")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="knowmix")
        iam.put_user_policy(UserName="knowmix", PolicyName="s3", PolicyDocument=ALLOW_S3)
        key = iam.create_access_key(UserName="knowmix")["AccessKey"]
        s3 = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
        s3.client().create_bucket(Bucket=s3.bucket)
        yield s3
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
