"""A WebSocket client joined to a room that records what the server sends."""

import socket
import threading

import wsclient


class RoomWatcher:
    """A WebSocket client joined to a room that records every message in a
    background thread (and so answers the server's pings while the test is
    busy elsewhere)."""

    def __init__(self, server, room):
        self.ws = wsclient.WsClient("127.0.0.1", server.port)
        msg = self.ws.request({"type": "join", "id": "w", "token": server.token(room, "viewer")},
                              want=("joined", "error"))
        if msg.get("type") != "joined":
            raise AssertionError("watcher could not join %s: %r" % (room, msg))
        self.messages = []
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.messages.append(self.ws.recv_json(timeout=0.2))
            except socket.timeout:
                continue
            except Exception as e:  # WsClosed, or the socket closed by close()
                if not self._stop.is_set():
                    self.error = e
                return

    def of_type(self, kind):
        return [m for m in list(self.messages) if m.get("type") == kind]

    def close(self):
        self._stop.set()
        self._thread.join(2.0)
        self.ws.close()
