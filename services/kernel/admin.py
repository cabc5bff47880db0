"""Administer an instance's users from the command line (production and compose).

    python -m services.kernel.admin add-user USERNAME ROLE [--display-name NAME]

Uses DATABASE_URL; prints the new API token once (only its hash is stored).
Run it against each of the organisation's service databases that the user needs.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import create_engine

from .auth import Role, new_token, upsert_user
from .config import sqlalchemy_url


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.kernel.admin")
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add-user", help="create a user (or replace its token) and print the token")
    add.add_argument("username")
    add.add_argument("role", choices=[r.value for r in Role])
    add.add_argument("--display-name")
    add.add_argument("--token", help="use this token instead of generating one (e.g. the same token in every "
                                     "service database of the organisation)")
    args = p.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        p.error("DATABASE_URL is not set")
    token = args.token or new_token()
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        upsert_user(conn, args.username, args.role, token, args.display_name)
    engine.dispose()
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
