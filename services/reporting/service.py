from .domain import count_table


def counts(uow_factory) -> dict:
    with uow_factory() as uow:
        return count_table(uow.counts.all())
