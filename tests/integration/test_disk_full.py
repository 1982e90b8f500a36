"""tests/integration/test_disk_full.py - recovery after the disk fills up, on a
real small file system: the data directory lies on a 48 MiB tmpfs mounted in a
private mount namespace (unshare; as root or in a user namespace). A filler file
takes every free byte and exports get 503; with less free than store.disk_reserve
(12 MiB here) they keep getting 503; once 16 MiB are free they must be accepted
again (200) within a deadline, and every trace acknowledged before, during and
after is stored. Exits 77 (skipped) when no tmpfs can be mounted."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

SKIP = 77
MiB = 1 << 20
FS_SIZE = "48m"
FREED_SHORT = 4 * MiB  # less than the reserve: no resume
FREED = 16 * MiB       # in all
RESUME_DEADLINE_S = 20
IN_NS = "OTTR_TEST_IN_MOUNT_NS"


def mount_tmpfs(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path],
                          capture_output=True).returncode == 0


def enter_mount_namespace():
    """Re-runs this script in a private mount namespace where it may mount a
    tmpfs; returns only when already inside one."""
    if os.environ.get(IN_NS) == "1":
        return
    env = dict(os.environ, **{IN_NS: "1"})
    probe = ("d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs \"$d\" && umount \"$d\"; "
             "r=$?; rmdir \"$d\"; exit $r")
    for prefix in (["unshare", "-m"], ["unshare", "-rm"], ["sudo", "-n", "-E", "unshare", "-m"]):
        if shutil.which(prefix[0]) is None:
            continue
        try:
            ok = subprocess.run(prefix + ["sh", "-c", probe], capture_output=True,
                                timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            sys.exit(subprocess.run(prefix + [sys.executable, os.path.abspath(__file__)],
                                    env=env).returncode)
    print("skipped: cannot mount a tmpfs here (tried unshare -m, unshare -rm, sudo -n)")
    sys.exit(SKIP)


def export_body(trace):
    now = time.time_ns()
    span = {"traceId": trace, "spanId": "00f067aa0ba902b7", "name": "op", "kind": 2,
            "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000000),
            "attributes": [{"key": "pad", "value": {"stringValue": "x" * 2048}}]}
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "diskfull"}}]},
        "scopeSpans": [{"spans": [span]}]}]}).encode()


def export(port, trace):
    req = urllib.request.Request("http://127.0.0.1:%d/v1/traces" % port,
                                 data=export_body(trace),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def fill(path):
    """Writes |path| until the file system refuses; returns its size."""
    n = 0
    chunk = b"\0" * MiB
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError:
                break
        # The last partial chunk: byte by byte up to the very end.
        small = b"\0" * 4096
        while True:
            try:
                n += f.write(small)
            except OSError:
                break
    return n


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    enter_mount_namespace()
    mnt = tempfile.mkdtemp(prefix="ottr-diskfull-")
    check(mount_tmpfs(mnt, FS_SIZE), "mount a tmpfs at " + mnt)
    cfg = os.path.join(tempfile.gettempdir(), "ottr-diskfull-%d.yaml" % os.getpid())
    with open(cfg, "w") as f:
        f.write("sampling:\n  decision_wait: 1s\n  decision_wait_after_root: 100ms\n"
                "store:\n  sync: always\n  memtable_size: 8MiB\n  disk_reserve: 12MiB\n")
    acked = []
    seq = [0]

    def send(d):
        seq[0] += 1
        trace = "%032x" % (0xd15c0000000000000000000000000000 + seq[0])
        code = export(d.http_port, trace)
        if code == 200:
            acked.append(trace)
        return code

    try:
        with Ottrd("--config", cfg, data_dir=os.path.join(mnt, "data")) as d:
            check(send(d) == 200, "export before the disk fills")
            filler = os.path.join(mnt, "filler")
            fill(filler)
            wait_for(lambda: send(d) == 503, timeout=30, what="503 once the disk is full")
            # What the failed writes left behind is taken too: the disk is full.
            fill(os.path.join(mnt, "filler2"))
            for _ in range(5):
                check(send(d) == 503, "503 while the disk is full")

            size = os.path.getsize(filler)
            with open(filler, "r+b") as f:
                f.truncate(size - FREED_SHORT)
            end = time.monotonic() + 2.5  # resume attempts are 1 s apart
            while time.monotonic() < end:
                check(send(d) == 503, "503 with less free than store.disk_reserve")
                time.sleep(0.1)
            with open(filler, "r+b") as f:
                f.truncate(size - FREED)
            t0 = time.monotonic()
            wait_for(lambda: send(d) == 200, timeout=RESUME_DEADLINE_S,
                     what="exports accepted again after freeing 16 MiB")
            resumed = time.monotonic() - t0
            for _ in range(5):
                check(send(d) == 200, "200 after the resume")
            print("writes resumed %.1f s after freeing %d MiB" % (resumed, FREED // MiB))

            # Nothing acknowledged is lost: every acked trace is stored.
            for trace in acked:
                wait_for(lambda: d.get(d.query_port, "/api/v2/traces/" + trace)[0] == 200,
                         timeout=30, what="acknowledged trace %s stored" % trace)
            _, metrics = d.get(d.query_port, "/metrics")
            check(b"ottr_store_write_failing 0" in metrics, "write_failing back to 0")
    finally:
        os.unlink(cfg)
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(mnt, ignore_errors=True)
    print("ok: %d acknowledged traces stored" % len(acked))


if __name__ == "__main__":
    main()
