"""The fixtures live in tests/support/, registered here for every test directory:
the real parts (PostgreSQL, Kafka), in-process service instances with their topic namespaces,
and the embedded stack started once per session."""
pytest_plugins = ["tests.support.parts", "tests.support.instances", "tests.support.stack"]
