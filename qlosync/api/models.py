"""Request and response bodies of the admin API (pydantic), so the OpenAPI document says exactly what goes over the wire.

Request bodies are strict (``"3"`` is not a hotel id, ``"yes"`` is not a boolean) and refuse unknown
fields, so a typo is a 422 instead of a silently ignored setting. Every string that reaches PostgreSQL
is bounded and free of NUL characters, and every number fits its column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, SecretStr, computed_field

from qlosync import fields
from qlosync.db.config_store import DEFAULT_SHOP
from qlosync.fields import BASE_URL_MAX, INT32_MAX, MAX_CONCURRENT_RANGE, MAX_RPS_LIMIT, PMS_ROOM_TYPE_PATTERN
from qlosync.ops.config import PROBLEMS
from qlosync.ops.shops import ShopStatusRow
from qlosync.ops.shops.hotels import CLEAR
from qlosync.secrets import Secret
from qlosync.ops.sync import RunView
from qlosync.states import ConflictStrategy, DeadLetterStatus, RunKind

INT64_MAX = 2**63 - 1

# Patterns and bounds come from qlosync.fields, so the OpenAPI document states the rules the CLI and CSV obey.
SHOP_PATTERN = fields.SHOP_NAME_PATTERN
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

ShopName = Annotated[str, Field(pattern=SHOP_PATTERN, description="A shop's name (letters, digits, `.`, `_`, `-`; "
                                "the first a letter or digit).", examples=[DEFAULT_SHOP])]
PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX)]
# Request bodies are strict, and strict pydantic takes only members for an enum: the JSON's strings must do too.
ConflictStrategyField = Annotated[ConflictStrategy, Field(strict=False)]
# The PMS's own id of a hotel: opaque text (qlosync.pms.port.PmsId), checked against the PMS's hotels by the
# operation. Null, where a body allows it, clears it: the shop then syncs with the PMS's only hotel.
PMS_HOTEL_PATTERN = r"^[^\x00-\x1f\x7f]{1,64}$"
PMS_HOTEL_DESCRIPTION = ("The PMS hotel this shop syncs with: one of the PMS's hotel ids, as text (e.g. `\"2\"`); "
                         "an id the PMS has no hotel with is a 422 naming those it has. Null: none, the PMS's only "
                         "hotel (a PMS with several needs one).")
PmsHotelId = Annotated[str, Field(pattern=PMS_HOTEL_PATTERN, examples=["2"], description=PMS_HOTEL_DESCRIPTION)]
EFFECTIVE_PMS_HOTEL_DESCRIPTION = ("The PMS hotel the shop does sync with: pms_hotel_id, or the PMS's only hotel "
                                   "when that is null; null when there is none (several hotels and none set, or one "
                                   "the PMS no longer has).")
ConnectionProblem = Literal["cannot_connect", "not_qloapps", "key_refused", "missing_permission", "qloapps_failed",
                            "unknown_hotel"]

# What the OpenAPI document shows must not drift from the code's lists.
assert get_args(ConnectionProblem) == PROBLEMS


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def given_pms_hotel(body: ShopUpdate | ShopConfigUpdate) -> str | None:
    """A change's pms_hotel_id as the operations take it: None when left out (unchanged), CLEAR when null."""
    if "pms_hotel_id" not in body.model_fields_set:
        return None
    return body.pms_hotel_id if body.pms_hotel_id is not None else CLEAR


def _base_url(value: str) -> str:
    # Whether link-local addresses are allowed is a setting: the operation, which has the settings, decides.
    return fields.base_url(value, allow_link_local=True)


def _api_key(value: SecretStr) -> SecretStr:
    fields.api_key(Secret(value.get_secret_value()))  # its message gives lengths and kinds of characters only
    return value


BaseUrl = Annotated[str, Field(max_length=BASE_URL_MAX, pattern=r"^https?://\S+$",
                               examples=["https://booking.example.com"],
                               description="The shop's address; the webservice is under /api/."),
                    AfterValidator(_base_url)]
ApiKey = Annotated[SecretStr, Field(min_length=1, max_length=64, json_schema_extra={"writeOnly": True},
                                    description="The QloApps webservice key (32 characters). Write-only."),
                   AfterValidator(_api_key)]


# -- errors -------------------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, in one line.")


class ValidationProblem(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query` or `path`, then the field.")
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: str = Field(description="Every problem, in one line.")
    errors: list[ValidationProblem]


# -- sync ---------------------------------------------------------------------------------------------------------


class SyncRequest(RequestBody):
    full: bool = Field(False, description="Page through every QloApps order, not only the changed ones.")
    shop: ShopName = DEFAULT_SHOP


class SyncAccepted(BaseModel):
    message_id: str = Field(description="The `pull_bookings` message; its run will carry this id.")
    run_id: int | None = Field(description="Null until a worker starts the run: poll `poll` for it.")
    shop: str
    kind: RunKind
    poll: str = Field(description="Where the run appears once a worker has started it.")


# A run is answered as the operation returns it (one definition for the CLI, the API and its schema).
SyncRun = RunView


class SyncRunList(BaseModel):
    runs: list[SyncRun] = Field(description="Newest first.")


# -- status -------------------------------------------------------------------------------------------------------


class SchemaRevision(BaseModel):
    current: str | None
    head: str | None


class StatusReport(BaseModel):
    """``qlosync status --json``: the schema revision, then (when the schema is current) everything else."""

    model_config = ConfigDict(extra="allow")

    schema_revision: SchemaRevision = Field(alias="schema")


# -- config -------------------------------------------------------------------------------------------------------


class ShopConfigView(BaseModel):
    name: str
    base_url: str
    api_key_set: bool = Field(description="Whether an API key is stored; the key itself is never returned.")
    sync_enabled: bool
    id_hotel: int = Field(validation_alias=AliasChoices("id_hotel", "hotel_id"),
                          description="QloApps hotel (id_property) this PMS is.")
    pms_hotel_id: str | None = Field(description="The PMS hotel set for this shop; null: none, the PMS's only hotel.")
    effective_pms_hotel_id: str | None = Field(description=EFFECTIVE_PMS_HOTEL_DESCRIPTION)
    conflict_strategy: str
    updated_at: datetime | None

    # Marked deprecated in the OpenAPI document only: pydantic's own `deprecated=` would warn on every answer.
    @computed_field(json_schema_extra={"deprecated": True},
                    description="The same as id_hotel: this answer's old spelling, kept for the clients that read it.")
    def hotel_id(self) -> int:
        """The same as id_hotel, under this answer's first spelling, for the clients written for it."""
        return self.id_hotel


class ShopConfigUpdate(RequestBody):
    """Create or change a shop; fields left out keep their value (a new shop needs base_url and api_key)."""

    shop: ShopName = DEFAULT_SHOP
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None
    sync_enabled: bool | None = None
    # `hotel_id` was this body's spelling; it stays accepted so that clients written for it keep working.
    id_hotel: PositiveInt32 | None = Field(None, validation_alias=AliasChoices("id_hotel", "hotel_id"),
                                           description="QloApps hotel (id_property) this PMS is "
                                                       "(`hotel_id`, the old spelling, is accepted too).")
    pms_hotel_id: PmsHotelId | None = Field(None, description=PMS_HOTEL_DESCRIPTION + " Left out: unchanged; "
                                            "null: cleared.")
    conflict_strategy: ConflictStrategyField | None = None


class ConnectionTestRequest(RequestBody):
    """Test the stored URL and key, or the ones given here (not stored)."""

    shop: ShopName = DEFAULT_SHOP
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None


class HotelSeen(BaseModel):
    id: int
    name: str


class ConnectionTestResult(BaseModel):
    ok: bool
    problem: ConnectionProblem | None = Field(description="What is wrong, as a code; null when ok.")
    message: str = Field(description="What works and what does not, in plain words.")
    api_url: str
    resources: list[str] = Field(description="Webservice resources the key may use.")
    hotels: list[HotelSeen]
    room_types: int | None = Field(description="Room types of the configured hotel (when it could read them).")


# -- dead letters -------------------------------------------------------------------------------------------------


class DeadLetter(BaseModel):
    message_id: str
    actor: str
    origin_queue: str
    reason: str | None = Field(description="permanent, retries_exhausted, skipped, not_qlosync, actor_not_found, or RabbitMQ's.")
    error_class: str | None
    error_message: str | None
    retries: int
    args: list[Any]
    kwargs: dict[str, Any]
    status: DeadLetterStatus
    in_queue: bool = Field(description="Whether the message is still in qloapps.dlq.")
    dead_at: datetime | None
    requeued_at: datetime | None
    requeue_count: int
    resolved_at: datetime | None


class DeadLetterList(BaseModel):
    dead_letters: list[DeadLetter] = Field(description="Oldest first.")


class Requeued(BaseModel):
    requeued: list[str]


# -- mappings -----------------------------------------------------------------------------------------------------


class PmsRoomTypeRef(BaseModel):
    id: str = Field(description="The PMS's id of the room type: opaque text (the built-in PMS's are digits)")
    code: str
    name: str


class RoomTypeMapping(BaseModel):
    qloapps_room_type_id: int
    qloapps_name: str | None
    qloapps_hotel_id: int
    pms_room_type: PmsRoomTypeRef


class RoomTypeMappingList(BaseModel):
    mappings: list[RoomTypeMapping]


class RoomTypeMappingUpdate(RequestBody):
    pms_room_type: Annotated[str, Field(pattern=PMS_ROOM_TYPE_PATTERN, examples=["DLX"],
                                        description="The PMS room type's id or code."),
                             AfterValidator(fields.pms_room_type)]
    shop: ShopName = DEFAULT_SHOP


class RoomTypeMappingSet(BaseModel):
    mapping: RoomTypeMapping
    parked: dict[str, int] = Field(description="Parked bookings applied now, by outcome (empty: none).")
    parked_error: str | None = Field(description="Why parked bookings could not be applied now (they stay parked).")


# -- health -------------------------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    postgresql: str = Field(description="`ok`, or why PostgreSQL cannot be used.")
    rabbitmq: str = Field(description="`ok`, or why RabbitMQ cannot be used.")


# -- shops --------------------------------------------------------------------------------------------------------

MaxConcurrent = Annotated[int, Field(ge=MAX_CONCURRENT_RANGE[0], le=MAX_CONCURRENT_RANGE[1],
                                     description="Requests at once to this shop, summed over every host.")]
MaxRequestsPerSecond = Annotated[float, Field(gt=0, le=MAX_RPS_LIMIT, allow_inf_nan=False,
                                              description="Requests per second to this shop, summed over every host.")]


# A shop is answered as the operation returns it, like a run (its state is qlosync.states.ShopState).
ShopView = ShopStatusRow


class ShopList(BaseModel):
    summary: dict[str, int] = Field(description="Shops in each state (of all shops, whatever the filter).")
    shops: list[ShopView] = Field(description="Attention first (breaker open, failing, overdue, ok, disabled), "
                                              "then by name.")


class ShopCreate(RequestBody):
    name: ShopName
    base_url: BaseUrl
    api_key: ApiKey
    enabled: bool = Field(True, description="Whether sync is on.")
    id_hotel: PositiveInt32 | None = Field(None, description="QloApps hotel (id_property) this PMS is; default 1.")
    pms_hotel_id: PmsHotelId | None = Field(None, description=PMS_HOTEL_DESCRIPTION)
    conflict_strategy: ConflictStrategyField | None = None
    max_concurrent_requests: MaxConcurrent | None = None
    max_requests_per_second: MaxRequestsPerSecond | None = None


class ShopUpdate(RequestBody):
    """Fields left out keep their value (`pms_hotel_id`: null clears it)."""

    enabled: bool | None = None
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None
    id_hotel: PositiveInt32 | None = None
    pms_hotel_id: PmsHotelId | None = Field(None, description=PMS_HOTEL_DESCRIPTION + " Left out: unchanged; "
                                            "null: cleared.")
    conflict_strategy: ConflictStrategyField | None = None
    max_concurrent_requests: MaxConcurrent | None = None
    max_requests_per_second: MaxRequestsPerSecond | None = None


class ShopRemoved(BaseModel):
    name: str
    reservation_mappings: int
    room_type_mappings: int
    runs: int
    sync_log_entries: int


class ShopImportResult(BaseModel):
    created: list[str]
    updated: list[str]
    dry_run: bool = Field(description="True: nothing was written.")


class ShopImportErrors(BaseModel):
    detail: str
    errors: list[str] = Field(description="Every problem, each starting with its line: `line 7: ...`.")


class BreakerReset(BaseModel):
    name: str
    was_open: bool = Field(description="Whether the breaker was open or counting failures.")
