"""Verifies a reliable-message check-back call (standard library only).

As a script (used by the tests): verify.py SECRET METHOD PATH < request  where the request is the
timestamp header value, a newline, the signature header value, a newline, then the body.
Exits 0 when the call is genuine and fresh, 1 otherwise.
"""
import hashlib
import hmac
import sys
import time

MAX_AGE_S = 300  # refuse replays older than five minutes


def verify(secret: str, method: str, path: str, timestamp: str, signature: str, body: bytes) -> bool:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_S:
        return False
    signed = f"{method.upper()}\n{path}\n{timestamp}\n".encode() + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


if __name__ == "__main__":
    secret, method, path = sys.argv[1:4]
    timestamp, signature, body = sys.stdin.buffer.read().split(b"\n", 2)
    sys.exit(0 if verify(secret, method, path, timestamp.decode(), signature.decode(), body) else 1)
