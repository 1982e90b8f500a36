"""tests/integration/test_store_upgrade.py - a store written by the version
before tenants (format 1: no tenant in keys, pending records without one; the
fixture data/store_v1.tar.gz, made by that ottrd with one kept trace, its
service graph, and one undecided trace left in the pending log) opens with
this one: everything is the implicit tenant's, readable as before with
tenancy off, and as X-Scope-OrgID: single-tenant with it on. With tenancy off
the header is ignored."""
import json
import os
import sys
import tarfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Ottrd, wait_for  # noqa: E402

KEPT = "0123456789abcdef0123456789abcdef"
UNDECIDED = "fedcba9876543210fedcba9876543210"
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "store_v1.tar.gz")


def get(port, path, tenant=None):
    h = {"X-Scope-OrgID": tenant} if tenant else {}
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def config(tmp, tenancy):
    path = os.path.join(tmp, "ottr-%s.yaml" % tenancy)
    with open(path, "w") as f:
        # The fixture's times are those of the day it was made: keep everything.
        f.write("multitenancy_enabled: %s\nstore:\n  retention: 0\n"
                "sampling:\n  decision_wait: 1s\n" % tenancy)
    return path


def main():
    d = Ottrd()
    with tarfile.open(FIXTURE) as t:
        t.extractall(d.tmp)
    d.data_dir = os.path.join(d.tmp, "data")
    d.args = ["--config", config(d.tmp, "false")]
    d.start()
    try:
        Q, J = d.query_port, d.jaeger_port
        code, doc = get(Q, "/api/traces/" + KEPT)
        check(code == 200 and len(doc["batches"]) == 2, "the kept trace reads back: %d" % code)
        code, doc = get(Q, "/api/search?tags=service.name%3Doldshop")
        check(code == 200 and [t["traceID"] for t in doc["traces"]] == [KEPT.lstrip("0")] or
              [t["traceID"] for t in doc["traces"]] == [KEPT], "search finds it: %r" % doc)
        code, doc = get(Q, "/api/search/tags")
        check("legacy.attr" in doc["tagNames"], "its tags: %r" % doc)
        code, doc = get(J, "/api/services")
        check({"oldshop", "oldpay"} <= set(doc["data"]), "its services: %r" % doc)
        code, doc = get(J, "/api/dependencies?endTs=%d&lookback=%d"
                        % (int(time.time() + 60) * 1000, 400 * 86400 * 1000))
        check({"parent": "oldshop", "child": "oldpay", "callCount": 1} in doc["data"],
              "its dependency: %r" % doc)
        # The undecided trace, a pending record without a tenant, is replayed.
        wait_for(lambda: get(Q, "/api/traces/" + UNDECIDED)[0] == 200,
                 what="the old pending record's trace decided and kept")
        # With tenancy off the header is ignored: one tenant for everyone.
        code, _ = get(Q, "/api/traces/" + KEPT, "someone")
        check(code == 200, "tenancy off: X-Scope-OrgID is ignored (%d)" % code)
        d.stop()

        d.args = ["--config", config(d.tmp, "true")]
        d.start()
        Q = d.query_port
        check(get(Q, "/api/traces/" + KEPT)[0] == 401, "tenancy on: no header, 401")
        check(get(Q, "/api/traces/" + KEPT, "single-tenant")[0] == 200,
              "the data written before tenancy is the single-tenant's")
        check(get(Q, "/api/traces/" + UNDECIDED, "single-tenant")[0] == 200, "and the replayed")
        check(get(Q, "/api/traces/" + KEPT, "acme")[0] == 404, "another tenant does not see it")
        d.stop()
    except BaseException:
        d.dump_log()
        raise
    finally:
        d.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
