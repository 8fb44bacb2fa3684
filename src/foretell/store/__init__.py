"""The SQL store: read models projected from engine events, their schema and their queries.

`db` connects and migrates; `schema` defines the tables; `projector` applies engine outcomes
exactly once (with `batch` building the rows, `costbasis` the P&L, `writer` and `sqlutil`
writing them); `thread` runs it in the background; `queries` reads for the API.
"""
