"""What happens around every save of the projects models; ``signals.py`` hands off to these.

One status change, read in order (every path — REST, admin, commands, a bare ``save()`` — goes so):

1. A service asks for it: ``evented_transition(instance, to_status=...)`` sets the status and
   marks the save as an explicit request (asking for the status the row already has is then
   invalid), then calls ``save()``. A plain ``save()`` skips this step.
2. ``EventedModel.save()`` opens the transaction.
3. ``pre_save`` → ``evented_pre_save``: reads the stored row under a row lock, asks
   ``status_change`` whether the machine allows the change, and notes the checked change.
4. Django writes the row.
5. ``post_save`` → ``evented_post_save``: writes the outbox row for the change noted in step 3.

Steps 1, 3 and 5 hand over through one record on the instance, ``Handoff`` (``handoff()``), which
step 5 clears. Files: the generated project's totals move by exactly the change, one UPDATE per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, Model, QuerySet

from outbox.writer import outbox_event_write
from projects.errors import NotWritable
from projects.events import export_event, generation_event
from projects.models import EventedModel, GeneratedProject, ProjectFile, RepositoryExport
from projects.transitions import EXPORT_MACHINE, GENERATION_MACHINE, GenerationStatus, StateMachine

#: The state machine of each evented model.
MACHINES: dict[type[EventedModel], StateMachine] = {
    GeneratedProject: GENERATION_MACHINE,
    RepositoryExport: EXPORT_MACHINE,
}


@dataclass
class Handoff:
    """What one save of an evented model carries from the service to ``post_save``.

    ``explicit``: a service asked for the status the instance carries (step 1). ``recorded``: ``pre_save``
    checked a change from ``from_status`` (None for a creation) to that status, to be written as an event.
    """

    explicit: bool = False
    recorded: bool = False
    from_status: str | None = None


_HANDOFF_ATTR = "_lifecycle_handoff"


def handoff(instance: EventedModel) -> Handoff:
    """The instance's hand-off record for the save in progress (a fresh one if none)."""
    record = instance.__dict__.get(_HANDOFF_ATTR)
    if record is None:
        record = instance.__dict__[_HANDOFF_ATTR] = Handoff()
    return record


def status_change(model: type[EventedModel], from_status: str | None, to_status: str, *, explicit: bool) -> bool:
    """Whether ``from_status → to_status`` is a change to record; raise InvalidTransition if forbidden.

    ``from_status`` None is a creation. The same status is no change, unless it was ``explicit``ly
    asked for, which is then invalid (of several identical concurrent requests one wins).
    """
    if from_status is not None and from_status == to_status and not explicit:
        return False
    MACHINES[model].check(from_status, to_status)
    return True


def evented_transition(instance: EventedModel, *, to_status: str, update_fields: list[str]) -> None:
    """Save ``instance`` as an explicit request to move to ``to_status`` (step 1)."""
    instance.status = to_status
    handoff(instance).explicit = True
    try:
        instance.save(update_fields=["status", *update_fields])
    finally:
        instance.__dict__.pop(_HANDOFF_ATTR, None)


def evented_pre_save(instance: EventedModel, *, using: str, update_fields: Any) -> None:
    """Lock the stored row, check the status change and note it for ``evented_post_save`` (step 3).

    Raises InvalidTransition (a ValueError) for a change the state machine forbids.
    """
    record = handoff(instance)
    record.recorded = False
    model = type(instance)
    if instance._state.adding:
        status_change(model, None, instance.status, explicit=record.explicit)
        if isinstance(instance, RepositoryExport):
            export_creation_check(instance, using=using)
        instance.event_sequence = 1
        record.recorded, record.from_status = True, None
        return
    if update_fields is not None and "status" not in update_fields:
        return
    columns = ["status", "event_sequence", *sorted(model.externally_maintained_fields)]
    current = model._base_manager.using(using).select_for_update().filter(pk=instance.pk).values(*columns).first()
    if current is None:
        return  # the row is gone; Django's own save reports it
    for name in model.externally_maintained_fields:
        setattr(instance, name, current[name])
    instance.event_sequence = current["event_sequence"]
    if not status_change(model, current["status"], instance.status, explicit=record.explicit):
        return
    instance.event_sequence += 1
    record.recorded, record.from_status = True, current["status"]


def evented_post_save(instance: EventedModel, *, using: str) -> None:
    """Write the outbox row for the status change ``evented_pre_save`` noted, if any (step 5)."""
    record = handoff(instance)
    if not record.recorded:
        return
    record.recorded = False
    if isinstance(instance, GeneratedProject):
        event_type, payload = generation_event(instance, record.from_status)
    else:
        assert isinstance(instance, RepositoryExport)
        event_type, payload = export_event(instance, record.from_status)
    outbox_event_write(
        event_type=event_type,
        aggregate_id=instance.pk,
        sequence=instance.event_sequence,
        payload=payload,
        using=using,
    )


def export_creation_check(export: RepositoryExport, *, using: str) -> None:
    """Raise NotWritable unless the export's generated project is completed (read under lock)."""
    status = (
        GeneratedProject._base_manager.using(using)
        .select_for_update()
        .filter(pk=export.generated_project_id)
        .values_list("status", flat=True)
        .first()
    )
    if status != GenerationStatus.COMPLETED:
        raise NotWritable(f"only a completed generated project can be exported (it is {status})")


_OLD_SIZE_ATTR = "_stored_file_size"


def file_pre_save(instance: ProjectFile, *, using: str) -> None:
    """Remember the stored size of an existing file, so that the totals move by the difference."""
    if instance._state.adding:
        setattr(instance, _OLD_SIZE_ATTR, None)
        return
    stored = (
        ProjectFile._base_manager.using(using)
        .select_for_update()
        .filter(pk=instance.pk)
        .values("generated_project_id", "file_size")
        .first()
    )
    if stored is not None and stored["generated_project_id"] != instance.generated_project_id:
        raise NotWritable("a file cannot move to another generated project")
    setattr(instance, _OLD_SIZE_ATTR, None if stored is None else stored["file_size"])


def file_post_save(instance: ProjectFile, *, created: bool, using: str) -> None:
    """Move the generated project's totals by this file's creation or size change."""
    if created:
        totals_move(instance.generated_project_id, files=1, size=instance.file_size, using=using)
        return
    old_size = getattr(instance, _OLD_SIZE_ATTR, None)
    if old_size is not None and old_size != instance.file_size:
        totals_move(instance.generated_project_id, files=0, size=instance.file_size - old_size, using=using)


def file_post_delete(instance: ProjectFile, *, origin: Any, using: str) -> None:
    """Take a deleted file off the totals, unless its generated project is being deleted too."""
    origin_model = origin.model if isinstance(origin, QuerySet) else type(origin)
    if isinstance(origin, Model | QuerySet) and origin_model is not ProjectFile:
        return  # cascade from the generated project (or above): its totals go with it
    totals_move(instance.generated_project_id, files=-1, size=-instance.file_size, using=using)


def totals_move(generated_project_id: int, *, files: int, size: int, using: str) -> None:
    """Add ``files`` and ``size`` to a generated project's totals in one atomic UPDATE."""
    GeneratedProject._base_manager.using(using).filter(pk=generated_project_id).update(
        total_files=F("total_files") + files, total_size=F("total_size") + size
    )
