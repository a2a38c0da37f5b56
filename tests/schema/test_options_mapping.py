"""options_table_for() agrees with the options tables real converters wrote."""

from __future__ import annotations

import pytest

from edgelite.schema import options, read
from tests.conftest import ALL_MODELS, model_path


@pytest.mark.parametrize("kind,name", ALL_MODELS, ids=[n for _, n in ALL_MODELS])
def test_inferred_options_table_matches_file(kind, name):
    model = read(model_path(kind, name))
    checked = 0
    for sg in model.subgraphs:
        for op in sg.operators:
            if op.options_type not in (None, "NONE") and not op.custom:
                assert options.options_table_for(op.opcode) == op.options_type, op.opcode
                checked += 1
    assert checked > 0
