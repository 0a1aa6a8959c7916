"""HTTP routes: `api` for JSON, `pages` for HTML."""
