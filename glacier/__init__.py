"""Shared glacier domain core: fields, I/O, validation, the flow-model interface and registry,
metrics, provenance and machine info, SMB, transport. It imports nothing of the other packages.

Units throughout: metres (m), years (a), megapascals (MPa). Field names follow IGM.
"""
