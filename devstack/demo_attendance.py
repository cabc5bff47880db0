"""Attendance demo data, modelled on the background documents and entered through the APIs as workers would:
the HELMI café drop-in on Mondays 13–17 and the Kiiminki one on Wednesdays, groups with their sessions and
marks, weekly individual guidance with baseline and follow-up measures (one client left without contact),
Kouvola's one-stop point with contacts and new matters, home coaching in Rovaniemi, the parish's food aid and
conversation help, a webinar, a network meeting — and referrals that close their loop: one by a first visit,
one by two missed sessions. Every person is synthetic (identity codes 900–999); the dates are the past weeks.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.referrals.domain.identity import synthetic_identity_code

from .client import StackClient, consent_to, eventually

LOCAL = ZoneInfo("Europe/Helsinki")
WEEKS = 12
INSTRUMENT = "life-domains.v1"
AGE_MIX = (("15-17", 1), ("18-24", 5), ("25-29", 3), ("30-35", 2))
GENDER_MIX = (("woman", 5), ("man", 4), ("other", 1), ("unknown", 1))
FIRST = ("Aleksi", "Emmi", "Joona", "Kerttu", "Lauri", "Minea", "Niko", "Oona", "Roope", "Siiri", "Topias", "Venla")
LAST = ("Demola", "Esimerkki", "Harjoitus", "Kokeilu", "Malli", "Testinen")


class Week:
    """Past days on a weekday at a Helsinki time, newest last; never in the future."""

    def __init__(self, today: date | None = None):
        self.today = today or datetime.now(LOCAL).date()

    def days(self, weekday: int, weeks: int = WEEKS) -> list[date]:
        last = self.today - timedelta(days=(self.today.weekday() - weekday) % 7 or 7)
        return [last - timedelta(weeks=w) for w in reversed(range(weeks))]

    @staticmethod
    def at(day: date, hh: int, mm: int = 0) -> str:
        return datetime.combine(day, time(hh, mm), LOCAL).isoformat()


def pick(rnd: random.Random, mix) -> str:
    return rnd.choices([k for k, _ in mix], [w for _, w in mix])[0]


def person(rnd: random.Random, n: int) -> dict:
    born = date.today().replace(year=date.today().year - rnd.randrange(18, 31)) - timedelta(days=rnd.randrange(1, 360))
    return {"name": f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}",
            "identity_code": synthetic_identity_code(born, 900 + (n * 37) % 100), "municipality": "Oulu",
            "gender": rnd.choice(["woman", "man"]), "language": "fi", "phone": f"+358 40 000 {1000 + n}"}


class Org:
    """One organisation's attendance, spoken to as its caseworker."""

    def __init__(self, stack: StackClient, org: str):
        self.stack, self.org, self.n = stack, org, 0
        self.services = eventually(self._services, 90, what=f"{org}'s catalogue services at its attendance")

    def _services(self) -> dict:
        known = self.stack.ok(self.org, "attendance", "GET", "/api/v1/services")
        return {s["name"]["fi"]: s for s in known} if known else {}

    def place(self, service: str) -> dict:
        s = self.services[service]
        out = {"service_id": s["service_id"]}
        if s["locations"]:
            out["location_id"] = s["locations"][0]["id"]
        return out

    def post(self, path: str, body: dict) -> dict:
        self.n += 1
        return self.stack.ok(self.org, "attendance", "POST", path, json=body)

    def encounter(self, service: str | None, **body) -> dict:
        return self.post("/api/v1/encounters", {**(self.place(service) if service else {}), **body})

    def client(self, data: dict) -> str:
        return self.stack.register_client(self.org, data)["id"]


def drop_ins(o: Org, rnd: random.Random, service: str, weekday: int, hours: tuple[int, int], visitors: tuple[int, int]):
    """A day's visitors entered after closing, a row per age band and gender (count), at the hour they came."""
    for day in Week().days(weekday):
        seen: dict[tuple, int] = {}
        for _ in range(rnd.randint(*visitors)):
            key = (pick(rnd, AGE_MIX), pick(rnd, GENDER_MIX), rnd.randrange(*hours))
            seen[key] = seen.get(key, 0) + 1
        for (age, gender, hour), n in sorted(seen.items()):
            o.encounter(service, kind="drop-in", occurred_at=Week.at(day, hour, 15), count=n, age_band=age,
                        gender=gender)


def weekly_guidance(o: Org, rnd: random.Random, service: str, clients: list[str], quiet: str | None = None):
    """Guidance at least weekly for each client, in person, remotely or at home; now and then a missed time.
    `quiet`'s last contact is twelve days ago: the caseworker's no-contact list shows them."""
    modes = ("in-person", "phone", "video", "outreach-home", "in-person", "chat")
    w = Week()
    for i, client in enumerate(clients):
        for k, day in enumerate(w.days(1 + i % 3, 10)):
            if client == quiet and day > w.today - timedelta(days=12):
                continue
            status = "missed" if rnd.random() < 0.1 and k > 0 else "attended"
            o.encounter(service, kind="guidance", client_id=client, channel=modes[(i + k) % len(modes)],
                        status=status, duration_minutes=rnd.choice((45, 60, 90)), occurred_at=Week.at(day, 10 + i))


def measures(o: Org, rnd: random.Random, items: list[str], clients: list[str]):
    """A baseline ten weeks ago, follow-ups five weeks ago and last week; most items improve a little."""
    w = Week()
    for client in clients:
        scores = {i: rnd.randint(2, 6) for i in items}
        for point, weeks_ago in (("baseline", 10), ("follow-up", 5), ("follow-up", 1)):
            o.post(f"/api/v1/clients/{client}/measurements", {
                "instrument": INSTRUMENT, "point": point, "scores": dict(scores),
                "measured_at": Week.at(w.today - timedelta(weeks=weeks_ago, days=1), 11)})
            scores = {i: max(0, min(10, s + rnd.choice((0, 1, 1, 2, -1)))) for i, s in scores.items()}


def group(o: Org, rnd: random.Random, service: str, name: str, weekday: int, hour: int, weeks: int,
          participants: list[str], late: tuple[str, str] | None = None) -> dict:
    """A weekly group with its sessions and marks. `late`: (client, referral id) enrolled today by referral,
    who missed the two individual appointments made for them since (the referral was sent today, and
    only encounters after it count): the sender is told "not arrived"."""
    days = Week().days(weekday, weeks)
    g = o.post("/api/v1/groups", {**o.place(service), "name": name, "starts_on": days[0].isoformat(),
                                  "capacity": 10})
    for client in participants:
        o.post(f"/api/v1/groups/{g['id']}/participants", {"client_id": client, "enrolled_on": days[0].isoformat()})
    for day in days:
        s = o.post(f"/api/v1/groups/{g['id']}/sessions", {"starts_at": Week.at(day, hour), "duration_minutes": 120})
        marks = [{"client_id": c, "mark": "attended"} if rnd.random() < 0.8 else
                 {"client_id": c, "mark": "excused", "excuse_reason": "illness"} if rnd.random() < 0.5 else
                 {"client_id": c, "mark": "absent"} for c in participants]
        o.stack.ok(o.org, "attendance", "PUT", f"/api/v1/sessions/{s['id']}/attendance",
                   json={"marks": marks, "guests": rnd.randint(0, 2)})
        o.n += 2
    if late:
        o.post(f"/api/v1/groups/{g['id']}/participants", {"client_id": late[0], "referral_id": late[1]})
        for _ in range(2):
            o.encounter(service, kind="guidance", client_id=late[0], channel="phone", status="missed",
                        occurred_at=datetime.now(LOCAL).isoformat())
    return g


def incoming(stack: StackClient, org: str, referral_id: str) -> None:
    eventually(lambda: any(r["referral_id"] == referral_id
                           for r in stack.ok(org, "attendance", "GET", "/api/v1/referrals/incoming")),
               60, what=f"referral {referral_id} at {org}'s attendance")


def load_attendance(stack: StackClient, arrived: tuple[str, dict]) -> str:
    """`arrived`: (referral id, the referred person) of a referral to ODL's guidance that ODL has accepted;
    the person comes to their first guidance session, and the sender sees them arrive."""
    rnd = random.Random(14)
    orgs = [o for o in ("odl", "nuorten-polku", "oulu-parish", "oulu-social") if o in stack.desc["orgs"]]
    made = {o: Org(stack, o) for o in orgs}
    odl = made.get("odl")
    if odl:
        drop_ins(odl, rnd, "Yhdistämön kohtaamispaikka HELMI-kahvilassa", 0, (13, 17), (6, 14))
        drop_ins(odl, rnd, "Kohtaamispaikka Kiimingissä", 2, (12, 16), (2, 7))
        clients = [odl.client(person(rnd, n)) for n in range(6)]
        weekly_guidance(odl, rnd, "Sovittava ohjaus", clients[:4], quiet=clients[3])
        meter = next(i for i in stack.ok("odl", "attendance", "GET", "/api/v1/instruments") if i["key"] == INSTRUMENT)
        items = [i["id"] for i in meter["items"]]
        measures(odl, rnd, items, clients[:3])
        late = no_show_referral(stack, rnd, odl.services["Voimavararyhmä"]["service_id"]) \
            if "nuorten-polku" in orgs else None
        group(odl, rnd, "Voimavararyhmä", "Voimavararyhmä, syksy", 3, 13, 8, clients[1:6], late=late)
        group(odl, rnd, "Arjen taidot -ryhmä Kiimingissä", "Arjen taidot, Kiiminki", 2, 12, 6, clients[3:6])
        referral_id, who = arrived
        incoming(stack, "odl", referral_id)
        here = odl.client(who)
        odl.post(f"/api/v1/clients/{here}/referrals", {"referral_id": referral_id})
        odl.encounter("Sovittava ohjaus", kind="guidance", client_id=here, channel="in-person",
                      occurred_at=datetime.now(LOCAL).isoformat(), duration_minutes=60)  # after the referral
        odl.encounter(None, kind="professional-event", format="webinar", count=38,
                      occurred_at=Week.at(Week().today - timedelta(days=20), 14))
    np = made.get("nuorten-polku")
    if np:
        one_stop(np, rnd, "Kouvolan Ohjaamo")
        coached = [np.client(person(rnd, 20 + n)) for n in range(2)]
        for i, c in enumerate(coached):
            for day in Week().days(1 + 2 * i, 8):
                np.encounter("Kotiin vietävä valmennus Rovaniemellä", kind="home-visit", client_id=c,
                             occurred_at=Week.at(day, 9 + i), duration_minutes=90)
    parish = made.get("oulu-parish")
    if parish:
        for day in Week().days(3):
            parish.encounter("Ruoka-apu", kind="aid", aid_kind="food", count=rnd.randint(15, 32),
                             count_unit="households", occurred_at=Week.at(day, 10, 30))
            for _ in range(rnd.randint(1, 3)):
                parish.encounter("Keskusteluapu", kind="contact", channel="phone", matters=["wellbeing"],
                                 occurred_at=Week.at(day + timedelta(days=1), rnd.randint(9, 14)),
                                 age_band=pick(rnd, AGE_MIX))
        parish.encounter(None, kind="professional-event", format="training", count=18,
                         occurred_at=Week.at(Week().today - timedelta(days=9), 9))
    city = made.get("oulu-social")
    if city:
        c = city.client(person(rnd, 40))
        city.encounter("Nuorten aikuisten sosiaalityö", kind="network-meeting", client_id=c,
                       partner_orgs=[o for o in ("odl", "nuorten-polku") if o in orgs], duration_minutes=60,
                       occurred_at=Week.at(Week().today - timedelta(days=6), 13))
        one_stop(city, rnd, "Ohjaamo Oulu, Byströmin talo", weeks=4)
    return f"{sum(o.n for o in made.values())} attendance entries"


def one_stop(o: Org, rnd: random.Random, service: str, weeks: int = 8):
    """A one-stop point's contacts (on site, by phone, by chat) Monday to Thursday, with their matters; about a
    third open a new matter."""
    matters = ("studies", "work", "housing", "money", "health", "wellbeing", "benefits")
    for weekday in range(4):
        for day in Week().days(weekday, weeks):
            for _ in range(rnd.randint(0, 2)):
                o.encounter(service, kind="contact", channel=pick(rnd, (("on-site", 6), ("phone", 3), ("chat", 2))),
                            matters=rnd.sample(matters, rnd.randint(1, 2)), new_matter=rnd.random() < 0.3,
                            age_band=pick(rnd, AGE_MIX), occurred_at=Week.at(day, rnd.randint(10, 15)),
                            duration_minutes=rnd.choice((15, 30, 45)))


def no_show_referral(stack: StackClient, rnd: random.Random, service_id: str) -> tuple[str, str]:
    """Nuorten Polku refers a young person to ODL's resource group; ODL accepts and enrols them, they do not
    come: (ODL's client id, referral id)."""
    who = person(rnd, 30)
    np_client = stack.client_with_consent("nuorten-polku", "odl", who, **consent_to("odl", days=365))
    target = stack.target("nuorten-polku", "odl", service_id=service_id)
    referral = stack.refer("nuorten-polku", np_client, target["service_id"], "Demo: toivoo ryhmätoimintaa.")
    eventually(lambda: any(r["id"] == referral["id"] for r in stack.ok(
        "odl", "referrals", "GET", "/api/v1/referrals", params={"box": "incoming"})["items"]), 60,
        what="the no-show referral at ODL")
    stack.ok("odl", "referrals", "POST", f"/api/v1/referrals/{referral['id']}/accept", json={})
    incoming(stack, "odl", referral["id"])
    return stack.register_client("odl", who)["id"], referral["id"]
