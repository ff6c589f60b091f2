"""The explicit list of subsystem definitions, and the generic one for configured subsystems not in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from overwatch_core.errors import NotFoundError
from overwatch_core.subsystems.base import GenericSubsystem, SubsystemDefinition
from overwatch_core.subsystems.emc import EMC
from overwatch_core.subsystems.hlt import HLT
from overwatch_core.subsystems.tpc import TPC

__all__ = ["REGISTRY", "get_subsystem"]

#: Subsystems with their own rules; adding one means adding its object here, nothing is looked up by name.
REGISTRY: Mapping[str, SubsystemDefinition] = MappingProxyType({d.name: d for d in (EMC, HLT, TPC)})


def get_subsystem(name: str, configured: Iterable[str] = ()) -> SubsystemDefinition:
    """The definition of ``name``; a configured subsystem without own rules (e.g. V0) gets a generic one.

    The generic definition has a single group "<name> Histograms": a catch-all with its own files, or the
    histograms whose name contains ``name`` when it reads HLT's files, as the original did. A name neither
    registered nor configured is an error listing both.
    """
    if name in REGISTRY:
        return REGISTRY[name]
    known = set(configured)
    if name in known:
        return GenericSubsystem(name)
    raise NotFoundError("subsystem", name, sorted(set(REGISTRY) | known))
