"""What ``qlosync adopt`` did (or, in a dry run, would do), hotel by hotel, in lines for a person.

The same report whether the run wrote or not: a dry run does all of the work and rolls it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The kinds of rows adopted, in the order the report names them.
KINDS = ("room types", "rooms", "customers", "reservations")


@dataclass
class Tally:
    adopted: int = 0  # new in qlosync
    already: int = 0  # qlosync had them already, the same


@dataclass
class HotelAdoption:
    """One PMS hotel's adoption: its shop, what was adopted of each kind, and what was not and why."""

    hotel_id: str
    hotel_name: str
    shop: str | None = None  # None: no shop (the hotel was not adopted)
    shop_created: bool = False
    shop_summary: str = ""  # the created shop's address, QloApps hotel and sync switch
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    orders: int = 0  # QloApps orders the adopted reservations make up (a pulled order may hold several)
    problems: list[str] = field(default_factory=list)  # "what: why", one line each

    def refuse(self, what: str, why: str) -> None:
        self.problems.append(f"{what}: {why}")

    @property
    def new_rows(self) -> int:
        return sum(t.adopted for t in self.tallies.values()) + (1 if self.shop_created else 0)

    def lines(self, dry_run: bool) -> list[str]:
        head = f"hotel {self.hotel_name!r} ({self.hotel_id})"
        if self.shop is None:
            out = [f"{head}: not adopted"]
        elif self.shop_created:
            out = [f"{head}: shop {self.shop!r} {'would be ' if dry_run else ''}created ({self.shop_summary})"]
        else:
            out = [f"{head}: shop {self.shop!r} already adopted" + ("" if self.new_rows else "; nothing new")]
        if self.shop is not None:
            out.append("  " + ", ".join(self._kind_text(kind, dry_run) for kind in KINDS))
        out.extend(f"  not adopted: {problem}" for problem in self.problems)
        return out

    def _kind_text(self, kind: str, dry_run: bool) -> str:
        tally = self.tallies[kind]
        verb = "to adopt" if dry_run else "adopted"
        text = f"{kind} {tally.adopted} {verb}"
        if kind == "reservations" and tally.adopted:
            text += f" ({self.orders} QloApps order(s))"
        return text + (f", {tally.already} already there" if tally.already else "")


@dataclass
class AdoptReport:
    dry_run: bool
    hotels: list[HotelAdoption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def adopted_any(self) -> bool:
        """Whether any hotel has its shop now (new or from an earlier run): otherwise the command fails."""
        return any(hotel.shop is not None for hotel in self.hotels)

    @property
    def new_rows(self) -> int:
        return sum(hotel.new_rows for hotel in self.hotels)

    def lines(self) -> list[str]:
        out = [line for hotel in self.hotels for line in hotel.lines(self.dry_run)]
        out.extend(f"note: {note}" for note in self.notes)
        out.append(self._summary())
        return out

    def _summary(self) -> str:
        if not self.hotels:
            return "nothing to adopt: the PMS has no QloApps settings (public.qloapps_config is empty)"
        adopted = sum(1 for hotel in self.hotels if hotel.shop is not None)
        refused = sum(len(hotel.problems) for hotel in self.hotels)
        tail = f"; {refused} thing(s) not adopted (listed above)" if refused else ""
        if adopted and not self.new_rows:
            return f"nothing to change: {adopted} of {len(self.hotels)} hotel(s) already adopted{tail}"
        verb = "would adopt" if self.dry_run else "adopted"
        dry = " (dry run: nothing written)" if self.dry_run else ""
        return f"{verb} {adopted} of {len(self.hotels)} hotel(s), {self.new_rows} new row(s){tail}{dry}"
