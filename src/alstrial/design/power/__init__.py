"""Simulation-based power and type I error over grids of designs (issue 13).

Scenarios (``scenarios``) are the protocol plus grid overrides; each replicate is one simulated
trial (``replicates.run_chunk``) analysed by the protocol's own analysis code (``analyses``);
chunks of replicates run in-process, in local processes or on Dask (``executors``) and are stored
as they finish (``store``), so a study resumes (``run``). ``compare`` ranks designs and
``sample_size`` searches the smallest N for a target power.
"""
