"""Graph passes on the IR, each ``Model -> Model`` in its own module; ``optimize`` runs
the default pipeline."""

from __future__ import annotations

from ...schema import ir


def optimize(model: ir.Model) -> ir.Model:
    from .remove_dead import remove_dead_code

    return remove_dead_code(model)
