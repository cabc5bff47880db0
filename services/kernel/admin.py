"""Administer an instance from the command line (production and compose): its users and its outbox.

    python -m services.kernel.admin add-user USERNAME ROLE [--display-name NAME] [--token T] [--password P]
                                             [--member-org ORG]
    python -m services.kernel.admin outbox-quarantined
    python -m services.kernel.admin outbox-republish SEQ... | --all
    python -m services.kernel.admin outbox-drop SEQ

Uses DATABASE_URL (one service database of the organisation).

`add-user` prints the new API token once (only its hash is stored). With
--password the user can also log in to the pages (only a salted hash is
stored); `--password -` reads it from the first line of standard input, which
keeps it out of the process list and the shell history. Run it against each of
the organisation's service databases that the user needs. At regional
reporting, `--member-org ORG` makes a `manager` the manager of that
organisation (who sees its rows only); a `coordinator` sees the whole region.

The outbox commands deal with rows the relay quarantined because the broker
refused them: `outbox-quarantined` lists them (and how many later rows of the
same aggregate wait behind each), `outbox-republish` lets the relay try them
again (e.g. once the topic takes larger records), `outbox-drop` deletes one
for good, after which the rows waiting behind it are published.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import create_engine

from . import outbox
from .auth import Role, new_token, upsert_user
from .config import sqlalchemy_url


def add_user(engine, args) -> int:
    token = args.token or new_token()
    with engine.begin() as conn:
        upsert_user(conn, args.username, args.role, token, args.display_name, args.password, args.member_org)
    print(token)
    return 0


def _print_rows(rows) -> None:
    print("seq\tevent type\ttopic\tkey\tcreated\tbytes\twaiting\terror")
    for r in rows:
        print(f"{r.seq}\t{r.event_type}\t{r.topic}\t{r.key}\t{r.created_at.isoformat(timespec='seconds')}\t"
              f"{r.size}\t{r.waiting}\t{r.error}")


def outbox_quarantined(engine, args) -> int:
    with engine.connect() as conn:
        rows = outbox.quarantined(conn)
    _print_rows(rows)
    print(f"{len(rows)} quarantined row(s)", file=sys.stderr)
    return 0


def outbox_republish(engine, args) -> int:
    with engine.begin() as conn:
        cleared = outbox.republish(conn, None if args.all else args.seq)
    missing = sorted(set(args.seq) - set(cleared))
    print(f"cleared the quarantine of {len(cleared)} row(s): {' '.join(map(str, cleared)) or '-'}")
    if missing:
        print(f"not quarantined: {' '.join(map(str, missing))}", file=sys.stderr)
        return 1
    return 0


def outbox_drop(engine, args) -> int:
    with engine.begin() as conn:
        dropped = outbox.drop(conn, args.seq)
    if dropped is None:
        print(f"row {args.seq} is not quarantined; only quarantined rows can be dropped", file=sys.stderr)
        return 1
    print(f"dropped row {dropped.seq}: event {dropped.event_id} ({dropped.event_type}) on {dropped.topic}, "
          f"key {dropped.key}, {dropped.size} bytes, created {dropped.created_at.isoformat(timespec='seconds')}, "
          f"refused with: {dropped.error}; {dropped.waiting} row(s) of its aggregate go on")
    return 0


def parser() -> argparse.ArgumentParser:
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
    add.add_argument("--member-org", help="at regional reporting: the organisation this user speaks for "
                                          "(a manager sees that organisation's rows only)")
    add.set_defaults(run=add_user)
    sub.add_parser("outbox-quarantined", help="list the outbox rows the broker refused"
                   ).set_defaults(run=outbox_quarantined)
    rep = sub.add_parser("outbox-republish", help="let the relay try quarantined rows again")
    rep.add_argument("seq", nargs="*", type=int, help="the rows' seq")
    rep.add_argument("--all", action="store_true", help="every quarantined row")
    rep.set_defaults(run=outbox_republish)
    drop = sub.add_parser("outbox-drop", help="delete a quarantined row; the rows waiting behind it go on")
    drop.add_argument("seq", type=int)
    drop.set_defaults(run=outbox_drop)
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    if not url:
        p.error("DATABASE_URL is not set")
    if args.cmd == "outbox-republish" and args.all == bool(args.seq):
        p.error("give the rows' seq or --all")
    if args.cmd == "add-user" and args.password == "-":
        args.password = sys.stdin.readline().rstrip("\n")
    if args.cmd == "add-user" and args.password is not None and not args.password:
        p.error("the password is empty")
    engine = create_engine(sqlalchemy_url(url))
    try:
        return args.run(engine, args)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
