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

Everything else (the bulk of the activations) stays f16, so fp16 keeps its memory and
bandwidth saving. Wide tensors live in their own arena (``A32``, binding 3), planned
like ``A``; loads and stores pick the arena per tensor.

Limit: this bounds the error f16 *adds at the boundaries and at logits*; it cannot make
an ill-conditioned model well-conditioned. mediapipe's selfie_segmentation on the test
photo moves 1.4e-2 (over max|out|) on the CPU alone when its float32 input is rounded
to f16 (random relative input noise of 2.4e-4 moves it ~4.5e-3: a gain of ~20-60 from
relative input error to output error at a boundary pixel whose logit has a steep
slope). Every f16-stored activation is a perturbation of that size, so such a model
reaches 1e-2 only with (nearly) every activation f32, i.e. with ``precision="fp32"``.
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
    return wide
