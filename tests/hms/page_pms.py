"""A stand-in PMS for the settings-page tests until the hotelmanangement adapter is registered: the built-in
PMS in every respect but ``report_sync``, which is the hotelmanangement one (the code under test)."""

from __future__ import annotations

from qlosync.pms.builtin.adapter import BuiltinPms
from qlosync.pms.hotelmanangement import settings_page
from qlosync.pms.port import PmsId

NAME = "hms-settings-page"
SPEC = "tests.hms.page_pms:SettingsPagePms"


class SettingsPagePms(BuiltinPms):
    name = NAME

    def report_sync(self, hotel_id: PmsId, *, succeeded: bool, error: str | None) -> None:
        settings_page.report_sync(self.session, hotel_id, succeeded=succeeded, error=error)
