"""Administer an instance's users from the command line (production and compose).

    python -m services.kernel.admin add-user USERNAME ROLE [--display-name NAME] [--token T] [--password P]

Uses DATABASE_URL; prints the new API token once (only its hash is stored).
With --password the user can also log in to the pages (only a salted hash is
stored); `--password -` reads it from the first line of standard input, which
keeps it out of the process list and the shell history.
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
    add.add_argument("--password", help="let the user log in to the pages with this password ('-': read it "
                                        "from standard input)")
    args = p.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        p.error("DATABASE_URL is not set")
    token = args.token or new_token()
    password = sys.stdin.readline().rstrip("\n") if args.password == "-" else args.password
    if password is not None and not password:
        p.error("the password is empty")
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        upsert_user(conn, args.username, args.role, token, args.display_name, password)
    engine.dispose()
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
