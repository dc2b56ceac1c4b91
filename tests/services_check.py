"""Exit 0 when PostgreSQL and Redis at the given URLs answer (used by `make test`)."""

import socket
import sys
from urllib.parse import urlparse


def answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    database_url, redis_url = sys.argv[1], sys.argv[2]
    ok = answers(database_url, 5432) and answers(redis_url, 6379)
    if ok:
        import psycopg
        import redis

        try:
            parsed = urlparse(database_url)
            with psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                                 password=parsed.password, dbname="postgres", connect_timeout=3):
                pass
            redis.Redis.from_url(redis_url, socket_timeout=3).ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            print(f"services check: {exc}", file=sys.stderr)
            return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
