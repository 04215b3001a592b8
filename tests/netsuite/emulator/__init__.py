"""A NetSuite emulator for erpbridge's tests, written from Oracle's published SuiteTalk documentation
(README.md says what it covers and where each behaviour comes from)."""

from .auth import Integration, Token
from .server import NetSuiteEmulator, RestError

__all__ = ["Integration", "NetSuiteEmulator", "RestError", "Token"]
