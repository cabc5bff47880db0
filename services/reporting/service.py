from .domain import count_table, people_table, region_table


def counts(uow_factory, org: str | None = None) -> dict:
    """Counts per organisation and event; `org`: that organisation's only (its manager's view)."""
    with uow_factory() as uow:
        return count_table(uow.counts.all(), org)


def public_counts(uow_factory) -> dict:
    """The region's counts per event, suppressed: what anyone may see."""
    with uow_factory() as uow:
        return region_table(uow.counts.all())


def people(uow_factory, org: str | None = None) -> dict:
    """Young people referred, each counted once; `org`: those that organisation referred (its manager's view)."""
    with uow_factory() as uow:
        return people_table(uow.people.all(), org)
