"""The public surface is deliberate, and every error says whether to retry."""

from __future__ import annotations

import inspect

import erpbridge.errors as errors
import erpbridge.formats.x12 as x12


def test_x12_public_names() -> None:
    assert sorted(x12.__all__) == sorted(
        [
            "AckBuilder", "Acknowledgment", "ControlNumbers", "DecodeResult", "Dialect", "Event", "Finding",
            "GroupEnd", "GroupStart", "InterchangeEnd", "InterchangeStart", "Level", "Location", "LoopEnd",
            "LoopStart", "Overlay", "Segment", "SetEnd", "SetSchema", "SetStart", "X12Reader", "build_acks",
            "decode", "encode", "envelope", "EnvelopeParty", "load_set", "parse_overlay", "read",
        ]
    )  # fmt: skip
    for name in x12.__all__:
        assert hasattr(x12, name), name


def test_every_error_is_transient_or_terminal_and_drawn_in_the_docstring() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.ErpBridgeError)
    ]
    assert len(classes) >= 10
    doc = errors.__doc__ or ""
    for cls in classes:
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree in errors.py"
        if cls is errors.ErpBridgeError:
            continue
        assert issubclass(cls, errors.TransientError) != issubclass(cls, errors.TerminalError), cls
        assert cls.transient == issubclass(cls, errors.TransientError)


def test_errors_carry_context() -> None:
    err = errors.X12WriteError("BEG03 is missing", partner="ACME", file="po.json")
    assert str(err) == "BEG03 is missing (partner=ACME, file=po.json)"
    assert err.context == {"partner": "ACME", "file": "po.json"} and not err.transient
    assert errors.TransportError("timeout").transient
