"""The news feed: items from RSS/Atom feeds and from creators' and supervisors' posts, stored
de-duplicated and searchable, linked to markets by tags and text, pushed over WebSocket.

Modules, one concept each: `limits` (every bound), `text` (untrusted text made safe),
`parse` (feed documents to clean entries), `fetch` (getting documents, conditionally),
`linking` (which markets an item is about), `store` (the SQL tables and queries), `desk` (the
verbs and the background poller), `demo` (the demo's news and feed).
"""
