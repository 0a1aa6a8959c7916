"""The web side of digits: a FastAPI app (pages and JSON API) and the `digits` CLI."""
