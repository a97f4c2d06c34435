"""Create or drop a scratch PostgreSQL database for CI: ``pg.py create|drop NAME``."""

import sys

import psycopg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    action = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "postgres"
    if not name.replace("_", "").isalnum():
        raise SystemExit("bad database name")
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        if action == "create":
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
        elif action == "drop":
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif action == "ping":
            conn.execute("SELECT 1")
        else:
            raise SystemExit(f"unknown action {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
