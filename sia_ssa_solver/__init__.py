"""Hybrid SIA+SSA instructor: a sliding (SSA) and a shear (SIA) mode coupled by a first-order
action and solved together with Firedrake (``sia_ssa_solver.hybrid``).

Its flow models "hybrid", "ssa" and "sia-mahaffy" (``sia_ssa_solver.models``) are named in
pyproject.toml's entry points; Firedrake is imported when a hybrid or SSA model is built.
"""
