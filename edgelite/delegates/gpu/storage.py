"""Which tensors of an fp16 partition keep f32 storage (``wide_tensors``).

In ``precision="fp16"`` every arena tensor is stored as f16 by default: arithmetic is f32,
so the only error is one rounding per store, a relative step of 2**-11 (~4.9e-4) of the
value. That is harmless where the value is read in proportion to itself, but not where
a later op turns a small *absolute* difference into a large one. The rule, fixed by the
graph alone (no calibration, no per-model list):

* **logits**: an op whose output feeds a saturating nonlinearity (LOGISTIC, SOFTMAX,
  LOG_SOFTMAX, TANH) computes logits. A decision boundary (a probability near 0.5, an
  arg-max) is exactly where the logit is near zero while its *terms* are not: the sum
  of products of activations and weights cancels, so the error of the logit is the f16
  step of its large inputs times the weights, not of the small result. Such an op's
  output and its non-constant inputs stay f32. Its weights stay f16 (their rounding is
  a fixed perturbation of the model, measured as negligible; activations are rounded
  afresh at every pixel).
* **partition inputs and outputs** stay f32: they cross to and from the CPU as float32,
  written once and read back once, so f16 there saves little traffic; rounding an input
  perturbs the model's own input (the data the CPU path sees exactly), and rounding an
  output is a final error that nothing inside the partition needed.
* **everything before the last upsampling**: in a partition that raises the resolution
  back up (an encoder-decoder; an op whose output has more pixels, H*W, than each of its
  activation inputs: RESIZE_*, a transposed convolution, ...), every tensor read or
  written up to and including the last op that raises it to the top resolution (the
  largest of the tensors not already wide) stays f32; only the final full-resolution
  stage is f16. The coarse stages compute a field that upsampling spreads over blocks of
  output pixels and the decoder sharpens into a boundary, so their roundings are
  amplified, the final stage's stay local. Measured on mediapipe's selfie_segmentation
  (the test photo; one tensor f16, all else f32): 14 tensors before its last resize move
  the output by over 5e-3 (over max|out|) each, up to 1.4e-2; no tensor of the final
  stage by over 3.9e-3. The rule is the graph's, not the photo's: with it the model is
  within 3.6e-3..6.4e-3 of the CPU on seven photos (crops and flips of the astronaut,
  chelsea, coffee), 1.5e-2..9.9e-2 without it.

Everything else stays f16, so fp16 keeps its memory and bandwidth saving where nothing
upsamples (classifiers, detectors: 90-96% of activation bytes f16 in the test models).
Wide tensors live in their own arena (``A32``, binding 3), planned like ``A``; loads and
stores pick the arena per tensor.

Cost for an upsampling network: selfie_segmentation keeps only 28% of its activation
elements f16 (16% of the bytes), and since ``A`` and ``A32`` are planned apart its two
arenas together (5.2 MB) outgrow the single f32 one (3.7 MB): there fp16 saves bandwidth
in the final stage, not memory.
"""

from __future__ import annotations

SATURATING = frozenset({"LOGISTIC", "SOFTMAX", "LOG_SOFTMAX", "TANH"})


def wide_tensors(ops, specs, inputs, outputs) -> set[int]:
    """The tensors of a partition (``ops``: (index, operator) pairs in order) to store as
    f32 in fp16 mode: see the module docstring."""
    def arena(t) -> bool:
        return t is not None and t >= 0 and specs[t].data is None

    producer = {t: op for _, op in ops for t in op.outputs if arena(t)}
    wide = {t for t in outputs if arena(t)}
    wide |= {t for t in inputs if arena(t)}
    for _, op in ops:
        if op.custom or op.opcode not in SATURATING:
            continue
        logits = op.inputs[0]
        if not arena(logits):
            continue
        wide.add(logits)
        src = producer.get(logits)
        if src is not None:
            wide.update(t for t in src.inputs if arena(t))
    return wide | _before_last_upsampling(ops, specs, arena, wide)


def _pixels(spec) -> int:
    """Spatial size H*W of an NHWC activation; 0 for a tensor that is not 4-D."""
    return int(spec.shape[1]) * int(spec.shape[2]) if len(spec.shape) == 4 else 0


def _before_last_upsampling(ops, specs, arena, wide) -> set[int]:
    """Every arena tensor read or written up to and including the last op that raises the
    resolution to ``top``, the largest among the tensors not already ``wide``; empty when
    nothing does (no upsampling, e.g. a classifier)."""
    top = max((_pixels(specs[t]) for _, op in ops for t in op.outputs
               if arena(t) and t not in wide), default=0)
    last = -1
    for k, (_, op) in enumerate(ops):
        sizes = [_pixels(specs[t]) for t in op.inputs if arena(t)]
        outs = [_pixels(specs[t]) for t in op.outputs if arena(t)]
        if sizes and top in outs and max(sizes) < top:
            last = k
    return {t for _, op in ops[:last + 1] for t in (*op.inputs, *op.outputs) if arena(t)}
