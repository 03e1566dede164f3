"""S3 with the aws CLI (cp, sync, ls, multipart with large files) and memory use while
streaming a large object both ways."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest


def aws(endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run(["aws", "--endpoint-url", endpoint, *args], env=env, capture_output=True, text=True,
                          check=check, timeout=300)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_cli_cp_ls_sync(endpoint, bucket, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(os.urandom(70_000))
    aws(endpoint, "s3", "cp", str(src / "a.txt"), f"s3://{bucket}/a.txt")
    out = aws(endpoint, "s3", "ls", f"s3://{bucket}/").stdout
    assert "a.txt" in out
    aws(endpoint, "s3", "sync", str(src), f"s3://{bucket}/mirror")
    listing = aws(endpoint, "s3", "ls", "--recursive", f"s3://{bucket}/mirror").stdout
    assert "mirror/a.txt" in listing and "mirror/sub/b.bin" in listing
    # A second sync uploads nothing.
    again = aws(endpoint, "s3", "sync", str(src), f"s3://{bucket}/mirror").stdout
    assert "upload:" not in again
    dst = tmp_path / "dst"
    aws(endpoint, "s3", "sync", f"s3://{bucket}/mirror", str(dst))
    assert (dst / "sub" / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
    aws(endpoint, "s3", "rm", "--recursive", f"s3://{bucket}/mirror")
    assert "mirror" not in aws(endpoint, "s3", "ls", "--recursive", f"s3://{bucket}/").stdout


def test_cli_missing_bucket_error(endpoint):
    r = aws(endpoint, "s3", "ls", "s3://no-such-bucket-serval-test/", check=False)
    assert r.returncode != 0 and "NoSuchBucket" in r.stderr


def test_large_object_streams_with_flat_memory(endpoint, bucket, serval, tmp_path):
    """A 300 MB object goes up (multipart, aws-chunked) and down through the CLI while the
    server's RSS stays under 100 MB."""
    size = 300 * 1024 * 1024
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            f.write(block)
    pid = serval.proc.pid
    peak = [rss_kb(pid)]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        aws(endpoint, "s3", "cp", str(big), f"s3://{bucket}/big.bin")
        back = tmp_path / "back.bin"
        aws(endpoint, "s3", "cp", f"s3://{bucket}/big.bin", str(back))
    finally:
        done.set()
        t.join()
    assert back.stat().st_size == size
    with open(big, "rb") as a, open(back, "rb") as b:
        while True:
            x, y = a.read(1 << 20), b.read(1 << 20)
            assert x == y
            if not x:
                break
    assert peak[0] < 100 * 1024, f"peak RSS {peak[0]} KB"
    aws(endpoint, "s3", "rm", f"s3://{bucket}/big.bin")
