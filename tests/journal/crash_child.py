"""Child process for the crash test: executes a seeded workload through the durable pipeline
from several threads and prints one line per acknowledged command: `ack <seq> <crc32>`, the
checksum of the exact command bytes journaled.

Only acknowledged (durable) commands are printed; the parent kills this process with SIGKILL at
a random moment and then checks that every printed command survived.
"""

from __future__ import annotations

import sys
import threading
import zlib

from foretell.bench.workload import commands
from foretell.domain import commands as cmd
from foretell.exchange.pipeline import Pipeline


def main() -> None:
    directory, seed = sys.argv[1], int(sys.argv[2])
    pipeline = Pipeline(directory, snapshot_every=1_500)
    stream = commands(10_000_000, seed=seed, markets=10, accounts=50)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                command = next(stream)
            outcome = pipeline.execute(command)
            line = f"ack {outcome.seq} {zlib.crc32(cmd.encode(outcome.command))}\n"
            with lock:
                sys.stdout.write(line)
                sys.stdout.flush()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    print("ready", flush=True)
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
