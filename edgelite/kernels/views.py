"""Flat and two-dimensional views of C-contiguous arrays inside jitted kernels.

``a.reshape(-1)`` in numba code compiles to a call of numba's ``normalize_reshape_value``,
whose environment lives in ``numba.np.arrayobj``. When a kernel that reshapes is loaded
from the numba cache, restoring that environment imports ``numba.np.arrayobj`` and the
ten modules under it (unicode, hashing, sorting, ...): ~35 ms of every warm start,
for a view that needs no computation at all. ``view1d(a)`` and ``view2d(a, cols)`` build
the same views directly (same data pointer, same owner, new shape and strides), so a
kernel that uses them references nothing of numba's array library at load time.

Both take arrays numba types as C-contiguous, and arrays of any layout that are
C-contiguous at run time (a leading-axis slice ``a[i:j]`` of a C array is typed as of
any layout): those are checked when the view is made, and a non-contiguous one raises
``ValueError`` as numba's reshape does. ``view2d`` needs ``cols > 0`` dividing the size,
as a reshape would.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic


def _check_contiguous(context, builder, ary_type, ary) -> None:
    """Raise ValueError unless ``ary`` is C-contiguous (numpy's rule: a dimension of
    size 0 or 1 may have any stride)."""
    if ary_type.layout == "C":
        return
    shape = cgutils.unpack_tuple(builder, ary.shape, ary_type.ndim)
    strides = cgutils.unpack_tuple(builder, ary.strides, ary_type.ndim)
    one = cgutils.intp_t(1)
    expected = ary.itemsize
    ok = cgutils.true_bit
    for dim, stride in zip(reversed(shape), reversed(strides)):
        fine = builder.or_(builder.icmp_signed("<=", dim, one),
                           builder.icmp_signed("==", stride, expected))
        ok = builder.and_(ok, fine)
        expected = builder.mul(expected, dim)
    with cgutils.if_unlikely(builder, builder.not_(ok)):
        context.call_conv.return_user_exc(
            builder, ValueError, ("view of an array that is not C-contiguous",))


def _view(context, builder, src_type, src, dst_type, shape):
    from numba.np.arrayobj import make_array, populate_array  # at compile time only

    src_ary = make_array(src_type)(context, builder, src)
    _check_contiguous(context, builder, src_type, src_ary)
    dst_ary = make_array(dst_type)(context, builder)
    itemsize = src_ary.itemsize
    strides = [itemsize] if len(shape) == 1 else [builder.mul(shape[1], itemsize), itemsize]
    populate_array(dst_ary, data=src_ary.data, shape=shape, strides=strides,
                   itemsize=itemsize, meminfo=src_ary.meminfo, parent=src_ary.parent)
    return impl_ret_borrowed(context, builder, dst_type, dst_ary._getvalue())


def _c_array(a) -> bool:
    return isinstance(a, types.Array) and a.layout in "CA"


@intrinsic
def view1d(typingctx, a):
    """``a.reshape(-1)`` for a C-contiguous array."""
    if not _c_array(a):
        return None
    out_type = a.copy(ndim=1, layout="C")

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import make_array

        size = make_array(signature.args[0])(context, builder, args[0]).nitems
        return _view(context, builder, signature.args[0], args[0], out_type, [size])

    return out_type(a), codegen


@intrinsic
def view2d(typingctx, a, cols):
    """``a.reshape(-1, cols)`` for a C-contiguous array."""
    if not (_c_array(a) and isinstance(cols, types.Integer)):
        return None
    out_type = a.copy(ndim=2, layout="C")

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import make_array

        size = make_array(signature.args[0])(context, builder, args[0]).nitems
        width = context.cast(builder, args[1], signature.args[1], types.intp)
        one = cgutils.intp_t(1)
        safe = builder.select(builder.icmp_signed(">", width, one), width, one)
        height = builder.sdiv(size, safe)
        return _view(context, builder, signature.args[0], args[0], out_type,
                     [height, width])

    return out_type(a, cols), codegen
