"""Cluster mode over NATS JetStream: the same engine, verbs and API split into processes that
talk only through JetStream (gateways, engine replicas, projectors), PostgreSQL as the store.

  streams    names, settings, stream / key-value / object-store setup, reading a stream
  replica    an engine replica: snapshot + the command stream, applied deterministically; the
             leader (a key-value lease with a fencing epoch) publishes outcomes and timers
  gateway    the node the app runs on in a gateway process: commands out, outcomes back
  projector  the event stream into PostgreSQL, exactly once
  audit      replay the command stream and compare state hashes with every replica
"""
