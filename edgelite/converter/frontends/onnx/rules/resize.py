"""Resize (opsets 10-19) and Upsample (7, 9) of the two spatial axes of an N, C, H, W tensor.

ONNX and TFLite describe the same resampling differently: ONNX by a coordinate
transformation (and, for nearest, a rounding mode), TFLite's RESIZE_BILINEAR and
RESIZE_NEAREST_NEIGHBOR by two flags. Instead of a table of which spellings agree, the
rule compares where each samples, at conversion, where every size is known:

1. settle the attributes (Upsample and Resize-10 predate them: asymmetric coordinates,
   nearest rounds down when enlarging, up when shrinking), the output size and the scale
   ONNX uses for coordinates, from ``scales`` or ``sizes``, ``axes`` and
   ``keep_aspect_ratio_policy``;
2. per resized axis, ONNX's sampling in float64 as the spec states it: nearest -> the
   source row of each output row; linear -> its source position, clamped to the image
   (linear interpolation with edge padding is the piecewise-linear interpolant there);
3. the same for TFLite under each flag setting (none, align_corners, half_pixel_centers),
   with its float32 arithmetic (and the 16-bit fixed point nearest uses for 8-bit types);
4. a setting that agrees on both axes gives one RESIZE op; otherwise each axis is resized
   on its own, by a RESIZE op with a setting that agrees on that axis (keeping the other
   axis is exact under every setting), or failing that exactly by data movement: nearest
   gathers the source rows, linear gathers both neighbours and blends them with constant
   weights.

Unsupported: cubic, antialiased shrinking, tf_crop_and_resize, resizing N or C, ranks
other than 4, and sizes or scales known only at run time.
"""

from __future__ import annotations

import math

import numpy as np

from ..context import channels_last
from ._common import out_info
from .elementwise import binary
from .resize_runtime import gather_rows, resample_runtime, runtime_scales

_FLAGS = ("half_pixel_centers", "align_corners", "none")
_TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
               "tf_half_pixel_for_nn", "half_pixel_symmetric")
_ROUNDINGS = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")
_NEAREST_TYPES = {np.dtype(t) for t in (np.float16, np.float32, np.int8, np.uint8, np.int16,
                                         np.uint16, np.int32, np.uint32, np.bool_)}
_F32 = np.float32


def _text(attrs: dict, key: str, default: str) -> str:
    value = attrs.get(key, default)
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- settings
def _settings(ctx, op_type: str, attrs: dict) -> tuple[str, str, str]:
    """(mode "nearest"/"linear", coordinate transformation, nearest rounding)."""
    mode = _text(attrs, "mode", "nearest")
    mode = "linear" if mode == "bilinear" else mode
    if mode not in ("nearest", "linear"):
        raise ctx.error(f"{op_type} mode {mode!r} is not supported (nearest and linear are)")
    if op_type == "Upsample" or ctx.opset < 11:
        return mode, "asymmetric", "simple"
    ctm = _text(attrs, "coordinate_transformation_mode", "half_pixel")
    if ctm not in _TRANSFORMS:
        raise ctx.error(f"Resize coordinate_transformation_mode {ctm!r} is not supported")
    rounding = _text(attrs, "nearest_mode", "round_prefer_floor")
    if rounding not in _ROUNDINGS[:4]:
        raise ctx.error(f"Resize nearest_mode {rounding!r} is not supported")
    return mode, ctm, rounding


def _requested(ctx, op_type: str, ins: list, attrs: dict):
    """(scales, sizes) as values, exactly one of them given."""
    def present(k):
        v = ins[k] if len(ins) > k else None
        return None if v is None or (v.const is not None and v.const.size == 0) else v
    if op_type == "Upsample" and "scales" in attrs:          # Upsample-7
        return ctx.const_value(np.asarray(attrs["scales"], np.float32)), None
    if op_type == "Upsample" or ctx.opset < 11:
        scales, sizes = present(1), None
    else:
        scales, sizes = present(2), present(3)
    if (scales is None) == (sizes is None):
        raise ctx.error(f"{op_type} needs exactly one of scales and sizes")
    return scales, sizes


def _static_targets(ctx, x, axes: list[int], scales, sizes, policy: str):
    """Per logical axis: (output length, the scale ONNX's coordinates use)."""
    rank = x.rank
    if scales is not None:
        scale = [1.0] * rank
        for a, s in zip(axes, np.asarray(scales, np.float32).reshape(-1)):
            scale[a] = float(s)
        return [int(s * d) for s, d in zip(scale, x.shape)], scale     # the spec floors
    out = list(x.shape)
    for a, n in zip(axes, np.asarray(sizes).reshape(-1)):
        out[a] = int(n)
    scale = [o / d for o, d in zip(out, x.shape)]
    if policy != "stretch":
        pick = min if policy == "not_larger" else max
        s = pick(scale[a] for a in axes)
        scale = [s if a in axes else 1.0 for a in range(rank)]
        out = [int(s * d + 0.5) if a in axes else d for a, d in enumerate(x.shape)]
    return out, scale


# --------------------------------------------------------------------------- sampling
def _onnx_coords(ctm: str, src: int, dst: int, scale: float) -> np.ndarray:
    """ONNX's source coordinate of each output row (float64, unclamped)."""
    y = np.arange(dst, dtype=np.float64)
    length = scale * src              # the spec's (unfloored) output length
    if ctm == "align_corners":
        return np.zeros(dst) if length == 1 else y * (src - 1) / (length - 1)
    if ctm == "asymmetric":
        return y / scale
    if ctm == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale
    if ctm == "pytorch_half_pixel" and length == 1:
        return np.full(dst, -0.5)
    offset = 0.0
    if ctm == "half_pixel_symmetric":
        offset = src / 2 * (1 - dst / length)
    return offset + (y + 0.5) / scale - 0.5


def _onnx_nearest(coords: np.ndarray, rounding: str, src: int, scale: float) -> np.ndarray:
    if rounding == "simple":          # ONNX Runtime's rounding before nearest_mode existed
        rounding = "ceil" if scale < 1 else "floor"
    low = np.floor(coords)
    frac = coords - low
    up = {"floor": np.zeros_like(frac, bool), "ceil": frac > 0,
          "round_prefer_floor": frac > 0.5, "round_prefer_ceil": frac >= 0.5}[rounding]
    return np.clip(low + up, 0, src - 1).astype(np.int64)


def _tflite_rows(flag: str, src: int, dst: int):
    """TFLite's float32 output rows (shifted by half a pixel if asked) and scale."""
    if flag == "align_corners" and dst > 1:
        scale = _F32(src - 1) / _F32(dst - 1)
    else:
        scale = _F32(src) / _F32(dst)
    rows = np.arange(dst, dtype=_F32)
    return (rows + _F32(0.5) if flag == "half_pixel_centers" else rows), scale


def _tflite_nearest(flag: str, src: int, dst: int, one_byte: bool) -> np.ndarray:
    if flag == "none" and one_byte:   # 8-bit types: 16-bit fixed point
        step = (src << 16) // dst + 1
        return np.minimum((np.arange(dst, dtype=np.int64) * step) >> 16, src - 1)
    rows, scale = _tflite_rows(flag, src, dst)
    pos = (rows * scale).astype(np.float64)
    index = np.floor(pos + 0.5) if flag == "align_corners" else np.floor(pos)
    return np.clip(index, 0, src - 1).astype(np.int64)


def _tflite_linear(flag: str, src: int, dst: int) -> np.ndarray:
    """The position TFLite's two neighbours and weights interpolate at."""
    rows, scale = _tflite_rows(flag, src, dst)
    pos = rows * scale - (_F32(0.5) if flag == "half_pixel_centers" else _F32(0))
    low = np.maximum(np.floor(pos), 0)
    high = np.minimum(np.ceil(pos), src - 1)
    weight = (pos - low).astype(np.float64)
    return low + weight * (high - low)


def _axis_plan(mode: str, ctm: str, rounding: str, src: int, dst: int, scale: float,
               one_byte: bool):
    """(ONNX's samples for one axis, the TFLite flag settings that reproduce them)."""
    coords = _onnx_coords(ctm, src, dst, scale)
    if mode == "nearest":
        want = _onnx_nearest(coords, rounding, src, scale)
        ok = [f for f in _FLAGS if np.array_equal(_tflite_nearest(f, src, dst, one_byte), want)]
        return want, ok
    want = np.clip(coords, 0, src - 1)
    tol = 1e-5 + 1e-6 * src           # float32 rounding of the positions
    ok = [f for f in _FLAGS if np.allclose(_tflite_linear(f, src, dst), want, rtol=0, atol=tol)]
    return want, ok


# --------------------------------------------------------------------------- emitters
def _resize_op(ctx, x, opcode: str, flag: str, hw):
    perm = channels_last(4)
    opts = {"align_corners": flag == "align_corners",
            "half_pixel_centers": flag == "half_pixel_centers"}
    size = ctx.constant_index(np.array(hw, np.int32))
    return ctx.emit(opcode, [ctx.physical(x, perm), size], [x.shape[:2] + tuple(hw)],
                    [x.dtype], opts, perm=perm)[0]


def _blend(ctx, x, axis: int, pos: np.ndarray):
    """Linear interpolation along ``axis`` at clamped positions ``pos``."""
    src = x.shape[axis]
    low = np.floor(pos).astype(np.int64)
    high = np.minimum(low + 1, src - 1)
    weight = pos - low
    shape = [1] * x.rank
    shape[axis] = len(pos)
    w_high = ctx.const_value(weight.reshape(shape).astype(x.dtype))
    w_low = ctx.const_value((1 - weight).reshape(shape).astype(x.dtype))
    return binary(ctx, "ADD", binary(ctx, "MUL", gather_rows(ctx, x, axis, low), w_low),
                  binary(ctx, "MUL", gather_rows(ctx, x, axis, high), w_high))


# --------------------------------------------------------------------------- rule
def _check(ctx, op_type: str, x, mode: str, out, scale, attrs: dict) -> list[int]:
    """The spatial axes that change; errors for what cannot be lowered."""
    for a, name in ((0, "N"), (1, "C")):
        if out[a] != x.shape[a] or not math.isclose(scale[a], 1.0):
            raise ctx.error(f"{op_type} resizes axis {a} ({name}) with scale {scale[a]:g}; "
                            "only H and W can be resized")
    if min(out) < 1:
        raise ctx.error(f"{op_type} output shape {out} has an empty axis")
    moved = [a for a in (2, 3) if out[a] != x.shape[a] or not math.isclose(scale[a], 1.0)]
    if attrs.get("antialias", 0) and mode == "linear" and any(scale[a] < 1 for a in moved):
        raise ctx.error(f"{op_type} antialias=1 when shrinking is not supported")
    return moved


def _static(ctx, x, mode: str, ctm: str, rounding: str, out, scale, moved):
    """Resampling with every size known: RESIZE ops where they agree (module doc)."""
    one_byte = x.dtype.itemsize == 1 and x.dtype != np.bool_
    plans = {a: _axis_plan(mode, ctm, rounding, x.shape[a], out[a], scale[a], one_byte)
             for a in moved}
    opcode = "RESIZE_BILINEAR" if mode == "linear" else "RESIZE_NEAREST_NEIGHBOR"
    builtin = mode == "linear" or x.dtype in _NEAREST_TYPES
    common = [f for f in _FLAGS if all(f in plans[a][1] for a in moved)]
    if builtin and common:
        return _resize_op(ctx, x, opcode, common[0], out[2:])
    y = x
    for a, (want, ok) in plans.items():
        if builtin and ok:
            hw = list(y.shape[2:])
            hw[a - 2] = out[a]
            y = _resize_op(ctx, y, opcode, ok[0], hw)
        elif mode == "nearest":
            y = gather_rows(ctx, y, a, want)
        else:
            y = _blend(ctx, y, a, want)
    return y


def _runtime(ctx, op_type, x, mode, ctm, rounding, v, sizes: bool, axes, policy, attrs):
    """Resampling at run-time scales into the output shape known at conversion."""
    out, _ = out_info(ctx)
    if out is None:
        raise ctx.error(f"{op_type} with scales or sizes known only at run time needs a "
                        "statically known output shape (pass input_shapes, or declare it)")
    if attrs.get("antialias", 0) and mode == "linear" and (out[2] < x.shape[2]
                                                           or out[3] < x.shape[3]):
        raise ctx.error(f"{op_type} antialias=1 when shrinking is not supported")
    _check(ctx, op_type, x, mode, out, [1.0] * 4, {})
    y = x
    for a, s in runtime_scales(ctx, op_type, v, sizes, x, axes, policy).items():
        y = resample_runtime(ctx, y, a, s, out[a], mode, ctm, rounding)
    return y


def _rule(ctx, node, ins, attrs):
    x, op_type = ins[0], node.op_type
    mode, ctm, rounding = _settings(ctx, op_type, attrs)
    if mode == "nearest" and attrs.get("antialias", 0):
        raise ctx.error(f"{op_type} antialias=1 with mode 'nearest' is not defined")
    if x.rank != 4:
        raise ctx.error(f"{op_type} of a rank-{x.rank} input is not supported (N, C, H, W only)")
    if mode == "linear" and x.dtype.kind != "f":
        raise ctx.error(f"{op_type} mode 'linear' of a {x.dtype} input is not supported")
    scales, sizes = _requested(ctx, op_type, ins, attrs)
    given = scales if scales is not None else sizes
    axes = [int(a) % 4 for a in attrs.get("axes", range(4))]
    if given.rank != 1 or given.shape[0] != len(axes):
        raise ctx.error(f"{op_type} needs one scale or size per axis ({len(axes)})")
    policy = _text(attrs, "keep_aspect_ratio_policy", "stretch")
    if policy not in ("stretch", "not_larger", "not_smaller"):
        raise ctx.error(f"{op_type} keep_aspect_ratio_policy {policy!r} is not supported")
    if given.const is None and sizes is not None and policy == "stretch":
        shape, _ = out_info(ctx)      # the sizes are the output shape's
        if shape is not None:
            given = sizes = ctx.const_value(np.array([shape[a] for a in axes], np.int64))
    if given.const is None:
        return [_runtime(ctx, op_type, x, mode, ctm, rounding, given, sizes is not None,
                         axes, policy, attrs)]
    out, scale = _static_targets(ctx, x, axes, None if scales is None else scales.const,
                                 None if sizes is None else sizes.const, policy)
    moved = _check(ctx, op_type, x, mode, out, scale, attrs)
    inferred, _ = out_info(ctx)
    if inferred is not None and tuple(inferred) != tuple(out):
        raise ctx.error(f"{op_type} output shape {out} differs from the declared or inferred "
                        f"{list(inferred)}")
    if not moved:
        return [x]
    return [_static(ctx, x, mode, ctm, rounding, out, scale, moved)]


RULES = {"Resize": _rule, "Upsample": _rule}
