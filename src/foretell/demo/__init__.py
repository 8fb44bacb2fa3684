"""Demo content: the users, markets, news and RSS feed that a fresh Foretell install starts with."""
