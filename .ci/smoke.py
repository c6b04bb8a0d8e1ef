"""
Start C{twistd -n eofrelay} (the given twistd), or the given C{eofrelay}
command, talk to it like the article's client, stop it with SIGTERM; print
its log and fail loudly on any surprise.  Bounded in time everywhere.
"""

import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

program = sys.argv[1]
service = ["--gpio", "memory", "--listen", "tcp:0:interface=127.0.0.1"]
if Path(program).name == "twistd":
    command = [program, "-n", "--pidfile=", "eofrelay", *service]
else:
    command = [program, *service]
process = subprocess.Popen(
    command,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
)
output = b""
port = None
selector = selectors.DefaultSelector()
selector.register(process.stdout, selectors.EVENT_READ)
deadline = time.monotonic() + 30
while port is None and time.monotonic() < deadline:
    if selector.select(timeout=1):
        chunk = process.stdout.read1(65536)
        if not chunk:
            break
        output += chunk
        match = re.search(rb"RelayFactory starting on (\d+)", output)
        if match:
            port = int(match.group(1))
if port is None:
    process.kill()
    sys.exit(f"smoke: {program} did not start listening:\n" + output.decode())


def article_client(message):
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        client.sendall(message)
        return client.recv(1024)
    finally:
        client.close()


expected = {
    b"on<EOF>": b"success<EOF>",
    b"off<EOF>": b"success<EOF>",
    b"invalid<EOF>": b"error: unknown command<EOF>",
}
for message, reply in expected.items():
    got = article_client(message)
    if got != reply:
        process.kill()
        sys.exit(f"smoke: {message!r} got {got!r}, expected {reply!r}")

process.send_signal(signal.SIGTERM)
try:
    rest, _ = process.communicate(timeout=30)
except subprocess.TimeoutExpired:
    process.kill()
    sys.exit(f"smoke: {program} did not stop on SIGTERM")
output += rest
print(output.decode())
if b"Server Shut Down." not in output or b"Traceback" in output:
    sys.exit(f"smoke: {program} did not shut down cleanly")
print("smoke: ok")
