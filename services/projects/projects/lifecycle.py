"""What happens around every save of the projects models; ``signals.py`` hands off to these.

Evented models: the current row is read under a row lock, the status change is checked against
its state machine, and the event is written to the outbox in the same transaction. Files: the
generated project's totals move by exactly the change, with one UPDATE per file (O(1)).
"""

from __future__ import annotations

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

_TRANSITION_ATTR = "_outbox_transition"
_EXPLICIT_ATTR = "_outbox_explicit_transition"


def evented_transition(instance: EventedModel, *, to_status: str, update_fields: list[str]) -> None:
    """Save ``instance`` as an explicit request to move to ``to_status``.

    Unlike a plain ``save()``, asking for the status the row already has is an invalid
    transition: of several concurrent identical requests exactly one succeeds.
    """
    instance.status = to_status
    setattr(instance, _EXPLICIT_ATTR, True)
    try:
        instance.save(update_fields=["status", *update_fields])
    finally:
        setattr(instance, _EXPLICIT_ATTR, False)


def evented_pre_save(instance: EventedModel, *, using: str, update_fields: Any) -> None:
    """Lock the stored row, check the status change and note it for ``evented_post_save``.

    Raises InvalidTransition (a ValueError) for a change the state machine forbids.
    """
    setattr(instance, _TRANSITION_ATTR, None)
    model = type(instance)
    machine = MACHINES[model]
    if instance._state.adding:
        machine.check(None, instance.status)
        if isinstance(instance, RepositoryExport):
            export_creation_check(instance, using=using)
        instance.event_sequence = 1
        setattr(instance, _TRANSITION_ATTR, (None, instance.status))
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
    if current["status"] == instance.status and not getattr(instance, _EXPLICIT_ATTR, False):
        return
    machine.check(current["status"], instance.status)
    instance.event_sequence += 1
    setattr(instance, _TRANSITION_ATTR, (current["status"], instance.status))


def evented_post_save(instance: EventedModel, *, using: str) -> None:
    """Write the outbox row for the status change ``evented_pre_save`` noted, if any."""
    transition = getattr(instance, _TRANSITION_ATTR, None)
    if transition is None:
        return
    setattr(instance, _TRANSITION_ATTR, None)
    if isinstance(instance, GeneratedProject):
        event_type, payload = generation_event(instance, transition[0])
    else:
        assert isinstance(instance, RepositoryExport)
        event_type, payload = export_event(instance, transition[0])
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
