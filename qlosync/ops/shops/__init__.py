"""Managing many shops: add, change, remove (crud), import from CSV (csv_import), each one's status in
attention order (status), and the PMS hotel each one syncs with (hotels). Callers use this package's names
(``from qlosync.ops import shops``).

Finding one for an operation is qlosync.db.config_store.get_config_row (an unknown shop is its own error,
so the API answers 404) and qlosync.sync.service.load_shop_config (with its key decrypted)."""

from qlosync.db.config_store import UnknownShopError
from qlosync.ops.shops.crud import (
    DuplicateShopError,
    InvalidShopError,
    ShopChanges,
    ShopData,
    add_shop,
    check_name,
    remove_shop,
    set_enabled,
    shop_data,
    update_shop,
)
from qlosync.ops.shops.csv_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportReport,
    ShopImportError,
    import_csv,
)
from qlosync.ops.shops.hotels import UnknownPmsHotelError
from qlosync.ops.shops.status import (
    ATTENTION_STATES,
    STATES,
    ShopStatusRow,
    reset_shop_breaker,
    shop_status,
    summarise,
    summary_line,
    summary_text,
)

__all__ = [
    "ATTENTION_STATES", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "STATES", "DuplicateShopError", "ImportReport",
    "InvalidShopError", "ShopChanges", "ShopData", "ShopImportError", "ShopStatusRow", "UnknownShopError",
    "add_shop", "check_name", "import_csv", "remove_shop", "reset_shop_breaker", "set_enabled", "shop_data",
    "shop_status", "summarise", "summary_line", "summary_text", "update_shop", "UnknownPmsHotelError",
]
