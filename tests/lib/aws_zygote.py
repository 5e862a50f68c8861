"""tests/lib/aws_zygote.py: run Debian's aws CLI (awscli 2, /usr/bin/aws)
without paying its ~1.2 s of start-up per command.

  aws_zygote.py serve SOCKET   import awscli once, then serve SOCKET: for
                               each caller fork a child that runs
                               awscli.clidriver.main() with the caller's
                               arguments, environment, working folder and
                               stdin/stdout/stderr (passed as file
                               descriptors), and send back its exit status
  aws_zygote.py call SOCKET ARG...
                               one aws command through SOCKET; exits with
                               the command's status (255 if the zygote
                               did not answer)

The child is what /usr/bin/aws would be after its imports: the same
main(), the caller's real descriptors, environment and folder, a process
of its own (so calls may run at once). The S3 tests (tests/lib/s3.sh)
make over a hundred aws calls; `aws --version` alone takes ~1.2 s here,
a call through the zygote ~0.6 s (the rest is model loading and the
request). `call` runs under `python3 -S` (standard library only). A
child still running after CHILD_LIMIT seconds is killed by its own
alarm, so a caller killed by `timeout` leaves no command running longer.
"""
import json
import os
import signal
import socket
import struct
import sys

CHILD_LIMIT = 300


def run_child(conn):
    """In the forked child: take the caller's request, become that aws
    command, reply with its exit status."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3 or len(data) < 4:
        os._exit(255)
    want = struct.unpack("!I", data[:4])[0] + 4
    while len(data) < want:
        piece = conn.recv(want - len(data))
        if not piece:
            os._exit(255)
        data += piece
    req = json.loads(data[4:])
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        os.close(fd)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    import awscli

    # what importing awscli does to the environment, as it would have done
    # in the caller's: its data folder joins AWS_DATA_PATH
    old = os.environ.get("AWS_DATA_PATH")
    paths = [] if old is None else [
        os.path.expanduser(os.path.expandvars(p)) for p in old.split(os.pathsep)]
    paths.append(os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), "data"))
    os.environ["AWS_DATA_PATH"] = os.pathsep.join(paths)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.alarm(CHILD_LIMIT)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")
    sys.argv = ["aws"] + req["argv"]
    import awscli.clidriver

    try:
        rc = awscli.clidriver.main()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    try:
        conn.sendall(struct.pack("!i", rc))
    finally:
        os._exit(rc & 0xFF)


def serve(path):
    # Only the import: running a command here would start awscrt's native
    # threads, and a child forked from a threaded parent can hang on a lock
    # one of them held.
    import awscli.clidriver  # noqa: F401

    if len(os.listdir("/proc/self/task")) != 1:
        sys.exit("aws_zygote: importing awscli started a thread; forking is not safe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path + ".new")
    lsock.listen(64)
    os.rename(path + ".new", path)  # the socket appears once it listens
    while True:
        conn, _ = lsock.accept()
        if os.fork() == 0:
            lsock.close()
            try:
                run_child(conn)
            finally:
                os._exit(255)
        conn.close()


def call(path, argv):
    req = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()})
    req = req.encode()
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:  # closed in the caller: the command gets /dev/null
            fds.append(os.open(os.devnull, os.O_RDWR))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        socket.send_fds(s, [struct.pack("!I", len(req)) + req], fds)
        got = b""
        while len(got) < 4:
            piece = s.recv(4 - len(got))
            if not piece:
                break
            got += piece
    except OSError as e:
        sys.stderr.write("aws_zygote: %s: %s\n" % (path, e))
        return 255
    if len(got) < 4:
        sys.stderr.write("aws_zygote: the aws command ended without a status\n")
        return 255
    return struct.unpack("!i", got)[0] & 0xFF


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "call":
        sys.exit(call(sys.argv[2], sys.argv[3:]))
    else:
        sys.stderr.write("usage: aws_zygote.py serve SOCKET | call SOCKET ARG...\n")
        sys.exit(2)
