"""The embedded stack for newcomers and tests: launcher, embedded Kafka and PostgreSQL, demo data and
one client for talking to a running stack. Never imported by `services/` (a production process needs
none of it); its libraries come with the `dev` extra."""
