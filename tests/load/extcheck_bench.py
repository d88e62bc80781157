"""External check benchmark (docs/protocol.md, "External check"): what a
callback to the organiser's system adds to a join, and that the signalling
loop keeps serving while checks wait.

- latency: JOINS sequential joins of an external event whose organiser's
  system (a threaded HTTP server here, on loopback) answers at once, and
  as many of a public event beside them, alternating: medians and 90th
  percentiles of the HTTP round trip, and what the check adds;
- held: HELD (64) checks at once, each answered by the organiser's system
  after HOLD_MS (300 ms), from as many loopback addresses (one address may
  hold only a quarter), while GET /api/health is asked in a loop: every
  join admitted, the wall time for all, and the health round trips while
  they waited (the loop is not the one waiting).

Prints the figures and one JSON line; asserts only that every join was
admitted (the times depend on the machine).  Run by `scripts/bench
--extcheck` inside its network namespace."""

import http.client
import http.server
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stagecast  # noqa: E402

JOINS = int(os.environ.get("EXTCHECK_JOINS", "300"))
HELD = int(os.environ.get("EXTCHECK_HELD", "64"))
HOLD_MS = int(os.environ.get("EXTCHECK_HOLD_MS", "300"))
SECRET = "benchmark-secret-0123456789"


def organiser():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body["fields"]["code"] == "hold":
                time.sleep(HOLD_MS / 1000)
            data = b'{"allow": true, "name": "Bench"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256   # HELD connections arrive at once

    httpd = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def post(port, path, body, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        data = json.dumps(body).encode()
        t0 = time.monotonic()
        conn.request("POST", path, data, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status, (time.monotonic() - t0) * 1000
    finally:
        conn.close()


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    httpd = organiser()
    srv = stagecast.Server(workers=1).start()
    try:
        h = {"Authorization": "Bearer " + srv.admin_token(), "Content-Type": "application/json"}
        for slug, watch in (("ext", "external"), ("open", "public")):
            ev = {"title": slug, "slug": slug, "starts_at": int(time.time()), "watch": {"type": watch}}
            if watch == "external":
                ev["external"] = {"url": "http://127.0.0.1:%d/check" % httpd.server_address[1],
                                  "secret": SECRET, "timeout_ms": 10000,
                                  "fields": [{"name": "code", "label": "Code"}]}
            r = srv.request("POST", "/api/v1/events", json.dumps(ev), h)
            if r.status != 201:
                raise SystemExit("cannot create the event: %r" % r)

        # Latency, external and public side by side.
        ext, pub = [], []
        for _ in range(JOINS):
            st, ms = post(srv.port, "/api/v1/watch/ext/join", {"code": "now"})
            ext.append(ms if st == 200 else None)
            st, ms = post(srv.port, "/api/v1/watch/open/join", {})
            pub.append(ms if st == 200 else None)
        if None in ext or None in pub:
            raise SystemExit("FAIL: a join was refused")
        lat = {"joins": JOINS, "external_median_ms": statistics.median(ext),
               "external_p90_ms": pct(ext, 90), "public_median_ms": statistics.median(pub),
               "public_p90_ms": pct(pub, 90)}
        lat["added_median_ms"] = lat["external_median_ms"] - lat["public_median_ms"]
        print("latency: %d joins each; external %.2f ms median (p90 %.2f), public %.2f ms "
              "(p90 %.2f): the check adds %.2f ms" % (JOINS, lat["external_median_ms"],
                                                     lat["external_p90_ms"], lat["public_median_ms"],
                                                     lat["public_p90_ms"], lat["added_median_ms"]))

        # HELD checks out at once while the loop answers health checks.
        results, health, done = [], [], threading.Event()

        def held(i):
            src = "127.0.%d.%d" % (1 + i // 200, 1 + i % 200)
            results.append(post(srv.port, "/api/v1/watch/ext/join", {"code": "hold"}, source=src))

        def probe():
            while not done.is_set():
                t0 = time.monotonic()
                r = srv.request("GET", "/api/health")
                if r.status == 200:
                    health.append((time.monotonic() - t0) * 1000)

        prober = threading.Thread(target=probe)
        prober.start()
        threads = [threading.Thread(target=held, args=(i,)) for i in range(HELD)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = (time.monotonic() - t0) * 1000
        done.set()
        prober.join()
        admitted = sum(1 for st, _ in results if st == 200)
        out = {"held": HELD, "hold_ms": HOLD_MS, "admitted": admitted, "wall_ms": round(wall, 1),
               "join_median_ms": statistics.median(ms for _, ms in results),
               "health_checks": len(health), "health_median_ms": statistics.median(health),
               "health_max_ms": max(health)}
        print("held: %d checks at once, each answered after %d ms: %d admitted in %.0f ms "
              "(join median %.0f ms); meanwhile %d health checks, %.2f ms median, %.2f ms max"
              % (HELD, HOLD_MS, admitted, wall, out["join_median_ms"], len(health),
                 out["health_median_ms"], out["health_max_ms"]))
        print(json.dumps({"latency": {k: round(v, 3) for k, v in lat.items()}, "held": out}))
        if admitted != HELD:
            raise SystemExit("FAIL: %d of %d admitted" % (admitted, HELD))
    finally:
        srv.stop()
        srv.cleanup()
        httpd.shutdown()


if __name__ == "__main__":
    main()
