"""Whitelist import benchmark (issue 18): 200,000 entries (e-mail
addresses, phone numbers and staff numbers, a few duplicates) imported into
one event through the API in parts of at most 60 KiB, as docs/protocol.md
tells an operator to, then lookups through the watch link.  Prints the
figures; asserts only that every entry arrived and a listed id is admitted
(the times depend on the machine).  Run by `scripts/bench --whitelist`
inside its network namespace."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stagecast  # noqa: E402

ENTRIES = int(os.environ.get("WHITELIST_ENTRIES", "200000"))
PART = 60 * 1024


def entries(n):
    for i in range(n):
        k = i % 3
        if k == 0:
            yield "employee%06d@example.com" % i
        elif k == 1:
            yield "+1 (555) %03d-%04d" % (i // 10000, i % 10000)
        else:
            yield "E%07d" % i


def parts(lines):
    buf, size = ["email"], 6
    for line in lines:
        if size + len(line) + 1 > PART:
            yield "\n".join(buf) + "\n"
            buf, size = [], 0
        buf.append(line)
        size += len(line) + 1
    if buf:
        yield "\n".join(buf) + "\n"


def main():
    srv = stagecast.Server(workers=1).start()
    try:
        admin = srv.admin_token()
        h = {"Authorization": "Bearer " + admin, "Content-Type": "application/json"}
        ev = srv.request("POST", "/api/v1/events", json.dumps(
            {"title": "Big list", "starts_at": int(time.time()), "watch": {"type": "whitelist"}}), h).json()
        path = "/api/v1/events/%d/whitelist" % ev["id"]
        lines = list(entries(ENTRIES)) + ["employee000000@example.com"] * 10
        t0 = time.monotonic()
        added = dups = requests = 0
        for body in parts(lines):
            r = srv.request("POST", path, body, {"Authorization": "Bearer " + admin,
                                                 "Content-Type": "text/csv"}, timeout=60)
            if r.status != 200:
                raise SystemExit("import failed: %r" % r)
            added += r.json()["added"]
            dups += r.json()["duplicates"]
            requests += 1
        import_s = time.monotonic() - t0
        count = srv.request("GET", path, None, h).json()["entries"]
        lookups, t1 = 200, time.monotonic()
        admitted = 0
        for i in range(lookups):
            r = srv.request("POST", "/api/v1/watch/big-list/join",
                            json.dumps({"id": lines[(i * 997) % ENTRIES]}))
            admitted += r.status == 200
        lookup_ms = (time.monotonic() - t1) * 1000 / lookups
        print("whitelist: %d entries in %d requests of <= 60 KiB: %.2f s (%.0f entries/s), "
              "%d duplicates; %d lookups through /join: %.2f ms each (HTTP round trip included), "
              "%d admitted" % (count, requests, import_s, count / import_s, dups, lookups, lookup_ms,
                               admitted))
        if count != ENTRIES or added != ENTRIES or admitted != lookups:
            raise SystemExit("FAIL: %d stored, %d added, %d admitted" % (count, added, admitted))
        print(json.dumps({"entries": count, "requests": requests, "import_s": round(import_s, 3),
                          "lookup_ms": round(lookup_ms, 3), "db_bytes": os.path.getsize(
                              os.path.join(srv.data, "stagecast.db"))}))
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main()
