"""Incidents: events, their lifecycle (the transition table), intake, relations, transitions, escalation,
photos, statistics and the rollup behind them."""
