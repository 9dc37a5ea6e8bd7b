#!/usr/bin/env python3
"""fake_peer.py - a malicious Redis server or MQTT broker for hostile-peer tests (issue 12).

It listens on a loopback port. Each accepted connection takes the next mode of a list: a bad
mode waits for the client's first bytes, answers them with malformed protocol, and closes
(or keeps streaming); once the list is used up, every later connection is proxied byte for
byte to the real peer, so the client must reconnect and then work normally.

Redis modes (RESP):
  huge_bulk      "$9223372036854775807" then a few bytes, close
  huge_bulk_data "$1000000000" then 8 MiB of data, close (the client buffers what it gets)
  huge_array     "*2147483647", close
  huge_array_max "*9223372036854775807", close
  deep_nesting   "*1" nested 100 000 times
  truncated      "$10\\r\\nabc", close
  garbage        "!bogus", close
  negative_bulk  "$-5", close
  long_line      "+" and 4 MiB without CRLF, close
MQTT modes (replies to CONNECT; v5 framing):
  connack_huge      CONNACK claiming 268 435 455 bytes, a few sent, close
  bad_varint        a remaining length of five bytes (malformed), close
  connack_props     CONNACK whose property length runs past the packet, close
  publish_truncated a good CONNACK, then a PUBLISH whose topic length passes its end
  publish_bad_topic a good CONNACK, SUBACK, then a PUBLISH whose topic is invalid UTF-8
  garbage           packet type 0 (reserved), close
and "proxy" (implicit at the end).

usage: fake_peer.py redis|mqtt REAL_PORT MODE[,MODE...]   (prints "port N", then serves;
       one line "conn I MODE" per connection on stdout)
"""
import socket
import sys
import threading

REDIS = {
    "huge_bulk": [b"$9223372036854775807\r\nabc"],
    "huge_bulk_data": [b"$1000000000\r\n"] + [b"x" * 65536] * 128,
    "huge_array": [b"*2147483647\r\n"],
    "huge_array_max": [b"*9223372036854775807\r\n"],
    "deep_nesting": [b"*1\r\n" * 100_000],
    "truncated": [b"$10\r\nabc"],
    "garbage": [b"!bogus\r\n"],
    "negative_bulk": [b"$-5\r\n"],
    "long_line": [b"+"] + [b"y" * 65536] * 64,
}

CONNACK_OK = b"\x20\x03\x00\x00\x00"  # v5: flags, reason 0, no properties
MQTT = {
    "connack_huge": [b"\x20\xff\xff\xff\x7f\x00\x00\x00"],
    "bad_varint": [b"\x20\xff\xff\xff\xff\x01\x00"],
    "connack_props": [b"\x20\x07\x00\x00\xff\xff\xff\x7f\x00"],
    "publish_truncated": [CONNACK_OK, b"\x30\x05\x00\x40ab\x00"],
    "publish_bad_topic": [CONNACK_OK, "suback", b"\x30\x07\x00\x02\xff\xfe\x00{}"],
    "garbage": [b"\x00\x00"],
}


def proxy(a, real_port):
    try:
        b = socket.create_connection(("127.0.0.1", real_port))
    except OSError:
        a.close()
        return

    def pump(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    threading.Thread(target=pump, args=(a, b), daemon=True).start()
    threading.Thread(target=pump, args=(b, a), daemon=True).start()


def suback_for(data):
    """A v5 SUBACK (granted QoS 1 per filter) for the SUBSCRIBE in data, or None."""
    i = data.find(b"\x82")
    if i < 0 or i + 4 > len(data):
        return None
    # remaining length (1 byte for the small SUBSCRIBEs of the tests), then packet id
    pid = data[i + 2:i + 4]
    return b"\x90\x04" + pid + b"\x00\x01"


def bad(conn, proto, mode):
    conn.settimeout(10)
    try:
        data = conn.recv(65536)  # the client's first command / CONNECT
        for chunk in (REDIS if proto == "redis" else MQTT)[mode]:
            if chunk == "suback":
                more = b""
                while suback_for(more) is None:
                    got = conn.recv(65536)
                    if not got:
                        return
                    more += got
                conn.sendall(suback_for(more))
                continue
            conn.sendall(chunk)
        del data
    except OSError:
        pass
    finally:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()


def main():
    proto, real_port = sys.argv[1], int(sys.argv[2])
    modes = [m for m in sys.argv[3].split(",") if m] if len(sys.argv) > 3 else []
    table = REDIS if proto == "redis" else MQTT
    for m in modes:
        if m not in table:
            sys.exit("unknown %s mode %s" % (proto, m))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print("port %d" % srv.getsockname()[1], flush=True)
    n = 0
    while True:
        conn, _ = srv.accept()
        mode = modes[n] if n < len(modes) else "proxy"
        print("conn %d %s" % (n, mode), flush=True)
        n += 1
        if mode == "proxy":
            proxy(conn, real_port)
        else:
            threading.Thread(target=bad, args=(conn, proto, mode), daemon=True).start()


if __name__ == "__main__":
    main()
