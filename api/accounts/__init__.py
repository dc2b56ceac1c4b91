"""People over GraphQL: who am I, login, refresh, logout."""
