"""A model's content digest (the vetting verdict's key and the person's thresholds file name) is
read once per version of the file, and a file rewritten with its old size and modification time
(``os.utime``) is a new version: its old verdict is never reused."""

from __future__ import annotations

import hashlib
import os

from engine.models.vet import content_digest


def test_the_digest_is_the_files_sha256_and_follows_a_rewrite_that_hides_its_time(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"a" * 4096)
    first = content_digest(path)
    assert first == hashlib.sha256(b"a" * 4096).hexdigest()
    assert content_digest(path) == first                      # the same version: the same answer
    stat = path.stat()
    path.write_bytes(b"b" * 4096)                              # same size ...
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))    # ... and the old modification time
    assert content_digest(path) == hashlib.sha256(b"b" * 4096).hexdigest()
