"""The web trading interface: server-rendered page shells, static assets and the PWA files.

Owned here: the HTML page routes (`pages.router`), the static mount (`pages.mount_static`), the
Jinja2 templates and the browser code. Invariant: the browser talks only to the public API
(`/api/v1` REST and the `/api/v1/ws` WebSocket); page routes render shells and pass ids from the
URL, never numbers read from the engine or the store.
"""
