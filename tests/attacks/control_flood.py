"""A hostile caller of patdesk's control socket, run as an OS user by tests/insiders.rs.

usage: control_flood.py SOCKET COUNT PAYLOAD

Holds COUNT connections open, each sending PAYLOAD once: `flood` is 1 MB with no line end,
anything else is sent as a request line (its answer read, then the connection made again).
Whatever the daemon closes is opened again at once, so COUNT stay open for as long as the
attack lasts. Prints {"open": N} once all are first opened, runs until its stdin closes,
then prints what the daemon answered: {"opened", "answers", "busy", "refused"}.
"""

import json
import resource
import selectors
import socket
import sys
import threading

path, count, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = b"x" * 1_000_000 if payload == "flood" else payload.encode() + b"\n"
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
selector = selectors.DefaultSelector()
totals = {"opened": 0, "answers": 0, "busy": 0, "refused": 0}
received = {}


def open_one():
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        connection.close()
        return
    connection.setblocking(False)
    try:
        connection.send(data)
    except OSError:
        pass  # refused and closed before it was read: the answer waits all the same
    totals["opened"] += 1
    received[connection] = b""
    selector.register(connection, selectors.EVENT_READ)


def tally(answer):
    for line in answer.splitlines():
        try:
            reply = json.loads(line)
        except ValueError:
            continue
        if "answer" in reply:
            totals["answers"] += 1
        elif reply.get("error") == "busy":
            totals["busy"] += 1
        else:
            totals["refused"] += 1


for _ in range(count):
    open_one()
print(json.dumps({"open": len(selector.get_map())}), flush=True)
while not stop.is_set():
    for key, _ in selector.select(timeout=0.1):
        connection = key.fileobj
        try:
            chunk = connection.recv(1 << 16)
        except OSError:
            chunk = b""
        if chunk:
            received[connection] += chunk
            continue
        selector.unregister(connection)
        connection.close()
        tally(received.pop(connection))
        open_one()
print(json.dumps(totals), flush=True)
