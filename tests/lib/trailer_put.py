#!/usr/bin/python3
# tests/lib/trailer_put.py: a PUT with a chunked body and trailers, as the
# proxy sends its hashed uploads (test 109): curl's command line sends no
# trailers.
#
#   trailer_put.py URL BODY_FILE [-H "Name: value"]... [-T "Name: value"]...
#
# -H adds a header, -T a trailer (and names it in the Trailer header).
# Prints the status and the ETag of the answer ("201 <etag>").
import socket
import sys
import urllib.parse

url, body_path = sys.argv[1], sys.argv[2]
headers, trailers = [], []
args = sys.argv[3:]
for flag, value in zip(args[::2], args[1::2]):
    (headers if flag == "-H" else trailers).append(value)
body = open(body_path, "rb").read()
u = urllib.parse.urlsplit(url)
s = socket.create_connection((u.hostname, u.port))
head = ["PUT %s HTTP/1.1" % u.path, "Host: %s" % u.netloc,
        "Transfer-Encoding: chunked", "Connection: close"] + headers
if trailers:
    head.append("Trailer: " + ", ".join(t.split(":")[0] for t in trailers))
out = ("\r\n".join(head) + "\r\n\r\n").encode()
for i in range(0, len(body), 65536):
    piece = body[i:i + 65536]
    out += b"%x\r\n" % len(piece) + piece + b"\r\n"
out += b"0\r\n" + "".join(t + "\r\n" for t in trailers).encode() + b"\r\n"
s.sendall(out)
resp = b""
while True:
    got = s.recv(65536)
    if not got:
        break
    resp += got
lines = resp.split(b"\r\n\r\n")[0].decode().split("\r\n")
etag = ""
for line in lines[1:]:
    name, _, value = line.partition(":")
    if name.strip().lower() == "etag":
        etag = value.strip().strip('"')
print(lines[0].split()[1], etag)
