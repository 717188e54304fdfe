"""Serializer behaviour of the projects API beyond the shared one (codegen_api.serializers)."""

from __future__ import annotations


class WholeBodyMixin:
    """A PATCH body that is always complete (a transition names its target status): DRF and the schema
    generator make PATCH serializers partial, which would document ``{}`` as valid; this one stays whole."""

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass
