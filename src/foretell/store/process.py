"""The projector in a child process, at idle CPU priority while it keeps up.

Projecting costs tens of microseconds of Python per outcome, done in bursts of a batch. On the
server's interpreter that time was taken from the event loop answering orders (the GIL); in a
child at normal priority it still took the loop's CPU: on two cores, with the scheduler's
slices, a waking event loop queued behind it for milliseconds. Measured at 2,000 orders/s over
WebSocket, ack p99 was 5.6-6.0 ms with the projector in a thread or a normal child, 2.3-2.4 ms
with the child at `SCHED_IDLE` (Linux), about what it is with no projector at all.

An idle-priority child can starve while the machine is saturated, and the read model must not
fall behind without bound. So when a batch gets no reply within `patience_s` the child goes to
normal priority, and back to idle once only small batches have come for `calm_s` (0.5 s).
Leaving `SCHED_IDLE` needs CAP_SYS_NICE (root, or `LimitNICE=-20` / `AmbientCapabilities` in a
systemd unit); without it the starved child is killed (its transaction rolls back) and a new one
at normal priority takes the batch, and the work, until the load has been gone for
`calm_after_kill_s` (30 s: each such escalation costs a new interpreter). On SQLite a starved
child holds the write lock only for the short write at the end of a batch (the reads come
first); other writers wait for it at most until the escalation.

`ProjectorProcess.apply` has the contract of `Projector.apply`. The database URL is the first
frame down the child's stdin (an argument would show a password in `ps`); then each batch goes
down as one MessagePack frame (commands as their journal records) and the reply (applied
count, anomalies, or the failure, pickled) comes back on its stdout. Exactly-once is the
projector's own (`last_seq` in the batch's transaction), so a batch may be sent again after any
failure. A child that dies is started afresh on the next `apply`; one whose parent dies sees
end-of-file, finishes the batch in hand and exits. The pickled replies pass only between
processes of one installation.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from foretell.domain.outcome import decode_outcomes, encode_outcomes

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("<I")
_HELLO = b"ready"
IDLE_SUPPORTED = hasattr(os, "SCHED_IDLE")


_PIPE_BYTES = 1 << 20  # a batch of 2,000 outcomes is about 210 KB: one write, never blocked


class ProjectorProcessDied(RuntimeError):
    """The child process ended, its pipes broke or its replies went out of step; the next
    `apply` starts a new one."""


class ProjectorProcess:
    def __init__(self, db_url: str, idle: bool = True, patience_s: float = 0.5,
                 start_patience_s: float = 5.0, calm_s: float = 0.5,
                 calm_after_kill_s: float = 30.0, calm_size: int = 500) -> None:
        self.db_url = db_url
        self.idle_allowed = idle and IDLE_SUPPORTED
        self.patience_s = patience_s  # for a reply to a batch
        self.start_patience_s = start_patience_s  # for a new child's imports and connection
        self.calm_s = calm_s  # only small batches for this long: back to idle priority
        # ... or this long once a starved child had to be killed (no right to raise it in
        # place), since then each escalation costs a new interpreter.
        self.calm_after_kill_s = calm_after_kill_s
        self.kills = 0
        self.calm_size = calm_size
        self.anomalies = 0  # as reported by the children's projectors
        self.escalations = 0  # times an idle child starved and went to normal priority
        self._child: subprocess.Popen[bytes] | None = None
        self._ready = False  # the child has connected and said so
        self._killed: list[subprocess.Popen[bytes]] = []  # reaped once they are gone
        self._idle = self.idle_allowed
        self._busy_at = 0.0  # when the last big batch (or starvation) was seen
        try:
            self._start()  # now, so the child's imports overlap the server's start
        except OSError:
            self._stop()  # the first `apply` tries again

    @property
    def idle(self) -> bool:
        """Whether the child runs at idle priority."""
        return self._idle

    def apply(self, outcomes: Sequence[Any]) -> int:
        """Project `outcomes` in the child; raise what the child's projector raised."""
        if not outcomes:
            return 0
        last_seq = outcomes[-1].seq
        payload = encode_outcomes(outcomes)
        reply = self._exchange(payload)
        if reply is None:  # starved at idle priority
            log.warning("projector at idle priority starved: normal priority until the load "
                        "has been gone for %.0f s", self.calm_s)
            self.escalations += 1
            self._busy_at = time.monotonic()
            if self._set_idle(False):
                reply = self._finish_exchange(payload, None)
            else:  # not allowed to raise it: a new child at normal priority takes the batch
                self.kills += 1
                self._stop(kill=True)
                self._idle = False
                reply = self._exchange(payload)
            assert reply is not None
        status, seq, value, anomalies = pickle.loads(reply)
        if seq != last_seq:  # never expected; would misattribute every later reply
            self._stop(kill=True)
            raise ProjectorProcessDied(f"reply for seq {seq}, batch ends at {last_seq}")
        self.anomalies += anomalies
        if status == "error":
            raise value
        self._settle(len(outcomes))
        return int(value)

    def close(self) -> None:
        if self._idle:
            self._set_idle(False)  # let it finish its batch and exit, however busy the CPUs
        self._stop()
        for child in self._killed:
            child.wait()
        self._killed.clear()

    def _exchange(self, payload: bytes) -> bytes | None:
        """Send one frame and read the reply; None if an idle child did not answer in time
        (the frame is then in the pipe and `_finish_exchange` reads the reply)."""
        with self._in_step():
            child = self._child
            if child is None or child.poll() is not None:
                self._stop()
                child = self._start()
            assert child.stdin is not None and child.stdout is not None
            if not self._ready:
                if self._wait(self.start_patience_s if self._idle else None) is None:
                    return None
            _write_frame(child.stdin, payload)
        return self._finish_exchange(payload, self.patience_s if self._idle else None)

    def _finish_exchange(self, payload: bytes, timeout_s: float | None) -> bytes | None:
        with self._in_step():
            if not self._ready:  # escalated while the new child was still starting
                self._wait(None)
                assert self._child is not None and self._child.stdin is not None
                _write_frame(self._child.stdin, payload)
            return self._wait(timeout_s)

    @contextlib.contextmanager
    def _in_step(self) -> Iterator[None]:
        """Any failure while talking to the child may leave the pipes out of step (a frame half
        written, a reply unread): the child goes, and the next `apply` starts another."""
        try:
            yield
        except BaseException as exc:
            self._stop(kill=True)
            if isinstance(exc, OSError | EOFError):
                raise ProjectorProcessDied(f"projector process ended: {exc}") from exc
            raise

    def _wait(self, timeout_s: float | None) -> bytes | None:
        """The child's next frame (marking it ready if that was its hello), or None when
        `timeout_s` passes first."""
        child = self._child
        assert child is not None and child.stdout is not None
        if timeout_s is not None:
            poller = select.poll()  # poll, not select: any descriptor number
            poller.register(child.stdout.fileno(), select.POLLIN)
            if not poller.poll(timeout_s * 1000):
                return None
        frame = _read_frame(child.stdout)
        if not self._ready:
            if frame != _HELLO:
                raise EOFError(f"expected the child's hello, got {frame[:40]!r}")
            self._ready = True
        return frame

    def _set_idle(self, idle: bool) -> bool:
        """Change the child's policy in place; False if the OS refused (leaving SCHED_IDLE
        needs CAP_SYS_NICE or an RLIMIT_NICE of 20; entering it is always allowed)."""
        child = self._child
        if child is None:
            self._idle = idle
            return True
        policy = os.SCHED_IDLE if idle else os.SCHED_OTHER
        try:
            os.sched_setscheduler(child.pid, policy, os.sched_param(0))
        except PermissionError:
            return False
        except ProcessLookupError:
            pass  # already gone: the next `apply` starts another
        self._idle = idle
        return True

    def _settle(self, size: int) -> None:
        """Back to idle priority once only small batches have come for a calm while."""
        now = time.monotonic()
        if size > self.calm_size:
            self._busy_at = now
        elif not self._idle and self.idle_allowed:
            calm = self.calm_after_kill_s if self.kills else self.calm_s
            if now - self._busy_at >= calm:
                self._set_idle(True)

    def _start(self) -> subprocess.Popen[bytes]:
        self._reap()
        self._ready = False
        self._child = subprocess.Popen([sys.executable, "-m", "foretell.store.process"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self._idle:  # set here, so it holds from the child's first import
            os.sched_setscheduler(self._child.pid, os.SCHED_IDLE, os.sched_param(0))
        assert self._child.stdin is not None
        _grow_pipe(self._child.stdin)
        _write_frame(self._child.stdin, self.db_url.encode())
        return self._child

    def _stop(self, kill: bool = False) -> None:
        child, self._child = self._child, None
        self._ready = False
        if child is None:
            return
        try:
            if kill:
                child.kill()
                # A starved idle child may take a while to be scheduled to die (until then it
                # may hold the database's write lock: the retry waits for it); reaped later.
                self._killed.append(child)
            else:
                if child.stdin is not None:
                    child.stdin.close()  # end-of-file: the child exits after the batch in hand
                child.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            self._killed.append(child)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a pipe the killed child left with unread data
        self._reap()

    def _reap(self) -> None:
        self._killed = [c for c in self._killed if c.poll() is None]


def _grow_pipe(stream: IO[bytes]) -> None:
    """A pipe big enough for a whole batch, so the patience clock starts at once (Linux)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # the default (64 KB) only delays the clock until the child reads


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the other end closed the pipe")
    (length,) = _LENGTH.unpack(head)
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError("the pipe closed inside a frame")
    return payload


def _reply(status: str, seq: int, value: Any, anomalies: int) -> bytes:
    try:
        return pickle.dumps((status, seq, value, anomalies), pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle (driver errors may hold sockets)
        failure = RuntimeError(f"{type(value).__name__}: {str(value)[:2_000]}")
        return pickle.dumps((status, seq, failure, anomalies), pickle.HIGHEST_PROTOCOL)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: the database URL, then one batch in and one reply out until EOF."""
    from foretell.store.db import connect
    from foretell.store.projector import Projector

    db = connect(_read_frame(requests).decode())
    projector = Projector(db)
    _write_frame(replies, _HELLO)
    try:
        while True:
            try:
                outcomes = decode_outcomes(_read_frame(requests))
            except EOFError:
                return
            before = projector.anomalies
            seq = outcomes[-1].seq
            try:
                applied = projector.apply(outcomes)
                reply = _reply("ok", seq, applied, projector.anomalies - before)
            except Exception as failure:  # reported to the parent, which retries the batch
                # Only the type and message: a driver's error can hold the whole batch's rows.
                failure.__traceback__ = None
                reply = _reply("error", seq, _slim(failure), projector.anomalies - before)
            _write_frame(replies, reply)
    finally:
        db.dispose()


def _slim(failure: Exception) -> Exception:
    """The failure as sent back: our own exceptions as they are, others as a short message."""
    if type(failure).__module__.startswith("foretell."):
        return failure
    return RuntimeError(f"{type(failure).__name__}: {str(failure)[:2_000]}")


def main() -> None:
    # Ctrl-C in a terminal, or a service manager stopping the group, reaches this process too:
    # the server decides when we stop (end-of-file on stdin), after its last batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Replies get their own descriptor; fd 1 becomes stderr, so that nothing else written to
    # standard output (by C code or a subprocess) can reach the parent's pipe.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
