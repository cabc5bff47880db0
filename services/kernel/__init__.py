"""The shared kernel: what every Yhdistämö service needs, written once.

config, database + unit of work, event envelope + signing + contract
validation, outbox + relay, consumer runner, HTTP helpers, metrics, auth and
the federation registry. The kernel never imports a service.
"""
