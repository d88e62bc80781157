#!/usr/bin/env python3
"""Soak driver for `scripts/bench --soak MINUTES` (a benchmark, never a test).

Against a running `stagecast serve` (its pid, data directory and port), for
MINUTES minutes:

- media: tests/load/loadgen with one WHIP publisher and --viewers WHEP
  viewers, of which --churn % leave (DELETE) and join anew each minute;
- signalling: a host on /ws that turns recording on before anything else
  and opens a poll every --poll-every seconds (closing the last one),
  --voters viewers on /ws that vote on each poll, and --chatters viewers
  that send a chat message every 1/--chat-rate seconds each;
- every minute: the server's RSS, open descriptors (/proc/PID/fd), CPU
  (utime+stime over the minute), its sessions and connections
  (/api/stats), the loadgen's latest tallies (--progress) and the size of
  the recording being written; one line per minute.

At the end: the recording must become `ready` (finalized), then a verdict
(see VERDICT below) and everything as one JSON object (--json FILE, and on
stdout).  One thread: every WebSocket is read from one selector loop, so a
slow turn delays a chat message, never loses one.
"""

import argparse
import glob
import json
import os
import random
import selectors
import socket
import struct
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import wsclient  # noqa: E402

ROOM = "bench"
HOST = "127.0.0.1"
# The verdict's bounds.  Memory and descriptors compare the last third of
# the minutes with the first third, after the first minute (joins, caches
# and pools filling up).
RSS_GROWTH_MAX = 0.10        # last third's max RSS within 10 % of the first third's
FDS_GROWTH_MAX = 10          # descriptors: within 10 of the first third's max
STAYED_LOSS_MAX_PCT = 0.01   # "near zero": 1 packet in 10,000 for viewers that stayed
# A viewer with no media for 2 s stalled (loadgen's LG_STALL_US): a stall
# leaves no gap in the sequence numbers, so the loss does not show it.

VERDICT = """\
memory flat: max RSS of the last third of the minutes <= (1 + %.2f) x max RSS of the
  first third (minute 1, the joins, left out);
descriptors flat: max open descriptors of the last third <= the first third's + %d;
viewers that stayed: all connected at the end, loss <= %.2f %%, none ever without
  media for 2 s; no viewer silent (2 s without media) at any minute;
churn: every viewer that left was deleted (200) and rejoined with media;
recording: its file grew every minute and was finalized (row `ready`, no .part);
chat and votes: every message acknowledged (`sent`, `voted`), no errors.""" % (
    RSS_GROWTH_MAX, FDS_GROWTH_MAX, STAYED_LOSS_MAX_PCT)


# ---- the server from outside ----------------------------------------------

def proc_sample(pid):
    """RSS (KiB), open descriptors and utime+stime (s) of a process."""
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, fds, cpu


def api(port, path, token):
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path),
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def mint(bin_, data, role, name, room=ROOM):
    out = subprocess.run([bin_, "token", "--data", data, "--room", room, "--role", role,
                          "--name", name], check=True, stdout=subprocess.PIPE, timeout=10)
    return out.stdout.decode().strip().splitlines()[-1]


def recording_files(rec_dir):
    """(path, bytes) of the room's recording files, being written or done."""
    files = glob.glob(os.path.join(rec_dir, ROOM, "*.webm*"))
    return sorted((p, os.path.getsize(p)) for p in files if os.path.isfile(p))


# ---- WebSocket clients -----------------------------------------------------

class Client:
    """One /ws participant: a joined WebSocket read by the selector loop."""

    def __init__(self, name, port, token, stats):
        self.name = name
        self.ws = wsclient.WsClient(HOST, port)
        self.sock = self.ws.sock
        self.buf = self.ws.buf
        self.parts = []
        self.next_id = 1
        self.pending = {}    # id -> kind ("chat", "vote", ...)
        self.stats = stats
        joined = self.ws.request({"type": "join", "token": token}, want=("joined", "error"))
        if joined.get("type") != "joined":
            raise RuntimeError("%s: join refused: %r" % (name, joined))
        self.buf = self.ws.buf
        self.sock.setblocking(False)
        self.on_message = None

    def request(self, msg):
        """A blocking request and its reply (setup only: what else arrives
        meanwhile is skipped)."""
        self.ws.buf = self.buf
        self.sock.settimeout(10)
        try:
            return self.ws.request(msg)
        finally:
            self.buf = self.ws.buf
            self.sock.setblocking(False)

    def send(self, msg, kind):
        msg["id"] = self.next_id
        self.pending[self.next_id] = kind
        self.next_id += 1
        self.stats["sent_" + kind] = self.stats.get("sent_" + kind, 0) + 1
        self.sock.setblocking(True)
        try:
            self.ws.send_json(msg)
        finally:
            self.sock.setblocking(False)

    def readable(self):
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            return False
        self.buf += data
        while True:
            frame = self._frame()
            if frame is None:
                return True
            fin, op, payload = frame
            if op == wsclient.OP_PING:
                self.sock.setblocking(True)
                self.ws.send_frame(wsclient.OP_PONG, payload)
                self.sock.setblocking(False)
            elif op == wsclient.OP_CLOSE:
                return False
            elif op in (wsclient.OP_TEXT, wsclient.OP_CONT):
                self.parts.append(payload)
                if fin:
                    self._message(json.loads(b"".join(self.parts)))
                    self.parts = []

    def _frame(self):
        b = self.buf
        if len(b) < 2:
            return None
        n, h = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, h = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, h = struct.unpack_from("!Q", b, 2)[0], 10
        if len(b) < h + n:
            return None
        self.buf = b[h + n:]
        return bool(b[0] & 0x80), b[0] & 0x0F, b[h:h + n]

    def _message(self, m):
        t = m.get("type")
        re_ = m.get("re")
        kind = self.pending.pop(re_, None) if re_ is not None else None
        if t == "error":
            code = "%s:%s" % (kind or "-", m.get("code"))
            self.stats["errors"][code] = self.stats["errors"].get(code, 0) + 1
        elif kind:
            self.stats["ok_" + kind] = self.stats.get("ok_" + kind, 0) + 1
        if t == "batch":
            n = sum(1 for x in m.get("messages", []) if x.get("type") == "chat")
            self.stats["chat_delivered"] += n
        if self.on_message:
            self.on_message(self, m, kind)

    def close(self):
        try:
            self.sock.setblocking(True)
            self.ws.close()
        except OSError:
            pass


# ---- the run ----------------------------------------------------------------

def sample(a, t0, prev, rec_dir, lg_progress):
    rss, fds, cpu = proc_sample(a.server_pid)
    now = time.monotonic()
    st = api(a.port, "/api/stats", a.admin_token)
    rec = recording_files(rec_dir)
    s = {"t_s": round(now - t0, 1), "rss_kb": rss, "fds": fds, "cpu_s": cpu,
         "cpu_pct": (100 * (cpu - prev["cpu_s"]) / (now - prev["mono"])) if prev else None,
         "mono": now, "sessions": st.get("sessions"), "ws_clients": st.get("ws_clients"),
         "http_connections": st.get("http_connections"),
         "forwarded_packets": st.get("forwarded_packets"),
         "recorder_files_open": st["recordings"]["recorder"]["files_open"],
         "recorder_bytes_written": st["recordings"]["recorder"]["bytes_written"],
         "recorder_drops": st["recordings"]["recorder"]["drops_queue_full"] +
         st["recordings"]["recorder"]["frames_dropped"],
         "recording_bytes": sum(n for _, n in rec), "recording_files": [p for p, _ in rec],
         "loadgen": lg_progress}
    if prev:
        s["forwarded_pps"] = (s["forwarded_packets"] - prev["forwarded_packets"]) / (
            now - prev["mono"])
    return s


def line(minute, s, prev, chat):
    lg = s.get("loadgen") or {}
    st, ch = lg.get("stayed") or {}, lg.get("churned") or {}
    grow = s["recording_bytes"] - prev["recording_bytes"] if prev else 0
    return ("min %3s | rss %7.1f MiB fds %4d cpu %5s%% | sessions %4s ws %3s http %3s"
            " | viewers %4s silent %s stayed %s/%s loss %s%% | churn left %s rejoined %s/%s"
            " | chat %d/%d votes %d/%d polls %d | rec %.1f MiB (+%.1f)" % (
                minute, s["rss_kb"] / 1024, s["fds"],
                "-" if s["cpu_pct"] is None else "%.0f" % s["cpu_pct"], s["sessions"],
                s["ws_clients"], s["http_connections"], lg.get("viewers_connected", "-"),
                lg.get("viewers_silent", "-"), st.get("connected", "-"), st.get("viewers", "-"),
                "-" if "loss_pct" not in st else "%.4f" % st["loss_pct"],
                lg.get("left", "-"), lg.get("rejoins_with_media", "-"),
                lg.get("rejoins_posted", "-"), chat.get("ok_chat", 0), chat.get("sent_chat", 0),
                chat.get("ok_vote", 0), chat.get("sent_vote", 0), chat.get("ok_poll", 0),
                s["recording_bytes"] / 2**20, grow / 2**20))


def last_progress(path):
    try:
        with open(path) as f:
            lines = [l for l in f if l.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def run(a):
    rec_dir = a.recordings_dir or os.path.join(a.data, "recordings")
    stats = {"errors": {}, "chat_delivered": 0}
    progress_path = os.path.join(a.work, "progress.jsonl")
    a.admin_token = mint(a.bin, a.data, "admin", "soak-admin", room="*")
    samples = []
    t0 = time.monotonic()
    samples.append(sample(a, t0, None, rec_dir, None))
    samples[0]["minute"] = 0
    print("soak: %d minutes, %d viewers (%g %% churn a minute), %d chatters at %g msg/s,"
          " %d voters, a poll every %g s, recording on" % (
              a.minutes, a.viewers, a.churn, a.chatters, a.chat_rate, a.voters, a.poll_every),
          flush=True)

    # The host first: recording is on before the publisher arrives.
    host = Client("host", a.port, mint(a.bin, a.data, "presenter", "soak-host"), stats)
    rec = host.request({"type": "record", "id": 0, "on": True})
    if rec.get("type") != "ok":
        raise RuntimeError("record on refused: %r" % rec)
    chatters = [Client("chat-%d" % i, a.port, mint(a.bin, a.data, "viewer", "soak-chat-%d" % i),
                       stats) for i in range(a.chatters)]
    voters = [Client("vote-%d" % i, a.port, mint(a.bin, a.data, "viewer", "soak-vote-%d" % i),
                     stats) for i in range(a.voters)]
    clients = [host] + chatters + voters
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ, c)

    # Timers: (due, action).  Chatters are spread over the first interval.
    rng = random.Random(1)
    timers = []
    for i, c in enumerate(chatters):
        timers.append([time.monotonic() + (i + 1) / (a.chat_rate * max(1, len(chatters))),
                       "chat", c])
    state = {"poll": None, "polls": 0, "votes_due": [], "chat_seq": 0}

    def on_message(c, m, kind):
        if m.get("type") == "poll" and m.get("state") == "open" and c in voters:
            # Vote within the first third of the poll's life.
            when = time.monotonic() + rng.uniform(0.2, max(0.5, a.poll_every / 3))
            timers.append([when, "vote", (c, m["id"], len(m.get("options", [])))])
        if c is host and kind == "poll" and m.get("type") == "poll":
            state["poll"] = m["id"]

    for c in clients:
        c.on_message = on_message

    duration = a.minutes * 60 + 5 - a.viewers / a.join_rate - 2
    cmd = [a.loadgen, "--url", "http://%s:%d" % (HOST, a.port), "--room", ROOM,
           "--publisher-token", mint(a.bin, a.data, "cohost", "soak-pub"),
           "--viewer-token", mint(a.bin, a.data, "viewer", "soak-viewer"),
           "--admin-token", a.admin_token, "--server-pid", str(a.server_pid),
           "--viewers", str(a.viewers), "--join-rate", str(a.join_rate), "--settle", "2",
           "--duration", "%.0f" % max(30, duration), "--churn", str(a.churn),
           "--progress", progress_path, "--progress-every", "10", "--json"] + a.loadgen_args
    lg_out = open(os.path.join(a.work, "report.json"), "w")
    lg_err = open(os.path.join(a.work, "loadgen.log"), "w")
    lg = subprocess.Popen(cmd, stdout=lg_out, stderr=lg_err)
    t_lg = time.monotonic()
    next_poll = t_lg + 5
    next_sample = t_lg + 60
    minute = 0
    prev = samples[0]
    print(line(0, prev, None, stats), flush=True)
    while lg.poll() is None:
        now = time.monotonic()
        if now >= next_poll:
            if state["poll"] is not None:
                host.send({"type": "poll_close", "poll": state["poll"]}, "poll_close")
            state["polls"] += 1
            host.send({"type": "poll_create", "question": "Soak poll %d?" % state["polls"],
                       "options": ["yes", "no", "maybe"], "multiple": False, "quiz": False,
                       "open": True}, "poll")
            next_poll += a.poll_every
        if now >= next_sample:
            minute += 1
            s = sample(a, t0, prev, rec_dir, last_progress(progress_path))
            s["minute"] = minute
            samples.append(s)
            print(line(minute, s, prev, stats), flush=True)
            prev = s
            next_sample += 60
        timers.sort(key=lambda t: t[0])
        while timers and timers[0][0] <= now:
            _, what, arg = timers.pop(0)
            if what == "chat":
                state["chat_seq"] += 1
                arg.send({"type": "chat", "text": "soak %d from %s" % (state["chat_seq"],
                                                                       arg.name)}, "chat")
                timers.append([now + 1 / a.chat_rate, "chat", arg])
                timers.sort(key=lambda t: t[0])
            elif what == "vote":
                c, poll, n = arg
                c.send({"type": "poll_vote", "poll": poll, "choices": [rng.randrange(max(1, n))]},
                       "vote")
        wait = min([next_poll, next_sample, now + 1] + [t[0] for t in timers[:1]]) - now
        for key, _ in sel.select(max(0.0, wait)):
            if not key.data.readable():
                sel.unregister(key.fileobj)
                stats["errors"]["ws-closed:" + key.data.name] = 1
    lg_out.close()
    lg_err.close()
    t_end = time.monotonic()
    end = sample(a, t0, prev, rec_dir, last_progress(progress_path))
    end["minute"] = "end"
    print(line("end", end, prev, stats), flush=True)
    if state["poll"] is not None:
        host.send({"type": "poll_close", "poll": state["poll"]}, "poll_close")
    # Replies still in flight.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            key.data.readable()

    # The publisher left with the loadgen: the recorder finishes the file
    # 5 s after its last packet and the row becomes `ready`.
    finalized = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rows = api(a.port, "/api/recordings?room=%s&kind=track" % ROOM, a.admin_token)
        rows = rows.get("recordings", [])
        if rows and all(r["status"] != "recording" for r in rows):
            finalized = rows
            break
        time.sleep(1)
    files_after = recording_files(rec_dir)
    for c in clients:
        c.close()
    time.sleep(2)
    idle = sample(a, t0, end, rec_dir, None)
    idle["minute"] = "idle"
    print(line("idle", idle, end, stats), flush=True)
    try:
        report = json.load(open(os.path.join(a.work, "report.json")))
    except ValueError:
        report = {"error": "loadgen exited with %d" % lg.returncode}
    for s in samples + [end, idle]:
        s.pop("mono", None)
    return verdict(a, samples, end, idle, report, stats, finalized, files_after,
                   t_end - t_lg)


def thirds(samples):
    """First and last third of the minutes after the first."""
    xs = [s for s in samples if isinstance(s.get("minute"), int) and s["minute"] >= 2]
    if not xs:
        xs = [s for s in samples if isinstance(s.get("minute"), int) and s["minute"] >= 1]
    k = max(1, (len(xs) + 2) // 3)
    return xs[:k], xs[-k:]


def slope(points):
    """Least-squares slope of (x, y) points, or None with fewer than two."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def verdict(a, samples, end, idle, report, stats, finalized, files_after, run_s):
    checks = {}
    first, last = thirds(samples)
    rss_first = max(s["rss_kb"] for s in first) if first else None
    rss_last = max(s["rss_kb"] for s in last) if last else None
    fds_first = max(s["fds"] for s in first) if first else None
    fds_last = max(s["fds"] for s in last) if last else None
    checks["memory_flat"] = bool(first) and rss_last <= (1 + RSS_GROWTH_MAX) * rss_first
    checks["descriptors_flat"] = bool(first) and fds_last <= fds_first + FDS_GROWTH_MAX
    ch = report.get("churn") or {}
    st = ch.get("stayed") or {}
    checks["stayed_no_loss"] = (st.get("connected") == st.get("viewers") and
                                st.get("loss_pct", 100) <= STAYED_LOSS_MAX_PCT and
                                st.get("stalled") == 0)
    checks["no_viewer_silent"] = all((s.get("loadgen") or {}).get("viewers_silent", 0) == 0
                                     for s in samples) and ch.get("viewers_silent") == 0
    checks["churn_all_rejoined"] = (ch.get("left", 0) > 0 and
                                    ch.get("deletes_ok") == ch.get("left") and
                                    ch.get("rejoins_posted") == ch.get("left") and
                                    ch.get("rejoins_with_media") == ch.get("left"))
    sizes = [s["recording_bytes"] for s in samples if isinstance(s.get("minute"), int)
             and s["minute"] >= 1]
    grew = all(b > a_ for a_, b in zip(sizes, sizes[1:])) and len(sizes) >= 1 and sizes[0] > 0
    ready = bool(finalized) and all(r["status"] == "ready" for r in finalized)
    no_part = bool(files_after) and not any(p.endswith(".part") for p, _ in files_after)
    checks["recording_grew_and_finalized"] = grew and ready and no_part
    checks["chat_and_votes_ok"] = (not stats["errors"] and
                                   stats.get("ok_chat", 0) == stats.get("sent_chat", 0) > 0 and
                                   stats.get("ok_vote", 0) == stats.get("sent_vote", 0) > 0)
    ok = all(checks.values())
    later = [s for s in samples if isinstance(s.get("minute"), int) and s["minute"] >= 2]
    figures = {
        "rss_kib_per_min": slope([(s["minute"], s["rss_kb"]) for s in later]),
        "fds_per_min": slope([(s["minute"], s["fds"]) for s in later]),
        "rss_kb_first_third_max": rss_first, "rss_kb_last_third_max": rss_last,
        "rss_growth_pct": 100.0 * (rss_last - rss_first) / rss_first if rss_first else None,
        "fds_first_third_max": fds_first, "fds_last_third_max": fds_last,
        "stayed": st, "churn": {k: v for k, v in ch.items() if k != "stayed"},
        "recording": {"sizes_bytes": sizes, "rows": finalized,
                      "files_after": files_after},
        "chat": {k: v for k, v in stats.items()}, "run_s": run_s,
    }
    print("soak verdict: %s" % ("PASS" if ok else "FAIL"))
    for k, v in checks.items():
        print("  %-30s %s" % (k, "ok" if v else "FAILED"))
    print("  RSS max first third %.1f MiB, last third %.1f MiB (%+.1f %%, slope %s KiB/min);"
          " descriptors %s -> %s" % (
              rss_first / 1024, rss_last / 1024, figures["rss_growth_pct"],
              "-" if figures["rss_kib_per_min"] is None else "%.1f" % figures["rss_kib_per_min"],
              fds_first, fds_last) if first else "  (no samples after minute 1)")
    print("  stayed %s/%s connected, loss %s %% (worst viewer %s %%), %s stalled (longest gap"
          " %s ms); churn: left %s, deletes ok %s, rejoined with media %s, rejoin p50 %s ms"
          " p99 %s ms" % (
              st.get("connected"), st.get("viewers"), st.get("loss_pct"),
              st.get("worst_viewer_loss_pct"), st.get("stalled"), st.get("max_media_gap_ms"),
              ch.get("left"), ch.get("deletes_ok"),
              ch.get("rejoins_with_media"), (ch.get("rejoin_ms") or {}).get("p50"),
              (ch.get("rejoin_ms") or {}).get("p99")))
    print("  recording %s, %.1f MiB, %.0f s; chat %d/%d acknowledged (%d deliveries), votes %d/%d,"
          " polls %d, errors %s" % (
              ",".join(r["status"] for r in finalized or []) or "not finalized",
              sum(n for _, n in files_after) / 2**20,
              sum(r.get("duration_s") or 0 for r in finalized or []), stats.get("ok_chat", 0),
              stats.get("sent_chat", 0), stats["chat_delivered"], stats.get("ok_vote", 0),
              stats.get("sent_vote", 0), stats.get("ok_poll", 0), stats["errors"] or "none"))
    print("  idle after the run: rss %.1f MiB, fds %d, sessions %s (before the run: %.1f MiB,"
          " %d fds)" % (idle["rss_kb"] / 1024, idle["fds"], idle["sessions"],
                        samples[0]["rss_kb"] / 1024, samples[0]["fds"]))
    return {"verdict": "pass" if ok else "fail", "checks": checks, "figures": figures,
            "definition": VERDICT, "samples": samples, "end": end, "idle": idle,
            "loadgen": report,
            "params": {"minutes": a.minutes, "viewers": a.viewers, "churn_pct": a.churn,
                       "chatters": a.chatters, "chat_rate": a.chat_rate, "voters": a.voters,
                       "poll_every_s": a.poll_every}}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--loadgen", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--recordings-dir")
    p.add_argument("--work", required=True, help="directory for the loadgen's files")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--minutes", type=int, default=60)
    p.add_argument("--viewers", type=int, default=1000)
    p.add_argument("--join-rate", type=float, default=100)
    p.add_argument("--churn", type=float, default=10, help="%% of viewers per minute")
    p.add_argument("--chatters", type=int, default=5)
    p.add_argument("--chat-rate", type=float, default=1, help="messages/s per chatter")
    p.add_argument("--voters", type=int, default=20)
    p.add_argument("--poll-every", type=float, default=60)
    p.add_argument("--json", help="also write the result here")
    p.add_argument("--loadgen-args", default="", help="more loadgen flags")
    a = p.parse_args()
    a.loadgen_args = a.loadgen_args.split()
    out = run(a)
    text = json.dumps(out)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0 if out["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
