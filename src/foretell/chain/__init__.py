"""Real USDC on an EVM chain: deposit addresses, a deposit watcher, a withdrawal worker with a
hot wallet, sweeps, and proof of reserves. Off unless `FORETELL_CHAIN_RPC_URL` is set.

Modules, one concept each:
  - `evm`          the chain as seen through JSON-RPC (web3.py, blocking: run it off the loop);
  - `store`        the SQL rows this package owns (deposits, withdrawals, signed transactions,
                   block cursor, alerts, frozen accounts);
  - `watcher`      Transfer logs -> pending deposits -> credited after N confirmations; reorgs;
  - `withdrawals`  validation of a request, then sign -> record -> broadcast -> confirm/refund;
  - `reserves`     on-chain holdings against what the ledger owes;
  - `runner`       `Funding`: the verbs the API calls and the asyncio task that drives it all;
  - `devnet`       compile the contracts in `contracts/` and deploy them (tests, walk-through).

Money invariant kept across all of it: tokens held by the exchange's addresses (hot wallet and
every deposit address) >= free + reserved cash + collateral + bonds + fees + withdrawals that
left the ledger but not yet the chain. Gas is paid in ETH by the hot wallet and never touches it.
"""

import sys as _sys

# py_ecc (under eth-account and web3) raises the interpreter's recursion limit to 100,000 when
# it is imported. The server must keep Python's default: with it, a deeply nested JSON body
# raises RecursionError (a 4xx); at 100,000 the C JSON parser overflows the thread's stack and
# the whole exchange dies on one request. Import it here, first, and put the limit back.
_limit = _sys.getrecursionlimit()
try:
    import py_ecc  # noqa: F401
except ImportError:  # not a dependency of every eth-account release
    pass
finally:
    _sys.setrecursionlimit(_limit)
