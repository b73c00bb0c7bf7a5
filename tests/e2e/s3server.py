"""s3rver (tests/s3, pinned by its lock file) as the S3-compatible server of the object-storage tests, and an
independent client (Debian's python3-boto3) to read back what teamreg stored. A missing s3rver or boto3 fails
the test loudly: it never skips."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness as h

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3RVER = os.path.join(ROOT, "tests", "s3", "node_modules", "s3rver", "bin", "s3rver.js")
# s3rver's one built-in account. It checks the access key ID (an unknown one gets 403 InvalidAccessKeyId) but,
# as of 3.7.1, not the SigV4 signature itself: a wrong secret goes unnoticed here.
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


class S3rver:
    """One s3rver on a loopback port with one bucket; stop() and start() again keep port and contents."""

    def __init__(self, bucket: str = "teamreg-docs") -> None:
        if not os.path.isfile(S3RVER):
            raise AssertionError(f"s3rver is not installed at {S3RVER}: run scripts/install-s3-deps.sh")
        node = shutil.which("node")
        if node is None:
            raise AssertionError("node is not installed: run scripts/install-s3-deps.sh")
        self.node = node
        self.bucket = bucket
        self.root = tempfile.mkdtemp(prefix="teamreg-s3rver-")
        self.log_path = os.path.join(self.root, "s3rver.log")
        self.port = h.free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "s3rver already running"
        cmd = [self.node, S3RVER, "-d", os.path.join(self.root, "data"), "-a", "127.0.0.1",
               "-p", str(self.port), "--no-vhost-buckets", "--configure-bucket", self.bucket]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        h._track(self.proc)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"s3rver exited with {self.proc.returncode}:\n{h.tail(self.log_path)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"s3rver not listening within 30 s:\n{h.tail(self.log_path)}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None:
            h._untrack(self.proc)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def server_args(self, prefix: str = "") -> list[str]:
        location = f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"
        return ["--blob-store", location, "--s3-endpoint", self.endpoint, "--s3-path-style"]

    def client(self):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:
            raise AssertionError(f"boto3 is missing ({e}): run scripts/install-deps.sh (python3-boto3)")
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object under the prefix, name -> size."""
        out = {}
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                out[item["Key"]] = item["Size"]
        return out

    def get(self, name: str) -> bytes | None:
        client = self.client()
        try:
            return client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None

    def put(self, name: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=name, Body=data)
