"""The fixtures live in tests/support/, registered here for every test directory:
the real parts (PostgreSQL, Kafka), in-process service instances with their topic namespaces,
and the embedded stack started once per session.

The fixtures run in demo mode (the public demo keys and pathway secret, derived session secrets); a test
of the refusal outside demo mode starts its process without YHD_DEMO_MODE. Every test talks from
127.0.0.1, and many expect 401s (the authorisation matrices, the API fuzzing): the per-address limit of
failed authentications is set out of their way here, and tests/integration/kernel/test_accounts.py
sets its own."""
import os

os.environ.setdefault("YHD_DEMO_MODE", "1")
os.environ.setdefault("LOGIN_ADDRESS_LIMIT", "1000000 per minute")
pytest_plugins = ["tests.support.parts", "tests.support.instances", "tests.support.stack"]
