"""The embedded local stack: Temporal dev server + moto server + worker and intake processes."""
