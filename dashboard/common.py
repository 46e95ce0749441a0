"""Shared dashboard plumbing: settings, the engine, and cached reads keyed by the data version."""
from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

import streamlit as st
from sqlalchemy.engine import Engine

from core import loading
from core.config import Settings, load_settings
from core.db import data_version
from core.prestart import prestart

T = TypeVar("T")


@st.cache_resource(show_spinner="Starting the database...")
def engine() -> Engine:
    """The process-wide engine: database reached, schema migrated, first admin present; the upload
    spool cleaned on a timer."""
    engine = prestart(settings())
    loading.start_spool_cleaner(engine, settings=settings())
    return engine


@st.cache_resource
def settings() -> Settings:
    return load_settings()


def current_data_version() -> int:
    with engine().connect() as conn:
        return data_version(conn)


@st.cache_data(ttl=3600, max_entries=1000, show_spinner=False)
def _cached_read(module: str, name: str, version: int, kwargs: dict[str, Any]) -> Any:
    fn = getattr(importlib.import_module(module), name)
    with engine().connect() as conn:
        return fn(conn, **kwargs)


def read(fn: Callable[..., T], **kwargs: Any) -> T:
    """Call a core read function `fn(conn, **kwargs)`, cached until the data changes.

    Every write bumps the data version (database triggers), which is part of the cache key, so a
    load or an edit is visible on the next run without clearing anything.
    """
    return _cached_read(fn.__module__, fn.__name__, current_data_version(), kwargs)


def read_fresh(fn: Callable[..., T], **kwargs: Any) -> T:
    """Call a core read function without caching (small, always-current reads)."""
    with engine().connect() as conn:
        return fn(conn, **kwargs)


def write(fn: Callable[..., T], **kwargs: Any) -> T:
    """Call a core write function `fn(conn, **kwargs)` in one transaction."""
    with engine().begin() as conn:
        return fn(conn, **kwargs)


def page_sidebar():
    """The sidebar area reserved for the current page's filters (above the navigation)."""
    return st.session_state.get("app_page_sidebar") or st.sidebar
