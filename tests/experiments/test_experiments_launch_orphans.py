"""``--jobs N`` workers die with their launcher: a killed command leaves no orphan process that
keeps training (and holding its run's lock) in the background."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from ahtga.experiments.launch import LocalLauncher

    def work(i, folder):
        Path(folder, f"{i}.pid").write_text(str(os.getpid()))
        time.sleep(120)
        return i

    if __name__ == "__main__":
        folder = sys.argv[1]
        LocalLauncher(2).run(work, [(0, folder), (1, folder)], lambda u, r: None,
                             lambda u, e: None)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def test_workers_exit_when_the_launcher_is_killed(tmp_path):
    script = tmp_path / "launch.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=tmp_path,
                            start_new_session=True)
    try:
        assert _wait(lambda: len(list(tmp_path.glob("*.pid"))) == 2, 120), "workers did not start"
        pids = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
        assert all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGTERM)     # only the launcher: not its process group
        proc.wait(timeout=30)
        assert _wait(lambda: not any(_alive(p) for p in pids), 15), \
            f"workers {pids} outlived their launcher"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in tmp_path.glob("*.pid"):
            try:
                os.kill(int(p.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
