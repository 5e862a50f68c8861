#!/usr/bin/python3
# tests/lib/slow_relay.py: a TCP relay in front of one HTTP server that
# holds back the final answer to requests whose request line matches a
# pattern, for the tests of writes answered at quorum (test 518).
#
#   slow_relay.py LISTEN_PORT TARGET_PORT DELAY PATTERN LOG
#
# Bytes go through unchanged both ways; an answer from the server other
# than "HTTP/1.1 100 Continue", to a request whose request line matched
# PATTERN (a regular expression on bytes), is sent DELAY seconds late.
# Each held answer writes "held <request line>" to LOG when it is let go.
# Requests on one connection come one after another (HTTP/1.1 without
# pipelining), so the last request line seen is the one answered.
import re
import socket
import sys
import threading
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
delay, pattern, log_path = float(sys.argv[3]), re.compile(sys.argv[4].encode()), sys.argv[5]
log_lock = threading.Lock()
REQ = re.compile(rb"(?:GET|PUT|HEAD|POST|DELETE|REPLICATE|SSYNC) (\S+) HTTP/1\.1\r\n")


def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(line + "\n")


def serve(client):
    server = socket.create_connection(("127.0.0.1", target_port))
    state = {"line": b"", "hold": False}

    def up():  # client -> server
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                m = REQ.search(data[:4096])
                if m and data[:m.start()].strip() == b"":
                    state["line"] = m.group(0).strip()
                    state["hold"] = bool(pattern.search(m.group(1)))
                server.sendall(data)
        except OSError:
            pass
        finally:
            try:
                server.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    t = threading.Thread(target=up, daemon=True)
    t.start()
    try:
        while True:
            data = server.recv(65536)
            if not data:
                break
            if state["hold"] and not data.startswith(b"HTTP/1.1 100"):
                state["hold"] = False
                time.sleep(delay)
                log("held " + state["line"].decode(errors="replace"))
            client.sendall(data)
    except OSError:
        pass
    finally:
        client.close()
        server.close()


lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", listen_port))
lsock.listen(64)
while True:
    conn, _ = lsock.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
