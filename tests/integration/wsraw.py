"""A raw WebSocket client over a plain socket, for what a real client
library will not send: handshakes written byte by byte, unmasked frames,
invalid UTF-8, frames glued to the handshake, a client that never reads.

Blocking sockets with timeouts; nothing here is asyncio.
"""

import base64
import hashlib
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# The key of RFC 6455 section 1.3 and the answer it must get.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
KEY_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_for(key):
    digest = hashlib.sha1(key.encode() + GUID).digest()
    return base64.b64encode(digest).decode()


def request_bytes(port, path="/ws", method="GET", headers=None):
    """A handshake request; headers maps name to value, None drops a
    default header."""
    h = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket",
         "Connection": "Upgrade", "Sec-WebSocket-Key": KEY,
         "Sec-WebSocket-Version": "13"}
    for k, v in (headers or {}).items():
        h[k] = v
    lines = ["%s %s HTTP/1.1" % (method, path)]
    lines += ["%s: %s" % (k, v) for k, v in h.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_head(sock, timeout=5.0):
    """Reads an HTTP answer head (and what follows it so far). Returns
    (status, headers with lower-case names, rest) or (None, {}, data) when
    the connection ends first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None, {}, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    return status, headers, rest


def exchange(port, data, timeout=5.0):
    """Sends raw bytes, returns (status, headers, body-so-far); the body is
    read to the end when the answer is not 101."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        status, headers, rest = read_head(s, timeout)
        if status is not None and status != 101:
            n = int(headers.get("content-length", "0"))
            while len(rest) < n:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        return status, headers, rest


def encode_frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


class RawWS:
    """One connection: the handshake is done by connect()."""

    def __init__(self, sock, rest=b""):
        self.sock = sock
        self.buf = rest

    @classmethod
    def connect(cls, port, self_id, role="Universal", path="/ws",
                headers=None, extra=b"", timeout=5.0):
        """Opens a connection; extra is sent in the same write as the
        handshake (the first frames glued to it)."""
        hdrs = {"X-Self-ID": str(self_id)}
        if role is not None:
            hdrs["X-Client-Role"] = role
        hdrs.update(headers or {})
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.sendall(request_bytes(port, path, headers=hdrs) + extra)
        status, h, rest = read_head(s, timeout)
        if status != 101:
            s.close()
            raise AssertionError("raw handshake got %r" % status)
        if h.get("sec-websocket-accept") != KEY_ACCEPT:
            s.close()
            raise AssertionError("bad Sec-WebSocket-Accept %r" % h)
        return cls(s, rest)

    def send(self, opcode, payload=b"", **kw):
        self.sock.sendall(encode_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        self.send(TEXT, text, **kw)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def recv(self, timeout=3.0):
        """Returns (opcode, fin, payload), None at EOF; raises socket.timeout
        when nothing comes in time."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if not self._fill(4, deadline):
                return None
            n = struct.unpack("!H", self.buf[2:4])[0]
            pos = 4
        elif n == 127:
            if not self._fill(10, deadline):
                return None
            n = struct.unpack("!Q", self.buf[2:10])[0]
            pos = 10
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
        if not self._fill(pos + n, deadline):
            return None
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        return b0 & 0x0F, bool(b0 & 0x80), payload

    def recv_data(self, timeout=3.0):
        """The next text/binary payload, answering pings on the way."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv(max(0.01, deadline - time.monotonic()))
            if f is None:
                raise AssertionError("connection ended, no data frame")
            op, _, payload = f
            if op == PING:
                self.send(PONG, payload)
                continue
            if op == CLOSE:
                raise AssertionError("close frame %r instead of data"
                                     % (close_code(payload),))
            return op, payload

    def wait_close(self, timeout=3.0):
        """Reads until a close frame; returns its code (or "eof" if the
        connection ended without one)."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv(max(0.01, deadline - time.monotonic()))
            if f is None:
                return "eof"
            if f[0] == CLOSE:
                return close_code(f[2])

    def eof_within(self, timeout):
        """Whether the server ends the TCP connection within timeout
        (frames before that are read and dropped)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.recv(max(0.01, deadline - time.monotonic())) is None:
                    return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def close_code(payload):
    if len(payload) >= 2:
        return struct.unpack("!H", payload[:2])[0]
    return None
