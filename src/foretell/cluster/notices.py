"""Credential and account notices reach every gateway, not only the one that made them.

In the single node, `Accounts` drops its cached credentials and tells its listeners (the
WebSocket hub) when a key is revoked, a session ends, a role changes or an account is
suspended. In a cluster that happens on the gateway that served the request; the others would
trust their caches for up to `credential_recheck_ms` and their sockets would keep their rights.
`share` turns the service's `credential_listeners` and `account_listeners` into one publisher on
the core NATS subject `<prefix>.accounts`, and every gateway (the publisher too) drops the
cached credential or the account's credentials and hands the notice to its own listeners. At
most once, like `cluster/news.py`: a gateway away at that moment still refuses the credential
within `credential_recheck_ms` (its cache expires; the store says disabled or revoked), though
a socket it serves keeps its rights until it re-authenticates or reconnects.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec
from nats.aio.msg import Msg

from foretell.cluster.streams import Cluster
from foretell.services.accounts import Accounts

log = logging.getLogger(__name__)


def subject(cluster: Cluster) -> str:
    return f"{cluster.settings.prefix}.accounts"


async def share(accounts: Accounts, cluster: Cluster) -> None:
    """Make `accounts`' listeners (in place) publish to every gateway."""
    on_credential = list(accounts.credential_listeners)
    on_account = list(accounts.account_listeners)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()

    async def arrived(msg: Msg) -> None:
        notice = msgspec.json.decode(msg.data)
        try:
            reason = str(notice["reason"])
            if "credential" in notice:
                credential = str(notice["credential"])
                accounts.drop_credential(credential)
                for listener in on_credential:
                    listener(credential, reason)
            else:
                account_id = int(notice["account"])
                accounts.drop_cached(account_id)
                for account_listener in on_account:
                    account_listener(account_id, reason)
        except Exception:
            log.exception("an account notice failed: %r", notice)

    async def send(data: bytes) -> None:
        try:
            await cluster.nc.publish(subject(cluster), data)
        except Exception as exc:
            log.warning("publishing an account notice to the gateways failed: %s", exc)

    def publish(data: bytes) -> None:
        task = loop.create_task(send(data))
        pending.add(task)
        task.add_done_callback(pending.discard)

    def credential_gone(credential: str, reason: str) -> None:
        publish(msgspec.json.encode({"credential": credential, "reason": reason}))

    def account_changed(account_id: int, reason: str) -> None:
        publish(msgspec.json.encode({"account": account_id, "reason": reason}))

    await cluster.nc.subscribe(subject(cluster), cb=arrived)
    accounts.credential_listeners[:] = [credential_gone]
    accounts.account_listeners[:] = [account_changed]
