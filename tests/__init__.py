"""Test suite for AAR Bot."""
