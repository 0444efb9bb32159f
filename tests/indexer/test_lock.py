import os
import subprocess
import sys
import time

import pytest

from engine.errors import EngineError
from indexer.lock import IndexLock


def test_second_holder_is_refused_with_the_pid(tmp_path):
    path = tmp_path / "index.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, '.');"
         "from indexer.lock import IndexLock; l = IndexLock(sys.argv[1]).__enter__(); print('locked', flush=True); time.sleep(30)", str(path)],
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(EngineError, match=rf"another `engine index` is running on this home \(pid {child.pid}\); wait"):
            IndexLock(path).__enter__()
    finally:
        child.kill()
        child.wait()
    # kill -9 released the lock: the next indexer proceeds
    with IndexLock(path):
        assert path.read_text().strip() == str(os.getpid())


def test_lock_is_reentrant_after_release(tmp_path):
    with IndexLock(tmp_path / "l"):
        pass
    with IndexLock(tmp_path / "l"):
        pass
