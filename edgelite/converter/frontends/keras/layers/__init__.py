"""One rule per Keras layer class: ``rule(builder, config, args, kwargs, weights)`` returns
the layer's output Value (or a list of them). ``RULES`` is the one table."""

from . import activations, attention, conv, core, recurrent

RULES = {**activations.RULES, **attention.RULES, **conv.RULES, **core.RULES,
         **recurrent.RULES}
