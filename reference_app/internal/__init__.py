"""The internal search service (its own process) and the API's client for it."""
