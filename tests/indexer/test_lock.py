import os
import signal
import subprocess
import sys

import pytest

from engine.base.errors import EngineError
from indexer.lock import IndexLock

HOLDER = """
import os, sys, time
sys.path.insert(0, os.getcwd())
from indexer.lock import IndexLock
lock = IndexLock(sys.argv[1]).__enter__()
worker = os.fork()  # like a DataLoader worker: inherits the open lock file
if worker == 0:
    time.sleep(60)
    os._exit(0)
print(worker, flush=True)
time.sleep(60)
"""


def _start_holder(path):
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    worker = int(child.stdout.readline())
    return child, worker


def test_second_holder_is_refused_with_the_pid(tmp_path):
    path = tmp_path / "index.lock"
    child, worker = _start_holder(path)
    try:
        with pytest.raises(EngineError, match=rf"another `engine index` is running on this home \(pid {child.pid}\); wait"):
            IndexLock(path).__enter__()
        child.kill()  # kill -9 of the indexer while its forked worker still lives
        child.wait()
        with IndexLock(path):  # ... frees the home at once
            assert path.read_text().strip() == str(os.getpid())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.kill(worker, signal.SIGKILL)


def test_same_process_cannot_take_it_twice(tmp_path):
    with IndexLock(tmp_path / "l"):
        with pytest.raises(EngineError, match="another `engine index`"):
            IndexLock(tmp_path / "l").__enter__()
    with IndexLock(tmp_path / "l"):
        pass
