#!/usr/bin/env python3
"""Render docker-compose.yml and deploy/prometheus/prometheus.yml from deploy/federation.yaml.

    python deploy/compose/generate.py           # rewrite both files
    python deploy/compose/generate.py --check   # exit 1 if either is out of date

Every organisation's service gets a web container (gunicorn), a relay
container and, where the service consumes events, a consumer container; the
regional reporting service likewise. Which services exist, their processes and
port slots come from deploy/services.yaml (devstack/services.py reads it), as
for the embedded stack: reporting on the base port 8100, organisation i
(0-based, in federation order) service s on 8100 + 10*(i+1) + slot of s.

Only PyYAML is needed (to read the federation and service files), so this runs with any
Python 3.11 that has it. tests/unit/test_compose.py fails when the committed
outputs differ from what this renders.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from devstack import services as service_list  # noqa: E402  (PyYAML only)

FEDERATION_FILE = ROOT / "deploy" / "federation.yaml"
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"

BASE_PORT = 8100
WEB_PORT = 8000        # gunicorn inside every web container
METRICS_PORT = 9100    # prometheus_client inside every relay/consumer container
KAFKA_BOOTSTRAP = "kafka:9092"
KAFKA_EXTERNAL_PORT = 19092  # the embedded stack's default broker port, for tools on the host
KAFKA_CLUSTER_ID = "QT06z-lGU3m3KoCrMg-4LA"  # fixed so a recreated container keeps its formatted volume
DB_USER = "yhd"
DB_PASSWORD = "${YHD_DB_PASSWORD:-yhd}"
BIND_ADDRESS = "${YHD_BIND_ADDRESS:-127.0.0.1}"
IMAGE = "yhdistamo:${YHD_IMAGE_TAG:-dev}"
APP_DIR = "/app"  # WORKDIR of deploy/Dockerfile

KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:18"
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0"
GRAFANA_IMAGE = "grafana/grafana:12.2.0"

SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Instance:
    """One organisation's instance of one service."""
    org: str
    service: str
    host_port: int
    signing_key: str | None  # repository-relative path of the private key, if the org signs events
    reporting: bool = False
    encryption_key: str | None = None  # X25519 key that opens personal data sealed for the org
    pathway_secret: str | None = None
    pseudonym_secret: str | None = None  # reporting's own: its second pseudonymisation of person keys
    directory: str | None = None  # attendance: the web container of the organisation's referrals (client directory)

    @property
    def name(self) -> str:
        """Compose service name of the web container; workers append -relay / -consumer."""
        return "reporting" if self.reporting else f"{self.org}-{self.service}"

    @property
    def database(self) -> str:
        return f"{self.org}_{self.service}".replace("-", "_")

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}:{DB_PASSWORD}@postgres:5432/{self.database}"

    @property
    def workers(self) -> tuple[str, ...]:
        return tuple(p for p in service_list.load()[self.service].processes if p != "web")

    def container(self, process: str) -> str:
        return self.name if process == "web" else f"{self.name}-{process}"

    @property
    def directory_secret(self) -> str | None:
        """The Compose secret holding attendance's token at its organisation's referrals service."""
        return f"{self.org}-attendance-service-token" if self.directory else None


def load_federation(path: Path = FEDERATION_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def instances(federation: dict) -> list[Instance]:
    """Every service instance in federation order, regional reporting last (as the embedded stack)."""
    result = []
    for i, (org_id, org) in enumerate(federation["organisations"].items()):
        if not SERVICE_NAME.match(org_id):
            raise ValueError(f"organisation id {org_id!r} cannot be part of a Compose service name")
        for svc in org["services"]:
            known = service_list.organisation_services()
            if svc not in known:
                raise ValueError(f"{org_id}: unknown service {svc!r} (known: {', '.join(known)})")
            port = service_list.load()[svc].port(BASE_PORT, i)
            directory = f"{org_id}-referrals" if svc == "attendance" and "referrals" in org["services"] else None
            result.append(Instance(org_id, svc, port, org.get("demo_signing_key_file"),
                                   encryption_key=org.get("demo_encryption_key_file"),
                                   pathway_secret=federation.get("demo_pathway_secret_file"), directory=directory))
    region = federation["region_reporting"]
    for svc in service_list.regional_services():
        result.append(Instance(region["org"], svc, service_list.load()[svc].port(BASE_PORT, None), None,
                               reporting=True, encryption_key=region.get("demo_encryption_key_file"),
                               pseudonym_secret=region.get("demo_pseudonym_secret_file")))
    return result


# -- YAML text helpers --------------------------------------------------------

def scalar(value) -> str:
    """A YAML scalar: plain when that reads back as the same string, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain_ok = (text and text == text.strip() and "$" not in text
                and not text.startswith(("*", "&", "!", "%", "@", "`", "'", '"'))
                and " #" not in text and yaml.safe_load(text) == text)
    return text if plain_ok else json.dumps(text, ensure_ascii=False)


def flow(items) -> str:
    """A flow sequence of double-quoted strings (JSON is valid YAML)."""
    return json.dumps(list(items), ensure_ascii=False)


def mapping(pairs: dict, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}{k}: {scalar(v)}" for k, v in pairs.items()]


# -- docker-compose.yml -------------------------------------------------------

WEB_HEALTHCHECK = ("import urllib.request; "
                   f"urllib.request.urlopen('http://127.0.0.1:{WEB_PORT}/healthz', timeout=4)")
METRICS_TOKEN_FILE = "deploy/demo-keys/metrics-token"   # public, like the demo keys: a demo's metrics token
DIRECTORY_TOKEN_FILE = "deploy/demo-keys/attendance-service-token"   # public too: attendance's token at referrals
WORKER_HEALTHCHECK = ("import os, urllib.request; "
                      "t = open(os.environ['METRICS_TOKEN_FILE']).read().strip(); "
                      f"urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{METRICS_PORT}/metrics', "
                      "headers={'Authorization': 'Bearer ' + t}), timeout=4)")
TOPICS_INIT = ("from services.kernel.broker import ensure_topics; from pathlib import Path; "
               f"print(ensure_topics('{KAFKA_BOOTSTRAP}', Path('deploy/topics.yaml')))")


def compose_header(insts: list[Instance]) -> list[str]:
    lines = [
        "# Yhdistämö in containers: every organisation's services from deploy/federation.yaml,",
        "# regional reporting, Kafka (KRaft), PostgreSQL, Prometheus and Grafana.",
        "#",
        "# GENERATED by deploy/compose/generate.py from deploy/federation.yaml -- do not edit by hand.",
        "# Regenerate after changing the federation or the generator:",
        "#     .venv/bin/python deploy/compose/generate.py",
        "# (tests/unit/test_compose.py fails when this file is out of date.)",
        "#",
        "#     docker compose up -d --build",
        "#",
        "# Published on YHD_BIND_ADDRESS (default 127.0.0.1): Prometheus :9090, Grafana :3000,",
        f"# Kafka :{KAFKA_EXTERNAL_PORT} (advertised as localhost), and the services' HTTP APIs:",
    ]
    width = max(len(i.name) for i in insts)
    for inst in insts:
        lines.append(f"#     {inst.name:<{width}}  http://localhost:{inst.host_port}")
    lines += [
        "# Optional settings (environment or .env): YHD_DB_PASSWORD (default yhd; must be URL-safe),",
        "# YHD_BIND_ADDRESS, YHD_IMAGE_TAG, YHD_LOG_LEVEL, GRAFANA_ADMIN_PASSWORD.",
        "# Events are signed with the public demo keys in deploy/demo-keys (part of the image); a real",
        "# deployment mounts each organisation's own key and points SIGNING_KEY_FILE at it, and drops",
        "# YHD_DEMO_MODE (without it an instance refuses to start with a demo key or secret).",
        "# Likewise ENCRYPTION_KEY_FILE (the X25519 key that opens what is sealed for the organisation; for",
        "# reporting, the person keys members seal for it) and PATHWAY_SECRET_FILE (members only), and, for",
        "# reporting only, REPORTING_PSEUDONYM_SECRET_FILE (its second pseudonym of each person key: a secret",
        "# no member holds).",
        "# Attendance reads its organisation's clients from that organisation's referrals (REFERRALS_URL) with",
        "# the token in the secret <org>-attendance-service-token (REFERRALS_TOKEN_FILE; here the public demo",
        f"# token {DIRECTORY_TOKEN_FILE}): add that user to the referrals database once,",
        "#     docker compose exec odl-referrals sh -c 'python -m services.kernel.admin add-user \\",
        "#         attendance-service service --token \"$(cat /app/deploy/demo-keys/attendance-service-token)\"'",
        "",
    ]
    return lines


def compose_anchors() -> list[str]:
    return [
        "name: yhdistamo",
        "",
        "# -- shared fragments (YAML anchors; Compose ignores top-level x- keys) --------",
        "",
        "x-logging: &logging",
        "  driver: json-file",
        "  options:",
        "    max-size: 10m",
        "    max-file: \"3\"",
        "",
        "# One image for every service process (deploy/Dockerfile).",
        "x-app: &app",
        f"  image: {scalar(IMAGE)}",
        "  build:",
        "    context: .",
        "    dockerfile: deploy/Dockerfile",
        "  restart: unless-stopped",
        "  logging: *logging",
        "",
        "x-app-env: &app-env",
        *mapping({
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
            "FEDERATION_FILE": f"{APP_DIR}/deploy/federation.yaml",
            "TOPICS_FILE": f"{APP_DIR}/deploy/topics.yaml",
            "KAFKA_CLIENT_TIMEOUT_MS": "10000",
            "LOG_LEVEL": "${YHD_LOG_LEVEL:-INFO}",
            "PYTHONUNBUFFERED": "1",
            # the demo keys below (and sessions signed with a secret derived from them) start only in
            # demo mode; a real deployment sets its own keys and SECRET_KEY and leaves this out
            "YHD_DEMO_MODE": "1",
            # /metrics (web and workers) answers only this bearer token; Prometheus sends the same file
            "METRICS_TOKEN_FILE": f"{APP_DIR}/{METRICS_TOKEN_FILE}",
        }, 2),
        "",
        "# gunicorn: several workers share /metrics through PROMETHEUS_MULTIPROC_DIR (a tmpfs,",
        "# so it starts empty with every container start).",
        "x-web-env: &web-env",
        "  <<: *app-env",
        *mapping({
            "BIND": f"0.0.0.0:{WEB_PORT}",
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "4",
            "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",
        }, 2),
        "",
        "# Relay and consumer processes serve their own /metrics on METRICS_PORT.",
        "x-worker-env: &worker-env",
        "  <<: *app-env",
        *mapping({"METRICS_PORT": str(METRICS_PORT)}, 2),
        "",
        "x-web: &web",
        "  <<: *app",
        f"  expose: [\"{WEB_PORT}\"]",
        "  tmpfs:",
        "    - /tmp/prometheus",
        "  depends_on:",
        "    postgres: {condition: service_healthy}",
        "    kafka: {condition: service_healthy}",
        "    topics-init: {condition: service_completed_successfully}",
        "  healthcheck:",
        f"    test: {flow(['CMD', 'python', '-c', WEB_HEALTHCHECK])}",
        "    interval: 10s",
        "    timeout: 5s",
        "    retries: 6",
        "    start_period: 30s",
        "",
        "x-worker: &worker",
        "  <<: *app",
        f"  expose: [\"{METRICS_PORT}\"]",
        "  healthcheck:",
        f"    test: {flow(['CMD', 'python', '-c', WORKER_HEALTHCHECK])}",
        "    interval: 15s",
        "    timeout: 5s",
        "    retries: 4",
        "    start_period: 30s",
        "",
    ]


def compose_instance_envs(insts: list[Instance]) -> list[str]:
    lines = [
        "# What differs between the instances: organisation, database and keys.",
        "x-instances:",
    ]
    for inst in insts:
        env = {"ORG_ID": inst.org, "DATABASE_URL": inst.database_url}
        if inst.signing_key:
            env["SIGNING_KEY_FILE"] = f"{APP_DIR}/{inst.signing_key}"
        if inst.encryption_key:
            env["ENCRYPTION_KEY_FILE"] = f"{APP_DIR}/{inst.encryption_key}"
        if inst.pathway_secret:
            env["PATHWAY_SECRET_FILE"] = f"{APP_DIR}/{inst.pathway_secret}"
        if inst.pseudonym_secret:
            env["REPORTING_PSEUDONYM_SECRET_FILE"] = f"{APP_DIR}/{inst.pseudonym_secret}"
        if inst.directory:
            env["REFERRALS_URL"] = f"http://{inst.directory}:{WEB_PORT}"
            env["REFERRALS_TOKEN_FILE"] = f"/run/secrets/{inst.directory_secret}"
        lines.append(f"  {inst.name}: &{inst.name}-env")
        lines += mapping(env, 4)
    lines.append("")
    return lines


def compose_infrastructure(insts: list[Instance]) -> list[str]:
    databases = ",".join(i.database for i in insts)
    return [
        "services:",
        "  # -- infrastructure ---------------------------------------------------------",
        "",
        "  kafka:",
        f"    image: {KAFKA_IMAGE}",
        "    hostname: kafka",
        "    restart: unless-stopped",
        "    logging: *logging",
        "    environment:",
        *mapping({
            "CLUSTER_ID": KAFKA_CLUSTER_ID,
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
            "KAFKA_LISTENERS": f"PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:{KAFKA_EXTERNAL_PORT}",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://kafka:9092,EXTERNAL://localhost:{KAFKA_EXTERNAL_PORT}",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
            "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_NUM_PARTITIONS": "1",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "10",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_LOG_RETENTION_HOURS": "168",
        }, 6),
        "    ports:",
        f"      - {scalar(f'{BIND_ADDRESS}:{KAFKA_EXTERNAL_PORT}:{KAFKA_EXTERNAL_PORT}')}",
        "    volumes:",
        "      - kafka-data:/var/lib/kafka/data",
        "    healthcheck:",
        "      test: " + flow(["CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh "
                                        "--bootstrap-server localhost:9092 > /dev/null 2>&1"]),
        "      interval: 10s",
        "      timeout: 10s",
        "      retries: 12",
        "      start_period: 30s",
        "",
        "  # Creates every topic of deploy/topics.yaml and its dead-letter twin (brokers never",
        "  # auto-create), then exits; the services start after it succeeded.",
        "  topics-init:",
        "    <<: *app",
        "    restart: \"no\"",
        f"    command: {flow(['python', '-c', TOPICS_INIT])}",
        "    depends_on:",
        "      kafka: {condition: service_healthy}",
        "",
        "  # One database per organisation and service (deploy/postgres/init-databases.sh,",
        "  # on first start with an empty volume; rerun it with `docker compose exec postgres",
        "  # /docker-entrypoint-initdb.d/init-databases.sh` after adding an organisation).",
        "  postgres:",
        f"    image: {POSTGRES_IMAGE}",
        "    restart: unless-stopped",
        "    logging: *logging",
        "    command: [\"postgres\", \"-c\", \"max_connections=600\", \"-c\", \"shared_buffers=128MB\"]",
        "    shm_size: 256mb",
        "    environment:",
        *mapping({
            "POSTGRES_USER": DB_USER,
            "POSTGRES_PASSWORD": DB_PASSWORD,
            "POSTGRES_DB": DB_USER,
            "YHD_DATABASES": databases,
        }, 6),
        "    volumes:",
        "      - ./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/init-databases.sh:ro",
        "      - postgres-data:/var/lib/postgresql",
        "    healthcheck:",
        "      # over TCP: the entrypoint's temporary server (init scripts) listens on the socket only",
        f"      test: {flow(['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', DB_USER, '-d', DB_USER])}",
        "      interval: 5s",
        "      timeout: 5s",
        "      retries: 12",
        "      start_period: 20s",
        "",
    ]


def compose_instance(inst: Instance) -> list[str]:
    title = (f"regional reporting ({inst.org})" if inst.reporting else f"{inst.org} {inst.service}")
    secrets = [f"    secrets: {flow([inst.directory_secret])}"] if inst.directory_secret else []
    lines = [
        f"  # -- {title} " + "-" * max(3, 72 - len(title)),
        "",
        f"  {inst.container('web')}:",
        "    <<: *web",
        f"    command: {flow(['gunicorn', '-c', 'deploy/gunicorn.conf.py', f'services.{inst.service}.app:create_app()'])}",
        f"    environment: {{<<: [*web-env, *{inst.name}-env]}}",
        "    ports:",
        f"      - {scalar(f'{BIND_ADDRESS}:{inst.host_port}:{WEB_PORT}')}",
        *secrets,
        "",
    ]
    for process in inst.workers:
        lines += [
            f"  {inst.container(process)}:",
            "    <<: *worker",
            f"    command: {flow(['python', '-m', f'services.{inst.service}.worker', process])}",
            f"    environment: {{<<: [*worker-env, *{inst.name}-env]}}",
            *secrets,
            "    depends_on:",
            f"      {inst.container('web')}: {{condition: service_healthy}}  # it has migrated the schema",
            "",
        ]
    return lines


def compose_secrets(insts: list[Instance]) -> list[str]:
    lines = ["", "# A real deployment points each at the organisation's own file.", "secrets:"]
    for inst in insts:
        if inst.directory_secret:
            lines += [f"  {inst.directory_secret}:", f"    file: ./{DIRECTORY_TOKEN_FILE}"]
    return lines if len(lines) > 3 else []


def compose_observability() -> list[str]:
    return [
        "  # -- observability ----------------------------------------------------------",
        "",
        "  prometheus:",
        f"    image: {PROMETHEUS_IMAGE}",
        "    restart: unless-stopped",
        "    logging: *logging",
        "    command:",
        "      - --config.file=/etc/prometheus/prometheus.yml",
        "      - --storage.tsdb.path=/prometheus",
        "      - --storage.tsdb.retention.time=15d",
        "    volumes:",
        "      - ./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
        f"      - ./{METRICS_TOKEN_FILE}:/etc/prometheus/metrics-token:ro",
        "      - prometheus-data:/prometheus",
        "    ports:",
        f"      - {scalar(f'{BIND_ADDRESS}:9090:9090')}",
        "    healthcheck:",
        f"      test: {flow(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9090/-/ready'])}",
        "      interval: 10s",
        "      timeout: 5s",
        "      retries: 6",
        "",
        "  grafana:",
        f"    image: {GRAFANA_IMAGE}",
        "    restart: unless-stopped",
        "    logging: *logging",
        "    environment:",
        *mapping({
            "GF_SECURITY_ADMIN_USER": "admin",
            "GF_SECURITY_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:-admin}",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH": "/etc/grafana/dashboards/yhdistamo.json",
        }, 6),
        "    volumes:",
        "      - ./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
        "      - ./deploy/grafana/dashboards:/etc/grafana/dashboards:ro",
        "      - grafana-data:/var/lib/grafana",
        "    ports:",
        f"      - {scalar(f'{BIND_ADDRESS}:3000:3000')}",
        "    depends_on:",
        "      prometheus: {condition: service_healthy}",
        "",
        "volumes:",
        "  kafka-data:",
        "  postgres-data:",
        "  prometheus-data:",
        "  grafana-data:",
    ]


def render_compose(federation: dict) -> str:
    insts = instances(federation)
    lines = compose_header(insts) + compose_anchors() + compose_instance_envs(insts)
    lines += compose_infrastructure(insts)
    for inst in insts:
        lines += compose_instance(inst)
    lines += compose_observability() + compose_secrets(insts)
    return "\n".join(lines) + "\n"


# -- prometheus.yml -----------------------------------------------------------

SCRAPE_AUTH = ["    authorization:", "      type: Bearer", "      credentials_file: /etc/prometheus/metrics-token"]

def render_prometheus(federation: dict) -> str:
    insts = instances(federation)
    lines = [
        "# Prometheus configuration for docker-compose.yml: scrapes every web container on",
        f"# :{WEB_PORT}/metrics and every relay/consumer container on :{METRICS_PORT}/metrics,",
        "# labelled with the organisation, the service and the process. Every /metrics answers only",
        "# the bearer token METRICS_TOKEN: Prometheus sends the file docker-compose.yml mounts at",
        f"# /etc/prometheus/metrics-token ({METRICS_TOKEN_FILE}, the public demo token; a real",
        "# deployment mounts its own).",
        "#",
        "# GENERATED by deploy/compose/generate.py from deploy/federation.yaml -- do not edit by hand.",
        "# Regenerate: .venv/bin/python deploy/compose/generate.py",
        "",
        "global:",
        "  scrape_interval: 15s",
        "  evaluation_interval: 15s",
        "",
        "scrape_configs:",
        "  - job_name: yhd-web",
        "    metrics_path: /metrics",
        *SCRAPE_AUTH,
        "    static_configs:",
    ]
    for inst in insts:
        lines += [
            f"      - targets: [\"{inst.container('web')}:{WEB_PORT}\"]",
            f"        labels: {{org: {scalar(inst.org)}, service: {inst.service}, process: web}}",
        ]
    lines += [
        "",
        "  - job_name: yhd-worker",
        "    metrics_path: /metrics",
        *SCRAPE_AUTH,
        "    static_configs:",
    ]
    for inst in insts:
        for process in inst.workers:
            lines += [
                f"      - targets: [\"{inst.container(process)}:{METRICS_PORT}\"]",
                f"        labels: {{org: {scalar(inst.org)}, service: {inst.service}, process: {process}}}",
            ]
    lines += [
        "",
        "  - job_name: prometheus",
        "    static_configs:",
        "      - targets: [\"localhost:9090\"]",
    ]
    return "\n".join(lines) + "\n"


# -- command line -------------------------------------------------------------

def outputs(federation_file: Path = FEDERATION_FILE) -> dict[Path, str]:
    federation = load_federation(federation_file)
    return {COMPOSE_FILE: render_compose(federation), PROMETHEUS_FILE: render_prometheus(federation)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only report whether the outputs are up to date")
    args = p.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if not stale:
        print("up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
