"""Alpha-stable and synthetic-gradient simulators, and estimator studies (uses ahtga.tail)."""
