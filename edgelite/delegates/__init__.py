"""Delegates that ship with edgelite (the API is ``edgelite.interpreter.delegate``).

``gpu``: WebGPU compute through ``wgpu`` (``pip install 'edgelite[gpu]'``).
"""
