"""A viewer on ICE-TCP that stops reading disturbs nobody (issue 15, part 3).

One server with ONE media worker, so every session shares the loop a stalled
connection could block.  The C loadgen runs one publisher and UDP viewers
that read everything; a second loadgen adds ICE-TCP viewers (RFC 4571
framing over a real TCP connection to the answer's passive candidate) that
stop reading after their first media packet, with a small receive buffer.
Their connections' kernel buffers fill, then the server's bounded write
queue: from then on their media is dropped and counted (tcp_media_dropped),
never queued without bound and never waited for.

Asserts what users see: the UDP viewers lose nothing while the TCP viewers
are stalled (the loadgen's per-sequence-number loss over its whole run),
the drops are counted for the TCP viewers, the worker loop keeps turning
(GET /healthz 200 throughout) and the stalled viewers' sessions stay open
(their consent checks still arrive: STUN is never dropped).  No timing is
asserted: each wait is for a state, with a generous deadline.  Run by
tests/load/run inside its network namespace.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stagecast  # noqa: E402

REPO = stagecast.REPO
LOADGEN = os.environ.get("LOADGEN_BIN") or os.path.join(REPO, os.environ.get("BUILD_DIR", "build"),
                                                        "tests", "load", "loadgen")
UDP_VIEWERS = 4
TCP_VIEWERS = 2
fails = []


def need(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)


def loadgen(srv, admin, name, viewers, duration, extra, with_publisher):
    args = [LOADGEN, "--url", "http://127.0.0.1:%d" % srv.port, "--room", "stall",
            "--viewer-token", srv.token("stall", "viewer", name=name + "-viewer"),
            "--admin-token", admin, "--server-pid", str(srv.proc.pid),
            "--viewers", str(viewers), "--join-rate", "50", "--settle", "1",
            "--duration", str(duration), "--json"] + extra
    if with_publisher:
        args += ["--publisher-token", srv.token("stall", "presenter", name=name + "-pub")]
    else:
        args += ["--publishers", "0"]
    return subprocess.Popen(args, stdout=open(os.path.join(srv.data, name + ".json"), "w"),
                            stderr=open(os.path.join(srv.data, name + ".log"), "w"))


def report(srv, name):
    with open(os.path.join(srv.data, name + ".json")) as f:
        return json.load(f)


def main():
    srv = stagecast.Server(workers=1)
    srv.start()
    admin = srv.admin_token()
    stats = lambda: srv.stats(admin)  # noqa: E731
    try:
        udp = loadgen(srv, admin, "udp", UDP_VIEWERS, 30, [], True)
        need(stagecast.wait_for(lambda: stagecast.find_counter(stats(), "forwarded_packets") > 0,
                                60) is not None,
             "the publisher's media reaches the UDP viewers")
        tcp = loadgen(srv, admin, "tcp", TCP_VIEWERS, 20, ["--tcp", "--sink"], False)
        need(stagecast.wait_for(lambda: stagecast.find_counter(stats(), "tcp_media_dropped") > 0,
                                60) is not None,
             "the stalled TCP viewers' queues fill and their media is dropped (counted)")
        healthy = all(srv.request("GET", "/healthz").status == 200 for _ in range(5))
        need(healthy, "the worker loop keeps turning (/healthz 200)")
        st = stats()
        need(stagecast.find_counter(st, "tcp_connections") == TCP_VIEWERS,
             "both stalled TCP viewers are still connected (%s)"
             % stagecast.find_counter(st, "tcp_connections"))
        need(stagecast.find_counter(st, "tcp_overflow_closed") == 0,
             "no connection closed: control still had room")

        tcp.wait(timeout=120)
        udp.wait(timeout=120)
        t = report(srv, "tcp")
        need(t["transport"] == "tcp" and t["viewers_connected"] == TCP_VIEWERS
             and t["viewers_sunk"] == TCP_VIEWERS,
             "the TCP viewers joined over ICE-TCP and then stopped reading (%s connected, %s sunk)"
             % (t["viewers_connected"], t.get("viewers_sunk")))
        u = report(srv, "udp")
        need(u["viewers_connected"] == UDP_VIEWERS and u["viewers_with_video"] == UDP_VIEWERS,
             "every UDP viewer connected and got video (%d, %d)"
             % (u["viewers_connected"], u["viewers_with_video"]))
        loss = u["loss"]
        need(loss["expected"] > 0 and loss["lost"] == 0,
             "the UDP viewers lost nothing while the TCP viewers were stalled "
             "(lost %s of %s)" % (loss["lost"], loss["expected"]))
        print("info: tcp_media_dropped %s" % stagecast.find_counter(stats(), "tcp_media_dropped"))
    finally:
        status = srv.stop()
        need(status == 0, "the server exits cleanly (%s)" % status)
        if fails:
            print(srv.log_tail(40))
        srv.cleanup()
    print("tcp stall test: %s" % ("FAIL" if fails else "ok"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
