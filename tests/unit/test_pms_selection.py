"""QLOSYNC_PMS picks the adapter sync reads and writes; sessions carry the choice to open_pms()."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from qlosync.errors import ConfigurationError
from qlosync.pms import PMS_OPTION, open_pms
from qlosync.pms.builtin.adapter import BuiltinPms
from qlosync.settings import Settings


def test_the_built_in_pms_is_the_default_and_an_unknown_one_is_refused_with_the_known_ones():
    assert Settings.from_env({}).pms == "builtin"
    with pytest.raises(ConfigurationError, match="QLOSYNC_PMS must be one of builtin, hotelmanangement, got 'opera'"):
        Settings.from_env({"QLOSYNC_PMS": "opera"})


def test_open_pms_gives_the_adapter_the_sessions_engine_names():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", execution_options={PMS_OPTION: "builtin"})
    with Session(engine) as session:
        assert isinstance(open_pms(session), BuiltinPms)
    with Session(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")) as session:
        assert isinstance(open_pms(session), BuiltinPms)  # an engine made elsewhere: the default
        with pytest.raises(ConfigurationError, match="no PMS adapter 'opera'"):
            open_pms(session, "opera")
