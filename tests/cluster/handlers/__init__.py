"""Tests of the administrative request handlers, in process and through real clients."""
