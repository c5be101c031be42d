"""Shared glacier domain core: fields, I/O, validation, flow-model interface, SMB, transport.

Units throughout: metres (m), years (a), megapascals (MPa). Field names follow IGM.
"""
