from .domain import count_table, people_table


def counts(uow_factory) -> dict:
    with uow_factory() as uow:
        return count_table(uow.counts.all())


def people(uow_factory) -> dict:
    with uow_factory() as uow:
        return people_table(uow.people.all())
