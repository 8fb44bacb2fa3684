"""The projector in a child process, at idle CPU priority while it keeps up.

Projecting costs tens of microseconds of Python per outcome, done in bursts of a batch. On the
server's interpreter that time was taken from the event loop answering orders (the GIL); in a
child at normal priority it still took the loop's CPU: on two cores, with the scheduler's
slices, a waking event loop queued behind it for milliseconds. Measured at 2,000 orders/s over
WebSocket, ack p99 was 5.6-6.0 ms with the projector in a thread or a normal child, 2.3-2.4 ms
with the child at `SCHED_IDLE` (Linux), about what it is with no projector at all.

An idle-priority child can starve while the machine is saturated, and the read model must not
fall behind without bound. So when a batch gets no reply within `patience_s` the child goes to
normal priority, and back to idle once `calm_batches` small batches in a row say the load is
gone. Leaving `SCHED_IDLE` needs CAP_SYS_NICE (root, or `LimitNICE=-20`/`AmbientCapabilities` in
a systemd unit); without it the starved child is killed (its transaction rolls back) and a new
one at normal priority takes the batch, and the work, until the load is gone.

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

import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, Any

import msgspec

from foretell.domain import commands as cmd
from foretell.pipeline import Outcome

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("<I")
IDLE_SUPPORTED = hasattr(os, "SCHED_IDLE")


class ProjectorProcessDied(RuntimeError):
    """The child process ended or its pipes broke; the next `apply` starts a new one."""


class ProjectorProcess:
    def __init__(self, db_url: str, idle: bool = True, patience_s: float = 0.5,
                 calm_batches: int = 3, calm_size: int = 500) -> None:
        self.db_url = db_url
        self.idle_allowed = idle and IDLE_SUPPORTED
        self.patience_s = patience_s
        self.calm_batches = calm_batches
        self.calm_size = calm_size
        self.anomalies = 0  # as reported by the children's projectors
        self.escalations = 0  # times an idle child starved and went to normal priority
        self._child: subprocess.Popen[bytes] | None = None
        self._idle = self.idle_allowed
        self._calm = 0
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
        payload = encode_outcomes(outcomes)
        reply = self._exchange(payload, self.patience_s if self._idle else None)
        if reply is None:  # starved at idle priority
            log.warning("projector at idle priority starved for %.1f s: normal priority "
                        "until the load is gone", self.patience_s)
            self.escalations += 1
            self._calm = 0
            if self._set_idle(False):
                reply = self._reply()
            else:  # not allowed to raise it: a new child at normal priority takes the batch
                self._stop(kill=True)
                self._idle = False
                reply = self._exchange(payload, None)
            assert reply is not None
        status, value, anomalies = pickle.loads(reply)
        self.anomalies += anomalies
        if status == "error":
            raise value
        self._settle(len(outcomes))
        return int(value)

    def close(self) -> None:
        if self._idle:
            self._set_idle(False)  # let it finish its batch and exit, however busy the CPUs
        self._stop()

    def _exchange(self, payload: bytes, timeout_s: float | None) -> bytes | None:
        """Send one frame and read the reply; None if no reply came within `timeout_s`."""
        try:
            child = self._child
            if child is None or child.poll() is not None:
                self._stop()
                child = self._start()
            assert child.stdin is not None and child.stdout is not None
            _write_frame(child.stdin, payload)
            if timeout_s is not None and not select.select([child.stdout], [], [], timeout_s)[0]:
                return None
            return _read_frame(child.stdout)
        except (OSError, EOFError) as exc:
            self._stop(kill=True)
            raise ProjectorProcessDied(f"projector process ended: {exc}") from exc

    def _reply(self) -> bytes:
        try:
            assert self._child is not None and self._child.stdout is not None
            return _read_frame(self._child.stdout)
        except (OSError, EOFError) as exc:
            self._stop(kill=True)
            raise ProjectorProcessDied(f"projector process ended: {exc}") from exc

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
        """Back to idle priority once `calm_batches` small batches in a row show the load gone."""
        if self._idle or not self.idle_allowed:
            return
        self._calm = self._calm + 1 if size <= self.calm_size else 0
        if self._calm >= self.calm_batches:
            self._set_idle(True)

    def _start(self) -> subprocess.Popen[bytes]:
        self._child = subprocess.Popen([sys.executable, "-m", "foretell.store.process"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self._idle:  # set here, so it holds from the child's first import
            os.sched_setscheduler(self._child.pid, os.SCHED_IDLE, os.sched_param(0))
        assert self._child.stdin is not None
        _write_frame(self._child.stdin, self.db_url.encode())
        return self._child

    def _stop(self, kill: bool = False) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            if kill:
                child.kill()
                # A starved idle child may take long to be scheduled to die; subprocess reaps
                # it later. (Until it dies it may hold the database lock: the retry waits.)
                child.wait(1.0)
            else:
                if child.stdin is not None:
                    child.stdin.close()  # end-of-file: the child exits after the batch in hand
                child.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            if not kill:
                child.kill()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a pipe the killed child left with unread data


_Wire = list[tuple[int, bytes, str, Any, list[tuple[Any, ...]]]]
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Wire)


def encode_outcomes(outcomes: Sequence[Outcome]) -> bytes:
    """Outcomes as MessagePack, each command as its journal record: 5x cheaper than pickle."""
    return _encoder.encode([(o.seq, cmd.encode(o.command), o.code, o.value, o.events)
                            for o in outcomes])


def decode_outcomes(payload: bytes) -> list[Outcome]:
    """The outcomes back; arrays nested inside an event or a value come back as lists."""
    return [Outcome(seq, cmd.decode(record), code, value, events)
            for seq, record, code, value, events in _decoder.decode(payload)]


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


def _reply(status: str, value: Any, anomalies: int) -> bytes:
    try:
        return pickle.dumps((status, value, anomalies), pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle (driver errors may hold sockets)
        failure = RuntimeError(f"{type(value).__name__}: {value}")
        return pickle.dumps((status, failure, anomalies), pickle.HIGHEST_PROTOCOL)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: the database URL, then one batch in and one reply out until EOF."""
    from foretell.store.db import connect
    from foretell.store.projector import Projector

    db = connect(_read_frame(requests).decode())
    projector = Projector(db)
    try:
        while True:
            try:
                outcomes = decode_outcomes(_read_frame(requests))
            except EOFError:
                return
            before = projector.anomalies
            try:
                reply = _reply("ok", projector.apply(outcomes), projector.anomalies - before)
            except Exception as failure:  # reported to the parent, which retries the batch
                reply = _reply("error", failure, projector.anomalies - before)
            _write_frame(replies, reply)
    finally:
        db.dispose()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    logging.basicConfig(level=logging.WARNING)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
