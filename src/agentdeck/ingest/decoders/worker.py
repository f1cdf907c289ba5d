"""A JSON batch decode worker: ``python -m agentdeck.ingest.decoders.worker``.

The server (:mod:`.pool`) starts these beside itself so that decoding large
``/metrics/batch`` bodies runs on another core than its event loop. The worker reads requests
from standard input and answers each, in order, on standard output:

* request: :data:`REQUEST` (``max_samples``, ``now_ms``, body length) then the body;
* answer: :data:`ANSWER` (payload length) then a pickle of :class:`~.json_fast.Decoded`,
  ``None`` (the general parser must read the body) or a ``str`` (decoding failed: why).

It imports only :mod:`.json_fast` and what that needs, and exits when its input closes
(the server stopped or died).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import sys
from typing import BinaryIO

REQUEST = struct.Struct("<qqQ")
ANSWER = struct.Struct("<Q")


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until ``requests`` ends."""
    from agentdeck.ingest.decoders.json_fast import LabelMemo, decode

    memo = LabelMemo()
    while True:
        head = requests.read(REQUEST.size)
        if len(head) < REQUEST.size:
            return
        max_samples, now_ms, length = REQUEST.unpack(head)
        body = requests.read(length)
        if len(body) < length:
            return
        try:
            result: object = decode(body, max_samples=max_samples, now_ms=now_ms, memo=memo)
        except Exception as exc:  # a bug: the server decodes this body itself and logs why
            result = f"{type(exc).__name__}: {exc}"
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(ANSWER.pack(len(payload)))
        answers.write(payload)
        answers.flush()


def main() -> None:
    # Decoding makes no reference cycles; the cyclic collector would only walk the
    # thousands of short-lived objects of each body, again and again.
    gc.disable()
    # Ctrl-C reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers go to a private copy of standard output; anything printed goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with answers:
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
