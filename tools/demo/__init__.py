"""`make demo`: examples/complete against a local AWS emulator (or, opt-in, a real account).

Entry point: ``PYTHONPATH=tools python -m demo`` (what `make demo` runs); see run.py.
"""
