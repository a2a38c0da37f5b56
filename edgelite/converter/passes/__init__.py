"""Graph passes on the IR, each ``Model -> Model`` in its own module; ``optimize`` runs
the default pipeline.

Order: operators on constants are evaluated first (by edgelite's kernels); a PAD folds into its conv first (looking through the frontend's NCHW -> NHWC
TRANSPOSE, which leaves an NHWC -> NCHW -> NHWC round trip behind); then identities go,
so that such a round trip or a same-shape RESHAPE between a layer and what follows it
does not hide the patterns after; batch-norm folding runs before activation fusion, because
a fused activation ends a layer's foldable chain (conv -> MUL -> ADD -> RELU folds both
and then fuses); the folds create new constants, so duplicates are merged after them; and
``remove_dead_code`` runs last to drop the orphaned operators and tensors the others
leave behind.
"""

from __future__ import annotations

from ...schema import ir
from .dedupe_constants import dedupe_constants
from .fold_constants import fold_constants
from .fold_batch_norm import fold_batch_norms
from .fold_input_scale import fold_input_scales
from .fold_pad import fold_pads
from .fuse_activation import fuse_activations
from .remove_dead import remove_dead_code
from .remove_identity import remove_identities

PIPELINE = (fold_constants, fold_pads, remove_identities, fold_batch_norms, fuse_activations,
            dedupe_constants, remove_dead_code)
# the Keras / SavedModel frontends' pipeline: also folds a constant scale in front of a
# layer into its weights (Keras' Rescaling before the stem convolution)
NHWC_PIPELINE = (fold_constants, fold_pads, remove_identities, fold_batch_norms,
                 fold_input_scales, fuse_activations, dedupe_constants, remove_dead_code)

__all__ = ["NHWC_PIPELINE", "PIPELINE", "dedupe_constants", "fold_batch_norms", "fold_constants",
           "fold_input_scales", "fold_pads",
           "fuse_activations", "optimize", "remove_dead_code", "remove_identities"]


def optimize(model: ir.Model, pipeline=PIPELINE) -> ir.Model:
    for graph_pass in pipeline:
        model = graph_pass(model)
    return model
